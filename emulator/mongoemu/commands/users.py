"""SCRAM authentication (saslStart/saslContinue, speculative auth in hello) and user
management (createUser, updateUser, dropUser, usersInfo, grant/revoke roles)."""
from __future__ import annotations

import uuid as _uuid
from typing import TYPE_CHECKING, Any

from bson import Binary

from mongoemu.auth import (MECHANISMS, AuthenticatedUser, ScramConversation,
                           check_restrictions, make_credentials, restrictions_met, role_exists,
                           scram_continue, scram_start)
from mongoemu.commands.roles import resolve_roles, resolve_user, role_known
from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError
from mongoemu.idl import SAFE_BOOL, parse_command

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.server import Server

USERS_NS = "admin.system.users"


def _user_doc(server: "Server", db: str, user: str) -> dict[str, Any] | None:
    found = server.storage.find_by_id(USERS_NS, f"{db}.{user}")
    return found[1] if found else None


def _system_user_credentials(server: "Server") -> dict[str, Any] | None:
    if server.key is None:
        return None
    cache = getattr(server, "_system_creds", None)
    if cache is None:
        cache = make_credentials("__system", server.key)
        server._system_creds = cache  # type: ignore[attr-defined]
    return cache


def lookup_credentials(server: "Server", db: str, user: str) -> dict[str, Any] | None:
    if user == "__system" and db in ("local", "admin"):
        return _system_user_credentials(server)
    doc = _user_doc(server, db, user)
    return doc.get("credentials") if doc else None


def _roles_of(server: "Server", db: str, user: str) -> list[dict[str, str]]:
    if user == "__system" and db in ("local", "admin"):
        return [{"role": "__system", "db": "admin"}]
    doc = _user_doc(server, db, user)
    return list(doc.get("roles", [])) if doc else []


def supported_mechanisms(server: "Server", qualified: str) -> list[str] | None:
    db, _, user = qualified.partition(".")
    creds = lookup_credentials(server, db, user)
    if creds is None:
        return None
    return [m for m in MECHANISMS if m in creds]


def _start(ctx: Ctx, db: str, mechanism: Any, payload: Any, options: Any) -> dict[str, Any]:
    if mechanism not in MECHANISMS:
        raise MongoError(334, f"Received authentication for mechanism {mechanism} which is not "
                              "enabled")
    conv = ScramConversation(mechanism=mechanism, db=db)
    _check_user_has_mechanism(ctx, db, mechanism, bytes(payload))
    conv.skip_empty_exchange = bool(isinstance(options, dict) and
                                    options.get("skipEmptyExchange"))
    server_first = scram_start(conv, bytes(payload),
                               lambda d, u: lookup_credentials(ctx.server, d, u))
    cid = ctx.conn.next_conversation
    ctx.conn.next_conversation += 1
    ctx.conn.conversations[cid] = conv
    return {"conversationId": cid, "done": False, "payload": Binary(server_first)}


def _auth_failed(ctx: Ctx, conv: ScramConversation | None, db: str) -> None:
    ctx.server.logger.log("I", "ACCESS", 5286307, f"conn{ctx.conn.id}",
                          "Failed to authenticate",
                          {"client": f"{ctx.conn.peer[0]}:{ctx.conn.peer[1]}",
                           "mechanism": conv.mechanism if conv else "",
                           "user": conv.user if conv else "", "db": db,
                           "error": "AuthenticationFailed: SCRAM authentication failed, "
                                    "storedKey mismatch"})


def _check_user_has_mechanism(ctx: Ctx, db: str, mechanism: str, payload: bytes) -> None:
    """mongod refuses a SCRAM mechanism the user has no credentials for (334)."""
    text = payload.decode("utf-8", "replace")
    user = None
    for part in text.split(",")[2:]:
        if part.startswith("n="):
            user = part[2:].replace("=2C", ",").replace("=3D", "=")
            break
    if user is None:
        return
    creds = lookup_credentials(ctx.server, db, user)
    if creds is not None and mechanism not in creds:
        raise MongoError(334, f"Unable to use {mechanism} based authentication for user "
                              f"without any {mechanism} credentials registered")


def speculative_authenticate(ctx: Ctx, spec: dict[str, Any]) -> dict[str, Any] | None:
    if spec.get("authenticate") and spec.get("mechanism") == "MONGODB-X509":
        # mongod's doSpeculativeAuthenticate (authentication_commands.cpp) runs the X.509
        # authenticate inside hello; a failure leaves the client to authenticate on its own
        from mongoemu.x509 import authenticate_x509
        try:
            reply = authenticate_x509(ctx, str(spec.get("db", "$external")), spec.get("user"))
        except MongoError:
            return None
        return {"dbname": reply["dbname"], "user": reply["user"]}
    if "saslStart" not in spec:
        return None
    try:
        return _start(ctx, str(spec.get("db", ctx.db)), spec.get("mechanism"),
                      spec.get("payload", b""), spec.get("options"))
    except MongoError:
        return None


@command("saslStart", requires_auth=False)
def cmd_sasl_start(ctx: Ctx) -> dict[str, Any]:
    try:
        reply = _start(ctx, ctx.db, ctx.cmd.get("mechanism"), ctx.cmd.get("payload", b""),
                       ctx.cmd.get("options"))
    except MongoError as exc:
        if exc.code == 18:
            _auth_failed(ctx, None, ctx.db)
        raise
    reply["ok"] = 1.0
    return reply


@command("saslContinue", requires_auth=False)
def cmd_sasl_continue(ctx: Ctx) -> dict[str, Any]:
    cid = ctx.cmd.get("conversationId")
    conv = ctx.conn.conversations.get(int(cid)) if isinstance(cid, int) else None
    if conv is None:
        raise MongoError(17, "No SASL session state found")
    try:
        payload = scram_continue(conv, bytes(ctx.cmd.get("payload", b"")))
    except MongoError:
        ctx.conn.conversations.pop(int(cid), None)
        _auth_failed(ctx, conv, conv.db)
        raise MongoError(18, "Authentication failed.") from None
    if conv.done or conv.step == 2:
        if conv.step == 2 and not conv.done and conv.skip_empty_exchange is False:
            pass
        user = AuthenticatedUser(user=conv.user, db=conv.db,
                                 roles=_roles_of(ctx.server, conv.db, conv.user))
        resolve_user(ctx.server, user)
        _check_authentication_restrictions(ctx, conv, user)
        ctx.conn.users = [u for u in ctx.conn.users if not (u.db == user.db)] + [user]
        ctx.server.logger.info("ACCESS", 5286306, f"conn{ctx.conn.id}",
                               "Successfully authenticated",
                               client=f"{ctx.conn.peer[0]}:{ctx.conn.peer[1]}",
                               mechanism=conv.mechanism, user=conv.user, db=conv.db)
    if conv.done:
        ctx.conn.conversations.pop(int(cid), None)
    return {"conversationId": int(cid), "done": conv.done, "payload": Binary(payload),
            "ok": 1.0}


def _check_authentication_restrictions(ctx: Ctx, conv: ScramConversation,
                                       user: AuthenticatedUser) -> None:
    """AuthorizationSessionImpl::addAndAuthorizeUser: User::validateRestrictions against the
    connection's client and server addresses - the user's own restrictions, then every
    inherited role's; unmet, mongod logs 20240 and authentication fails."""
    doc = _user_doc(ctx.server, conv.db, conv.user) or {}
    client_ip, server_ip = ctx.conn.peer[0], ctx.conn.local[0]
    reason = None
    if not restrictions_met(doc.get("authenticationRestrictions", []), client_ip, server_ip):
        reason = "Evaluation of direct authentication restrictions failed"
    else:
        for inherited in resolve_roles(ctx.server, user.roles)[2]:
            if not restrictions_met(inherited, client_ip, server_ip):
                reason = "Evaluation of indirect authentication restrictions failed"
                break
    if reason is None:
        return
    ctx.server.logger.info("ACCESS", 20240, f"conn{ctx.conn.id}",
                           "Failed to acquire user because of unmet authentication "
                           "restrictions", user={"user": conv.user, "db": conv.db},
                           reason=f"{reason}: client {client_ip}, server {server_ip}")
    raise MongoError(18, "Authentication failed.")


@command("authenticate", requires_auth=False)
def cmd_authenticate(ctx: Ctx) -> dict[str, Any]:
    if ctx.cmd.get("mechanism") == "MONGODB-X509":
        from mongoemu.x509 import authenticate_x509
        return authenticate_x509(ctx, ctx.db, ctx.cmd.get("user"))
    raise MongoError(334, f"Received authentication for mechanism "
                          f"{ctx.cmd.get('mechanism', 'MONGODB-CR')} which is not enabled")


# -- user management -------------------------------------------------------------------------


def _normalize_roles(roles: Any, db: str, server: "Server | None" = None) -> list[dict[str, str]]:
    if not isinstance(roles, list):
        raise MongoError(14, "\"roles\" argument must be an array")
    out = []
    for r in roles:
        if isinstance(r, str):
            role = {"role": r, "db": db}
        elif isinstance(r, dict) and "role" in r:
            role = {"role": str(r["role"]), "db": str(r.get("db", db))}
        else:
            raise MongoError(2, "Role names must be either strings or objects")
        if not role_exists(role["role"], role["db"]) and not (
                server is not None and role_known(server, role["role"], role["db"])):
            raise MongoError(31, f"Could not find role: {role['role']}@{role['db']}")
        if role not in out:
            out.append(role)
    return out


def _mechanisms(ctx: Ctx) -> list[str]:
    mechs = ctx.cmd.get("mechanisms", list(MECHANISMS))
    if not isinstance(mechs, list) or not mechs:
        raise MongoError(2, "mechanisms field must not be empty")
    for m in mechs:
        if m not in MECHANISMS:
            raise MongoError(2, f"Unknown auth mechanism '{m}'")
    return mechs


# user_management_commands.idl: strict commands, the user's name a string
_USER_FIELDS = {"pwd": "string", "customData": "object", "roles": "array",
                "digestPassword": SAFE_BOOL, "authenticationRestrictions": "array",
                "mechanisms": "array"}


def _user_roles_arg(ctx: Ctx) -> list[dict[str, str]]:
    """grantRolesToUser / revokeRolesFromUser: the IDL parse, then typedRun's first check."""
    parse_command(ctx, "string", {"roles": "array"}, ("roles",))
    if not ctx.cmd["roles"]:
        raise MongoError(2, f"{ctx.name} command requires a non-empty \"roles\" array")
    return _normalize_roles(ctx.cmd["roles"], ctx.db, ctx.server)


def _user_needs(action: str) -> Any:
    def needs(ctx: Ctx) -> list[tuple[str | None, str]]:
        return [(ctx.db, action)]
    return needs


def _roles_granted_needs(ctx: Ctx) -> list[tuple[str | None, str]]:
    """grantRole on the database of every role given (user_management_commands.cpp,
    checkAuthorizedToGrantRoles via isAuthorizedToGrantRole)."""
    roles = ctx.cmd.get("roles")
    needs: list[tuple[str | None, str]] = []
    for r in roles if isinstance(roles, list) else []:
        db = r.get("db", ctx.db) if isinstance(r, dict) else ctx.db
        if isinstance(db, str) and (db, "grantRole") not in needs:
            needs.append((db, "grantRole"))
    return needs


def _create_user_needs(ctx: Ctx) -> list[tuple[str | None, str]]:
    needs = [(ctx.db, "createUser"), *_roles_granted_needs(ctx)]
    if ctx.cmd.get("authenticationRestrictions"):
        needs.append((ctx.db, "setAuthenticationRestriction"))
    return needs


def _update_user_needs(ctx: Ctx) -> list[tuple[str | None, str]]:
    needs = [(ctx.db, "updateUser")]
    if "authenticationRestrictions" in ctx.cmd:
        needs.append((ctx.db, "setAuthenticationRestriction"))
    return needs


@command("createUser", write=True, needs=_create_user_needs)
def cmd_create_user(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, "string", _USER_FIELDS, ("roles",))
    name = ctx.arg
    if not isinstance(name, str) or not name:
        raise MongoError(2, "User name must be a non-empty string")
    if ctx.db == "local":
        raise MongoError(2, "Cannot create users in the local database")
    pwd = ctx.cmd.get("pwd")
    if ctx.db != "$external":
        if not isinstance(pwd, str):
            raise MongoError(2, "Must provide a 'pwd' field for all user documents, except "
                                "those with '$external' as the user's source db")
        if not pwd:
            raise MongoError(2, "Password cannot be empty")
    if "roles" not in ctx.cmd:
        raise MongoError(2, "\"createUser\" command requires a \"roles\" array")
    roles = _normalize_roles(ctx.cmd["roles"], ctx.db, ctx.server)
    mechs = _mechanisms(ctx)
    if _user_doc(ctx.server, ctx.db, name) is not None:
        raise MongoError(51003, f"User \"{name}@{ctx.db}\" already exists")
    doc: dict[str, Any] = {"_id": f"{ctx.db}.{name}", "userId": Binary(_uuid.uuid4().bytes, 4),
                           "user": name, "db": ctx.db,
                           "credentials": make_credentials(name, pwd or "", mechs),
                           "roles": roles}
    if "customData" in ctx.cmd:
        doc["customData"] = ctx.cmd["customData"]
    if "authenticationRestrictions" in ctx.cmd:
        restrictions = check_restrictions(ctx.cmd["authenticationRestrictions"], "createUser")
        if restrictions:
            doc["authenticationRestrictions"] = restrictions
    with ctx.storage.transaction(journal=True):
        ctx.storage.insert(USERS_NS, doc)
    ctx.server.repl.log_op("i", USERS_NS, doc, o2={"_id": doc["_id"]})
    ctx.server.logger.info("ACCESS", 20258, f"conn{ctx.conn.id}", "Created user",
                           user=name, db=ctx.db)
    return {"ok": 1.0}


def _require_user(ctx: Ctx, name: Any) -> tuple[int, dict[str, Any]]:
    found = ctx.storage.find_by_id(USERS_NS, f"{ctx.db}.{name}")
    if found is None:
        raise MongoError(11, f"User '{name}@{ctx.db}' not found")
    return found


def _save_user(ctx: Ctx, rid: int, doc: dict[str, Any]) -> None:
    with ctx.storage.transaction(journal=True):
        ctx.storage.replace(USERS_NS, rid, doc)
    ctx.server.repl.log_op("u", USERS_NS, doc, o2={"_id": doc["_id"]})
    for conn in ctx.server.connections.values():
        for u in conn.users:
            if u.db == doc["db"] and u.user == doc["user"]:
                u.roles = list(doc.get("roles", []))
                resolve_user(ctx.server, u)


@command("updateUser", write=True, needs=_update_user_needs)
def cmd_update_user(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, "string", _USER_FIELDS)
    rid, doc = _require_user(ctx, ctx.arg)
    doc = dict(doc)
    if "pwd" in ctx.cmd:
        pwd = ctx.cmd["pwd"]
        if not isinstance(pwd, str) or not pwd:
            raise MongoError(2, "Password cannot be empty")
        doc["credentials"] = make_credentials(doc["user"], pwd, _mechanisms(ctx))
    if "roles" in ctx.cmd:
        doc["roles"] = _normalize_roles(ctx.cmd["roles"], ctx.db, ctx.server)
    if "customData" in ctx.cmd:
        doc["customData"] = ctx.cmd["customData"]
    if "authenticationRestrictions" in ctx.cmd:
        restrictions = check_restrictions(ctx.cmd["authenticationRestrictions"], "updateUser")
        if restrictions:
            doc["authenticationRestrictions"] = restrictions
        else:
            doc.pop("authenticationRestrictions", None)
    if not any(k in ctx.cmd for k in ("pwd", "roles", "customData", "mechanisms",
                                       "authenticationRestrictions")):
        raise MongoError(2, "Must specify at least one field to update in updateUser")
    _save_user(ctx, rid, doc)
    return {"ok": 1.0}


@command("dropUser", write=True, needs=_user_needs("dropUser"))
def cmd_drop_user(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, "string", {})
    rid, doc = _require_user(ctx, ctx.arg)
    with ctx.storage.transaction(journal=True):
        ctx.storage.delete(USERS_NS, rid)
    ctx.server.repl.log_op("d", USERS_NS, {"_id": doc["_id"]})
    return {"ok": 1.0}


@command("dropAllUsersFromDatabase", write=True, needs=_user_needs("dropUser"))
def cmd_drop_all_users(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, None, {})
    n = 0
    with ctx.storage.transaction(journal=True):
        for rid, doc in list(ctx.storage.scan(USERS_NS)):
            if doc.get("db") == ctx.db:
                ctx.storage.delete(USERS_NS, rid)
                n += 1
    return {"n": n, "ok": 1.0}


@command("grantRolesToUser", write=True, needs=_user_needs("grantRole"))
def cmd_grant_roles(ctx: Ctx) -> dict[str, Any]:
    roles = _user_roles_arg(ctx)
    rid, doc = _require_user(ctx, ctx.arg)
    doc = dict(doc)
    current = list(doc.get("roles", []))
    for r in roles:
        if r not in current:
            current.append(r)
    doc["roles"] = current
    _save_user(ctx, rid, doc)
    return {"ok": 1.0}


@command("revokeRolesFromUser", write=True, needs=_user_needs("revokeRole"))
def cmd_revoke_roles(ctx: Ctx) -> dict[str, Any]:
    roles = _user_roles_arg(ctx)
    rid, doc = _require_user(ctx, ctx.arg)
    doc = dict(doc)
    doc["roles"] = [r for r in doc.get("roles", []) if r not in roles]
    _save_user(ctx, rid, doc)
    return {"ok": 1.0}


def _users_info_needs(ctx: Ctx) -> list[tuple[str | None, str]]:
    arg = ctx.arg
    me = [(u.user, u.db) for u in ctx.conn.users]
    if isinstance(arg, str) and (arg, ctx.db) in me:
        return []
    if isinstance(arg, dict) and (arg.get("user"), arg.get("db", ctx.db)) in me:
        return []
    return [(ctx.db, "viewUser")]


def _public_user(server: "Server", doc: dict[str, Any], show_credentials: bool,
                 show_privileges: bool, show_restrictions: bool = False) -> dict[str, Any]:
    """User::reportForUsersInfo: with showPrivileges or showAuthenticationRestrictions the
    inherited roles (the whole role graph), privileges and roles' restrictions; the user's own
    authenticationRestrictions only with showAuthenticationRestrictions."""
    out = {"_id": doc["_id"], "userId": doc.get("userId"), "user": doc["user"], "db": doc["db"],
           "roles": doc.get("roles", [])}
    if "customData" in doc:
        out["customData"] = doc["customData"]
    out["mechanisms"] = [m for m in MECHANISMS if m in doc.get("credentials", {})]
    if show_credentials:
        out["credentials"] = doc.get("credentials", {})
    if show_privileges or show_restrictions:
        from mongoemu.auth import privileges_of

        reachable, grants, inherited = resolve_roles(server, doc.get("roles", []))
        out["inheritedRoles"] = reachable
        out["inheritedPrivileges"] = privileges_of(
            AuthenticatedUser(doc["user"], doc["db"], doc.get("roles", []), resolved=grants))
        out["inheritedAuthenticationRestrictions"] = inherited
    if show_restrictions:
        out["authenticationRestrictions"] = doc.get("authenticationRestrictions", [])
    return out


@command("usersInfo", read=False, needs=_users_info_needs)
def cmd_users_info(ctx: Ctx) -> dict[str, Any]:
    parse_command(ctx, None, {"showPrivileges": SAFE_BOOL, "showCredentials": SAFE_BOOL,
                              "showAuthenticationRestrictions": SAFE_BOOL,
                              "showCustomData": SAFE_BOOL, "authenticatedMechanism": "string",
                              "filter": "object"})
    arg = ctx.arg
    wanted: list[tuple[str, str]] | None
    all_dbs = False
    if arg == 1 or arg is True or (isinstance(arg, (int, float)) and arg == 1):
        wanted = None
    elif isinstance(arg, dict) and arg.get("forAllDBs"):
        wanted, all_dbs = None, True
    elif isinstance(arg, str):
        wanted = [(arg, ctx.db)]
    elif isinstance(arg, dict):
        wanted = [(str(arg.get("user")), str(arg.get("db", ctx.db)))]
    elif isinstance(arg, list):
        wanted = []
        for item in arg:
            if isinstance(item, str):
                wanted.append((item, ctx.db))
            elif isinstance(item, dict):
                wanted.append((str(item.get("user")), str(item.get("db", ctx.db))))
    else:
        raise MongoError(2, "User and role names must be either strings or objects")
    show_credentials = bool(ctx.cmd.get("showCredentials"))
    show_privileges = bool(ctx.cmd.get("showPrivileges"))
    show_restrictions = bool(ctx.cmd.get("showAuthenticationRestrictions"))
    if (show_privileges or show_restrictions) and (wanted is None or ctx.cmd.get("filter")):
        # user_management_commands.cpp, usersInfo
        raise MongoError(20, "Privilege or restriction details require exact-match usersInfo "
                             "queries")
    users = []
    for _, doc in ctx.storage.scan(USERS_NS):
        key = (doc.get("user"), doc.get("db"))
        if wanted is None:
            if not all_dbs and doc.get("db") != ctx.db:
                continue
        elif key not in wanted:
            continue
        users.append(_public_user(ctx.server, doc, show_credentials, show_privileges,
                                  show_restrictions))
    flt = ctx.cmd.get("filter")
    if flt:
        from mongoemu.query import Matcher

        m = Matcher(flt)
        users = [u for u in users if m(u)]
    return {"users": users, "ok": 1.0}
