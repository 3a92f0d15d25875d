"""The smoke check's decisions (plugins/module_utils/smoke_check.py) on plain data."""
from ansible_collections.quorum.mongodb.plugins.module_utils.smoke_check import (
    datacenter_reads,
    discovery_complete,
    discovery_problems,
    read_served_problem,
    render_smoke_report,
    write_concern_modes_to_check,
)

CONFIG = {
    "_id": "demo", "version": 3,
    "members": [
        {"_id": 0, "host": "127.0.0.21:27017", "priority": 3, "tags": {"dc": "dc1"}},
        {"_id": 1, "host": "127.0.0.22", "priority": 3, "tags": {"dc": "dc1"}},
        {"_id": 2, "host": "127.0.0.23:27017", "priority": 2, "tags": {"dc": "dc2"}},
        {"_id": 3, "host": "127.0.0.25:27017", "priority": 0, "hidden": True, "tags": {"dc": "dc4"}},
        {"_id": 4, "host": "127.0.0.26:27017", "arbiterOnly": True, "priority": 0},
    ],
    "settings": {"getLastErrorModes": {"multiDC": {"dc": 2}, "allDC": {"dc": 3}}},
}


def seen(*entries):
    return [{"host": host, "type": kind, "tags": {}, "rtt_ms": rtt} for host, kind, rtt in entries]


HEALTHY = seen(("127.0.0.21:27017", "RSPrimary", 0.4), ("127.0.0.22:27017", "RSSecondary", 0.5),
               ("127.0.0.23:27017", "RSSecondary", 0.3), ("127.0.0.26:27017", "RSArbiter", 0.2))


def test_modes_are_majority_then_every_configured_mode_or_the_requested_ones():
    assert write_concern_modes_to_check(CONFIG) == ["majority", "allDC", "multiDC"]
    assert write_concern_modes_to_check({"members": []}) == ["majority"]
    assert write_concern_modes_to_check(CONFIG, ["multiDC", "2"]) == ["multiDC", 2]


def test_each_datacenter_is_read_from_a_secondary_when_the_driver_sees_one():
    reads = datacenter_reads(CONFIG, HEALTHY)
    assert [(r["dc"], r["read_preference"], r["problem"]) for r in reads] == [
        ("dc1", "secondary", None), ("dc2", "secondary", None)]  # dc4 holds only a hidden member
    assert reads[0]["tag_set"] == {"dc": "dc1"}
    assert reads[0]["members"] == {"127.0.0.21:27017": "RSPrimary", "127.0.0.22:27017": "RSSecondary"}


def test_a_datacenter_without_a_secondary_falls_back_or_is_a_problem_naming_it():
    primary_only = seen(("127.0.0.21:27017", "RSSecondary", 0.4), ("127.0.0.22:27017", "Unknown", None),
                        ("127.0.0.23:27017", "RSPrimary", 0.3))
    nearest = datacenter_reads(CONFIG, primary_only, fallback="nearest")
    assert [(r["dc"], r["read_preference"]) for r in nearest] == [("dc1", "secondary"), ("dc2", "nearest")]
    strict = datacenter_reads(CONFIG, primary_only, fallback="none")
    assert strict[1]["read_preference"] is None
    assert strict[1]["problem"].startswith("dc dc2: no member is a secondary")
    assert "127.0.0.23:27017 RSPrimary" in strict[1]["problem"]


def test_a_read_must_be_served_inside_its_datacenter():
    assert read_served_problem(CONFIG, "dc", "dc1", "127.0.0.22:27017") is None
    assert read_served_problem(CONFIG, "dc", "dc2", "127.0.0.21:27017") == (
        "dc dc2: the read was served by 127.0.0.21:27017, which is in dc dc1")
    assert "not in the replica set config" in read_served_problem(CONFIG, "dc", "dc1", "10.0.0.1:27017")


def test_discovery_names_missing_and_unreachable_members_but_not_hidden_ones():
    assert discovery_problems(CONFIG, HEALTHY) == []
    assert discovery_complete(CONFIG, HEALTHY)
    partial = seen(("127.0.0.21:27017", "RSPrimary", 0.4), ("127.0.0.22:27017", "Unknown", None),
                   ("127.0.0.26:27017", "RSArbiter", None))
    assert discovery_problems(CONFIG, partial) == [
        "member 127.0.0.22:27017 was discovered but the driver sees it as Unknown",
        "member 127.0.0.23:27017 was not discovered from the seed"]
    assert not discovery_complete(CONFIG, partial)
    no_rtt_yet = [dict(m, rtt_ms=None) if m["type"] == "RSArbiter" else m for m in HEALTHY]
    assert not discovery_complete(CONFIG, no_rtt_yet)


def test_the_report_shows_members_writes_reads_and_problems():
    result = {"set": "demo", "seed": "127.0.0.21:27017", "domain_key": "dc",
              "members": [{"host": "127.0.0.21:27017", "type": "RSPrimary", "tags": {"dc": "dc1"}, "rtt_ms": 0.4}],
              "writes": [{"w": "multiDC", "ok": False, "seconds": 5.0}, {"w": "majority", "ok": None, "seconds": None}],
              "reads": [{"dc": "dc1", "read_preference": "secondary", "served_by": "127.0.0.22:27017", "ok": True}],
              "problems": ["write concern multiDC: not acknowledged"]}
    lines = render_smoke_report(result)
    assert lines[0] == "Smoke check of demo from seed 127.0.0.21:27017: FAILED"
    assert "| 127.0.0.21:27017 | RSPrimary | dc1 | 0.4 |" in lines
    assert "| multiDC | NO | 5.0 |" in lines and "| majority | (check mode) | - |" in lines
    assert "| dc1 | secondary | 127.0.0.22:27017 | yes |" in lines
    assert lines[-1] == "PROBLEM: write concern multiDC: not acknowledged"
