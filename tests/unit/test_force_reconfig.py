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
