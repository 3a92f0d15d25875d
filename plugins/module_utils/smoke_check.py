# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke check's decisions, on plain data: which write-concern modes to prove, which
datacenters to read from and with which read preference, whether the driver discovered
the set, and whether a read was served where it should have been. No I/O here: the module
feeds it the live config and the driver's view of the members (mongo_client.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, normalize_host

READ_PREFERENCES = ("secondary", "nearest")


def _host_key(host):
    return normalize_host(host) or host


def write_concern_modes_to_check(config, requested=None):
    """The `w` values to prove: "majority" and every getLastErrorModes name of the config,
    or the requested ones (a numeric string becomes a number, as `w: 2`)."""
    if requested:
        return [int(w) if isinstance(w, str) and w.isdigit() else w for w in requested]
    return ["majority"] + sorted(ReplSetConfig(config).write_concern_modes)


def readable_members(config):
    """Members that can serve reads: data-bearing and not hidden (the driver never sees hidden ones)."""
    return [m for m in ReplSetConfig(config).members if not m.arbiter and not m.hidden]


def datacenter_reads(config, discovered, domain_key="dc", fallback="nearest"):
    """One planned read per datacenter (each value of tag `domain_key` on a readable member):
    read preference "secondary" when the driver sees a secondary there, else `fallback`
    ("nearest", or "none": no read, a problem). Each entry: dc, read_preference, tag_set,
    members (host -> the driver's server type) and problem (None when the read can be tried)."""
    types = dict((_host_key(m["host"]), m["type"]) for m in discovered)
    by_dc = {}
    for member in readable_members(config):
        if domain_key in member.tags:
            by_dc.setdefault(str(member.tags[domain_key]), []).append(member.normalized_host or member.host)
    reads = []
    for dc in sorted(by_dc):
        members = dict((host, types.get(host, "Undiscovered")) for host in by_dc[dc])
        entry = {"dc": dc, "tag_set": {domain_key: dc}, "members": members, "read_preference": "secondary",
                 "problem": None}
        if "RSSecondary" not in members.values():
            if fallback in READ_PREFERENCES:
                entry["read_preference"] = fallback
            else:
                entry["read_preference"] = None
                entry["problem"] = ("%s %s: no member is a secondary the driver can read from (%s) and dc_read_fallback "
                                    "is none" % (domain_key, dc, _describe(members)))
        reads.append(entry)
    return reads


def read_served_problem(config, domain_key, dc, served_by):
    """None when `served_by` (host:port) is a member tagged `domain_key: dc`, else why not."""
    member = ReplSetConfig(config).member_by_host(served_by)
    if member is None:
        return "%s %s: the read was served by %s, which is not in the replica set config" % (domain_key, dc, served_by)
    actual = member.tags.get(domain_key)
    if str(actual) != dc:
        return "%s %s: the read was served by %s, which is in %s %s" % (domain_key, dc, served_by, domain_key, actual)
    return None


def discovery_problems(config, discovered):
    """What the driver should have found from one seed but did not: members of the config
    that hello lists (every member but hidden ones) missing or unreachable in its view."""
    seen = dict((_host_key(m["host"]), m) for m in discovered)
    problems = []
    for member in ReplSetConfig(config).members:
        if member.hidden:
            continue
        host = member.normalized_host or member.host
        if host not in seen:
            problems.append("member %s was not discovered from the seed" % host)
        elif seen[host]["type"] in ("Unknown", "RSGhost", "RSOther"):
            problems.append("member %s was discovered but the driver sees it as %s" % (host, seen[host]["type"]))
    return problems


def discovery_complete(config, discovered):
    """True when every member hello lists is discovered, reachable and has a round-trip time."""
    rtts = dict((_host_key(m["host"]), m["rtt_ms"]) for m in discovered)
    return not discovery_problems(config, discovered) and all(
        rtts.get(m.normalized_host or m.host) is not None for m in ReplSetConfig(config).members if not m.hidden)


def describe_discovery(discovered):
    return ", ".join("%s %s" % (m["host"], m["type"]) for m in discovered) or "nothing discovered yet"


def _describe(members):
    return ", ".join("%s %s" % item for item in sorted(members.items()))


def render_smoke_report(result):
    """The smoke check for people: discovered members with round-trip times, each write
    concern mode, each datacenter read."""
    outcome = "passed" if not result["problems"] else "FAILED"
    lines = ["Smoke check of %s from seed %s: %s" % (result["set"], result["seed"], outcome),
             "", "| member | type | dc | rtt (ms) |", "|---|---|---|---|"]
    for m in result["members"]:
        rtt = "-" if m["rtt_ms"] is None else m["rtt_ms"]
        lines.append("| %s | %s | %s | %s |" % (m["host"], m["type"], m["tags"].get(result["domain_key"], "-"), rtt))
    lines += ["", "| write concern | acknowledged | seconds |", "|---|---|---|"]
    for w in result["writes"]:
        lines.append("| %s | %s | %s |" % (w["w"], _outcome(w["ok"]), "-" if w["seconds"] is None else w["seconds"]))
    lines += ["", "| %s | read preference | served by | in that %s |" % (result["domain_key"], result["domain_key"]),
              "|---|---|---|---|"]
    for r in result["reads"]:
        lines.append("| %s | %s | %s | %s |" % (r["dc"], r["read_preference"] or "-", r["served_by"] or "-", _outcome(r["ok"])))
    for problem in result["problems"]:
        lines.append("PROBLEM: %s" % problem)
    return lines


def _outcome(ok):
    return {True: "yes", False: "NO", None: "(check mode)"}[ok]
