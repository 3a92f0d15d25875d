# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""replSetGetStatus + replSetGetConfig -> the set as an operator reads it (pure).

A set is healthy when every member is PRIMARY, SECONDARY or ARBITER and exactly one is
PRIMARY (the manual's "stable" set). Lag is the primary's optime minus the member's, in
seconds of optime (what rs.printSecondaryReplicationInfo() shows).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, normalize_host

STATE_NAMES = {0: "STARTUP", 1: "PRIMARY", 2: "SECONDARY", 3: "RECOVERING", 5: "STARTUP2", 6: "UNKNOWN",
               7: "ARBITER", 8: "DOWN", 9: "ROLLBACK", 10: "REMOVED"}
STABLE_STATES = frozenset((1, 2, 7))


def _optime_seconds(member):
    optime = member.get("optime")
    ts = optime.get("ts") if isinstance(optime, dict) else optime
    return getattr(ts, "time", None)


def optime_key(optime):
    """An optime ({ts, t}, or a bare Timestamp under protocol version 0) as [term, seconds,
    increment], which orders like mongod's OpTime; None when absent."""
    if not optime:
        return None
    ts = optime.get("ts") if isinstance(optime, dict) else optime
    term = optime.get("t", -1) if isinstance(optime, dict) else -1
    if getattr(ts, "time", None) is None:
        return None
    return [int(term), int(ts.time), int(getattr(ts, "inc", 0))]


def primary_host(status):
    """The primary's host (host:port) in a replSetGetStatus reply, or None."""
    return next((normalize_host(m["name"]) for m in status.get("members") or [] if m.get("state") == 1), None)


def healthy_data_members(status):
    """The members of a replSetGetStatus reply that are up as PRIMARY or SECONDARY: those that
    hold an oplog to read."""
    return [m for m in status.get("members") or [] if m.get("state") in (1, 2) and m.get("health")]


def summarize_status(status, config=None, oplog_windows=None, domain_key="dc"):
    """Members with state, health, lag, sync source, config version, priority, votes,
    domain and oplog window (when given: host -> hours)."""
    cfg = ReplSetConfig(config or {})
    oplog_windows = oplog_windows or {}
    members = status.get("members") or []
    primary = next((m for m in members if m.get("state") == 1), None)
    primary_seconds = _optime_seconds(primary) if primary else None
    rows = []
    for m in members:
        host = normalize_host(m.get("name")) or m.get("name")
        conf = cfg.member_by_host(host)
        seconds = _optime_seconds(m)
        lag = None
        if primary_seconds is not None and seconds is not None and m.get("state") in (1, 2):
            lag = max(primary_seconds - seconds, 0)
        rows.append({
            "host": host,
            "id": m.get("_id"),
            "state": m.get("state"),
            "state_str": m.get("stateStr") or STATE_NAMES.get(m.get("state"), "UNKNOWN"),
            "health": m.get("health"),
            "lag_seconds": lag,
            "sync_source": m.get("syncSourceHost") or None,
            "config_version": m.get("configVersion"),
            "priority": conf.base_priority if conf else None,
            "votes": conf.base_votes if conf else None,
            "hidden": conf.hidden if conf else None,
            "arbiter": conf.arbiter if conf else None,
            "domain": conf.tags.get(domain_key) if conf else None,
            "oplog_window_hours": oplog_windows.get(host),
            "self": bool(m.get("self")),
            # what the answering member knows of this one's durable optime (the primary counts
            # it for w:"majority"); a member answers for itself with its applied optime
            "optime": optime_key(m.get("optimeDurable") or m.get("optime")),
        })
    return {
        "set": status.get("set"),
        "term": status.get("term"),
        "primary": normalize_host(primary.get("name")) if primary else None,
        "config_version": cfg.version,
        "healthy": is_healthy(rows),
        "majority": cfg.majority_vote_count,
        "commit_point": optime_key((status.get("optimes") or {}).get("lastCommittedOpTime")),
        "members": rows,
    }


def is_healthy(rows):
    return bool(rows) and all(r["state"] in STABLE_STATES for r in rows) and \
        len([r for r in rows if r["state"] == 1]) == 1


def condition_met(summary, wait_for, member=None, state=None, max_lag_seconds=None):
    """Whether a wait_for condition holds for a status summary."""
    if wait_for == "primary":
        return summary["primary"] is not None
    if wait_for == "healthy":
        return summary["healthy"]
    if wait_for == "member_state":
        wanted = normalize_host(member)
        row = next((r for r in summary["members"] if r["host"] == wanted), None)
        states = [state] if isinstance(state, str) else list(state or [])
        # by the state number: mongod's stateStr for an unreachable member (state 8) is
        # "(not reachable/healthy)", the name this option takes for it is DOWN
        return row is not None and STATE_NAMES.get(row["state"], row["state_str"]) in states
    if wait_for == "lag":
        others = [r for r in summary["members"] if r["state"] not in (1, 7)]
        return summary["primary"] is not None and all(
            r["state"] == 2 and r["lag_seconds"] is not None and r["lag_seconds"] <= max_lag_seconds for r in others)
    if wait_for == "durable_without":
        return durable_without(summary, member)
    return True


def durable_without(summary, member):
    """Whether every write the set has majority-committed is held by enough voters other than
    `member` that deleting that member's data cannot lose a w:"majority" acknowledged write
    even if the primary fails next: any future primary needs the votes of a majority, and a
    voter only votes for a candidate at least as recent as itself. Enough is a majority of
    the votes, or every other data-bearing voter when they are fewer (a PSA set: the primary
    alone); a voter that is down counts as not holding. Read from the primary's own status (it
    decides what is committed); `member` is normally stopped already, so that it acknowledges
    nothing more."""
    me = next((r for r in summary["members"] if r["self"]), None)
    commit = summary.get("commit_point")
    if me is None or me["state"] != 1 or commit is None:
        return False
    wanted = normalize_host(member)
    others = [r for r in summary["members"] if r["host"] != wanted and r["votes"] and not r["arbiter"]]
    holding = sum(r["votes"] for r in others
                  if r["state"] in (1, 2) and r["optime"] is not None and r["optime"] >= commit)
    return holding >= min(summary["majority"], sum(r["votes"] for r in others))


def describe_summary(summary):
    """One line for timeout messages: who is in which state."""
    return "; ".join("%s %s%s" % (r["host"], r["state_str"], "" if r["lag_seconds"] in (None, 0) else
                                  " (lag %ss)" % r["lag_seconds"]) for r in summary["members"]) or "no members"


def render_status_table(summary):
    """The status as a Markdown table (member, datacenter, state, priority, votes, lag)."""
    lines = ["Replica set %s: term %s, config version %s, %s" % (
        summary["set"], summary["term"], summary["config_version"], "healthy" if summary["healthy"] else "NOT healthy"),
        "", "| member | dc | state | priority | votes | lag (s) | sync source | oplog (h) |", "|---|---|---|---|---|---|---|---|"]
    for r in summary["members"]:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["host"], r["domain"] or "-", r["state_str"], _num(r["priority"]), _num(r["votes"]),
            _num(r["lag_seconds"]), r["sync_source"] or "-", _num(r["oplog_window_hours"])))
    return "\n".join(lines)


def _num(value):
    if value is None:
        return "-"
    return "%g" % value if isinstance(value, float) else str(value)
