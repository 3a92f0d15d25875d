"""Verify the upgrade scenario: on each machine (testinfra over SSH with sudo, through Ansible) the
packages are 8.0.4 and held, the member's unit is active and /usr/bin/mongod is 8.0.4; from the
controller (inside the lab's namespace), every member reports FCV 8.0, the set's term rose by exactly
one during the upgrade (one election: the planned stepdown), and every write the w:"majority" writer
had acknowledged is in the set. Expected values are plain values from the scenario's inventory."""
import functools
import json
import os

import testinfra
import yaml
from pymongo import MongoClient

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
LAB = os.environ["QUORUM_FIELD_LAB"]
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDRESSES = {"m1": "10.78.2.11", "m2": "10.78.2.12", "m3": "10.78.2.13"}
TARGET = "8.0.4"   # mongod_package_version in inventory_v2/hosts.yml
UNIT = "mongod-27017"

READ = """set -u
for name in mongodb-org mongodb-org-server; do echo "package $name $(dpkg-query -W -f='${{Version}} ${{Status}}' $name)"; done
echo "unit $(systemctl is-active {unit})"
echo "mongod $(/usr/bin/mongod --version | head -n 1)"
"""


@functools.lru_cache(maxsize=None)
def read(name):
    host = testinfra.get_host("ansible://%s?force_ansible=True" % name, ansible_inventory=INVENTORY)
    lines = {}
    for line in host.check_output(READ.format(unit=UNIT)).splitlines():
        kind, _sep, rest = line.partition(" ")
        lines.setdefault(kind, []).append(rest)
    return lines


def password():
    with open(os.path.join(SCENARIO, "inventory", "hosts.yml")) as inventory:
        return yaml.safe_load(inventory)["all"]["vars"]["mongodb_login_password"]


def client(address=None):
    if address:
        return MongoClient(address, 27017, directConnection=True, username="admin", password=password(),
                           serverSelectionTimeoutMS=10000)
    return MongoClient(["%s:27017" % a for a in ADDRESSES.values()], replicaSet="upgrade", username="admin",
                       password=password(), serverSelectionTimeoutMS=10000)


def test_every_machine_runs_the_target_held():
    for name in ADDRESSES:
        assert read(name)["package"] == ["mongodb-org %s hold ok installed" % TARGET,
                                         "mongodb-org-server %s hold ok installed" % TARGET], name
        assert read(name)["unit"] == ["active"], name
        assert read(name)["mongod"] == ["db version v%s" % TARGET], name


def test_every_member_reports_fcv_8_0_and_the_release():
    for address in ADDRESSES.values():
        with client(address) as member:
            assert member.admin.command("getParameter", 1, featureCompatibilityVersion=1)[
                "featureCompatibilityVersion"] == {"version": "8.0"}, address
            assert member.admin.command("buildInfo")["version"] == TARGET, address


def test_exactly_one_election_the_planned_stepdown():
    with open(os.path.join(LAB, "terms.json")) as terms:
        seen = json.load(terms)
    assert seen["after"] - seen["before"] == 1, seen


def test_no_acknowledged_write_is_lost():
    acknowledged, failed = [], []
    with open(os.path.join(LAB, "writes.jsonl")) as log:
        for line in log:
            entry = json.loads(line)
            (acknowledged if "id" in entry else failed).append(entry)
    assert len(acknowledged) > 50, "the writer wrote too little to tell: %d" % len(acknowledged)
    with client() as rs:
        stored = set(doc["_id"] for doc in rs.upgrade_check.writes.find({}, {"_id": 1}))
    lost = [entry["id"] for entry in acknowledged if entry["id"] not in stored]
    assert lost == [], "acknowledged with w:majority, then lost: %s" % lost[:20]
