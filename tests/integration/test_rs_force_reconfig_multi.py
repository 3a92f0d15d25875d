"""quorum.mongodb.rs_force_reconfig after a real majority loss on a five-member emulated set
(dc1: 2 members, dc2: 2, dc3: 1): dc2 and dc3 are killed, the guardrails refuse a wrong
survivor list, the forced config gives dc1 a primary, and rs_config with the full topology
brings the returning members back through the safe plan."""
import time

import pytest
from pymongo import WriteConcern

from mongoemu.cluster import MemberSpec

SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}


@pytest.fixture
def cluster(replica_set):
    return replica_set([MemberSpec(tags={"dc": dc}) for dc in ("dc1", "dc1", "dc2", "dc2", "dc3")], "dr",
                       settings=SETTINGS)


@pytest.mark.playbook
@pytest.mark.emulator
def test_force_reconfig_after_losing_two_datacenters(recorded_play, cluster):
    m0, m1, m2, m3, m4 = cluster.members
    full = cluster.client(m0).admin.command("replSetGetConfig")["config"]
    cluster.client(cluster.primary_member()).app.get_collection(
        "w", write_concern=WriteConcern(w=5, wtimeout=10000)).insert_one({"_id": "before"})
    for member in (m2, m3, m4):
        cluster.kill9(member)
    deadline = time.monotonic() + 10  # the primary, if it was in dc1, steps down
    while cluster.primary() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cluster.primary() is None

    seeds = [m0.address, m1.address]
    wrong = recorded_play("force_reconfig_run",
                          {"seeds": seeds, "set_name": "dr", "survivors": [m0.address, m2.address]})
    assert wrong.get("failed") and m2.address in wrong["msg"], wrong
    assert cluster.client(m0).admin.command("replSetGetConfig")["config"]["version"] == \
        full["version"]

    forced = recorded_play("force_reconfig_run", {"seeds": seeds, "set_name": "dr", "survivors": seeds})
    assert forced.get("changed") and not forced.get("failed"), forced
    assert forced["diff"]["before"]["version"] == forced["version_before"] == full["version"]
    assert sorted(m["host"] for m in forced["diff"]["before"]["members"]) == sorted(m["host"] for m in full["members"])
    assert forced["diff"]["after"] == forced["plan"]["config"]
    assert sorted(m["host"] for m in forced["diff"]["after"]["members"]) == sorted(seeds)
    primary = cluster.wait_for_primary(timeout=30)
    assert primary in (m0, m1)
    config = cluster.client(primary).admin.command("replSetGetConfig")["config"]
    assert sorted(m["host"] for m in config["members"]) == sorted(seeds)
    assert config["version"] >= full["version"] + 10000
    coll = cluster.client(primary).app.get_collection(
        "w", write_concern=WriteConcern(w="majority", wtimeout=10000))
    coll.insert_one({"_id": "during"})

    # the lost datacenters return; the safe plan adds them back
    cluster.start_members([m2, m3, m4])
    desired = {"_id": "dr", "version": 1, "members": [
        {"_id": m["_id"], "host": m["host"], "tags": m["tags"]} for m in full["members"]],
        "settings": SETTINGS}
    applied = recorded_play("rs_config_run", {"seeds": seeds, "desired": desired, "check": False})
    assert applied["changed"] and not applied.get("failed"), applied
    assert sorted(m["host"] for m in applied["config"]["members"]) == \
        sorted(m.address for m in cluster.members)
    cluster.wait_ready(timeout=60)
    for member in (m2, m3, m4):
        reader = cluster.client(member, readPreference="secondaryPreferred")
        deadline = time.monotonic() + 20
        while reader.app.w.count_documents({}) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {d["_id"] for d in reader.app.w.find()} == {"before", "during"}
