# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the info module reports, as data (pure): which sections to gather, and each section
shaped from mongod's answers - never a credential, and JSON-safe for Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import fcv_state

SECTIONS = ("version", "fcv", "storage", "parameters", "databases", "users", "roles", "replication")
# Sections that need a login (everything but buildInfo and hello, which mongod answers unauthenticated).
NEED_LOGIN = frozenset(("fcv", "storage", "parameters", "databases", "users", "roles"))
DEFAULT_PARAMETERS = (
    "authenticationMechanisms", "clusterAuthMode", "tlsMode", "enableLocalhostAuthBypass", "logLevel",
    "cursorTimeoutMillis", "transactionLifetimeLimitSeconds", "maxTransactionLockRequestTimeoutMillis",
    "diagnosticDataCollectionEnabled", "replWriterThreadCount", "enableFlowControl", "ttlMonitorEnabled",
)
# Fields of a usersInfo entry that are reported; anything else (credentials, SCRAM salts and keys,
# a userId binary) is dropped even if a server sends it.
USER_FIELDS = ("user", "db", "roles", "mechanisms", "customData", "authenticationRestrictions")
ROLE_FIELDS = ("role", "db", "privileges", "roles", "authenticationRestrictions")


class GatherError(ValueError):
    """A gather entry that names no section."""


def select_sections(gather):
    """The sections to gather, in SECTIONS order: names include, !names exclude, "all" is every
    section; only exclusions means every section but those (as postgresql_info's filter)."""
    include, exclude = set(), set()
    for entry in gather or ["all"]:
        name = entry.strip()
        target = exclude if name.startswith("!") else include
        name = name.lstrip("!")
        if name == "all":
            target.update(SECTIONS)
        elif name in SECTIONS:
            target.add(name)
        else:
            raise GatherError("gather: %r is not a section (the sections are %s, all, or !section to leave one "
                              "out)" % (entry, ", ".join(SECTIONS)))
    if not include:
        include = set(SECTIONS)
    return [s for s in SECTIONS if s in include and s not in exclude]


def json_safe(value):
    """mongod's answer as plain JSON values: Int64 as int, dates as ISO 8601, Timestamp as
    [seconds, increment], ObjectId, UUID, Decimal128 and binary data as text."""
    if isinstance(value, dict):
        return dict((str(k), json_safe(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if hasattr(value, "time") and hasattr(value, "inc"):  # bson.Timestamp
        return [int(value.time), int(value.inc)]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def version_section(build_info, hello):
    """The release from buildInfo; the wire version from hello (buildInfo has none)."""
    return {"version": build_info.get("version"), "git_version": build_info.get("gitVersion"),
            "version_array": json_safe(build_info.get("versionArray")),
            "modules": json_safe(build_info.get("modules") or []),
            "max_wire_version": hello.get("maxWireVersion")}


def fcv_section(reply):
    """getParameter featureCompatibilityVersion, in every shape mongod 4.4-8.0 answers:
    {version} when stable; {version, targetVersion} while upgrading (targetVersion above
    version) or downgrading (4.4: targetVersion equal to version); {version, targetVersion,
    previousVersion} while downgrading (5.0 on). Before 3.6 it was a bare string.
    state is stable, upgrading or downgrading (upgrade.fcv_state, shared with the upgrade planner)."""
    raw = reply.get("featureCompatibilityVersion")
    if isinstance(raw, str):
        raw = {"version": raw}
    raw = raw or {}
    version, target, previous = raw.get("version"), raw.get("targetVersion"), raw.get("previousVersion")
    state = fcv_state(raw)
    return {"version": version, "target_version": target, "previous_version": previous, "state": state,
            "raw": json_safe(raw)}


def storage_section(server_status):
    engine = server_status.get("storageEngine") or {}
    return {"engine": engine.get("name"), "persistent": engine.get("persistent"),
            "supports_committed_reads": engine.get("supportsCommittedReads"),
            "read_only": engine.get("readOnly", False)}


def parameters_section(reply, names):
    """The asked parameters mongod answered, and those it does not know (getParameter leaves out
    the names it does not know, and fails only when it knows none: src/mongo/db/commands/parameters.cpp)."""
    values = dict((name, json_safe(reply[name])) for name in names if reply is not None and name in reply)
    return {"values": values, "unknown": [name for name in names if name not in values]}


def databases_section(reply):
    databases = [{"name": d.get("name"), "size_on_disk": json_safe(d.get("sizeOnDisk")), "empty": d.get("empty")}
                 for d in reply.get("databases") or []]
    return {"databases": sorted(databases, key=lambda d: d["name"] or ""),
            "total_size": json_safe(reply.get("totalSize"))}


def users_section(users):
    """usersInfo entries without anything but USER_FIELDS (never credentials), sorted."""
    kept = [dict((k, json_safe(u[k])) for k in USER_FIELDS if k in u) for u in users or []]
    return sorted(kept, key=lambda u: (u.get("db") or "", u.get("user") or ""))


def roles_section(roles):
    kept = [dict((k, json_safe(r[k])) for k in ROLE_FIELDS if k in r) for r in roles or []]
    return sorted(kept, key=lambda r: (r.get("db") or "", r.get("role") or ""))


def replication_section(hello, status=None, config=None):
    """The set as hello, replSetGetStatus and replSetGetConfig give it: name, primary, term,
    config version and term, and each member's host, state, health, votes and priority. A
    standalone (no setName in hello) reports enabled: false."""
    if not hello.get("setName"):
        return {"enabled": False}
    section = {"enabled": True, "set": hello.get("setName"), "primary": hello.get("primary"),
               "answered_by": hello.get("me"), "config_version": hello.get("setVersion"), "members": []}
    if status is None:  # an arbiter (no login there): what its hello says
        section["members"] = [{"host": h} for h in hello.get("hosts", []) + hello.get("arbiters", [])]
        return section
    config = config or {}
    by_host = dict((m.get("host"), m) for m in config.get("members") or [])
    section.update(term=json_safe(status.get("term")), config_version=config.get("version"),
                   config_term=json_safe(config.get("term")))
    for member in status.get("members") or []:
        conf = by_host.get(member.get("name"), {})
        section["members"].append({
            "host": member.get("name"), "id": member.get("_id"), "state": member.get("stateStr"),
            "health": json_safe(member.get("health")), "votes": conf.get("votes", 1),
            "priority": json_safe(conf.get("priority", 1)), "hidden": bool(conf.get("hidden", False)),
            "arbiter": bool(conf.get("arbiterOnly", False)), "self": bool(member.get("self"))})
        if member.get("stateStr") == "PRIMARY":
            section["primary"] = member.get("name")
    return section
