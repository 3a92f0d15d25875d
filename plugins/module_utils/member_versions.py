# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each member of a set runs (its release, from buildInfo) and the set's feature
compatibility version, read through the connection layer (mongo_client) - the inputs of the
upgrade planner (upgrade.py) and of the FCV module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import CommandFailed, ConnectionProblem
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, normalize_host
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import STATE_NAMES
from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import WIRE_VERSION_SERIES, fcv_of


def build_info(conn, host):
    """A member's buildInfo, sent without credentials first - mongod 4.4-8.0 answer it before
    authentication (src/mongo/db/commands/generic.cpp, CmdBuildInfo::requiresAuth() returns false) -
    then, where a server wants a login for it, with them (never to an arbiter: it has no users)."""
    try:
        return conn.admin("buildInfo", direct_host=host, authenticate=False, retries=1)
    except CommandFailed:
        raise
    except ConnectionProblem:
        if conn.is_arbiter(host):
            raise
        return conn.admin("buildInfo", direct_host=host, retries=1)


def running_version(conn, host):
    """The version a member runs: buildInfo's, or the release series its hello's maxWireVersion
    stands for when buildInfo cannot be had (an arbiter of a server that wants a login for it)."""
    try:
        return str(build_info(conn, host)["version"])
    except ConnectionProblem:
        wire = conn.hello(host).get("maxWireVersion")
        return WIRE_VERSION_SERIES.get(wire)


def feature_compatibility(conn, direct_host=None):
    """The featureCompatibilityVersion ({version[, targetVersion, previousVersion]}) as getParameter
    reports it, from the primary or from one member (the user needs clusterMonitor)."""
    return fcv_of(conn.admin({"getParameter": 1, "featureCompatibilityVersion": 1}, direct_host=direct_host))


def read_members(conn):
    """The set's members as the planner takes them: [{host, state, version, arbiter}] in the
    config's order; a member that does not answer has version None."""
    status = conn.status()
    config = ReplSetConfig(conn.config())
    states = dict((normalize_host(m.get("name")), m) for m in status.get("members") or [])
    members = []
    for configured in config.members:
        host = configured.normalized_host
        seen = states.get(host, {})
        version = None
        if seen.get("health") or seen.get("self"):
            try:
                version = running_version(conn, host)
            except ConnectionProblem:
                version = None
        members.append({"host": host, "state": STATE_NAMES.get(seen.get("state"), "UNKNOWN"),
                        "version": version, "arbiter": bool(configured.arbiter)})
    return members
