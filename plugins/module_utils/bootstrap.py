# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a new replica set with authorization starts (pure: plain data in, plain data out).

mongod lets only a connection on a member's own loopback interface run the first commands of a new
deployment with access control on (the localhost exception: mongod source
src/mongo/db/auth/authorization_session_impl.cpp, AuthorizationSessionImpl::isUsingLocalhostBypass,
which requires the client to be local, and the exception closes once any user exists). A
controller that reaches members by their network addresses cannot initiate the set or create its
first user. So the bootstrap runs on one member, through its loopback:

1. initiate a ONE-member set: that member alone, electable with one vote. A single electable node
   elects itself at once after replSetInitiate (no election timeout to wait, no later priority
   takeover: the bootstrap member is one of the desired config's highest-priority members);
2. create the first administrator there (it is primary);
3. the rest is an ordinary reconfiguration from wherever the operator runs Ansible, authenticated:
   rs_config plans from the one-member config to the desired one through steps mongod accepts.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

LOOPBACK_PREFIXES = ("127.", "localhost", "[::1]", "::1")


class BootstrapError(Exception):
    """The desired config offers no member to start the set from, or names one that cannot."""


def _number(member, key, default):
    """member[key] as a number; BootstrapError naming the member and the field otherwise (the bootstrap
    runs on a member host, without the full validator and its jsonschema)."""
    value = member.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BootstrapError("member %s: %s must be a number, got %r" % (member.get("host", "?"), key, value))
    return value


def _electable(member):
    return (not member.get("arbiterOnly") and not member.get("hidden") and _number(member, "priority", 1) > 0
            and _number(member, "votes", 1) == 1
            and not _number(member, "secondaryDelaySecs", member.get("slaveDelay", 0)))


def _members(config):
    members = config.get("members")
    if not isinstance(members, list) or not all(isinstance(m, dict) and isinstance(m.get("host"), str) for m in members):
        raise BootstrapError("the config of %r must have members, each a mapping with a host" % config.get("_id"))
    for member in members:
        _electable(member)  # its numbers are numbers
    return members


def choose_bootstrap_member(config):
    """The host of the member to start the set from: an electable data-bearing voter of the
    highest priority, the first of them in the config's order."""
    candidates = [m for m in _members(config) if _electable(m)]
    if not candidates:
        raise BootstrapError(
            "replica set %r has no electable data-bearing voter (priority > 0, votes 1, not hidden, not delayed, "
            "not an arbiter) to initiate it from; give one member priority and a vote" % config.get("_id"))
    top = max(m.get("priority", 1) for m in candidates)
    return next(m["host"] for m in candidates if m.get("priority", 1) == top)


def bootstrap_config(desired, member_host):
    """The one-member config that starts the set from `member_host` (a host of the desired config).

    The member keeps its _id and tags, and gets priority (at least 1) and a vote. Settings are kept
    except the write-concern modes: a mode names tag values that only the other members carry, and
    mongod refuses a config whose modes no member set can satisfy (ReplSetConfig::validate); the
    apply step adds them together with the members."""
    member = next((dict(m) for m in _members(desired) if m.get("host") == member_host), None)
    if member is None:
        raise BootstrapError("%s is not a member of the desired config of %r (members: %s)" % (
            member_host, desired.get("_id"), ", ".join(m.get("host", "?") for m in desired.get("members", []))))
    if not _electable(member):
        raise BootstrapError("%s cannot start replica set %r: the first member must be an electable data-bearing "
                             "voter (it is %s)" % (member_host, desired.get("_id"), describe_member(member)))
    member["priority"] = max(_number(member, "priority", 1), 1)
    member["votes"] = 1
    config = {"_id": desired["_id"], "version": 1, "members": [member]}
    for key in ("protocolVersion", "writeConcernMajorityJournalDefault", "configsvr"):
        if key in desired:
            config[key] = desired[key]
    settings = dict(desired.get("settings") or {})
    settings.pop("getLastErrorModes", None)
    settings.pop("getLastErrorDefaults", None)
    if settings:
        config["settings"] = settings
    return config


def describe_member(member):
    if member.get("arbiterOnly"):
        return "an arbiter"
    parts = []
    if member.get("hidden"):
        parts.append("hidden")
    if member.get("priority", 1) == 0:
        parts.append("priority 0")
    if member.get("votes", 1) == 0:
        parts.append("without a vote")
    if member.get("secondaryDelaySecs", member.get("slaveDelay", 0)):
        parts.append("delayed")
    return ", ".join(parts) or "electable"


def loopback_address(member_host):
    """Where the bootstrap connects on the member itself: the member's own address when that is a
    loopback address (emulated members on 127.0.0.x), else 127.0.0.1 (mongod_bind_ip includes it)."""
    host, _sep, port = member_host.rpartition(":")
    if not host:
        host, port = member_host, "27017"
    if host.startswith(LOOPBACK_PREFIXES):
        return host.strip("[]"), int(port)
    return "127.0.0.1", int(port)


def bootstrap_inventory_host(desired, hosts_to_inventory, member=None):
    """The inventory host of the bootstrap member (`member`, or the one choose_bootstrap_member picks):
    where the bootstrap task runs. `hosts_to_inventory` maps each config host to its inventory host."""
    member = member or choose_bootstrap_member(desired)
    if member not in hosts_to_inventory:
        raise BootstrapError("%s, the member to start replica set %r from, is no host of the inventory (hosts: %s)"
                             % (member, desired.get("_id"), ", ".join(sorted(hosts_to_inventory)) or "none"))
    return hosts_to_inventory[member]
