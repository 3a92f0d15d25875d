"""Replica set timers and handoffs as mongod 7.0 keeps them, on multi-process sets.

* The election timeout is its own timer (electionTimeoutMillis + a random offset of up to
  15 %, ReplicationCoordinatorImpl::_cancelAndRescheduleElectionTimeout_inlock), not a check
  made on the heartbeat interval's beat: with heartbeatIntervalMillis above
  electionTimeoutMillis a new set still elects its first primary about one election timeout
  after replSetInitiate, and the oplog fetcher's batches (at least every electionTimeout / 2)
  keep that primary in office between the heartbeats.
* A candidate whose term changed during its dry run does not stand
  (ElectionState::_processDryRunResult, "Not running for primary, we have been superseded
  already during dry run"); the other members of a new set wait for two heartbeats per
  member before choosing a sync source (and 1 s, syncSourceRetryWait, before looking again),
  so the initiating member is elected alone; a priority takeover waits (rank + 1) x
  electionTimeoutMillis plus the random offset (ReplSetConfig::getPriorityTakeoverDelay): a
  5-member initiate with electionTimeoutMillis 1000 and the default heartbeatIntervalMillis
  2000 holds one election, two when the preferred member then takes over - not one per
  member.
* The election handoff of replSetStepDown reaches a member that was restarted since it last
  voted: mongod's connection pool drops a pooled connection the other end has closed
  ("dropping unhealthy pooled connection") instead of sending the replSetStepUp on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from emuharness import STARTED_PIDS, poll_until
from mongoemu.cluster import Member, MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator

TEST_COMMANDS = ["--setParameter", "enableTestCommands=1"]


def _record_pid(member: Member) -> None:
    STARTED_PIDS.add(member.pid)


@pytest.fixture
def make_set(tmp_path: Path) -> Iterator[Callable[..., ReplicaSetCluster]]:
    """Sets started but not initiated (the test sends replSetInitiate), stopped by pid."""
    made: list[ReplicaSetCluster] = []

    def make(specs: list[MemberSpec], name: str, settings: dict[str, Any],
             initiate: bool = False) -> ReplicaSetCluster:
        cluster = ReplicaSetCluster(specs, set_name=name, root=tmp_path / name,
                                    settings=settings, extra_args=TEST_COMMANDS,
                                    on_start=_record_pid)
        made.append(cluster)
        cluster.start(initiate=initiate)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def _initiate_on(cluster: ReplicaSetCluster, member: Member) -> None:
    with MongoClient(member.host, member.port, directConnection=True,
                     serverSelectionTimeoutMS=20000) as client:
        assert client.admin.command({"replSetInitiate": cluster.config_document()})["ok"] == 1


def _terms(cluster: ReplicaSetCluster) -> dict[str, int]:
    return {m.address: int(cluster.client(m).admin.command("replSetGetStatus")["term"])
            for m in cluster.members}


def _elections(member: Member) -> list[dict[str, Any]]:
    return [e for e in member.log_entries() if e.get("c") == "ELECTION"]


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _assert_no_stale_real_election(cluster: ReplicaSetCluster) -> None:
    """Every real election a member ran after a dry run is in the dry run's term + 1."""
    for member in cluster.members:
        dry_term = None
        for entry in _elections(member):
            if entry["id"] == 21438:
                dry_term = entry["attr"]["currentTerm"]
            elif entry["id"] == 21444:
                assert entry["attr"]["newTerm"] == dry_term + 1, (member.address, entry)


def test_first_election_waits_for_the_election_timeout_not_the_heartbeat(make_set):
    """electionTimeoutMillis 1000, heartbeatIntervalMillis 10000: mongod elects about
    1-1.15 s after the members take the config; a check on the heartbeat's beat would wait
    10 s. The primary then stays: its secondaries' fetcher batches postpone their election
    timeouts although heartbeats come only every 10 s."""
    cluster = make_set([MemberSpec() for _ in range(3)], "hbslow",
                       {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 10000})
    started = time.monotonic()
    _initiate_on(cluster, cluster.members[0])
    primary = cluster.wait_for_primary(timeout=30)
    elapsed = time.monotonic() - started
    # generous for a loaded machine, far below the 10 s heartbeat interval
    assert elapsed < 6.0, f"first primary {elapsed:.2f}s after replSetInitiate"
    cluster.wait_ready(timeout=10)
    term = _terms(cluster)[primary.address]
    time.sleep(3.0)  # three election timeouts, no heartbeat from the primary in between
    assert cluster.primary() == primary.address
    assert set(_terms(cluster).values()) == {term}


def test_initiate_with_heartbeat_interval_above_election_timeout(make_set):
    """The 5-member initiate of a tool that cannot set heartbeatIntervalMillis (2000 next to
    electionTimeoutMillis 1000), sent to a member other than the preferred one. The other
    members wait for two heartbeats per member before choosing a sync source and look again
    after syncSourceRetryWait (1 s), so they are still in initial sync when the initiating
    member's election timeout expires: it is elected alone in term 1, and the preferred
    member takes over in term 2 - no further elections."""
    specs = [MemberSpec(priority=2), MemberSpec(), MemberSpec(), MemberSpec(),
             MemberSpec(priority=0.5)]
    cluster = make_set(specs, "hbdefault", {"electionTimeoutMillis": 1000})
    preferred, initiator = cluster.members[0], cluster.members[1]
    _initiate_on(cluster, initiator)
    poll_until(lambda: cluster.primary() == preferred.address, 30, "the priority-2 member primary")
    cluster.wait_ready(timeout=10)
    time.sleep(3.0)  # three election timeouts: nobody else stands
    terms = _terms(cluster)
    assert len(set(terms.values())) == 1 and max(terms.values()) <= 2, terms
    assert cluster.primary() == preferred.address
    _assert_no_stale_real_election(cluster)
    won = [(m.address, e["attr"]["term"]) for m in cluster.members for e in _elections(m)
           if e["id"] == 21450]
    assert (initiator.address, 1) in won, won
    # a priority takeover (if any) waited (rank 0 + 1) x electionTimeoutMillis after it was
    # scheduled; only a lower bound is checked (a loaded machine only makes it later)
    scheduled = started = None
    for entry in _elections(preferred):
        if entry["id"] == 4615601 and scheduled is None:
            scheduled = entry["t"]["$date"]
        if entry["id"] == 4615660:  # "Starting an election for a priority takeover"
            started = entry["t"]["$date"]
    if started is not None:
        assert scheduled is not None
        waited = _seconds(started) - _seconds(scheduled)
        assert waited >= 0.95, waited


def test_stepdown_hands_off_to_a_member_restarted_since_it_last_voted(make_set):
    """The primary asked every member for its vote when it was elected; the handoff target
    has been restarted since. replSetStepDown still hands the election off to it
    (replSetStepUp with skipDryRun) instead of leaving the set to an election timeout."""
    specs = [MemberSpec(priority=3), MemberSpec(priority=2), MemberSpec(priority=1)]
    cluster = make_set(specs, "handoff", {"electionTimeoutMillis": 1000,
                                          "heartbeatIntervalMillis": 200}, initiate=True)
    old, target = cluster.members[0], cluster.members[1]
    poll_until(lambda: cluster.primary() == old.address, 30, "the priority-3 member primary")
    cluster.wait_ready(timeout=10)
    cluster.restart(target)
    cluster.wait_ready(timeout=30)
    primary_client = cluster.client(old)
    primary_client.app.c.insert_one({"_id": 1})

    def caught_up() -> bool:
        status = primary_client.admin.command("replSetGetStatus")
        mine = next(m for m in status["members"] if m.get("self"))["optime"]
        theirs = next(m for m in status["members"] if m["name"] == target.address)
        return theirs["stateStr"] == "SECONDARY" and theirs["optime"] == mine

    poll_until(caught_up, 20, f"{target.address} caught up with the primary")
    reply = primary_client.admin.command({"replSetStepDown": 60,
                                          "secondaryCatchUpPeriodSecs": 10})
    assert reply["ok"] == 1.0
    new = cluster.wait_for_primary(exclude=[old], timeout=10)
    assert new is target, new.address
    metrics = cluster.client(new).admin.command("replSetGetStatus")["electionCandidateMetrics"]
    assert metrics["lastElectionReason"] == "stepUpRequestSkipDryRun", metrics
