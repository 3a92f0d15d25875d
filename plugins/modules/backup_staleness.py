#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_staleness
short_description: Tell whether a backup can still catch up with a MongoDB replica set once restored
version_added: 0.1.0
description:
  - A restored member catches up by reading the oplog of a live member from the backup's newest oplog
    entry on. That entry must still be in some live member's oplog when the restore is done, so the time
    the restore takes counts - the oplogs keep moving.
  - Reads every healthy data-bearing member's oplog (oldest and newest entry, size, use, minRetentionHours),
    measures its write rate, predicts its oldest entry at the end of the restore, and answers C(fresh) or
    C(stale) with the margin in seconds and what to do (restore, or a fresh backup or an initial sync).
  - Read-only. Check mode behaves the same.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  backup_newest_seconds:
    description: The time (seconds since the epoch, the C(t) of its C(ts)) of the backup's newest oplog entry.
    type: float
    required: true
  restore_seconds:
    description: How long the restore takes. Without it, O(backup_size_bytes) / O(restore_throughput_mb_s).
    type: float
  backup_size_bytes:
    description: The size of the backup, to estimate the restore time.
    type: int
  restore_throughput_mb_s:
    description: The restore throughput in MB/s, to estimate the restore time.
    type: float
  safety_seconds:
    description: Seconds the restore may run late and the backup still be fresh (its newest entry still in a live oplog).
    type: float
    default: 300
  fail_when_stale:
    description: Fail the task when the backup is stale.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Read-only; check mode runs the same reads.
  diff_mode:
    support: none
    details: The module only reads; there is nothing to show.
"""

EXAMPLES = r"""
- name: Refuse a stale backup before restoring it
  quorum.mongodb.backup_staleness:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    backup_newest_seconds: "{{ backup_meta.newest_oplog_seconds }}"
    backup_size_bytes: "{{ backup_meta.size_bytes }}"
    restore_throughput_mb_s: 200
    fail_when_stale: true
  delegate_to: localhost

- name: Restore time known from the last drill (45 minutes), keep ten minutes of safety
  quorum.mongodb.backup_staleness:
    hosts: [db1.example.net, db2.example.net]
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    backup_newest_seconds: 1764979200
    restore_seconds: 2700
    safety_seconds: 600
  register: staleness
  delegate_to: localhost

- name: Say what to do
  ansible.builtin.debug:
    msg: "{{ staleness.verdict }} - {{ staleness.recommendation }}"
"""

RETURN = r"""
verdict:
  description: C(fresh) or C(stale).
  returned: success
  type: str
  sample: fresh
margin_seconds:
  description: How much newer the backup's newest entry is than the best source's oldest entry after the restore.
  returned: success
  type: float
  sample: 5412.3
restore_seconds:
  description: The restore time used.
  returned: success
  type: float
  sample: 2700.0
best_source:
  description: The member whose oplog keeps the backup's newest entry longest.
  returned: success
  type: str
  sample: db2.example.net:27017
recommendation:
  description: What to do.
  returned: success
  type: str
  sample:
    'restore it: after 2700 s of restore (and 600 s more of safety), db2.example.net:27017 still holds its
      newest entry; sync from db2.example.net:27017'
members:
  description: Per member - oldest entry now and after the restore, and the margin.
  returned: success
  type: list
  elements: dict
  sample:
    - host: db2.example.net:27017
      oldest_now: 1764970000.0
      oldest_after_restore: 1764973787.7
      margin_seconds: 5412.3
      margin_with_safety_seconds: 4570.8
"""

import time

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionProblem,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.oplog_math import (
    MB,
    MemberOplog,
    OplogMathError,
    backup_staleness,
    rate_from_bounds,
    restore_seconds_for,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import healthy_data_members


def live_oplogs(conn):
    """The oplogs of every healthy PRIMARY or SECONDARY, with their measured write rates."""
    status = conn.status()
    members = []
    for member in healthy_data_members(status):
        stats = conn.oplog_stats(member["name"])
        if stats is None:
            continue
        span = stats["newest_seconds"] - stats["oldest_seconds"]
        rate = rate_from_bounds(stats["oldest_seconds"], stats["newest_seconds"], stats["used_bytes"]) if span > 0 else 0.0
        members.append(MemberOplog(host=stats["host"], oldest_seconds=stats["oldest_seconds"],
                                   newest_seconds=stats["newest_seconds"], size_bytes=stats["size_bytes"],
                                   used_bytes=stats["used_bytes"], rate_bytes_per_hour=rate,
                                   min_retention_hours=stats["min_retention_hours"]))
    date = status.get("date")
    now = date.timestamp() if hasattr(date, "timestamp") else time.time()
    return members, now


def main():
    module = connection_module(dict(
        backup_newest_seconds=dict(type="float", required=True),
        restore_seconds=dict(type="float"),
        backup_size_bytes=dict(type="int"),
        restore_throughput_mb_s=dict(type="float"),
        safety_seconds=dict(type="float", default=300),
        fail_when_stale=dict(type="bool", default=False),
    ), supports_check_mode=True,
        required_one_of=[("restore_seconds", "backup_size_bytes")],
        required_together=[("backup_size_bytes", "restore_throughput_mb_s")])
    p = module.params
    try:
        throughput = p["restore_throughput_mb_s"] * MB if p["restore_throughput_mb_s"] else None
        restore = restore_seconds_for(p["backup_size_bytes"], throughput, p["restore_seconds"])
        with connect(module) as conn:
            members, now = live_oplogs(conn)
        answer = backup_staleness(p["backup_newest_seconds"], members, restore, now, p["safety_seconds"])
    except (ConnectionProblem, OplogMathError) as exc:
        module.fail_json(msg=str(exc))
    result = dict(answer.to_dict(), changed=False)
    if answer.verdict == "stale" and p["fail_when_stale"]:
        module.fail_json(msg="the backup is stale: %s" % answer.recommendation, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
