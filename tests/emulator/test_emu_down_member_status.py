"""replSetGetStatus for a member that went DOWN, as mongod 4.4-8.0 shows it.

MemberData::setDownValues (member_data.cpp) replaces the member's last heartbeat response with
an empty one (state DOWN, null applied optime, no sync source) and keeps _lastAppliedOpTime /
_lastAppliedWallTime ("don't get cleared merely by missing a heartbeat").
TopologyCoordinator::prepareStatusResponse (topology_coordinator.cpp) shows "optime",
"optimeDurable", "optimeDate" and "optimeDurableDate" from that heartbeat response - so a DOWN
member shows Timestamp(0, 0), term -1 and 1970 there - while "lastAppliedWallTime" and
"lastHeartbeatRecv" keep what was last known. A tool that reads a lost member's optime from
"optime" (rs_force_reconfig once did) sees nothing on real mongod; mongoemu must not hide that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from bson import Timestamp

from emuharness import STARTED_PIDS, poll_until
from mongoemu.cluster import Member, MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator


def _record_pid(member: Member) -> None:
    STARTED_PIDS.add(member.pid)


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[ReplicaSetCluster]:
    cluster = ReplicaSetCluster([MemberSpec(priority=2), MemberSpec(), MemberSpec()], set_name="downview",
                                root=tmp_path / "downview",
                                settings={"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200},
                                on_start=_record_pid)
    try:
        cluster.start(initiate=True)
        yield cluster
    finally:
        cluster.stop()


def test_a_down_member_shows_a_null_optime_and_keeps_its_last_applied_wall_time(trio):
    primary = trio.wait_ready(timeout=30)
    client = trio.client(primary)
    client.app.c.insert_one({"_id": 1})
    victim = next(m for m in trio.members if m is not primary)

    def seen_up() -> dict | None:
        status = client.admin.command("replSetGetStatus")
        entry = next(m for m in status["members"] if m["name"] == victim.address)
        return entry if entry["health"] == 1 and entry["optime"]["ts"].time > 0 else None

    before = poll_until(seen_up, 10, f"{victim.address} seen up with an optime")
    trio.kill9(victim)

    def seen_down() -> dict | None:
        status = client.admin.command("replSetGetStatus")
        entry = next(m for m in status["members"] if m["name"] == victim.address)
        return entry if entry["health"] == 0 else None

    down = poll_until(seen_down, 10, f"{victim.address} seen DOWN")
    assert down["state"] == 8 and down["stateStr"] == "(not reachable/healthy)"
    assert down["optime"] == {"ts": Timestamp(0, 0), "t": -1}, down
    assert down["optimeDurable"] == {"ts": Timestamp(0, 0), "t": -1}, down
    assert down["optimeDate"] == dt.datetime(1970, 1, 1) and down["optimeDurableDate"] == dt.datetime(1970, 1, 1)
    assert down["lastAppliedWallTime"] >= before["lastAppliedWallTime"] > dt.datetime(1970, 1, 1)
    assert down["lastHeartbeatRecv"] >= before["lastHeartbeatRecv"]
    assert down["syncSourceHost"] == ""
