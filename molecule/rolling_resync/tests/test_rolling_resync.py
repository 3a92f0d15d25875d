"""Verify the rolling_resync scenario: every member was resynced while a writer inserted with
w:"majority".

Expectations come from the scenario's inventory (literal values read through testinfra's Ansible
backend), what side_effect.yml recorded and the live set, never from the collection's code.
"""
import glob
import hashlib
import json
import os
import sys
import time

import bson
import pytest
from pymongo.errors import PyMongoError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "dc_failure"))
from scenario_live import ScenarioSet  # noqa: E402  (shared with the other scenarios' verifiers)

SET = ScenarioSet("rs_molecule_rolling_resync")
MEMBERS = SET.members
testinfra_hosts = MEMBERS
address = SET.address
COLLECTIONS = ("items", "writer")


def connect(name):
    return SET.connect([name])


@pytest.fixture(scope="module")
def outcome():
    return SET.recorded("rolling_resync_result.json")


def read_acked():
    with open(SET.path("writer.acked"), encoding="ascii") as lines:
        return [(int(doc_id), float(at)) for doc_id, at in (line.split() for line in lines)]


def fingerprint(name):
    """Per collection: document count and a sha256 over the documents in _id order (BSON bytes)."""
    client = connect(name)
    try:
        result = {}
        for collection in COLLECTIONS:
            docs = sorted(client.molecule[collection].find(), key=lambda doc: repr(doc["_id"]))
            digest = hashlib.sha256(b"".join(bson.encode(doc) for doc in docs)).hexdigest()
            result[collection] = (len(docs), digest)
        return result
    finally:
        client.close()


def test_every_member_was_resynced_the_primary_last(outcome):
    assert sorted(outcome["resync_order"]) == MEMBERS, outcome["resync_order"]
    old_primary = next(n for n in MEMBERS if address(n) == outcome["before"]["primary"])
    assert outcome["resync_order"][-1] == old_primary, outcome["resync_order"]
    started = {}  # each member's mongod was started again by its resync: the old primary's last
    for name in MEMBERS:
        with open(SET.path(name, "mongod.pid"), encoding="ascii") as pid_file:
            pid = int(pid_file.read().strip())
        with open("/proc/%d/stat" % pid, encoding="ascii") as stat_file:
            started[name] = int(stat_file.read().rsplit(")", 1)[1].split()[19])  # starttime, clock ticks
    assert max(started, key=started.get) == old_primary, started


def test_the_old_data_was_removed_once_each_member_was_healthy_again():
    """Issue 12 item 7: data.before-resync-* piled up with every resync; it goes once the member is
    back and caught up (resync_keep_old_data=true keeps it)."""
    for name in MEMBERS:
        assert glob.glob(SET.path(name, "data.before-resync-*")) == [], name
        assert os.path.isdir(SET.path(name, "data")), name


def test_exactly_one_election(outcome):
    assert outcome["after"]["term"] - outcome["before"]["term"] == 1, (outcome["before"], outcome["after"])
    assert outcome["after"]["primary"] != outcome["before"]["primary"]


def test_member_is_a_healthy_secondary_or_the_primary(host, outcome):
    name = host.backend.get_hostname()
    variables = SET.variables(name)
    assert host.socket("tcp://%s:%d" % (variables["mongodb_host"], variables["mongodb_port"])).is_listening
    states = {m["host"]: m["state_str"] for m in outcome["after"]["members"]}
    assert states[address(name)] in ("PRIMARY", "SECONDARY"), states


def test_writer_ran_through_the_resync(outcome):
    assert outcome["writer_rc"] == 0 and outcome["writer"]["stopped_by_signal"], outcome["writer"]
    acked = read_acked()
    assert len(acked) == outcome["writer"]["acked"]
    started, finished = outcome["resync_started"], outcome["resync_finished"]
    during = [i for i, at in acked if started <= at <= finished]
    assert len([i for i, at in acked if at < started]) >= 20 and len(during) >= 20, (len(acked), len(during))


def test_no_acknowledged_write_was_lost(host):
    acked = {doc_id for doc_id, _at in read_acked()}
    client = connect(host.backend.get_hostname())
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                on_member = set(client.molecule.writer.distinct("_id"))
            except PyMongoError:
                on_member = set()
            if not acked - on_member or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        client.close()
    assert not acked - on_member, (host.backend.get_hostname(), sorted(acked - on_member)[:20])


def test_data_is_identical_on_every_member():
    written = len(SET.recorded("items.json")["acked"])
    deadline = time.monotonic() + 20
    while True:
        prints = {name: fingerprint(name) for name in MEMBERS}
        if len({json.dumps(p, sort_keys=True) for p in prints.values()}) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len({json.dumps(p, sort_keys=True) for p in prints.values()}) == 1, prints
    assert prints[MEMBERS[0]]["items"][0] == written == 100, prints
