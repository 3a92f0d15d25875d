#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_status
short_description: Read a MongoDB replica set's status, and wait for it to reach a state
version_added: 0.1.0
description:
  - Reports the set as an operator reads it - every member's state, health, replication lag, sync
    source, config version, priority, votes, datacenter and oplog window in hours.
  - Optionally waits, for a bounded time, until the set has a primary, is healthy (every member
    PRIMARY, SECONDARY or ARBITER and one primary), a member reaches a state, every secondary's lag
    is below a bound, or every majority-committed write is held by enough voters other than a member
    (O(wait_for=durable_without)). A timeout names what was awaited and the last state seen.
  - Without O(wait_for), it fails at once, without waiting O(server_selection_timeout), when every seed has answered
    and none is a member of O(replica_set), at least one being uninitialised and the others unreachable - no
    primary or secondary can appear there until the set is initiated.
  - Read-only; check mode behaves the same.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  wait_for:
    description: What to wait for before returning.
    type: str
    choices: [none, primary, healthy, member_state, lag, durable_without]
    default: none
  member:
    description:
      - The member (C(host:port)) whose state O(wait_for=member_state) waits for.
      - With O(wait_for=durable_without), the member (normally stopped) whose data is about to be
        deleted; the wait ends when the primary's majority commit point is held by voters other than it
        with a majority of the votes (or by every other data-bearing voter, when those are fewer), so that
        no write acknowledged with w:"majority" depends on it - even if the primary fails next.
    type: str
  state:
    description: The state (or any of the states) O(wait_for=member_state) waits for.
    type: list
    elements: str
    choices: [PRIMARY, SECONDARY, ARBITER, RECOVERING, STARTUP2, DOWN, ROLLBACK, REMOVED]
  max_lag_seconds:
    description: The lag bound for O(wait_for=lag).
    type: float
    default: 10
  timeout:
    description: Seconds to wait at most.
    type: float
    default: 120
  oplog_window:
    description: Read each member's oplog window (one direct connection per data-bearing member).
    type: bool
    default: true
  domain_key:
    description: The member tag that names the datacenter in the output.
    type: str
    default: dc
attributes:
  check_mode:
    support: full
    details: Read-only; check mode reads and waits the same.
  diff_mode:
    support: none
    details: The module only reads; there is nothing to show.
"""

EXAMPLES = r"""
- name: Wait until the set is healthy after a restart
  quorum.mongodb.rs_status:
    hosts: [db1.example.net, db2.example.net]
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    wait_for: healthy
    timeout: 300
  delegate_to: localhost

- name: Wait until db3 is a secondary again
  quorum.mongodb.rs_status:
    hosts: [db1.example.net]
    replica_set: rs0
    wait_for: member_state
    member: db3.example.net:27017
    state: SECONDARY
    timeout: 900
  delegate_to: localhost
"""

RETURN = r"""
set:
  description: The replica set name.
  returned: success
  type: str
  sample: rs0
primary:
  description: The primary's host, or null.
  returned: success
  type: str
  sample: db1.example.net:27017
term:
  description: The current election term.
  returned: success
  type: int
  sample: 3
config_version:
  description: The installed config's version.
  returned: success
  type: int
  sample: 5
config:
  description:
    - The installed config, as replSetGetConfig returns it.
    - With the quorum.mongodb.rs_config_converged filter, a play can tell whether M(quorum.mongodb.rs_config)
      has anything to do.
  returned: success
  type: dict
  sample: {_id: rs0, version: 5, term: 3, members: [{_id: 0, host: "db1.example.net:27017"}], settings: {}}
healthy:
  description: Every member is PRIMARY, SECONDARY or ARBITER and one is PRIMARY.
  returned: success
  type: bool
  sample: true
majority:
  description: The votes a majority needs.
  returned: success
  type: int
  sample: 2
commit_point:
  description: The answering member's majority commit point as [term, seconds, increment].
  returned: success
  type: list
  elements: int
  sample: [3, 1764979200, 1]
members:
  description: One entry per member - host, id, state, state_str, health, lag_seconds, sync_source,
    config_version, priority, votes, hidden, arbiter, domain, oplog_window_hours, self, and optime
    ([term, seconds, increment]; durable, as the answering member knows it).
  returned: success
  type: list
  elements: dict
  sample:
    - host: db2.example.net:27017
      id: 1
      state: 2
      state_str: SECONDARY
      health: 1
      lag_seconds: 0
      sync_source: db1.example.net:27017
      config_version: 5
      priority: 1
      votes: 1
      hidden: false
      arbiter: false
      domain: fr
      oplog_window_hours: 26.4
      self: false
      optime:
      - 3
      - 1764979200
      - 1
table:
  description: The status as a Markdown table.
  returned: success
  type: str
  sample: "| member | state | health | lag (s) | ...\n| --- | --- | --- | --- | ...\n| db1.example.net:27017 | PRIMARY | 1 | 0 | ..."
waited:
  description: Seconds spent waiting and the number of polls.
  returned: success
  type: dict
  sample: {"seconds": 4.2, "polls": 9}
"""

import time

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import to_json_view
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import (
    condition_met,
    describe_summary,
    healthy_data_members,
    render_status_table,
    summarize_status,
)

WAIT_DESCRIPTIONS = {
    "primary": "a primary",
    "healthy": "a healthy set (every member PRIMARY, SECONDARY or ARBITER, one PRIMARY)",
}


def read_summary(conn, oplog_window, domain_key):
    status = conn.status()
    config = conn.config()
    windows = {}
    if oplog_window:
        for member in healthy_data_members(status):
            window = conn.oplog_window(member["name"])
            if window is not None:
                windows[member["name"]] = window["hours"]
    summary = summarize_status(status, config, windows, domain_key=domain_key)
    summary["config"] = to_json_view(config)
    return summary


def main():
    module = connection_module(dict(
        wait_for=dict(type="str", default="none",
                      choices=["none", "primary", "healthy", "member_state", "lag", "durable_without"]),
        member=dict(type="str"),
        state=dict(type="list", elements="str", choices=["PRIMARY", "SECONDARY", "ARBITER", "RECOVERING", "STARTUP2",
                                                         "DOWN", "ROLLBACK", "REMOVED"]),
        max_lag_seconds=dict(type="float", default=10),
        timeout=dict(type="float", default=120),
        oplog_window=dict(type="bool", default=True),
        domain_key=dict(type="str", default="dc", no_log=False),
    ), supports_check_mode=True, required_if=[("wait_for", "member_state", ("member", "state")),
                                              ("wait_for", "durable_without", ("member",))])
    params = module.params
    wait_for = params["wait_for"]
    what = WAIT_DESCRIPTIONS.get(wait_for) or {
        "member_state": "%s to be %s" % (params["member"], " or ".join(params["state"] or [])),
        "lag": "every secondary within %s s of the primary" % params["max_lag_seconds"],
        "durable_without": "every majority-committed write on voters other than %s with a majority of "
                           "the votes (the primary answering)" % params["member"],
    }.get(wait_for)
    started = time.monotonic()
    options = ConnectionOptions.from_params(params)
    if wait_for != "none":  # one poll must not outlast the whole wait
        options.server_selection_timeout = min(options.server_selection_timeout, max(params["timeout"], 1.0))
    with ReplicaSetConnection(options) as conn:
        try:
            seeds = conn.uninitialised_seeds(options.server_selection_timeout) if wait_for == "none" else None
            if seeds:
                module.fail_json(msg="replica set %s is not initiated: no seed is a member of it (%s)" % (
                    options.replica_set, "; ".join("%s %s" % item for item in seeds.items())))
            if wait_for == "none":
                summary, polls = read_summary(conn, params["oplog_window"], params["domain_key"]), 1
            else:
                summary, polls = wait_until(
                    lambda: read_summary(conn, False, params["domain_key"]),
                    lambda s: condition_met(s, wait_for, params["member"], params["state"], params["max_lag_seconds"]),
                    timeout=params["timeout"], what=what, describe=describe_summary)
                if params["oplog_window"]:
                    summary = read_summary(conn, True, params["domain_key"])
        except ConnectionProblem as exc:
            module.fail_json(msg=str(exc))
    summary["table"] = render_status_table(summary)
    summary["waited"] = {"seconds": round(time.monotonic() - started, 3), "polls": polls}
    module.exit_json(changed=False, **summary)


if __name__ == "__main__":
    main()
