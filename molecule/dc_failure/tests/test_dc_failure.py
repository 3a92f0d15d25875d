"""Verify the dc_failure scenario: dc1 (three of five voters, the primary's datacenter) was lost with
unreplicated w:1 writes on its primary, the survivors were forced into a set of their own, took
writes, and reconfig.yml brought dc1 back.

Expectations come from the scenario's inventory (literal values read through testinfra's Ansible
backend), what side_effect.yml recorded and the live set, never from the collection's code.
"""
import glob
import os
import sys
import time

import bson
import pytest
from pymongo.errors import PyMongoError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
from scenario_live import ScenarioSet  # noqa: E402  (shared with the other scenarios' verifiers)

SET = ScenarioSet("rs_molecule_dc_failure")
MEMBERS, LOST, SURVIVORS = SET.members, SET.hosts("scenario_lost_dc"), SET.hosts("scenario_survivors")
testinfra_hosts = MEMBERS
address, connect, recorded = SET.address, SET.connect, SET.recorded


@pytest.fixture(scope="module")
def outcome():
    return recorded("dc_failure_result.json")


@pytest.fixture(scope="module")
def client():
    connection = connect(MEMBERS)
    yield connection
    connection.close()


def ids_on(name, wanted, present, timeout=20):
    """The ids of `wanted` found on member `name` once they all are (present) or none is, else at the timeout."""
    direct = connect([name])
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = set(direct.molecule.dcfail.distinct("_id", {"_id": {"$in": sorted(wanted)}}))
            except PyMongoError:
                found = None
            if found is not None and (found == wanted if present else not found):
                return found
            if time.monotonic() > deadline:
                return found
            time.sleep(0.5)
    finally:
        direct.close()


def test_losing_dc1_loses_the_majority(outcome):
    """Guard the scenario: the fault-domain report says the set does not survive losing dc1, and
    dc1 held the primary when the failure began."""
    analysis = outcome["analysis"]
    dc1 = {SET.variables(n)["mongodb_datacenter"] for n in LOST}
    assert dc1 == {"dc1"}
    assert "dc1" in analysis["does_not_survive_loss_of"], analysis
    domain = next(d for d in analysis["domains"] if d["name"] == "dc1")
    assert domain["loss"]["keeps_majority"] is False and domain["voters"] == len(LOST), domain
    assert outcome["before"]["primary"] in [address(n) for n in LOST], outcome["before"]


def test_force_reconfig_kept_the_survivors_only(outcome):
    forced = outcome["forced"]
    assert forced["changed"] is True and not forced.get("failed"), forced
    assert sorted(forced["plan"]["removed"]) == sorted(address(n) for n in LOST), forced["plan"]
    assert forced["version_after"] >= forced["version_before"] + 10000, forced
    assert forced["primary"] in [address(n) for n in SURVIVORS], forced


def test_writes_succeeded_after_the_forced_reconfig():
    after = recorded("after_force.json")
    assert len(after["acked"]) == 20 and after["w"] == "majority", after


def test_member_listens(host):
    variables = SET.variables(host.backend.get_hostname())
    assert host.socket("tcp://%s:%d" % (variables["mongodb_host"], variables["mongodb_port"])).is_listening


def test_reconfig_restored_the_full_set(outcome, client):
    result = outcome["reconfig"]
    assert result["changed"] is True and not result.get("failed"), result
    config = client.admin.command("replSetGetConfig")["config"]
    live = {m["host"]: m for m in config["members"]}
    assert sorted(live) == sorted(address(n) for n in MEMBERS)
    for name in MEMBERS:
        variables, member = SET.variables(name), live[address(name)]
        assert member["votes"] == 1, name
        assert member["priority"] == variables.get("mongodb_priority", 1), name
        assert member["tags"] == {"dc": variables["mongodb_datacenter"]}, name


def test_every_member_is_healthy(client):
    deadline = time.monotonic() + 30
    while True:
        states = {m["name"]: m["stateStr"] for m in client.admin.command("replSetGetStatus")["members"]}
        if sorted(states.values()) == ["PRIMARY"] + ["SECONDARY"] * (len(MEMBERS) - 1):
            return
        assert time.monotonic() < deadline, "after 30 s: %r" % states
        time.sleep(0.5)


def test_writes_after_the_failure_are_on_every_member(host):
    wanted = set(recorded("after_force.json")["acked"])
    found = ids_on(host.backend.get_hostname(), wanted, present=True)
    assert found == wanted, (host.backend.get_hostname(), found)


def test_unreplicated_writes_are_gone_from_every_member(host):
    unreplicated = set(recorded("unreplicated.json")["acked"])
    assert len(unreplicated) == 20
    found = ids_on(host.backend.get_hostname(), unreplicated, present=False)
    assert found == set(), (host.backend.get_hostname(), sorted(found or [])[:5])


def rolled_back(name):
    """The _ids of the documents a member saved under <dbPath>/rollback/<collection UUID>/removed.*.bson."""
    pattern = SET.path(name, "data", "rollback", "*", "removed.*.bson")
    ids = set()
    for path in glob.glob(pattern):
        with open(path, "rb") as saved:
            ids.update(doc["_id"] for doc in bson.decode_all(saved.read()))
    return ids


def test_old_primary_rolled_back_its_unreplicated_writes(outcome):
    unreplicated = set(recorded("unreplicated.json")["acked"])
    old_primary = next(n for n in LOST if address(n) == outcome["before"]["primary"])
    assert unreplicated <= rolled_back(old_primary), sorted(rolled_back(old_primary))[:5]


def test_survivors_rolled_nothing_back():
    for name in SURVIVORS:
        assert rolled_back(name) == set(), name
