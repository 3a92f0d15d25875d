"""Inventory host variables -> config document (the rs_desired_config filter's core)."""
import json
import os

import pytest

from ansible_collections.quorum.mongodb.plugins.filter.rs_desired_config import FilterModule
from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import (
    DesiredConfigError,
    align_member_ids,
    build_desired_config,
    inventory_errors,
    member_domains,
    member_vars_from_config,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_schema import SCHEMAS
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def host(name, **hostvars):
    hostvars["inventory_hostname"] = name
    return hostvars


def test_members_are_tagged_with_datacenter_and_rack():
    config = build_desired_config([
        host("a1", mongodb_datacenter="a", mongodb_rack="r1", mongodb_priority=2),
        host("b1", mongodb_datacenter="b", mongodb_tags={"ssd": "yes"}),
        host("arb", mongodb_datacenter="c", mongodb_arbiter=True),
    ], "rs0")
    assert config == {
        "_id": "rs0",
        "version": 1,
        "members": [
            {"_id": 0, "host": "a1:27017", "arbiterOnly": False, "buildIndexes": True, "hidden": False,
             "priority": 2, "tags": {"dc": "a", "rack": "r1"}, "secondaryDelaySecs": 0, "votes": 1},
            {"_id": 1, "host": "b1:27017", "arbiterOnly": False, "buildIndexes": True, "hidden": False,
             "priority": 1, "tags": {"dc": "b", "ssd": "yes"}, "secondaryDelaySecs": 0, "votes": 1},
            {"_id": 2, "host": "arb:27017", "arbiterOnly": True, "buildIndexes": True, "hidden": False,
             "priority": 0, "tags": {}, "secondaryDelaySecs": 0, "votes": 1},
        ],
    }
    assert validate_config(config).valid


def test_hidden_delayed_and_no_index_members_default_to_priority_zero():
    config = build_desired_config([
        host("a", mongodb_port=27018),
        host("h", mongodb_hidden=True),
        host("d", mongodb_secondary_delay_secs=3600, mongodb_hidden=True, mongodb_votes=0),
        host("n", mongodb_build_indexes=False),
    ], "rs0", target_version="4.4")
    assert [m["priority"] for m in config["members"]] == [1, 0, 0, 0]
    assert config["members"][0]["host"] == "a:27018"
    assert config["members"][2]["slaveDelay"] == 3600
    assert validate_config(config, target_version="4.4").valid


def test_auto_write_concern_modes_follow_the_tags():
    members = [host("a", mongodb_datacenter="a", mongodb_rack="1"), host("b", mongodb_datacenter="b", mongodb_rack="1"),
               host("c", mongodb_datacenter="b", mongodb_rack="2")]
    config = build_desired_config(members, "rs0", write_concern_modes="auto")
    assert config["settings"]["getLastErrorModes"] == {"multiDC": {"dc": 2}, "multiRack": {"rack": 2}}
    single = build_desired_config([host("a", mongodb_datacenter="a")], "rs0", write_concern_modes="auto")
    assert "settings" not in single


def test_explicit_modes_and_settings_are_kept():
    config = build_desired_config([host("a", mongodb_tags={"zone": "z"})], "rs0",
                                  settings={"electionTimeoutMillis": 5000},
                                  write_concern_modes={"zoned": {"zone": 1}})
    assert config["settings"] == {"electionTimeoutMillis": 5000, "getLastErrorModes": {"zoned": {"zone": 1}}}


def test_ids_and_replica_set_id_are_kept_from_the_current_config():
    current = {"_id": "rs0", "version": 7, "members": [
        {"_id": 4, "host": "b:27017"}, {"_id": 9, "host": "gone:27017"}],
        "settings": {"replicaSetId": {"$oid": "65a1b2c3d4e5f60718293a4b"}}}
    config = build_desired_config([host("a"), host("b"), host("c")], "rs0", current=current)
    assert [(m["host"], m["_id"]) for m in config["members"]] == [("a:27017", 0), ("b:27017", 4), ("c:27017", 1)]
    assert config["version"] == 8
    assert config["settings"]["replicaSetId"] == {"$oid": "65a1b2c3d4e5f60718293a4b"}
    assert validate_config(config, current=current).errors == []
    pinned = build_desired_config([host("a", mongodb_member_id=9), host("b")], "rs0")
    assert [m["_id"] for m in pinned["members"]] == [9, 0]


def test_more_than_seven_voters_follow_the_documented_policy():
    members = [host("a%d" % i, mongodb_datacenter="a", mongodb_priority=2 if i == 0 else None) for i in range(6)]
    members += [host("b%d" % i, mongodb_datacenter="b") for i in range(5)]
    members += [host("c0", mongodb_datacenter="c")]
    for m in members:
        if m.get("mongodb_priority") is None:
            m.pop("mongodb_priority", None)
    config = build_desired_config(members, "rs0")
    voters = [m["host"] for m in config["members"] if m["votes"]]
    # pinned a0 (priority 2 set); then the datacenter with the fewest votes: b, c, a, b, a, b
    assert voters == ["a0:27017", "a1:27017", "a2:27017", "b0:27017", "b1:27017", "b2:27017", "c0:27017"]
    assert all(m["priority"] == 0 for m in config["members"] if not m["votes"])
    assert validate_config(config).valid
    assert build_desired_config(members, "rs0") == config  # deterministic
    again = build_desired_config(list(reversed(members)), "rs0")  # inventory order picks inside a datacenter
    assert sorted(m["tags"]["dc"] for m in again["members"] if m["votes"]) == list("aaabbbc")


def test_too_many_pinned_voters_is_an_error():
    members = [host("h%d" % i, mongodb_votes=1) for i in range(8)]
    with pytest.raises(DesiredConfigError, match="8 members are pinned as voters"):
        build_desired_config(members, "rs0")


@pytest.mark.parametrize("hostvars,message", [
    ({"inventory_hostname": "a", "mongodb_priority": "high"}, "a:27017: mongodb_priority must be a number"),
    ({"inventory_hostname": "a", "mongodb_arbiter": "maybe"}, "mongodb_arbiter must be a boolean"),
    ({"inventory_hostname": "a", "mongodb_port": 1.5}, "mongodb_port must be a whole number"),
    ({"inventory_hostname": "a:1", "mongodb_port": 2}, "not a valid host"),
    ({"mongodb_port": 2}, "mongodb_host (or inventory_hostname) is required"),
    ({"inventory_hostname": "a", "mongodb_arbiter": True, "mongodb_tags": {"x": "y"}}, "an arbiter cannot carry tags"),
    ({"inventory_hostname": "a", "mongodb_votes": 2}, "mongodb_votes must be 0 or 1"),
])
def test_bad_host_variables_name_the_host(hostvars, message):
    with pytest.raises(DesiredConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_desired_config([hostvars], "rs0")


def test_ipv6_members_can_set_a_port():
    config = build_desired_config([host("fd00::1", mongodb_port=27018), host("[fd00::2]", mongodb_port=27019)], "rs0")
    assert [m["host"] for m in config["members"]] == ["[fd00::1]:27018", "[fd00::2]:27019"]
    again = build_desired_config(member_vars_from_config(config), "rs0")
    assert [m["host"] for m in again["members"]] == ["[fd00::1]:27018", "[fd00::2]:27019"]


def test_settings_must_be_a_mapping():
    with pytest.raises(DesiredConfigError, match="settings must be a mapping"):
        build_desired_config([host("a")], "rs0", settings=5)


def test_duplicate_hosts_are_refused():
    with pytest.raises(DesiredConfigError, match="a:27017 is listed twice"):
        build_desired_config([host("a"), host("a", mongodb_port=27017)], "rs0")


def test_two_inventory_hosts_with_one_address_are_named_with_the_fix():
    # Issue 12 item 10: "listed twice (inventory hosts 0 and 1)" named list positions, not hosts.
    members = [host("db1", mongodb_host="10.0.0.5"), host("db2", mongodb_host="10.0.0.6"),
               host("db3", mongodb_host="10.0.0.5", mongodb_port=27017)]
    problems = inventory_errors(members)
    assert len(problems) == 1
    assert "inventory hosts db1 and db3 both have the address 10.0.0.5:27017" in problems[0]
    assert "give each inventory host its own mongodb_host or mongodb_port" in problems[0]
    with pytest.raises(DesiredConfigError) as raised:
        build_desired_config(members, "rs0")
    assert str(raised.value) == problems[0]
    assert FilterModule().filters()["rs_inventory_errors"](members) == problems


def test_inventory_errors_name_the_inventory_host_of_a_bad_variable():
    problems = inventory_errors([host("db1", mongodb_port="x"), host("db2")])
    assert problems == ["inventory host db1: db1: mongodb_port must be a number, got 'x'"]
    assert inventory_errors([host("db1"), host("db2")]) == []


def test_member_domains_cover_arbiters():
    assert member_domains([host("a", mongodb_datacenter="x"), host("arb", mongodb_arbiter=True, mongodb_datacenter="y"),
                           host("z")]) == {"a:27017": "x", "arb:27017": "y"}


def test_round_trip_of_a_live_config():
    live = {"_id": "rs0", "version": 1, "members": [
        {"_id": 3, "host": "a:27017", "priority": 2.5, "tags": {"dc": "a", "rack": "1", "disk": "ssd"}},
        {"_id": 5, "host": "b:27018", "hidden": True, "priority": 0, "votes": 0, "secondaryDelaySecs": 60,
         "tags": {"dc": "b"}},
        {"_id": 7, "host": "c:27017", "arbiterOnly": True},
    ]}
    rebuilt = build_desired_config(member_vars_from_config(live), "rs0")
    assert [(m["_id"], m["host"], m["priority"], m["votes"], m["tags"]) for m in rebuilt["members"]] == [
        (3, "a:27017", 2.5, 1, {"dc": "a", "disk": "ssd", "rack": "1"}),
        (5, "b:27018", 0, 0, {"dc": "b"}),
        (7, "c:27017", 0, 1, {}),
    ]


def test_filter_plugin_exposes_both_filters_and_reports_errors():
    from ansible.errors import AnsibleFilterError

    filters = FilterModule().filters()
    assert filters["rs_desired_config"]([host("a")], "rs0")["members"][0]["host"] == "a:27017"
    with pytest.raises(AnsibleFilterError, match="rs_desired_config: replset_name"):
        filters["rs_desired_config"]([host("a")], "")
    assert filters["rs_member_domains"]([host("a", mongodb_datacenter="x")]) == {"a:27017": "x"}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schema_files_equal_the_code(name):
    with open(os.path.join(ROOT, "schemas", name)) as handle:
        published = json.load(handle)
    assert published == json.loads(json.dumps(SCHEMAS[name])), \
        "schemas/%s is stale: run .venv/bin/python tests/tools/write_schemas.py" % name


def test_schemas_are_valid_2020_12_and_their_examples_pass():
    jsonschema = pytest.importorskip("jsonschema")
    for schema in SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)
        for example in schema["examples"]:
            assert list(jsonschema.Draft202012Validator(schema).iter_errors(example)) == []


def test_member_ids_follow_the_live_config_whatever_the_inventory_order():
    current = {"_id": "rs0", "version": 4, "members": [{"_id": 0, "host": "a:27017"}, {"_id": 1, "host": "b:27017"},
                                                       {"_id": 5, "host": "gone:27017"}]}
    desired = build_desired_config([host("new"), host("b"), host("a")], "rs0")
    assert [(m["host"], m["_id"]) for m in desired["members"]] == [("new:27017", 0), ("b:27017", 1), ("a:27017", 2)]
    aligned = align_member_ids(desired, current)
    assert [(m["host"], m["_id"]) for m in aligned["members"]] == [("new:27017", 2), ("b:27017", 1), ("a:27017", 0)]
    assert desired["members"][0]["_id"] == 0  # the input is not changed
    assert validate_config(dict(aligned, version=5), current=current).errors == []
