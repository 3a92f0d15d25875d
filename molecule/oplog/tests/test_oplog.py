"""Verify the oplog scenario: after a write load, playbooks/oplog.yml resized every member's oplog
for the target window, and a second run changed nothing.

Expectations come from the scenario's inventory (literal values read through testinfra's Ansible
backend), what side_effect.yml recorded and the live set, never from the collection's code.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "dc_failure"))
from scenario_live import ScenarioSet  # noqa: E402  (shared with the other scenarios' verifiers)

SET = ScenarioSet("rs_molecule_oplog")
MEMBERS, SET_VARS = SET.members, SET.vars
testinfra_hosts = MEMBERS
address = SET.address
MB = 1024 * 1024
MIN_RESIZE_MB = 990  # replSetResizeOplog's lower bound


@pytest.fixture(scope="module")
def outcome():
    return SET.recorded("oplog_result.json")


def planned(outcome, run="first"):
    return {m["host"]: m for m in outcome[run]["members"]}


def live_max_size(name):
    client = SET.connect([name])
    try:
        return client.local.command("collStats", "oplog.rs")["maxSize"]
    finally:
        client.close()


def test_the_load_was_written():
    assert len(SET.recorded("load.json")["acked"]) == 40


def test_first_run_resized_every_member_secondaries_first(outcome):
    first = outcome["first"]
    assert first["changed"] is True and not first.get("failed"), first
    assert sorted(planned(outcome)) == sorted(address(n) for n in MEMBERS)
    for member in first["members"]:
        assert member["current_mb"] == SET_VARS["mongod_oplog_size_mb"], member
        assert member["action"] == "resize", member
    states = [m["state"] for m in first["members"]]
    assert states[-1] == "PRIMARY" and "PRIMARY" not in states[:-1], first["members"]


def test_new_size_holds_the_target_window(outcome):
    """The size set holds scenario_target_hours of writes at the measured rate times the headroom
    (or replSetResizeOplog's minimum, when that is more)."""
    first = outcome["first"]
    wanted = first["rate_bytes_per_hour"] * SET_VARS["scenario_target_hours"] * SET_VARS["scenario_headroom"] / MB
    assert first["rate_bytes_per_hour"] > 0
    for member in first["members"]:
        assert member["set_mb"] >= MIN_RESIZE_MB, member
        assert member["set_mb"] >= wanted - 1, (member, wanted)
        assert member["set_mb"] <= max(MIN_RESIZE_MB, wanted) + 1, (member, wanted)
        assert member["set_mb"] != SET_VARS["mongod_oplog_size_mb"]


def test_member_reports_the_new_size(host, outcome):
    name = host.backend.get_hostname()
    assert live_max_size(name) == planned(outcome)[address(name)]["set_mb"] * MB


def test_second_run_changed_nothing(outcome):
    second = outcome["second"]
    assert second["changed"] is False and not second.get("failed"), second
    assert {m["action"] for m in second["members"]} == {"keep"}, second["members"]
