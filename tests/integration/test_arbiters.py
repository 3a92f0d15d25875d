"""Arbiters on a set with authorization on (keyFile + --auth, an administrator): an arbiter
holds no data and so no users, and nobody can log in to it over the network. mongod says so:
"Arbiters do not store data, so they do not possess the internal table of user and role
mappings used for authentication" (MongoDB manual, "Replica Set Arbiter", Security); its
data holds only the local database (src/mongo/db/repl/replication_coordinator_impl.cpp: an
arbiter never starts data replication, _startDataReplication is skipped when
_getMemberState_inlock().arbiter()). The modules probe arbiters with an unauthenticated hello
(src/mongo/db/repl/replication_info.cpp, CmdHello::requiresAuth() returns false) and never log in.

- rolling_resync.yml with all resyncs the two data-bearing members and says the arbiter has
  nothing to resync; naming the arbiter is refused up front, nothing touched;
- rs_resync_check on the arbiter refuses with that reason (not an authentication error);
- rs_force_reconfig counts the live arbiter as answering (its vote makes the survivors' majority).
"""
import json
import os
import stat
import time

import pytest
import yaml
from pymongo import MongoClient, WriteConcern

from conf_members import current_pid, member_conf, write_inventory
from emuharness import Emu, pick_address, stop_pid
from mongoemu.cluster import MemberSpec

pytestmark = [pytest.mark.playbook, pytest.mark.emulator]

KEY = "arbitersTestKey0123456789abcdefghijklmnopqrstuvwxyz"
ADMIN, PASSWORD = "admin", "arbiters-test-password"
FAST = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}


def _hello(emu):
    with MongoClient(emu.host, emu.port, directConnection=True, serverSelectionTimeoutMS=2000) as client:
        return client.admin.command("hello")


def _wait(what, check, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


@pytest.fixture
def auth_psa_set(tmp_path):
    """data1 (primary), data2 and an arbiter of set "arb", laid out as the mongod role lays
    members out (mongod.conf with a keyFile and authorization enabled), an administrator
    created through the localhost exception; stopped by pid afterwards."""
    key = tmp_path / "keyfile"
    key.write_text(KEY)
    key.chmod(0o400)
    started = {}
    try:
        for name in ("data1", "data2", "arbiter"):
            host, port = pick_address()
            root = tmp_path / name
            emu = Emu(root=root, host=host, port=port, config_file=root / "mongod.conf")
            conf = member_conf(emu, "arb")
            conf["security"] = {"keyFile": str(key), "authorization": "enabled"}
            emu.config_file.write_text(yaml.safe_dump(conf))
            started[name] = emu
            emu.start()
        data1, data2, arbiter = (started[name] for name in ("data1", "data2", "arbiter"))
        with MongoClient(data1.host, data1.port, directConnection=True, serverSelectionTimeoutMS=5000) as client:
            client.admin.command("replSetInitiate", {"_id": "arb", "version": 1, "settings": FAST, "members": [
                {"_id": 0, "host": data1.address, "priority": 2}, {"_id": 1, "host": data2.address},
                {"_id": 2, "host": arbiter.address, "arbiterOnly": True}]})
            _wait("data1 primary", lambda: _hello(data1).get("isWritablePrimary"))
            client.admin.command("createUser", ADMIN, pwd=PASSWORD, roles=["root"], writeConcern={"w": 1})
        _wait("data2 secondary and the arbiter", lambda: _hello(data2).get("secondary")
              and _hello(arbiter).get("arbiterOnly"))
        yield started
    finally:
        for emu in started.values():
            emu.close_clients()
            for pid in {emu.pid, current_pid(emu)} - {None}:
                stop_pid(pid)


def test_rolling_resync_skips_the_arbiter_and_refuses_it_by_name(playbook, auth_psa_set, tmp_path):
    data1, data2, arbiter = (auth_psa_set[name] for name in ("data1", "data2", "arbiter"))
    admin = {"username": ADMIN, "password": PASSWORD, "serverSelectionTimeoutMS": 10000}
    with MongoClient([data1.address, data2.address], replicaSet="arb", **admin) as client:
        client.app.get_collection("items", write_concern=WriteConcern(w="majority", wtimeout=10000)).insert_many(
            [{"_id": i} for i in range(20)])
    pids = dict((name, current_pid(emu)) for name, emu in auth_psa_set.items())

    # every module that contacts members, the arbiter first among the seeds; rs_resync_check on the
    # arbiter refuses with its reason (nothing to resync), not with an authentication failure there
    variables = tmp_path / "cases.json"
    variables.write_text(json.dumps({
        "seeds": [arbiter.address, data1.address, data2.address], "set_name": "arb", "arbiter": arbiter.address,
        "data": [data1.address, data2.address], "login_user": ADMIN, "login_password": PASSWORD,
        "config": {"_id": "arb", "version": 1, "settings": FAST, "members": [
            {"_id": 2, "host": arbiter.address, "arbiterOnly": True},
            {"_id": 0, "host": data1.address, "priority": 2}, {"_id": 1, "host": data2.address}]}}))
    cases = playbook("tests/integration/files/arbiter_cases.yml", "localhost,", "-e", "@%s" % variables)
    assert cases.returncode == 0 and "failed=0" in cases.stdout, cases.stdout
    hosts = write_inventory(tmp_path / "hosts.yml", "arb", auth_psa_set, mongod_service_manager="fork",
                            resync_sync_timeout=60, resync_lag_timeout=60, resync_step_down_timeout=30)
    inventory = yaml.safe_load(hosts.read_text())  # the credentials for every play, localhost's too
    inventory["all"]["vars"].update(mongodb_login_user=ADMIN, mongodb_login_password=PASSWORD)
    hosts.write_text(yaml.safe_dump(inventory))

    # named explicitly: refused before anything is touched
    named = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=arb", "-e", "resync_members=arbiter")
    assert named.returncode != 0, named.stdout
    assert "arbiter (%s) is an arbiter" % arbiter.address in named.stdout, named.stdout
    assert "Nothing was stopped or changed" in named.stdout
    assert "Stop the member" not in named.stdout
    assert dict((name, current_pid(emu)) for name, emu in auth_psa_set.items()) == pids

    # all: the data-bearing members are resynced (the secondary, then the primary after a stepdown)
    result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=arb", "-e", "resync_members=all",
                      timeout=400)
    assert result.returncode == 0, result.stdout
    assert "resync order: data2, data1" in result.stdout, result.stdout
    assert "skipped: arbiter (%s) is an arbiter: it holds no data, nothing to resync" % arbiter.address \
        in result.stdout, result.stdout
    assert "authentication failed" not in result.stdout.lower()
    assert current_pid(data1) != pids["data1"] and current_pid(data2) != pids["data2"]
    assert current_pid(arbiter) == pids["arbiter"]
    for emu in (data1, data2):
        # the old data is removed once the member is healthy again (issue 12 item 7, resync_keep_old_data)
        assert list(emu.root.glob("db.before-resync-*")) == []
        assert stat.S_IMODE(os.stat(emu.dbpath).st_mode) == 0o750  # as the mongod role creates it
    with MongoClient([data1.address, data2.address], replicaSet="arb", **admin) as client:
        client.admin.command("ping")
        for emu in (data1, data2):
            reader = MongoClient(emu.host, emu.port, directConnection=True, **admin)
            try:
                assert reader.app.items.count_documents({}) == 20
            finally:
                reader.close()
    assert _hello(arbiter).get("arbiterOnly")
    # nobody tried to log in to the arbiter (mongod logs a failed login as id 5286307, "Failed to authenticate")
    failed_logins = [line for line in arbiter.logpath.read_text().splitlines() if "Failed to authenticate" in line]
    assert failed_logins == [], failed_logins[:3]


def test_force_reconfig_counts_the_live_arbiter(replica_set, recorded_play):
    cluster = replica_set([MemberSpec(), MemberSpec(), MemberSpec(), MemberSpec(arbiter_only=True)], "arbforce",
                          key_file=KEY, auth=True, credentials=(ADMIN, PASSWORD))
    m0, m1, m2, arbiter = cluster.members
    cluster.kill9(m0)
    cluster.kill9(m1)
    deadline = time.monotonic() + 10  # without a majority, a primary among the survivors steps down
    while cluster.primary() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cluster.primary() is None

    forced = recorded_play("force_reconfig_run", {"seeds": [m2.address, arbiter.address], "set_name": "arbforce",
                                                  "survivors": [m2.address, arbiter.address],
                                                  "login_user": ADMIN, "login_password": PASSWORD})
    assert forced.get("changed") and not forced.get("failed"), json.dumps(forced, default=str)[:3000]
    probes = dict((p["host"], p) for p in forced["probes"])
    assert probes[arbiter.address]["answered"] and probes[arbiter.address]["state"] == 7, probes
    assert forced["plan"]["run_on"] == m2.address
    assert cluster.wait_for_primary(timeout=30) == m2
