#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: upgrade_plan
short_description: Plan a rolling version upgrade of a MongoDB replica set, or say why not
version_added: 0.2.0
description:
  - Reads what every member runs (C(buildInfo), sent without credentials first; an arbiter's release from
    its C(hello) when its C(buildInfo) needs a login), the members' states and the set's feature
    compatibility version (FCV, C(getParameter) on the primary), and plans the upgrade to O(target) one
    release series at a time (4.4, 5.0, 6.0, 7.0, 8.0) - for each release the secondaries one at a time,
    the arbiters, the primary last after a stepdown to an upgraded member, then the FCV raised.
  - Refuses, before anything is touched and saying what to do, a target more than one release away
    (naming the release between, unless O(through_intermediate)), a member already on a newer release, an
    FCV left behind by an earlier upgrade (unless O(raise_fcv_left_behind)), an unhealthy set, an oplog
    that keeps entries for less than O(member_upgrade_seconds), and downgrades MongoDB does not support
    (binaries from 7.0 on; before that only with the FCV lowered first).
  - A member already on the target is skipped, so running the plan again after a failure resumes it.
  - Read-only; it installs nothing (roles/upgrade and playbooks/upgrade.yml carry the plan out).
author:
  - quorum.mongodb developers (!UNKNOWN)
requirements:
  - pymongo >= 4.0
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  target:
    description:
      - The version to reach - a release series (V(8.0), the newest patch its package repository serves) or
        an exact version (V(8.0.4)); playbooks pass the inventory's C(mongod_package_version) or
        C(mongod_version).
    type: str
    required: true
  through_intermediate:
    description: Plan a target more than one release away through every release between, in one run.
    type: bool
    default: false
  raise_fcv_left_behind:
    description: When the FCV is below the release every member runs (left behind by an earlier upgrade),
      raise it first instead of refusing.
    type: bool
    default: false
  member_upgrade_seconds:
    description: How long one member may be away for its upgrade (package, restart, catch-up); the shortest
      oplog of the data-bearing members must keep an entry written now for longer.
    type: float
    default: 1800
  fail_when_refused:
    description: Fail the task (with the refusals and the plan) when the upgrade is refused.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Read-only; check mode returns the same plan.
  diff_mode:
    support: none
    details: The module only reads; the plan is in RV(markdown).
"""

EXAMPLES = r"""
- name: Plan the upgrade of rs0 to the inventory's version and show it
  quorum.mongodb.upgrade_plan:
    hosts: "{{ groups['rs0'] | map('extract', hostvars, 'mongodb_host') | list }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    target: "{{ mongod_package_version | default('', true) or mongod_version }}"
    fail_when_refused: true
  delegate_to: localhost
  run_once: true
  register: upgrade

- name: Plan 6.0 -> 7.0 -> 8.0 in one run, raising an FCV left behind first
  quorum.mongodb.upgrade_plan:
    hosts: [db1.example.net:27017, db2.example.net:27017]
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    target: "8.0"
    through_intermediate: true
    raise_fcv_left_behind: true
    member_upgrade_seconds: 3600
  delegate_to: localhost
"""

RETURN = r"""
steps:
  description: The steps in order - a release (C(kind=release), its C(series), exact C(version) or null for
    the newest of the series, C(members) in order with C(host), C(role), C(from) and C(stepdown_first), and
    C(fcv_after)) or an FCV change (C(kind=fcv), C(fcv), C(confirm)). Empty when refused or done.
  returned: success
  type: list
  elements: dict
  sample: [{"kind": "release", "action": "upgrade", "series": "8.0", "version": "8.0.4", "fcv_after": "8.0",
            "members": [{"host": "db2.example.net:27017", "role": "secondary", "from": "7.0.14", "stepdown_first": false},
                        {"host": "db1.example.net:27017", "role": "primary", "from": "7.0.14", "stepdown_first": true}],
            "why": "db2.example.net:27017, db1.example.net:27017 to 8.0.4"}]
refusals:
  description: Why the upgrade may not start, each saying what to do; nothing was touched.
  returned: success
  type: list
  elements: str
  sample: ["8.0 is 2 releases from 6.0: MongoDB upgrades one release at a time, through 6.0 -> 7.0 -> 8.0. ..."]
done:
  description: Every member runs the target and the FCV is raised; nothing to do.
  returned: success
  type: bool
  sample: false
path:
  description: The release series from the lowest running one to the target.
  returned: success
  type: list
  elements: str
  sample: ["7.0", "8.0"]
fcv:
  description: The set's feature compatibility version as the primary reports it.
  returned: success
  type: str
  sample: "7.0"
members:
  description: Every member with C(host), C(state), C(version) (what it runs) and C(arbiter).
  returned: success
  type: list
  elements: dict
  sample: [{"host": "db1.example.net:27017", "state": "PRIMARY", "version": "7.0.14", "arbiter": false}]
oplog_keep_seconds:
  description: How long the shortest oplog of the data-bearing members keeps an entry written now (its window
    plus the time its free space lasts at the set's write rate); null when it is not known.
  returned: success
  type: float
  sample: 86400.0
summary:
  description: One line - what the plan does, or why it refuses.
  returned: success
  type: str
  sample: "upgrade 8.0.4 (db2.example.net:27017, db1.example.net:27017), then FCV -> 8.0"
markdown:
  description: The plan as a Markdown table, a line per member and per FCV change (what check mode prints).
  returned: success
  type: str
  sample: "| # | release | member | role | from | action |"
"""

from ansible_collections.quorum.mongodb.plugins.module_utils.member_versions import feature_compatibility, read_members
from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import ConnectionProblem
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import healthy_data_members
from ansible_collections.quorum.mongodb.plugins.module_utils.resync import oplog_keep_seconds, write_rate
from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import (
    plan_summary,
    plan_upgrade,
    render_upgrade_markdown,
)


def shortest_oplog_keep(conn):
    """Seconds the shortest oplog of the healthy data-bearing members keeps an entry written now."""
    oplogs = [conn.oplog_stats(m["name"]) for m in healthy_data_members(conn.status())]
    oplogs = [o for o in oplogs if o]
    if not oplogs:
        return None
    rate = write_rate(oplogs)
    return min(oplog_keep_seconds(o, rate) for o in oplogs)


def main():
    module = connection_module(dict(
        target=dict(type="str", required=True),
        through_intermediate=dict(type="bool", default=False),
        raise_fcv_left_behind=dict(type="bool", default=False),
        member_upgrade_seconds=dict(type="float", default=1800),
        fail_when_refused=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    try:
        with connect(module) as conn:
            members = read_members(conn)
            fcv = feature_compatibility(conn)
            keep = shortest_oplog_keep(conn)
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc))
    plan = plan_upgrade(members, fcv, p["target"], through_intermediate=p["through_intermediate"],
                        raise_fcv_left_behind=p["raise_fcv_left_behind"], oplog_keep_seconds=keep,
                        member_upgrade_seconds=p["member_upgrade_seconds"])
    result = dict(changed=False, steps=plan["steps"], refusals=plan["refusals"], done=plan["done"], path=plan["path"],
                  fcv=plan["fcv"], members=members, summary=plan_summary(plan), markdown=render_upgrade_markdown(plan),
                  oplog_keep_seconds=None if keep is None or keep == float("inf") else round(keep, 1))
    if plan["refusals"] and p["fail_when_refused"]:
        module.fail_json(msg=result["summary"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
