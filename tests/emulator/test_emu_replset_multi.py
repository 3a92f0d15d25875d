"""Multi-process replica sets through pymongo and mongoemu.cluster: each member is its own
mongoemu process on its own 127.0.0.x address, so SIGKILL and SIGSTOP are real failures.

Expected behaviour is mongod 7.0's (MongoDB manual; ../shared/reference/mongod_replset_rules.md):
initiate of 3/5/7 members; a killed primary replaced; replSetStepDown handing off
(election handoff = replSetStepUp with skipDryRun); a paused minority keeps w:"majority"
writable and a paused majority demotes the primary; at most one voting change per
reconfig (103) while two new voters at once pass through newlyAdded; force reconfig on a
survivor; w:"majority" and a getLastErrorModes tag mode time out with WriteConcernFailed
(64); a member that falls off its sync sources' oplogs logs "too stale to catch up" and stays
RECOVERING; an emptied dbPath resyncs; rollback of unreplicated writes into rollback files
while every majority-acknowledged write survives; a member with another keyFile cannot be
part of initiate (74); replSetResizeOplog on a secondary.

Settings keep it fast: electionTimeoutMillis 1000, heartbeatIntervalMillis 200, and
chainingAllowed false so that pausing a secondary never leaves the other one syncing from it.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import Binary
from pymongo import WriteConcern
from pymongo.errors import NotPrimaryError, OperationFailure, WriteConcernError

from emuharness import STARTED_PIDS, poll_until
from mongoemu.cluster import Member, MemberSpec, ReplicaSetCluster, hello

pytestmark = pytest.mark.emulator

FAST = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200, "chainingAllowed": False}
TEST_COMMANDS = ["--setParameter", "enableTestCommands=1"]
#: a new primary after a kill -9 or a paused majority: a few election timeouts, with slack
ELECTION_BOUND_S = 10.0
KEY_A = "bXVsdGktbWVtYmVyLWtleWZpbGUtQUFBQUFBQUFBQUFBQUFB"
KEY_B = "YW5vdGhlci1rZXlmaWxlLUJCQkJCQkJCQkJCQkJCQkJCQkJC"


def _record_pid(member: Member) -> None:
    """The session safety net (conftest) stops, by pid, whatever a test left running."""
    STARTED_PIDS.add(member.pid)


def _make_cluster(root: Path, specs: list[MemberSpec], name: str, start: bool = True,
                  settings: dict[str, Any] | None = None, **options: Any) -> ReplicaSetCluster:
    cluster = ReplicaSetCluster(specs, set_name=name, root=root,
                                settings={**FAST, **(settings or {})},
                                extra_args=TEST_COMMANDS, on_start=_record_pid, **options)
    if start:
        cluster.start()
    return cluster


@pytest.fixture
def rs_factory(tmp_path: Path) -> Iterator[Callable[..., ReplicaSetCluster]]:
    """Fresh sets for one test; every process is stopped by pid afterwards."""
    made: list[ReplicaSetCluster] = []

    def make(specs: list[MemberSpec] | int, name: str, start: bool = True,
             **options: Any) -> ReplicaSetCluster:
        if isinstance(specs, int):
            specs = [MemberSpec() for _ in range(specs)]
        cluster = _make_cluster(tmp_path / f"{name}-{len(made)}", specs, name, start=False,
                                **options)
        made.append(cluster)
        if start:
            cluster.start()
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def _shared_cluster(tmp_path_factory, name: str, specs: list[MemberSpec],
                   settings: dict[str, Any] | None = None) -> Iterator[ReplicaSetCluster]:
    """A module's set, stopped by pid when the module is done (or when starting fails)."""
    cluster = _make_cluster(tmp_path_factory.mktemp(name), specs, name, start=False,
                            settings=settings)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def trio(tmp_path_factory) -> Iterator[ReplicaSetCluster]:
    """Three equal members shared by tests that leave the set healthy again."""
    yield from _shared_cluster(tmp_path_factory, "trio", [MemberSpec() for _ in range(3)])


@pytest.fixture(scope="module")
def dcset(tmp_path_factory) -> Iterator[ReplicaSetCluster]:
    """east (preferred primary), east, west; getLastErrorModes multiDC = two distinct dc."""
    specs = [MemberSpec(tags={"dc": "east"}, priority=2), MemberSpec(tags={"dc": "east"}),
             MemberSpec(tags={"dc": "west"})]
    yield from _shared_cluster(tmp_path_factory, "dcset", specs,
                               {"getLastErrorModes": {"multiDC": {"dc": 2}}})


# ---------------------------------------------------------------- helpers


def _status(cluster: ReplicaSetCluster, member: Member) -> dict:
    return cluster.client(member).admin.command("replSetGetStatus")


def _self_entry(status: dict) -> dict:
    [entry] = [m for m in status["members"] if m.get("self")]
    return entry


def _secondaries(cluster: ReplicaSetCluster, primary: Member) -> list[Member]:
    return [m for m in cluster.members if m is not primary and m.in_config]


def _fail_point(cluster: ReplicaSetCluster, member: Member, name: str, mode: str) -> None:
    reply = cluster.client(member).admin.command({"configureFailPoint": name, "mode": mode})
    assert reply["ok"] == 1.0, reply


def _coll(cluster: ReplicaSetCluster, member: Member, name: str, **wc: Any):
    db = cluster.client(member).get_database("multidb")
    coll = db.get_collection(name)
    return coll.with_options(write_concern=WriteConcern(**wc)) if wc else coll


def _assert_wc_timeout(call: Callable[[], Any]) -> WriteConcernError:
    with pytest.raises(WriteConcernError) as err:
        call()
    details = err.value.details
    assert err.value.code == 64, details
    assert details.get("codeName") == "WriteConcernFailed", details
    assert details.get("errInfo", {}).get("wtimeout") is True, details
    return err.value


def _ids(cluster: ReplicaSetCluster, member: Member, coll: str, prefix: str) -> set:
    found = cluster.client(member).multidb[coll].find({"_id": {"$regex": f"^{prefix}"}})
    return {doc["_id"] for doc in found}


# ---------------------------------------------------------------- initiate


@pytest.mark.parametrize("size", [3, 5, 7])
def test_initiate_sets_of_3_5_7(rs_factory, size):
    cluster = rs_factory(size, f"init{size}")
    primary = cluster.wait_ready(timeout=30)
    addresses = sorted(m.address for m in cluster.members)
    reply = hello(primary.address)
    assert reply["setName"] == f"init{size}" and reply["setVersion"] == 1
    assert sorted(reply["hosts"]) == addresses
    assert reply["primary"] == reply["me"] == primary.address

    # the primary learns the others' states from heartbeats: allow it a few intervals
    expected = ["PRIMARY"] + ["SECONDARY"] * (size - 1)
    status = poll_until(lambda: (lambda st: st if sorted(m["stateStr"] for m in st["members"])
                            == expected else None)(_status(cluster, primary)),
                   5, f"{primary.address} to see every member PRIMARY/SECONDARY")
    assert status["myState"] == 1 and status["set"] == f"init{size}"
    majority = size // 2 + 1
    assert status["votingMembersCount"] == size
    assert status["majorityVoteCount"] == majority and status["writeMajorityCount"] == majority
    assert status["heartbeatIntervalMillis"] == 200
    assert sorted(m["name"] for m in status["members"]) == addresses
    assert [m["name"] for m in status["members"] if m.get("self")] == [primary.address]
    for entry in status["members"]:
        assert entry["health"] == 1.0 and entry["configVersion"] == 1, entry
        assert {"optime", "optimeDate", "syncSourceHost"} <= set(entry), entry

    _coll(cluster, primary, "init", w="majority", wtimeout=10000).insert_one({"_id": "one"})
    for member in _secondaries(cluster, primary):
        poll_until(lambda m=member: cluster.client(m).multidb.init.find_one({"_id": "one"}),
              10, f"the majority write on {member.address}")
        # without chaining every secondary syncs from the primary
        poll_until(lambda m=member: _self_entry(_status(cluster, m))["syncSourceHost"]
              == primary.address, 10, f"{member.address} syncing from the primary")


# ---------------------------------------------------------------- failover on the trio


def test_kill9_primary_elects_another(trio):
    old = trio.wait_ready()
    _coll(trio, old, "kill", w="majority", wtimeout=10000).insert_one({"_id": "before"})
    trio.kill9(old)
    killed_at = time.monotonic()
    new = trio.wait_for_primary(exclude=[old], timeout=ELECTION_BOUND_S)
    elapsed = time.monotonic() - killed_at
    assert new is not old and elapsed < ELECTION_BOUND_S
    # two of three members still make a majority
    _coll(trio, new, "kill", w="majority", wtimeout=10000).insert_one({"_id": "after"})
    assert _self_entry(_status(trio, new))["stateStr"] == "PRIMARY"
    # The killed member once heartbeats fail: health 0, state 8 (RS_DOWN), and stateStr
    # "(not reachable/healthy)" (topology_coordinator.cpp, prepareStatusResponse), not "DOWN".
    gone = poll_until(lambda: next((m for m in _status(trio, new)["members"]
                                    if m["name"] == old.address and m["health"] == 0), None),
                      10, f"{old.address} seen down by the new primary")
    assert (gone["state"], gone["stateStr"]) == (8, "(not reachable/healthy)"), gone

    trio.start_members([old])  # it comes back as a secondary and catches up
    assert trio.wait_ready(timeout=30) is new
    assert trio.wait_member_state(old, {"SECONDARY"}, timeout=10) == "SECONDARY"
    poll_until(lambda: _ids(trio, old, "kill", "") == {"before", "after"}, 10,
          f"both writes on the restarted {old.address}")


def test_stepdown_hands_off(trio):
    old = trio.wait_ready()
    reply = trio.client(old).admin.command(
        {"replSetStepDown": 10, "secondaryCatchUpPeriodSecs": 5})
    assert reply["ok"] == 1.0
    new = trio.wait_for_primary(exclude=[old], timeout=5)
    assert trio.wait_member_state(old, {"SECONDARY"}, timeout=5) == "SECONDARY"
    assert _self_entry(_status(trio, old))["stateStr"] == "SECONDARY"
    # election handoff: the old primary asked a caught-up secondary to stand at once
    # (replSetStepUp with skipDryRun), not an election after electionTimeoutMillis
    metrics = _status(trio, new)["electionCandidateMetrics"]
    assert metrics["lastElectionReason"] == "stepUpRequestSkipDryRun", metrics
    _coll(trio, new, "stepdown", w="majority", wtimeout=10000).insert_one({"_id": 1})


def test_stepdown_without_handoff_when_turned_off_at_runtime(trio):
    """enableElectionHandoff is set_at startup and runtime (repl_server_parameters.idl);
    ReplicationCoordinatorImpl::stepDown hands off only while it is true."""
    old = trio.wait_ready()
    admin = trio.client(old).admin
    assert admin.command({"setParameter": 1, "enableElectionHandoff": False})["was"] is True
    try:
        admin.command({"replSetStepDown": 10, "secondaryCatchUpPeriodSecs": 5})
        new = trio.wait_for_primary(exclude=[old], timeout=30)
        metrics = _status(trio, new)["electionCandidateMetrics"]
        assert metrics["lastElectionReason"] == "electionTimeout", metrics
    finally:
        admin.command({"setParameter": 1, "enableElectionHandoff": True})
    trio.wait_member_state(old, {"SECONDARY"}, timeout=5)


def test_paused_minority_keeps_majority_writable(trio):
    primary = trio.wait_ready()
    paused = _secondaries(trio, primary)[0]
    trio.pause(paused)
    paused_at = time.monotonic()
    try:
        coll = _coll(trio, primary, "minority", w="majority", wtimeout=5000)
        coll.insert_one({"_id": "first"})
        # still primary after two election timeouts: it sees a majority (itself + one)
        time.sleep(max(0.0, 2.2 - (time.monotonic() - paused_at)))
        assert hello(primary.address)["isWritablePrimary"] is True
        coll.insert_one({"_id": "second"})
    finally:
        trio.resume(paused)
    trio.wait_ready(timeout=30)
    poll_until(lambda: _ids(trio, paused, "minority", "") == {"first", "second"}, 10,
          f"the writes on the resumed {paused.address}")


def test_paused_majority_demotes_primary(trio):
    primary = trio.wait_ready()
    paused = _secondaries(trio, primary)
    for member in paused:
        trio.pause(member)
    try:
        # a primary that cannot see a majority steps down within about electionTimeoutMillis
        reply = poll_until(lambda: (lambda r: r if not r["isWritablePrimary"] else None)(
            hello(primary.address)), 5, f"{primary.address} to step down")
        assert reply["secondary"] is True
        with pytest.raises(NotPrimaryError):
            _coll(trio, primary, "majority", w=1).insert_one({"_id": "refused"})
    finally:
        for member in paused:
            trio.resume(member)
    trio.wait_ready(timeout=30)


def test_emptied_dbpath_resyncs(trio):
    primary = trio.wait_ready()
    coll = _coll(trio, primary, "resync", w=3, wtimeout=10000)
    coll.create_index("x")
    coll.insert_many([{"_id": f"r{i}", "x": i} for i in range(200)])
    target = _secondaries(trio, primary)[0]
    trio.restart(target, wipe=True)
    assert trio.wait_member_state(target, {"SECONDARY"}, timeout=30) == "SECONDARY"
    resynced = trio.client(target).multidb.resync
    assert resynced.count_documents({}) == 200
    assert "x_1" in resynced.index_information()
    assert _self_entry(_status(trio, target))["stateStr"] == "SECONDARY"
    # and it keeps replicating after the initial sync
    _coll(trio, primary, "resync", w=3, wtimeout=10000).insert_one({"_id": "later"})
    assert resynced.find_one({"_id": "later"}) == {"_id": "later"}


def test_resize_oplog_on_a_secondary(trio):
    primary = trio.wait_ready()
    secondary = _secondaries(trio, primary)[0]
    before = trio.client(primary).local.command("collStats", "oplog.rs")["maxSize"]
    reply = trio.client(secondary).admin.command({"replSetResizeOplog": 1, "size": 2000.0})
    assert reply["ok"] == 1.0
    assert trio.client(secondary).local.command("collStats", "oplog.rs")["maxSize"] == \
        2000 * 1024 * 1024
    # per member: the primary's oplog keeps its size
    assert trio.client(primary).local.command("collStats", "oplog.rs")["maxSize"] == before
    with pytest.raises(OperationFailure) as err:
        trio.client(secondary).admin.command({"replSetResizeOplog": 1, "size": 10.0})
    assert err.value.code == 51024


# ---------------------------------------------------------------- write concerns


def _dc_primary(dcset: ReplicaSetCluster) -> Member:
    dcset.wait_ready(timeout=30)
    east = dcset.members[0]
    poll_until(lambda: dcset.primary() == east.address, 15,
          f"the priority-2 member {east.address} to be primary")
    return east


def test_majority_write_concern_times_out_with_64(dcset):
    primary = _dc_primary(dcset)
    secondaries = _secondaries(dcset, primary)
    for member in secondaries:
        _fail_point(dcset, member, "rsSyncApplyStop", "alwaysOn")
    try:
        coll = _coll(dcset, primary, "wc", w="majority", wtimeout=500)
        _assert_wc_timeout(lambda: coll.insert_one({"_id": "unacked"}))
        # the write itself is applied on the primary, only the acknowledgement failed
        assert _coll(dcset, primary, "wc").find_one({"_id": "unacked"}) is not None
    finally:
        for member in secondaries:
            _fail_point(dcset, member, "rsSyncApplyStop", "off")
    _coll(dcset, primary, "wc", w="majority", wtimeout=10000).insert_one({"_id": "acked"})


def test_multidc_mode_needs_two_datacenters(dcset):
    primary = _dc_primary(dcset)
    east2, west = dcset.members[1], dcset.members[2]
    _fail_point(dcset, west, "rsSyncApplyStop", "alwaysOn")
    try:
        # two members applied (both in east): w:2 is satisfied, multiDC is not
        _coll(dcset, primary, "dc", w=2, wtimeout=5000).insert_one({"_id": "two-east"})
        multi = _coll(dcset, primary, "dc", w="multiDC", wtimeout=500)
        _assert_wc_timeout(lambda: multi.insert_one({"_id": "east-only"}))
    finally:
        _fail_point(dcset, west, "rsSyncApplyStop", "off")
    _coll(dcset, primary, "dc", w="multiDC", wtimeout=10000).insert_one({"_id": "both"})

    _fail_point(dcset, east2, "rsSyncApplyStop", "alwaysOn")
    try:  # primary (east) + west is two datacenters
        _coll(dcset, primary, "dc", w="multiDC", wtimeout=10000).insert_one({"_id": "east-west"})
    finally:
        _fail_point(dcset, east2, "rsSyncApplyStop", "off")


# ---------------------------------------------------------------- reconfig


def _config(cluster: ReplicaSetCluster, member: Member, **extra: Any) -> dict:
    return cluster.client(member).admin.command({"replSetGetConfig": 1, **extra})["config"]


def test_reconfig_voting_changes(rs_factory):
    cluster = rs_factory(3, "reconf")
    primary = cluster.wait_ready(timeout=30)
    secondary = _secondaries(cluster, primary)[0]
    admin = cluster.client(primary).admin
    current = _config(cluster, primary)
    version = current["version"]

    # non-force on a secondary: NotWritablePrimary
    with pytest.raises(NotPrimaryError) as err:
        cluster.client(secondary).admin.command(
            {"replSetReconfig": {**current, "version": version + 1}})
    assert err.value.details["code"] == 10107, err.value.details

    # two members lose their vote at once: refused (at most one voting change)
    two_votes = copy.deepcopy(current)
    two_votes["version"] = version + 1
    for member in two_votes["members"]:
        if member["host"] != primary.address:
            member["votes"], member["priority"] = 0, 0
    with pytest.raises(OperationFailure) as err:
        admin.command({"replSetReconfig": two_votes})
    assert err.value.code == 103, err.value.details
    assert err.value.details["codeName"] == "NewReplicaSetConfigurationIncompatible"
    assert "at most 1 voting member" in err.value.details["errmsg"]
    assert _config(cluster, primary)["version"] == version

    # two new voters at once: accepted, they join as newlyAdded (non-voting until synced)
    added = [cluster.add_member(), cluster.add_member()]
    grown = copy.deepcopy(current)
    grown["version"] = version + 1
    grown["members"] += [{"_id": 10 + i, "host": m.address} for i, m in enumerate(added)]
    assert admin.command({"replSetReconfig": grown})["ok"] == 1.0
    visible = _config(cluster, primary)
    assert not any("newlyAdded" in m for m in visible["members"]), visible  # hidden by default
    for member in added:
        member.in_config = True
        assert cluster.wait_member_state(member, {"SECONDARY"}, timeout=30) == "SECONDARY"

    # the primary removes newlyAdded itself, one automatic reconfig per member
    def settled() -> dict | None:
        config = _config(cluster, primary, **{"$_internalIncludeNewlyAdded": True})
        return None if any(m.get("newlyAdded") for m in config["members"]) else config
    final = poll_until(settled, 15, "newlyAdded to be removed from both new members")
    assert final["version"] >= version + 3, final
    status = _status(cluster, primary)
    assert status["votingMembersCount"] == 5 and status["majorityVoteCount"] == 3
    assert sorted(hello(primary.address)["hosts"]) == sorted(m.address for m in cluster.members)
    cluster.wait_ready(timeout=30)


def test_force_reconfig_on_survivor_after_losing_majority(rs_factory):
    cluster = rs_factory(3, "forced")
    primary = cluster.wait_ready(timeout=30)
    survivor, lost = _secondaries(cluster, primary)
    old = _config(cluster, survivor)
    cluster.kill9(primary)
    cluster.kill9(lost)

    forced = copy.deepcopy(old)
    forced["members"] = [m for m in forced["members"] if m["host"] == survivor.address]
    forced["version"] = old["version"] + 1
    admin = cluster.client(survivor).admin
    with pytest.raises(NotPrimaryError):  # non-force needs a writable primary
        admin.command({"replSetReconfig": forced})
    assert admin.command({"replSetReconfig": forced, "force": True})["ok"] == 1.0
    installed = _config(cluster, survivor)
    assert installed["version"] >= old["version"] + 1 + 10000, installed
    assert installed["version"] < old["version"] + 1 + 10000 + 100000, installed
    assert [m["host"] for m in installed["members"]] == [survivor.address]

    # the only voter is electable: it elects itself
    assert cluster.wait_for_primary(timeout=ELECTION_BOUND_S) is survivor
    _coll(cluster, survivor, "forced", w="majority", wtimeout=5000).insert_one({"_id": 1})
    assert hello(survivor.address)["setVersion"] == _config(cluster, survivor)["version"]


# ---------------------------------------------------------------- staleness


def test_member_falls_off_small_oplog_and_reports_too_stale(rs_factory):
    # mongod's minimum --oplogSize is 990 MB; mongoemu accepts a small one for tests
    cluster = rs_factory(3, "stale", oplog_size_mb=1)
    primary = cluster.wait_ready(timeout=30)
    stale = _secondaries(cluster, primary)[0]
    _coll(cluster, primary, "stale", w=3, wtimeout=10000).insert_one({"_id": "synced"})
    last_applied = _self_entry(_status(cluster, stale))["optime"]["ts"]
    cluster.pause(stale)
    try:
        payload = "x" * 100_000
        coll = _coll(cluster, primary, "stale", w="majority", wtimeout=10000)
        for batch in range(4):  # ~4 MB through a 1 MB oplog on every running member
            coll.insert_many([{"_id": f"b{batch}-{i}", "pad": payload} for i in range(10)])
        oldest = cluster.client(primary).local["oplog.rs"].find_one(sort=[("$natural", 1)])
        assert oldest["ts"] > last_applied, "the primary's oplog did not wrap"
    finally:
        cluster.resume(stale)

    def recovering() -> dict | None:
        status = _status(cluster, stale)
        return status if status["myState"] == 3 else None
    status = poll_until(recovering, 20, f"{stale.address} to report RECOVERING")
    assert _self_entry(status)["stateStr"] == "RECOVERING"
    poll_until(lambda: any("too stale to catch up" in line.lower()
                      for line in stale.logpath.read_text(errors="replace").splitlines()),
          10, f"'too stale to catch up' in {stale.logpath}")
    time.sleep(1.0)  # it stays there until it is resynced
    assert _status(cluster, stale)["myState"] == 3
    assert cluster.observe([stale])[stale.address][0] == "NOT_READY"


# ---------------------------------------------------------------- rollback


def test_rollback_of_unreplicated_writes(rs_factory):
    cluster = rs_factory(3, "rollback")
    old = cluster.wait_ready(timeout=30)
    secondaries = _secondaries(cluster, old)
    _coll(cluster, old, "rb", w=3, wtimeout=10000).insert_one({"_id": "base"})
    [info] = cluster.client(old).multidb.list_collections(filter={"name": "rb"})
    collection_uuid = info["info"]["uuid"]
    if isinstance(collection_uuid, Binary):  # pymongo's default UuidRepresentation
        collection_uuid = collection_uuid.as_uuid()
    assert isinstance(collection_uuid, uuid.UUID), info

    for member in secondaries:  # they stop fetching: the next writes stay on the primary
        _fail_point(cluster, member, "stopReplProducer", "alwaysOn")
    lost = {f"lost-{i}" for i in range(5)}
    _coll(cluster, old, "rb", w=1).insert_many([{"_id": i} for i in sorted(lost)])
    cluster.pause(old)
    try:
        new = cluster.wait_for_primary(exclude=[old], timeout=ELECTION_BOUND_S)
        # the fail points go off before the majority writes: with the other secondary still
        # not fetching, w:"majority" could never be satisfied
        for member in secondaries:
            _fail_point(cluster, member, "stopReplProducer", "off")
        kept = {f"kept-{i}" for i in range(5)}
        _coll(cluster, new, "rb", w="majority", wtimeout=10000).insert_many(
            [{"_id": i} for i in sorted(kept)])
    finally:
        cluster.resume(old)

    assert cluster.wait_member_state(old, {"SECONDARY"}, timeout=30) == "SECONDARY"
    assert cluster.wait_ready(timeout=30) is new
    poll_until(lambda: _ids(cluster, old, "rb", "") == {"base"} | kept, 10,
          f"{old.address} to hold exactly the majority-committed documents",
          show=lambda: sorted(_ids(cluster, old, "rb", "")))
    assert _ids(cluster, new, "rb", "") == {"base"} | kept

    # mongod 4.4+: <dbPath>/rollback/<collectionUUID>/removed.<timestamp>.bson
    rollback_dir = old.dbpath / "rollback" / str(collection_uuid)
    files = sorted(rollback_dir.glob("removed.*.bson"))
    assert files, f"no removed.*.bson in {rollback_dir}; rollback/ holds " \
                  f"{sorted(str(p.relative_to(old.dbpath)) for p in (old.dbpath / 'rollback').rglob('*'))}"
    saved = [doc for path in files for doc in bson.decode_all(path.read_bytes())]
    assert {doc["_id"] for doc in saved} == lost


# ---------------------------------------------------------------- internal auth


def test_keyfile_mismatch_keeps_member_out_of_initiate(rs_factory):
    specs = [MemberSpec(), MemberSpec(), MemberSpec(key_file=KEY_B)]
    cluster = rs_factory(specs, "keyed", key_file=KEY_A, start=False)
    cluster.start(initiate=False)
    intruder = cluster.members[2]
    with pytest.raises(OperationFailure) as err:
        cluster.initiate()
    details = err.value.details
    assert err.value.code == 74 and details["codeName"] == "NodeNotFound", details
    assert "quorum check failed" in details["errmsg"] and intruder.address in details["errmsg"]
    assert "authenticat" in details["errmsg"].lower(), details
    assert "setName" not in hello(cluster.members[0].address)  # nothing was initiated

    # the same set without the member whose key differs initiates fine
    intruder.in_config = False
    assert cluster.initiate()["ok"] == 1.0
    primary = cluster.wait_ready(timeout=30)
    assert sorted(hello(primary.address)["hosts"]) == sorted(
        m.address for m in cluster.members[:2])


def test_a_position_from_a_newer_term_fails_a_pending_majority_wait(rs_factory):
    """A member that has voted in a newer term reports its position with that term ($replData).
    mongod processes the metadata first (CmdReplSetUpdatePosition::run, repl_set_commands.cpp):
    the primary steps down, and the w:"majority" write still waiting fails with
    PrimarySteppedDown (checkForStepDown before the done test, _startWaitingForReplication in
    replication_coordinator_impl.cpp). mongoemu counted the position first and acknowledged a
    write that the newer term's primary did not hold (found by the force_reconfig chaos run)."""
    import threading

    cluster = rs_factory(3, "newterm")
    primary = cluster.wait_ready(timeout=30)
    secondaries = _secondaries(cluster, primary)
    for member in secondaries:  # the write stays on the primary: its w:"majority" wait goes on
        _fail_point(cluster, member, "stopReplProducer", "alwaysOn")
    client = cluster.client(primary, retryWrites=False)
    outcome: dict[str, Any] = {}

    def write() -> None:
        coll = client.multidb.get_collection("nt", write_concern=WriteConcern(w="majority", wtimeout=20000))
        try:
            coll.insert_one({"_id": 1})
            outcome["acknowledged"] = True
        except (WriteConcernError, NotPrimaryError, OperationFailure) as exc:
            outcome["error"] = exc

    writer = threading.Thread(target=write, daemon=True)
    writer.start()

    def applied_on_the_primary() -> dict[str, Any] | None:
        if client.multidb.nt.find_one({"_id": 1}) is None:
            return None
        return client.admin.command("replSetGetStatus")

    status = poll_until(applied_on_the_primary, 10, "the write applied on the primary")
    mine = next(m for m in status["members"] if m.get("self"))
    config = client.admin.command("replSetGetConfig")["config"]
    other = next(m for m in config["members"] if m["host"] == secondaries[0].address)
    # the secondary's report: the primary's own newest optime, sent from the next term
    client.admin.command({"replSetUpdatePosition": 1, "optimes": [{
        "appliedOpTime": mine["optime"], "durableOpTime": mine["optime"],
        "appliedWallTime": mine["optimeDate"], "durableWallTime": mine["optimeDate"],
        "memberId": other["_id"], "cfgver": config["version"]}],
        "$replData": {"term": bson.Int64(status["term"] + 1)}})
    writer.join(timeout=20)
    assert "acknowledged" not in outcome, "a w:majority write was acknowledged by a primary of an older term"
    assert getattr(outcome.get("error"), "code", None) == 189, outcome
    assert not hello(primary.address)["isWritablePrimary"]
    for member in secondaries:
        _fail_point(cluster, member, "stopReplProducer", "off")
