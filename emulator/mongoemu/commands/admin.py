"""Server administration: options, status, parameters, logs, fsync, shutdown, sessions,
fail points."""
from __future__ import annotations

import asyncio
import datetime as _dt
import os
import platform
from typing import Any

from bson import Int64

from mongoemu import release, server_parameters
from mongoemu.rsconfig import _type_name as type_name
from mongoemu.auth import privileges_of
from mongoemu.dispatch import Ctx, HandleResult, command
from mongoemu.errors import MongoError


def _now() -> _dt.datetime:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@command("getCmdLineOpts", admin_only=True, needs=[("cluster", "getCmdLineOpts")])
def cmd_get_cmd_line_opts(ctx: Ctx) -> dict[str, Any]:
    return {"argv": ["mongod", *ctx.server.config.argv], "parsed": ctx.server.config.parsed,
            "ok": 1.0}


def _repl_status_section(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    section: dict[str, Any] = {"topologyVersion": repl.topology_version()}
    fields = repl.hello_fields()
    section.update(fields)
    section["rbid"] = 1
    return section


@command("serverStatus", needs=[("cluster", "serverStatus")])
def cmd_server_status(ctx: Ctx) -> dict[str, Any]:
    server = ctx.server
    uptime = server.uptime()
    conns = len(server.connections)
    reply: dict[str, Any] = {
        "host": f"{server.hostname}:{server.config.port}",
        "version": release.current().version, "process": "mongod", "pid": Int64(os.getpid()),
        "uptime": float(int(uptime)), "uptimeMillis": Int64(int(uptime * 1000)),
        "uptimeEstimate": Int64(int(uptime)), "localTime": _now(),
        "asserts": {"regular": 0, "warning": 0, "msg": 0, "user": 0, "tripwire": 0,
                    "rollovers": 0},
        "connections": {"current": conns, "available": max(0, server.config.max_conns - conns),
                        "totalCreated": server.total_connections,
                        "rejected": 0, "active": 1, "threaded": conns,
                        "exhaustIsMaster": 0, "exhaustHello": server.exhaust_hello,
                        "awaitingTopologyChanges": server.awaiting_topology_changes},
        "globalLock": {"totalTime": Int64(int(uptime * 1e6)),
                       "currentQueue": {"total": 0, "readers": 0, "writers": 0},
                       "activeClients": {"total": 0, "readers": 0, "writers": 0}},
        "mem": {"bits": 64, "resident": _rss_mb(), "virtual": _rss_mb(), "supported": True},
        "network": {"bytesIn": Int64(server.bytes_in), "bytesOut": Int64(server.bytes_out),
                    "physicalBytesIn": Int64(server.bytes_in),
                    "physicalBytesOut": Int64(server.bytes_out),
                    "numRequests": Int64(server.opcounters["command"])},
        "opcounters": {k: Int64(v) for k, v in server.opcounters.items()},
        "storageEngine": {"name": "wiredTiger", "supportsCommittedReads": True,
                          "oldestRequiredTimestampForCrashRecovery": None,
                          "supportsPendingDrops": True, "dropPendingIdents": Int64(0),
                          "supportsSnapshotReadConcern": True, "readOnly": False,
                          "persistent": True, "backupCursorOpen": False,
                          "mongoemuBackend": "sqlite3"},
        "metrics": {"cursor": {"open": {"total": Int64(len(server.dispatcher.cursors.cursors))}}},
    }
    if reply["storageEngine"]["oldestRequiredTimestampForCrashRecovery"] is None:
        del reply["storageEngine"]["oldestRequiredTimestampForCrashRecovery"]
    if server.repl.enabled:
        reply["repl"] = _repl_status_section(ctx)
    truncation = server.repl.oplog_truncation_section()
    if truncation is not None:
        reply["oplogTruncation"] = truncation
    reply["ok"] = 1.0
    return reply


def _rss_mb() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return 0


def _mem_mb() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (OSError, ValueError):
        return 1024


@command("hostInfo", needs=[("cluster", "hostInfo")])
def cmd_host_info(ctx: Ctx) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    mem = _mem_mb()
    uname = platform.uname()
    return {"system": {"currentTime": _now(), "hostname": ctx.server.hostname,
                       "cpuAddrSize": 64, "memSizeMB": Int64(mem), "memLimitMB": Int64(mem),
                       "numCores": cores, "numCoresAvailableToProcess": cores,
                       "numPhysicalCores": cores, "numCpuSockets": 1,
                       "cpuArch": uname.machine, "numaEnabled": False, "numNumaNodes": 1},
            "os": {"type": "Linux" if uname.system == "Linux" else uname.system,
                   "name": uname.system, "version": uname.release},
            "extra": {"versionString": uname.version, "kernelVersion": uname.release,
                      "pageSize": Int64(os.sysconf("SC_PAGE_SIZE"))},
            "ok": 1.0}


@command("connectionStatus", requires_auth=False)
def cmd_connection_status(ctx: Ctx) -> dict[str, Any]:
    users = ctx.conn.users
    info: dict[str, Any] = {
        "authenticatedUsers": [{"user": u.user, "db": u.db} for u in users],
        "authenticatedUserRoles": [dict(r) for u in users for r in u.roles]}
    if ctx.cmd.get("showPrivileges"):
        info["authenticatedUserPrivileges"] = [p for u in users for p in privileges_of(u)]
    return {"authInfo": info, "ok": 1.0}


# -- parameters ---------------------------------------------------------------------------

RUNTIME_PARAMETERS: dict[str, Any] = {
    "logLevel": 0,
    "enableElectionHandoff": True,
    "quiet": False,
    "cursorTimeoutMillis": Int64(600000),
    "transactionLifetimeLimitSeconds": 60,
    "maxTransactionLockRequestTimeoutMillis": 5,
    "notablescan": False,
    "ttlMonitorEnabled": True,
    "syncdelay": 60.0,
    "diagnosticDataCollectionEnabled": True,
    "internalQueryExecMaxBlockingSortBytes": 104857600,
    "maxIndexBuildMemoryUsageMegabytes": 200,
    "oplogFetcherUsesExhaust": True,
    "replWriterThreadCount": 16,
    "enableFlowControl": True,
    "logComponentVerbosity": {"verbosity": 0},
    "redactClientLogData": False,
    "heapProfilingEnabled": False,
    "allowMultipleArbiters": False,
    "enableReconfigRollbackCommittedWritesCheck": True,
    "disableSplitHorizonIPCheck": False,
    "connPoolMaxConnsPerHost": 200,
    "tcmallocReleaseRate": 1.0,
}


def current_parameters(ctx: Ctx) -> dict[str, Any]:
    server = ctx.server
    params = dict(RUNTIME_PARAMETERS)
    fcv = _fcv_parameter(ctx)
    if fcv is not None:
        params["featureCompatibilityVersion"] = fcv
    params["authenticationMechanisms"] = ["SCRAM-SHA-1", "SCRAM-SHA-256"]
    params["tlsMode"] = server.config.tls.mode
    params["clusterAuthMode"] = "keyFile" if server.config.key_file else "undefined"
    params["enableLocalhostAuthBypass"] = True
    for key, value in server.config.set_parameters.items():
        value = _coerce(value)
        default = RUNTIME_PARAMETERS.get(key)
        if isinstance(default, bool) and isinstance(value, int):
            value = bool(value)
        params[key] = value
    params.update(server.parameters)
    if server.config.test_commands_enabled:
        params["enableTestCommands"] = True
    return params


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        low = value.lower()
        if low in ("true", "false"):
            return low == "true"
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def _fcv_parameter(ctx: Ctx) -> dict[str, Any] | None:
    """getParameter featureCompatibilityVersion: the FCV document's version, targetVersion and
    previousVersion; an arbiter, which replicates nothing, reports the latest FCV
    (arbiter_always_has_latest_fcv.js); None while the FCV is not yet known."""
    server = ctx.server
    me = server.repl.self_member() if server.repl.config else None
    if me is not None and me.get("arbiterOnly"):
        return {"version": release.current().series.latest}
    return server.fcv.parameter() if server.fcv is not None else None


@command("getParameter", admin_only=True, needs=[("cluster", "getParameter")])
def cmd_get_parameter(ctx: Ctx) -> dict[str, Any]:
    params = current_parameters(ctx)
    if ctx.arg == "*" or (isinstance(ctx.arg, dict) and ctx.arg.get("allParameters")):
        return {**params, "ok": 1.0}
    reply: dict[str, Any] = {}
    for key in ctx.cmd:
        if key == ctx.name or key.startswith("$") or key in ("lsid", "$db", "comment"):
            continue
        if key == "featureCompatibilityVersion" and key not in params:
            # FeatureCompatibilityVersionParameter::append
            raise MongoError(258, "featureCompatibilityVersion is not yet known.")
        if key in params:
            reply[key] = params[key]
    if not reply:
        raise MongoError(72, "no option found to get")
    reply["ok"] = 1.0
    return reply


#: generic arguments (isGenericArgument) the setParameter loop skips
_GENERIC_ARGUMENTS = {"lsid", "comment", "maxTimeMS", "writeConcern", "readConcern",
                      "apiVersion", "apiStrict", "apiDeprecationErrors", "txnNumber",
                      "autocommit", "startTransaction"}
#: runtime-settable in mongod, but mongoemu changes neither TLS nor cluster authentication
#: while running: refused as if set_at were startup (emulator/README.md says so)
_NOT_EMULATED_AT_RUNTIME = {"tlsMode", "sslMode", "clusterAuthMode"}


def _element(name: str, value: Any) -> str:
    """BSONElement::toString(true, false), for a scalar: name: value."""
    if isinstance(value, str):
        return f'{name}: "{value}"'
    if isinstance(value, bool):
        return f"{name}: {'true' if value else 'false'}"
    if value is None:
        return f"{name}: null"
    if isinstance(value, float) and abs(value) < 1e15 and value == int(value):
        return f"{name}: {value:.1f}"
    return f"{name}: {value}"


def _runtime_value(name: str, value: Any) -> Any:
    """The value ServerParameter::set stores, or mongod's refusal: the custom logLevel and
    logComponentVerbosity classes (commands/parameters.cpp), else the IDL type's
    BSONElement::tryCoerce wrapped in "Failed validating <name>: " (parseElement,
    server_parameter_with_storage.h)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "logLevel":  # LogLevelServerParameter::set
        finite = isinstance(value, bool) or (number and abs(value) != float("inf")
                                             and value == value)
        level = int(value) if finite else -1
        if level < 0:
            raise MongoError(2, f"Invalid value for logLevel: {_element(name, value)}")
        return level
    if name == "logComponentVerbosity":  # LogComponentVerbosityServerParameter::set
        if not isinstance(value, dict):
            raise MongoError(14, "log component verbosity is not a BSON object: "
                                 f"{_element(name, value)}")
        return value
    kind = server_parameters.TYPES.get(name)
    if kind == server_parameters.BOOL:  # coerce<bool>: trueValue, any type
        if isinstance(value, (str, dict, list)) or value is None:
            return value is not None
        return bool(value)
    if kind in (server_parameters.INT, server_parameters.LONG):
        bits = 32 if kind == server_parameters.INT else 64
        if isinstance(value, bool):
            return int(value)
        if not number:
            reason = "Unable to coerce value to integral type"
        elif isinstance(value, float) and (value != value or abs(value) == float("inf")):
            reason = "Unable to coerce NaN/Inf to integral type"
        elif not -(1 << (bits - 1)) <= int(value) < (1 << (bits - 1)):
            reason = "Out of bounds coercing to integral value"
        else:
            return int(value) if bits == 32 else Int64(int(value))
        raise MongoError(2, f"Failed validating {name}: {reason}")
    if kind == server_parameters.DOUBLE:
        if not number:
            raise MongoError(2, f"Failed validating {name}: Unable to coerce value to correct "
                                "type")
        return float(value)
    return value


@command("setParameter", admin_only=True, needs=[("cluster", "setParameter")])
def cmd_set_parameter(ctx: Ctx) -> dict[str, Any]:
    """CmdSet::run (src/mongo/db/commands/parameters.cpp, 7.0): every named parameter is
    checked first (unknown: InvalidOptions, not settable at runtime: IllegalOperation), then
    they are set in name order (a std::map), "was" holding the first one's old value."""
    changes = {k: v for k, v in ctx.cmd.items()
               if k != ctx.name and not k.startswith("$") and k not in _GENERIC_ARGUMENTS}
    for key in changes:
        if not server_parameters.is_known(key):
            raise MongoError(72, f"attempted to set unrecognized parameter [{key}], use "
                                 "help:true to see options ")
        if not server_parameters.settable_at_runtime(key) or key.startswith("featureFlag") or \
                key in _NOT_EMULATED_AT_RUNTIME:
            raise MongoError(20, f"not allowed to change [{key}] at runtime")
    if not changes:
        raise MongoError(72, "no option found to set, use help:true to see options ")
    params = current_parameters(ctx)
    order = sorted(changes)
    reply: dict[str, Any] = {"was": params[order[0]]} if order[0] in params else {}
    for key in order:
        ctx.server.parameters[key] = _runtime_value(key, changes[key])
    reply["ok"] = 1.0
    return reply


#: set_feature_compatibility_version.idl: the command's own fields (and the generic ones)
_SET_FCV_FIELDS = {"setFeatureCompatibilityVersion", "confirm", "fromConfigServer",
                   "changeTimestamp", "phase", "downgradeOnDiskChanges", "writeConcern",
                   "maxTimeMS", "comment", "lsid", "txnNumber", "apiVersion", "apiStrict",
                   "apiDeprecationErrors"}


@command("setFeatureCompatibilityVersion", admin_only=True,
         needs=[("cluster", "setFeatureCompatibilityVersion")])
async def cmd_set_fcv(ctx: Ctx) -> dict[str, Any]:
    """SetFeatureCompatibilityVersionCommand::run (set_feature_compatibility_version_command.cpp
    of 7.0 and 8.0): parse, the 'confirm: true' acknowledgement (7369100, from 7.0 on, checked
    before anything else, even when nothing changes), nothing to do when the FCV is already the
    requested one, FCVTransitions (5147403), then the transitional document and the final one,
    each written with w: "majority" and the caller's wtimeout. Never on a secondary
    (AllowedOnSecondary::kNever)."""
    rel = release.current()
    server = ctx.server
    server.repl.check_writable("admin")
    for key in ctx.cmd:
        if not key.startswith("$") and (key not in _SET_FCV_FIELDS or
                                        (key == "confirm" and not rel.requires_confirm)):
            raise MongoError(40415, f"BSON field 'setFeatureCompatibilityVersion.{key}' is an "
                                    "unknown field.")
    requested = ctx.arg
    if not isinstance(requested, str):
        raise MongoError(14, "BSON field 'setFeatureCompatibilityVersion."
                             "setFeatureCompatibilityVersion' is the wrong type "
                             f"'{type_name(requested)}', expected type 'string'")
    if requested not in rel.series.fcvs:
        err = release.invalid_value(requested, rel)
        raise MongoError(err.code, err.message)
    actual = server.fcv or release.Fcv(rel.series.latest)
    confirm = ctx.cmd.get("confirm")
    if rel.requires_confirm and not (isinstance(confirm, (bool, int, float)) and confirm):
        if _release_key(requested) > _release_key(actual.version):
            msg = (f"Once you have upgraded to {requested}, you will not be able to downgrade "
                   "FCV and binary version without support assistance. Please re-run this "
                   "command with 'confirm: true' to acknowledge this and continue with the FCV "
                   "upgrade.")
        else:
            msg = ("Once you have downgraded the FCV, if you choose to downgrade the binary "
                   "version, it will require support assistance. Please re-run this command "
                   "with 'confirm: true' to acknowledge this and continue with the FCV "
                   "downgrade.")
        raise MongoError(7369100, msg)
    wc = ctx.cmd.get("writeConcern") if isinstance(ctx.cmd.get("writeConcern"), dict) else {}
    majority = {"w": "majority", "wtimeout": wc.get("wtimeout", 0)}
    if actual == release.Fcv(requested):
        await _await_fcv_majority(ctx, majority)
        return {"ok": 1.0}
    step = release.transition(actual, requested, rel)
    if step is None:
        raise MongoError(5147403, f"cannot set featureCompatibilityVersion to '{requested}' "
                                  f"while featureCompatibilityVersion is '{actual.describe()}'")
    server.logger.info("COMMAND", 6744300, f"conn{ctx.conn.id}",
                       "setFeatureCompatibilityVersion command called",
                       upgradeOrDowngrade="upgrade" if step.previous is None else "downgrade",
                       serverType="replica set/standalone", fromVersion=actual.describe(),
                       toVersion=requested)
    if step != actual:
        server.set_fcv(step, replicate=True)
        await _await_fcv_majority(ctx, majority)
    server.set_fcv(release.Fcv(requested), replicate=True)
    await _await_fcv_majority(ctx, majority)
    return {"ok": 1.0}


async def _await_fcv_majority(ctx: Ctx, wc: dict[str, Any]) -> None:
    """runUpdateCommand's w: "majority" write (uassertStatusOK of the write concern error):
    a timeout leaves the FCV where it got to and fails the command."""
    wce = await ctx.server.repl.await_write_concern(wc)
    if wce is not None:
        raise MongoError(int(wce["code"]), wce.get("errmsg", "waiting for replication failed"))


def _release_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


# -- logs ----------------------------------------------------------------------------------


@command("getLog", admin_only=True, needs=[("cluster", "getLog")])
def cmd_get_log(ctx: Ctx) -> dict[str, Any]:
    logger = ctx.server.logger
    which = ctx.arg
    if which == "*":
        return {"names": ["global", "startupWarnings"], "ok": 1.0}
    if which == "global":
        lines = logger.recent()
        return {"totalLinesWritten": len(lines), "log": lines, "ok": 1.0}
    if which == "startupWarnings":
        return {"totalLinesWritten": len(logger.startup_warnings),
                "log": list(logger.startup_warnings), "ok": 1.0}
    if not isinstance(which, str):
        raise MongoError(14, "Argument to getLog must be of type String; found "
                             f"{which!r} of type {type(which).__name__}")
    raise MongoError(96, f"No log named '{which}'")


@command("logRotate", admin_only=True, needs=[("cluster", "logRotate")])
def cmd_log_rotate(ctx: Ctx) -> dict[str, Any]:
    ctx.server.logger.rotate()
    return {"ok": 1.0}


# -- fsync -----------------------------------------------------------------------------------


@command("fsync", admin_only=True, needs=[("cluster", "fsync")])
def cmd_fsync(ctx: Ctx) -> dict[str, Any]:
    server = ctx.server
    server.storage.checkpoint()
    server.storage.sync()
    if ctx.cmd.get("lock"):
        server.fsync_lock_count += 1
        assert server.writes_allowed is not None
        server.writes_allowed.clear()
        server.logger.info("COMMAND", 20386, f"conn{ctx.conn.id}",
                           "fsync: lock acquired; now locked against writes",
                           lockCount=server.fsync_lock_count)
        return {"info": "now locked against writes, use db.fsyncUnlock() to unlock",
                "lockCount": Int64(server.fsync_lock_count),
                "seeAlso": "http://dochub.mongodb.org/core/fsynccommand", "ok": 1.0}
    return {"numFiles": 1, "ok": 1.0}


@command("fsyncUnlock", admin_only=True, needs=[("cluster", "unlock")])
def cmd_fsync_unlock(ctx: Ctx) -> dict[str, Any]:
    server = ctx.server
    if server.fsync_lock_count <= 0:
        raise MongoError(20, "fsyncUnlock called when not locked")
    server.fsync_lock_count -= 1
    if server.fsync_lock_count == 0 and server.writes_allowed is not None:
        server.writes_allowed.set()
    server.logger.info("COMMAND", 20465, f"conn{ctx.conn.id}", "fsyncUnlock completed",
                       lockCount=server.fsync_lock_count)
    return {"info": "fsyncUnlock completed", "lockCount": Int64(server.fsync_lock_count),
            "ok": 1.0}


# -- shutdown -------------------------------------------------------------------------------


@command("shutdown", admin_only=True, needs=[("cluster", "shutdown")],
         localhost_exception=False)
async def cmd_shutdown(ctx: Ctx) -> HandleResult:
    server = ctx.server
    timeout = ctx.cmd.get("timeoutSecs")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout < 0):
        raise MongoError(2, "timeoutSecs must be a non-negative number")
    server.logger.info("COMMAND", 20475, f"conn{ctx.conn.id}", "Shutdown command received",
                       force=bool(ctx.cmd.get("force", False)), timeoutSecs=timeout or 15)
    asyncio.get_running_loop().call_soon(server.request_shutdown, "shutdown command")
    return HandleResult({}, close_connection=True)


# -- sessions ---------------------------------------------------------------------------------


@command("endSessions", requires_auth=False)
def cmd_end_sessions(ctx: Ctx) -> dict[str, Any]:
    if not isinstance(ctx.arg, list):
        raise MongoError(14, "BSON field 'endSessions.endSessions' is the wrong type, expected "
                             "type 'array'")
    return {"ok": 1.0}


@command("startSession")
def cmd_start_session(ctx: Ctx) -> dict[str, Any]:
    import uuid

    from bson import Binary

    return {"id": {"id": Binary(uuid.uuid4().bytes, 4)}, "timeoutMinutes": 30, "ok": 1.0}


@command("refreshSessions")
def cmd_refresh_sessions(ctx: Ctx) -> dict[str, Any]:
    return {"ok": 1.0}


@command("killAllSessions")
def cmd_kill_all_sessions(ctx: Ctx) -> dict[str, Any]:
    return {"ok": 1.0}


@command("killSessions")
def cmd_kill_sessions(ctx: Ctx) -> dict[str, Any]:
    return {"ok": 1.0}


@command("logout", requires_auth=False)
def cmd_logout(ctx: Ctx) -> dict[str, Any]:
    ctx.conn.users = [u for u in ctx.conn.users if u.db != ctx.db]
    return {"ok": 1.0}


@command("getDefaultRWConcern", admin_only=True, needs=[("cluster", "getDefaultRWConcern")])
def cmd_get_default_rw_concern(ctx: Ctx) -> dict[str, Any]:
    return {"defaultReadConcern": {"level": "local"},
            "defaultWriteConcern": {"w": "majority", "wtimeout": 0},
            "defaultWriteConcernSource": "implicit", "defaultReadConcernSource": "implicit",
            "localUpdateWallClockTime": _now(), "ok": 1.0}


@command("currentOp", admin_only=True, needs=[("cluster", "inprog")])
def cmd_current_op(ctx: Ctx) -> dict[str, Any]:
    ops = []
    for conn in ctx.server.connections.values():
        ops.append({"type": "op", "host": f"{ctx.server.hostname}:{ctx.server.config.port}",
                    "desc": f"conn{conn.id}", "connectionId": conn.id,
                    "client": f"{conn.peer[0]}:{conn.peer[1]}", "active": conn is ctx.conn,
                    "op": "command" if conn is ctx.conn else "none"})
    reply: dict[str, Any] = {"inprog": ops}
    if ctx.server.fsync_lock_count > 0:
        # as mongod's CurrentOpCommand::appendToResponse (src/mongo/db/commands/current_op.cpp)
        reply["fsyncLock"] = True
        reply["info"] = "use db.fsyncUnlock() to terminate the fsync write/snapshot lock"
    reply["ok"] = 1.0
    return reply


@command("killOp", admin_only=True, needs=[("cluster", "killop")])
def cmd_kill_op(ctx: Ctx) -> dict[str, Any]:
    return {"info": "attempting to kill op", "ok": 1.0}


# -- fail points ------------------------------------------------------------------------------


@command("configureFailPoint", admin_only=True, test_only=True, needs=[("cluster", "*")])
def cmd_configure_fail_point(ctx: Ctx) -> dict[str, Any]:
    name = ctx.arg
    if not isinstance(name, str):
        raise MongoError(14, "failpoint name must be a string")
    mode = ctx.cmd.get("mode")
    if mode not in ("off", "alwaysOn") and not (isinstance(mode, dict) and mode):
        raise MongoError(2, "'mode' must be one of 'off', 'alwaysOn', 'times', 'skip', "
                            "'activationProbability'")
    old = ctx.server.failpoints.get(name, {})
    count = int(old.get("timesEntered", 0))
    ctx.server.failpoints[name] = {"mode": mode, "data": ctx.cmd.get("data", {}),
                                   "timesEntered": 0}
    return {"count": Int64(count), "ok": 1.0}


@command("waitForFailPoint", admin_only=True, test_only=True)
async def cmd_wait_for_fail_point(ctx: Ctx) -> dict[str, Any]:
    return {"ok": 1.0}


__all__ = ["current_parameters"]
