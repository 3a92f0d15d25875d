"""Administrative commands on a standalone: getCmdLineOpts, serverStatus, hostInfo,
connectionStatus, get/setParameter, listDatabases, getLog, fsync lock, shutdown rules,
configureFailPoint and endSessions."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from bson import Binary
from pymongo.errors import OperationFailure

from emuharness import assert_fails as _fails

pytestmark = pytest.mark.emulator


def test_get_cmd_line_opts(emu, client):
    opts = client.admin.command("getCmdLineOpts")
    assert opts["ok"] == 1.0
    argv = opts["argv"]
    assert isinstance(argv, list) and "--fork" in argv and str(emu.port) in argv
    parsed = opts["parsed"]
    assert parsed["net"]["port"] == emu.port
    assert parsed["net"]["bindIp"] == emu.host
    assert parsed["storage"]["dbPath"] == str(emu.dbpath)
    assert parsed["processManagement"]["fork"] is True
    assert parsed["processManagement"]["pidFilePath"] == str(emu.pidfile)
    assert parsed["systemLog"]["destination"] == "file"
    assert parsed["systemLog"]["path"] == str(emu.logpath)
    assert parsed["systemLog"]["logAppend"] is True


def test_admin_only_command_on_other_db(client):
    # mongod: adminOnly commands run elsewhere fail with Unauthorized (13),
    # "<cmd> may only be run against the admin database."
    err = _fails(lambda: client.somedb.command("getCmdLineOpts"), 13, "Unauthorized")
    assert "may only be run against the admin database" in str(err)


def test_server_status(emu, client):
    status = client.admin.command("serverStatus")
    assert status["ok"] == 1.0
    assert status["process"] == "mongod"
    assert status["version"].startswith("7.0.")
    assert status["pid"] == emu.pid
    assert status["host"].endswith(f":{emu.port}")
    assert isinstance(status["uptime"], (int, float)) and status["uptime"] >= 0
    assert isinstance(status["uptimeMillis"], int)
    assert "localTime" in status
    connections = status["connections"]
    for key in ("current", "available", "totalCreated"):
        assert isinstance(connections[key], int), key
    assert connections["current"] >= 1
    engine = status["storageEngine"]
    assert isinstance(engine["name"], str) and engine["name"]
    assert engine["persistent"] is True
    assert "repl" not in status  # standalone
    assert {"insert", "query", "update", "delete", "getmore", "command"} <= set(status["opcounters"])


def test_server_status_counts_connections(emu, client):
    before = client.admin.command("serverStatus")["connections"]["totalCreated"]
    extra = emu.client()
    extra.admin.command("ping")
    after = client.admin.command("serverStatus")["connections"]["totalCreated"]
    assert after > before


def test_host_info(client):
    info = client.admin.command("hostInfo")
    assert info["ok"] == 1.0
    system = info["system"]
    assert isinstance(system["numCores"], int) and system["numCores"] >= 1
    assert system["cpuAddrSize"] == 64
    assert isinstance(system["memSizeMB"], int) and system["memSizeMB"] > 0
    assert isinstance(system["hostname"], str) and system["hostname"]
    assert "currentTime" in system
    assert info["os"]["type"] == "Linux"


def test_connection_status_unauthenticated(client):
    status = client.admin.command("connectionStatus")
    assert status["ok"] == 1.0
    assert status["authInfo"]["authenticatedUsers"] == []
    assert status["authInfo"]["authenticatedUserRoles"] == []
    with_privs = client.admin.command({"connectionStatus": 1, "showPrivileges": True})
    assert with_privs["authInfo"]["authenticatedUserPrivileges"] == []


def test_get_parameter(client):
    fcv = client.admin.command({"getParameter": 1, "featureCompatibilityVersion": 1})
    assert fcv["featureCompatibilityVersion"]["version"] == "7.0"
    all_params = client.admin.command({"getParameter": "*"})
    assert "logLevel" in all_params and "featureCompatibilityVersion" in all_params


def _refused_invalid_options(call) -> str:
    """parameters.cpp answers unknown names with errmsg; newer servers also attach
    InvalidOptions (72). Accept an absent code, never a different one."""
    with pytest.raises(OperationFailure) as err:
        call()
    details = err.value.details
    assert details["ok"] == 0
    assert details.get("code", 72) == 72, details
    return details["errmsg"]


def test_get_unknown_parameter(client):
    # src/mongo/db/commands/parameters.cpp: "no option found to get"
    errmsg = _refused_invalid_options(
        lambda: client.admin.command({"getParameter": 1, "noSuchParameterX": 1}))
    assert errmsg == "no option found to get"


def test_set_parameter_returns_was(client):
    first = client.admin.command({"setParameter": 1, "logLevel": 1})
    assert first["ok"] == 1.0 and first["was"] == 0
    try:
        assert client.admin.command({"getParameter": 1, "logLevel": 1})["logLevel"] == 1
    finally:
        again = client.admin.command({"setParameter": 1, "logLevel": 0})
    assert again["was"] == 1


def test_set_unknown_parameter(client):
    errmsg = _refused_invalid_options(
        lambda: client.admin.command({"setParameter": 1, "noSuchParameterX": 1}))
    assert errmsg.startswith("attempted to set unrecognized parameter [noSuchParameterX]")


@pytest.mark.parametrize("change, code, code_name, errmsg", [
    # CmdSet::run (commands/parameters.cpp, 7.0): uassert with a code for every refusal
    ({}, 72, "InvalidOptions", "no option found to set, use help:true to see options "),
    ({"enableLocalhostAuthBypass": False}, 20, "IllegalOperation",
     "not allowed to change [enableLocalhostAuthBypass] at runtime"),
    ({"featureCompatibilityVersion": "7.0"}, 20, "IllegalOperation",
     "not allowed to change [featureCompatibilityVersion] at runtime"),
    # every name is checked before anything is set
    ({"logLevel": 2, "replWriterThreadCount": 4}, 20, "IllegalOperation",
     "not allowed to change [replWriterThreadCount] at runtime"),
    ({"notablescan": True, "noSuchParameterX": 1}, 72, "InvalidOptions",
     "attempted to set unrecognized parameter [noSuchParameterX], use help:true to see options "),
    # set(): IDLServerParameterWithStorage::parseElement -> BSONElement::tryCoerce
    ({"cursorTimeoutMillis": "10"}, 2, "BadValue",
     "Failed validating cursorTimeoutMillis: Unable to coerce value to integral type"),
    ({"transactionLifetimeLimitSeconds": float("nan")}, 2, "BadValue",
     "Failed validating transactionLifetimeLimitSeconds: Unable to coerce NaN/Inf to integral "
     "type"),
    ({"transactionLifetimeLimitSeconds": 1 << 40}, 2, "BadValue",
     "Failed validating transactionLifetimeLimitSeconds: Out of bounds coercing to integral "
     "value"),
    ({"syncdelay": True}, 2, "BadValue",
     "Failed validating syncdelay: Unable to coerce value to correct type"),
    # the custom classes of parameters.cpp
    ({"logLevel": "x"}, 2, "BadValue", 'Invalid value for logLevel: logLevel: "x"'),
    ({"logLevel": -1}, 2, "BadValue", "Invalid value for logLevel: logLevel: -1"),
    ({"logComponentVerbosity": 1}, 14, "TypeMismatch",
     "log component verbosity is not a BSON object: logComponentVerbosity: 1"),
])
def test_set_parameter_refusals(client, change, code, code_name, errmsg):
    before = client.admin.command({"getParameter": "*"})
    with pytest.raises(OperationFailure) as err:
        client.admin.command({"setParameter": 1, **change})
    details = err.value.details
    assert (details.get("code"), details.get("codeName"), details["errmsg"]) == \
        (code, code_name, errmsg)
    assert client.admin.command({"getParameter": "*"}) == before


def test_set_parameter_coerces_as_mongod(client):
    """A bool parameter takes any value by its truth (BSONElement::coerce<bool>: trueValue),
    an integer one a number or a bool; enableElectionHandoff is settable at runtime
    (repl_server_parameters.idl: set_at startup and runtime); "was" is the old value of the
    first parameter in name order."""
    get = lambda *names: {k: v for k, v in client.admin.command(  # noqa: E731
        {"getParameter": 1, **{n: 1 for n in names}}).items() if k in names}
    old = get("enableElectionHandoff", "cursorTimeoutMillis", "notablescan")
    try:
        reply = client.admin.command({"setParameter": 1, "notablescan": "",
                                      "cursorTimeoutMillis": True, "enableElectionHandoff": 0})
        assert reply["was"] == old["cursorTimeoutMillis"]
        assert get("enableElectionHandoff", "cursorTimeoutMillis", "notablescan") == {
            "enableElectionHandoff": False, "cursorTimeoutMillis": 1, "notablescan": True}
    finally:
        client.admin.command({"setParameter": 1, **old})
    assert get(*old) == old


def test_list_databases(client):
    client.listdb_a.c.insert_one({"x": 1})
    reply = client.admin.command("listDatabases")
    assert reply["ok"] == 1.0
    by_name = {d["name"]: d for d in reply["databases"]}
    assert {"admin", "local", "listdb_a"} <= set(by_name)
    entry = by_name["listdb_a"]
    assert entry["empty"] is False
    assert isinstance(entry["sizeOnDisk"], (int, float)) and entry["sizeOnDisk"] > 0
    assert isinstance(reply["totalSize"], (int, float)) and reply["totalSize"] >= entry["sizeOnDisk"]
    assert "totalSizeMb" in reply
    names = client.admin.command({"listDatabases": 1, "nameOnly": True})
    assert all(set(d) == {"name"} for d in names["databases"])
    filtered = client.admin.command({"listDatabases": 1, "filter": {"name": "listdb_a"}})
    assert [d["name"] for d in filtered["databases"]] == ["listdb_a"]
    assert client.list_database_names().count("listdb_a") == 1


def test_get_log(client):
    names = client.admin.command({"getLog": "*"})
    assert "global" in names["names"] and "startupWarnings" in names["names"]
    log = client.admin.command({"getLog": "global"})
    assert isinstance(log["totalLinesWritten"], int) and log["totalLinesWritten"] > 0
    assert log["log"], "global log is empty"
    for line in log["log"]:
        entry = json.loads(line)  # 4.4+: each line is a JSON string
        assert {"t", "s", "c", "id", "ctx", "msg"} <= set(entry)


def test_fsync(client):
    reply = client.admin.command("fsync")
    assert reply["ok"] == 1.0
    assert "numFiles" in reply


def test_fsync_unlock_when_not_locked(client):
    # fsync.cpp: uassert(IllegalOperation, "fsyncUnlock called when not locked")
    err = _fails(lambda: client.admin.command("fsyncUnlock"), 20, "IllegalOperation")
    assert "fsyncUnlock called when not locked" in str(err)


def test_current_op_reports_the_fsync_lock(client):
    # current_op.cpp CurrentOpCommand::appendToResponse: fsyncLock: true while lockedForWriting()
    assert "fsyncLock" not in client.admin.command("currentOp")
    client.admin.command({"fsync": 1, "lock": True})
    try:
        reply = client.admin.command("currentOp")
        assert reply["fsyncLock"] is True
        assert reply["info"] == "use db.fsyncUnlock() to terminate the fsync write/snapshot lock"
    finally:
        client.admin.command("fsyncUnlock")
    assert "fsyncLock" not in client.admin.command("currentOp")


def test_fsync_lock_blocks_writes_until_unlock(emu, client):
    coll = client.fsynctest.c
    coll.insert_one({"_id": "before"})
    locked = client.admin.command({"fsync": 1, "lock": True})
    try:
        assert locked["ok"] == 1.0
        assert locked["lockCount"] == 1
        assert "now locked against writes" in locked["info"]
        assert coll.find_one({"_id": "before"}) is not None  # reads still served
        writer = emu.client()
        done = threading.Event()
        failure: list[BaseException] = []

        def write() -> None:
            try:
                writer.fsynctest.c.insert_one({"_id": "during"})
            except BaseException as exc:  # noqa: BLE001
                failure.append(exc)
            done.set()

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        assert not done.wait(1.0), "a write completed while fsync-locked"
        assert coll.find_one({"_id": "during"}) is None
    finally:
        unlocked = client.admin.command("fsyncUnlock")
    assert unlocked["lockCount"] == 0
    assert done.wait(10), "the blocked write did not complete after fsyncUnlock"
    thread.join(5)
    assert not failure, failure
    assert coll.find_one({"_id": "during"}) is not None


def test_configure_fail_point_needs_test_commands(client):
    err = _fails(lambda: client.admin.command({"configureFailPoint": "failCommand", "mode": "off"}),
                 59, "CommandNotFound")
    assert "configureFailPoint" in str(err)


def test_configure_fail_point_with_test_commands(emu_factory):
    node = emu_factory("--setParameter", "enableTestCommands=1", "--setParameter", "logLevel=1")
    cli = node.client(retryWrites=False)
    # --setParameter is repeatable
    assert cli.admin.command({"getParameter": 1, "logLevel": 1})["logLevel"] == 1
    reply = cli.admin.command({"configureFailPoint": "failCommand", "mode": {"times": 1},
                               "data": {"failCommands": ["insert"], "errorCode": 72}})
    assert reply["ok"] == 1.0 and reply["count"] == 0
    with pytest.raises(OperationFailure) as err:
        cli.fp.c.insert_one({"x": 1})
    assert err.value.code == 72  # not a state-change code, so pymongo raises OperationFailure
    cli.fp.c.insert_one({"x": 2})  # times:1 is used up
    assert cli.fp.c.count_documents({}) == 1


def test_end_sessions(client):
    session_id = {"id": Binary(uuid.uuid4().bytes, 4)}
    assert client.admin.command({"endSessions": [session_id]})["ok"] == 1.0


def test_shutdown_only_on_admin(client):
    err = _fails(lambda: client.somedb.command("shutdown"), 13, "Unauthorized")
    assert "admin database" in str(err)
    # and the server is still up
    assert client.admin.command("ping")["ok"] == 1.0


def test_uptime_advances(client):
    first = client.admin.command("serverStatus")["uptimeMillis"]
    time.sleep(0.2)
    assert client.admin.command("serverStatus")["uptimeMillis"] >= first + 150
