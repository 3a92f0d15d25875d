"""Authorization as mongod 7.0 decides it (issue 16): the localhost exception's exact
privileges, arbiters included.

* AuthorizationSessionImpl::_getDefaultPrivileges (src/mongo/db/auth/authorization_session_impl.cpp):
  while the exception holds, an unauthenticated loopback connection has createUser and grantRole
  on admin, createUser on $external, and addShard, replSetConfigure and replSetGetStatus on the
  cluster; on an arbiter (serverIsArbiter, SERVER-5479) also getCmdLineOpts, getParameter,
  serverStatus and shutdown.
* commands.cpp (the command authorization hook): with the bypass the command's own check runs
  against those privileges; without it an unauthenticated client gets "Command X requires
  authentication".
* AuthzSessionExternalStateServerCommon::shouldAllowLocalhost / hasAnyPrivilegeDocuments: the
  exception ends with the first user or the first role.
* user_management_commands.cpp: createUser needs createUser on its database and grantRole on the
  database of every role it grants.
* list_databases.cpp: without the listDatabases action only databases the session holds a
  privilege in are listed.
"""
from __future__ import annotations

import pytest
from pymongo import MongoClient

from emuharness import STARTED_PIDS, assert_fails
from mongoemu.cluster import MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator


def test_localhost_exception_privileges_on_a_standalone(emu_factory):
    node = emu_factory("--auth")
    anonymous = node.client()
    # replSetGetStatus is authorized: a standalone answers NoReplicationEnabled, not Unauthorized
    assert_fails(lambda: anonymous.admin.command("replSetGetStatus"), 76, "NoReplicationEnabled")
    # listDatabases runs and lists only what the default privileges touch
    names = [d["name"] for d in anonymous.admin.command("listDatabases")["databases"]]
    assert set(names) <= {"admin"}, names
    # outside the default privileges: refused
    for command in ("getCmdLineOpts", "serverStatus", "getParameter", "replSetGetConfig"):
        cmd = {command: 1, "featureCompatibilityVersion": 1} if command == "getParameter" \
            else {command: 1}
        assert_fails(lambda c=cmd: anonymous.admin.command(c), 13, "Unauthorized")
    assert_fails(lambda: anonymous.app.c.find_one(), 13, "Unauthorized")
    # createUser only on admin (or $external), and only granting roles of admin
    assert_fails(lambda: anonymous.app.command("createUser", "u", pwd="pw-u", roles=[]),
                 13, "Unauthorized")
    assert_fails(lambda: anonymous.admin.command(
        "createUser", "u", pwd="pw-u", roles=[{"role": "readWrite", "db": "app"}]),
        13, "Unauthorized")
    assert anonymous.admin.command("createUser", "first", pwd="first-pw",
                                   roles=["root"])["ok"] == 1.0
    # the first user closes the exception: no privileges, "requires authentication"
    err = assert_fails(lambda: anonymous.admin.command("replSetGetStatus"), 13, "Unauthorized")
    assert "requires authentication" in str(err)
    err = assert_fails(lambda: anonymous.admin.command("listDatabases"), 13, "Unauthorized")
    assert "requires authentication" in str(err)


def test_localhost_exception_on_an_arbiter(tmp_path):
    """An arbiter keeps no users: the exception stays open on it (with the four arbiter
    actions), while nobody can log in to it - not even the set's administrator."""
    cluster = ReplicaSetCluster([MemberSpec(), MemberSpec(arbiter_only=True)], set_name="arb",
                                root=tmp_path / "arb", key_file="YXJiaXRlci1sb2NhbGhvc3QtZXhjZXB0aW9u",
                                settings={"electionTimeoutMillis": 1000,
                                          "heartbeatIntervalMillis": 200},
                                credentials=("boss", "boss-pw-1"),
                                on_start=lambda m: STARTED_PIDS.add(m.pid))
    try:
        cluster.start()
        primary, arbiter = cluster.members
        host, port = arbiter.address.rsplit(":", 1)
        anonymous = MongoClient(host, int(port), directConnection=True,
                                serverSelectionTimeoutMS=5000)
        for command in ("getCmdLineOpts", "serverStatus", "replSetGetStatus"):
            assert anonymous.admin.command(command)["ok"] == 1.0
        assert anonymous.admin.command("getParameter", 1, featureCompatibilityVersion=1)["ok"]
        assert_fails(lambda: anonymous.admin.command("replSetGetConfig"), 13, "Unauthorized")
        # the same anonymous command on the data-bearing primary, which has the user: refused
        phost, pport = primary.address.rsplit(":", 1)
        on_primary = MongoClient(phost, int(pport), directConnection=True,
                                 serverSelectionTimeoutMS=5000)
        err = assert_fails(lambda: on_primary.admin.command("serverStatus"), 13, "Unauthorized")
        assert "requires authentication" in str(err)
        # the administrator exists on the primary only: the arbiter refuses the login
        login = MongoClient(host, int(port), directConnection=True, username="boss",
                            password="boss-pw-1", authSource="admin",
                            serverSelectionTimeoutMS=5000)
        assert_fails(lambda: login.admin.command("ping"), 18, "AuthenticationFailed")
        for client in (anonymous, on_primary, login):
            client.close()
    finally:
        cluster.stop()


# ------------------------------------------------- user-defined roles (issue 16 item 4)

ADMIN = ("admin", "admin-Secret-1")


@pytest.fixture(scope="module")
def secured(module_emu_factory):
    node = module_emu_factory("--auth", name="roles")
    node.client().admin.command("createUser", ADMIN[0], pwd=ADMIN[1], roles=["root"])
    return node


@pytest.fixture(scope="module")
def root(secured):
    return secured.client(username=ADMIN[0], password=ADMIN[1], authSource="admin")


def _login(node, user, pwd, source):
    return node.client(username=user, password=pwd, authSource=source)


def test_user_defined_role_privileges_are_enforced(secured, root):
    """createRole / grant / revoke / dropRole (user_management_commands.cpp) and the role graph:
    a user holds the privileges of every role reachable from its roles (role_graph.cpp); a
    change reaches a logged-in session at its next command."""
    app = root["app"]
    app.command("createRole", "ordersClerk", privileges=[
        {"resource": {"db": "app", "collection": "orders"}, "actions": ["find", "insert"]}],
        roles=[])
    app.command("createUser", "clerk", pwd="clerk-pw-1", roles=["ordersClerk"])
    clerk = _login(secured, "clerk", "clerk-pw-1", "app")["app"]
    clerk.orders.insert_one({"_id": 1})
    assert clerk.orders.find_one({"_id": 1}) == {"_id": 1}
    assert_fails(lambda: clerk.stock.find_one(), 13, "Unauthorized")
    assert_fails(lambda: clerk.orders.delete_one({"_id": 1}), 13, "Unauthorized")

    app.command("grantPrivilegesToRole", "ordersClerk", privileges=[
        {"resource": {"db": "app", "collection": "orders"}, "actions": ["remove"]}])
    assert clerk.orders.delete_one({"_id": 1}).deleted_count == 1
    app.command("revokePrivilegesFromRole", "ordersClerk", privileges=[
        {"resource": {"db": "app", "collection": "orders"}, "actions": ["insert"]}])
    assert_fails(lambda: clerk.orders.insert_one({"_id": 2}), 13, "Unauthorized")

    app.command("createRole", "appReader", privileges=[
        {"resource": {"db": "app", "collection": ""}, "actions": ["find"]}], roles=[])
    app.command("grantRolesToRole", "ordersClerk", roles=["appReader"])
    assert clerk.stock.find_one() is None  # inherited from appReader
    err = assert_fails(lambda: app.command("grantRolesToRole", "appReader",
                                           roles=["ordersClerk"]),
                       49, "InvalidRoleModification")
    assert "cycle" in str(err)

    info = app.command("rolesInfo", {"role": "ordersClerk", "db": "app"}, showPrivileges=True)
    role = info["roles"][0]
    assert role["isBuiltin"] is False and role["roles"] == [{"role": "appReader", "db": "app"}]
    assert role["inheritedRoles"] == [{"role": "appReader", "db": "app"}]
    assert {"resource": {"db": "app", "collection": "orders"}, "actions": ["find", "remove"]} \
        in role["privileges"]
    user = app.command("usersInfo", "clerk", showPrivileges=True)["users"][0]
    assert {"role": "appReader", "db": "app"} in user["inheritedRoles"]

    app.command("dropRole", "appReader")  # pulled from ordersClerk as well
    assert app.command("rolesInfo", "ordersClerk")["roles"][0]["roles"] == []
    assert_fails(lambda: clerk.stock.find_one(), 13, "Unauthorized")
    app.command("dropRole", "ordersClerk")
    assert app.command("usersInfo", "clerk")["users"][0]["roles"] == []


def test_role_commands_refuse_bad_input_like_mongod(root):
    app = root["app2"]
    app.command("createRole", "r1", privileges=[], roles=["read"])
    assert_fails(lambda: app.command("createRole", "r1", privileges=[], roles=[]),
                 51002, "Location51002")
    assert_fails(lambda: app.command("createRole", "read", privileges=[], roles=[]),
                 2, "BadValue")
    assert_fails(lambda: app.command("createRole", "r2", privileges=[
        {"resource": {"db": "other", "collection": ""}, "actions": ["find"]}], roles=[]),
        49, "InvalidRoleModification")
    assert_fails(lambda: app.command("createRole", "r3", privileges=[
        {"resource": {"cluster": True}, "actions": ["serverStatus"]}], roles=[]),
        49, "InvalidRoleModification")
    assert_fails(lambda: app.command("createRole", "r4", privileges=[], roles=["nope"]),
                 31, "RoleNotFound")
    assert_fails(lambda: app.command("createRole", "r5", roles=[]), 40414, "Location40414")
    assert_fails(lambda: app.command("updateRole", "r1"), 2, "BadValue")
    assert_fails(lambda: app.command("dropRole", "nope"), 31, "RoleNotFound")
    assert_fails(lambda: root.local.command("createRole", "x", privileges=[], roles=[]),
                 2, "BadValue")
    # an admin role may hold cluster privileges and roles of other databases
    root.admin.command("createRole", "monitor", privileges=[
        {"resource": {"cluster": True}, "actions": ["serverStatus"]}],
        roles=[{"role": "r1", "db": "app2"}])
    assert root.admin.command("rolesInfo", "monitor")["roles"][0]["inheritedRoles"] == [
        {"role": "r1", "db": "app2"}, {"role": "read", "db": "app2"}]


def test_a_role_closes_the_localhost_exception(emu_factory, tmp_path):
    """hasAnyPrivilegeDocuments counts admin.system.roles too: a role made by __system (the
    keyFile's user) ends the exception as a user would. The exception itself cannot create a
    role (isAuthorizedToCreateRole)."""
    key = "cm9sZS1jbG9zZXMtdGhlLWV4Y2VwdGlvbg"
    keyfile = tmp_path / "key"
    keyfile.write_text(key)
    keyfile.chmod(0o400)
    node = emu_factory("--keyFile", str(keyfile))
    anonymous = node.client()
    assert_fails(lambda: anonymous.admin.command("replSetGetStatus"), 76, "NoReplicationEnabled")
    assert_fails(lambda: anonymous.admin.command("createRole", "r", privileges=[], roles=[]),
                 13, "Unauthorized")
    system = node.client(username="__system", password=key, authSource="local")
    system.admin.command("createRole", "r", privileges=[], roles=[])
    err = assert_fails(lambda: anonymous.admin.command("replSetGetStatus"), 13, "Unauthorized")
    assert "requires authentication" in str(err)


# ------------------------------------------- authenticationRestrictions (issue 16 item 5)


def test_authentication_restrictions_are_kept_shown_and_enforced(secured, root):
    """createUser stores them (getRawAuthenticationRestrictions); usersInfo shows them only with
    showAuthenticationRestrictions (User::reportForUsersInfo); authentication checks clientSource
    against the peer and serverAddress against the address the connection arrived at
    (AuthorizationSessionImpl::addAndAuthorizeUser, User::validateRestrictions): unmet, the
    login fails with AuthenticationFailed and log id 20240."""
    db = root["restricted"]
    here = secured.host
    db.command("createUser", "near", pwd="near-pw-1", roles=["read"],
               authenticationRestrictions=[{"clientSource": ["127.0.0.0/8"],
                                            "serverAddress": [here]}])
    db.command("createUser", "far", pwd="far-pw-1", roles=["read"],
               authenticationRestrictions=[{"clientSource": ["192.0.2.0/24"]}])
    plain = db.command("usersInfo", "near")["users"][0]
    assert "authenticationRestrictions" not in plain
    shown = db.command("usersInfo", "near", showAuthenticationRestrictions=True)["users"][0]
    assert shown["authenticationRestrictions"] == [{"clientSource": ["127.0.0.0/8"],
                                                    "serverAddress": [here]}]
    assert_fails(lambda: db.command("usersInfo", 1, showAuthenticationRestrictions=True),
                 20, "IllegalOperation")

    assert _login(secured, "near", "near-pw-1", "restricted")["restricted"].command(
        "listCollections")["ok"] == 1.0
    assert_fails(lambda: _login(secured, "far", "far-pw-1", "restricted").restricted.command(
        "listCollections"), 18, "AuthenticationFailed")
    assert any('"id":20240' in line for line in secured.log_lines())

    # updateUser replaces them; an empty array removes them
    db.command("updateUser", "far", authenticationRestrictions=[])
    assert _login(secured, "far", "far-pw-1", "restricted").restricted.command(
        "listCollections")["ok"] == 1.0
    # restrictions of a role apply to its holders
    db.command("createRole", "elsewhere", privileges=[], roles=[],
               authenticationRestrictions=[{"serverAddress": ["198.51.100.7"]}])
    db.command("grantRolesToUser", "far", roles=["elsewhere"])
    assert_fails(lambda: _login(secured, "far", "far-pw-1", "restricted").restricted.command(
        "listCollections"), 18, "AuthenticationFailed")


@pytest.mark.parametrize("restrictions, code, name", [
    ([{}], 162, "CollectionIsEmpty"),
    (["127.0.0.1"], 12, "UnsupportedFormat"),
    ([{"clientSource": ["not-an-address"]}], 2, "BadValue"),
    ([{"clientSource": ["127.0.0.1"], "elsewhere": 1}], 2, "BadValue"),
])
def test_bad_authentication_restrictions_refused(root, restrictions, code, name):
    assert_fails(lambda: root.bad.command("createUser", "x", pwd="x-pw-1", roles=[],
                                          authenticationRestrictions=restrictions), code, name)
