"""quorum.mongodb.rs_config against a three-member emulated set (mongoemu.cluster): the
topology change of issue 5 (two members added in a new datacenter, two removed from an old
one, the preferred primary moved there, a write-concern mode added) applied step by step while
a writer with w:"majority" runs; check mode first, an idempotent rerun last."""
import threading
import time

import pytest
from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

from mongoemu.cluster import MemberSpec

SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}


@pytest.fixture
def cluster(replica_set):
    specs = [MemberSpec(tags={"dc": "dc1"}, priority=2), MemberSpec(tags={"dc": "dc1"}),
             MemberSpec(tags={"dc": "dc2"})]
    rs = replica_set(specs, "multi", settings=SETTINGS)
    rs.newcomers = [rs.add_member(MemberSpec(tags={"dc": "dc3"})),
                    rs.add_member(MemberSpec(tags={"dc": "dc3"}))]
    return rs


def _run(recorded_play, cluster, desired, check=False):
    return recorded_play("rs_config_run", {"seeds": [cluster.members[2].address],
                                           "desired": desired, "check": check})


def _writer(uri, stop, acked, errors):
    coll = MongoClient(uri, serverSelectionTimeoutMS=20000).app.get_collection(
        "w", write_concern=WriteConcern(w="majority", wtimeout=20000))
    i = 0
    while not stop.is_set():
        try:
            coll.insert_one({"_id": i})
            acked.append(i)
        except PyMongoError as exc:
            errors.append(repr(exc))
        i += 1
        time.sleep(0.01)


@pytest.mark.playbook
@pytest.mark.emulator
def test_topology_change_applied_safely(recorded_play, cluster):
    m0, m1, m2 = cluster.members[:3]
    m3, m4 = cluster.newcomers
    desired = {"_id": "multi", "version": 1, "members": [
        {"_id": 2, "host": m2.address, "tags": {"dc": "dc2"}, "priority": 1},
        {"_id": 3, "host": m3.address, "tags": {"dc": "dc3"}, "priority": 2},
        {"_id": 4, "host": m4.address, "tags": {"dc": "dc3"}, "priority": 1}],
        "settings": {**SETTINGS, "getLastErrorModes": {"multiDC": {"dc": 2}}}}
    deadline = time.monotonic() + 20  # the priority-2 member takes over once caught up
    while cluster.primary() != m0.address and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.primary() == m0.address

    before = cluster.client(m0).admin.command("replSetGetConfig")["config"]
    planned = _run(recorded_play, cluster, desired, check=True)
    assert planned["changed"] and planned["steps_applied"] == 0
    assert cluster.client(m0).admin.command("replSetGetConfig")["config"] == before
    steps = planned["plan"]["steps"]
    assert len(steps) == planned["plan"]["lower_bound"], planned["plan"]

    uri = "mongodb://" + ",".join(m.address for m in cluster.members) + "/?replicaSet=multi"
    stop, acked, errors = threading.Event(), [], []
    writer = threading.Thread(target=_writer, args=(uri, stop, acked, errors), daemon=True)
    writer.start()
    try:
        applied = _run(recorded_play, cluster, desired)
    finally:
        time.sleep(0.5)
        stop.set()
        writer.join(timeout=30)

    assert applied["changed"] and applied["steps_applied"] == len(steps)
    assert applied["term_after"] - applied["term_before"] <= 1, applied
    final = applied["config"]
    expected = sorted([m2.address, m3.address, m4.address])
    assert sorted(m["host"] for m in final["members"]) == expected
    assert {m["host"]: m["priority"] for m in final["members"]}[m3.address] == 2
    assert final["settings"]["getLastErrorModes"] == {"multiDC": {"dc": 2}}
    # the priority-2 member takes over once caught up; on a loaded machine that may come after the
    # last step (rs_config then notes the takeover it did not see): wait for it, bounded
    deadline = time.monotonic() + 30
    while cluster.primary() != m3.address and time.monotonic() < deadline:
        time.sleep(0.2)
    primary = cluster.wait_for_primary(exclude=[m0, m1], timeout=15)
    assert primary.address == m3.address, applied.get("notes")

    # every write acknowledged with w:"majority" is on the final primary
    survivors = set(d["_id"] for d in cluster.client(primary).app.w.find({}, {"_id": 1}))
    assert acked and not set(acked) - survivors, (len(acked), errors[:3])
    # the new mode is usable
    cluster.client(primary).app.get_collection(
        "m", write_concern=WriteConcern(w="multiDC", wtimeout=10000)).insert_one({"ok": 1})

    rerun = _run(recorded_play, cluster, desired)
    assert not rerun["changed"] and rerun["steps_applied"] == 0
