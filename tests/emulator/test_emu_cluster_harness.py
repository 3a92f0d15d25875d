"""mongoemu.cluster, the replica set harness, on one-member sets: start and initiate, the
state file, stop by pid (nothing left alive), the CLI start/status/stop from another
process, pause/resume, kill -9, restart with and without an emptied dbPath, member spec
parsing, keyFile handling and the errors that name what went wrong."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emuharness import STARTED_PIDS, pid_alive, pick_address, stop_pid
from mongoemu.cluster import ClusterError, MemberSpec, ReplicaSetCluster, hello

pytestmark = pytest.mark.emulator

FAST = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}


def _record_pid(member) -> None:
    """The session safety net (conftest) stops, by pid, whatever a test left running."""
    STARTED_PIDS.add(member.pid)


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator:
    made: list[ReplicaSetCluster] = []

    def make(*specs: MemberSpec, start: bool = True, initiate: bool = True,
             name: str = "harness", **options) -> ReplicaSetCluster:
        cluster = ReplicaSetCluster(list(specs) or [MemberSpec()], set_name=name,
                                    root=tmp_path / f"{name}{len(made)}", settings=FAST,
                                    on_start=_record_pid, **options)
        made.append(cluster)
        if start:
            cluster.start(initiate=initiate)
        return cluster

    yield make
    for cluster in made:
        pids = [m.pid for m in cluster.members if m.pid]
        cluster.stop()
        for pid in pids:
            stop_pid(pid)


def _state(cluster: ReplicaSetCluster) -> dict:
    return json.loads(cluster.state_path.read_text())


def test_start_initiates_writes_state_and_stop_leaves_no_pid(make_cluster):
    cluster = make_cluster()
    member = cluster.members[0]
    assert member.host.startswith("127.0.0.") and member.running
    assert cluster.primary() == member.address
    reply = hello(member.address)
    assert reply["setName"] == "harness" and reply["isWritablePrimary"] is True
    status = cluster.client(member).admin.command("replSetGetStatus")
    assert status["set"] == "harness" and status["myState"] == 1
    config = cluster.client(member).admin.command("replSetGetConfig")["config"]
    assert config["settings"]["electionTimeoutMillis"] == 1000
    assert config["settings"]["heartbeatIntervalMillis"] == 200

    state = _state(cluster)
    assert state["set_name"] == "harness"
    [entry] = state["members"]
    assert entry["address"] == member.address
    assert entry["pid"] == member.pid == int(Path(entry["pidfile"]).read_text().strip())
    assert Path(entry["dbpath"]) == cluster.root / member.name
    pid = member.pid

    assert cluster.stop() == []
    assert not pid_alive(pid)
    assert _state(cluster)["members"][0]["pid"] is None
    assert cluster.status()["members"][0]["state"] == "STOPPED"


def test_cli_start_status_stop_from_other_processes(tmp_path):
    root = tmp_path / "clirs"
    host, port = pick_address()
    cli = [sys.executable, "-m", "mongoemu.cluster"]
    started = subprocess.run(
        [*cli, "start", "--root", str(root), "--set", "clirs", "--member",
         f"{host}:{port},tag.dc=east", "--setting", "electionTimeoutMillis=1000",
         "--setting", "heartbeatIntervalMillis=200", "--", "--setParameter",
         "enableTestCommands=1"],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    pids = [m["pid"] for m in json.loads((root / "cluster.json").read_text())["members"]
            if m["pid"]] if (root / "cluster.json").exists() else []
    STARTED_PIDS.update(pids)
    try:
        assert started.returncode == 0, started.stderr
        summary = json.loads(started.stdout)
        assert summary["primary"] == f"{host}:{port}"
        assert [m["state"] for m in summary["members"]] == ["PRIMARY"]
        assert len(pids) == 1 and pid_alive(pids[0])
        cmdline = Path(f"/proc/{pids[0]}/cmdline").read_bytes().split(b"\0")
        assert b"enableTestCommands=1" in cmdline and b"--replSet" in cmdline

        status = subprocess.run([*cli, "status", "--root", str(root)], capture_output=True,
                                text=True, timeout=30)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["members"][0]["state"] == "PRIMARY"

        stopped = subprocess.run([*cli, "stop", "--root", str(root)], capture_output=True,
                                 text=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        assert not pid_alive(pids[0])
        again = subprocess.run([*cli, "stop", "--root", str(root)], capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0, again.stderr  # stopping a stopped set is fine
    finally:
        for pid in pids:
            stop_pid(pid)


def test_cli_errors_name_the_problem(tmp_path):
    cli = [sys.executable, "-m", "mongoemu.cluster"]
    outside = subprocess.run([*cli, "start", "--root", str(tmp_path / "x"), "--member",
                              "10.1.2.3:27017"], capture_output=True, text=True, timeout=30)
    assert outside.returncode == 1
    assert "10.1.2.3:27017" in outside.stderr and "127.0.0.x" in outside.stderr
    missing = subprocess.run([*cli, "stop", "--root", str(tmp_path / "nothing")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1 and "cluster.json" in missing.stderr


def test_pause_and_resume_one_member(make_cluster):
    cluster = make_cluster()
    member = cluster.members[0]
    cluster.pause(member)
    with open(f"/proc/{member.pid}/stat", encoding="ascii") as fh:
        assert fh.read().rsplit(")", 1)[1].split()[0] == "T"  # stopped by SIGSTOP
    with pytest.raises(OSError):
        hello(member.address, timeout=0.5)  # accepted by the kernel, never answered
    assert _state(cluster)["members"][0]["paused"] is True
    cluster.resume(member)
    assert cluster.wait_for_primary(timeout=10) is member
    cluster.client(member).hdb.c.insert_one({"after": "resume"})


def test_kill9_and_restart_keep_data(make_cluster):
    cluster = make_cluster()
    member = cluster.members[0]
    cluster.client(member).hdb.c.insert_one({"_id": 1})
    old_pid = member.pid
    cluster.kill9(member)
    assert not pid_alive(old_pid) and member.pid is None
    assert cluster.status()["members"][0]["state"] == "STOPPED"
    cluster.start_members([member])
    assert member.pid != old_pid
    cluster.wait_for_primary(timeout=20)
    assert cluster.client(member).hdb.c.find_one({"_id": 1}) == {"_id": 1}

    pid = member.pid
    cluster.restart(member)
    assert not pid_alive(pid) and member.running
    cluster.wait_for_primary(timeout=20)
    assert cluster.client(member).hdb.c.count_documents({}) == 1


def test_restart_with_wipe_empties_the_dbpath(make_cluster):
    cluster = make_cluster()
    member = cluster.members[0]
    cluster.client(member).hdb.c.insert_one({"_id": "gone"})
    pid = member.pid
    cluster.restart(member, wipe=True)
    assert not pid_alive(pid) and member.running
    # a one-member set has nobody to sync from: the wiped member has no config at all
    reply = hello(member.address)
    assert reply.get("isreplicaset") is True and "setName" not in reply
    assert cluster.observe()[member.address][0] == "NOT_READY"
    names = cluster.client(member).list_database_names()
    assert "hdb" not in names


def test_start_failure_names_the_member_and_leaves_nothing(tmp_path):
    host, port = pick_address()
    with socket.socket() as squatter:
        squatter.bind((host, port))
        squatter.listen()
        cluster = ReplicaSetCluster([MemberSpec(host=f"{host}:{port}")], set_name="busy",
                                    root=tmp_path / "busy", start_timeout=30)
        with pytest.raises(ClusterError) as err:
            cluster.start()
    assert f"{host}:{port}" in str(err.value)
    assert all(m.pid is None for m in cluster.members)
    leftover = cluster.members[0].read_pidfile()
    assert leftover is None or not pid_alive(leftover)


def test_wait_for_primary_times_out_with_what_it_saw(make_cluster):
    cluster = make_cluster(initiate=False)
    member = cluster.members[0]
    with pytest.raises(ClusterError) as err:
        cluster.wait_for_primary(timeout=0.5)
    text = str(err.value)
    assert "no primary" in text and member.address in text and "not initiated" in text
    with pytest.raises(ClusterError) as err:
        cluster.wait_ready(timeout=0.3)
    assert member.address in str(err.value) and "NOT_READY" in str(err.value)


def test_keyfile_content_is_written_0400_and_members_use_it(make_cluster):
    key = "aGFybmVzcy1rZXlmaWxlLWZvci10ZXN0cy0wMTIzNDU2Nzg5"
    cluster = make_cluster(key_file=key)
    member = cluster.members[0]
    assert member.key_path == cluster.root / "keyfile"
    assert stat.S_IMODE(os.stat(member.key_path).st_mode) == 0o400
    assert member.key_path.read_text().strip() == key
    assert key not in cluster.state_path.read_text()
    system = cluster.client(member, username="__system", password=key, authSource="local")
    assert system.admin.command("replSetGetStatus")["myState"] == 1


def test_member_spec_parsing_and_config_document():
    spec = MemberSpec.parse("127.0.0.11:27017,priority=0,votes=0,hidden,secondaryDelaySecs=5,"
                            "buildIndexes=false,tag.dc=east,tag.rack=r1,name=delayed")
    assert spec.name == "delayed" and not spec.electable
    assert spec.config_document(3, "127.0.0.11:27017") == {
        "_id": 3, "host": "127.0.0.11:27017", "priority": 0.0, "votes": 0, "hidden": True,
        "secondaryDelaySecs": 5, "buildIndexes": False, "tags": {"dc": "east", "rack": "r1"}}
    arbiter = MemberSpec.from_dict({"host": "127.0.0.12:27017", "arbiterOnly": True})
    assert arbiter.arbiter_only and not arbiter.electable
    assert MemberSpec.parse("127.0.0.13:1").config_document(0, "127.0.0.13:1") == {
        "_id": 0, "host": "127.0.0.13:1"}
    for bad in ("127.0.0.11", "127.0.0.11:27017,color=red", "127.0.0.11:27017,arbiter"):
        with pytest.raises(ClusterError):
            MemberSpec.parse(bad)
    with pytest.raises(ClusterError):
        MemberSpec.from_dict({"hostname": "x"})
