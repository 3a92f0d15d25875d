"""Role commands as mongod 7.0 authorizes and answers them (issue 16 item 4, bad input).

* Who may run them: checkAuthForTypedCommand of each command
  (src/mongo/db/commands/user_management_commands_common.cpp): createRole needs createRole on
  the database (isAuthorizedToCreateRole), grantRole on the database of every role it grants
  (checkAuthorizedToGrantRoles) and of every privilege's database, or on admin for a cluster or
  every-database privilege (checkAuthorizedToGrantPrivilege), and setAuthenticationRestriction
  for restrictions; updateRole needs revokeRole on every normal resource first; the revoke
  commands the same with revokeRole; dropRole / dropAllRolesFromDatabase dropRole on the
  database; rolesInfo viewRole on each role's database unless the caller holds the role. Each
  refusal is Unauthorized with its own message; it comes after the IDL parse of the command and
  before the command's own checks.
* rolesInfo showPrivileges "asUserFragment": AuthzManagerExternalStateLocal::
  getRolesAsUserFragment and serializeResolvedRoles (authz_manager_external_state_local.cpp):
  ``userFragment`` with ``roles`` as given, ``inheritedRoles`` (the given ones and all they
  reach), ``inheritedPrivileges`` and, when asked, ``inheritedAuthenticationRestrictions``;
  refused for ``rolesInfo: 1`` (IllegalOperation); any other showPrivileges string is
  FailedToParse (ParsedPrivilegeFormat::parseFromBSON).
* Argument errors of grant/revoke*: a missing array 40414, a non-array TypeMismatch naming the
  BSON type, an empty one BadValue, a built-in role BadValue (typedRun).
"""
from __future__ import annotations

import pytest

from emuharness import assert_fails

pytestmark = pytest.mark.emulator

ADMIN = ("boss", "boss-Secret-1")
ON_APP = [{"resource": {"db": "app", "collection": ""}, "actions": ["find"]}]


@pytest.fixture(scope="module")
def node(module_emu_factory):
    node = module_emu_factory("--auth", name="rolecmds")
    node.client().admin.command("createUser", ADMIN[0], pwd=ADMIN[1], roles=["root"])
    root = _login(node, *ADMIN, "admin")
    root.app.command("createUser", "appAdmin", pwd="appAdmin-pw-1", roles=["userAdmin"])
    root.admin.command("createUser", "anyAdmin", pwd="anyAdmin-pw-1",
                       roles=["userAdminAnyDatabase"])
    root.app.command("createRole", "base", privileges=ON_APP, roles=["read"],
                     authenticationRestrictions=[{"clientSource": ["127.0.0.1"]}])
    root.app.command("createRole", "clerk", privileges=[
        {"resource": {"db": "app", "collection": "orders"}, "actions": ["insert"]}],
        roles=["base"])
    root.app.command("createUser", "holder", pwd="holder-pw-1", roles=["clerk"])
    return node


def _login(node, user, pwd, source):
    return node.client(username=user, password=pwd, authSource=source)


@pytest.fixture(scope="module")
def app_admin(node):
    return _login(node, "appAdmin", "appAdmin-pw-1", "app")


@pytest.mark.parametrize("db, command, args, message", [
    ("other", "createRole", {"privileges": [], "roles": []},
     "Not authorized to create roles on db: other"),
    ("app", "createRole", {"privileges": [], "roles": [{"role": "read", "db": "other"}]},
     "Not authorized to grant role: read@other"),
    ("app", "createRole", {"privileges": [{"resource": {"db": "other", "collection": ""},
                                           "actions": ["find"]}], "roles": []},
     "Not authorized to grant privileges on the otherdatabase"),
    ("app", "createRole", {"privileges": [{"resource": {"cluster": True},
                                           "actions": ["serverStatus"]}], "roles": []},
     "To grant privileges affecting multiple databases or the cluster, must be authorized to "
     "grant roles from the admin database"),
    ("app", "updateRole", {"privileges": ON_APP},
     "updateRole command required the ability to revoke any role in the system"),
    ("other", "dropRole", {}, "Not authorized to drop roles from the other database"),
    ("other", "dropAllRolesFromDatabase", {},
     "Not authorized to drop roles from the other database"),
    ("app", "grantRolesToRole", {"roles": [{"role": "read", "db": "other"}]},
     "Not authorized to grant role: read@other"),
    ("app", "revokeRolesFromRole", {"roles": [{"role": "read", "db": "other"}]},
     "Not authorized to revoke role: read@other"),
    ("app", "grantPrivilegesToRole",
     {"privileges": [{"resource": {"db": "", "collection": ""}, "actions": ["find"]}]},
     "To grant privileges affecting multiple databases or the cluster, must be authorized to "
     "grant roles from the admin database"),
    ("app", "revokePrivilegesFromRole",
     {"privileges": [{"resource": {"db": "other", "collection": "c"}, "actions": ["find"]}]},
     "Not authorized to revoke privileges on the otherdatabase"),
    ("other", "rolesInfo", {}, "Not authorized to view roles from the other database"),
])
def test_who_may_run_role_commands(app_admin, db, command, args, message):
    """userAdmin on app holds every role action on app and nothing elsewhere."""
    arg = 1 if command in ("dropAllRolesFromDatabase", "rolesInfo") else "clerk"
    err = assert_fails(lambda: app_admin[db].command(command, arg, **args), 13, "Unauthorized")
    assert err.details["errmsg"] == message


def test_authorization_comes_after_parsing_and_before_the_commands_checks(node, app_admin):
    # the IDL parse first: a missing field is reported to anyone logged in
    assert_fails(lambda: app_admin.other.command("createRole", "x", roles=[]),
                 40414, "Location40414")
    # then the authorization check, before the cross-database rule (InvalidRoleModification)
    assert_fails(lambda: app_admin.app.command(
        "createRole", "x", privileges=[{"resource": {"cluster": True},
                                        "actions": ["serverStatus"]}], roles=[]),
        13, "Unauthorized")
    # restrictions need setAuthenticationRestriction on the database: userAdmin has it
    app_admin.app.command("createRole", "restricted", privileges=[], roles=[],
                          authenticationRestrictions=[{"clientSource": ["127.0.0.1"]}])
    reader = _login(node, *ADMIN, "admin")
    reader.app.command("createUser", "plain", pwd="plain-pw-1", roles=["read"])
    plain = _login(node, "plain", "plain-pw-1", "app")
    err = assert_fails(lambda: plain.app.command("createRole", "y", privileges=[], roles=[]),
                       13, "Unauthorized")
    assert err.details["errmsg"] == "Not authorized to create roles on db: app"


def test_update_role_needs_revoke_role_on_every_database(node):
    any_admin = _login(node, "anyAdmin", "anyAdmin-pw-1", "admin")
    any_admin.app.command("updateRole", "base", privileges=ON_APP)
    assert any_admin.app.command("rolesInfo", "base")["roles"][0]["roles"] == [
        {"role": "read", "db": "app"}]


def test_roles_info_of_a_role_one_holds(node):
    holder = _login(node, "holder", "holder-pw-1", "app")
    # no viewRole anywhere, but the user holds clerk directly
    assert holder.app.command("rolesInfo", "clerk")["roles"][0]["role"] == "clerk"
    err = assert_fails(lambda: holder.app.command("rolesInfo", "base"), 13, "Unauthorized")
    assert err.details["errmsg"] == "Not authorized to view roles from the app database"


def test_roles_info_as_user_fragment(node):
    root = _login(node, *ADMIN, "admin")
    reply = root.app.command("rolesInfo", ["clerk", {"role": "missing", "db": "app"}],
                             showPrivileges="asUserFragment")
    assert "roles" not in reply
    fragment = reply["userFragment"]
    assert fragment["roles"] == [{"role": "clerk", "db": "app"}, {"role": "missing", "db": "app"}]
    inherited = fragment["inheritedRoles"]
    assert sorted((r["db"], r["role"]) for r in inherited) == [
        ("app", "base"), ("app", "clerk"), ("app", "missing"), ("app", "read")]
    privileges = fragment["inheritedPrivileges"]
    assert {"resource": {"db": "app", "collection": "orders"}, "actions": ["insert"]} \
        in privileges
    assert any(p["resource"] == {"db": "app", "collection": ""} and "find" in p["actions"]
               for p in privileges)
    assert "inheritedAuthenticationRestrictions" not in fragment
    shown = root.app.command("rolesInfo", "clerk", showPrivileges="asUserFragment",
                             showAuthenticationRestrictions=True)["userFragment"]
    assert shown["inheritedAuthenticationRestrictions"] == [[{"clientSource": ["127.0.0.1"]}]]
    assert_fails(lambda: root.app.command("rolesInfo", 1, showPrivileges="asUserFragment"),
                 20, "IllegalOperation")
    err = assert_fails(lambda: root.app.command("rolesInfo", "clerk", showPrivileges="all"),
                       9, "FailedToParse")
    assert err.details["errmsg"] == (
        "Failed to parse 'showPrivileges'. 'showPrivileges' should either be a boolean or the "
        "string 'asUserFragment', given: showPrivileges: \"all\"")
    # a number is a boolean
    assert "privileges" in root.app.command("rolesInfo", "clerk", showPrivileges=1)["roles"][0]


@pytest.mark.parametrize("command, field", [
    ("grantRolesToRole", "roles"), ("revokeRolesFromRole", "roles"),
    ("grantPrivilegesToRole", "privileges"), ("revokePrivilegesFromRole", "privileges"),
])
def test_grant_and_revoke_argument_errors(node, command, field):
    app = _login(node, *ADMIN, "admin").app
    assert_fails(lambda: app.command(command, "clerk"), 40414, "Location40414")
    err = assert_fails(lambda: app.command(command, "clerk", **{field: "read"}),
                       14, "TypeMismatch")
    assert err.details["errmsg"] == \
        f"BSON field '{command}.{field}' is the wrong type 'string', expected type 'array'"
    err = assert_fails(lambda: app.command(command, "clerk", **{field: []}), 2, "BadValue")
    assert err.details["errmsg"] == f"{command} command requires a non-empty \"{field}\" array"
    value = ["read"] if field == "roles" else ON_APP
    err = assert_fails(lambda: app.command(command, "read", **{field: value}), 2, "BadValue")
    assert err.details["errmsg"] == "read@app is a built-in role and cannot be modified"


@pytest.mark.parametrize("name, on_admin, on_app", [
    # auth::isBuiltinRole (builtin_roles.tpl.cpp, roles from builtin_roles.yml): a role that is
    # not adminOnly is built in on every database, an adminOnly one on admin alone
    ("read", True, True), ("readWrite", True, True), ("dbAdmin", True, True),
    ("dbOwner", True, True), ("userAdmin", True, True), ("enableSharding", True, True),
    ("root", True, False), ("clusterAdmin", True, False), ("readAnyDatabase", True, False),
    ("backup", True, False), ("__system", True, False), ("directShardOperations", True, False),
    ("__queryableBackup", True, False),
])
def test_create_role_refuses_built_in_names_where_they_are_built_in(node, name, on_admin,
                                                                    on_app):
    """createRole's typedRun refuses a name only where auth::isBuiltinRole says it is one."""
    root = _login(node, *ADMIN, "admin")
    for db, refused in (("admin", on_admin), ("names", on_app)):
        create = lambda: root[db].command("createRole", name, privileges=[], roles=[])  # noqa
        if refused:
            err = assert_fails(create, 2, "BadValue")
            assert err.details["errmsg"] == \
                "Cannot create roles with the same name as a built-in role"
        else:
            create()
            info = root[db].command("rolesInfo", name)["roles"]
            assert [(r["role"], r["db"], r["isBuiltin"]) for r in info] == [(name, db, False)]
            root[db].command("dropRole", name)


def test_roles_info_lifts_a_roles_own_restrictions_into_one_more_array(node):
    """getRolesDescription -> filterAndMapRole(..., liftAuthenticationRestrictions=true)
    (authz_manager_external_state_local.cpp): rolesInfo shows a role's own restrictions inside
    one more array, and an empty array for a role without any, built-in ones included;
    serializeResolvedRoles puts the role's own first in inheritedAuthenticationRestrictions."""
    app = _login(node, *ADMIN, "admin").app
    own = [{"clientSource": ["127.0.0.1"]}]
    base = app.command("rolesInfo", "base", showAuthenticationRestrictions=True)["roles"][0]
    assert base["authenticationRestrictions"] == [own]
    assert base["inheritedAuthenticationRestrictions"] == [own]
    clerk = app.command("rolesInfo", "clerk", showAuthenticationRestrictions=True)["roles"][0]
    assert clerk["authenticationRestrictions"] == []
    assert clerk["inheritedAuthenticationRestrictions"] == [own]
    read = app.command("rolesInfo", "read", showAuthenticationRestrictions=True)["roles"][0]
    assert (read["authenticationRestrictions"], read["isBuiltin"]) == ([], True)
    listed = app.command("rolesInfo", 1, showAuthenticationRestrictions=True)["roles"]
    shown = {r["role"]: r["authenticationRestrictions"] for r in listed}
    assert (shown["base"], shown["clerk"]) == ([own], [])
    assert "authenticationRestrictions" not in app.command("rolesInfo", "base")["roles"][0]


def test_any_action_stands_for_every_action(node):
    """ActionSet (action_set.cpp): addAction(anyAction) sets every action and
    getActionsAsStrings writes such a set as ["anyAction"] alone; removeAllActionsFromSet clears
    anyAction whenever something is removed, so revoking one action from it leaves all others."""
    root = _login(node, *ADMIN, "admin")
    db = root["anyactions"]
    on_all = {"db": "anyactions", "collection": ""}
    db.command("createRole", "everything", roles=[],
               privileges=[{"resource": on_all, "actions": ["find", "anyAction"]}])

    def actions():
        info = db.command("rolesInfo", "everything", showPrivileges=True)["roles"][0]
        return [p["actions"] for p in info["privileges"]]

    assert actions() == [["anyAction"]]
    stored = root.admin["system.roles"].find_one({"_id": "anyactions.everything"})
    assert stored["privileges"] == [{"resource": on_all, "actions": ["anyAction"]}]
    db.command("grantPrivilegesToRole", "everything",
               privileges=[{"resource": on_all, "actions": ["insert"]}])
    assert actions() == [["anyAction"]]
    db.command("revokePrivilegesFromRole", "everything",
               privileges=[{"resource": on_all, "actions": ["find"]}])
    [left] = actions()
    assert "anyAction" not in left and "find" not in left
    assert {"insert", "update", "remove", "createIndex"} <= set(left)
    db.command("revokePrivilegesFromRole", "everything",
               privileges=[{"resource": on_all, "actions": ["anyAction"]}])
    assert actions() == []
