"""Replica set commands (repl_set_commands.cpp, resize_oplog.cpp) for a set whose only
reachable member is this process: replSetInitiate, replSetReconfig (force and non-force),
replSetGetConfig (commitmentStatus), replSetGetStatus, replSetStepDown, replSetResizeOplog.
replSetStepUp, replSetFreeze, replSetMaintenance and replSetSyncFrom still answer
CommandNotSupported."""
from __future__ import annotations

from typing import Any

from bson import Decimal128

from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError


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
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal128)):
            raise MongoError(14, "\"secondaryCatchUpPeriodSecs\" had the wrong type. Expected "
                                 "number")
        catch_up = _number_long(value)
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


def _not_yet(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    repl.check_initialized()
    raise MongoError(115, f"{ctx.name} is not implemented by mongoemu yet (multi-process replica "
                          "sets arrive later in part 2)")


for _name, _action in (("replSetStepUp", "replSetStateChange"),
                       ("replSetFreeze", "replSetStateChange"),
                       ("replSetMaintenance", "replSetStateChange"),
                       ("replSetSyncFrom", "replSetStateChange")):
    command(_name, admin_only=True, needs=[("cluster", _action)])(_not_yet)
