#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_force_reconfig
short_description: Force a MongoDB replica set's configuration after it lost its voting majority
version_added: 0.1.0
description:
  - The disaster procedure of the manual, with guardrails. It probes every configured member, and refuses
    when a primary answers, when a voting majority answers (the set can elect by itself; override with
    O(allow_with_majority)), when a member listed as lost answers, when a survivor does not answer, or when
    no survivor could become primary.
  - Otherwise it runs C(replSetReconfig) with C(force) on the most up-to-date survivor, keeping only the
    survivors (or keeping the lost members with votes 0 and priority 0, O(lost_members=keep)), and waits
    for a primary.
  - Returns the members removed, the version jump mongod made, and what may be lost, never understated - per
    survivor its newest write and the commit point it last saw, when it last heard from each lost member and
    that member's newest write then, and the span of writes that may be lost up to now - with the fault
    tolerance the forced config leaves and the next step. Afterwards, playbooks/reconfig.yml with the full
    inventory brings returning members back through the normal safe plan.
  - Check mode probes and plans, and changes nothing.
author:
  - quorum.mongodb developers (!UNKNOWN)
requirements:
  - jsonschema >= 4.18 (validates the configuration document; on the host that runs the task)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  survivors:
    description: The members (C(host:port)) that survive. Required unless O(discover=true).
    type: list
    elements: str
  discover:
    description: Take every member that answers the probe as a survivor.
    type: bool
    default: false
  lost_members:
    description: C(remove) the lost members, or C(keep) them with votes 0 and priority 0.
    type: str
    choices: [remove, keep]
    default: remove
  survivor_priority:
    description: A priority to give every surviving data-bearing member.
    type: float
  allow_with_majority:
    description: Force even though a voting majority answers. Only when you know why it cannot elect.
    type: bool
    default: false
  probe_timeout:
    description: Seconds to wait for each member's answer to the probe.
    type: float
    default: 5
  wait_timeout:
    description: Seconds to wait for a primary after the forced reconfig.
    type: float
    default: 120
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The configuration before (as the survivors have it) and the forced one.
notes:
  - Never run it from an automatic trigger; a forced reconfig can roll back majority-committed writes.
"""

EXAMPLES = r"""
- name: New York is gone; Frankfurt carries on
  quorum.mongodb.rs_force_reconfig:
    hosts: [fr1.example.net, fr2.example.net]
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    survivors: [fr1.example.net:27017, fr2.example.net:27017]
    lost_members: keep
  delegate_to: localhost
  run_once: true

- name: Preview - which survivors answer, where the config would be forced, what may be lost
  quorum.mongodb.rs_force_reconfig:
    hosts: [fr1.example.net, fr2.example.net]
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    discover: true
  check_mode: true
  register: preview
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description:
    - The guardrail verdict, the member it runs on, the new config, removed or kept members.
    - What may be lost, never understated - C(survivors) (per survivor its newest write, the commit point it
      last saw, when it last heard from each lost member and that member's newest write then), C(loss) and
      C(possible_lost_write_seconds) (from the older of the survivors' newest write and the newest write they
      knew of the lost members, up to now).
    - C(fault_tolerance) of the forced config, C(next_step), and C(report), the same for people (a list of lines).
  returned: always
  type: dict
  sample:
    allowed: true
    refusals: []
    run_on: fr1.example.net:27017
    removed: []
    kept_nonvoting: [ny1.example.net:27017, ny2.example.net:27017]
    newest_survivor_optime: 1764979180
    lost_optime_seen: 0
    possible_lost_write_seconds: 41.5
    loss:
      now: "2025-12-06T00:00:21.500Z"
      newest_survivor_write: "2025-12-05T23:59:40.000Z"
      commit_point_seen: "2025-12-05T23:59:40.000Z"
      committed_not_on_survivors: false
      known_missing_seconds: 0.0
      blind_since: "2025-12-05T23:59:40.000Z"
      span_start: "2025-12-05T23:59:40.000Z"
      span_seconds: 41.5
      lost_members:
        - {host: "ny1.example.net:27017", holds_data: true, last_contact: "2025-12-05T23:59:40.900Z",
           optime_then: "2025-12-05T23:59:40.000Z"}
    survivors:
      - host: fr1.example.net:27017
        now: "2025-12-06T00:00:21.500Z"
        newest_optime: "2025-12-05T23:59:40.000Z"
        commit_point: "2025-12-05T23:59:40.000Z"
        heard_from:
          "ny1.example.net:27017": {last_contact: "2025-12-05T23:59:40.900Z", optime_then: "2025-12-05T23:59:40.000Z",
                                    answering: false}
    fault_tolerance: {voters: 2, majority: 2, tolerates_voter_loss: 0, data_bearing_voters: 2, write_majority: 2,
                      electable: [fr1.example.net:27017, fr2.example.net:27017],
                      summary: "2 voters (majority 2): no failover - if any voter fails, the set has no primary; ..."}
    next_step: "when the lost members are back, run playbooks/reconfig.yml with the full inventory: ..."
    report:
      - "survivor fr1.example.net:27017: newest write 2025-12-05T23:59:40.000Z, commit point it last saw ..."
      - "lost ny1.example.net:27017: last heard from 2025-12-05T23:59:40.900Z, its newest write then ..."
      - "writes acknowledged after 2025-12-05T23:59:40.000Z may be lost - 41.5 s up to now (...)"
      - "fault tolerance now: 2 voters (majority 2): no failover - ..."
      - "next step: when the lost members are back, run playbooks/reconfig.yml with the full inventory: ..."
    config: {"_id": "rs0", "version": 9, "members": []}
probes:
  description: What each configured member answered.
  returned: always
  type: list
  elements: dict
  sample:
    - host: fr1.example.net:27017
      answered: true
      state: 2
      optime_seconds: 1764979180
      error: null
    - host: ny1.example.net:27017
      answered: false
      state: null
      optime_seconds: null
      error: ny1.example.net:27017 did not answer within 5 s
version_before:
  description: The config version before.
  returned: success
  type: int
  sample: 8
version_after:
  description: The config version mongod installed (the forced jump).
  returned: success, not in check mode
  type: int
  sample: 100009
primary:
  description: The primary elected afterwards.
  returned: success, not in check mode
  type: str
  sample: fr1.example.net:27017
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ansible_collections.quorum.mongodb.plugins.module_utils.force_reconfig import (
    Probe,
    plan_force_reconfig,
    survivor_view,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    CommandFailed,
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, to_json_view


def read_config(conn, seeds):
    """The config as any reachable data-bearing seed has it (an arbiter's needs a login it cannot give)."""
    problems = []
    for host in seeds:
        try:
            return to_json_view(conn.config(direct_host=host))  # MemberIsArbiter on an arbiter: the next seed
        except ConnectionProblem as exc:
            problems.append(str(exc))
    raise ConnectionProblem("no seed answered replSetGetConfig: %s" % "; ".join(problems))


def probe(conn, host):
    """A member's state and newest optime, and the optimes it last saw from the others. An
    arbiter is probed with hello only (no login: it holds no users); answering, it counts as a
    live vote, in state ARBITER (7) and without an optime."""
    try:
        if conn.is_arbiter(host):
            return Probe(host, True, state=7), {}
        status = conn.status(direct_host=host)
    except ConnectionProblem as exc:
        return Probe(host, False, error=str(exc)), {}
    me = next((m for m in status.get("members", []) if m.get("self")), {})
    seen = {}
    for m in status.get("members", []):
        optime = m.get("optime")
        ts = optime.get("ts") if isinstance(optime, dict) else optime
        if getattr(ts, "time", None) is not None:
            seen[m["name"]] = ts.time
    return Probe(host, True, state=status.get("myState"), optime_seconds=seen.get(me.get("name")),
                 view=survivor_view(host, status)), seen


def force(module, conn, plan, result):
    """replSetReconfig with force on the chosen survivor; when no answer comes back, say that the
    config may or may not be installed, and how to find out."""
    try:
        conn.admin({"replSetReconfig": plan.config, "force": True}, direct_host=plan.run_on, retries=0)
    except CommandFailed as exc:
        module.fail_json(msg="%s refused the forced reconfig, nothing was changed: %s" % (plan.run_on, exc), **result)
    except ConnectionProblem as exc:
        result["changed"] = True  # perhaps
        module.fail_json(msg="the forced reconfig was sent to %s but no answer came back (%s); it may or may not "
                         "be installed: run this task again, its probe shows which (a survivor that answers as "
                         "PRIMARY means it was)" % (plan.run_on, exc), **result)


def survivors_primary(conn, hosts):
    """The primary as the first survivor that answers sees it (None: none yet)."""
    problems = []
    for host in hosts:
        try:
            members = conn.status(direct_host=host).get("members", [])
        except ConnectionProblem as exc:
            problems.append(str(exc))
            continue
        return next((m["name"] for m in members if m.get("state") == 1), None)
    raise ConnectionProblem("no survivor answers: %s" % "; ".join(problems))


def main():
    module = connection_module(dict(
        survivors=dict(type="list", elements="str"),
        discover=dict(type="bool", default=False),
        lost_members=dict(type="str", default="remove", choices=["remove", "keep"]),
        survivor_priority=dict(type="float"),
        allow_with_majority=dict(type="bool", default=False),
        probe_timeout=dict(type="float", default=5),
        wait_timeout=dict(type="float", default=120),
    ), needs_jsonschema=True, supports_check_mode=True,
        required_one_of=[("survivors", "discover")], mutually_exclusive=[("survivors", "discover")])
    p = module.params
    options = ConnectionOptions.from_params(p)
    probing = replace(options, replica_set=None, connect_timeout=p["probe_timeout"],
                      server_selection_timeout=p["probe_timeout"])
    result = {"changed": False, "probes": []}
    try:
        with ReplicaSetConnection(probing) as conn:
            current = read_config(conn, options.seeds)
            probes, lost_optimes = [], {}
            members = ReplSetConfig(current).members
            # in parallel: a lost datacenter's members each cost up to probe_timeout
            with ThreadPoolExecutor(max_workers=max(1, min(16, len(members)))) as pool:
                answers = list(pool.map(lambda m: probe(conn, m.normalized_host), members))
            for answer, seen in answers:
                probes.append(answer)
                for host, seconds in seen.items():
                    lost_optimes[host] = max(lost_optimes.get(host, seconds), seconds)
            result["probes"] = [dict((k, v) for k, v in answer.__dict__.items() if k != "view") for answer in probes]
            survivors = p["survivors"] or [a.host for a in probes if a.answered]
            plan = plan_force_reconfig(current, probes, survivors, p["lost_members"], p["survivor_priority"],
                                       p["allow_with_majority"], lost_optimes,
                                       views=[a.view for a in probes if a.view is not None])
            result.update(plan=plan.to_dict(), version_before=ReplSetConfig(current).version)
            if not plan.allowed:
                module.fail_json(msg="refusing to force a reconfig, nothing was changed:\n%s"
                                 % "\n".join(plan.refusals), **result)
            if module._diff:
                result["diff"] = {"before": current, "after": plan.config, "before_header": "replSetGetConfig",
                                  "after_header": "the forced configuration (its version as sent)"}
            if module.check_mode:
                result["changed"] = True
                module.exit_json(**result)
            force(module, conn, plan, result)
            result["changed"] = True
            hosts = [m.normalized_host for m in ReplSetConfig(plan.config).members]
            primary, _polls = wait_until(lambda: survivors_primary(conn, hosts), lambda found: found is not None,
                                         timeout=p["wait_timeout"],
                                         what="a primary after the forced reconfig on %s" % plan.run_on)
            result["primary"] = primary
            result["version_after"] = conn.config(direct_host=primary)["version"]
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
