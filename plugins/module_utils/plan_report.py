# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files a GitOps pipeline reads: plan.md / plan.json (playbooks/reconfig.yml) and
report.md / report.json (playbooks/validate.yml), and the Mermaid topology pictures in them.

Pure: plain data in, text or plain data out; the playbooks write the files.

    document = plan_document(results, desired, member_domains, mode="check")
    render_plan_file(document)      # plan.md
    drift_summary(document)         # the sets that differ from the inventory, and how
    topology_mermaid(config, ...)   # one set's members grouped by datacenter
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.quorum.mongodb.plugins.module_utils.fault_domains import (
    analyse_fault_domains,
    member_domain,
    render_fault_domain_report,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import normalize_member
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import (
    ReplSetConfig,
    normalize_host,
    parse_version,
)

FORMAT = 1

MERMAID_CLASSES = (
    "classDef primary stroke-width:4px",
    "classDef added fill:#dafbe1,stroke:#1a7f37,stroke-width:2px",
    "classDef removed fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 3",
    "classDef changed fill:#fff8c5,stroke:#9a6700,stroke-width:2px",
    "classDef arbiter fill:#eaeef2,stroke:#57606a",
    "classDef hidden fill:#f6f8fa,stroke:#8c959f,stroke-dasharray:2 2",
)

MERMAID_LEGEND = ("★ expected primary; green: added, red: removed, yellow: changed; "
                  "round: arbiter; dashed: hidden")


def _domains_lookup(member_domains):
    lookup = {}
    for host, domain in (member_domains or {}).items():
        lookup[host] = domain
        lookup[normalize_host(host) or host] = domain
    return lookup


def _label(member, primary):
    """A node's text: host, role, priority and votes (Mermaid's #quot; for any quote)."""
    lines = []
    if primary:
        lines.append("★ primary")
    lines.append(member.label)
    if member.arbiter:
        lines.append("arbiter · votes %d" % member.base_votes)
    else:
        lines.append("priority %g · votes %d" % (member.base_priority, member.base_votes))
    extras = []
    if member.hidden:
        extras.append("hidden")
    if member.delay:
        extras.append("delay %ds" % member.delay)
    if not member.build_indexes:
        extras.append("no indexes")
    if extras:
        lines.append(" · ".join(extras))
    return "<br/>".join(line.replace('"', "#quot;") for line in lines)


def topology_mermaid(config, member_domains=None, domain_key="dc", primary=None, highlight=None):
    """A Mermaid flowchart of one config: a subgraph per datacenter (members with none are
    grouped under "no <domain_key>"), each member with its priority and votes, the expected
    primary starred, arbiters round, hidden members dashed, and the members in `highlight`
    (host -> "added" | "removed" | "changed") coloured."""
    cfg = ReplSetConfig(config or {})
    lookup = _domains_lookup(member_domains)
    primary = normalize_host(primary) if primary else None
    highlight = dict((normalize_host(h) or h, kind) for h, kind in (highlight or {}).items())
    groups = {}
    for member in cfg.members:
        domain = member_domain(member, domain_key, lookup)
        groups.setdefault(domain, []).append(member)
    lines = ["flowchart TB"]
    classes = []
    number = 0
    for group_index, domain in enumerate(sorted(groups, key=lambda d: (d is None, d or ""))):
        title = "%s %s" % (domain_key, domain) if domain is not None else "no %s" % domain_key
        lines.append('  subgraph d%d["%s"]' % (group_index, title.replace('"', "#quot;")))
        for member in sorted(groups[domain], key=lambda m: (m.id if m.id is not None else m.index, m.index)):
            node = "m%d" % number
            number += 1
            is_primary = primary is not None and member.normalized_host == primary
            text = _label(member, is_primary)
            shape = '(("%s"))' if member.arbiter else '["%s"]'
            lines.append("    %s%s" % (node, shape % text))
            kind = highlight.get(member.normalized_host)
            style = kind or ("arbiter" if member.arbiter else "hidden" if member.hidden else None)
            if style:
                classes.append((style, node))
            if is_primary:
                classes.append(("primary", node))
        lines.append("  end")
    lines.extend("  " + line for line in MERMAID_CLASSES)
    by_class = {}
    for style, node in classes:
        by_class.setdefault(style, []).append(node)
    for style in sorted(by_class):
        lines.append("  class %s %s" % (",".join(by_class[style]), style))
    return "\n".join(lines)


def member_changes(before, after, target_version="8.0"):
    """host -> "added" | "removed" | "changed" between two configs (members compared by host,
    with mongod's defaults filled in)."""
    version = parse_version(target_version)

    def by_host(config):
        out = {}
        for member in ReplSetConfig(config or {}).members:
            doc = normalize_member(member.doc, version)
            doc.pop("_id", None)
            out[member.normalized_host or member.label] = doc
        return out
    old, new = by_host(before), by_host(after)
    changes = {}
    for host in sorted(set(old) | set(new)):
        if host not in new:
            changes[host] = "removed"
        elif host not in old:
            changes[host] = "added"
        elif old[host] != new[host]:
            changes[host] = "changed"
    return changes


def _differences(result, before):
    """What differs between the live set and the inventory, one line each."""
    if result.get("initiated"):
        return ["not initiated: no member belongs to replica set %s yet" % result.get("item")]
    seen, out = set(), []
    for step in (result.get("plan") or {}).get("steps", []):
        for change in step.get("changes", []):
            if change not in seen:
                seen.add(change)
                out.append(change)
    return out


def _status(result, mode):
    if result.get("failed"):
        return "failed"
    if result.get("initiated"):
        return "would initiate" if mode == "check" else "initiated"
    if not (result.get("plan") or {}).get("steps"):
        return "no change"
    return "planned" if mode == "check" else "applied"


def set_entry(result, desired=None, member_domains=None, mode="check", domain_key="dc", target_version="8.0"):
    """One replica set in plan.json, from rs_config's result (a loop item of reconfig.yml:
    `item` is the set's name) and the set's desired config."""
    name = result.get("item") or (desired or {}).get("_id")
    plan = copy.deepcopy(result.get("plan"))
    steps = (plan or {}).get("steps", [])
    before = result.get("config_before")
    if result.get("initiated") or before is None:
        before = None
    if mode != "check" and result.get("config"):
        after = result["config"]
    elif steps:
        after = steps[-1]["config"]
    elif before is not None:
        after = before
    else:
        after = desired
    if result.get("failed") and not steps and before is None and not result.get("initiated"):
        after = None  # nothing was read: no picture of either side
    status = _status(result, mode)
    primary_before = (plan or {}).get("primary_before")
    primary_after = (plan or {}).get("primary_after") if plan else None
    changes = member_changes(before, after, target_version) if after is not None else {}
    entry = {
        "name": name,
        "status": status,
        "changed": bool(result.get("changed")),
        "message": result.get("msg") if result.get("failed") else None,
        "differences": _differences(result, before) if status != "failed" else [],
        "steps_planned": len(steps),
        "steps_applied": int(result.get("steps_applied") or 0),
        "elections_expected": (plan or {}).get("elections_expected", 0),
        "config_version_before": (before or {}).get("version"),
        "config_version_after": (after or {}).get("version") if after is not None else None,
        "term_before": result.get("term_before"),
        "term_after": result.get("term_after"),
        "primary_before": primary_before,
        "primary_after": primary_after,
        "plan_markdown": result.get("plan_markdown"),
        "plan": plan,
        "member_changes": changes,
        "topology_before": None,
        "topology_after": None,
        "fault_domains_before": None,
        "fault_domains_after": None,
    }
    if before is not None:
        entry["topology_before"] = topology_mermaid(before, member_domains, domain_key, primary_before,
                                                    dict((h, k) for h, k in changes.items() if k != "added"))
        entry["fault_domains_before"] = analyse_fault_domains(before, domain_key, member_domains)
    if after is not None:
        entry["fault_domains_after"] = analyse_fault_domains(after, domain_key, member_domains)
        if primary_after is None and result.get("initiated"):
            entry["primary_after"] = primary_after = _preferred_primary(entry["fault_domains_after"])
        entry["topology_after"] = topology_mermaid(after, member_domains, domain_key, primary_after,
                                                   dict((h, k) for h, k in changes.items() if k != "removed"))
    return entry


def plan_document(results, desired=None, member_domains=None, mode="check", domain_key="dc",
                  target_version="8.0", drift_check=False):
    """plan.json: every set of a reconfig.yml run (see schemas/plan.schema.json).
    desired: set name -> desired config; member_domains: set name -> (host -> datacenter)."""
    desired, member_domains = desired or {}, member_domains or {}
    entries = []
    for result in results or []:
        name = result.get("item")
        entries.append(set_entry(result, desired.get(name), member_domains.get(name), mode, domain_key,
                                 target_version))
    return {"format": FORMAT, "kind": "plan", "mode": mode, "drift_check": bool(drift_check),
            "changed": any(e["changed"] for e in entries), "replica_sets": entries}


def drift_summary(document):
    """The sets whose live config differs from the inventory, and the sets that could not
    be read: {"drifted": [{"name", "differences"}], "unreadable": [{"name", "message"}]}."""
    drifted, unreadable = [], []
    for entry in document.get("replica_sets", []):
        if entry["status"] == "failed":
            unreadable.append({"name": entry["name"], "message": entry["message"]})
        elif entry["status"] != "no change":
            drifted.append({"name": entry["name"], "differences": entry["differences"]})
    return {"drifted": drifted, "unreadable": unreadable}


def render_drift_message(summary):
    """One message for a scheduled job's log: which set drifted and how, or which could not be read."""
    lines = []
    for entry in summary["drifted"]:
        lines.append("DRIFT: replica set %s differs from the inventory:" % entry["name"])
        lines.extend("  - %s" % d for d in entry["differences"])
    for entry in summary["unreadable"]:
        lines.append("DRIFT CHECK FAILED: replica set %s could not be read: %s" % (entry["name"], entry["message"]))
        lines.append("  (check that its members run and that mongodb_login_user may read its config; "
                     "nothing was changed)")
    if lines:
        lines.append("Nothing was changed. To bring the live set back to git, run playbooks/reconfig.yml; "
                     "to keep the live change, put it into the inventory.")
    return "\n".join(lines)


_TITLES = {"check": "Plan (check mode: nothing was changed)", "apply": "Applied plan"}


def render_plan_file(document):
    """plan.md: per set, the steps, the topology before and after, the fault-domain report
    before and after."""
    failed = [e["name"] for e in document["replica_sets"] if e["status"] == "failed"]
    lines = ["# Replica set %s%s" % (_TITLES.get(document["mode"], document["mode"]).lower(),
                                     ": FAILED for %s" % ", ".join(failed) if failed else ""), ""]
    lines.append("| replica set | status | steps | elections expected | primary before | primary after |")
    lines.append("|---|---|---|---|---|---|")
    for entry in document["replica_sets"]:
        steps = entry["steps_planned"] if document["mode"] == "check" else "%d of %d" % (
            entry["steps_applied"], entry["steps_planned"])
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            entry["name"], entry["status"], steps, entry["elections_expected"],
            entry["primary_before"] or "-", entry["primary_after"] or "-"))
    for entry in document["replica_sets"]:
        lines += ["", "## %s: %s" % (entry["name"], entry["status"]), ""]
        if entry["message"]:
            lines += ["```text", entry["message"], "```", ""]
        if entry["differences"]:
            lines.append("Differences between the live set and the inventory:")
            lines.append("")
            lines.extend("- %s" % d for d in entry["differences"])
            lines.append("")
        if entry["plan_markdown"]:
            lines += [entry["plan_markdown"], ""]
        for side in ("before", "after"):
            if entry["topology_" + side] is None:
                continue
            version = entry["config_version_" + side]
            lines += ["### Topology %s%s" % (side, " (config version %s)" % version if version is not None else ""),
                      "", "```mermaid", entry["topology_" + side], "```", ""]
        if entry["topology_before"] or entry["topology_after"]:
            lines += [MERMAID_LEGEND, ""]
        for side in ("before", "after"):
            analysis = entry["fault_domains_" + side]
            if analysis is None:
                continue
            lines += ["### Fault domains %s" % side, "", render_fault_domain_report(analysis, entry["name"]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def report_document(results, member_domains=None, domain_key="dc"):
    """report.json of validate.yml: per set its errors, warnings and fault-domain analysis
    (rs_validate's results, a loop over set names)."""
    member_domains = member_domains or {}
    entries = []
    for result in results or []:
        name = result.get("item")
        analysis = result.get("analysis") or None
        entry = {
            "name": name,
            "valid": not result.get("errors") and not result.get("failed"),
            "message": result.get("msg") if result.get("failed") else None,
            "errors": list(result.get("errors") or []),
            "warnings": list(result.get("validation_warnings") or []),
            "analysis": analysis,
            "report_markdown": result.get("report"),
            "topology": None,
        }
        config = (result.get("invocation") or {}).get("module_args", {}).get("config")
        if isinstance(config, dict) and config.get("members"):
            entry["topology"] = topology_mermaid(config, member_domains.get(name), domain_key,
                                                 _preferred_primary(analysis))
        entries.append(entry)
    return {"format": FORMAT, "kind": "report", "valid": all(e["valid"] for e in entries),
            "replica_sets": entries}


def _preferred_primary(analysis):
    members = ((analysis or {}).get("preferred_primary") or {}).get("members") or []
    return members[0] if len(members) == 1 else None


def render_report_file(document):
    """report.md: per set, its verdict, errors and warnings, the topology and the fault-domain table."""
    lines = ["# Replica set validation: %s" % ("valid" if document["valid"] else "REFUSED"), ""]
    for entry in document["replica_sets"]:
        lines += ["## %s: %s" % (entry["name"], "valid" if entry["valid"] else "refused"), ""]
        if entry["message"]:
            lines += ["```text", entry["message"], "```", ""]
        for title, findings in (("Errors", entry["errors"]), ("Warnings", entry["warnings"])):
            if findings:
                lines += ["%s:" % title, ""]
                lines.extend("- `%s` %s: %s" % (f.get("rule"), f.get("path"), f.get("message")) for f in findings)
                lines.append("")
        if entry["topology"]:
            lines += ["```mermaid", entry["topology"], "```", "", MERMAID_LEGEND, ""]
        if entry["report_markdown"]:
            lines += [entry["report_markdown"], ""]
    return "\n".join(lines).rstrip("\n") + "\n"
