"""Replica set commands (repl_set_commands.cpp, resize_oplog.cpp): replSetInitiate,
replSetReconfig (force and non-force), replSetGetConfig (commitmentStatus), replSetGetStatus,
replSetStepDown, replSetStepUp, replSetFreeze, replSetMaintenance, replSetSyncFrom,
replSetResizeOplog, and the commands members send each other: replSetHeartbeat,
replSetRequestVotes, replSetUpdatePosition."""
from __future__ import annotations

from typing import Any

from bson import Decimal128

from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError
from mongoemu.rsconfig import _type_name


@command("replSetInitiate", admin_only=True, needs=[("cluster", "replSetConfigure")],
         localhost_exception=True)
async def cmd_repl_set_initiate(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    if not repl.enabled:
        raise MongoError(76, "This node was not started with replication enabled.")
    reply: dict[str, Any] = {}
    if isinstance(ctx.arg, dict):
        config: dict[str, Any] = ctx.arg
    else:
        reply["info2"] = "no configuration specified. Using a default configuration for the set"
        config = repl.initiate_default_config()
        reply["me"] = config["members"][0]["host"]
    if "version" not in config:  # a missing version defaults to 1
        config = {**config, "version": 1}
    await repl.initiate(config)
    reply["ok"] = 1.0
    return reply


@command("replSetReconfig", admin_only=True, needs=[("cluster", "replSetConfigure")])
async def cmd_repl_set_reconfig(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    repl.check_initialized()
    if not isinstance(ctx.arg, dict):
        # CmdReplSetReconfig appends errmsg and returns false: no code
        return {"ok": 0.0, "errmsg": "no configuration specified"}
    force = _true_value(ctx.cmd.get("force"))
    max_time = ctx.cmd.get("maxTimeMS")
    max_time_ms = int(max_time) if isinstance(max_time, (int, float)) and \
        not isinstance(max_time, bool) and max_time > 0 else None
    await repl.reconfig(ctx.arg, force, max_time_ms)
    return {"ok": 1.0}


@command("replSetGetStatus", admin_only=True, needs=[("cluster", "replSetGetStatus")])
def cmd_repl_set_get_status(ctx: Ctx) -> dict[str, Any]:
    status = ctx.server.repl.status()
    status["ok"] = 1.0
    return status


@command("replSetGetConfig", admin_only=True, needs=[("cluster", "replSetGetConfig")])
def cmd_repl_set_get_config(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    repl.check_initialized()
    commitment = _extract_bool(ctx.cmd, "commitmentStatus")
    internal = "$_internalIncludeNewlyAdded"
    if internal in ctx.cmd and not ctx.server.config.test_commands_enabled:
        raise MongoError(72, "The '$_internalIncludeNewlyAdded' option is only supported when "
                             "testing commands are enabled")
    include = _extract_bool(ctx.cmd, internal)
    reply: dict[str, Any] = {"config": repl.get_config(commitment, include)}
    if commitment:
        reply["commitmentStatus"] = repl.config_committed()
    reply["ok"] = 1.0
    return reply


@command("replSetStepDown", admin_only=True, needs=[("cluster", "replSetStateChange")])
async def cmd_repl_set_step_down(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    repl.check_initialized()
    force = _true_value(ctx.cmd.get("force"))
    secs = _number_long(ctx.arg)
    if secs == 0:
        secs = 60
    elif secs < 0:
        raise MongoError(2, "stepdown period must be a positive integer")
    if "secondaryCatchUpPeriodSecs" in ctx.cmd:
        value = ctx.cmd["secondaryCatchUpPeriodSecs"]
        # bsonExtractIntegerField (bson_extract.cpp)
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal128)):
            raise MongoError(14, "Expected field \"secondaryCatchUpPeriodSecs\" to have numeric "
                                 f"type, but found {_type_name(value)}")
        catch_up = _number_long(value)
        if isinstance(value, float) and catch_up != value:
            raise MongoError(2, "Expected field \"secondaryCatchUpPeriodSecs\" to have a value "
                                "exactly representable as a 64-bit integer, but found "
                                f"secondaryCatchUpPeriodSecs: {value!r}")
    else:
        catch_up = 0 if force else 10
    if catch_up < 0:
        raise MongoError(2, "secondaryCatchUpPeriodSecs period must be a positive or absent")
    if secs < catch_up:
        raise MongoError(2, "stepdown period must be longer than secondaryCatchUpPeriodSecs")
    await repl.step_down(secs, catch_up, force)
    return {"ok": 1.0}


@command("replSetResizeOplog", admin_only=True, needs=[("cluster", "replSetResizeOplog")])
def cmd_repl_set_resize_oplog(ctx: Ctx) -> dict[str, Any]:
    ctx.server.repl.resize_oplog(ctx.cmd)
    return {"ok": 1.0}


def _true_value(value: Any) -> bool:
    """BSONElement::trueValue."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, Decimal128):
        return float(value.to_decimal()) != 0
    return True


def _number_long(value: Any) -> int:
    """BSONElement::numberLong: 0 for a non-number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return 0 if value != value else int(value)
    if isinstance(value, Decimal128):
        return int(float(value.to_decimal()))
    return 0


def _extract_bool(cmd: dict[str, Any], name: str) -> bool:
    """bsonExtractBooleanFieldWithDefault: a bool or a number, else TypeMismatch."""
    if name not in cmd:
        return False
    value = cmd[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    raise MongoError(14, f"\"{name}\" had the wrong type. Expected boolean or number")


@command("replSetStepUp", admin_only=True, needs=[("cluster", "replSetStateChange")])
async def cmd_repl_set_step_up(ctx: Ctx) -> dict[str, Any]:
    await ctx.server.repl.step_up(_extract_bool(ctx.cmd, "skipDryRun"))
    return {"ok": 1.0}


@command("replSetFreeze", admin_only=True, needs=[("cluster", "replSetStateChange")])
def cmd_repl_set_freeze(ctx: Ctx) -> dict[str, Any]:
    return {**ctx.server.repl.freeze(_number_long(ctx.arg)), "ok": 1.0}


@command("replSetMaintenance", admin_only=True, needs=[("cluster", "replSetStateChange")])
def cmd_repl_set_maintenance(ctx: Ctx) -> dict[str, Any]:
    ctx.server.repl.set_maintenance(_true_value(ctx.arg))
    return {"ok": 1.0}


@command("replSetSyncFrom", admin_only=True, needs=[("cluster", "replSetStateChange")])
def cmd_repl_set_sync_from(ctx: Ctx) -> dict[str, Any]:
    return {**ctx.server.repl.sync_from(ctx.arg), "ok": 1.0}


# -- between members (internal: __system with the keyFile when auth is on) -------------------

def _check_set(ctx: Ctx) -> None:
    repl = ctx.server.repl
    if not repl.enabled:
        raise MongoError(76, "not running with --replSet")


@command("replSetHeartbeat", admin_only=True, needs=[("cluster", "internal")])
def cmd_repl_set_heartbeat(ctx: Ctx) -> dict[str, Any]:
    _check_set(ctx)
    repl = ctx.server.repl
    if ctx.arg != repl.set_name:
        raise MongoError(185, f"Our set name of {repl.set_name} does not match name {ctx.arg} "
                              "reported by remote node")
    return repl.topology.process_heartbeat(ctx.cmd)


@command("replSetRequestVotes", admin_only=True, needs=[("cluster", "internal")])
def cmd_repl_set_request_votes(ctx: Ctx) -> dict[str, Any]:
    _check_set(ctx)
    ctx.server.repl.check_initialized()
    return ctx.server.repl.topology.process_request_votes(ctx.cmd)


@command("replSetUpdatePosition", admin_only=True, needs=[("cluster", "internal")])
def cmd_repl_set_update_position(ctx: Ctx) -> dict[str, Any]:
    _check_set(ctx)
    ctx.server.repl.check_initialized()
    ctx.server.repl.topology.process_update_position(ctx.cmd)
    return {"ok": 1.0}
