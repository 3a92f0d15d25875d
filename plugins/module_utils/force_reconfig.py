# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Forced reconfiguration after losing a voting majority (pure): the guardrails, the new
config, the member to run it on, and the window of writes that may be lost.

The manual's procedure: never force while a primary exists; keep only the surviving
members; run replSetReconfig with force on a survivor. mongod then jumps the version by
10,000 + random[0, 100,000) and writes term -1. Writes the lost members took that never
reached a survivor are rolled back when they return.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass, field

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, normalize_host
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config


@dataclass
class Probe:
    """What one member answered (or not) just now."""

    host: str
    answered: bool
    state: object = None  # replSetGetStatus myState / hello-derived state number
    optime_seconds: object = None
    error: object = None


@dataclass
class ForcePlan:
    config: dict
    run_on: str
    removed: list = field(default_factory=list)
    kept_nonvoting: list = field(default_factory=list)
    newest_survivor_optime: object = None
    lost_optime_seen: object = None
    refusals: list = field(default_factory=list)

    @property
    def allowed(self):
        return not self.refusals

    def to_dict(self):
        window = None
        if self.newest_survivor_optime is not None and self.lost_optime_seen is not None:
            window = max(self.lost_optime_seen - self.newest_survivor_optime, 0)
        return {"allowed": self.allowed, "refusals": list(self.refusals), "run_on": self.run_on,
                "removed": list(self.removed), "kept_nonvoting": list(self.kept_nonvoting),
                "newest_survivor_optime": self.newest_survivor_optime, "lost_optime_seen": self.lost_optime_seen,
                "possible_lost_write_seconds": window, "config": self.config}


def plan_force_reconfig(current, probes, survivors, lost_members="remove", survivor_priority=None,
                        allow_with_majority=False, lost_optimes=None, target_version="8.0"):
    """The forced reconfig for `survivors` (hosts), with every guardrail checked.

    probes: a Probe per configured member. lost_members: 'remove', or 'keep' them with
    votes 0 and priority 0 so they can be given their votes back later. lost_optimes: the
    last optime (seconds) survivors saw from each lost member.
    """
    cfg = ReplSetConfig(current)
    by_host = dict((normalize_host(p.host), p) for p in probes)
    wanted = set(normalize_host(h) for h in survivors)
    unknown = sorted(wanted - set(m.normalized_host for m in cfg.members))
    refusals = []
    if unknown:
        refusals.append("%s %s not in the current config" % (", ".join(unknown), "is" if len(unknown) == 1 else "are"))
    primaries = [p.host for p in probes if p.answered and p.state == 1]
    if primaries:
        refusals.append("%s answers as PRIMARY: the set is writable, so a forced reconfig would only risk "
                        "rolling back majority-committed writes; use quorum.mongodb.rs_config" % ", ".join(primaries))
    answering_votes = sum(m.votes for m in cfg.members
                          if by_host.get(m.normalized_host) is not None and by_host[m.normalized_host].answered)
    if answering_votes >= cfg.majority_vote_count and not allow_with_majority:
        refusals.append("%d of %d votes answer, a majority (%d): the set can elect a primary by itself; wait for it, "
                        "or set allow_with_majority if you know better" % (
                            answering_votes, len(cfg.voters), cfg.majority_vote_count))
    lost = [m for m in cfg.members if m.normalized_host not in wanted]
    for m in lost:
        probe = by_host.get(m.normalized_host)
        if probe is not None and probe.answered:
            refusals.append("%s is listed as lost but answers (state %s); list it as a survivor, or stop it first"
                            % (m.label, probe.state))
    silent = [h for h in sorted(wanted) if not (by_host.get(h) and by_host[h].answered)]
    for host in silent:
        refusals.append("survivor %s does not answer%s" % (host, (": %s" % by_host[host].error)
                                                           if by_host.get(host) and by_host[host].error else ""))

    members = []
    for m in cfg.members:
        doc = {k: v for k, v in m.doc.items() if k != "newlyAdded"}
        if m.normalized_host in wanted:
            if survivor_priority is not None and not m.arbiter:
                doc["priority"] = survivor_priority
            members.append(doc)
        elif lost_members == "keep":
            doc.update(votes=0, priority=0)
            members.append(doc)
    config = dict((k, v) for k, v in cfg.doc.items() if k not in ("term",))
    config["members"] = members
    config["version"] = (cfg.version or 0) + 1
    result = validate_config(config, current=current, force=True, target_version=target_version)
    refusals += ["the new config is refused: %s" % e for e in result.errors]

    candidates = [p for p in probes if normalize_host(p.host) in wanted and p.answered
                  and p.optime_seconds is not None]
    newest = max(candidates, key=lambda p: p.optime_seconds) if candidates else None
    lost_seen = [t for h, t in (lost_optimes or {}).items() if normalize_host(h) not in wanted and t is not None]
    return ForcePlan(config=config, run_on=newest.host if newest else None,
                     removed=[m.label for m in lost] if lost_members == "remove" else [],
                     kept_nonvoting=[m.label for m in lost] if lost_members == "keep" else [],
                     newest_survivor_optime=newest.optime_seconds if newest else None,
                     lost_optime_seen=max(lost_seen) if lost_seen else None, refusals=refusals)
