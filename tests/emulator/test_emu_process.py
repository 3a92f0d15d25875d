"""Process-level behaviour, each test on fresh daemons: --fork, pid and lock files,
restart and kill -9 durability, dbPath locking, port in use, keyFile permissions,
--version, --shutdown, shutdown command, YAML config file, JSON log lines, and a member
started with --replSet but never initiated."""

from __future__ import annotations

import json
import socket

import pytest
from bson import ObjectId
from pymongo import WriteConcern
from pymongo.errors import AutoReconnect, ConnectionFailure, PyMongoError

from emuharness import Emu, Wire, pick_address, pid_alive, run_cli, wait_pid_gone

pytestmark = pytest.mark.emulator

LOG_SEVERITIES = {"F", "E", "W", "I", "D1", "D2", "D3", "D4", "D5"}


def _start_output(emu: Emu) -> str:
    proc = emu.last_start
    assert proc is not None
    log = emu.logpath.read_text(errors="replace") if emu.logpath.exists() else ""
    return f"{proc.stdout}\n{proc.stderr}\n{log}"


def test_version_flag():
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    first_line = proc.stdout.splitlines()[0]
    assert first_line.startswith("db version v7.0."), proc.stdout
    assert "Build Info:" in proc.stdout


def test_fork_returns_once_listening(emu_factory):
    node = emu_factory()
    assert node.last_start.returncode == 0
    # listening already: no retry loop needed
    with Wire(node.host, node.port, timeout=5) as wire:
        assert wire.command({"hello": 1, "$db": "admin"})["isWritablePrimary"] is True
    assert pid_alive(node.pid)
    assert f"forked process: {node.pid}" in node.last_start.stdout
    assert (node.dbpath / "mongod.lock").read_text().strip() == str(node.pid)
    status = node.client().admin.command("serverStatus")
    assert status["pid"] == node.pid


def test_restart_keeps_data_and_indexes(emu_factory):
    node = emu_factory()
    cli = node.client()
    cli.keep.c.insert_many([{"_id": i, "v": f"value{i}"} for i in range(50)])
    cli.keep.c.create_index("v", unique=True)
    cli.keep.create_collection("capped", capped=True, size=4096)
    first_process = cli.admin.command("hello")["topologyVersion"]["processId"]
    pid = node.pid
    node.stop()
    assert not pid_alive(pid)
    lock = node.dbpath / "mongod.lock"
    assert lock.exists() and lock.stat().st_size == 0, "a clean shutdown empties mongod.lock"
    # the last words of a clean mongod: {"c":"CONTROL","id":23138,"msg":"Shutting down",
    # "attr":{"exitCode":0}}
    last = [json.loads(line) for line in node.log_lines() if line.strip()][-5:]
    assert any(e["msg"] == "Shutting down" and e.get("attr", {}).get("exitCode") == 0
               for e in last), last
    node.start()
    cli = node.client()
    assert cli.keep.c.count_documents({}) == 50
    assert cli.keep.c.find_one({"_id": 7}) == {"_id": 7, "v": "value7"}
    assert sorted(ix["name"] for ix in cli.keep.c.list_indexes()) == ["_id_", "v_1"]
    assert cli.keep.command("collStats", "capped")["capped"] is True
    with pytest.raises(PyMongoError):
        cli.keep.c.insert_one({"v": "value7"})  # unique index still enforced
    assert cli.admin.command("hello")["topologyVersion"]["processId"] != first_process


def test_kill9_after_journaled_writes_loses_nothing(emu_factory):
    node = emu_factory()
    coll = node.client().durable.get_collection("c", write_concern=WriteConcern(w=1, j=True))
    for i in range(200):
        coll.insert_one({"_id": i, "v": i})
    coll.update_one({"_id": 5}, {"$set": {"v": "updated"}})
    coll.delete_one({"_id": 6})
    coll.insert_many([{"_id": 1000 + i} for i in range(100)])
    node.kill9()
    assert (node.dbpath / "mongod.lock").read_text().strip() != ""  # unclean: pid left in it
    node.start()
    check = node.client().durable.c
    assert check.count_documents({}) == 299
    assert check.find_one({"_id": 5})["v"] == "updated"
    assert check.find_one({"_id": 6}) is None
    assert check.find_one({"_id": 1099}) is not None


def test_second_process_on_same_dbpath_refused(emu_factory):
    first = emu_factory(name="first")
    second = emu_factory(name="second", dbpath=first.dbpath, start=False)
    proc = second.start(check=False)
    assert proc.returncode != 0
    output = _start_output(second)
    # mongod: DBPathInUse, "Unable to lock the lock file ... Another mongod instance is
    # already running on the dbpath"
    assert any(word in output for word in ("DBPathInUse", "already running", "Unable to lock")), output
    with pytest.raises(OSError):
        socket.create_connection((second.host, second.port), timeout=1).close()
    assert first.client().admin.command("ping")["ok"] == 1.0
    assert (first.dbpath / "mongod.lock").read_text().strip() == str(first.pid)


def test_port_in_use_refused(emu_factory):
    host, port = pick_address()
    with socket.socket() as squatter:
        squatter.bind((host, port))
        squatter.listen()
        node = emu_factory(start=False, host=host, port=port)
        proc = node.start(check=False)
        assert proc.returncode != 0
        output = _start_output(node)
        assert "Address already in use" in output, output
    if node.pidfile.exists() and node.pidfile.read_text().strip().isdigit():
        assert not pid_alive(int(node.pidfile.read_text().strip()))


def test_keyfile_too_open_refused(emu_factory, tmp_path):
    keyfile = tmp_path / "keyfile"
    keyfile.write_text("c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5\n")
    keyfile.chmod(0o644)
    node = emu_factory("--keyFile", str(keyfile), start=False)
    proc = node.start(check=False)
    assert proc.returncode != 0
    # security_file.cpp / security_key.cpp: "permissions on <file> are too open"
    assert "are too open" in _start_output(node)


def test_missing_dbpath_refused(tmp_path):
    host, port = pick_address()
    missing = tmp_path / "does-not-exist"
    proc = run_cli("--fork", "--dbpath", str(missing), "--bind_ip", host, "--port", str(port),
                   "--logpath", str(tmp_path / "mongod.log"))
    assert proc.returncode != 0
    log = (tmp_path / "mongod.log").read_text() if (tmp_path / "mongod.log").exists() else ""
    # mongod: NonExistentPath, "Data directory <path> not found. Create the missing directory ..."
    assert f"Data directory {missing} not found" in proc.stdout + proc.stderr + log
    assert not missing.exists()


def test_fork_requires_logpath(tmp_path):
    host, port = pick_address()
    (tmp_path / "db").mkdir()
    proc = run_cli("--fork", "--dbpath", str(tmp_path / "db"), "--bind_ip", host,
                   "--port", str(port))
    assert proc.returncode != 0
    assert "--fork has to be used with --logpath or --syslog" in proc.stdout + proc.stderr


def test_shutdown_flag_with_dbpath(emu_factory):
    node = emu_factory()
    pid = node.pid
    proc = run_cli("--shutdown", "--dbpath", str(node.dbpath))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"killing process with pid: {pid}" in proc.stdout + proc.stderr
    assert wait_pid_gone(pid, 15)
    node.pid = None


def test_shutdown_flag_without_running_server(tmp_path):
    (tmp_path / "db").mkdir()
    proc = run_cli("--shutdown", "--dbpath", str(tmp_path / "db"))
    assert proc.returncode != 0
    assert "There doesn't seem to be a server running with dbpath" in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [
    {"shutdown": 1},
    {"shutdown": 1, "force": True, "timeoutSecs": 1},
])
def test_shutdown_command(emu_factory, command):
    node = emu_factory()
    pid = node.pid
    cli = node.client()
    with pytest.raises((AutoReconnect, ConnectionFailure)):
        cli.admin.command(command)
    assert wait_pid_gone(pid, 15)
    node.pid = None
    assert (node.dbpath / "mongod.lock").stat().st_size == 0


def test_yaml_config_file(emu_factory, tmp_path):
    node = emu_factory(start=False, name="fromconfig")
    config = tmp_path / "mongod.conf"
    config.write_text(f"""\
# a mongod.conf as the mongod role writes it
net:
  port: {node.port}
  bindIp: {node.host}
storage:
  dbPath: {node.dbpath}
systemLog:
  destination: file
  path: {node.logpath}
  logAppend: true
processManagement:
  fork: true
  pidFilePath: {node.pidfile}
setParameter:
  enableTestCommands: 1
""")
    node.config_file = config
    node.start()
    cli = node.client()
    opts = cli.admin.command("getCmdLineOpts")
    assert opts["parsed"]["config"] == str(config)
    assert opts["parsed"]["net"]["port"] == node.port
    assert opts["parsed"]["net"]["bindIp"] == node.host
    assert opts["parsed"]["storage"]["dbPath"] == str(node.dbpath)
    assert opts["parsed"]["processManagement"]["fork"] is True
    assert cli.admin.command({"getParameter": 1, "enableTestCommands": 1})["enableTestCommands"]
    assert cli.admin.command({"configureFailPoint": "failCommand", "mode": "off"})["ok"] == 1.0
    assert node.pidfile.read_text().strip() == str(node.pid)


def test_yaml_config_security_and_replication(emu_factory, tmp_path):
    node = emu_factory(start=False, name="fromconfig2")
    # authorization in a replica set needs a keyFile (mongod 5.0+ storeMongodOptions)
    keyfile = tmp_path / "mongod2.key"
    keyfile.write_text("eWFtbC1jb25maWctc2VjdXJpdHkta2V5")
    keyfile.chmod(0o400)
    config = tmp_path / "mongod2.conf"
    config.write_text(f"""\
net:
  port: {node.port}
  bindIp: {node.host}
storage:
  dbPath: {node.dbpath}
systemLog:
  destination: file
  path: {node.logpath}
processManagement:
  fork: true
  pidFilePath: {node.pidfile}
security:
  authorization: enabled
  keyFile: {keyfile}
replication:
  replSetName: rsyaml
  oplogSizeMB: 990
""")
    node.config_file = config
    node.start()
    cli = node.client()
    hello = cli.admin.command("hello")
    assert hello["isreplicaset"] is True and hello["isWritablePrimary"] is False
    with pytest.raises(PyMongoError) as err:
        cli.admin.command("getCmdLineOpts")
    assert getattr(err.value, "code", None) == 13


def test_yaml_config_unknown_key_refused(tmp_path):
    host, port = pick_address()
    (tmp_path / "db").mkdir()
    config = tmp_path / "bad.conf"
    config.write_text(f"net:\n  port: {port}\n  bindIp: {host}\n  frobnicate: 1\n"
                      f"storage:\n  dbPath: {tmp_path / 'db'}\n")
    proc = run_cli("-f", str(config))
    assert proc.returncode != 0
    assert "Unrecognized option: net.frobnicate" in proc.stdout + proc.stderr


def test_bind_ip_list(emu_factory):
    host, port = pick_address()
    other = f"127.0.0.{(int(host.rsplit('.', 1)[1]) % 250) + 2}"
    node = emu_factory(host=host, port=port, bind_ip=f"{host},{other}")
    for address in (host, other):
        with Wire(address, port) as wire:
            assert wire.command({"ping": 1, "$db": "admin"})["ok"] == 1.0
    assert node.client().admin.command("getCmdLineOpts")["parsed"]["net"]["bindIp"] == \
        f"{host},{other}"


def test_log_lines_are_mongod_json(emu_factory):
    node = emu_factory()
    node.client().admin.command("ping")
    lines = [line for line in node.log_lines() if line.strip()]
    assert lines
    entries = []
    for line in lines:
        entry = json.loads(line)
        assert {"t", "s", "c", "id", "ctx", "msg"} <= set(entry), line
        assert set(entry["t"]) == {"$date"} and "T" in entry["t"]["$date"], line
        assert entry["s"] in LOG_SEVERITIES, line
        assert isinstance(entry["id"], int) and isinstance(entry["ctx"], str), line
        if "attr" in entry:
            assert isinstance(entry["attr"], dict), line
        entries.append(entry)
    assert any("attr" in e for e in entries)
    components = {e["c"] for e in entries}
    assert {"CONTROL", "NETWORK", "STORAGE"} <= components, components
    # {"c":"NETWORK","id":23016,"ctx":"listener","msg":"Waiting for connections",
    #  "attr":{"port":27017,"ssl":"off"}}
    waiting = [e for e in entries if e["msg"] == "Waiting for connections"]
    assert waiting, "no 'Waiting for connections' line"
    assert waiting[0]["c"] == "NETWORK" and waiting[0]["id"] == 23016
    assert waiting[0]["attr"]["port"] == node.port


def test_log_append_keeps_old_lines(emu_factory):
    node = emu_factory()
    before = len(node.log_lines())
    node.restart()
    after = node.log_lines()
    assert len(after) > before
    assert sum(1 for line in after if "Waiting for connections" in line) == 2


# ------------------------------------------------------------------ --replSet


def test_uninitialized_replset_member(emu_factory):
    node = emu_factory("--replSet", "rs0")
    cli = node.client()
    hello = cli.admin.command("hello")
    # repl/hello_response.cpp when no config: these four fields and no setName
    assert hello["isWritablePrimary"] is False
    assert hello["secondary"] is False
    assert hello["isreplicaset"] is True
    assert hello["info"] == "Does not have a valid replica set config"
    assert "setName" not in hello and "hosts" not in hello
    assert isinstance(hello["topologyVersion"]["processId"], ObjectId)
    assert hello["maxWireVersion"] == 21
    legacy = cli.admin.command("isMaster")
    assert legacy["ismaster"] is False and legacy["isreplicaset"] is True
    with pytest.raises(PyMongoError) as err:
        cli.rs.c.insert_one({"x": 1})
    details = getattr(err.value, "details", None) or {}
    assert details.get("code") == 10107, err.value
    assert details.get("codeName") == "NotWritablePrimary"
    assert details.get("errmsg") == "not primary"
    with pytest.raises(PyMongoError) as err:
        cli.admin.command("replSetGetStatus")
    details = getattr(err.value, "details", None) or {}
    assert details.get("code") == 94 and details.get("codeName") == "NotYetInitialized"
    assert "no replset config has been received" in details.get("errmsg", "")
