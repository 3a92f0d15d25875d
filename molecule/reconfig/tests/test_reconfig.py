"""Verify the reconfig scenario: topology v2 applied to the live v1 set while a writer ran.

Expectations come from the scenario's inventory (scenario_topologies, literal values read through
testinfra's Ansible backend) and from what side_effect.yml recorded (the rs_config result, the
reconfig's start and end, the writer's acknowledged writes), never from the collection's code.
"""
import json
import os
import time

import pytest
import testinfra.utils.ansible_runner
from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]))
ALL_HOSTS = sorted(RUNNER.get_hosts("rs_molecule_reconfig"))
SET_VARS = RUNNER.get_variables(ALL_HOSTS[0])
V1 = SET_VARS["scenario_topologies"]["v1"]
V2 = SET_VARS["scenario_topologies"]["v2"]
testinfra_hosts = sorted(V2["members"])

MEMBERS_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "members")


def address(name):
    variables = RUNNER.get_variables(name)
    return "%s:%d" % (variables["mongodb_host"], variables["mongodb_port"])


def client_for(names, **kwargs):
    return MongoClient([address(n) for n in names], replicaSet=SET_VARS["scenario_replset_name"],
                       username=SET_VARS["mongodb_login_user"], password=SET_VARS["mongodb_login_password"],
                       serverSelectionTimeoutMS=15000, **kwargs)


@pytest.fixture(scope="module")
def outcome():
    with open(os.path.join(MEMBERS_DIR, "reconfig_result.json"), encoding="utf-8") as result:
        return json.load(result)


@pytest.fixture(scope="module")
def client():
    connection = client_for(sorted(V2["members"]))
    yield connection
    connection.close()


def test_topologies_differ_as_the_scenario_requires():
    """Guard the scenario itself: v2 adds two members in a new datacenter, removes two of an old one,
    moves the preferred primary and adds a write-concern mode."""
    dc = {name: RUNNER.get_variables(name)["mongodb_datacenter"] for name in ALL_HOSTS}
    added, removed = set(V2["members"]) - set(V1["members"]), set(V1["members"]) - set(V2["members"])
    assert len(added) == 2 and {dc[n] for n in added} - {dc[n] for n in V1["members"]}
    assert len(removed) == 2 and len({dc[n] for n in removed}) == 1

    def preferred(topology):
        return max(topology["members"], key=lambda n: topology["members"][n]["mongodb_priority"])
    assert preferred(V1) in removed and preferred(V2) in added
    assert not V1["set"]["mongodb_write_concern_modes"] and V2["set"]["mongodb_write_concern_modes"]


def test_member_of_v2_listens(host):
    variables = RUNNER.get_variables(host.backend.get_hostname())
    assert host.socket("tcp://%s:%d" % (variables["mongodb_host"], variables["mongodb_port"])).is_listening


def test_every_planned_step_was_accepted(outcome):
    result = outcome["rs_config"]
    assert result["changed"] is True and not result.get("failed"), result
    steps = result["plan"]["steps"]
    assert len(steps) > 1, "v2 needs several voting changes, one step each: %r" % result["plan"]
    assert result["steps_applied"] == len(steps), result
    assert len(steps) == result["plan"]["lower_bound"], result["plan"]


def test_at_most_one_election(outcome):
    result = outcome["rs_config"]
    assert result["term_after"] - result["term_before"] <= 1, result


def test_live_config_is_topology_v2(client):
    config = client.admin.command("replSetGetConfig")["config"]
    assert config["_id"] == SET_VARS["scenario_replset_name"]
    live = {m["host"]: m for m in config["members"]}
    assert sorted(live) == sorted(address(n) for n in V2["members"])
    for name, wanted in V2["members"].items():
        member = live[address(name)]
        assert member["tags"] == {"dc": RUNNER.get_variables(name)["mongodb_datacenter"]}, name
        assert member["priority"] == wanted["mongodb_priority"], name
        assert member["votes"] == 1 and member["arbiterOnly"] is False, name
    assert config["settings"]["getLastErrorModes"] == V2["set"]["mongodb_write_concern_modes"]


def test_preferred_member_of_v2_becomes_primary_and_set_is_healthy(client):
    preferred = max(V2["members"], key=lambda n: V2["members"][n]["mongodb_priority"])
    deadline = time.monotonic() + 30
    while True:
        status = client.admin.command("replSetGetStatus")
        states = {m["name"]: m["stateStr"] for m in status["members"]}
        if states.get(address(preferred)) == "PRIMARY" and sorted(states.values()).count("SECONDARY") == 2:
            break
        assert time.monotonic() < deadline, "after 30 s: %r" % states
        time.sleep(0.5)


def test_new_write_concern_mode_is_usable(client):
    modes = client.molecule.get_collection("modes", write_concern=WriteConcern(w="multiDC", wtimeout=10000))
    modes.insert_one({"ok": 1})


def read_acked():
    acked = []
    with open(os.path.join(MEMBERS_DIR, "writer.acked"), encoding="ascii") as lines:
        for line in lines:
            doc_id, at = line.split()
            acked.append((int(doc_id), float(at)))
    return acked


def test_writer_ran_through_the_reconfiguration(outcome):
    assert outcome["writer_rc"] == 0 and outcome["writer"]["stopped_by_signal"], outcome["writer"]
    acked = read_acked()
    assert len(acked) == outcome["writer"]["acked"]
    started, finished = outcome["reconfig_started"], outcome["reconfig_finished"]
    before = [i for i, at in acked if at < started]
    during = [i for i, at in acked if started <= at <= finished]
    after = [i for i, at in acked if at > finished]
    assert len(before) >= 20 and during and after, (len(before), len(during), len(after), outcome["writer"])


def test_no_acknowledged_write_was_lost(client):
    """Every write acknowledged with w:"majority" is on the final primary and on every v2 member."""
    acked = {doc_id for doc_id, _at in read_acked()}
    assert acked
    on_primary = set(client.molecule.writer.distinct("_id"))
    assert not acked - on_primary, sorted(acked - on_primary)[:20]
    for name in V2["members"]:
        direct = MongoClient(address(name), directConnection=True, username=SET_VARS["mongodb_login_user"],
                             password=SET_VARS["mongodb_login_password"], serverSelectionTimeoutMS=10000)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    on_member = set(direct.molecule.writer.distinct("_id"))  # one command, no getMore
                except PyMongoError:
                    on_member = set()
                if not acked - on_member or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert not acked - on_member, (name, len(acked - on_member))
        finally:
            direct.close()
