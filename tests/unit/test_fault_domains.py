"""Fault-domain analysis on the topologies the seed and the manual discuss."""
from ansible_collections.quorum.mongodb.plugins.module_utils.fault_domains import (
    analyse_fault_domains,
    render_fault_domain_report,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config


def member(i, dc, **fields):
    doc = {"_id": i, "host": "%s-%d.example.net:27017" % (dc, i), "tags": {"dc": dc}}
    doc.update(fields)
    return doc


def config(members, modes=None):
    doc = {"_id": "rs0", "version": 1, "members": members}
    if modes:
        doc["settings"] = {"getLastErrorModes": modes}
    return doc


def domain(analysis, name):
    return next(d for d in analysis["domains"] if d["name"] == name)


def test_three_datacenters_two_two_one_survive_any_single_loss():
    cfg = config([member(0, "dc1", priority=3), member(1, "dc1", priority=3), member(2, "dc2", priority=2),
                  member(3, "dc2", priority=2), member(4, "dc3", priority=0)], {"multiDC": {"dc": 2}})
    analysis = analyse_fault_domains(cfg)
    assert (analysis["voting_members"], analysis["majority"], analysis["fault_tolerance"]) == (5, 3, 2)
    assert analysis["survives_loss_of"] == ["dc1", "dc2", "dc3"]
    assert analysis["preferred_primary"]["domains"] == ["dc1"]
    assert domain(analysis, "dc1")["loss"]["new_primary"] == "dc2-2.example.net:27017"
    assert domain(analysis, "dc3")["loss"]["new_primary"] == "dc1-0.example.net:27017"
    assert domain(analysis, "dc1")["loss"]["write_concern_modes"] == {"multiDC": True}
    assert analysis["warnings"] == []


def test_book_two_datacenter_set_loses_its_majority_with_new_york():
    cfg = config([member(0, "NY", priority=2), member(1, "NY", priority=2), member(2, "NY", priority=2),
                  member(3, "FR"), member(4, "FR")], {"multiDC": {"dc": 2}})
    analysis = analyse_fault_domains(cfg)
    ny, fr = domain(analysis, "NY"), domain(analysis, "FR")
    assert ny["loss"] == {
        "surviving_voters": 2, "keeps_majority": False,
        "electable_survivors": ["FR-3.example.net:27017", "FR-4.example.net:27017"],
        "writable": False, "new_primary": None, "majority_writes": False, "surviving_arbiters": [],
        "write_concern_modes": {"multiDC": False},
    }
    assert fr["loss"]["writable"] and fr["loss"]["majority_writes"]
    assert fr["loss"]["write_concern_modes"] == {"multiDC": False}  # one datacenter left
    assert analysis["does_not_survive_loss_of"] == ["NY"]
    assert [w["rule"] for w in analysis["warnings"]] == ["analysis.primary_domain_spof"]


def test_even_split_and_even_voters_are_both_reported():
    cfg = config([member(0, "a"), member(1, "a"), member(2, "b"), member(3, "b")])
    rules = [w["rule"] for w in analyse_fault_domains(cfg)["warnings"]]
    assert rules == ["analysis.even_voters", "analysis.even_split"]


def test_psa_arbiter_keeps_the_primary_but_not_majority_writes():
    cfg = config([member(0, "a"), member(1, "b"), {"_id": 2, "host": "arb.example.net:27017", "arbiterOnly": True}])
    analysis = analyse_fault_domains(cfg, member_domains={"arb.example.net:27017": "c"})
    assert analysis["write_majority"] == 2
    assert analysis["data_bearing_voters"] == 2
    loss_a = domain(analysis, "a")["loss"]
    assert loss_a["writable"] and not loss_a["majority_writes"]
    assert loss_a["surviving_arbiters"] == ["arb.example.net:27017"]
    assert "analysis.arbiter_survivor" in [w["rule"] for w in analysis["warnings"]]
    assert analysis["untagged_members"] == []


def test_member_domains_accepts_hosts_without_port():
    cfg = config([member(0, "a"), member(1, "b"), {"_id": 2, "host": "arb.example.net", "arbiterOnly": True}])
    analysis = analyse_fault_domains(cfg, member_domains={"arb.example.net": "c"})
    assert domain(analysis, "c")["members"] == ["arb.example.net:27017"]


def test_untagged_members_are_their_own_domain():
    cfg = config([{"_id": i, "host": "h%d:27017" % i} for i in range(3)])
    analysis = analyse_fault_domains(cfg)
    assert [d["name"] for d in analysis["domains"]] == ["h0:27017", "h1:27017", "h2:27017"]
    assert analysis["survives_loss_of"] == ["h0:27017", "h1:27017", "h2:27017"]
    assert analysis["warnings"] == []  # nothing is tagged: a plain per-host analysis


def test_non_voters_and_newly_added_do_not_count():
    cfg = config([member(0, "a"), member(1, "a"), member(2, "b"),
                  member(3, "b", votes=0, priority=0), member(4, "c", newlyAdded=True)])
    analysis = analyse_fault_domains(cfg)
    assert analysis["voting_members"] == 3
    assert domain(analysis, "b")["voters"] == 1
    assert domain(analysis, "c")["voters"] == 0


def test_other_domain_key():
    cfg = config([
        {"_id": 0, "host": "a:1", "tags": {"rack": "r1"}},
        {"_id": 1, "host": "b:1", "tags": {"rack": "r1"}},
        {"_id": 2, "host": "c:1", "tags": {"rack": "r2"}},
    ])
    analysis = analyse_fault_domains(cfg, domain_key="rack")
    assert analysis["survives_loss_of"] == ["r2"]


def test_report_renders_one_row_per_domain():
    cfg = config([member(0, "a"), member(1, "b"), member(2, "c")], {"multiDC": {"dc": 2}})
    result = validate_config(cfg)
    text = render_fault_domain_report(result.analysis, "rs0")
    lines = text.splitlines()
    assert lines[0].startswith("Fault domains of rs0 (by dc): 3 members, 3 voting, majority 2")
    assert lines[3] == "| lose dc | members | votes left | primary | w:majority | w:multiDC |"
    assert lines[5] == "| a | 1 | 2/3 | b-1.example.net:27017 | yes | yes |"
    assert len(lines) == 8


def test_losing_the_datacenter_with_the_vote_majority_is_a_warning_whatever_the_preferred_primary():
    # Issue 12 item 3: preferred primary in dc1, 3 of 5 votes in dc2. Losing dc2 leaves 2 of 3
    # required votes; the analysis knew (does_not_survive_loss_of) but raised nothing.
    cfg = config([member(0, "dc1", priority=5), member(1, "dc1", priority=1), member(2, "dc2", priority=1),
                  member(3, "dc2", priority=1), member(4, "dc2", priority=1)])
    analysis = analyse_fault_domains(cfg)
    assert analysis["preferred_primary"]["domains"] == ["dc1"]
    assert analysis["does_not_survive_loss_of"] == ["dc2"]
    lost = [w for w in analysis["warnings"] if w["rule"] == "analysis.domain_loss_no_primary"]
    assert len(lost) == 1
    assert "losing dc dc2" in lost[0]["message"] and "2 of 3 required votes" in lost[0]["message"]
    result = validate_config(cfg)
    assert result.valid and "analysis.domain_loss_no_primary" in [w.rule for w in result.warnings]


def test_no_duplicate_when_the_preferred_primary_domain_warning_already_names_it():
    cfg = config([member(0, "NY", priority=2), member(1, "NY", priority=2), member(2, "NY", priority=2),
                  member(3, "FR"), member(4, "FR")])
    rules = [w["rule"] for w in analyse_fault_domains(cfg)["warnings"]]
    assert rules == ["analysis.primary_domain_spof"]
