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
                           check_restrictions, privileges_from_docs, privileges_of, role_exists)
from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError

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
    if not isinstance(value, list):
        raise MongoError(14, f"BSON field '{field}' is the wrong type "
                             f"'{type(value).__name__}', expected type 'array'")
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


def _required(ctx: Ctx, field: str) -> Any:
    if field not in ctx.cmd:
        raise MongoError(40414, f"BSON field '{ctx.name}.{field}' is missing but a required "
                                "field")
    return ctx.cmd[field]


def _role_name(ctx: Ctx) -> str:
    name = ctx.arg
    if not isinstance(name, str):
        raise MongoError(14, f"BSON field '{ctx.name}' is the wrong type "
                             f"'{type(name).__name__}', expected type 'string'")
    return name


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


# -- who may run them (checkAuthForCreateRole and the like) -----------------------------------


def _grant_privilege_needs(db: str, docs: Any, action: str) -> list[Need]:
    """checkAuthorizedToGrantPrivilege: grantRole on the privilege's database, or on admin for
    a privilege on the cluster or on several databases."""
    needs: list[Need] = []
    for doc in docs if isinstance(docs, list) else []:
        resource = doc.get("resource") if isinstance(doc, dict) else None
        target = resource.get("db") if isinstance(resource, dict) else None
        need = (target if isinstance(target, str) and target else "admin", action)
        if need not in needs:
            needs.append(need)
    return needs


def _role_db_needs(ctx: Ctx, value: Any, action: str) -> list[Need]:
    needs: list[Need] = []
    for item in value if isinstance(value, list) else []:
        db = item.get("db", ctx.db) if isinstance(item, dict) else ctx.db
        if isinstance(db, str) and (db, action) not in needs:
            needs.append((db, action))
    return needs


def _create_role_needs(ctx: Ctx) -> list[Need]:
    needs: list[Need] = [(ctx.db, "createRole")]
    needs += _role_db_needs(ctx, ctx.cmd.get("roles"), "grantRole")
    needs += _grant_privilege_needs(ctx.db, ctx.cmd.get("privileges"), "grantRole")
    if ctx.cmd.get("authenticationRestrictions"):
        needs.append((ctx.db, "setAuthenticationRestriction"))
    return needs


def _update_role_needs(ctx: Ctx) -> list[Need]:
    needs: list[Need] = [(ctx.db, "grantRole"), (ctx.db, "revokeRole")]
    needs += _role_db_needs(ctx, ctx.cmd.get("roles"), "grantRole")
    needs += _grant_privilege_needs(ctx.db, ctx.cmd.get("privileges"), "grantRole")
    if "authenticationRestrictions" in ctx.cmd:
        needs.append((ctx.db, "setAuthenticationRestriction"))
    return needs


# -- commands ---------------------------------------------------------------------------------


@command("createRole", write=True, needs=_create_role_needs)
def cmd_create_role(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    privileges_arg = _required(ctx, "privileges")
    roles_arg = _required(ctx, "roles")
    if not name:
        raise MongoError(2, "Role name must be non-empty")
    if ctx.db == "local":
        raise MongoError(2, "Cannot create roles in the local database")
    if ctx.db == "$external":
        raise MongoError(2, "Cannot create roles in the $external database")
    if role_exists(name, ctx.db) or name in BUILTIN_ROLES:
        raise MongoError(2, "Cannot create roles with the same name as a built-in role")
    if not isinstance(privileges_arg, list):
        raise MongoError(14, "BSON field 'createRole.privileges' is the wrong type, expected "
                             "type 'array'")
    privileges = privileges_from_docs(privileges_arg, "createRole")
    roles = _role_names(roles_arg, ctx.db, "createRole.roles")
    doc: dict[str, Any] = {"_id": f"{ctx.db}.{name}", "role": name, "db": ctx.db,
                           "privileges": _privilege_docs(privileges), "roles": roles}
    restrictions = ctx.cmd.get("authenticationRestrictions")
    if restrictions is not None:
        checked = check_restrictions(restrictions, "createRole")
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


@command("updateRole", write=True, needs=_update_role_needs)
def cmd_update_role(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    if not any(k in ctx.cmd for k in ("roles", "privileges", "authenticationRestrictions")):
        raise MongoError(2, "Must specify at least one field to update in updateRole")
    rid, doc = _require_role(ctx, name)
    doc = dict(doc)
    if "privileges" in ctx.cmd:
        privileges = privileges_from_docs(ctx.cmd["privileges"] if isinstance(
            ctx.cmd["privileges"], list) else [None], "updateRole")
        _check_grant_privileges(ctx, privileges)
        doc["privileges"] = _privilege_docs(privileges)
    if "roles" in ctx.cmd:
        roles = _role_names(ctx.cmd["roles"], ctx.db, "updateRole.roles")
        _check_grant_roles(ctx, name, roles)
        doc["roles"] = roles
    if "authenticationRestrictions" in ctx.cmd:
        checked = check_restrictions(ctx.cmd["authenticationRestrictions"], "updateRole")
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


@command("dropRole", write=True, needs=[("db", "dropRole")])
def cmd_drop_role(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    _not_builtin(ctx, name)
    rid, doc = _require_role(ctx, name)
    _pull_role_everywhere(ctx, lambda r: r.get("role") == name and r.get("db") == ctx.db)
    with ctx.storage.transaction(journal=True):
        ctx.storage.delete(ROLES_NS, rid)
    ctx.server.repl.log_op("d", ROLES_NS, {"_id": doc["_id"]})
    refresh_sessions(ctx.server)
    return {"ok": 1.0}


@command("dropAllRolesFromDatabase", write=True, needs=[("db", "dropRole")])
def cmd_drop_all_roles(ctx: Ctx) -> dict[str, Any]:
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


@command("grantPrivilegesToRole", write=True,
         needs=lambda ctx: _grant_privilege_needs(ctx.db, ctx.cmd.get("privileges"),
                                                  "grantRole"))
def cmd_grant_privileges(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    docs = ctx.cmd.get("privileges")
    if not isinstance(docs, list) or not docs:
        raise MongoError(2, "grantPrivilegesToRole command requires a non-empty \"privileges\" "
                            "array")
    _not_builtin(ctx, name)
    adding = privileges_from_docs(docs, "grantPrivilegesToRole")
    _check_grant_privileges(ctx, adding)
    rid, doc = _require_role(ctx, name)
    current = privileges_from_docs(doc.get("privileges", []), "role")
    merged = privileges_from_docs([p.to_doc() for p in current + adding], "role")
    _save_role(ctx, rid, {**doc, "privileges": _privilege_docs(merged)})
    return {"ok": 1.0}


@command("revokePrivilegesFromRole", write=True,
         needs=lambda ctx: _grant_privilege_needs(ctx.db, ctx.cmd.get("privileges"),
                                                  "revokeRole"))
def cmd_revoke_privileges(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    docs = ctx.cmd.get("privileges")
    if not isinstance(docs, list) or not docs:
        raise MongoError(2, "revokePrivilegesFromRole command requires a non-empty "
                            "\"privileges\" array")
    _not_builtin(ctx, name)
    removing = privileges_from_docs(docs, "revokePrivilegesFromRole")
    rid, doc = _require_role(ctx, name)
    kept: list[Privilege] = []
    for p in privileges_from_docs(doc.get("privileges", []), "role"):
        for r in removing:
            if r.resource_doc() == p.resource_doc():
                p = Privilege(p.db, p.collection, p.cluster, p.any_resource,
                              p.actions - r.actions)
        if p.actions:
            kept.append(p)
    _save_role(ctx, rid, {**doc, "privileges": _privilege_docs(kept)})
    return {"ok": 1.0}


@command("grantRolesToRole", write=True,
         needs=lambda ctx: _role_db_needs(ctx, ctx.cmd.get("roles"), "grantRole"))
def cmd_grant_roles_to_role(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    roles_arg = ctx.cmd.get("roles")
    if not isinstance(roles_arg, list) or not roles_arg:
        raise MongoError(2, "grantRolesToRole command requires a non-empty \"roles\" array")
    _not_builtin(ctx, name)
    adding = _role_names(roles_arg, ctx.db, "grantRolesToRole.roles")
    _check_grant_roles(ctx, name, adding)
    rid, doc = _require_role(ctx, name)
    roles = list(doc.get("roles", []))
    roles += [r for r in adding if r not in roles]
    _save_role(ctx, rid, {**doc, "roles": roles})
    return {"ok": 1.0}


@command("revokeRolesFromRole", write=True,
         needs=lambda ctx: _role_db_needs(ctx, ctx.cmd.get("roles"), "revokeRole"))
def cmd_revoke_roles_from_role(ctx: Ctx) -> dict[str, Any]:
    name = _role_name(ctx)
    roles_arg = ctx.cmd.get("roles")
    if not isinstance(roles_arg, list) or not roles_arg:
        raise MongoError(2, "revokeRolesFromRole command requires a non-empty \"roles\" array")
    _not_builtin(ctx, name)
    removing = _role_names(roles_arg, ctx.db, "revokeRolesFromRole.roles")
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
    if show_restrictions and doc is not None:
        out["authenticationRestrictions"] = doc.get("authenticationRestrictions", [])
    out["isBuiltin"] = builtin
    out["inheritedRoles"] = [r for r in reachable if r != {"role": role, "db": db}]
    if show_privileges:
        out["inheritedPrivileges"] = privileges_of(AuthenticatedUser("", db, resolved=grants))
    if show_restrictions:
        out["inheritedAuthenticationRestrictions"] = restrictions
    return out


@command("rolesInfo", needs=[("db", "viewRole")])
def cmd_roles_info(ctx: Ctx) -> dict[str, Any]:
    arg = ctx.arg
    show_privileges = ctx.cmd.get("showPrivileges") in (True, 1, 1.0)
    show_restrictions = bool(ctx.cmd.get("showAuthenticationRestrictions"))
    names: list[tuple[str, str]] = []
    if arg == 1 and not isinstance(arg, bool) or arg is True:
        if ctx.cmd.get("showBuiltinRoles"):
            names += [(r, ctx.db) for r in BUILTIN_ROLES if role_exists(r, ctx.db)
                      and r != "__system"]
        names += [(d["role"], d["db"]) for _, d in ctx.storage.scan(ROLES_NS)
                  if d.get("db") == ctx.db]
    else:
        items = arg if isinstance(arg, list) else [arg]
        for item in items:
            if isinstance(item, str):
                names.append((item, ctx.db))
            elif isinstance(item, dict) and isinstance(item.get("role"), str):
                names.append((item["role"], str(item.get("db", ctx.db))))
            else:
                raise MongoError(2, "Role names must be either strings or objects")
    roles = []
    for role, db in names:
        described = _describe(ctx, role, db, show_privileges, show_restrictions)
        if described is not None:
            roles.append(described)
    return {"roles": roles, "ok": 1.0}
