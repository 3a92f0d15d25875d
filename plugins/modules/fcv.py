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
  - A data-bearing member in another state than PRIMARY or SECONDARY (C(STARTUP2), C(RECOVERING), C(ROLLBACK), down)
    is waited for, within O(timeout); if it does not become one, the module fails naming it and its state, and sends
    nothing (every data-bearing member must be seen to report the new FCV).
  - Lowering the FCV (O(version) below the primary's) is the first step of a downgrade and is refused unless
    O(lower=true).
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
  lower:
    description: Allow O(version) below the FCV the primary reports (a downgrade's first step; MongoDB's release notes,
      Downgrade). Without it, lowering is refused and nothing is sent.
    type: bool
    default: false
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

- name: Lower the FCV to 6.0, the first step of a downgrade of 7.0 binaries to 6.0
  quorum.mongodb.fcv:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    version: "6.0"
    lower: true
  delegate_to: localhost
  run_once: true
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
    WaitTimeout,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import RELEASES, needs_confirm, series_of, version_tuple


def reported(conn, hosts):
    return dict((host, feature_compatibility(conn, host)) for host in hosts)


def not_ready(members):
    """The data-bearing members that are neither PRIMARY nor SECONDARY (STARTUP2, RECOVERING, ROLLBACK, DOWN...)."""
    return [m for m in members if not m["arbiter"] and m["state"] not in ("PRIMARY", "SECONDARY")]


def main():
    module = connection_module(dict(
        version=dict(type="str", required=True),
        timeout=dict(type="float", default=120),
        lower=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    version = (p["version"] or "").strip()
    if version not in RELEASES:
        module.fail_json(msg="version must be a release series among %s, got %r" % (", ".join(RELEASES), p["version"]))
    result = {"changed": False, "command": None}
    try:
        with connect(module) as conn:
            members = read_members(conn)
            if not_ready(members):
                try:
                    members, _polls = wait_until(lambda: read_members(conn), lambda seen: not not_ready(seen),
                                                 timeout=p["timeout"], what="every data-bearing member PRIMARY or SECONDARY")
                except WaitTimeout:
                    late = not_ready(read_members(conn))
                    module.fail_json(msg="%s after %.0f s: the FCV is set once every data-bearing member is PRIMARY or "
                                     "SECONDARY, so that each is seen to report it; bring %s back (or remove it from "
                                     "the set) and run again. Nothing was sent."
                                     % (", ".join("%s is %s" % (m["host"], m["state"]) for m in late), p["timeout"],
                                        "it" if len(late) == 1 else "them"), **result)
            data = [m["host"] for m in members if not m["arbiter"] and m["state"] in ("PRIMARY", "SECONDARY")]
            result["before"] = feature_compatibility(conn)
            result["members"] = reported(conn, data)
            if all(fcv == {"version": version} for fcv in result["members"].values()) and \
                    result["before"] == {"version": version}:
                module.exit_json(**result)
            primary_fcv = version_tuple(result["before"].get("version"))
            if primary_fcv and primary_fcv[:2] > version_tuple(version)[:2] and not p["lower"]:
                module.fail_json(msg="the FCV is %s and %s is lower: lowering it is the first step of a downgrade "
                                 "(release notes, Downgrade); pass lower: true if that is meant. Nothing was sent."
                                 % (result["before"]["version"], version), **result)
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
