"""The forced reconfig's loss report after the drill of issue 12 (item 1): the survivors are
frozen (SIGSTOP) while the others go on acknowledging w:"majority" writes, then the others are
killed and the survivors resume. Those writes are gone - no survivor holds them - and the report
must say so: it used to compare the optimes both sides had at their last contact and print
"0 s". It now reports the span from the survivors' last contact with the lost members up to now
(replSetGetStatus lastHeartbeatRecv / lastAppliedWallTime, as mongod keeps them for a DOWN
member: topology_coordinator.cpp TopologyCoordinator::prepareStatusResponse, member_data.cpp
MemberData::setDownValues), and what fault tolerance the forced config leaves."""
import time

import pytest
from pymongo import MongoClient, WriteConcern

from mongoemu.cluster import MemberSpec

FROZEN_SECONDS = 3.0


def freeze_write_and_lose(cluster):
    """dc1 (m0, m1) frozen while dc2/dc3 acknowledge majority writes for FROZEN_SECONDS; then
    dc2/dc3 killed and dc1 resumed. Returns the ids acknowledged while dc1 was frozen."""
    m0, m1, m2, m3, m4 = cluster.members
    primary = cluster.primary_member()
    assert primary in (m2, m3, m4), primary.address
    coll = cluster.client(primary).app.get_collection("w", write_concern=WriteConcern(w="majority", wtimeout=5000))
    coll.insert_one({"_id": "before"})
    cluster.wait_ready(timeout=30)
    for member in (m0, m1):
        cluster.pause(member)
    acknowledged = []
    try:
        deadline = time.monotonic() + FROZEN_SECONDS
        n = 0
        while time.monotonic() < deadline:
            coll.insert_one({"_id": n})
            acknowledged.append(n)
            n += 1
            time.sleep(0.02)
    finally:
        for member in (m2, m3, m4):
            cluster.kill9(member)
        for member in (m0, m1):
            cluster.resume(member)
    return acknowledged


@pytest.mark.playbook
@pytest.mark.emulator
def test_the_report_covers_majority_writes_acknowledged_while_the_survivors_were_frozen(
        recorded_play, replica_set):
    cluster = replica_set([MemberSpec(tags={"dc": "dc1"}), MemberSpec(tags={"dc": "dc1"}),
                           MemberSpec(tags={"dc": "dc2"}, priority=2), MemberSpec(tags={"dc": "dc2"}),
                           MemberSpec(tags={"dc": "dc3"})], "drill", primary=2)
    m0, m1 = cluster.members[:2]
    acknowledged = freeze_write_and_lose(cluster)
    assert len(acknowledged) > 10, acknowledged

    seeds = [m0.address, m1.address]
    forced = recorded_play("force_reconfig_run", {"seeds": seeds, "set_name": "drill", "survivors": seeds})
    assert forced.get("changed") and not forced.get("failed"), forced
    plan = forced["plan"]

    # the writes are really gone: the survivors never received them
    new_primary = cluster.wait_for_primary(timeout=30)
    with MongoClient(new_primary.host, new_primary.port, directConnection=True) as client:
        held = {d["_id"] for d in client.app.w.find()}
    lost = [n for n in acknowledged if n not in held]
    assert len(lost) > 10, (len(lost), len(acknowledged))

    # the old report: the optimes both sides had when they last heard from each other, about 0 s
    assert plan["lost_optime_seen"] - plan["newest_survivor_optime"] <= 1, plan
    # the report now covers the whole time the survivors could not see (at least the freeze)
    assert plan["possible_lost_write_seconds"] >= FROZEN_SECONDS, plan
    report = "\n".join(plan["report"])
    assert "may be lost - %.1f s up to now" % plan["possible_lost_write_seconds"] in report, report
    for member in cluster.members[2:]:
        assert "lost %s: last heard from 20" % member.address in report, report
    for survivor in seeds:
        assert "survivor %s: newest write 20" % survivor in report, report
    assert plan["fault_tolerance"]["tolerates_voter_loss"] == 0
    assert "fault tolerance now: 2 voters (majority 2): no failover" in report, report
    assert "next step: " in report and "reconfig.yml" in plan["next_step"]
