"""hello / isMaster (plain, awaitable and streaming), ping, buildInfo, whatsmyuri."""
from __future__ import annotations

import datetime as _dt
from typing import Any

from bson import Int64

from mongoemu import MONGOEMU_VERSION, release
from mongoemu.dispatch import Ctx, HandleResult, command
from mongoemu.errors import MongoError


def _now() -> _dt.datetime:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def build_hello(ctx: Ctx, legacy: bool) -> dict[str, Any]:
    server = ctx.server
    repl = server.repl
    reply: dict[str, Any] = {}
    if ctx.cmd.get("helloOk") is not None:
        reply["helloOk"] = True
    fields = repl.hello_fields()
    writable = fields.pop("isWritablePrimary", True)
    hosts = {k: fields.pop(k) for k in ("hosts", "passives", "arbiters", "setName",
                                        "setVersion") if k in fields}
    reply.update(hosts)
    reply["ismaster" if legacy else "isWritablePrimary"] = writable
    reply["topologyVersion"] = repl.topology_version()
    reply.update(fields)
    reply.update({"maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000,
                  "maxWriteBatchSize": 100_000, "localTime": _now()})
    if not (repl.enabled and repl.config is None):
        reply["logicalSessionTimeoutMinutes"] = 30
    else:
        reply["logicalSessionTimeoutMinutes"] = 30
    reply["connectionId"] = ctx.conn.id
    # replication_info.cpp: an internal client (another member) sees incomingInternalClient,
    # whose minWireVersion follows the FCV; drivers see incomingExternalClient (0 .. latest)
    internal = ctx.cmd.get("internalClient")
    low = server.wire_floor() if isinstance(internal, dict) else 0
    reply.update({"minWireVersion": low, "maxWireVersion": release.current().max_wire,
                  "readOnly": False})
    mechs = ctx.cmd.get("saslSupportedMechs")
    if isinstance(mechs, str):
        from mongoemu.commands.users import supported_mechanisms

        found = supported_mechanisms(server, mechs)
        if found is not None:
            reply["saslSupportedMechs"] = found
    spec_auth = ctx.cmd.get("speculativeAuthenticate")
    if isinstance(spec_auth, dict):
        from mongoemu.commands.users import speculative_authenticate

        result = speculative_authenticate(ctx, spec_auth)
        if result is not None:
            reply["speculativeAuthenticate"] = result
    reply["ok"] = 1.0
    return reply


async def _hello(ctx: Ctx, legacy: bool) -> HandleResult:
    internal = ctx.cmd.get("internalClient")
    if isinstance(internal, dict) and "maxWireVersion" in internal:
        ctx.conn.internal_max_wire = int(internal["maxWireVersion"])
    client = ctx.cmd.get("client")
    if client is not None:
        if ctx.conn.client_metadata is not None:
            raise MongoError(186, "The client metadata document may only be sent in the first "
                                  "hello")
        ctx.conn.client_metadata = client
        ctx.server.logger.info("NETWORK", 51800, f"conn{ctx.conn.id}", "client metadata",
                               remote=f"{ctx.conn.peer[0]}:{ctx.conn.peer[1]}", client=f"conn{ctx.conn.id}",
                               doc=client)
    tv = ctx.cmd.get("topologyVersion")
    max_await = ctx.cmd.get("maxAwaitTimeMS")
    if tv is not None and max_await is None:
        raise MongoError(31368, "A request with a 'topologyVersion' must include "
                            "'maxAwaitTimeMS'")
    if max_await is not None and tv is None:
        raise MongoError(31368, "A request with 'maxAwaitTimeMS' must include a "
                                "'topologyVersion'")
    if max_await is not None:
        if int(max_await) < 0:
            raise MongoError(51024, f"BSON field 'maxAwaitTimeMS' value must be >= 0, actual "
                                    f"value '{max_await}'")
        ctx.server.awaiting_topology_changes += 1
        try:
            await ctx.server.repl.wait_topology_change(tv, int(max_await))
        finally:
            ctx.server.awaiting_topology_changes -= 1
    reply = build_hello(ctx, legacy)
    exhaust = None
    if max_await is not None:
        async def next_reply(previous: dict[str, Any]) -> dict[str, Any] | None:
            if ctx.server.shutting_down:
                return None
            ctx.server.awaiting_topology_changes += 1
            try:
                await ctx.server.repl.wait_topology_change(previous["topologyVersion"],
                                                           int(max_await))
            finally:
                ctx.server.awaiting_topology_changes -= 1
            if ctx.server.shutting_down:
                return None
            return build_hello(ctx, legacy)
        exhaust = next_reply
    return HandleResult(reply, exhaust=exhaust)


@command("hello", requires_auth=False)
async def cmd_hello(ctx: Ctx) -> HandleResult:
    return await _hello(ctx, legacy=False)


@command("isMaster", aliases=("ismaster",), requires_auth=False)
async def cmd_is_master(ctx: Ctx) -> HandleResult:
    return await _hello(ctx, legacy=True)


@command("ping", requires_auth=False)
def cmd_ping(ctx: Ctx) -> dict[str, Any]:
    return {"ok": 1.0}


def build_info() -> dict[str, Any]:
    rel = release.current()
    return {"version": rel.version, "gitVersion": "mongoemu-" + MONGOEMU_VERSION,
            "modules": [], "allocator": "system", "javascriptEngine": "none",
            "sysInfo": "deprecated", "versionArray": rel.version_array,
            "openssl": {"running": "Python ssl", "compiled": "Python ssl"},
            "buildEnvironment": {"distmod": "mongoemu", "target_os": "linux",
                                 "target_arch": "x86_64"},
            "bits": 64, "debug": False, "maxBsonObjectSize": 16 * 1024 * 1024,
            "storageEngines": ["wiredTiger"],
            "mongoemu": {"version": MONGOEMU_VERSION,
                         "description": "mongoemu, a mongod stand-in for tests"},
            "ok": 1.0}


@command("buildInfo", aliases=("buildinfo",), requires_auth=False)
def cmd_build_info(ctx: Ctx) -> dict[str, Any]:
    return build_info()


@command("whatsmyuri", requires_auth=False)
def cmd_whatsmyuri(ctx: Ctx) -> dict[str, Any]:
    return {"you": f"{ctx.conn.peer[0]}:{ctx.conn.peer[1]}", "ok": 1.0}


@command("listCommands", requires_auth=False)
def cmd_list_commands(ctx: Ctx) -> dict[str, Any]:
    from mongoemu.dispatch import REGISTRY

    cmds = {}
    for spec in REGISTRY.values():
        if spec.test_only and not ctx.server.config.test_commands_enabled:
            continue
        cmds[spec.name] = {"help": "", "requiresAuth": spec.requires_auth,
                           "secondaryOk": not spec.write, "adminOnly": spec.admin_only,
                           "apiVersions": [], "deprecatedApiVersions": []}
    return {"commands": dict(sorted(cmds.items())), "ok": 1.0}


__all__ = ["build_hello", "build_info", "Int64"]
