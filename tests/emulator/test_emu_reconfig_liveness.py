"""A primary's liveness check after a reconfig, as mongod 7.0 keeps it.

Installing a config restarts the heartbeats and gives every member a fresh liveness
timeout: ReplicationCoordinatorImpl::_setCurrentRSConfig (replication_coordinator_impl.cpp)
calls _startHeartbeats_inlock (replication_coordinator_impl_heartbeat.cpp), which calls
TopologyCoordinator::resetAllMemberTimeouts(now) before _scheduleNextLivenessUpdate_inlock.
A primary steps down for "Can't see a majority of the set" (log id 21809) only from
TopologyCoordinator::checkMemberTimeouts, for a member not heard from within
electionTimeoutMillis of that reset, and _aMajoritySeemsToBeUp counts getNumVotes(), which is
0 for a newlyAdded member (member_config.h). So a primary that adds members - an arbiter,
which votes at once, beside data-bearing members that join as newlyAdded - does not step down
because it has not heard from them yet: they have a whole election timeout to answer.

This is the situation after a forced reconfig left a single voter and the returning members
are added back in one step (issue 12, item 2): mongoemu stepped down about 4 ms after the new
config, costing an extra election.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emuharness import STARTED_PIDS
from mongoemu.cluster import Member, MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator


def _record_pid(member: Member) -> None:
    STARTED_PIDS.add(member.pid)


@pytest.fixture
def single_voter_set(tmp_path: Path) -> Iterator[ReplicaSetCluster]:
    cluster = ReplicaSetCluster([MemberSpec()], set_name="relive", root=tmp_path / "relive",
                                settings={"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200},
                                extra_args=["--setParameter", "enableTestCommands=1"],
                                on_start=_record_pid)
    try:
        cluster.start(initiate=True)
        yield cluster
    finally:
        cluster.stop()


def test_adding_an_arbiter_and_new_members_does_not_step_the_primary_down(single_voter_set):
    cluster = single_voter_set
    primary = cluster.wait_for_primary(timeout=30)
    client = cluster.client(primary)
    client.app.c.insert_one({"_id": 1})
    time.sleep(1.5)  # primary for longer than the election timeout: its liveness check is live
    arbiter = cluster.add_member(MemberSpec(arbiter_only=True))
    data = [cluster.add_member(MemberSpec()) for _ in range(2)]
    config = client.admin.command("replSetGetConfig")["config"]
    term = client.admin.command("replSetGetStatus")["term"]
    next_id = max(m["_id"] for m in config["members"]) + 1
    config["members"] += [{"_id": next_id, "host": arbiter.address, "arbiterOnly": True}] + \
        [{"_id": next_id + 1 + i, "host": m.address} for i, m in enumerate(data)]
    config["version"] += 1
    assert client.admin.command({"replSetReconfig": config})["ok"] == 1.0
    for member in [arbiter] + data:
        member.in_config = True
    time.sleep(2.5)  # more than two election timeouts
    status = client.admin.command("replSetGetStatus")
    stepdowns = [e for e in primary.log_entries() if e.get("id") == 21809]
    assert not stepdowns, stepdowns
    assert status["myState"] == 1 and status["term"] == term, status
