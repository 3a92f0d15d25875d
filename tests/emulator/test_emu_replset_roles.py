"""Member roles in multi-process mongoemu sets: an arbiter votes and holds no data, hidden and
delayed members stay out of hello's host lists and a delayed member applies late, a member
with buildIndexes false copies no secondary index, a caught-up member of higher priority
takes over, and initial sync shows its progress in replSetGetStatus."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from pymongo import WriteConcern
from pymongo.errors import OperationFailure

from emuharness import STARTED_PIDS, pick_address, poll_until, write_pki
from mongoemu.cluster import MemberSpec, ReplicaSetCluster, hello

FAST = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}
TEST_COMMANDS = ["--setParameter", "enableTestCommands=1"]


def _poll(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last!r}")


@pytest.fixture
def make_set(tmp_path: Path) -> Iterator[Callable[..., ReplicaSetCluster]]:
    made: list[ReplicaSetCluster] = []

    def make(specs: list[MemberSpec], name: str, **settings: Any) -> ReplicaSetCluster:
        cluster = ReplicaSetCluster(specs, set_name=name, root=tmp_path / name,
                                    settings={**FAST, **settings}, extra_args=TEST_COMMANDS,
                                    on_start=lambda m: STARTED_PIDS.add(m.pid))
        made.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def _status(cluster: ReplicaSetCluster, member) -> dict[str, Any]:
    return cluster.client(member).admin.command("replSetGetStatus")


def test_arbiter_votes_and_holds_no_data(make_set):
    cluster = make_set([MemberSpec(), MemberSpec(), MemberSpec(arbiter_only=True)], "arb")
    primary = cluster.wait_ready(timeout=30)
    arbiter = cluster.members[2]
    reply = hello(arbiter.address)
    assert reply["arbiterOnly"] is True and reply["arbiters"] == [arbiter.address]
    assert _status(cluster, arbiter)["myState"] == 7
    cluster.client(primary).app.get_collection(
        "a", write_concern=WriteConcern(w=2, wtimeout=10000)).insert_one({"_id": 1})
    assert "app" not in cluster.client(arbiter).list_database_names()
    assert cluster.client(arbiter).local.list_collection_names() == [] or \
        "oplog.rs" not in cluster.client(arbiter).local.list_collection_names()
    # the arbiter's vote elects the other data member when the primary dies
    other = next(m for m in cluster.members[:2] if m is not primary)
    cluster.kill9(primary)
    assert cluster.wait_for_primary(exclude=[primary], timeout=10) is other


def test_hidden_and_delayed_members(make_set):
    specs = [MemberSpec(priority=2), MemberSpec(),
             MemberSpec(hidden=True, priority=0),
             MemberSpec(hidden=True, priority=0, secondary_delay_secs=2)]
    cluster = make_set(specs, "hid")
    primary = cluster.wait_ready(timeout=30)
    hidden, delayed = cluster.members[2], cluster.members[3]
    listed = hello(primary.address)
    assert hidden.address not in listed["hosts"] + listed.get("passives", [])
    assert delayed.address not in listed["hosts"] + listed.get("passives", [])
    assert hello(hidden.address)["hidden"] is True
    written = time.monotonic()
    cluster.client(primary).app.get_collection(
        "d", write_concern=WriteConcern(w=2, wtimeout=10000)).insert_one({"_id": "late"})
    reader = cluster.client(delayed, readPreference="secondaryPreferred")
    assert reader.app.d.find_one({"_id": "late"}) is None  # not yet: 2 s behind
    _poll(lambda: reader.app.d.find_one({"_id": "late"}), 10, "the delayed member to apply")
    assert time.monotonic() - written >= 1.5
    hidden_reader = cluster.client(hidden, readPreference="secondaryPreferred")
    _poll(lambda: hidden_reader.app.d.find_one({"_id": "late"}), 5, "the hidden member")


def test_build_indexes_false_copies_no_secondary_index(make_set):
    specs = [MemberSpec(), MemberSpec(), MemberSpec(priority=0, build_indexes=False)]
    cluster = make_set(specs, "bi")
    primary = cluster.wait_ready(timeout=30)
    coll = cluster.client(primary).app.get_collection(
        "ix", write_concern=WriteConcern(w=3, wtimeout=10000))
    coll.create_index("k")
    coll.insert_one({"k": 1})
    noindex = cluster.client(cluster.members[2], readPreference="secondaryPreferred")
    full = cluster.client(next(m for m in cluster.members[:2] if m is not primary),
                          readPreference="secondaryPreferred")
    _poll(lambda: full.app.ix.find_one({"k": 1}), 5, "the document on a secondary")
    _poll(lambda: noindex.app.ix.find_one({"k": 1}), 5, "the document on the no-index member")
    assert "k_1" in full.app.ix.index_information()
    assert list(noindex.app.ix.index_information()) == ["_id_"]


def test_priority_takeover(make_set):
    cluster = make_set([MemberSpec(priority=1), MemberSpec(priority=1),
                        MemberSpec(priority=5)], "prio")
    cluster.wait_ready(timeout=30)
    preferred = cluster.members[2]
    _poll(lambda: cluster.primary() == preferred.address, 15, "the priority-5 member primary")
    metrics = _status(cluster, preferred)["electionCandidateMetrics"]
    assert metrics["lastElectionReason"] in ("priorityTakeover", "electionTimeout"), metrics


def test_initial_sync_progress_is_visible(make_set):
    cluster = make_set([MemberSpec(), MemberSpec()], "isync")
    primary = cluster.wait_ready(timeout=30)
    cluster.client(primary).app.get_collection(
        "data", write_concern=WriteConcern(w=2, wtimeout=10000)).insert_many(
            [{"_id": i} for i in range(50)])
    newcomer = cluster.add_member(MemberSpec(priority=0, votes=0))
    cluster.client(newcomer).admin.command("configureFailPoint", "initialSyncHangBeforeFinish",
                                           mode="alwaysOn")
    config = cluster.client(primary).admin.command("replSetGetConfig")["config"]
    config["version"] += 1
    config["members"].append({"_id": 7, "host": newcomer.address, "priority": 0, "votes": 0})
    cluster.client(primary).admin.command({"replSetReconfig": config})
    newcomer.in_config = True
    def syncing() -> dict[str, Any] | None:
        try:
            status = _status(cluster, newcomer)
        except OperationFailure as exc:  # NotYetInitialized until the config reaches it
            assert exc.code == 94, exc.details
            return None
        progress = status.get("initialSyncStatus", {}).get("databases", {})
        done = progress.get("databasesToClone", 0) and \
            progress.get("databasesCloned") == progress.get("databasesToClone")
        return status if done else None
    # the fail point holds it in STARTUP2 after cloning, before it finishes
    status = _poll(syncing, 10, "initialSyncStatus with every database cloned")
    assert status["myState"] == 5
    progress = status["initialSyncStatus"]
    assert progress["databases"]["databasesCloned"] >= 1
    assert progress["databases"]["app"]["app.data"]["documentsCopied"] == 50
    cluster.client(newcomer).admin.command("configureFailPoint", "initialSyncHangBeforeFinish",
                                           mode="off")
    assert cluster.wait_member_state(newcomer, {"SECONDARY"}, timeout=10) == "SECONDARY"
    assert "initialSyncStatus" not in _status(cluster, newcomer)
    reader = cluster.client(newcomer, readPreference="secondaryPreferred")
    assert reader.app.data.count_documents({}) == 50


def test_members_talk_tls_when_required(tmp_path):
    """requireTLS members heartbeat, vote and replicate over TLS, presenting their own
    certificate (serverAuth and clientAuth) to each other."""
    hosts = [pick_address() for _ in range(3)]
    pki = write_pki(tmp_path, [h for h, _ in hosts])
    tls = ["--tlsMode", "requireTLS", "--tlsCertificateKeyFile", str(pki["member"]),
           "--tlsCAFile", str(pki["ca"])]
    cluster = ReplicaSetCluster([MemberSpec(host=f"{h}:{p}") for h, p in hosts],
                                set_name="tls", root=tmp_path / "tls", settings=FAST,
                                extra_args=tls, on_start=lambda m: STARTED_PIDS.add(m.pid),
                                client_options={"tls": True, "tlsCAFile": str(pki["ca"]),
                                                "tlsCertificateKeyFile": str(pki["client"])})
    try:
        cluster.start()
        primary = cluster.wait_ready(timeout=30)
        cluster.client(primary).app.get_collection(
            "t", write_concern=WriteConcern(w=3, wtimeout=10000)).insert_one({"over": "tls"})
        # the primary sees a member's new state with its next heartbeat (mongod does too)
        poll_until(lambda: sorted(m["stateStr"] for m in _status(cluster, primary)["members"])
                   == ["PRIMARY", "SECONDARY", "SECONDARY"], 10,
                   "the primary to see one PRIMARY and two SECONDARY members",
                   show=lambda: _status(cluster, primary)["members"])
    finally:
        cluster.stop()


def test_cursor_on_a_secondary_iterates_past_the_first_batch(make_set):
    """Drivers send $readPreference with find only; getMore on that cursor must not be
    refused as NotPrimaryNoSecondaryOk."""
    cluster = make_set([MemberSpec(priority=2), MemberSpec(priority=0)], "getmore")
    primary = cluster.wait_ready(timeout=30)
    cluster.client(primary).app.get_collection(
        "many", write_concern=WriteConcern(w=2, wtimeout=10000)).insert_many(
            [{"_id": i} for i in range(250)])
    secondary = cluster.client(cluster.members[1], readPreference="secondaryPreferred")
    assert len(list(secondary.app.many.find(batch_size=50))) == 250
