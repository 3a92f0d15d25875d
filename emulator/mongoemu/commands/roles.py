"""User-defined roles as mongod 7.0 keeps them in admin.system.roles: createRole, updateRole,
dropRole, dropAllRolesFromDatabase, grant/revoke privileges and roles, rolesInfo; the role
graph a user's privileges and authentication restrictions are resolved from.

Rules and messages: src/mongo/db/commands/user_management_commands.cpp (the CmdUMCTyped
typedRun of each command, checkOkayToGrantRolesToRole, checkOkayToGrantPrivilegesToRole,
insertRoleDocument, updateRoleDocument), src/mongo/db/auth/role_graph.cpp (transitive roles and
privileges, cycles), authorization_session_impl.cpp (checkAuthorizedToGrantPrivilege).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mongoemu.auth import (BUILTIN_ROLES, AuthenticatedUser, Privilege, RoleGrant,
                           check_restrictions, is_authorized, privileges_from_docs,
                           privileges_of, role_exists)
from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError
from mongoemu.idl import SAFE_BOOL, parse_command

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.server import Server

ROLES_NS = "admin.system.roles"
Need = tuple[str | None, str]


def role_doc(server: "Server", db: str, role: str) -> dict[str, Any] | None:
    found = server.storage.find_by_id(ROLES_NS, f"{db}.{role}")
    return found[1] if found else None


def role_known(server: "Server", role: str, db: str) -> bool:
    return role_exists(role, db) or role_doc(server, db, role) is not None


def resolve_roles(server: "Server", direct: list[dict[str, str]]
                  ) -> tuple[list[dict[str, str]], list[tuple[str, RoleGrant]], list[Any]]:
    """Every role reachable from ``direct`` (the role graph's transitive closure), what each
    grants, and the authentication restrictions the user-defined ones carry."""
    seen: set[tuple[str, str]] = set()
    queue = [dict(r) for r in direct]
    roles: list[dict[str, str]] = []
    grants: list[tuple[str, RoleGrant]] = []
    restrictions: list[Any] = []
    while queue:
        r = queue.pop(0)
        key = (str(r.get("role")), str(r.get("db")))
        if key in seen:
            continue
        seen.add(key)
        roles.append({"role": key[0], "db": key[1]})
        if role_exists(*key):
            grants.append((key[1], BUILTIN_ROLES[key[0]]))
            continue
        doc = role_doc(server, key[1], key[0])
        if doc is None:
            continue
        privileges = privileges_from_docs(doc.get("privileges", []), "role")
        grants.append((key[1], RoleGrant(privileges=tuple(privileges))))
        if doc.get("authenticationRestrictions"):
            restrictions.append(doc["authenticationRestrictions"])
        queue.extend(doc.get("roles", []))
    return roles, grants, restrictions


def resolve_user(server: "Server", user: AuthenticatedUser) -> None:
    user.resolved = resolve_roles(server, user.roles)[1]


def refresh_sessions(server: "Server") -> None:
    """A role changed: every logged-in user's privileges are resolved again (mongod
    invalidates its user cache and re-acquires users on their next request)."""
    for conn in server.connections.values():
        for user in conn.users:
            resolve_user(server, user)


# -- argument parsing ------------------------------------------------------------------------


def _role_names(value: Any, db: str, field: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in value:
        if isinstance(item, str):
            name = {"role": item, "db": db}
        elif isinstance(item, dict) and isinstance(item.get("role"), str) and \
                isinstance(item.get("db", db), str):
            name = {"role": item["role"], "db": item.get("db", db)}
        else:
            raise MongoError(2, "Role names must be either strings or objects")
        if name not in out:
            out.append(name)
    return out


# The IDL of each command (user_management_commands.idl: strict commands, the role's name a
# string; ``privileges`` array<ParsedPrivilege>, ``roles`` array<RoleNameOrString>,
# ``authenticationRestrictions`` array<address_restriction>).
_ROLE_FIELDS = {"privileges": "array", "roles": "array", "authenticationRestrictions": "array"}


def _parse(ctx: Ctx, *required: str) -> str:
    """The IDL parse of a command on one role; returns the role's name."""
    fields = {k: v for k, v in _ROLE_FIELDS.items()
              if k in required or ctx.name in ("createRole", "updateRole")}
    parse_command(ctx, "string", fields, required)
    return ctx.arg


def _check_grant_roles(ctx: Ctx, role: str, adding: list[dict[str, str]]) -> None:
    """checkOkayToGrantRolesToRole."""
    full = f"{role}@{ctx.db}"
    for r in adding:
        if r["role"] == role and r["db"] == ctx.db:
            raise MongoError(49, f"Cannot grant role {full} to itself.")
        if ctx.db != "admin" and r["db"] != ctx.db:
            raise MongoError(49, f"Roles on the '{ctx.db}' database cannot be granted roles "
                                 "from other databases")
    for r in adding:
        if not role_known(ctx.server, r["role"], r["db"]):
            raise MongoError(31, f"Cannot grant roles to '{full}': Could not find role: "
                                 f"{r['role']}@{r['db']}")
    reachable = resolve_roles(ctx.server, adding)[0]
    if {"role": role, "db": ctx.db} in reachable:
        raise MongoError(49, f"Granting roles to {full} would introduce a cycle in the role "
                             "graph")


def _check_grant_privileges(ctx: Ctx, privileges: list[Privilege]) -> None:
    """checkOkayToGrantPrivilegesToRole."""
    if ctx.db == "admin":
        return
    for p in privileges:
        if p.db == ctx.db:
            continue
        raise MongoError(49, f"Roles on the '{ctx.db}' database cannot be granted privileges "
                             "that target other databases or the cluster")


def _not_builtin(ctx: Ctx, role: str) -> None:
    if role_exists(role, ctx.db):
        raise MongoError(2, f"{role}@{ctx.db} is a built-in role and cannot be modified")


def _require_role(ctx: Ctx, role: str) -> tuple[int, dict[str, Any]]:
    found = ctx.storage.find_by_id(ROLES_NS, f"{ctx.db}.{role}")
    if found is None:
        raise MongoError(31, f"Role {role}@{ctx.db} not found")
    return found


def _save_role(ctx: Ctx, rid: int, doc: dict[str, Any]) -> None:
    with ctx.storage.transaction(journal=True):
        ctx.storage.replace(ROLES_NS, rid, doc)
    ctx.server.repl.log_op("u", ROLES_NS, doc, o2={"_id": doc["_id"]})
    refresh_sessions(ctx.server)


def _privilege_docs(privileges: list[Privilege]) -> list[dict[str, Any]]:
    return [p.to_doc() for p in privileges]


# -- who may run them ---------------------------------------------------------------------------
# checkAuthForTypedCommand of each command (db/commands/user_management_commands_common.cpp):
# every refusal is Unauthorized (13) with its own message. It runs after the command's IDL
# parse and before typedRun, so the handlers call it between the two; the dispatcher lets any
# principal through (needs=_ANY: a logged-in user or the localhost exception's privileges).


def _ANY(ctx: Ctx) -> list[Need]:  # noqa: N802 - a constant-like needs function
    return []


def _principals(ctx: Ctx) -> list[Any] | None:
    """Whose privileges decide, or None with authorization off (everything is allowed)."""
    if not ctx.server.config.auth_enabled:
        return None
    return ctx.server.dispatcher.principals(ctx.conn)


def _unauthorized(message: str) -> MongoError:
    return MongoError(13, message)


def _may(ctx: Ctx, db: str | None, action: str) -> bool:
    principals = _principals(ctx)
    return principals is None or is_authorized(principals, [(db, action)])


def _may_on_any_normal_resource(ctx: Ctx, action: str) -> bool:
    """isAuthorizedForActionsOnResource(ResourcePattern::forAnyNormalResource()): a privilege
    on every normal resource ({db: "", collection: ""}, a *AnyDatabase role) or on anyResource."""
    principals = _principals(ctx)
    if principals is None:
        return True
    for principal in principals:
        for _db, grant in principal.grants():
            if grant.everything or action in grant.any_db_actions:
                return True
            for p in grant.privileges:
                if (action in p.actions or "anyAction" in p.actions) and \
                        (p.any_resource or (p.db == "" and p.collection == "")):
                    return True
    return False


def _authorize_roles(ctx: Ctx, names: list[dict[str, str]], action: str) -> None:
    """checkAuthorizedToGrantRoles / checkAuthorizedToRevokeRoles: the action on each role's
    database."""
    verb = "grant" if action == "grantRole" else "revoke"
    for r in names:
        if not _may(ctx, r["db"], action):
            raise _unauthorized(f"Not authorized to {verb} role: {r['role']}@{r['db']}")


def _authorize_privileges(ctx: Ctx, privileges: list[Privilege], action: str) -> None:
    """checkAuthorizedToGrantPrivilege / checkAuthorizedToRevokePrivilege: the action on the
    privilege's database, or on admin for the cluster, anyResource or every database (mongod's
    message lacks the space before "database")."""
    verb = "grant" if action == "grantRole" else "revoke"
    for p in privileges:
        if not p.cluster and not p.any_resource and p.db:
            if not _may(ctx, p.db, action):
                raise _unauthorized(f"Not authorized to {verb} privileges on the {p.db}database")
        elif not _may(ctx, "admin", action):
            raise _unauthorized(f"To {verb} privileges affecting multiple databases or the "
                                f"cluster, must be authorized to {verb} roles from the admin "
                                "database")


def _authorize_restrictions(ctx: Ctx, given: bool) -> None:
    """checkAuthorizedToSetRestrictions."""
    if given and not _may(ctx, ctx.db, "setAuthenticationRestriction"):
        raise _unauthorized("Unauthorized")


def _authorize_create_role(ctx: Ctx, name: str) -> None:
    """isAuthorizedToCreateRole (authorization_session_impl.cpp): createRole on the database,
    or, under the localhost exception, a logged-in user who already holds the role (never the
    case here: the exception ends with the first user)."""
    if not _may(ctx, ctx.db, "createRole"):
        raise _unauthorized(f"Not authorized to create roles on db: {ctx.db}")


# -- commands ---------------------------------------------------------------------------------


def _privileges_arg(ctx: Ctx, value: list[Any]) -> list[Privilege]:
    return privileges_from_docs(value, ctx.name)


@command("createRole", write=True, needs=_ANY)
def cmd_create_role(ctx: Ctx) -> dict[str, Any]:
    # the IDL parse (CreateRoleCommand), then checkAuthForTypedCommand, then typedRun
    name = _parse(ctx, "privileges", "roles")
    privileges = _privileges_arg(ctx, ctx.cmd["privileges"])
    roles = _role_names(ctx.cmd["roles"], ctx.db, "createRole.roles")
    restrictions = ctx.cmd.get("authenticationRestrictions")
    checked = check_restrictions(restrictions, "createRole") if restrictions is not None else []
    _authorize_create_role(ctx, name)
    _authorize_roles(ctx, roles, "grantRole")
    _authorize_privileges(ctx, privileges, "grantRole")
    _authorize_restrictions(ctx, restrictions is not None)
    if not name:
        raise MongoError(2, "Role name must be non-empty")
    if ctx.db == "local":
        raise MongoError(2, "Cannot create roles in the local database")
    if ctx.db == "$external":
        raise MongoError(2, "Cannot create roles in the $external database")
    # auth::isBuiltinRole (builtin_roles.tpl.cpp): an admin-only name (root, clusterAdmin, ...)
    # is built in on admin alone; elsewhere it is free for a user-defined role
    if role_exists(name, ctx.db):
        raise MongoError(2, "Cannot create roles with the same name as a built-in role")
    doc: dict[str, Any] = {"_id": f"{ctx.db}.{name}", "role": name, "db": ctx.db,
                           "privileges": _privilege_docs(privileges), "roles": roles}
    if checked:
        doc["authenticationRestrictions"] = checked
    if role_doc(ctx.server, ctx.db, name) is not None:
        raise MongoError(51002, f"Role \"{name}@{ctx.db}\" already exists")
    _check_grant_roles(ctx, name, roles)
    _check_grant_privileges(ctx, privileges)
    with ctx.storage.transaction(journal=True):
        ctx.storage.insert(ROLES_NS, doc)
    ctx.server.repl.log_op("i", ROLES_NS, doc, o2={"_id": doc["_id"]})
    return {"ok": 1.0}


@command("updateRole", write=True, needs=_ANY)
def cmd_update_role(ctx: Ctx) -> dict[str, Any]:
    name = _parse(ctx)
    privileges = _privileges_arg(ctx, ctx.cmd["privileges"]) if "privileges" in ctx.cmd \
        else None
    roles = _role_names(ctx.cmd["roles"], ctx.db, "updateRole.roles") if "roles" in ctx.cmd \
        else None
    restricting = "authenticationRestrictions" in ctx.cmd
    checked = check_restrictions(ctx.cmd["authenticationRestrictions"], "updateRole") \
        if restricting else []
    # you don't know what you might be revoking: revokeRole on every normal resource
    if not _may_on_any_normal_resource(ctx, "revokeRole"):
        raise _unauthorized("updateRole command required the ability to revoke any role in the "
                            "system")
    if roles is not None:
        _authorize_roles(ctx, roles, "grantRole")
    if privileges is not None:
        _authorize_privileges(ctx, privileges, "grantRole")
    _authorize_restrictions(ctx, restricting)
    if privileges is None and roles is None and not restricting:
        raise MongoError(2, "Must specify at least one field to update in updateRole")
    rid, doc = _require_role(ctx, name)
    doc = dict(doc)
    if roles is not None:
        _check_grant_roles(ctx, name, roles)
        doc["roles"] = roles
    if privileges is not None:
        _check_grant_privileges(ctx, privileges)
        doc["privileges"] = _privilege_docs(privileges)
    if restricting:
        if checked:
            doc["authenticationRestrictions"] = checked
        else:
            doc.pop("authenticationRestrictions", None)
    _save_role(ctx, rid, doc)
    return {"ok": 1.0}


def _pull_role_everywhere(ctx: Ctx, matches: Any) -> None:
    """Remove roles matching ``matches(role_name_doc)`` from every user and every role
    (dropRole / dropAllRolesFromDatabase: "$pull" from admin.system.users and .roles)."""
    from mongoemu.commands.users import USERS_NS

    for ns in (USERS_NS, ROLES_NS):
        for rid, doc in list(ctx.storage.scan(ns)):
            kept = [r for r in doc.get("roles", []) if not matches(r)]
            if len(kept) != len(doc.get("roles", [])):
                doc = {**doc, "roles": kept}
                with ctx.storage.transaction(journal=True):
                    ctx.storage.replace(ns, rid, doc)
                ctx.server.repl.log_op("u", ns, doc, o2={"_id": doc["_id"]})


def _authorize_drop_role(ctx: Ctx) -> None:
    if not _may(ctx, ctx.db, "dropRole"):
        raise _unauthorized(f"Not authorized to drop roles from the {ctx.db} database")


@command("dropRole", write=True, needs=_ANY)
def cmd_drop_role(ctx: Ctx) -> dict[str, Any]:
    name = _parse(ctx)
    _authorize_drop_role(ctx)
    _not_builtin(ctx, name)
    rid, doc = _require_role(ctx, name)
    _pull_role_everywhere(ctx, lambda r: r.get("role") == name and r.get("db") == ctx.db)
    with ctx.storage.transaction(journal=True):
        ctx.storage.delete(ROLES_NS, rid)
    ctx.server.repl.log_op("d", ROLES_NS, {"_id": doc["_id"]})
    refresh_sessions(ctx.server)
    return {"ok": 1.0}


@command("dropAllRolesFromDatabase", write=True, needs=_ANY)
def cmd_drop_all_roles(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, None, {})
    _authorize_drop_role(ctx)
    _pull_role_everywhere(ctx, lambda r: r.get("db") == ctx.db)
    n = 0
    for rid, doc in list(ctx.storage.scan(ROLES_NS)):
        if doc.get("db") == ctx.db:
            with ctx.storage.transaction(journal=True):
                ctx.storage.delete(ROLES_NS, rid)
            ctx.server.repl.log_op("d", ROLES_NS, {"_id": doc["_id"]})
            n += 1
    refresh_sessions(ctx.server)
    return {"n": n, "ok": 1.0}


def _grant_or_revoke_args(ctx: Ctx, field: str, action: str) -> tuple[str, list[Any]]:
    """What grant/revoke Privileges/Roles To/From Role share: the IDL parse (the role's name, a
    required ``field`` array, each element parsed), checkAuthForTypedCommand (``action`` on what
    is granted or revoked), then typedRun's first checks: a non-empty array, not a built-in
    role (user_management_commands.cpp)."""
    name = _parse(ctx, field)
    value = ctx.cmd[field]
    if field == "privileges":
        items: list[Any] = _privileges_arg(ctx, value)
        _authorize_privileges(ctx, items, action)
    else:
        items = _role_names(value, ctx.db, f"{ctx.name}.roles")
        _authorize_roles(ctx, items, action)
    if not value:
        raise MongoError(2, f"{ctx.name} command requires a non-empty \"{field}\" array")
    _not_builtin(ctx, name)
    return name, items


@command("grantPrivilegesToRole", write=True, needs=_ANY)
def cmd_grant_privileges(ctx: Ctx) -> dict[str, Any]:
    name, adding = _grant_or_revoke_args(ctx, "privileges", "grantRole")
    _check_grant_privileges(ctx, adding)
    rid, doc = _require_role(ctx, name)
    current = privileges_from_docs(doc.get("privileges", []), "role")
    merged = privileges_from_docs([p.to_doc() for p in current + adding], "role")
    _save_role(ctx, rid, {**doc, "privileges": _privilege_docs(merged)})
    return {"ok": 1.0}


@command("revokePrivilegesFromRole", write=True, needs=_ANY)
def cmd_revoke_privileges(ctx: Ctx) -> dict[str, Any]:
    name, removing = _grant_or_revoke_args(ctx, "privileges", "revokeRole")
    rid, doc = _require_role(ctx, name)
    kept: list[Privilege] = []
    for p in privileges_from_docs(doc.get("privileges", []), "role"):
        for r in removing:
            if r.resource_doc() == p.resource_doc():
                p = p.without(r.actions)
        if p.actions:
            kept.append(p)
    _save_role(ctx, rid, {**doc, "privileges": _privilege_docs(kept)})
    return {"ok": 1.0}


@command("grantRolesToRole", write=True, needs=_ANY)
def cmd_grant_roles_to_role(ctx: Ctx) -> dict[str, Any]:
    name, adding = _grant_or_revoke_args(ctx, "roles", "grantRole")
    _check_grant_roles(ctx, name, adding)
    rid, doc = _require_role(ctx, name)
    roles = list(doc.get("roles", []))
    roles += [r for r in adding if r not in roles]
    _save_role(ctx, rid, {**doc, "roles": roles})
    return {"ok": 1.0}


@command("revokeRolesFromRole", write=True, needs=_ANY)
def cmd_revoke_roles_from_role(ctx: Ctx) -> dict[str, Any]:
    name, removing = _grant_or_revoke_args(ctx, "roles", "revokeRole")
    rid, doc = _require_role(ctx, name)
    _save_role(ctx, rid, {**doc, "roles": [r for r in doc.get("roles", [])
                                           if r not in removing]})
    return {"ok": 1.0}


def _describe(ctx: Ctx, role: str, db: str, show_privileges: bool,
              show_restrictions: bool) -> dict[str, Any] | None:
    """One role as getRolesDescription renders it."""
    builtin = role_exists(role, db)
    doc = None if builtin else role_doc(ctx.server, db, role)
    if not builtin and doc is None:
        return None
    direct = [] if builtin else list(doc.get("roles", []))  # type: ignore[union-attr]
    reachable, grants, restrictions = resolve_roles(ctx.server, [{"role": role, "db": db}])
    out: dict[str, Any] = {} if builtin else {"_id": f"{db}.{role}"}
    out.update({"role": role, "db": db})
    if show_privileges:
        own = privileges_of(AuthenticatedUser("", db, resolved=grants[:1]))
        out["privileges"] = own
    out["roles"] = direct
    if show_restrictions:
        # filterAndMapRole (authz_manager_external_state_local.cpp) lifts a role's own
        # restrictions into one more array for rolesInfo; a role without any (a built-in one
        # too) shows an empty array
        own = doc.get("authenticationRestrictions") if doc is not None else None
        out["authenticationRestrictions"] = [] if own is None else [own]
    out["isBuiltin"] = builtin
    out["inheritedRoles"] = [r for r in reachable if r != {"role": role, "db": db}]
    if show_privileges:
        out["inheritedPrivileges"] = privileges_of(AuthenticatedUser("", db, resolved=grants))
    if show_restrictions:
        out["inheritedAuthenticationRestrictions"] = restrictions
    return out


def _show_privileges(ctx: Ctx) -> str:
    """ParsedPrivilegeFormat::parseFromBSON (auth/privilege_format.h): a number or a boolean
    (true: separate), or the string "asUserFragment"."""
    value = ctx.cmd.get("showPrivileges", False)
    if isinstance(value, (bool, int, float)):
        return "separate" if value else "omit"
    if value == "asUserFragment":
        return "fragment"
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    raise MongoError(9, "Failed to parse 'showPrivileges'. 'showPrivileges' should either be a "
                        f"boolean or the string 'asUserFragment', given: showPrivileges: {shown}")


def _user_fragment(ctx: Ctx, names: list[dict[str, str]], show_restrictions: bool
                   ) -> dict[str, Any]:
    """AuthzManagerExternalStateLocal::getRolesAsUserFragment: the roles as a user document
    holding them would show them (usersInfo's inherited fields): ``roles`` as given,
    ``inheritedRoles`` the given ones and all they reach (a missing role is kept, skipped when
    resolving), ``inheritedPrivileges`` merged over all, ``inheritedAuthenticationRestrictions``
    when asked for."""
    reachable, grants, restrictions = resolve_roles(ctx.server, names)
    inherited = list(names) + [r for r in reachable if r not in names]
    fragment: dict[str, Any] = {"roles": list(names), "inheritedRoles": inherited,
                                "inheritedPrivileges": privileges_of(
                                    AuthenticatedUser("", ctx.db, resolved=grants))}
    if show_restrictions:
        fragment["inheritedAuthenticationRestrictions"] = restrictions
    return fragment


def _authorize_roles_info(ctx: Ctx, names: list[dict[str, str]] | None) -> None:
    """checkAuthForTypedCommand(RolesInfoCommand): viewRole on the database for all its roles;
    for named roles, viewRole on each role's database unless a logged-in user holds the role."""
    if names is None:
        if not _may(ctx, ctx.db, "viewRole"):
            raise _unauthorized(f"Not authorized to view roles from the {ctx.db} database")
        return
    held = [dict(r) for u in ctx.conn.users for r in u.roles]
    for r in names:
        if r in held:
            continue
        if not _may(ctx, r["db"], "viewRole"):
            raise _unauthorized(f"Not authorized to view roles from the {r['db']} database")


@command("rolesInfo", needs=_ANY)
def cmd_roles_info(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, None, {"showPrivileges": "any", "showBuiltinRoles": SAFE_BOOL,
                              "showAuthenticationRestrictions": SAFE_BOOL})
    arg = ctx.arg
    show = _show_privileges(ctx)
    show_restrictions = bool(ctx.cmd.get("showAuthenticationRestrictions"))
    all_on_db = arg is True or (isinstance(arg, (int, float)) and not isinstance(arg, bool)
                                and arg == 1)
    names: list[dict[str, str]] = []
    if not all_on_db:
        for item in arg if isinstance(arg, list) else [arg]:
            if isinstance(item, str):
                names.append({"role": item, "db": ctx.db})
            elif isinstance(item, dict) and isinstance(item.get("role"), str):
                names.append({"role": item["role"], "db": str(item.get("db", ctx.db))})
            else:
                raise MongoError(2, "Role names must be either strings or objects")
    _authorize_roles_info(ctx, None if all_on_db else names)
    if show == "fragment":
        if all_on_db:
            raise MongoError(20, "Cannot get user fragment for all roles in a database")
        return {"userFragment": _user_fragment(ctx, names, show_restrictions), "ok": 1.0}
    pairs: list[tuple[str, str]] = []
    if all_on_db:
        if ctx.cmd.get("showBuiltinRoles"):
            pairs += [(r, ctx.db) for r in BUILTIN_ROLES if role_exists(r, ctx.db)
                      and r != "__system"]
        pairs += [(d["role"], d["db"]) for _, d in ctx.storage.scan(ROLES_NS)
                  if d.get("db") == ctx.db]
    else:
        pairs = [(r["role"], r["db"]) for r in names]
    roles = []
    for role, db in pairs:
        described = _describe(ctx, role, db, show == "separate", show_restrictions)
        if described is not None:
            roles.append(described)
    return {"roles": roles, "ok": 1.0}
