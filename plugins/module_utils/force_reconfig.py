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
from datetime import datetime, timezone

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
    view: object = None  # survivor_view() of its replSetGetStatus


@dataclass
class ForcePlan:
    config: dict
    run_on: str
    removed: list = field(default_factory=list)
    kept_nonvoting: list = field(default_factory=list)
    newest_survivor_optime: object = None
    lost_optime_seen: object = None
    refusals: list = field(default_factory=list)
    views: list = field(default_factory=list)  # a SurvivorView per survivor that answered
    loss: dict = field(default_factory=dict)  # loss_report()
    tolerance: dict = field(default_factory=dict)  # fault_tolerance() of the forced config
    next_step: str = ""

    @property
    def allowed(self):
        return not self.refusals

    def to_dict(self):
        window = self.loss.get("span_seconds")
        if window is None and self.newest_survivor_optime is not None and self.lost_optime_seen is not None:
            window = max(self.lost_optime_seen - self.newest_survivor_optime, 0)
        loss = dict((k, _iso(v) if k in ("now", "newest_survivor_write", "commit_point_seen", "blind_since",
                                         "span_start") else v) for k, v in self.loss.items() if k != "lost_members")
        loss["lost_members"] = [dict(m, last_contact=_iso(m["last_contact"]), optime_then=_iso(m["optime_then"]))
                                for m in self.loss.get("lost_members", [])]
        return {"allowed": self.allowed, "refusals": list(self.refusals), "run_on": self.run_on,
                "removed": list(self.removed), "kept_nonvoting": list(self.kept_nonvoting),
                "newest_survivor_optime": self.newest_survivor_optime, "lost_optime_seen": self.lost_optime_seen,
                "possible_lost_write_seconds": window, "loss": loss, "survivors": [v.to_dict() for v in self.views],
                "fault_tolerance": dict(self.tolerance), "next_step": self.next_step, "report": report_lines(self),
                "config": self.config}


def plan_force_reconfig(current, probes, survivors, lost_members="remove", survivor_priority=None,
                        allow_with_majority=False, lost_optimes=None, target_version="8.0", views=None):
    """The forced reconfig for `survivors` (hosts), with every guardrail checked.

    probes: a Probe per configured member. lost_members: 'remove', or 'keep' them with
    votes 0 and priority 0 so they can be given their votes back later. lost_optimes: the
    last optime (seconds) survivors saw from each lost member. views: a SurvivorView
    (survivor_view()) per survivor, for the loss report.
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
    views = [v for v in (views or []) if normalize_host(v.host) in wanted]
    tolerance = fault_tolerance(config)
    if lost_members == "keep":
        next_step = ("when the lost members are back, run playbooks/reconfig.yml with the full inventory: it gives "
                     "them their votes back one reconfig at a time")
    else:
        next_step = ("when the lost members (or replacements) are back, run playbooks/reconfig.yml with the full "
                     "inventory: it adds them back through safe steps")
    if tolerance["tolerates_voter_loss"] == 0:
        next_step += "; until then the set has no failover: back it up now and restore voters before anything else"
    return ForcePlan(config=config, run_on=newest.host if newest else None,
                     removed=[m.label for m in lost] if lost_members == "remove" else [],
                     kept_nonvoting=[m.label for m in lost] if lost_members == "keep" else [],
                     newest_survivor_optime=newest.optime_seconds if newest else None,
                     lost_optime_seen=max(lost_seen) if lost_seen else None, refusals=refusals, views=views,
                     loss=loss_report(views, [m.normalized_host for m in lost],
                                      [m.normalized_host for m in lost if not m.arbiter]) if views else {},
                     tolerance=tolerance, next_step=next_step)


# -- what the survivors can know about the writes that may be lost -----------------------------
#
# replSetGetStatus as mongod 4.4-8.0 returns it (topology_coordinator.cpp,
# TopologyCoordinator::prepareStatusResponse): for every other member, "optime" and "optimeDate"
# come from that member's last heartbeat answer, which MemberData::setDownValues
# (member_data.cpp) clears to a null optime (Timestamp(0, 0), 1970) once the member is DOWN;
# "lastAppliedWallTime" and "lastDurableWallTime" are kept ("don't get cleared merely by missing
# a heartbeat"); "lastHeartbeatRecv" is when that member last sent us a heartbeat, and
# "lastHeartbeat" when we last sent it one (answered or not). So the newest write a survivor
# knows a lost member held is lastAppliedWallTime, not optime, and the last time it heard from
# it is lastHeartbeatRecv (or lastHeartbeat while the member answered). A heartbeat request
# carries no optime, and one queued while a survivor was frozen is read when it resumes, so the
# last contact can be later than the survivor's knowledge of that member's writes: the span of
# possibly lost writes starts from the writes known (lastAppliedWallTime), never from contacts.


@dataclass
class SurvivorView:
    """What one survivor's replSetGetStatus says, in epoch seconds (None: not known)."""

    host: str
    now: object = None  # status "date": the survivor's clock
    applied: object = None  # optimes.appliedOpTime (its newest write)
    applied_wall: object = None  # optimes.lastAppliedWallTime
    commit_point: object = None  # optimes.lastCommittedOpTime: the commit point it last saw
    commit_point_wall: object = None  # optimes.lastCommittedWallTime
    others: dict = field(default_factory=dict)  # host -> {"last_contact", "optime", "up"}

    def to_dict(self):
        return {"host": self.host, "now": _iso(self.now), "newest_optime": _iso(self.applied_wall or self.applied),
                "commit_point": _iso(self.commit_point_wall or self.commit_point),
                "heard_from": dict((h, {"last_contact": _iso(o["last_contact"]), "optime_then": _iso(o["optime"]),
                                        "answering": o["up"]}) for h, o in sorted(self.others.items()))}


def _epoch(value):
    """A BSON date (datetime, naive = UTC) or Timestamp as epoch seconds; None for 1970 or absent."""
    if hasattr(value, "time") and not hasattr(value, "timestamp"):  # bson.Timestamp
        return float(value.time) or None
    if hasattr(value, "timestamp"):  # datetime
        seconds = (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value).timestamp()
        return seconds if seconds > 0 else None
    return None


def _optime_epoch(optime):
    return _epoch(optime.get("ts") if isinstance(optime, dict) else optime)


def _iso(seconds):
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def survivor_view(host, status):
    """The loss-relevant part of a survivor's replSetGetStatus (see the comment above)."""
    optimes = status.get("optimes") if isinstance(status.get("optimes"), dict) else {}
    view = SurvivorView(host=host, now=_epoch(status.get("date")),
                        applied=_optime_epoch(optimes.get("appliedOpTime")),
                        applied_wall=_epoch(optimes.get("lastAppliedWallTime")),
                        commit_point=_optime_epoch(optimes.get("lastCommittedOpTime")),
                        commit_point_wall=_epoch(optimes.get("lastCommittedWallTime")))
    for m in status.get("members", []):
        if not isinstance(m, dict) or m.get("self") or not isinstance(m.get("name"), str):
            continue
        up = m.get("health") == 1
        contacts = [_epoch(m.get("lastHeartbeatRecv"))] + ([_epoch(m.get("lastHeartbeat"))] if up else [])
        optimes_then = [_epoch(m.get("lastAppliedWallTime")), _optime_epoch(m.get("optime"))]
        view.others[normalize_host(m["name"])] = {
            "last_contact": max([c for c in contacts if c is not None], default=None),
            "optime": max([o for o in optimes_then if o is not None], default=None), "up": up}
    return view


def _newest(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def loss_report(views, lost, lost_data_bearing):
    """The writes that may be lost, from what the survivors saw, never understated.

    views: SurvivorView per survivor; lost: hosts of the lost members; lost_data_bearing: those
    of them that hold data (an arbiter acknowledges no write). What a lost member wrote after
    the newest write the survivors knew of it is invisible to them, and so is anything newer
    than the survivors' own newest write: the span from the older of the two up to now may hold
    acknowledged writes that are lost, whatever the optimes said at the last contact."""
    newest = _newest(_newest([v.applied_wall, v.applied]) for v in views)
    commit_point = _newest(_newest([v.commit_point_wall, v.commit_point]) for v in views)
    now = _newest(v.now for v in views)
    members = []
    for host in sorted(lost):
        seen = [v.others[host] for v in views if host in v.others]
        members.append({"host": host, "holds_data": host in lost_data_bearing,
                        "last_contact": _newest(s["last_contact"] for s in seen),
                        "optime_then": _newest(s["optime"] for s in seen)})
    known_elsewhere = _newest([commit_point] + [m["optime_then"] for m in members if m["holds_data"]])
    known_missing = max(known_elsewhere - newest, 0.0) if None not in (known_elsewhere, newest) else None
    known = [m["optime_then"] for m in members if m["holds_data"] and m["optime_then"] is not None]
    blind_from = min(known) if known else None
    start = min([t for t in (newest, blind_from) if t is not None], default=None)
    span = round(max(now - start, known_missing or 0.0), 1) if None not in (now, start) else known_missing
    return {"now": now, "newest_survivor_write": newest, "commit_point_seen": commit_point,
            "committed_not_on_survivors": commit_point is not None and newest is not None and commit_point > newest,
            "known_missing_seconds": None if known_missing is None else round(known_missing, 1),
            "blind_since": blind_from, "span_start": start, "span_seconds": span, "lost_members": members}


def fault_tolerance(config):
    """What the forced config can survive, and what to do next."""
    cfg = ReplSetConfig(config)
    voters = cfg.voters
    data_voters = [m for m in voters if not m.arbiter]
    electable = [m.label for m in cfg.members if m.is_electable and m.is_voter]
    tolerates = len(voters) - cfg.majority_vote_count
    write_tolerates = len(data_voters) - cfg.write_majority_count
    if tolerates <= 0:
        summary = ("%d voter%s (majority %d): no failover - if %s fails, the set has no primary"
                   % (len(voters), "" if len(voters) == 1 else "s", cfg.majority_vote_count,
                      voters[0].label if len(voters) == 1 else "any voter"))
    else:
        summary = "%d voters (majority %d): the set keeps a primary through the loss of %d voter%s" % (
            len(voters), cfg.majority_vote_count, tolerates, "" if tolerates == 1 else "s")
    summary += "; w:'majority' writes need %d of %d data-bearing voters%s" % (
        cfg.write_majority_count, len(data_voters),
        " (they stall if any one is down)" if write_tolerates <= 0 else "")
    return {"voters": len(voters), "majority": cfg.majority_vote_count, "tolerates_voter_loss": max(tolerates, 0),
            "data_bearing_voters": len(data_voters), "write_majority": cfg.write_majority_count,
            "electable": electable, "summary": summary}


def report_lines(plan):
    """The forced reconfig's report for people: what may be lost, what the set can survive now,
    and the next step."""
    loss, tolerance = plan.loss, plan.tolerance
    lines = []
    for view in plan.views:
        lines.append("survivor %s: newest write %s, commit point it last saw %s" % (
            view.host, _iso(_newest([view.applied_wall, view.applied])) or "unknown",
            _iso(_newest([view.commit_point_wall, view.commit_point])) or "unknown"))
    for m in loss.get("lost_members", []):
        lines.append("lost %s%s: last heard from %s, its newest write then %s" % (
            m["host"], "" if m["holds_data"] else " (arbiter)", _iso(m["last_contact"]) or "never (by any survivor)",
            _iso(m["optime_then"]) or "unknown"))
    if loss.get("committed_not_on_survivors"):
        lines.append("majority-committed writes up to %s are on no survivor: they are lost"
                     % _iso(loss["commit_point_seen"]))
    if loss.get("span_seconds") is None:
        lines.append("the survivors cannot tell what the lost members acknowledged: any write acknowledged "
                     "before they were lost may be gone")
    elif loss.get("now") is None:
        lines.append("writes acknowledged in the last %.1f s of the lost members' optimes may be lost; the survivors "
                     "did not report when they last heard from them" % loss["span_seconds"])
    else:
        lines.append("writes acknowledged after %s may be lost - %.1f s up to now (%s): the survivors hold nothing "
                     "newer and cannot see what the lost members acknowledged after it%s" % (
                         _iso(loss["span_start"]), loss["span_seconds"], _iso(loss["now"]),
                         "; %.1f s of it the survivors know existed elsewhere" % loss["known_missing_seconds"]
                         if loss.get("known_missing_seconds") else ""))
    lines.append("fault tolerance now: %s" % tolerance["summary"])
    lines.append("next step: %s" % plan.next_step)
    return lines
