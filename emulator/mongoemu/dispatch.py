"""Command dispatch: decode the request, find the command, check where it may run and
who may run it, apply fail points, run it, and shape the reply or the error."""
from __future__ import annotations

import asyncio
import inspect
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from mongoemu import wire
from mongoemu.auth import LocalhostBypass, is_authorized
from mongoemu.cursors import CursorManager
from mongoemu.errors import NOT_PRIMARY_OR_SHUTDOWN_CODES, MongoError

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.server import Connection, Server

# Fields that can accompany any command and are not its arguments.
GENERIC_FIELDS = frozenset({"$db", "lsid", "$clusterTime", "$readPreference", "txnNumber",
                            "autocommit", "startTransaction", "apiVersion", "apiStrict",
                            "apiDeprecationErrors", "readConcern", "writeConcern", "comment",
                            "maxTimeMS", "$audit", "$client", "$configServerState",
                            "$queryOptions", "stmtId", "stmtIds", "$readPreference"})


SLOW_MS = 100
# Commands that wait by design are never "slow queries".
_NOT_SLOW = frozenset({"hello", "isMaster", "ismaster", "getMore", "shutdown", "fsync"})

Need = tuple[str | None, str]  # (database, or None for the cluster; action)


@dataclass
class CommandSpec:
    name: str
    handler: Callable[["Ctx"], Awaitable[dict[str, Any]] | dict[str, Any]]
    aliases: tuple[str, ...] = ()
    admin_only: bool = False
    requires_auth: bool = True
    needs: Callable[["Ctx"], list[Need]] | None = None
    write: bool = False          # must run on a writable primary
    read: bool = False           # must run on a primary, or a secondary with secondaryOk
    test_only: bool = False      # only with enableTestCommands
    localhost_exception: bool = False
    retryable: bool = False


REGISTRY: dict[str, CommandSpec] = {}


def command(name: str, *, aliases: tuple[str, ...] = (), admin_only: bool = False,
            requires_auth: bool = True, needs: Any = None, write: bool = False,
            read: bool = False, test_only: bool = False, localhost_exception: bool = False,
            retryable: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command handler. ``needs`` is a list of (scope, action) where scope is
    "db" (the command's database), "cluster", or a callable(ctx) giving the list."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        needs_fn: Callable[[Ctx], list[Need]] | None
        if needs is None:
            needs_fn = None
        elif callable(needs):
            needs_fn = needs
        else:
            static = list(needs)

            def needs_fn(ctx: Ctx, _static: list[tuple[str, str]] = static) -> list[Need]:
                return [(None if scope == "cluster" else ctx.db, action)
                        for scope, action in _static]
        spec = CommandSpec(name=name, handler=fn, aliases=aliases, admin_only=admin_only,
                           requires_auth=requires_auth, needs=needs_fn, write=write, read=read,
                           test_only=test_only, localhost_exception=localhost_exception,
                           retryable=retryable)
        for key in (name, *aliases):
            REGISTRY[key] = spec  # command names are case-sensitive, as in mongod
        return fn
    return decorate


@dataclass
class Ctx:
    """Everything a command handler sees."""

    server: "Server"
    conn: "Connection"
    db: str
    cmd: dict[str, Any]
    name: str
    spec: CommandSpec
    request: wire.Request

    @property
    def storage(self) -> Any:
        return self.server.storage

    @property
    def arg(self) -> Any:
        return self.cmd[self.name]

    def ns(self, coll: str) -> str:
        return f"{self.db}.{coll}"

    def coll_name(self) -> str:
        value = self.arg
        if not isinstance(value, str):
            raise MongoError(73, f"collection name has invalid type {type(value).__name__}")
        if not value:
            raise MongoError(73, f"Invalid namespace specified '{self.db}.'")
        return value

    @property
    def journal(self) -> bool:
        wc = self.cmd.get("writeConcern")
        return isinstance(wc, dict) and bool(wc.get("j")) or \
            isinstance(wc, dict) and wc.get("fsync") is True

    @property
    def secondary_ok(self) -> bool:
        pref = self.cmd.get("$readPreference")
        if isinstance(pref, dict):
            return pref.get("mode", "primary") != "primary"
        return bool(self.request.flags & 4) if self.request.op_code == wire.OP_QUERY else False

    def user_names(self) -> tuple[str, ...]:
        return tuple(f"{u.db}.{u.user}" for u in self.conn.users)


@dataclass
class HandleResult:
    reply: dict[str, Any]
    close_connection: bool = False
    exhaust: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]] | None = None


class Dispatcher:
    def __init__(self, server: "Server") -> None:
        self.server = server
        self.cursors = CursorManager()
        from mongoemu.cluster_time import ClusterTimeSigner

        self.cluster_time = ClusterTimeSigner(server)
        # Imported for their registrations.
        from mongoemu.commands import load_all

        load_all()

    def connection_closed(self, conn: "Connection") -> None:
        """Cursors outlive their connection in mongod (drivers may getMore on another one);
        idle ones are reaped by CursorManager.reap."""
        conn.conversations.clear()

    async def handle(self, conn: "Connection", request: wire.Request) -> HandleResult:
        server = self.server
        if request.op_code == wire.OP_QUERY:
            return await self._handle_op_query(conn, request)
        body = request.body
        for ident, docs in request.sequences.items():
            if ident in body:
                return HandleResult(MongoError(
                    40433, f"Duplicate field between command body and document sequence "
                           f"'{ident}'").to_reply())
            body[ident] = docs
        if not body:
            return HandleResult(MongoError(2, "empty command object").to_reply())
        db = body.get("$db")
        if not isinstance(db, str):
            return HandleResult(MongoError(40571, "OP_MSG requests require a $db argument"
                                           ).to_reply())
        name = next(iter(body))
        result = await self.run_command(conn, request, db, name, body)
        server.opcounters["command"] += 1
        return result

    async def _handle_op_query(self, conn: "Connection", request: wire.Request) -> HandleResult:
        body = request.body
        if "$query" in body and isinstance(body["$query"], dict):
            body = dict(body["$query"])
        elif "query" in body and isinstance(body["query"], dict) and len(body) <= 3:
            body = dict(body["query"])
        ns = request.full_collection
        db, _, coll = ns.partition(".")
        name = next(iter(body), "")
        if coll != "$cmd" or name not in ("isMaster", "ismaster", "hello"):
            what = name if coll == "$cmd" else "find"
            return HandleResult(MongoError(352, f"Unsupported OP_QUERY command: {what}. The "
                                                "client driver may require an upgrade. For more "
                                                "details see https://dochub.mongodb.org/core/"
                                                "legacy-opcode-removal").to_reply())
        body["$db"] = db
        return await self.run_command(conn, request, db, name, body)

    async def run_command(self, conn: "Connection", request: wire.Request, db: str, name: str,
                          body: dict[str, Any]) -> HandleResult:
        server = self.server
        spec = REGISTRY.get(name)
        if spec is None or (spec.test_only and not server.config.test_commands_enabled):
            return HandleResult(MongoError(59, f"no such command: '{name}'").to_reply())
        ctx = Ctx(server=server, conn=conn, db=db, cmd=body, name=name, spec=spec,
                  request=request)
        try:
            if spec.admin_only and db != "admin":
                raise MongoError(13, f"{name} may only be run against the admin database.")
            self._check_auth(ctx)
            if "$clusterTime" in body:
                self.cluster_time.validate(body["$clusterTime"], may_advance=bool(
                    conn.users) and is_authorized(conn.users, [(None, "advanceClusterTime")]))
            if "txnNumber" in body and not server.repl.enabled:
                raise MongoError(20, "Transaction numbers are only allowed on a replica set "
                                     "member or mongos")
            if "autocommit" in body or "startTransaction" in body:
                raise MongoError(263, "mongoemu does not support multi-document "
                                      "transactions")
            if server.failpoints:
                fp = self._fail_command(ctx)
                if fp is not None:
                    return fp
            if spec.write:
                _validate_write_concern(server, body.get("writeConcern"))
                server.repl.check_writable(db)
                await server.wait_writes_allowed()
            elif spec.read and name != "getMore":  # the cursor's find was checked already
                server.repl.check_readable(db, ctx.secondary_ok)
            started = time.monotonic()
            if spec.retryable and "txnNumber" in body:
                result = await self._retryable(ctx)
            else:
                result = spec.handler(ctx)
                if inspect.isawaitable(result):
                    result = await result
            elapsed_ms = (time.monotonic() - started) * 1000
            if elapsed_ms > SLOW_MS and name not in _NOT_SLOW:
                server.logger.info("COMMAND", 51803, f"conn{conn.id}", "Slow query",
                                   type="command", ns=f"{db}.{body.get(name, '$cmd')}"
                                   if isinstance(body.get(name), str) else f"{db}.$cmd",
                                   command={name: body.get(name)},
                                   durationMillis=int(elapsed_ms))
        except MongoError as exc:
            reply = exc.to_reply()
            if exc.code in NOT_PRIMARY_OR_SHUTDOWN_CODES:
                reply["topologyVersion"] = server.repl.topology_version()
            if server.repl.config is not None:
                self._gossip_cluster_time(reply)
            return HandleResult(reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: report it like mongod reports internal errors
            server.logger.error("COMMAND", 21962, f"conn{conn.id}", "Assertion while executing "
                                "command", command=name, db=db, error=repr(exc))
            import traceback

            server.logger.error("COMMAND", 21963, f"conn{conn.id}", "Traceback",
                                trace=traceback.format_exc())
            return HandleResult(MongoError(1, f"{type(exc).__name__}: {exc}").to_reply())
        if not isinstance(result, HandleResult):
            result = HandleResult(result)
        # a write to the local database leaves the client's last optime as it was (LastOpFixer,
        # src/mongo/db/ops/write_ops_exec.cpp: _needToFixLastOp is false for local): nothing to
        # wait for, on a secondary too
        if spec.write and server.repl.config is not None and result.reply and \
                result.reply.get("ok") and db != "local":
            wce = await server.repl.await_write_concern(body.get("writeConcern"))
            if wce is not None:
                result.reply["writeConcernError"] = wce
        if server.repl.config is not None and result.reply:
            self._gossip_cluster_time(result.reply)
        return result

    def _gossip_cluster_time(self, reply: dict[str, Any]) -> None:
        """Replica set members answer with operationTime and $clusterTime, signed with the
        set's HMAC keys when authorization is on (mongoemu.cluster_time)."""
        ts = self.server.repl.last_applied["ts"]
        reply["$clusterTime"] = {"clusterTime": ts,
                                 "signature": self.cluster_time.sign(ts)}
        reply["operationTime"] = ts

    async def _retryable(self, ctx: Ctx) -> dict[str, Any]:
        sessions = self.server.sessions
        lsid = ctx.cmd.get("lsid")
        txn = int(ctx.cmd["txnNumber"])
        previous = sessions.lookup(lsid, txn)
        if previous is not None:
            return previous
        result = ctx.spec.handler(ctx)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, dict) and result.get("ok") == 1:
            sessions.record(lsid, txn, result)
        return result

    def _localhost_bypass_enabled(self) -> bool:
        value = self.server.config.set_parameters.get("enableLocalhostAuthBypass", True)
        if isinstance(value, str):
            return value.strip().lower() not in ("0", "false", "no", "off")
        return bool(value)

    def _privilege_documents_exist(self) -> bool:
        """AuthzManagerExternalStateLocal::hasAnyPrivilegeDocuments: a user or a role."""
        for ns in ("admin.system.users", "admin.system.roles"):
            info = self.server.storage.get(ns)
            if info is not None and info.count > 0:
                return True
        return False

    def localhost_bypass(self, conn: "Connection") -> LocalhostBypass | None:
        """The localhost exception's principal when it applies to ``conn``
        (AuthzSessionExternalStateServerCommon::shouldAllowLocalhost: auth on,
        enableLocalhostAuthBypass, a loopback client, no user or role document)."""
        if not self.server.config.auth_enabled or conn.users or not conn.is_localhost or \
                not self._localhost_bypass_enabled() or self._privilege_documents_exist():
            return None
        return LocalhostBypass(arbiter=self.server.repl.state == 7)

    def principals(self, conn: "Connection") -> list[Any]:
        """Whose privileges a command runs with: the logged-in users, else the localhost
        exception's default privileges, else nobody's."""
        if conn.users:
            return list(conn.users)
        bypass = self.localhost_bypass(conn)
        return [bypass] if bypass is not None else []

    def _check_auth(self, ctx: Ctx) -> None:
        server = self.server
        spec = ctx.spec
        if not server.config.auth_enabled or not spec.requires_auth:
            return
        conn = ctx.conn
        if not conn.users:
            bypass = self.localhost_bypass(conn)
            # commands.cpp: with the bypass the command's own check decides, against the
            # default privileges; commands mongoemu does not model privileges for stay refused
            if bypass is not None and spec.needs is not None:
                if is_authorized([bypass], spec.needs(ctx)):
                    return
                raise MongoError(13, f"not authorized on {ctx.db} to execute command "
                                     f"{{ {ctx.name}: {_brief(ctx.arg)} }}")
            raise MongoError(13, f"Command {ctx.name} requires authentication")
        if spec.needs is None:
            return
        needs = spec.needs(ctx)
        # a privilege may name one collection (user-defined roles): the command's own
        collection = ctx.arg if isinstance(ctx.arg, str) else None
        if not is_authorized(conn.users, needs, collection):
            raise MongoError(13, f"not authorized on {ctx.db} to execute command "
                                 f"{{ {ctx.name}: {_brief(ctx.arg)} }}")

    def _fail_command(self, ctx: Ctx) -> HandleResult | None:
        fp = self.server.failpoints.get("failCommand")
        if not fp or fp.get("mode") == "off":
            return None
        data = fp.get("data", {})
        if ctx.name not in data.get("failCommands", []) and \
                ctx.spec.name not in data.get("failCommands", []):
            return None
        app = data.get("appName")
        if app is not None:
            meta = ctx.conn.client_metadata or {}
            if meta.get("application", {}).get("name") != app:
                return None
        if not _failpoint_fires(fp):
            return None
        if data.get("closeConnection"):
            return HandleResult({}, close_connection=True)
        if "errorCode" in data:
            code = int(data["errorCode"])
            reply = MongoError(code, "Failing command via 'failCommand' failpoint").to_reply()
            if code in NOT_PRIMARY_OR_SHUTDOWN_CODES:
                reply["topologyVersion"] = self.server.repl.topology_version()
            if "errorLabels" in data:
                reply["errorLabels"] = data["errorLabels"]
            return HandleResult(reply)
        if "writeConcernError" in data:
            return None
        return None


def _validate_write_concern(server: "Server", wc: Any) -> None:
    if wc is None:
        return
    if not isinstance(wc, dict):
        raise MongoError(14, "BSON field 'writeConcern' is the wrong type, expected type "
                             "'object'")
    w = wc.get("w", 1)
    if isinstance(w, bool) or not isinstance(w, (int, float, str, dict)):
        raise MongoError(14, "w has to be a number, string or object")
    if isinstance(w, (int, float)) and w < 0:
        raise MongoError(9, "w has to be a non-negative number and not greater than 50; "
                            f"found: {w}")
    repl = server.repl
    if not repl.enabled:
        if isinstance(w, (int, float)) and w > 1:
            raise MongoError(2, "cannot use 'w' > 1 on a standalone")
        if isinstance(w, str) and w != "majority":
            raise MongoError(2, "cannot use non-majority 'w' mode \"" + w + "\" on a "
                                "standalone")
        return
    if repl.config is not None and isinstance(w, str) and w != "majority":
        modes = repl.config.get("settings", {}).get("getLastErrorModes", {})
        if w not in modes:
            raise MongoError(79, f"Unrecognized write concern mode: {w}")


def _failpoint_fires(fp: dict[str, Any]) -> bool:
    mode = fp.get("mode")
    if mode == "alwaysOn":
        fp["timesEntered"] = fp.get("timesEntered", 0) + 1
        return True
    if isinstance(mode, dict):
        if "times" in mode:
            left = fp.setdefault("left", int(mode["times"]))
            if left <= 0:
                return False
            fp["left"] = left - 1
            if fp["left"] <= 0:
                fp["mode"] = "off"
            return True
        if "skip" in mode:
            skip = fp.setdefault("skip_left", int(mode["skip"]))
            if skip > 0:
                fp["skip_left"] = skip - 1
                return False
            return True
        if "activationProbability" in mode:
            import random

            return random.random() < float(mode["activationProbability"])
    return False


def _brief(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
