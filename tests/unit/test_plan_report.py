"""plan.md / plan.json / report.md / report.json and the Mermaid topology (issue 17 items 1-3)."""
import json
import os

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.quorum.mongodb.plugins.module_utils.plan_report import (
    drift_summary,
    member_changes,
    plan_document,
    render_drift_message,
    render_plan_file,
    render_report_file,
    report_document,
    topology_mermaid,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import plan_reconfig, render_plan_markdown
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CURRENT = {"_id": "rs0", "version": 4, "members": [
    {"_id": 0, "host": "db1:27017", "priority": 2, "tags": {"dc": "east"}},
    {"_id": 1, "host": "db2:27017", "tags": {"dc": "east"}},
    {"_id": 2, "host": "db3:27017", "tags": {"dc": "west"}},
    {"_id": 3, "host": "db4:27017", "priority": 0, "votes": 0, "hidden": True, "tags": {"dc": "west"}}]}
# the primary moves west, db4 (hidden) goes, an arbiter in a third datacenter comes
DESIRED = {"_id": "rs0", "version": 5, "members": [
    {"_id": 0, "host": "db1:27017", "priority": 1, "tags": {"dc": "east"}},
    {"_id": 1, "host": "db2:27017", "tags": {"dc": "east"}},
    {"_id": 2, "host": "db3:27017", "priority": 3, "tags": {"dc": "west"}},
    {"_id": 4, "host": "arb:27017", "arbiterOnly": True}]}
DOMAINS = {"rs0": {"arb:27017": "north"}}  # arbiters carry no tags: the inventory places them


def schema(name):
    with open(os.path.join(ROOT, "schemas", name)) as handle:
        return json.load(handle)


def rs_config_result(current=None, primary="db1:27017", **extra):
    """What quorum.mongodb.rs_config returns in check mode (from `current` to DESIRED), as a
    reconfig.yml loop item."""
    current = current or CURRENT
    plan = plan_reconfig(current, DESIRED, primary=primary, target_version="7.0")
    result = {"item": "rs0", "changed": plan.changed, "initiated": False, "steps_applied": 0, "plan": plan.to_dict(),
              "plan_markdown": render_plan_markdown(plan), "config_before": current, "term_before": 3}
    result.update(extra)
    return result


def test_the_diagrams_of_a_known_change():
    """Before: db4 (hidden, leaving) red and dashed, db1 (primary, loses its top priority) and db3
    yellow. After: db3 the expected primary, the new arbiter round and green in dc north."""
    document = plan_document([rs_config_result()], {"rs0": DESIRED}, DOMAINS)
    entry = document["replica_sets"][0]
    assert entry["topology_before"] == "\n".join([
        "flowchart TB",
        '  subgraph d0["dc east"]',
        '    m0["★ primary<br/>db1:27017<br/>priority 2 · votes 1"]',
        '    m1["db2:27017<br/>priority 1 · votes 1"]',
        "  end",
        '  subgraph d1["dc west"]',
        '    m2["db3:27017<br/>priority 1 · votes 1"]',
        '    m3["db4:27017<br/>priority 0 · votes 0<br/>hidden"]',
        "  end",
        "  classDef primary stroke-width:4px",
        "  classDef added fill:#dafbe1,stroke:#1a7f37,stroke-width:2px",
        "  classDef removed fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 3",
        "  classDef changed fill:#fff8c5,stroke:#9a6700,stroke-width:2px",
        "  classDef arbiter fill:#eaeef2,stroke:#57606a",
        "  classDef hidden fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:2 2",
        "  class m0,m2 changed",
        "  class m0 primary",
        "  class m3 removed",
    ])
    after = entry["topology_after"].split("\n")
    assert after[1:10] == [
        '  subgraph d0["dc east"]',
        '    m0["db1:27017<br/>priority 1 · votes 1"]',
        '    m1["db2:27017<br/>priority 1 · votes 1"]',
        "  end",
        '  subgraph d1["dc north"]',
        '    m2(("arb:27017<br/>arbiter · votes 1"))',
        "  end",
        '  subgraph d2["dc west"]',
        '    m3["★ primary<br/>db3:27017<br/>priority 3 · votes 1"]',
    ]
    assert after[-3:] == ["  class m2 added", "  class m0,m3 changed", "  class m3 primary"]
    assert entry["member_changes"] == {"arb:27017": "added", "db1:27017": "changed", "db3:27017": "changed",
                                       "db4:27017": "removed"}


def test_an_unchanged_arbiter_and_hidden_member_are_drawn_apart_and_untagged_members_grouped():
    config = {"_id": "rs1", "version": 1, "members": [
        {"_id": 0, "host": "a:1", "tags": {"dc": "x"}},
        {"_id": 1, "host": "b:1", "priority": 0, "hidden": True, "secondaryDelaySecs": 3600, "tags": {"dc": "x"}},
        {"_id": 2, "host": "c:1", "arbiterOnly": True}]}
    text = topology_mermaid(config, primary="a:1")
    assert 'subgraph d1["no dc"]' in text and '    m2(("c:1<br/>arbiter · votes 1"))' in text
    assert '    m1["b:1<br/>priority 0 · votes 1<br/>hidden · delay 3600s"]' in text
    assert "  class m2 arbiter" in text and "  class m1 hidden" in text and "  class m0 primary" in text


def test_labels_cannot_break_the_diagram():
    config = {"_id": "rs1", "version": 1, "members": [{"_id": 0, "host": "a:1", "tags": {"dc": 'x"] --> evil["'}}]}
    assert topology_mermaid(config).split("\n")[1] == '  subgraph d0["dc x#quot;] --> evil[#quot;"]'


def test_member_changes_fill_mongods_defaults_and_ignore_ids():
    before = {"_id": "r", "version": 1, "members": [{"_id": 0, "host": "a:27017"}, {"_id": 1, "host": "b"}]}
    after = {"_id": "r", "version": 2, "members": [{"_id": 5, "host": "a:27017", "priority": 1.0, "votes": 1},
                                                   {"_id": 1, "host": "b:27017", "hidden": True, "priority": 0}]}
    assert member_changes(before, after) == {"b:27017": "changed"}


def test_plan_json_follows_its_schema_and_plan_md_holds_every_part():
    document = plan_document([rs_config_result()], {"rs0": DESIRED}, DOMAINS, mode="check")
    jsonschema.validate(document, schema("plan.schema.json"))
    json.dumps(document)  # plain data
    entry = document["replica_sets"][0]
    assert (entry["status"], entry["steps_planned"], entry["elections_expected"]) == ("planned", 1, 1)
    assert (entry["primary_before"], entry["primary_after"]) == ("db1:27017", "db3:27017")
    assert (entry["config_version_before"], entry["config_version_after"]) == (4, 5)
    text = render_plan_file(document)
    assert text.startswith("# Replica set plan (check mode: nothing was changed)\n")
    assert "| rs0 | planned | 1 | 1 | db1:27017 | db3:27017 |" in text
    assert "Reconfiguration plan: 1 step(s) (lower bound 1, 1 voting change(s)), 1 election(s) expected" in text
    for part in ("### Topology before (config version 4)", "### Topology after (config version 5)",
                 "```mermaid\nflowchart TB", "### Fault domains before", "### Fault domains after",
                 "Fault domains of rs0 (by dc): 4 members, 4 voting", "- remove db4:27017 (_id 3)"):
        assert part in text


def test_an_applied_run_reports_steps_applied_and_the_installed_config():
    installed = dict(DESIRED, version=7)
    result = rs_config_result(steps_applied=1, config=installed, term_after=5)
    document = plan_document([result], {"rs0": DESIRED}, DOMAINS, mode="apply")
    jsonschema.validate(document, schema("plan.schema.json"))
    entry = document["replica_sets"][0]
    assert (entry["status"], entry["config_version_after"], entry["term_after"]) == ("applied", 7, 5)
    assert "| rs0 | applied | 1 of 1 | 1 |" in render_plan_file(document)


def test_initiation_draws_the_desired_set_with_its_preferred_primary():
    members = [{"_id": 0, "host": "a:1", "priority": 2, "tags": {"dc": "x"}}, {"_id": 1, "host": "b:1", "tags": {"dc": "y"}}]
    desired = {"_id": "new", "version": 1, "members": members}
    document = plan_document([{"item": "new", "changed": True, "initiated": True, "steps_applied": 0}],
                             {"new": desired}, mode="check")
    jsonschema.validate(document, schema("plan.schema.json"))
    entry = document["replica_sets"][0]
    assert entry["status"] == "would initiate" and entry["topology_before"] is None
    assert entry["primary_after"] == "a:1" and '★ primary<br/>a:1' in entry["topology_after"]
    assert entry["member_changes"] == {"a:1": "added", "b:1": "added"}
    assert drift_summary(document)["drifted"] == [
        {"name": "new", "differences": ["not initiated: no member belongs to replica set new yet"]}]


def test_drift_names_each_set_and_its_differences_and_the_sets_that_could_not_be_read():
    unchanged = rs_config_result(current=dict(DESIRED, version=9), primary="db3:27017")
    unchanged["item"] = "same"
    unreadable = {"item": "far", "failed": True, "changed": False,
                  "msg": "no usable member among far1:27017 within 30 s: timed out"}
    document = plan_document([rs_config_result(), unchanged, unreadable], {"rs0": DESIRED}, DOMAINS,
                             mode="check", drift_check=True)
    jsonschema.validate(document, schema("plan.schema.json"))
    summary = drift_summary(document)
    assert [d["name"] for d in summary["drifted"]] == ["rs0"]
    assert summary["unreadable"] == [{"name": "far", "message": unreadable["msg"]}]
    message = render_drift_message(summary)
    assert message.startswith("DRIFT: replica set rs0 differs from the inventory:\n"
                              "  - add arb:27017 (_id 4) as arbiter\n  - db1:27017: priority 2 -> 1\n")
    assert "DRIFT CHECK FAILED: replica set far could not be read: no usable member among far1:27017" in message
    assert "Nothing was changed." in message
    text = render_plan_file(document)
    assert text.startswith("# Replica set plan (check mode: nothing was changed): FAILED for far\n")
    assert "## far: failed\n\n```text\nno usable member among far1:27017" in text
    assert render_drift_message(drift_summary(plan_document([unchanged]))) == ""


def test_validation_report_follows_its_schema_for_a_valid_and_a_refused_set():
    good = {"_id": "ok", "version": 1, "members": [{"_id": i, "host": "h%d:1" % i, "tags": {"dc": "d%d" % i}}
                                                   for i in range(3)]}
    bad = {"_id": "bad", "version": 1, "members": [{"_id": 0, "host": "x:1", "priority": 1, "hidden": True}]}
    results = []
    for name, config in (("ok", good), ("bad", bad)):
        found = validate_config(config).to_dict()
        result = {"item": name, "errors": found["errors"], "validation_warnings": found["warnings"],
                  "analysis": found.get("analysis"), "invocation": {"module_args": {"config": config}}}
        if found["errors"]:
            result.update(failed=True, msg="the replica set config is refused (1 problem)")
        results.append(result)
    document = report_document(results)
    jsonschema.validate(document, schema("report.schema.json"))
    assert document["valid"] is False
    assert [(e["name"], e["valid"]) for e in document["replica_sets"]] == [("ok", True), ("bad", False)]
    text = render_report_file(document)
    assert text.startswith("# Replica set validation: REFUSED\n")
    assert "## bad: refused" in text and "`member.priority_hidden`" in text
    assert "```mermaid\nflowchart TB" in text


@pytest.mark.parametrize("name", ["plan.schema.json", "report.schema.json"])
def test_the_schemas_are_valid_2020_12(name):
    jsonschema.Draft202012Validator.check_schema(schema(name))


NAMES = st.text(alphabet=st.sampled_from('ab"[]<>#;:{}()|-'), min_size=1, max_size=6)
MEMBERS = st.lists(st.fixed_dictionaries(
    {"host": st.sampled_from(["a:1", "b:2", "c:3", "d:4", 'e"]:5'])},
    optional={"priority": st.sampled_from([0, 0.5, 1, 2]), "votes": st.sampled_from([0, 1]),
              "arbiterOnly": st.booleans(), "hidden": st.booleans(), "tags": st.fixed_dictionaries({"dc": NAMES})}),
    max_size=7, unique_by=lambda m: m["host"])


@settings(max_examples=200, deadline=None)
@given(MEMBERS, st.dictionaries(st.sampled_from(["a:1", "b:2", "zz:9"]), st.sampled_from(["added", "removed", "changed"])),
       st.sampled_from([None, "a:1", "c:3"]))
def test_any_config_gives_a_well_formed_diagram(members, highlight, primary):
    """Whatever the hosts and datacenter names: every subgraph closed, one node per member with an
    id of its own, no quote inside a label (it would end the label: Mermaid takes #quot; instead)."""
    config = {"_id": "p", "version": 1, "members": [dict(m, _id=i) for i, m in enumerate(members)]}
    lines = topology_mermaid(config, primary=primary, highlight=highlight).split("\n")
    assert lines[0] == "flowchart TB"
    assert len([x for x in lines if x.startswith("  subgraph ")]) == len([x for x in lines if x == "  end"])
    nodes = [x.strip() for x in lines if x.startswith("    m")]
    assert len(nodes) == len(members)
    assert len(set(n.split('[')[0].split('(')[0] for n in nodes)) == len(members)
    for line in nodes + [x for x in lines if x.startswith("  subgraph ")]:
        label = line[line.index('"') + 1:line.rindex('"')]
        assert '"' not in label, line
