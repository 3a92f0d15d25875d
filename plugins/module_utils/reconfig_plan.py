# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan a replica set reconfiguration as steps mongod accepts.

    plan = plan_reconfig(current, desired, primary="db1:27017", target_version="7.0")
    plan.steps        # ordered; each a complete config document plus why it is needed
    plan.actions      # the same steps with the stepdowns to run before some of them

A non-force replSetReconfig may add or remove at most one voting member, and each
config must be committed before the next. So changes are split into:

- voting changes, which must be sequenced one per step: removing a voter, changing an
  existing member's votes (1 -> 0 or 0 -> 1), adding an arbiter (arbiters vote at once),
  re-adding a member whose arbiterOnly/buildIndexes/host changes (removed first);
- free changes, batched into the earliest step that stays valid: adding data-bearing
  members (mongod marks new voters newlyAdded: they vote only after their initial sync),
  removing non-voters, priority/tags/hidden/delay changes, settings and write-concern modes.

Lower bound (see lower_bound()): one step per voting change, at least one when anything
changes, plus the step a removed-and-re-added member needs between its two halves. The
planner meets it. It orders the voting changes so the
set keeps the most fault tolerance (gains before removals while under 7 voters), applies
priority changes first so the primary moves at most once, and puts a stepdown before any
step that removes the primary or makes it unelectable (mongod refuses such a reconfig on
the primary itself: NodeNotFound / NodeNotElectable).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from dataclasses import dataclass, field

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import (
    MAX_VOTING_MEMBERS,
    Member,
    ReplSetConfig,
    normalize_host,
    parse_version,
    safe_bool,
    to_json_view,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import align_member_ids
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config

SETTINGS_DEFAULTS = {
    "chainingAllowed": True,
    "heartbeatIntervalMillis": 2000,
    "heartbeatTimeoutSecs": 10,
    "electionTimeoutMillis": 10000,
    "catchUpTimeoutMillis": -1,
    "catchUpTakeoverDelayMillis": 30000,
    "getLastErrorModes": {},
    "getLastErrorDefaults": {"w": 1, "wtimeout": 0},
}


# Transition rules the plan satisfies by sequencing (one voter per step, remove before
# re-adding a member whose host, arbiterOnly or buildIndexes changes, increasing versions,
# reaching a PSA topology through a config that can commit majority writes).
_SEQUENCED_RULES = frozenset(("reconfig.version", "reconfig.voting_change", "reconfig.host_id",
                              "reconfig.arbiter_flip", "reconfig.build_indexes_flip", "reconfig.psa"))


class PlanError(ValueError):
    """The desired config cannot be reached safely; the message says why and what to do."""


@dataclass
class Step:
    number: int
    config: dict
    reason: str
    changes: list = field(default_factory=list)
    voting_change: object = None

    def to_dict(self):
        return {"number": self.number, "version": self.config["version"], "reason": self.reason,
                "changes": list(self.changes), "voting_change": self.voting_change, "config": self.config}


@dataclass
class Plan:
    current_version: int
    steps: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    lower_bound: int = 0
    voting_changes: int = 0
    elections_expected: int = 0
    primary_before: object = None
    primary_after: object = None
    extra_steps_reason: object = None

    @property
    def changed(self):
        return bool(self.steps)

    def to_dict(self):
        return {
            "changed": self.changed,
            "current_version": self.current_version,
            "lower_bound": self.lower_bound,
            "voting_changes": self.voting_changes,
            "elections_expected": self.elections_expected,
            "primary_before": self.primary_before,
            "primary_after": self.primary_after,
            "extra_steps_reason": self.extra_steps_reason,
            "steps": [s.to_dict() for s in self.steps],
            "actions": list(self.actions),
        }


def normalize_member(doc, version):
    """A member document with every field mongod defaults, as replSetGetConfig shows it."""
    m = Member(0, doc)
    delay_field = "secondaryDelaySecs" if version >= (5, 0) else "slaveDelay"
    out = {
        "_id": m.id,
        "host": m.normalized_host or m.host,
        "arbiterOnly": m.arbiter,
        "buildIndexes": m.build_indexes,
        "hidden": m.hidden,
        "priority": float(m.base_priority),
        "tags": dict(sorted(m.tags.items())),
        delay_field: m.delay,
        "votes": m.base_votes,
    }
    if isinstance(doc.get("horizons"), dict):
        out["horizons"] = dict(doc["horizons"])
    return out


def normalize_settings(settings):
    out = copy.deepcopy(SETTINGS_DEFAULTS)
    out.update(copy.deepcopy(settings or {}))
    return out


def configs_equivalent(a, b, target_version="8.0"):
    """True when two configs differ only in version/term and in defaults left implicit."""
    version = parse_version(target_version)
    a, b = to_json_view(a), to_json_view(b)

    def key(doc):
        members = sorted((normalize_member(m.doc, version) for m in ReplSetConfig(doc).members),
                         key=lambda m: m["_id"])
        return (doc.get("_id"), members, normalize_settings(doc.get("settings")),
                bool(doc.get("writeConcernMajorityJournalDefault", True)))
    return key(a) == key(b)


class _Change:
    """One unit of change: a member replaced, added, removed or edited, or the settings."""

    def __init__(self, kind, member_id=None, before=None, after=None, voting=False, gains_vote=False):
        self.kind = kind  # add | remove | edit | settings | top
        self.member_id = member_id
        self.before = before
        self.after = after
        self.voting = voting
        self.gains_vote = gains_vote
        self.requires = None  # a removal that must be applied in an earlier step (same _id or host)
        self.follows = None  # a change that must be applied in this step or an earlier one

    @property
    def host(self):
        return (self.after or self.before or {}).get("host")

    def describe(self):
        if self.kind in ("settings", "top"):
            prefix = "settings: " if self.kind == "settings" else ""
            return prefix + ", ".join(sorted(_diff_keys(self.before, self.after)))
        if self.kind == "add":
            role = "arbiter" if self.after["arbiterOnly"] else ("voter" if self.after["votes"] else "non-voter")
            return "add %s (_id %s) as %s" % (self.host, self.member_id, role)
        if self.kind == "remove":
            return "remove %s (_id %s)" % (self.host, self.member_id)
        edits = ["%s %s -> %s" % (k, _show(self.before.get(k)), _show(self.after.get(k)))
                 for k in sorted(_diff_keys(self.before, self.after))]
        return "%s: %s" % (self.host, ", ".join(edits))


def _show(value):
    return "%g" % value if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)


def _diff_keys(a, b):
    return set(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _voter(doc):
    return doc is not None and doc["votes"] > 0


def _changes(current, desired, version):
    """The changes between two configs, each classified as voting or free."""
    cur_members = dict((m.id, (m, normalize_member(m.doc, version))) for m in ReplSetConfig(current).members)
    want_members = dict((m.id, normalize_member(m.doc, version)) for m in ReplSetConfig(desired).members)
    changes, removals_by_id, removals_by_host = [], {}, {}
    for member_id, (live, before) in sorted(cur_members.items()):
        after = want_members.get(member_id)
        replace = after is not None and (after["host"] != before["host"] or after["arbiterOnly"] != before["arbiterOnly"]
                                         or after["buildIndexes"] != before["buildIndexes"])
        if after is None or replace:
            change = _Change("remove", member_id, before=before, voting=live.is_voter)
            removals_by_id[member_id] = change
            removals_by_host[before["host"]] = change
            changes.append(change)
    for member_id, after in sorted(want_members.items()):
        live, before = cur_members.get(member_id, (None, None))
        if member_id in removals_by_id or before is None:
            change = _Change("add", member_id, after=after, voting=after["arbiterOnly"], gains_vote=after["arbiterOnly"])
            change.requires = removals_by_id.get(member_id) or removals_by_host.get(after["host"])
            changes.append(change)
        elif before != after:
            vote_change = (live.is_voter != _voter(after)) and not live.newly_added
            if vote_change and _voter(after) and dict(before, votes=after["votes"]) != after:
                # Gain the vote first (priority still 0), the rest in the same or a later step:
                # a later step is how a PSA topology is reached (mongod's PSA check).
                vote_only = dict(before, votes=after["votes"])
                gain = _Change("edit", member_id, before=before, after=vote_only, voting=True, gains_vote=True)
                rest = _Change("edit", member_id, before=vote_only, after=after)
                rest.follows = gain
                changes += [gain, rest]
            else:
                changes.append(_Change("edit", member_id, before=before, after=after, voting=vote_change,
                                       gains_vote=vote_change and _voter(after)))
    before_settings = normalize_settings(ReplSetConfig(current).settings)
    after_settings = normalize_settings(ReplSetConfig(desired).settings)
    if "replicaSetId" in before_settings:
        after_settings.setdefault("replicaSetId", before_settings["replicaSetId"])
    if before_settings != after_settings:
        changes.append(_Change("settings", before=before_settings, after=after_settings))
    before_top, after_top = _top_fields(current), _top_fields(desired)
    if before_top != after_top:
        changes.append(_Change("top", before=before_top, after=after_top))
    return changes


def _top_fields(doc):
    """The top-level fields a reconfig may change (besides members and settings)."""
    return {"writeConcernMajorityJournalDefault": safe_bool(doc.get("writeConcernMajorityJournalDefault"), True)}


def _apply(state, change):
    """The state (members by _id, settings, top-level fields) after one change."""
    members, settings, top = state
    members = dict(members)
    if change.kind == "remove":
        members.pop(change.member_id, None)
    elif change.kind in ("add", "edit"):
        members[change.member_id] = change.after
    elif change.kind == "settings":
        settings = change.after
    else:
        top = change.after
    return members, settings, top


def _document(base, state, version_number):
    members, settings, top = state
    doc = {"_id": base["_id"], "version": version_number, "protocolVersion": 1}
    doc.update(top)
    if base.get("configsvr"):
        doc["configsvr"] = True
    doc["members"] = [copy.deepcopy(members[i]) for i in sorted(members)]
    doc["settings"] = copy.deepcopy(settings)
    return doc


def _electable(doc):
    return doc is not None and not doc["arbiterOnly"] and doc["priority"] > 0 and doc["votes"] > 0


def _base_voters(state):
    return sum(1 for m in state[0].values() if m["votes"] > 0)


def _expected_primary(state, primary, preferred=None):
    """Who is primary once `state` is installed and its new members have synced (the
    executor waits for that): the highest-priority electable member (priority takeover),
    or the current primary while it stays on top. Among equals, a stepdown targets the
    member `preferred` (host -> priority in the desired config) ranks highest, so that
    the primary does not have to move again."""
    members = state[0]
    candidates = [m for m in members.values() if _electable(m)]
    if not candidates:
        return primary
    best = max(m["priority"] for m in candidates)
    current = next((m for m in members.values() if m["host"] == primary), None)
    if current is not None and _electable(current) and current["priority"] >= best:
        return primary
    preferred = preferred or {}
    top = [m for m in candidates if m["priority"] == best]
    return sorted(top, key=lambda m: (-preferred.get(m["host"], -1), m["_id"]))[0]["host"]


def lower_bound(changes):
    """The fewest steps that reach the target.

    V = the voting changes (one per step). plan_reconfig adds one more step, when this gives
    one, if the primary must go and no member electable now stays electable (its successor
    is added or raised first). A member that is removed and re-added (its
    host, arbiterOnly or buildIndexes changes) cannot be both in one step, so its re-add
    comes in a later step than its removal: when every voting change is such a removal,
    one more step is needed; with any replacement at all, at least two.
        no change: 0;  no replacement: max(V, 1);  else: max(V + (1 if V == R else 0), 2)
    where R is the number of voting removals of replaced members.
    """
    if not changes:
        return 0
    voting = len([c for c in changes if c.voting])
    replaced = set(id(c.requires) for c in changes if c.requires is not None)
    if not replaced:
        return max(voting, 1)
    replaced_voting = len([c for c in changes if c.voting and id(c) in replaced])
    return max(voting + (1 if voting == replaced_voting else 0), 2)


def _needs_successor_step(current, desired, primary, version):
    """True when the primary must be removed or made unelectable but no member electable now
    stays electable: its successor has to be added or raised in an earlier step."""
    if primary is None:
        return False
    before = dict((m.normalized_host, normalize_member(m.doc, version)) for m in ReplSetConfig(current).members)
    after = dict((m.normalized_host, normalize_member(m.doc, version)) for m in ReplSetConfig(desired).members)
    if _electable(after.get(primary)):
        return False
    return not any(_electable(before.get(h)) and _electable(m) for h, m in after.items() if h != primary)


def config_converged(current, desired, target_version="8.0"):
    """Whether the live config `current` already is `desired`: rs_config (member _ids kept, as by
    default) would plan no step. False when no plan can be made - rs_config then says why."""
    try:
        return not plan_reconfig(current, align_member_ids(desired, current), target_version=target_version).changed
    except (PlanError, ValueError, TypeError, KeyError, AttributeError):
        return False


def plan_reconfig(current, desired, primary=None, target_version="8.0"):
    """Plan the steps from `current` (the live config) to `desired`; see the module docstring.

    primary: host of the current primary, when known (for stepdowns and elections).
    Raises PlanError when desired is invalid, names another set, or cannot be reached.
    """
    version = parse_version(target_version)
    current = to_json_view(current)
    desired = to_json_view(desired)
    errors = [e for e in validate_config(desired, target_version=target_version, force=True, current=current).errors
              if e.rule not in _SEQUENCED_RULES]
    if errors:
        raise PlanError("the desired config is refused:\n" + "\n".join(str(e) for e in errors))
    malformed = [e for e in validate_config(current, target_version=target_version).errors if e.rule.startswith("schema.")]
    if malformed:
        raise PlanError("the current config cannot be read:\n" + "\n".join(str(e) for e in malformed))
    live = ReplSetConfig(current)
    primary = normalize_host(primary) if primary else None
    changes = _changes(current, desired, version)
    bound = lower_bound(changes)
    if bound == 1 and _needs_successor_step(current, desired, primary, version):
        bound = 2
    plan = Plan(current_version=live.version, lower_bound=bound,
                voting_changes=len([c for c in changes if c.voting]), primary_before=primary, primary_after=primary)
    state = (dict((m.id, normalize_member(m.doc, version)) for m in live.members), normalize_settings(live.settings),
             _top_fields(current))
    preferred = dict((m["host"], m["priority"]) for m in
                     (normalize_member(d.doc, version) for d in ReplSetConfig(desired).members) if _electable(m))

    def search(candidate_changes):
        for steps in range(plan.lower_bound, plan.lower_bound + _EXTRA_STEPS + 1) if candidate_changes else ():
            found = _Search(candidate_changes, current, live.version, target_version, _SEARCH_BUDGET,
                            preferred).run(state, steps, primary)
            if found is not None:
                return found
        return None
    path = search(changes)
    staged = _stage_additions(changes) if changes and path is None else None
    if staged:
        path = search(staged)
        if path is not None:
            changes = staged
    if changes and path is None:
        raise PlanError("no sequence of %d to %d steps passes every rule mongod applies (%s). Split the change "
                        "into smaller desired configs and apply them one after the other"
                        % (plan.lower_bound, plan.lower_bound + _EXTRA_STEPS, "; ".join(c.describe() for c in changes)))
    if changes and len(path) > plan.lower_bound:
        plan.extra_steps_reason = (
            "%d step(s) more than the lower bound: in fewer, some step breaks a rule mongod applies (such as the "
            "PSA check or the arbiter limit), or the primary would have to step down with no electable member to "
            "take over (raise another member's priority first)" % (len(path) - plan.lower_bound))
        if changes is staged:
            plan.extra_steps_reason += (
                "; new members join with priority 0 and get their priority in a later step: added at once, "
                "they would make a PSA config with two electable members while the current config cannot "
                "commit majority writes, which mongod refuses (the PSA check)")
    previous = state
    for number, (chosen, batch, state) in enumerate(path or [], 1):
        doc = _document(current, state, live.version + number)
        step_changes = ([chosen] if chosen is not None else []) + batch
        _track_primary(plan, previous, state, number, preferred)
        previous = state
        plan.steps.append(Step(number=number, config=doc, reason=_reason(chosen, batch),
                               changes=[c.describe() for c in step_changes],
                               voting_change=chosen.describe() if chosen is not None else None))
    return plan


def _stage_additions(changes):
    """The same changes with every new electable data-bearing member added at priority 0 and
    given its priority in a later step (None when there is none to stage).

    mongod refuses a reconfig to a PSA config with two electable data members while the current
    config cannot commit majority writes (repl_set_config_checks.cpp,
    validateOldAndNewConfigsCompatible, with enableReconfigRollbackCommittedWritesCheck on, its
    default; validation applies the rule from 5.0): replacing the only data member of a data + arbiter set must
    add the new member with priority 0 first. Planned only when no plan exists without it,
    since it costs a step."""
    staged, any_staged = [], False
    for change in changes:
        if change.kind != "add" or change.after["arbiterOnly"] or change.after["priority"] <= 0:
            staged.append(change)
            continue
        quiet = dict(change.after, priority=0.0)
        add = _Change("add", change.member_id, after=quiet)
        add.requires = change.requires
        raise_priority = _Change("edit", change.member_id, before=quiet, after=change.after)
        raise_priority.follows = add  # a free change: its add must come in an earlier step
        staged += [add, raise_priority]
        any_staged = True
    return staged if any_staged else None


def _primary_moves(previous, state, primary, preferred):
    """How installing `state` over `previous` moves the primary: (stepdown_to, takeover_to,
    primary_after). A primary that the step removes or makes unelectable must step down
    first, to a member electable both in the installed config and after the step;
    stepdown_to is False when there is none (the step cannot come yet)."""
    if primary is None:
        return None, None, None
    stepdown_to = None
    if not _electable(next((m for m in state[0].values() if m["host"] == primary), None)):
        candidates = [m for i, m in state[0].items()
                      if m["host"] != primary and _electable(m) and _electable(previous[0].get(i))]
        if not candidates:
            return False, None, primary
        # towards the member that is primary in the desired config when it can take over now
        stepdown_to = sorted(candidates, key=lambda m: (-preferred.get(m["host"], -1), -m["priority"], m["_id"]))[0]["host"]
        primary = stepdown_to
    after = _expected_primary(state, primary, preferred)
    return stepdown_to, (after if after != primary else None), after


def _track_primary(plan, previous, state, number, preferred):
    """Insert the stepdown a step needs before it, and note a takeover it causes after it."""
    stepdown_to, takeover_to, after = _primary_moves(previous, state, plan.primary_after, preferred)
    if stepdown_to:
        removed = not any(m["host"] == plan.primary_after for m in state[0].values())
        plan.actions.append({"action": "stepdown", "before_step": number, "from": plan.primary_after, "to": stepdown_to,
                             "reason": "%s is %s by step %d; mongod runs a reconfig only on an electable primary"
                                       % (plan.primary_after, "removed" if removed else "made unelectable", number)})
        plan.elections_expected += 1
        plan.primary_after = stepdown_to
    plan.actions.append({"action": "reconfig", "step": number})
    if takeover_to:
        plan.actions.append({"action": "await_primary", "after_step": number, "from": plan.primary_after,
                             "to": takeover_to,
                             "reason": "priority takeover: %s now has the highest priority" % takeover_to})
        plan.elections_expected += 1
    plan.primary_after = after


def _reason(chosen, batch):
    parts = []
    if chosen is not None:
        parts.append("voting change: " + chosen.describe())
    if batch:
        parts.append("batched: " + "; ".join(c.describe() for c in batch))
    return ". ".join(parts)


def _fault_tolerance(state):
    voters = sum(1 for m in state[0].values() if m["votes"] > 0)
    return voters - (voters // 2 + 1)


def _elections(moves):
    """Elections a step causes: a stepdown before it and a priority takeover after it."""
    stepdown_to, takeover_to, _after = moves
    return int(bool(stepdown_to)) + int(bool(takeover_to))


def _valid_step(state, previous_doc, target_version):
    if _base_voters(state) > MAX_VOTING_MEMBERS:
        return False
    doc = _document(previous_doc, state, (ReplSetConfig(previous_doc).version or 0) + 1)
    return not validate_config(doc, current=previous_doc, target_version=target_version).errors


_SEARCH_BUDGET = 3000  # step candidates examined before giving up
_EXTRA_STEPS = 2  # steps beyond the lower bound tried when rules force a longer plan


class _Search:
    """Depth-first search for the steps, best-scored candidates first.

    The first plan found is usually the answer. A dead end (a rule such as mongod's PSA
    check that only an earlier choice could have avoided) is undone instead of failing
    the plan, and while the plan found moves the primary more than once the search goes on,
    within its budget, for one that moves it less (branch and bound on elections).
    """

    def __init__(self, changes, base_doc, base_version, target_version, budget, preferred):
        self.changes = changes
        self.preferred = preferred
        self.base_doc = base_doc
        self.base_version = base_version
        self.target_version = target_version
        self.budget = budget
        self.best = None  # (elections, path)

    def run(self, state, steps, primary):
        self._extend(state, self.base_doc, set(), steps, 1, primary, 0, [])
        return self.best[1] if self.best else None

    def _good_enough(self):
        return self.best is not None and self.best[0] <= 1

    def _extend(self, state, previous_doc, applied, steps, number, primary, elections, path):
        if number > steps:
            if len(applied) == len(self.changes) and (self.best is None or elections < self.best[0]):
                self.best = (elections, list(path))
            return
        for chosen, batch, trial in self._candidates(state, previous_doc, applied, primary, steps - number + 1):
            if self.budget <= 0 or self._good_enough():
                return
            self.budget -= 1
            moves = _primary_moves(state, trial, primary, self.preferred)
            moved = _elections(moves)
            if self.best is not None and elections + moved >= self.best[0]:
                continue
            doc = _document(self.base_doc, trial, self.base_version + number)
            done = applied | set(id(c) for c in ([chosen] if chosen is not None else []) + batch)
            path.append((chosen, batch, trial))
            after = moves[2]
            self._extend(trial, doc, done, steps, number + 1, after, elections + moved, path)
            path.pop()

    def _candidates(self, state, previous_doc, applied, primary, steps_left):
        """Valid steps from `state`, best first: at most one voting change plus free changes
        (on the last step: all that remain). A step without a voting change is considered
        only when more steps are left than voting changes."""
        last = steps_left == 1
        pending = [c for c in self.changes if id(c) not in applied]
        free = sorted((c for c in pending if not c.voting), key=_free_order)
        voting = [c for c in pending if c.voting and (c.requires is None or id(c.requires) in applied)]
        blockers = set(id(c.requires) for c in pending if c.requires is not None)
        options = []
        seen = set()
        spare = steps_left > len([c for c in pending if c.voting])
        for chosen in voting + ([None] if spare or not voting else []):
            now = applied | ({id(chosen)} if chosen is not None else set())
            ready_free = [c for c in free if (c.requires is None or id(c.requires) in applied)
                          and (c.follows is None or id(c.follows) in now)]
            base = _apply(state, chosen) if chosen is not None else state
            if last:
                batches = [ready_free] if len(ready_free) == len(free) else []
            else:
                sparing = [c for c in ready_free if c.host != primary]  # the primary's own change waits
                batches = [ready_free, _greedy_batch(ready_free, base, previous_doc, self.target_version),
                           sparing, _greedy_batch(sparing, base, previous_doc, self.target_version), []]
            for batch in batches:
                key = (id(chosen), tuple(id(c) for c in batch))
                if key in seen:
                    continue
                seen.add(key)
                trial = base
                for change in batch:
                    trial = _apply(trial, change)
                if not _valid_step(trial, previous_doc, self.target_version):
                    continue
                moves = _primary_moves(state, trial, primary, self.preferred)
                if moves[0] is False:
                    continue  # the primary would have to step down with nobody to take over
                moved = _elections(moves)
                touches_primary = chosen is not None and chosen.host == primary and not chosen.gains_vote
                score = (-moved, chosen is not None and id(chosen) in blockers,
                         _fault_tolerance(trial), chosen is not None and chosen.gains_vote, not touches_primary,
                         len(batch), -(chosen.member_id or 0) if chosen is not None else 0)
                options.append((score, len(options), chosen, batch, trial))
        options.sort(key=lambda option: (option[0], -option[1]), reverse=True)
        return [(chosen, batch, trial) for _score, _order, chosen, batch, trial in options]


def _greedy_batch(ready_free, base, previous_doc, target_version):
    """As many free changes as keep the step valid, in _free_order."""
    batch = []
    candidate = base
    for change in ready_free:
        trial = _apply(candidate, change)
        if _valid_step(trial, previous_doc, target_version):
            batch.append(change)
            candidate = trial
    return batch


def _free_order(change):
    """Edits (priorities first, so the primary moves once) before additions, settings last;
    additions by priority, highest first, so a future primary joins early."""
    order = {"edit": 0, "remove": 1, "add": 2, "settings": 3, "top": 3}[change.kind]
    priority = change.after["priority"] if change.kind == "add" else 0
    return (order, -priority, change.member_id if change.member_id is not None else -1)


def render_plan_markdown(plan):
    """The plan as a Markdown table (check mode output, pull-request comments)."""
    if not plan.steps:
        return "No change: the live config already matches the desired one."
    lines = ["Reconfiguration plan: %d step(s) (lower bound %d, %d voting change(s)), %d election(s) expected"
             % (len(plan.steps), plan.lower_bound, plan.voting_changes, plan.elections_expected), "",
             "| # | action | version | changes |", "|---|---|---|---|"]
    for index, action in enumerate(plan.actions, 1):
        if action["action"] == "reconfig":
            step = plan.steps[action["step"] - 1]
            lines.append("| %d | reconfig step %d | %d | %s |"
                         % (index, step.number, step.config["version"], "<br>".join(step.changes)))
        else:
            lines.append("| %d | %s | | %s -> %s: %s |"
                         % (index, action["action"], action["from"], action["to"], action["reason"]))
    return "\n".join(lines)
