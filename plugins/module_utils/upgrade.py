# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The path of a rolling version upgrade (pure): from the members' running versions, the set's
feature compatibility version (FCV) and a target, the ordered steps - or the reasons to refuse
before any member is touched.

MongoDB's rules (manual, "Upgrade a Replica Set to 7.0" / "to 8.0", and the release notes):
- one release series at a time (4.4 -> 5.0 -> 6.0 -> 7.0 -> 8.0): a binary starts only on data whose
  FCV is its own release or the one before (mongod refuses the start otherwise: src/mongo/db/
  commands/feature_compatibility_version.cpp, FeatureCompatibilityVersion::validateVersion / the
  "UPGRADE PROBLEM" startup check in mongod_main.cpp);
- before the binaries of release N+1 go in, every member runs N and the FCV is N;
- binaries one member at a time: the secondaries, then the arbiters, the primary last after a
  stepdown to an upgraded member; then setFeatureCompatibilityVersion N+1 (with confirm: true from
  7.0 on) once every member runs N+1;
- a downgrade lowers the FCV first (setFeatureCompatibilityVersion N-1), then replaces the binaries
  the same way; from 7.0 on MongoDB does not support binary downgrades of the Community Edition
  (Enterprise: only with MongoDB support) - the release notes "Downgrade 7.0 to 6.0" / "8.0 to 7.0".

A plan is data: {"steps": [...], "refusals": [...], ...}; render_upgrade_markdown shows it to people.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The long-term release series this collection upgrades through, oldest first.
RELEASES = ("4.4", "5.0", "6.0", "7.0", "8.0")
# hello's maxWireVersion per series (src/mongo/db/wire_version.h): the release of a member whose
# buildInfo cannot be read (an arbiter where buildInfo needs a login).
WIRE_VERSION_SERIES = {9: "4.4", 13: "5.0", 17: "6.0", 21: "7.0", 25: "8.0"}
# setFeatureCompatibilityVersion needs confirm: true from 7.0 on (release notes 7.0).
CONFIRM_FCV_FROM = (7, 0)
# From this series on, MongoDB supports no binary downgrade of the Community Edition.
NO_BINARY_DOWNGRADE_FROM = (7, 0)
HEALTHY_STATES = ("PRIMARY", "SECONDARY", "ARBITER")

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~].*)?\s*$")


def version_tuple(text):
    """"8.0.4" -> (8, 0, 4); "8.0" -> (8, 0, None); anything else -> None."""
    match = _VERSION.match(str(text)) if text is not None else None
    if not match:
        return None
    return (int(match.group(1)), int(match.group(2)), None if match.group(3) is None else int(match.group(3)))


def series_of(version):
    """(8, 0, 4) or "8.0.4" -> "8.0"."""
    parsed = version_tuple(version) if isinstance(version, str) else version
    return "%d.%d" % parsed[:2] if parsed else None


def served_versions(madison_lines):
    """The package versions in `apt-cache madison <package>` lines ("name | version | source"), in
    its order (newest first), each once (a version two sources serve has two lines)."""
    found = []
    for line in madison_lines or []:
        parts = str(line).split("|")
        version = parts[1].strip() if len(parts) >= 3 else ""
        if version and version not in found:
            found.append(version)
    return found


def newest_of_series(versions, series):
    """The newest of `versions` in the release series ("8.0"), or "" when none is."""
    def key(version):
        return tuple(part or 0 for part in version_tuple(version))

    mine = [v for v in versions or [] if version_tuple(v) and series_of(v) == str(series)]
    return max(mine, key=key) if mine else ""


def needs_confirm(series):
    """Whether setFeatureCompatibilityVersion on a member of this series takes confirm: true."""
    parsed = version_tuple(series)
    return bool(parsed) and parsed[:2] >= CONFIRM_FCV_FROM


def fcv_of(reply):
    """The FCV as {version, targetVersion, previousVersion} from getParameter's
    featureCompatibilityVersion (or admin.system.version's document), or from a plain string."""
    if isinstance(reply, str):
        return {"version": reply}
    if isinstance(reply, dict):
        if isinstance(reply.get("featureCompatibilityVersion"), dict):
            reply = reply["featureCompatibilityVersion"]
        return dict((k, reply[k]) for k in ("version", "targetVersion", "previousVersion") if reply.get(k))
    return {}


def fcv_state(doc):
    """How a featureCompatibilityVersion document (fcv_of's shape) stands: "stable", "upgrading" or
    "downgrading". mongod's shapes (FeatureCompatibilityVersionParser::parse,
    src/mongo/db/commands/feature_compatibility_version_parser.cpp): {version} stable; {version,
    targetVersion} with targetVersion above version while upgrading; downgrading 5.0 on is
    {version: <lower>, targetVersion: <lower>, previousVersion: <higher>}, 4.4 the same without
    previousVersion. Any other transition shape is taken as downgrading (never silently reversed)."""
    target = doc.get("targetVersion")
    if not target:
        return "stable"
    version, target_tuple = version_tuple(doc.get("version")), version_tuple(target)
    if doc.get("previousVersion") or not version or not target_tuple or target_tuple[:2] <= version[:2]:
        return "downgrading"
    return "upgrading"


def _series_index(series):
    return RELEASES.index(series) if series in RELEASES else None


def _newer(version, target, exact):
    """Whether a member's version is past the target: a later series, or with an exact target a
    later patch of the same series."""
    if version[:2] != target[:2]:
        return version[:2] > target[:2]
    return exact and version[2] is not None and version[2] > target[2]


def _reaches(version, series, exact_target=None):
    """Whether a member already runs `series` (and at least the exact target's patch, when given)."""
    if version[:2] > version_tuple(series)[:2]:
        return True
    if version[:2] < version_tuple(series)[:2]:
        return False
    if exact_target is None or version[2] is None:
        return True  # a series-only reading (an arbiter's wire version) counts as that series
    return version[2] >= exact_target[2]


def _member_order(members):
    """Secondaries in the given order, then arbiters, the primary last."""
    secondaries = [m for m in members if not m.get("arbiter") and m.get("state") != "PRIMARY"]
    arbiters = [m for m in members if m.get("arbiter")]
    primaries = [m for m in members if m.get("state") == "PRIMARY" and not m.get("arbiter")]
    return secondaries + arbiters + primaries


def _release_step(series, exact, members, fcv_after, why, action="upgrade"):
    return {"kind": "release", "action": action, "series": series, "version": exact,
            "members": [{"host": m["host"], "role": "arbiter" if m.get("arbiter") else
                         ("primary" if m.get("state") == "PRIMARY" else "secondary"),
                         "from": m["version"], "stepdown_first": m.get("state") == "PRIMARY"}
                        for m in _member_order(members)],
            "fcv_after": fcv_after, "why": why}


def _fcv_step(series, why):
    return {"kind": "fcv", "fcv": series, "confirm": needs_confirm(series), "why": why}


def plan_upgrade(members, fcv, target, through_intermediate=False, raise_fcv_left_behind=False,
                 oplog_keep_seconds=None, member_upgrade_seconds=None):
    """The upgrade plan of a replica set.

    members: [{host, state (PRIMARY/SECONDARY/ARBITER/...), version ("7.0.14"; "7.0" when only the
    series is known), arbiter}], the set's members as they run now.
    fcv: the set's FCV ({version[, targetVersion, previousVersion]} or "7.0"), read from the primary.
    target: the inventory's mongod_version - a series ("8.0") or an exact version ("8.0.4").
    through_intermediate: plan a target more than one release away through the releases between
    (otherwise refused, naming them). raise_fcv_left_behind: an FCV below the running release
    (left behind by an earlier upgrade) is raised first (otherwise refused, saying how).
    oplog_keep_seconds: how long the shortest oplog of the data-bearing members keeps an entry
    written now; member_upgrade_seconds: how long one member may be away - the first must be longer.

    Returns {target, target_series, path, steps, refusals, done}: steps in order, each a release
    ({kind: release, series, version, members: [{host, role, from, stepdown_first}], fcv_after})
    or an FCV change ({kind: fcv, fcv, confirm}); refusals are sentences that say what to do. A plan
    with refusals has no steps: nothing may be touched.
    """
    plan = {"target": str(target), "target_series": None, "path": [], "steps": [], "refusals": [], "done": False,
            "fcv": fcv_of(fcv).get("version"), "members": [dict(m) for m in members]}
    refusals = plan["refusals"]
    wanted = version_tuple(target)
    if wanted is None:
        refusals.append("the target %r is not a MongoDB version: set mongod_version to a release series such as "
                        "\"8.0\" (the newest patch its repository serves) or an exact version such as \"8.0.4\"" % (target,))
        return plan
    exact = wanted[2] is not None
    target_series = series_of(wanted)
    plan["target_series"] = target_series
    if target_series not in RELEASES:
        refusals.append("%s is not a release series this upgrade goes through: it upgrades between the long-term "
                        "series %s (one at a time); rapid releases are for Atlas" % (target_series, ", ".join(RELEASES)))
        return plan
    if not members:
        refusals.append("the set has no members to upgrade")
        return plan

    unhealthy = [m for m in members if m.get("state") not in HEALTHY_STATES]
    primaries = [m for m in members if m.get("state") == "PRIMARY"]
    if unhealthy or len(primaries) != 1:
        states = ", ".join("%s is %s" % (m["host"], m.get("state") or "unknown") for m in unhealthy)
        refusals.append("the set is not healthy (%s): every member must be PRIMARY, SECONDARY or ARBITER with one "
                        "primary before an upgrade; bring it back (playbooks/status.yml shows the set), then run "
                        "upgrade.yml again" % (states or "no primary"))
    running = {}
    for member in members:
        version = version_tuple(member.get("version"))
        if version is None:
            refusals.append("the version %s runs cannot be read (%r): it must answer buildInfo or hello before an "
                            "upgrade" % (member["host"], member.get("version")))
            continue
        if series_of(version) not in RELEASES:
            refusals.append("%s runs %s, a release outside the long-term series %s this upgrade goes through"
                            % (member["host"], member.get("version"), ", ".join(RELEASES)))
            continue
        running[member["host"]] = version
    if refusals:
        return plan

    fcv_doc = fcv_of(fcv)
    fcv_series = fcv_doc.get("version")
    series_running = sorted(set(series_of(v) for v in running.values()), key=_series_index)
    low, high = series_running[0], series_running[-1]
    if _series_index(high) - _series_index(low) > 1:
        refusals.append("the members run releases more than one apart (%s): mongod allows only a release and the next "
                        "in one set; bring every member to the same release first" % _versions_text(members))
        return plan
    if fcv_state(fcv_doc) == "downgrading":
        index = _series_index(fcv_series)
        above = fcv_doc.get("previousVersion") or (
            RELEASES[index + 1] if index is not None and index + 1 < len(RELEASES) else None)
        refusals.append("the feature compatibility version is half-way down from %s to %s (an interrupted "
                        "downgrade, %r): the plan does not reverse it. Finish it with setFeatureCompatibilityVersion: "
                        "\"%s\"%s on the primary, or go back with setFeatureCompatibilityVersion: \"%s\"%s, then run "
                        "upgrade.yml again" % (above or "the next release", fcv_series, fcv_doc, fcv_series,
                                               ", confirm: true" if needs_confirm(high) else "", above or high,
                                               ", confirm: true" if needs_confirm(high) else ""))
        return plan
    if fcv_series is None or fcv_series not in RELEASES:
        refusals.append("the set's feature compatibility version cannot be read (%r): read it on the primary with "
                        "db.adminCommand({getParameter: 1, featureCompatibilityVersion: 1}) - the user needs "
                        "clusterMonitor - and run upgrade.yml again" % (fcv,))
        return plan

    newer = [m for m in members if _newer(running[m["host"]], wanted, exact)]
    downgrade = _series_index(target_series) < _series_index(high) or (
        exact and newer and all(_newer(running[m["host"]], wanted, exact) or running[m["host"]] == wanted
                                for m in members) and series_running == [target_series])
    if downgrade:
        return _plan_downgrade(plan, members, running, fcv_doc, wanted, exact, target_series, low, high)
    if newer:
        refusals.append("%s already run%s a release newer than the target %s: set mongod_version (or "
                        "mongod_package_version) to at least %s; moving members back is a downgrade (README, "
                        "Upgrades)" % (", ".join("%s (%s)" % (m["host"], m["version"]) for m in newer),
                                       "s" if len(newer) == 1 else "", target,
                                       max((m["version"] for m in newer), key=version_tuple)))
        return plan

    # The FCV before any binary changes: the lowest running release (a set upgraded before) or, in a
    # set half-way through, still that release. Higher is impossible for running binaries.
    in_transition = fcv_doc.get("targetVersion")  # upgrading (a downgrading FCV was refused above)
    fcv_now = fcv_series  # when half-way up to in_transition: not there yet
    if version_tuple(fcv_now)[:2] > version_tuple(low)[:2]:
        refusals.append("the feature compatibility version %s is newer than the release %s runs (%s): mongod does "
                        "not start so; check the members' versions" % (fcv_now, ", ".join(
                            m["host"] for m in members if series_of(running[m["host"]]) == low), low))
        return plan

    path = [s for s in RELEASES if _series_index(low) < _series_index(s) <= _series_index(target_series)]
    plan["path"] = [low] + path if path else [low]
    steps = plan["steps"]
    if fcv_now != low:
        behind = "%s (half-way up to %s)" % (fcv_now, in_transition) if in_transition else fcv_now
        if _series_index(fcv_now) < _series_index(low) - 1:
            refusals.append("the feature compatibility version %s is more than one release behind the binaries (%s)"
                            % (fcv_now, low))
            return plan
        if low != target_series and not raise_fcv_left_behind and not in_transition:
            refusals.append("the feature compatibility version is %s, left behind by an earlier upgrade to %s: a %s "
                            "binary would not start on it. Raise it first - pass -e upgrade_raise_fcv=true to let the "
                            "plan do it, or run setFeatureCompatibilityVersion: \"%s\"%s on the primary - then run "
                            "upgrade.yml again" % (behind, low, path[0] if path else target_series, low,
                                                   ", confirm: true" if needs_confirm(low) else ""))
            return plan
        steps.append(_fcv_step(low, "the FCV is %s while every member runs %s: raise it%s" % (
            behind, low, " before the next release" if low != target_series else " to finish the upgrade to %s" % low)))
        fcv_now = low
    if len(path) > 1 and not through_intermediate:
        refusals.append("%s is %d releases from %s: MongoDB upgrades one release at a time, through %s. Set "
                        "mongod_version to \"%s\" and run upgrade.yml, then to \"%s\" and run it again - or pass -e "
                        "upgrade_through_intermediate=true to let one run take every release (check mode shows the "
                        "plan)" % (target_series, len(path), low, " -> ".join([low] + path), path[0],
                                   target_series))
        return _no_steps(plan)

    for series in path or [low]:
        step_exact = wanted if exact and series == target_series else None
        todo = [m for m in members if not _reaches(running[m["host"]], series, step_exact)]
        raise_to = series if _series_index(series) > _series_index(fcv_now) else None
        if todo:
            steps.append(_release_step(series, target if step_exact else None, todo, raise_to, "%s to %s" % (
                ", ".join(m["host"] for m in todo), target if step_exact else "the newest %s" % series)))
        elif raise_to:
            steps.append(_fcv_step(series, "every member runs %s already: raise the FCV to finish the upgrade" % series))
        if raise_to:
            fcv_now = series
    plan["done"] = not steps
    if steps and any(s["kind"] == "release" for s in steps) and oplog_keep_seconds is not None \
            and member_upgrade_seconds is not None and oplog_keep_seconds < member_upgrade_seconds:
        refusals.append("the shortest oplog of the data-bearing members keeps an entry for %.0f s, less than the "
                        "%.0f s a member may be away for its upgrade (upgrade_member_seconds): it would fall off the "
                        "oplog and need a resync; grow the oplogs first (playbooks/oplog.yml)"
                        % (oplog_keep_seconds, member_upgrade_seconds))
        return _no_steps(plan)
    return plan


def _no_steps(plan):
    plan["steps"] = []
    return plan


def _versions_text(members):
    return ", ".join("%s %s" % (m["host"], m.get("version")) for m in members)


def _plan_downgrade(plan, members, running, fcv_doc, wanted, exact, target_series, low, high):
    refusals = plan["refusals"]
    fcv_series = fcv_doc.get("version")
    if target_series == high:  # a patch downgrade within the series: binaries only
        todo = [m for m in members if _newer(running[m["host"]], wanted, exact)]
        plan["path"] = [high]
        plan["steps"].append(_release_step(high, plan["target"], todo, None,
                                           "back to %s within release %s (the FCV stays %s)"
                                           % (plan["target"], high, fcv_series), action="downgrade"))
        return plan
    if _series_index(high) - _series_index(target_series) > 1:
        refusals.append("a downgrade from %s to %s skips a release: MongoDB supports downgrades to the previous "
                        "release only (release notes, Downgrade %s to %s)"
                        % (high, target_series, high, RELEASES[_series_index(high) - 1]))
        return plan
    if version_tuple(high)[:2] >= NO_BINARY_DOWNGRADE_FROM:
        refusals.append("the members run %s: from 7.0 on MongoDB does not support downgrading the binaries of the "
                        "Community Edition (Enterprise: only with MongoDB support) - release notes, Downgrade %s to %s. "
                        "The feature compatibility version (%s) can still be lowered with "
                        "setFeatureCompatibilityVersion: \"%s\", confirm: true; keep mongod_version at %s"
                        % (high, high, target_series, fcv_series, target_series, high))
        return plan
    if fcv_series != target_series or fcv_doc.get("targetVersion"):
        refusals.append("a downgrade to %s needs the feature compatibility version lowered first (it is %s): run "
                        "setFeatureCompatibilityVersion: \"%s\"%s on the primary, then upgrade.yml again; it then "
                        "replaces the binaries one member at a time, the primary last (release notes, Downgrade %s to %s)"
                        % (target_series, fcv_series + (" going to %s" % fcv_doc["targetVersion"]
                                                        if fcv_doc.get("targetVersion") else ""),
                           target_series, ", confirm: true" if needs_confirm(high) else "", high, target_series))
        return plan
    todo = [m for m in members if series_of(running[m["host"]]) == high]
    plan["path"] = [high, target_series]
    plan["steps"].append(_release_step(target_series, plan["target"] if exact else None, todo, None,
                                       "binaries back to %s (the FCV is %s already)" % (target_series, fcv_series),
                                       action="downgrade"))
    return plan


def plan_summary(plan):
    """One line: what the plan does, or why it refuses."""
    if plan["refusals"]:
        return "upgrade refused: " + " ".join(plan["refusals"])
    if plan["done"]:
        return "every member runs %s and the feature compatibility version is %s: nothing to do" % (
            plan["target"], plan.get("fcv"))
    parts = []
    for step in plan["steps"]:
        if step["kind"] == "fcv":
            parts.append("FCV -> %s" % step["fcv"])
        else:
            parts.append("%s %s (%s)%s" % (step["action"], step["version"] or step["series"],
                                           ", ".join(m["host"] for m in step["members"]),
                                           ", then FCV -> %s" % step["fcv_after"] if step["fcv_after"] else ""))
    return "; ".join(parts)


def render_upgrade_markdown(plan):
    """The plan as people read it: a line per member step and per FCV change, in order."""
    lines = ["Upgrade of the set to %s (path: %s; feature compatibility version now %s)" % (
        plan["target"], " -> ".join(plan["path"]) or "-", plan.get("fcv") or "unknown"), ""]
    if plan["refusals"]:
        lines += ["Refused before any member is touched:"] + ["- " + r for r in plan["refusals"]]
        return "\n".join(lines)
    if plan["done"]:
        lines.append("Nothing to do: " + plan_summary(plan))
        return "\n".join(lines)
    lines += ["| # | release | member | role | from | action |", "|---|---|---|---|---|---|"]
    number = 0
    for step in plan["steps"]:
        if step["kind"] == "fcv":
            number += 1
            confirm = " (confirm)" if step["confirm"] else ""
            lines.append("| %d | %s | (set) | - | FCV %s | setFeatureCompatibilityVersion %s%s, wait until every "
                         "member reports it |" % (number, step["fcv"], plan.get("fcv"), step["fcv"], confirm))
            continue
        for member in step["members"]:
            number += 1
            action = "%s the packages to %s, restart, wait SECONDARY and caught up" % (
                step["action"], step["version"] or "the newest %s" % step["series"])
            if member["stepdown_first"]:
                action = "step down to an upgraded member, then " + action
            lines.append("| %d | %s | %s | %s | %s | %s |" % (
                number, step["series"], member["host"], member["role"], member["from"], action))
        if step["fcv_after"]:
            number += 1
            lines.append("| %d | %s | (set) | - | - | setFeatureCompatibilityVersion %s%s, wait until every member "
                         "reports it |" % (number, step["fcv_after"], step["fcv_after"],
                                           " (confirm)" if needs_confirm(step["fcv_after"]) else ""))
    return "\n".join(lines)
