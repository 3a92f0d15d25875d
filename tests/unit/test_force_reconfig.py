"""Forced reconfiguration: guardrails, the new config, where to run it, the write window."""
from ansible_collections.quorum.mongodb.plugins.module_utils.force_reconfig import Probe, plan_force_reconfig
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config

CURRENT = {"_id": "rs0", "version": 7, "term": 4, "members": [
    {"_id": 0, "host": "ny1:27017", "priority": 2, "tags": {"dc": "ny"}},
    {"_id": 1, "host": "ny2:27017", "priority": 2, "tags": {"dc": "ny"}},
    {"_id": 2, "host": "ny3:27017", "priority": 2, "tags": {"dc": "ny"}},
    {"_id": 3, "host": "fr1:27017", "tags": {"dc": "fr"}},
    {"_id": 4, "host": "fr2:27017", "priority": 0, "tags": {"dc": "fr"}},
]}
NY_DOWN = [Probe("ny1:27017", False, error="connection refused"), Probe("ny2:27017", False), Probe("ny3:27017", False),
           Probe("fr1:27017", True, state=2, optime_seconds=1000), Probe("fr2:27017", True, state=2, optime_seconds=1004)]


def test_losing_new_york_keeps_frankfurt():
    plan = plan_force_reconfig(CURRENT, NY_DOWN, ["fr1", "fr2:27017"], lost_optimes={"ny1:27017": 1010})
    assert plan.allowed, plan.refusals
    assert [m["host"] for m in plan.config["members"]] == ["fr1:27017", "fr2:27017"]
    assert plan.run_on == "fr2:27017"  # the most up-to-date survivor
    assert plan.removed == ["ny1:27017", "ny2:27017", "ny3:27017"]
    assert "term" not in plan.config
    assert plan.to_dict()["possible_lost_write_seconds"] == 6
    assert validate_config(plan.config, current=CURRENT, force=True).valid


def test_lost_members_can_be_kept_without_votes():
    plan = plan_force_reconfig(CURRENT, NY_DOWN, ["fr1", "fr2"], lost_members="keep", survivor_priority=5)
    assert plan.allowed, plan.refusals
    by_host = dict((m["host"], m) for m in plan.config["members"])
    assert (by_host["ny1:27017"]["votes"], by_host["ny1:27017"]["priority"]) == (0, 0)
    assert by_host["fr1:27017"]["priority"] == 5 and by_host["fr2:27017"]["priority"] == 5
    assert plan.kept_nonvoting == ["ny1:27017", "ny2:27017", "ny3:27017"]


def test_a_reachable_primary_is_a_refusal():
    probes = NY_DOWN[:3] + [Probe("fr1:27017", True, state=1, optime_seconds=5), NY_DOWN[4]]
    plan = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"])
    assert not plan.allowed
    assert any("fr1:27017 answers as PRIMARY" in r for r in plan.refusals)


def test_a_voting_majority_answering_is_a_refusal_unless_overridden():
    probes = [Probe("ny1:27017", True, state=2, optime_seconds=1)] + NY_DOWN[1:]
    plan = plan_force_reconfig(CURRENT, probes, ["ny1", "fr1", "fr2"])
    assert any("3 of 5 votes answer, a majority (3)" in r for r in plan.refusals)
    assert plan_force_reconfig(CURRENT, probes, ["ny1", "fr1", "fr2"], allow_with_majority=True).allowed


def test_a_lost_member_that_answers_and_a_silent_survivor_are_refusals():
    probes = [Probe("ny1:27017", True, state=2)] + NY_DOWN[1:4] + [Probe("fr2:27017", False, error="timeout")]
    plan = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"])
    assert any("ny1:27017 is listed as lost but answers" in r for r in plan.refusals)
    assert any("survivor fr2:27017 does not answer: timeout" in r for r in plan.refusals)


def test_no_electable_survivor_is_a_refusal():
    plan = plan_force_reconfig(CURRENT, NY_DOWN, ["fr2"])
    assert any("members.electable" in r for r in plan.refusals)
    unknown = plan_force_reconfig(CURRENT, NY_DOWN, ["fr9"])
    assert any("fr9:27017 is not in the current config" in r for r in unknown.refusals)


# -- the loss report (issue 12 item 1) -----------------------------------------------------------
# replSetGetStatus as mongod returns it for a member that went DOWN: topology_coordinator.cpp,
# TopologyCoordinator::prepareStatusResponse shows "optime"/"optimeDate" from the member's last
# heartbeat answer, which MemberData::setDownValues (member_data.cpp) clears to Timestamp(0, 0);
# "lastAppliedWallTime" is kept, and "lastHeartbeatRecv" is its last heartbeat to us.

import datetime as _dt  # noqa: E402

from bson import Timestamp  # noqa: E402

from ansible_collections.quorum.mongodb.plugins.module_utils.force_reconfig import (  # noqa: E402
    fault_tolerance,
    survivor_view,
)

T0 = 1_800_000_000  # the survivors' last contact with New York (epoch seconds)
EPOCH = _dt.datetime(1970, 1, 1)


def at(seconds):
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).replace(tzinfo=None)  # pymongo's naive UTC


def status(host, now, applied, commit, lost_contact, lost_applied, lost=("ny1:27017", "ny2:27017", "ny3:27017")):
    """A survivor's replSetGetStatus after the lost members went DOWN, shaped as mongod 4.4-8.0 returns it."""
    members = [{"_id": 9, "name": host, "self": True, "health": 1.0, "state": 2,
                "optime": {"ts": Timestamp(int(applied), 1), "t": 4}, "optimeDate": at(int(applied))}]
    for i, name in enumerate(lost):
        members.append({"_id": i, "name": name, "health": 0.0, "state": 8, "stateStr": "(not reachable/healthy)",
                        "optime": {"ts": Timestamp(0, 0), "t": -1}, "optimeDate": EPOCH,
                        "lastAppliedWallTime": at(lost_applied), "lastDurableWallTime": at(lost_applied),
                        "lastHeartbeat": at(now - 0.5), "lastHeartbeatRecv": at(lost_contact),
                        "lastHeartbeatMessage": "Couldn't get a connection within the time limit"})
    return {"set": "rs0", "date": at(now), "myState": 2, "members": members,
            "optimes": {"lastCommittedOpTime": {"ts": Timestamp(int(commit), 1), "t": 4},
                        "lastCommittedWallTime": at(commit), "appliedOpTime": {"ts": Timestamp(int(applied), 1), "t": 4},
                        "lastAppliedWallTime": at(applied)}}


def frozen_survivors(now=T0 + 6, applied=T0, commit=T0, lost_applied=T0):
    """fr1 and fr2 were frozen (SIGSTOP) at T0 while New York went on acknowledging majority
    writes, then New York was killed and Frankfurt resumed: the survivors last heard from New
    York at T0 and saw its optime at T0; what it acknowledged after T0 they cannot see."""
    views = [survivor_view("fr1:27017", status("fr1:27017", now, applied, commit, T0, lost_applied)),
             survivor_view("fr2:27017", status("fr2:27017", now, applied, commit, T0, lost_applied))]
    probes = NY_DOWN[:3] + [Probe("fr1:27017", True, state=2, optime_seconds=applied),
                            Probe("fr2:27017", True, state=2, optime_seconds=applied)]
    return probes, views


def test_a_down_member_is_read_from_last_applied_wall_time_not_its_cleared_optime():
    view = survivor_view("fr1:27017", status("fr1:27017", T0 + 6, T0, T0, T0 - 1, T0))
    assert view.now == T0 + 6 and view.applied == T0 and view.commit_point == T0
    assert view.others["ny1:27017"] == {"last_contact": T0 - 1, "optime": T0, "up": False}


def test_writes_acknowledged_after_the_last_contact_are_reported_never_zero():
    """The drill: the old report said "0 s" (both sides' optimes were equal at the last contact)
    while 214 acknowledged majority writes were gone."""
    probes, views = frozen_survivors()
    plan = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"], views=views)
    assert plan.allowed, plan.refusals
    out = plan.to_dict()
    assert out["possible_lost_write_seconds"] == 6.0
    assert out["loss"]["span_start"] == "2027-01-15T08:00:00.000Z" and out["loss"]["known_missing_seconds"] == 0
    report = "\n".join(out["report"])
    assert "writes acknowledged after 2027-01-15T08:00:00.000Z may be lost - 6.0 s up to now" in report
    assert "lost ny1:27017: last heard from 2027-01-15T08:00:00.000Z, its newest write then 2027-01-15T08:00:00.000Z" \
        in report
    assert "survivor fr1:27017: newest write 2027-01-15T08:00:00.000Z, commit point it last saw" in report
    assert [s["host"] for s in out["survivors"]] == ["fr1:27017", "fr2:27017"]


def test_a_lagging_survivor_widens_the_span_to_its_newest_write():
    probes, views = frozen_survivors(now=T0 + 3, applied=T0 - 10, commit=T0 - 10, lost_applied=T0)
    out = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"], views=views).to_dict()
    assert out["possible_lost_write_seconds"] == 13.0
    assert out["loss"]["known_missing_seconds"] == 10.0
    assert "10.0 s of it the survivors know existed elsewhere" in "\n".join(out["report"])


def test_a_commit_point_beyond_the_survivors_says_committed_writes_are_lost():
    probes, views = frozen_survivors(now=T0 + 3, applied=T0 - 2, commit=T0, lost_applied=T0)
    out = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"], views=views).to_dict()
    assert out["loss"]["committed_not_on_survivors"] is True
    assert "majority-committed writes up to 2027-01-15T08:00:00.000Z are on no survivor: they are lost" in out["report"]


def test_the_report_says_what_fault_tolerance_remains_and_the_next_step():
    probes, views = frozen_survivors()
    plan = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"], views=views)
    tolerance = plan.to_dict()["fault_tolerance"]
    assert (tolerance["voters"], tolerance["majority"], tolerance["tolerates_voter_loss"]) == (2, 2, 0)
    assert tolerance["summary"].startswith("2 voters (majority 2): no failover - if any voter fails")
    assert "reconfig.yml" in plan.next_step and "no failover" in plan.next_step
    one = fault_tolerance({"_id": "rs0", "members": [{"_id": 3, "host": "fr1:27017"},
                                                     {"_id": 4, "host": "fr2:27017", "votes": 0, "priority": 0}]})
    assert one["summary"].startswith("1 voter (majority 1): no failover - if fr1:27017 fails, the set has no primary")
    five = fault_tolerance(CURRENT)
    assert five["tolerates_voter_loss"] == 2 and "through the loss of 2 voters" in five["summary"]


def test_without_survivor_status_the_report_says_it_cannot_tell():
    out = plan_force_reconfig(CURRENT, NY_DOWN, ["fr1", "fr2"]).to_dict()
    assert any("cannot tell what the lost members acknowledged" in line for line in out["report"])


def test_a_heartbeat_read_after_the_freeze_does_not_shorten_the_span():
    """A heartbeat request carries no optime; one queued while a survivor was frozen is read when
    it resumes (seen in the drill): the span still starts at the newest write known of the lost
    members, not at that contact."""
    views = [survivor_view(h, status(h, T0 + 6, T0, T0, T0 + 3, T0 - 1)) for h in ("fr1:27017", "fr2:27017")]
    probes = NY_DOWN[:3] + [Probe("fr1:27017", True, state=2, optime_seconds=T0),
                            Probe("fr2:27017", True, state=2, optime_seconds=T0)]
    out = plan_force_reconfig(CURRENT, probes, ["fr1", "fr2"], views=views).to_dict()
    assert out["possible_lost_write_seconds"] == 7.0
    assert out["loss"]["lost_members"][0]["last_contact"] == "2027-01-15T08:00:03.000Z"
