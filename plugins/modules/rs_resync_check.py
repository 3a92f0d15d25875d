#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_resync_check
short_description: Tell whether a MongoDB replica set member may go down for a resync now, and why not
version_added: 0.1.0
description:
  - Checks, before a member is stopped for an initial sync - that the other members are healthy (the member
    itself may be in any state, DOWN or RECOVERING included, since a crashed or too-stale member is what
    one resyncs); that the member is
    not the primary (step it down first); that the voting majority survives its absence with O(votes_margin)
    to spare; that it does not hold the only up-to-date copy; and that the best sync source's oplog window
    exceeds the estimated initial sync time (the member's data size over O(throughput_mb_s)) times
    O(safety_factor).
  - An arbiter is refused with its own reason - it holds no data, so there is nothing to resync - and is
    never logged in to (it has no users).
  - Read-only. Check mode behaves the same.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  member:
    description: The member (C(host:port)) to resync.
    type: str
    required: true
  throughput_mb_s:
    description: Initial sync throughput in MB/s (measured last time, or an estimate).
    type: float
    default: 50
  safety_factor:
    description: How many times longer than the estimated sync the source's oplog window must be.
    type: float
    default: 2
  votes_margin:
    description: Voters beyond the majority that must stay up while the member is away.
    type: int
    default: 0
  data_size_bytes:
    description: The data to copy; by default the member's databases' sizes on disk, or the primary's when
      the member does not answer.
    type: int
  fail_when_refused:
    description: Fail the task when the member may not go down.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Read-only; check mode runs the same checks.
  diff_mode:
    support: none
    details: The module only reads; there is nothing to show.
"""

EXAMPLES = r"""
- name: May db3 go down for a resync?
  quorum.mongodb.rs_resync_check:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    member: db3.example.net:27017
    fail_when_refused: true
  delegate_to: localhost

- name: Ask with a measured throughput and one vote to spare, and show the answer
  quorum.mongodb.rs_resync_check:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    member: db3.example.net:27017
    throughput_mb_s: 120
    votes_margin: 1
  register: resync_check
  delegate_to: localhost

- name: Why not
  ansible.builtin.debug:
    var: resync_check.reasons
  when: not resync_check.allowed
"""

RETURN = r"""
allowed:
  description: Whether the member may go down now.
  returned: success
  type: bool
  sample: false
reasons:
  description: Why not, one sentence per failed check.
  returned: success
  type: list
  elements: str
  sample: ["the best sync source's oplog window (3600 s) is shorter than the estimated initial sync (2100 s) times the safety factor 2"]
facts:
  description: estimated_sync_seconds, best_source_window_seconds, healthy_votes_without_member, majority.
  returned: success
  type: dict
  sample: {"estimated_sync_seconds": 2100.0, "best_source_window_seconds": 3600.0, "healthy_votes_without_member": 2, "majority": 2}
"""

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionProblem,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.oplog_math import MB
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import normalize_host
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import healthy_data_members, summarize_status
from ansible_collections.quorum.mongodb.plugins.module_utils.resync import oplog_keep_seconds, resync_check, write_rate

MAX_KEEP_SECONDS = 10 * 365 * 86400.0  # "until writes resume" (an idle set) shown as ten years


def data_size(conn, member, status):
    """The member's databases' size on disk; when the set sees it down (crashed, or stopped),
    the primary's - what its initial sync will copy."""
    me = [m for m in status.get("members", []) if normalize_host(m.get("name")) == member]
    if me and me[0].get("state") == 7:
        return 0  # an arbiter holds no data (and accepts no login: nothing is asked of it)
    if me and me[0].get("health"):
        return conn.admin("listDatabases", direct_host=member).get("totalSize", 0)
    return conn.admin("listDatabases").get("totalSize", 0)


def main():
    module = connection_module(dict(
        member=dict(type="str", required=True),
        throughput_mb_s=dict(type="float", default=50),
        safety_factor=dict(type="float", default=2),
        votes_margin=dict(type="int", default=0),
        data_size_bytes=dict(type="int"),
        fail_when_refused=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    member = normalize_host(p["member"])
    try:
        with connect(module) as conn:
            status, config = conn.status(), conn.config()
            oplogs = {}
            for m in healthy_data_members(status):
                if normalize_host(m["name"]) != member:
                    oplogs[normalize_host(m["name"])] = conn.oplog_stats(m["name"])
            rate = write_rate(oplogs.values())
            windows = dict((host, min(oplog_keep_seconds(oplog, rate), MAX_KEEP_SECONDS) / 3600.0)
                           for host, oplog in oplogs.items() if oplog is not None)
            size = p["data_size_bytes"]
            if size is None:
                size = data_size(conn, member, status)
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc))
    answer = resync_check(summarize_status(status, config, windows), config, member, size, p["throughput_mb_s"] * MB,
                          p["safety_factor"], p["votes_margin"])
    if not answer["allowed"] and p["fail_when_refused"]:
        module.fail_json(msg="%s may not go down for a resync now:\n%s" % (member, "\n".join(answer["reasons"])),
                         changed=False, **answer)
    module.exit_json(changed=False, **answer)


if __name__ == "__main__":
    main()
