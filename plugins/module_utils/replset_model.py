# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-data model of a replica set configuration document, read the way mongod reads it.

Pure: no I/O and no pymongo import. Every accessor is tolerant: a field of the wrong
type is read as its default (the schema pass reports the type error), so the semantic
rules can run on a broken document and still report everything at once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from functools import cached_property

DEFAULT_PORT = 27017
MAX_MEMBERS = 50
MAX_VOTING_MEMBERS = 7
SUPPORTED_VERSIONS = ("4.4", "5.0", "6.0", "7.0", "8.0")

# mongod's error codes (src/mongo/base/error_codes.yml) used by the validator.
ERROR_CODES = {
    "BadValue": 2,
    "NoSuchKey": 4,
    "FailedToParse": 9,
    "UnsupportedFormat": 12,
    "TypeMismatch": 14,
    "NodeNotFound": 74,
    "UnknownReplWriteConcern": 79,
    "InvalidReplicaSetConfig": 93,
    "UnsatisfiableWriteConcern": 100,
    "NewReplicaSetConfigurationIncompatible": 103,
    "NodeNotElectable": 104,
    "RepairedReplicaSetNode": 270,
}


class HostParseError(ValueError):
    """A members[].host value mongod could not parse (FailedToParse)."""


def parse_version(text):
    """'7.0' -> (7, 0). Any major.minor from 4.4 to 8.x is accepted (rapid releases such as
    5.3 included); ValueError otherwise."""
    value = str(text).strip()
    parts = value.split(".")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and (4, 4) <= (int(parts[0]), int(parts[1])) < (9, 0):
        return int(parts[0]), int(parts[1])
    raise ValueError("target_version must be a MongoDB version from 4.4 to 8.x such as %s, got %r"
                     % (", ".join(SUPPORTED_VERSIONS), text))


def server_version_rules(version_string):
    """The target version for a server version string (buildInfo.version): its major.minor
    ('7.0.14' -> '7.0', '5.3.1' -> '5.3'), clamped to 4.4..8.x."""
    try:
        major, minor = (int(part) for part in str(version_string).split(".")[:2])
    except ValueError:
        return SUPPORTED_VERSIONS[-1]
    if (major, minor) < (4, 4):
        return "4.4"
    if major >= 9:
        return "8.0"
    return "%d.%d" % (major, minor)


def is_number(value):
    """A BSON number: int or float, never bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truncate(value, default):
    """numberInt()/safeInt64 semantics: a double is truncated towards zero, NaN is 0."""
    if not is_number(value):
        return default
    if isinstance(value, float) and math.isnan(value):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return default
    return int(value)


def safe_bool(value, default):
    """safeBool semantics: booleans, or numbers (non-zero is true)."""
    if isinstance(value, bool):
        return value
    if is_number(value):
        return value != 0
    return default


def parse_host(host):
    """Parse a host string like mongod's HostAndPort: returns (host, port).

    A missing port means 27017; IPv6 literals use brackets when a port is given.
    """
    if not isinstance(host, str):
        raise HostParseError("host must be a string")
    text = host.strip()
    if not text:
        raise HostParseError("host is empty")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise HostParseError("missing ']' in IPv6 address %r" % host)
        name, rest = text[1:end], text[end + 1:]
        if not name:
            raise HostParseError("empty IPv6 address in %r" % host)
        if not rest:
            return name, DEFAULT_PORT
        if not rest.startswith(":"):
            raise HostParseError("unexpected text after ']' in %r" % host)
        return name, _parse_port(rest[1:], host)
    if text.count(":") > 1:
        return text, DEFAULT_PORT  # an IPv6 literal without a port
    if ":" in text:
        name, port = text.split(":", 1)
        if not name:
            raise HostParseError("empty host name in %r" % host)
        return name, _parse_port(port, host)
    return text, DEFAULT_PORT


def _parse_port(text, original):
    if not text.isdigit():
        raise HostParseError("port %r in %r is not a number" % (text, original))
    port = int(text)
    if not 0 < port < 65536:
        raise HostParseError("port %d in %r is out of range 1-65535" % (port, original))
    return port


def normalize_host(host):
    """'a' -> 'a:27017'; None when the host cannot be parsed."""
    try:
        name, port = parse_host(host)
    except HostParseError:
        return None
    if ":" in name:
        return "[%s]:%d" % (name, port)
    return "%s:%d" % (name, port)


def is_localhost(name):
    """mongod's HostAndPort::isLocalHost on the host part."""
    return name == "localhost" or name.startswith("127.") or name == "::1"


def as_list(value):
    return value if isinstance(value, list) else []


def as_dict(value):
    return value if isinstance(value, dict) else {}


class Member:
    """Read-only view of one members[] entry with mongod's defaults and derived values
    (each computed once: the document must not change while the view is in use)."""

    def __init__(self, index, doc):
        self.index = index
        self.doc = doc if isinstance(doc, dict) else {}
        self.pointer = "/members/%d" % index

    @cached_property
    def id(self):
        return truncate(self.doc.get("_id"), None)

    @cached_property
    def host(self):
        value = self.doc.get("host")
        return value if isinstance(value, str) else None

    @cached_property
    def normalized_host(self):
        return normalize_host(self.host) if self.host is not None else None

    @cached_property
    def label(self):
        """How people name this member in messages."""
        return self.normalized_host or self.host or "members[%d]" % self.index

    @cached_property
    def arbiter(self):
        return safe_bool(self.doc.get("arbiterOnly"), False)

    @cached_property
    def hidden(self):
        return safe_bool(self.doc.get("hidden"), False)

    @cached_property
    def build_indexes(self):
        return safe_bool(self.doc.get("buildIndexes"), True)

    @cached_property
    def newly_added(self):
        return self.doc.get("newlyAdded") is True

    @cached_property
    def delay(self):
        value = self.doc.get("secondaryDelaySecs", self.doc.get("slaveDelay"))
        return truncate(value, 0)

    @cached_property
    def base_votes(self):
        return truncate(self.doc.get("votes"), 1)

    @cached_property
    def base_priority(self):
        value = self.doc.get("priority")
        priority = float(value) if is_number(value) else 1.0
        if self.arbiter and priority == 1.0:
            return 0.0  # mongod silently turns an arbiter's default priority into 0
        return priority

    @cached_property
    def votes(self):
        """getNumVotes(): a newlyAdded member does not vote yet."""
        return 0 if self.newly_added else self.base_votes

    @cached_property
    def priority(self):
        """getPriority(): a newlyAdded member cannot be elected yet."""
        return 0.0 if self.newly_added else self.base_priority

    @cached_property
    def is_voter(self):
        return self.votes > 0

    @cached_property
    def is_electable(self):
        return not self.arbiter and self.priority > 0

    @cached_property
    def tags(self):
        tags = self.doc.get("tags")
        if not isinstance(tags, dict):
            return {}
        return dict((k, v) for k, v in tags.items() if isinstance(v, str))


class ReplSetConfig:
    """Read-only view of a whole configuration document."""

    def __init__(self, doc):
        self.doc = doc if isinstance(doc, dict) else {}
        self.members = [Member(i, m) for i, m in enumerate(as_list(self.doc.get("members")))]

    @cached_property
    def name(self):
        value = self.doc.get("_id")
        return value if isinstance(value, str) else None

    @cached_property
    def version(self):
        value = self.doc.get("version")
        return int(value) if is_number(value) and float(value).is_integer() else None

    @cached_property
    def term(self):
        value = self.doc.get("term", -1)
        return int(value) if is_number(value) and float(value).is_integer() else -1

    @cached_property
    def settings(self):
        return as_dict(self.doc.get("settings"))

    @cached_property
    def write_concern_modes(self):
        return as_dict(self.settings.get("getLastErrorModes"))

    @cached_property
    def configsvr(self):
        return self.doc.get("configsvr") is True

    @cached_property
    def voters(self):
        return [m for m in self.members if m.is_voter]

    @cached_property
    def majority_vote_count(self):
        return len(self.voters) // 2 + 1

    @cached_property
    def write_majority_count(self):
        """min(majority, data-bearing voters), as mongod computes writeMajorityCount."""
        writable = len([m for m in self.voters if not m.arbiter])
        return min(self.majority_vote_count, writable)

    @cached_property
    def _by_id(self):
        index = {}
        for member in self.members:
            index.setdefault(member.id, member)
        return index

    @cached_property
    def _by_host(self):
        index = {}
        for member in self.members:
            if member.normalized_host is not None:
                index.setdefault(member.normalized_host, member)
        return index

    def member_by_id(self, member_id):
        """The first member with this _id, or None."""
        return self._by_id.get(member_id) if member_id is not None else None

    def member_by_host(self, host):
        """The first member whose host is `host` (ports normalised), or None."""
        wanted = normalize_host(host) if host is not None else None
        return self._by_host.get(wanted) if wanted is not None else None


def tag_values(members, key):
    """The distinct values of tag `key` among members (arbiters carry no tags): what a
    write-concern mode counts."""
    return set(m.tags[key] for m in members if not m.arbiter and key in m.tags)


def replica_set_id_hex(value):
    """The hex of a replicaSetId given as a bson ObjectId or as extended JSON {'$oid': hex}."""
    if isinstance(value, dict) and isinstance(value.get("$oid"), str):
        return value["$oid"].lower()
    if type(value).__name__ == "ObjectId":
        return str(value).lower()
    return None


def to_json_view(value):
    """Turn BSON values (ObjectId, Int64, Timestamp, datetime) into JSON-like data.

    The schema pass and the findings work on this view, so a config read from a live
    server (through pymongo) and one written in YAML are treated alike.
    """
    if isinstance(value, dict):
        return dict((str(k), to_json_view(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [to_json_view(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return int(value)  # bson.Int64 is an int subclass
    kind = type(value).__name__
    if kind == "Decimal128":  # mongod's number types accept decimals
        number = value.to_decimal()
        if not number.is_finite():
            return float(number)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "ObjectId":
        return {"$oid": str(value)}
    if kind == "Timestamp":
        return {"$timestamp": {"t": value.time, "i": value.inc}}
    if kind == "datetime":
        return {"$date": value.isoformat()}
    return value
