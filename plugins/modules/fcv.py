#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fcv
short_description: Set a MongoDB replica set's feature compatibility version and wait until every member reports it
version_added: 0.2.0
description:
  - Runs C(setFeatureCompatibilityVersion) on the primary (with C(confirm=true) when the primary runs 7.0 or
    newer, as mongod requires from 7.0 on; with write concern C(majority)) and waits, for a bounded time, until
    every data-bearing member reports O(version) through C(getParameter) with no transition left.
  - Refuses, before sending anything, when a member (arbiters included) runs a binary older than O(version) -
    the step after a release's binaries are all in place, never before.
  - Nothing is sent when every data-bearing member reports O(version) already. Arbiters hold no data and no
    users, so they are not asked (their release is checked through C(buildInfo)/C(hello)).
  - From 7.0 on, MongoDB does not support lowering the binaries after the FCV was raised (Community Edition);
    raise it once the new release has run well for a while if you may want to go back.
author:
  - quorum.mongodb developers (!UNKNOWN)
requirements:
  - pymongo >= 4.0
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  version:
    description: The feature compatibility version, a release series (V(7.0), V(8.0)).
    type: str
    required: true
  timeout:
    description: Seconds to wait for the command (its write concern) and for every member to report the version.
    type: float
    default: 120
attributes:
  check_mode:
    support: full
    details: Reads the members' FCV and releases and reports whether it would change it.
  diff_mode:
    support: full
    details: The primary's FCV before and after.
"""

EXAMPLES = r"""
- name: Raise the FCV to 8.0 once every member runs 8.0
  quorum.mongodb.fcv:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    version: "8.0"
  delegate_to: localhost
  run_once: true

- name: Would the FCV change? (check mode, with a longer wait for a large set)
  quorum.mongodb.fcv:
    hosts: [db1.example.net:27017, db2.example.net:27017]
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    version: "7.0"
    timeout: 600
  check_mode: true
  delegate_to: localhost
"""

RETURN = r"""
before:
  description: The primary's FCV before (C(version), and C(targetVersion) while a change was under way).
  returned: success
  type: dict
  sample: {"version": "7.0"}
members:
  description: Each data-bearing member's FCV at the end (host -> C(version)[, C(targetVersion)]).
  returned: success
  type: dict
  sample: {"db1.example.net:27017": {"version": "8.0"}, "db2.example.net:27017": {"version": "8.0"}}
command:
  description: The command sent to the primary (or that would be, in check mode); null when nothing was to do.
  returned: success
  type: dict
  sample: {"setFeatureCompatibilityVersion": "8.0", "confirm": true}
"""

from ansible_collections.quorum.mongodb.plugins.module_utils.member_versions import feature_compatibility, read_members
from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionProblem,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import RELEASES, needs_confirm, series_of, version_tuple


def reported(conn, hosts):
    return dict((host, feature_compatibility(conn, host)) for host in hosts)


def main():
    module = connection_module(dict(
        version=dict(type="str", required=True),
        timeout=dict(type="float", default=120),
    ), supports_check_mode=True)
    p = module.params
    version = (p["version"] or "").strip()
    if version not in RELEASES:
        module.fail_json(msg="version must be a release series among %s, got %r" % (", ".join(RELEASES), p["version"]))
    result = {"changed": False, "command": None}
    try:
        with connect(module) as conn:
            members = read_members(conn)
            data = [m["host"] for m in members if not m["arbiter"] and m["state"] in ("PRIMARY", "SECONDARY")]
            result["before"] = feature_compatibility(conn)
            result["members"] = reported(conn, data)
            if all(fcv == {"version": version} for fcv in result["members"].values()) and \
                    result["before"] == {"version": version}:
                module.exit_json(**result)
            older = [m for m in members if m["version"] is None or version_tuple(m["version"])[:2] < version_tuple(version)[:2]]
            if older:
                module.fail_json(msg="the FCV is raised to %s only once every member runs %s; %s: upgrade those first "
                                 "(playbooks/upgrade.yml). Nothing was sent."
                                 % (version, version, ", ".join("%s runs %s" % (m["host"], m["version"] or "an unknown version")
                                                                for m in older)), **result)
            primary = next((m for m in members if m["state"] == "PRIMARY"), None)
            if primary is None:
                module.fail_json(msg="the set has no primary to set the FCV on; nothing was sent", **result)
            command = {"setFeatureCompatibilityVersion": version}
            if needs_confirm(series_of(primary["version"])):
                command["confirm"] = True  # mongod 7.0+ refuses the command without it
            result.update(changed=True, command=command)
            if not module.check_mode:
                conn.admin(dict(command, writeConcern={"w": "majority", "wtimeout": int(p["timeout"] * 1000)}),
                           retries=1)
                result["members"], _polls = wait_until(
                    lambda: reported(conn, data),
                    lambda seen: all(fcv == {"version": version} for fcv in seen.values()),
                    timeout=p["timeout"], what="every data-bearing member to report FCV %s" % version)
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc), **result)
    if module._diff:
        result["diff"] = {"before": {"featureCompatibilityVersion": (result.get("before") or {}).get("version")},
                          "after": {"featureCompatibilityVersion": version}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
