#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_stepdown
short_description: Step a MongoDB replica set's primary down, optionally towards a chosen member
version_added: 0.1.0
description:
  - Runs C(replSetStepDown) on the primary with a catch-up period for the secondaries and waits, for a
    bounded time, for a new primary.
  - With O(to), the other electable members are frozen (C(replSetFreeze)) for the stepdown so that O(to)
    wins the election, and unfrozen afterwards; when O(to) is already primary nothing is done.
  - Check mode reports what would be done.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  to:
    description: The member (C(host:port)) that should become primary.
    type: str
  step_down_seconds:
    description: C(stepDownSecs) - how long the old primary may not stand again.
    type: int
    default: 60
  catch_up_seconds:
    description: C(secondaryCatchUpPeriodSecs) - how long to wait for a secondary to catch up.
    type: int
    default: 10
  timeout:
    description: Seconds to wait for the new primary.
    type: float
    default: 60
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The primary before and after (in check mode, the intended one).
"""

EXAMPLES = r"""
- name: Move the primary to Frankfurt before maintenance in New York
  quorum.mongodb.rs_stepdown:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    to: fr1.example.net:27017
  delegate_to: localhost
  run_once: true

- name: Step the primary down before patching its host, towards whichever secondary wins
  quorum.mongodb.rs_stepdown:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    step_down_seconds: 300
    catch_up_seconds: 30
  register: stepdown
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
primary_before:
  description: The primary before.
  returned: success
  type: str
  sample: ny1.example.net:27017
primary_after:
  description: The primary after (in check mode, the intended one).
  returned: success
  type: str
  sample: fr1.example.net:27017
frozen:
  description: The members frozen so that O(to) would win.
  returned: success
  type: list
  elements: str
  sample: ["ny2.example.net:27017"]
"""

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    CommandFailed,
    ConnectionProblem,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, normalize_host
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import primary_host


def primary_of(conn):
    return primary_host(conn.status())


def exit_with_diff(module, result):
    if module._diff:
        after = result.get("primary_after") or "(the member the set elects)"
        result["diff"] = {"before": {"primary": result.get("primary_before")}, "after": {"primary": after}}
    module.exit_json(**result)


def main():
    module = connection_module(dict(
        to=dict(type="str"),
        step_down_seconds=dict(type="int", default=60),
        catch_up_seconds=dict(type="int", default=10),
        timeout=dict(type="float", default=60),
    ), supports_check_mode=True)
    p = module.params
    target = normalize_host(p["to"]) if p["to"] else None
    result = {"changed": False, "frozen": []}
    with connect(module) as conn:
        try:
            before = primary_of(conn)
            result["primary_before"] = before
            if before is None:
                module.fail_json(msg="the set has no primary to step down", **result)
            config = ReplSetConfig(conn.config())
            if target is not None:
                wanted = config.member_by_host(target)
                if wanted is None or not wanted.is_electable:
                    module.fail_json(msg="%s cannot become primary: %s" % (
                        target, "it is not a member" if wanted is None else "it is an arbiter, has priority 0 or "
                        "no vote"), **result)
                if before == target:
                    result["primary_after"] = before
                    exit_with_diff(module, result)
            others = [m.normalized_host for m in config.members
                      if m.is_electable and m.normalized_host not in (before, target)] if target else []
            result.update(changed=True, frozen=others, primary_after=target)
            if module.check_mode:
                exit_with_diff(module, result)
            try:
                for host in others:
                    conn.admin({"replSetFreeze": p["step_down_seconds"]}, direct_host=host, retries=0)
                try:
                    conn.admin({"replSetStepDown": p["step_down_seconds"],
                                "secondaryCatchUpPeriodSecs": p["catch_up_seconds"]}, direct_host=before, retries=0)
                except CommandFailed as exc:
                    module.fail_json(msg="%s refused to step down: %s" % (before, exc), **result)
                except ConnectionProblem:
                    pass  # the primary closes its connections as it steps down
                after, _polls = wait_until(lambda: primary_of(conn),
                                           lambda found: found is not None and found != before
                                           and (target is None or found == target),
                                           timeout=p["timeout"], what="%s to become primary" % (target or "a new primary"))
                result["primary_after"] = after
            finally:
                for host in others:
                    try:
                        conn.admin({"replSetFreeze": 0}, direct_host=host, retries=0)
                    except ConnectionProblem:
                        pass  # a member that is down is not frozen either
        except ConnectionProblem as exc:
            module.fail_json(msg=str(exc), **result)
    exit_with_diff(module, result)


if __name__ == "__main__":
    main()
