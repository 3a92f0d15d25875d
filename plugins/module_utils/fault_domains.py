# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault-domain analysis: which whole-domain losses (a datacenter, a rack) a replica
set survives, where its primary lives, and which write-concern modes still work.

A domain is the value of a tag key (default "dc") on each member. Arbiters cannot
carry tags, so `member_domains` (host -> domain) places them; a member with no domain
at all is its own domain, named by its host, and is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import (
    ReplSetConfig,
    normalize_host,
    tag_values,
    truncate,
)


def member_domain(member, domain_key, member_domains):
    """The domain of a member, or None when neither member_domains nor its tags say."""
    for key in (member.normalized_host, member.host):
        if key is not None and key in member_domains:
            return str(member_domains[key])
    return member.tags.get(domain_key)


def _mode_satisfiable(constraints, members):
    for key, count in constraints.items():
        needed = truncate(count, 0)
        values = tag_values(members, key)
        if needed <= 0 or len(values) < needed:
            return False
    return True


def analyse_fault_domains(cfg, domain_key="dc", member_domains=None):
    """Return the analysis as plain data, with its warnings under 'warnings'."""
    if not isinstance(cfg, ReplSetConfig):
        cfg = ReplSetConfig(cfg)
    lookup = dict((normalize_host(h) or h, d) for h, d in (member_domains or {}).items())
    lookup.update(member_domains or {})
    members = cfg.members
    domains, untagged = {}, []
    for m in members:
        name = member_domain(m, domain_key, lookup)
        if name is None:
            untagged.append(m)
            name = m.label
        domains.setdefault(name, []).append(m)

    voters = cfg.voters
    majority = cfg.majority_vote_count
    write_majority = cfg.write_majority_count
    modes = dict((k, v) for k, v in cfg.write_concern_modes.items() if isinstance(v, dict))
    electable = [m for m in members if m.is_electable]
    top_priority = max([m.priority for m in electable] or [0])
    preferred = [m for m in electable if m.priority == top_priority]
    preferred_domains = sorted(set(d for d, ms in domains.items() if any(m in preferred for m in ms)))

    report = []
    for name in sorted(domains):
        inside = domains[name]
        survivors = [m for m in members if m not in inside]
        report.append(_domain_report(name, inside, survivors, majority, write_majority, modes))

    analysis = {
        "domain_key": domain_key,
        "members": len(members),
        "voting_members": len(voters),
        "majority": majority,
        "write_majority": write_majority,
        "data_bearing_voters": len([m for m in voters if not m.arbiter]),
        "arbiters": [m.label for m in members if m.arbiter],
        "fault_tolerance": max(len(voters) - majority, 0),
        "electable_members": [m.label for m in electable],
        "preferred_primary": {
            "priority": top_priority,
            "members": [m.label for m in preferred],
            "domains": preferred_domains,
        },
        "domains": report,
        "survives_loss_of": [d["name"] for d in report if d["loss"]["writable"]],
        "does_not_survive_loss_of": [d["name"] for d in report if not d["loss"]["writable"]],
        "untagged_members": [m.label for m in untagged],
    }
    analysis["warnings"] = _warnings(analysis, domains, report, untagged)
    return analysis


def _domain_report(name, inside, survivors, majority, write_majority, modes):
    surviving_votes = sum(m.votes for m in survivors)
    data_votes = sum(m.votes for m in survivors if not m.arbiter)
    electable = sorted(survivors, key=lambda m: (-m.priority, m.index))
    electable = [m for m in electable if m.is_electable]
    keeps_majority = surviving_votes >= majority
    writable = keeps_majority and bool(electable)
    return {
        "name": name,
        "members": [m.label for m in inside],
        "voters": sum(m.votes for m in inside),
        "electable": len([m for m in inside if m.is_electable]),
        "arbiters": len([m for m in inside if m.arbiter]),
        "loss": {
            "surviving_voters": surviving_votes,
            "keeps_majority": keeps_majority,
            "electable_survivors": [m.label for m in electable],
            "writable": writable,
            "new_primary": electable[0].label if writable else None,
            "majority_writes": writable and data_votes >= write_majority,
            "surviving_arbiters": [m.label for m in survivors if m.arbiter],
            "write_concern_modes": dict((mode, writable and _mode_satisfiable(c, survivors)) for mode, c in sorted(modes.items())),
        },
    }


def _warning(rule, message, path="/members"):
    return {"rule": rule, "message": message, "path": path}


def _warnings(analysis, domains, report, untagged):
    found = []
    key = analysis["domain_key"]
    voters = analysis["voting_members"]
    if voters and voters % 2 == 0:
        found.append(_warning("analysis.even_voters", "%d voting members: an even count tolerates no more failures than "
                              "%d; add an arbiter or a voter in a third %s, or remove a vote" % (voters, voters - 1, key)))
    voting_domains = [d for d in report if d["voters"] > 0]
    if len(voting_domains) == 2 and voting_domains[0]["voters"] == voting_domains[1]["voters"]:
        found.append(_warning("analysis.even_split", "votes are split evenly between %s %s and %s (%d each): losing "
                              "either leaves no majority; put a voter in a third %s" % (
                                  key, voting_domains[0]["name"], voting_domains[1]["name"], voting_domains[0]["voters"], key)))
    preferred_domains = analysis["preferred_primary"]["domains"]
    if len(domains) > 1:
        if len(preferred_domains) == 1:
            name = preferred_domains[0]
            entry = next(d for d in report if d["name"] == name)
            if not entry["loss"]["keeps_majority"]:
                found.append(_warning("analysis.primary_domain_spof", "the preferred primary is in %s %s, and losing %s "
                                      "leaves %d of %d required votes: the set would have no primary"
                                      % (key, name, name, entry["loss"]["surviving_voters"], analysis["majority"])))
        for entry in report:
            loss = entry["loss"]
            if loss["writable"] and not loss["majority_writes"] and loss["surviving_arbiters"]:
                found.append(_warning("analysis.arbiter_survivor", "after losing %s %s a primary is elected only with "
                                      "arbiter votes (%s), and w:'majority' writes cannot be acknowledged"
                                      % (key, entry["name"], ", ".join(loss["surviving_arbiters"]))))
        electable_domains = [d["name"] for d in report if d["electable"] > 0]
        if len(electable_domains) == 1:
            found.append(_warning("analysis.single_domain_electable", "every electable member is in %s %s: if it is lost, "
                                  "no member elsewhere can become primary; give a member outside it priority > 0"
                                  % (key, electable_domains[0])))
        # Any single domain whose loss leaves no primary, wherever the preferred primary is (a
        # domain holding the vote majority away from the preferred primary's domain, too). The
        # domains the warnings above already name for that reason are not named twice.
        named = set()
        if len(electable_domains) == 1:
            named.update(electable_domains)
        for warning in found:
            if warning["rule"] == "analysis.primary_domain_spof":
                named.update(preferred_domains)
            elif warning["rule"] == "analysis.even_split":
                named.update(d["name"] for d in voting_domains)
        for entry in report:
            loss = entry["loss"]
            if loss["writable"] or entry["name"] in named:
                continue
            if not loss["keeps_majority"]:
                why = "leaves %d of %d required votes" % (loss["surviving_voters"], analysis["majority"])
                fix = "move voters out of %s so that no single %s holds %d or more votes" % (
                    entry["name"], key, analysis["voting_members"] - analysis["majority"] + 1)
            else:
                why = "leaves no electable member"
                fix = "give a member outside %s priority > 0" % entry["name"]
            found.append(_warning("analysis.domain_loss_no_primary", "losing %s %s %s: the set would have no primary; %s"
                                  % (key, entry["name"], why, fix)))
    if untagged and len(untagged) < analysis["members"]:
        found.append(_warning("analysis.untagged", "no %s for %s: each is treated as its own domain (arbiters: pass "
                              "member_domains)" % (key, ", ".join(m.label for m in untagged))))
    return found


def render_fault_domain_report(analysis, set_name=None):
    """The analysis as a Markdown table for people (make demo, pull-request comments)."""
    key = analysis.get("domain_key", "dc")
    lines = []
    title = "Fault domains of %s" % set_name if set_name else "Fault domains"
    lines.append("%s (by %s): %d members, %d voting, majority %d, tolerates %d voter failure(s)" % (
        title, key, analysis["members"], analysis["voting_members"], analysis["majority"], analysis["fault_tolerance"]))
    preferred = analysis["preferred_primary"]
    lines.append("Preferred primary: %s (priority %s) in %s" % (
        ", ".join(preferred["members"]) or "none", preferred["priority"], ", ".join(preferred["domains"]) or "-"))
    lines.append("")
    modes = sorted(analysis["domains"][0]["loss"]["write_concern_modes"]) if analysis["domains"] else []
    header = ["lose %s" % key, "members", "votes left", "primary", "w:majority"] + ["w:%s" % m for m in modes]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for entry in analysis["domains"]:
        loss = entry["loss"]
        row = [
            entry["name"],
            str(len(entry["members"])),
            "%d/%d" % (loss["surviving_voters"], analysis["voting_members"]),
            loss["new_primary"] or "NONE",
            "yes" if loss["majority_writes"] else "no",
        ] + ["yes" if loss["write_concern_modes"][m] else "no" for m in modes]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
