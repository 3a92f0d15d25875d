"""Verify the backup_restore scenario: a fresh backup of bk-b was restored and caught up; after the
oplogs rolled over, restore.yml refused the same backup as stale and left bk-b untouched.

Expectations come from the scenario's inventory (literal values read through testinfra's Ansible
backend), what side_effect.yml recorded and the live set, never from the collection's code.
"""
import os
import sys
import time

import pytest
from pymongo.errors import PyMongoError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "dc_failure"))
from scenario_live import ScenarioSet  # noqa: E402  (shared with the other scenarios' verifiers)

SET = ScenarioSet("rs_molecule_backup_restore")
MEMBERS, RESTORED = SET.members, SET.vars["scenario_backup_member"]
testinfra_hosts = [RESTORED]
address, connect, recorded = SET.address, SET.connect, SET.recorded


@pytest.fixture(scope="module")
def outcome():
    return recorded("backup_restore_result.json")


def oldest_entry(name):
    client = connect([name])
    try:
        ts = client.local["oplog.rs"].find_one({}, sort=[("$natural", 1)])["ts"]
        return (ts.time, ts.inc)
    finally:
        client.close()


def test_backup_was_taken_from_the_secondary(outcome):
    meta = outcome["backup_metadata"]
    assert meta["set_name"] == SET.vars["scenario_replset_name"]
    assert meta["member"] == address(RESTORED) and meta["member_state"] == "SECONDARY", meta


def test_fresh_backup_was_restored(outcome):
    before, after = outcome["processes"]["before_restore"], outcome["processes"]["after_restore"]
    assert before["pid"] and after["pid"] and before["pid"] != after["pid"], outcome["processes"]
    assert before["aside"] == [] and len(after["aside"]) == 1, outcome["processes"]


def test_restored_member_caught_up():
    """It holds the documents of the backup and those written after it (replicated once it started)."""
    wanted = set(recorded("before_backup.json")["acked"]) | set(recorded("after_backup.json")["acked"])
    assert len(wanted) == 40
    client = connect([RESTORED])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                found = set(client.molecule["items"].distinct("_id"))
            except PyMongoError:
                found = set()
            if found >= wanted or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        client.close()
    assert not wanted - found, sorted(wanted - found)[:10]


def test_every_oplog_rolled_over_past_the_backup(outcome):
    newest = outcome["backup_metadata"]["newest_oplog"]
    for name in MEMBERS:
        assert oldest_entry(name) > (newest["t"], newest["i"]), name


def test_stale_backup_was_refused(outcome):
    stale = outcome["stale_restore"]
    assert int(stale["rc"]) != 0, stale["output"][-3000:]
    assert "onto %s, nothing was touched: the backup is stale" % address(RESTORED) in stale["output"], \
        stale["output"][-3000:]
    assert "TASK [Stop the member]" not in stale["output"]
    assert "Unpack the backup" not in stale["output"]


def test_refused_restore_left_the_member_untouched(outcome, host):
    after, refused = outcome["processes"]["after_restore"], outcome["processes"]["after_refusal"]
    assert refused == after, outcome["processes"]
    pid = host.file(SET.path(RESTORED, "mongod.pid")).content_string.strip()
    assert pid == str(after["pid"])
    assert host.process.get(pid=int(pid))


def test_set_is_healthy_with_the_restored_member_a_secondary():
    client = connect(MEMBERS)
    try:
        deadline = time.monotonic() + 30
        while True:
            states = {m["name"]: m["stateStr"] for m in client.admin.command("replSetGetStatus")["members"]}
            if sorted(states.values()) == ["PRIMARY", "SECONDARY", "SECONDARY"] and \
                    states[address(RESTORED)] == "SECONDARY":
                break
            assert time.monotonic() < deadline, "after 30 s: %r" % states
            time.sleep(0.5)
        client.molecule.get_collection("items").insert_one({"_id": "still writable"})
    finally:
        client.close()
