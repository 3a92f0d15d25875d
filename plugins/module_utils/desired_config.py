# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory variables -> the desired replica set configuration document.

Each member is described by its host variables (see schemas/topology.schema.json):
mongodb_host, mongodb_port, mongodb_datacenter, mongodb_rack, mongodb_priority,
mongodb_votes, mongodb_arbiter, mongodb_hidden, mongodb_secondary_delay_secs,
mongodb_build_indexes, mongodb_tags, mongodb_member_id.

Voting policy when more than 7 members would vote (mongod allows 7 voters):
  1. members pinned as voters keep their vote: arbiters, mongodb_votes: 1 set
     explicitly, or mongodb_priority > 0 set explicitly;
  2. the remaining votes, up to 7 in all, go one at a time to the datacenter that has
     the fewest votes so far (pinned ones included); ties go to the datacenter holding
     the highest priority, then the larger one, then by name; inside a datacenter the
     vote goes by priority (highest first), then inventory order;
  3. every other member gets votes: 0 and priority: 0.
More than 7 pinned voters is an error. The result does not depend on dict ordering.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import (
    DEFAULT_PORT,
    MAX_VOTING_MEMBERS,
    HostParseError,
    ReplSetConfig,
    normalize_host,
    parse_host,
    parse_version,
    tag_values,
)

MEMBER_VARS = (
    "mongodb_host", "mongodb_port", "mongodb_member_id", "mongodb_datacenter", "mongodb_rack",
    "mongodb_priority", "mongodb_votes", "mongodb_arbiter", "mongodb_hidden",
    "mongodb_secondary_delay_secs", "mongodb_build_indexes", "mongodb_tags",
)


class DesiredConfigError(ValueError):
    """The inventory cannot be turned into a config document; the message names the host."""


def _bool(value, name, who):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise DesiredConfigError("%s: %s must be a boolean, got %r" % (who, name, value))


def _number(value, name, who, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DesiredConfigError("%s: %s must be a number, got %r" % (who, name, value))
    try:
        number = float(value)
    except ValueError:
        raise DesiredConfigError("%s: %s must be a number, got %r" % (who, name, value))
    if integer:
        if not number.is_integer():
            raise DesiredConfigError("%s: %s must be a whole number, got %r" % (who, name, value))
        return int(number)
    return int(number) if number.is_integer() else number


class _Spec:
    """One member as the inventory describes it."""

    def __init__(self, index, hostvars, domain_key, rack_key):
        self.index = index
        get = hostvars.get
        name = get("mongodb_host") or get("inventory_hostname")
        if not isinstance(name, str) or not name.strip():
            raise DesiredConfigError("member %d: mongodb_host (or inventory_hostname) is required" % index)
        port = get("mongodb_port")
        if port is not None:
            port = _number(port, "mongodb_port", name, integer=True)
            if name.count(":") > 1 and not name.startswith("["):
                name = "[%s]" % name  # an IPv6 literal
            self.host = normalize_host("%s:%d" % (name, port)) if not name.rsplit("]", 1)[-1].count(":") else None
        else:
            self.host = normalize_host(name)
        if self.host is None:
            raise DesiredConfigError("%s: not a valid host[:port] (mongodb_host %r, mongodb_port %r)" % (name, name, port))
        who = self.host
        self.who = who
        self.arbiter = _bool(get("mongodb_arbiter", False), "mongodb_arbiter", who)
        self.hidden = _bool(get("mongodb_hidden", False), "mongodb_hidden", who)
        self.build_indexes = _bool(get("mongodb_build_indexes", True), "mongodb_build_indexes", who)
        delay = get("mongodb_secondary_delay_secs")
        self.delay = _number(delay, "mongodb_secondary_delay_secs", who, integer=True) if delay is not None else 0
        votes = get("mongodb_votes")
        self.explicit_votes = _number(votes, "mongodb_votes", who, integer=True) if votes is not None else None
        if self.explicit_votes not in (None, 0, 1):
            raise DesiredConfigError("%s: mongodb_votes must be 0 or 1, got %r" % (who, votes))
        priority = get("mongodb_priority")
        self.explicit_priority = _number(priority, "mongodb_priority", who) if priority is not None else None
        member_id = get("mongodb_member_id")
        self.explicit_id = _number(member_id, "mongodb_member_id", who, integer=True) if member_id is not None else None
        self.datacenter = get("mongodb_datacenter")
        self.rack = get("mongodb_rack")
        extra = get("mongodb_tags") or {}
        if not isinstance(extra, Mapping):
            raise DesiredConfigError("%s: mongodb_tags must be a mapping, got %r" % (who, extra))
        self.tags = {}
        if not self.arbiter:
            if self.datacenter is not None:
                self.tags[domain_key] = str(self.datacenter)
            if self.rack is not None:
                self.tags[rack_key] = str(self.rack)
            for key, value in extra.items():
                self.tags[str(key)] = str(value)
        elif extra:
            raise DesiredConfigError("%s: an arbiter cannot carry tags (mongodb_tags)" % who)

    @property
    def default_priority(self):
        if self.arbiter or self.hidden or self.delay > 0 or not self.build_indexes or self.explicit_votes == 0:
            return 0
        return 1

    @property
    def priority(self):
        return self.explicit_priority if self.explicit_priority is not None else self.default_priority

    @property
    def wants_vote(self):
        return self.explicit_votes != 0

    @property
    def pinned_voter(self):
        return self.arbiter or self.explicit_votes == 1 or (self.explicit_priority or 0) > 0


def _choose_voters(specs):
    """The members that vote, by the policy in the module docstring."""
    candidates = [s for s in specs if s.wants_vote]
    if len(candidates) <= MAX_VOTING_MEMBERS:
        return set(s.index for s in candidates)
    pinned = [s for s in candidates if s.pinned_voter]
    if len(pinned) > MAX_VOTING_MEMBERS:
        raise DesiredConfigError("%d members are pinned as voters (arbiters, mongodb_votes: 1 or mongodb_priority > 0): "
                                 "%s; at most %d members can vote"
                                 % (len(pinned), ", ".join(s.who for s in pinned), MAX_VOTING_MEMBERS))
    chosen = set(s.index for s in pinned)
    by_dc = {}
    for spec in candidates:
        if spec.index not in chosen:
            by_dc.setdefault(str(spec.datacenter), []).append(spec)
    for queue in by_dc.values():
        queue.sort(key=lambda s: (-s.priority, s.index))
    order = sorted(by_dc, key=lambda dc: (-max(s.priority for s in by_dc[dc]), -len(by_dc[dc]), dc))
    rank = dict((dc, i) for i, dc in enumerate(order))
    votes = dict((dc, 0) for dc in order)
    for spec in pinned:
        votes[str(spec.datacenter)] = votes.get(str(spec.datacenter), 0) + 1
    while len(chosen) < MAX_VOTING_MEMBERS and any(by_dc.values()):
        dc = min((dc for dc in order if by_dc[dc]), key=lambda d: (votes[d], rank[d]))
        chosen.add(by_dc[dc].pop(0).index)
        votes[dc] += 1
    return chosen


def _assign_ids(specs, current):
    ids = {}
    used = set(s.explicit_id for s in specs if s.explicit_id is not None)
    live = ReplSetConfig(current) if current else None
    for spec in specs:
        if spec.explicit_id is not None:
            ids[spec.index] = spec.explicit_id
        elif live is not None:
            before = live.member_by_host(spec.host)
            if before is not None and before.id is not None and before.id not in used:
                ids[spec.index] = before.id
                used.add(before.id)
    if live is not None:
        used.update(m.id for m in live.members if m.id is not None)
    next_id = 0
    for spec in specs:
        if spec.index not in ids:
            while next_id in used:
                next_id += 1
            ids[spec.index] = next_id
            used.add(next_id)
    return ids


def auto_write_concern_modes(specs_or_config, domain_key="dc", rack_key="rack"):
    """multiDC {dc: 2} when data-bearing members span 2+ datacenters; multiRack {rack: 2} likewise."""
    members = ReplSetConfig(specs_or_config).members
    modes = {}
    for mode, key in (("multiDC", domain_key), ("multiRack", rack_key)):
        values = tag_values(members, key)
        if len(values) >= 2:
            modes[mode] = {key: 2}
    return modes


def _inventory_name(members, index):
    name = members[index].get("inventory_hostname")
    return name if isinstance(name, str) and name else "#%d in the list" % index


def _duplicate_addresses(specs, members):
    seen, found = {}, []
    for spec in specs:
        if spec.host in seen:
            first = seen[spec.host]
            found.append("inventory hosts %s and %s both have the address %s (mongodb_host, or the inventory host name, "
                         "with mongodb_port, default %d): %s is listed twice, and a replica set lists each mongod once; "
                         "give each inventory host its own mongodb_host or mongodb_port, or remove one of them"
                         % (_inventory_name(members, first), _inventory_name(members, spec.index), spec.host,
                            DEFAULT_PORT, spec.host))
        else:
            seen[spec.host] = spec.index
    return found


def inventory_errors(members, domain_key="dc", rack_key="rack"):
    """What in these members' host variables build_desired_config would refuse, as messages that
    name the inventory host (an empty list when nothing). Playbooks check this first, so that a bad
    inventory fails as a task that says what to fix, not as a failed filter inside another task."""
    if not isinstance(members, (list, tuple)) or not members:
        return ["members must be a non-empty list of host variable mappings"]
    found, specs = [], []
    for index, hostvars in enumerate(members):
        if not isinstance(hostvars, Mapping):
            found.append("member %d: expected a mapping of host variables, got %r" % (index, hostvars))
            continue
        try:
            specs.append(_Spec(index, hostvars, domain_key, rack_key))
        except DesiredConfigError as exc:
            found.append("inventory host %s: %s" % (_inventory_name(members, index), exc))
    return found + _duplicate_addresses(specs, members)


def build_desired_config(members, replset_name, settings=None, write_concern_modes=None, current=None,
                         target_version="8.0", domain_key="dc", rack_key="rack"):
    """Build the config document for `members` (a list of host-variable mappings).

    current: the live config, whose member _ids, version and replicaSetId are kept.
    write_concern_modes: a getLastErrorModes mapping, 'auto' (see auto_write_concern_modes),
    or None to take settings.getLastErrorModes as given.
    """
    version = parse_version(target_version)
    if not isinstance(replset_name, str) or not replset_name:
        raise DesiredConfigError("replset_name must be a non-empty string, got %r" % (replset_name,))
    if not isinstance(members, (list, tuple)) or not members:
        raise DesiredConfigError("members must be a non-empty list of host variable mappings")
    specs = []
    for index, hostvars in enumerate(members):
        if not isinstance(hostvars, Mapping):
            raise DesiredConfigError("member %d: expected a mapping of host variables, got %r" % (index, hostvars))
        specs.append(_Spec(index, hostvars, domain_key, rack_key))
    duplicates = _duplicate_addresses(specs, members)
    if duplicates:
        raise DesiredConfigError(duplicates[0])
    voters = _choose_voters(specs)
    ids = _assign_ids(specs, current)
    delay_field = "secondaryDelaySecs" if version >= (5, 0) else "slaveDelay"
    docs = []
    for spec in specs:
        votes = 1 if spec.index in voters else 0
        doc = {
            "_id": ids[spec.index],
            "host": spec.host,
            "arbiterOnly": spec.arbiter,
            "buildIndexes": spec.build_indexes,
            "hidden": spec.hidden,
            "priority": spec.priority if votes or not spec.wants_vote else 0,
            "tags": dict(sorted(spec.tags.items())),
            delay_field: spec.delay,
            "votes": votes,
        }
        docs.append(doc)
    config = {"_id": replset_name, "version": 1, "members": docs}
    if settings is not None and not isinstance(settings, Mapping):
        raise DesiredConfigError("settings must be a mapping of mongod's settings fields, got %r" % (settings,))
    out_settings = dict(settings or {})
    if current:
        live = ReplSetConfig(current)
        config["version"] = (live.version or 0) + 1
        if "replicaSetId" in live.settings and "replicaSetId" not in out_settings:
            out_settings["replicaSetId"] = live.settings["replicaSetId"]
    if write_concern_modes == "auto":
        modes = auto_write_concern_modes(config, domain_key, rack_key)
        if modes:
            out_settings["getLastErrorModes"] = modes
    elif isinstance(write_concern_modes, dict):
        out_settings["getLastErrorModes"] = dict(write_concern_modes)
    elif write_concern_modes is not None:
        raise DesiredConfigError("write_concern_modes must be a mapping or 'auto', got %r" % (write_concern_modes,))
    if out_settings:
        config["settings"] = out_settings
    return config


def align_member_ids(desired, current):
    """`desired` with each member's _id taken from `current` for the same host, and new
    members moved to _ids the current config does not use (lowest first), so that a host
    never changes _id whatever order the inventory lists it in."""
    live = ReplSetConfig(current)
    wanted = ReplSetConfig(desired)
    taken = set(m.id for m in live.members if m.id is not None)
    kept = {}
    for m in wanted.members:
        before = live.member_by_host(m.host) if m.host else None
        if before is not None and before.id is not None:
            kept[m.index] = before.id
    taken.update(kept.values())
    result = dict(desired)
    result["members"] = []
    next_id = 0
    for m in wanted.members:
        doc = dict(m.doc)
        if m.index in kept:
            doc["_id"] = kept[m.index]
        else:
            while next_id in taken:
                next_id += 1
            doc["_id"] = next_id
            taken.add(next_id)
        result["members"].append(doc)
    return result


def member_domains(members, default_port=DEFAULT_PORT):
    """host:port -> datacenter for every member with mongodb_datacenter (arbiters included)."""
    domains = {}
    for index, hostvars in enumerate(members or []):
        if not isinstance(hostvars, Mapping) or hostvars.get("mongodb_datacenter") is None:
            continue
        spec = _Spec(index, hostvars, "dc", "rack")
        domains[spec.host] = str(spec.datacenter)
    return domains


def member_vars_from_config(config, domain_key="dc", rack_key="rack"):
    """The inverse of build_desired_config: host variables that describe a live config.

    Useful to adopt an existing set into an inventory; arbiters lose their datacenter
    (the config cannot hold it).
    """
    result = []
    for m in ReplSetConfig(config).members:
        try:
            name, port = parse_host(m.host)
        except HostParseError as exc:
            raise DesiredConfigError("members[%d]: cannot read host %r: %s" % (m.index, m.host, exc))
        hostvars = {"mongodb_host": name, "mongodb_port": port, "mongodb_member_id": m.id,
                    "mongodb_priority": m.base_priority, "mongodb_votes": m.base_votes}
        tags = dict(m.tags)
        if domain_key in tags:
            hostvars["mongodb_datacenter"] = tags.pop(domain_key)
        if rack_key in tags:
            hostvars["mongodb_rack"] = tags.pop(rack_key)
        if tags:
            hostvars["mongodb_tags"] = tags
        for var, value, default in (("mongodb_arbiter", m.arbiter, False), ("mongodb_hidden", m.hidden, False),
                                    ("mongodb_build_indexes", m.build_indexes, True),
                                    ("mongodb_secondary_delay_secs", m.delay, 0)):
            if value != default:
                hostvars[var] = value
        result.append(hostvars)
    return result


def inventory_hosts(members):
    """host:port (as in the desired config) -> inventory_hostname, for every member."""
    return dict((_Spec(index, hostvars, "dc", "rack").host, hostvars.get("inventory_hostname"))
                for index, hostvars in enumerate(members or []) if isinstance(hostvars, Mapping))
