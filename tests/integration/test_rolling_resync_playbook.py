"""playbooks/rolling_resync.yml: refused on a one-member set (the only member cannot be
resynced) with nothing touched; end to end on a three-member set when mongoemu replicates."""
import re
import threading
import time

import pytest
from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

from conf_members import current_pid, write_inventory
from conftest import initiate_one_member_set

pytestmark = [pytest.mark.playbook, pytest.mark.emulator]


def test_the_only_member_is_refused_and_nothing_is_touched(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    client = initiate_one_member_set(emu, "rs0")
    client.app.items.insert_one({"_id": 1})
    pid, files = emu.pid, sorted(p.name for p in emu.dbpath.iterdir())
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})

    result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=rs0", "-e", "resync_members=all")
    assert result.returncode != 0
    assert "rolling resync halted: %s may not go down for a resync now" % emu.address in result.stdout
    assert "holds the only up-to-date copy" in result.stdout
    assert "Nothing was stopped or changed." in result.stdout
    assert "Step %s down" % emu.address not in result.stdout
    assert "Stop the member" not in result.stdout
    assert current_pid(emu) == pid
    assert sorted(p.name for p in emu.dbpath.iterdir()) == files
    assert list(emu.root.glob("*before-resync*")) == []
    assert client.admin.command("hello")["isWritablePrimary"]
    assert client.app.items.find_one({"_id": 1}) is not None


def test_unknown_members_are_refused(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    initiate_one_member_set(emu, "rs0")
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=rs0", "-e", "resync_members=db9")
    assert result.returncode != 0
    assert "not members of rs0 in this inventory: db9; its members are member1" in result.stdout
    assert current_pid(emu) == emu.pid


def wait_healthy(client, count, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        states = [m["stateStr"] for m in client.admin.command("replSetGetStatus")["members"]]
        if sorted(states) == ["PRIMARY"] + ["SECONDARY"] * (count - 1):
            return
        assert time.monotonic() < deadline, "the set never became healthy: %s" % states
        time.sleep(0.2)


class MajorityWriter(threading.Thread):
    """Inserts a document every 0.2 s with w:"majority" and remembers the acknowledged ones."""

    def __init__(self, addresses):
        super().__init__(daemon=True)
        self.client = MongoClient(addresses, replicaSet="rs0", serverSelectionTimeoutMS=5000)
        self.items = self.client.app.get_collection("writes", write_concern=WriteConcern("majority", wtimeout=10000))
        self.acknowledged, self.stopping = [], threading.Event()

    def run(self):
        n = 0
        while not self.stopping.wait(0.2):
            n += 1
            try:
                self.items.insert_one({"_id": n})
                self.acknowledged.append(n)
            except PyMongoError:
                pass  # no primary for a moment (the stepdown): not acknowledged, not counted

    def stop(self):
        self.stopping.set()
        self.join(30)
        self.client.close()


def wait_for_documents(emu, ids, timeout=60):
    client = emu.client(readPreference="secondaryPreferred")
    deadline = time.monotonic() + timeout
    while True:
        found = set(client.app.writes.distinct("_id"))
        if found >= set(ids):
            return
        assert time.monotonic() < deadline, "%s lacks acknowledged writes %s" % (emu.address, sorted(set(ids) - found)[:10])
        time.sleep(0.2)


def test_rolling_resync_of_a_three_member_set(playbook, conf_member, tmp_path):
    members = {"member%d" % n: conf_member("member%d" % n, "rs0", oplog_mb=50) for n in (1, 2, 3)}
    seed = members["member1"]
    client = seed.client()
    client.admin.command("replSetInitiate", {"_id": "rs0", "version": 1, "members": [
        {"_id": n, "host": emu.address} for n, emu in enumerate(members.values())]})
    wait_healthy(client, 3)
    set_client = MongoClient([emu.address for emu in members.values()], replicaSet="rs0",
                             serverSelectionTimeoutMS=30000)
    try:
        set_client.app.items.with_options(write_concern=WriteConcern("majority")).insert_many(
            [{"_id": i, "pad": "z" * 1000} for i in range(200)])
        primary = next(name for name, emu in members.items()
                       if emu.client().admin.command("hello").get("isWritablePrimary"))
    finally:
        set_client.close()
    pids = {name: current_pid(emu) for name, emu in members.items()}
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", members)

    writer = MajorityWriter([emu.address for emu in members.values()])
    writer.start()
    try:
        result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=rs0", "-e", "resync_members=all",
                          "-e", "resync_sync_timeout=180",
                          "-e", "resync_lag_timeout=120", timeout=900)
    finally:
        writer.stop()
    assert result.returncode == 0, result.stdout
    assert len(writer.acknowledged) > 10
    order = re.search(r"resync order: ([\w, ]+)", result.stdout).group(1).split(", ")
    assert sorted(order) == sorted(members) and order[-1] == primary
    assert result.stdout.count("TASK [Stop the member]") == 3
    stepped_down = re.findall(r"Step the primary down\] \**\n(?:changed|ok): \[(\w+)", result.stdout)
    assert stepped_down == [primary]
    for name, emu in members.items():
        assert current_pid(emu) not in (None, pids[name]), name
        assert len(list(emu.root.glob("db.before-resync-*"))) == 1, name
        direct = emu.client(readPreference="secondaryPreferred")
        assert direct.app.items.count_documents({}) == 200, name
        wait_for_documents(emu, writer.acknowledged)
    wait_healthy(members[order[0]].client(), 3)
