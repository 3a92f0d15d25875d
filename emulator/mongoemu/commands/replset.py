"""Replica set commands. Part 1: replSetInitiate of a one-member set, replSetGetStatus,
replSetGetConfig; the others answer as an uninitialised or standalone mongod would."""
from __future__ import annotations

from typing import Any

from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError


@command("replSetInitiate", admin_only=True, needs=[("cluster", "replSetConfigure")],
         localhost_exception=True)
def cmd_repl_set_initiate(ctx: Ctx) -> dict[str, Any]:
    config = ctx.arg if isinstance(ctx.arg, dict) else None
    ctx.server.repl.initiate(config)
    return {"ok": 1.0}


@command("replSetGetStatus", admin_only=True, needs=[("cluster", "replSetGetStatus")])
def cmd_repl_set_get_status(ctx: Ctx) -> dict[str, Any]:
    status = ctx.server.repl.status()
    status["ok"] = 1.0
    return status


@command("replSetGetConfig", admin_only=True, needs=[("cluster", "replSetGetConfig")])
def cmd_repl_set_get_config(ctx: Ctx) -> dict[str, Any]:
    config = ctx.server.repl.get_config()
    reply: dict[str, Any] = {"config": config}
    if ctx.cmd.get("commitmentStatus"):
        reply["commitmentStatus"] = True
    reply["ok"] = 1.0
    return reply


def _not_yet(ctx: Ctx) -> dict[str, Any]:
    repl = ctx.server.repl
    if not repl.enabled:
        raise MongoError(76, "not running with --replSet")
    if repl.config is None:
        raise MongoError(94, "no replset config has been received")
    raise MongoError(115, f"{ctx.name} is not implemented by mongoemu yet (replica sets "
                          "arrive in part 2)")


for _name, _action in (("replSetReconfig", "replSetConfigure"),
                       ("replSetStepDown", "replSetStateChange"),
                       ("replSetStepUp", "replSetStateChange"),
                       ("replSetFreeze", "replSetStateChange"),
                       ("replSetMaintenance", "replSetStateChange"),
                       ("replSetSyncFrom", "replSetStateChange"),
                       ("replSetResizeOplog", "replSetResizeOplog")):
    command(_name, admin_only=True, needs=[("cluster", _action)])(_not_yet)
