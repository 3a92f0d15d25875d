#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_config
short_description: Bring a MongoDB replica set to a desired configuration through steps mongod accepts
version_added: 0.1.0
description:
  - State-based. An uninitialised set is initiated with C(replSetInitiate) on one member (the
    localhost exception applies when auth is on and no user exists yet).
  - An initialised set is read, its current configuration compared with O(config), and the
    difference planned as a sequence of C(replSetReconfig) steps that mongod accepts - at most one
    voting change per step, each committed before the next - with the fewest steps - one per voting change
    that must be sequenced (removing a voter, changing an existing member's votes, adding an arbiter),
    at least one when anything changes, plus one between removing and re-adding a member whose host,
    C(arbiterOnly) or C(buildIndexes) changes. Additions of data-bearing members, priority, tag,
    hidden/delay and settings changes ride along.
  - A primary that is to be removed or made unelectable is stepped down first, towards the member that
    will be primary at the end, so the primary moves at most once.
  - After each step the module waits, for a bounded time, until the config is committed and every new
    member has finished its initial sync. It stops at the first failure, reporting the step reached;
    a rerun plans again from the live config and resumes.
  - Check mode returns the plan and changes nothing; diff mode shows the configs before and after.
author:
  - quorum.mongodb developers (!UNKNOWN)
requirements:
  - jsonschema >= 4.18 (validates the configuration document; on the host that runs the task)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  config:
    description:
      - The desired configuration document (for example built by the quorum.mongodb.rs_desired_config
        filter). Its version is ignored; C(newlyAdded) must not be set.
    type: dict
    required: true
  initiate_host:
    description: The member that runs C(replSetInitiate); by default the first member of O(config).
    type: str
  target_version:
    description: The MongoDB version whose rules apply; by default read from the server (buildInfo).
    type: str
    choices: ["4.4", "5.0", "6.0", "7.0", "8.0"]
  step_timeout:
    description: Seconds to wait after each step for the config to commit and new members to sync.
    type: float
    default: 600
  stepdown_seconds:
    description: C(stepDownSecs) of a planned stepdown.
    type: int
    default: 60
  keep_member_ids:
    description:
      - Give each member of O(config) the C(_id) its host has in the live config (new members get unused
        ones), so the order members are listed in does not matter.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The live configuration before and the one installed (or planned) after.
notes:
  - With authorization on and no user yet, C(replSetInitiate) works only through the localhost exception -
    run the module on the member itself (C(delegate_to) its host, O(hosts) pointing at 127.0.0.1), then
    create the first administrator with M(quorum.mongodb.user).
"""

EXAMPLES = r"""
- name: Converge rs0 on the inventory's desired topology
  quorum.mongodb.rs_config:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    config: "{{ groups['rs0'] | map('extract', hostvars) | list | quorum.mongodb.rs_desired_config(replset_name='rs0') }}"
  delegate_to: localhost
  run_once: true

- name: Preview the reconfiguration as a Markdown table (no change)
  quorum.mongodb.rs_config:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    config: "{{ desired_rs0 }}"
  check_mode: true
  register: preview
  delegate_to: localhost
  run_once: true

- name: Initiate a new set through the localhost exception, on its first member
  quorum.mongodb.rs_config:
    hosts: ["127.0.0.1:27017"]
    config: "{{ desired_rs0 }}"
    initiate_host: db1.example.net:27017
  delegate_to: db1.example.net
  run_once: true
"""

RETURN = r"""
initiated:
  description: Whether this run initiated the set.
  returned: success
  type: bool
  sample: false
plan:
  description: The plan (steps with their config and reason, actions, lower bound, elections expected).
  returned: when the set was initialised before this run
  type: dict
  sample:
    changed: true
    current_version: 4
    lower_bound: 1
    voting_changes: 1
    elections_expected: 0
    primary_before: db1.example.net:27017
    primary_after: db1.example.net:27017
    extra_steps_reason: null
    actions:
    - add db4.example.net:27017 (votes 1, priority 1)
    steps:
    - number: 1
      version: 5
      reason: add db4.example.net:27017 as a voter
      changes:
      - add db4.example.net:27017
      voting_change: db4.example.net:27017
      config:
        _id: rs0
        version: 5
        members: []
plan_markdown:
  description: The plan as a Markdown table.
  returned: when the set was initialised before this run
  type: str
  sample: "| step | version | change | why |\n| --- | --- | --- | --- |\n| 1 | 5 | add db4.example.net:27017 | add db4.example.net:27017 as a voter |"
steps_applied:
  description: How many reconfig steps this run applied.
  returned: always
  type: int
  sample: 1
config:
  description: The configuration installed at the end (as replSetGetConfig returns it).
  returned: success, not in check mode
  type: dict
  sample:
    _id: rs0
    version: 5
    term: 3
    members:
    - _id: 0
      host: db1.example.net:27017
      priority: 2
      votes: 1
      tags:
        dc: ny
    settings:
      electionTimeoutMillis: 10000
config_before:
  description: The live configuration read before planning (as replSetGetConfig returns it); plan files draw it.
  returned: when the set was initialised before this run
  type: dict
  sample: {"_id": "rs0", "version": 4, "term": 3, "members": [{"_id": 0, "host": "db1.example.net:27017", "votes": 1}]}
term_before:
  description: The election term before the run.
  returned: when the set was initialised before this run
  type: int
  sample: 3
term_after:
  description: The election term after the run (term_after - term_before elections happened).
  returned: success, not in check mode
  type: int
  sample: 3
joining:
  description: Each member to be added, checked before any change (also in check mode) - whether it answers hello
    and can join (uninitialised, or already of this set), what was found and, when it cannot, what to do.
  returned: when the plan adds members
  type: list
  elements: dict
  sample:
    - host: db4.example.net:27017
      ready: false
      found: does not answer hello (connection refused)
      fix: "start mongod there with replication.replSetName: rs0 (the quorum.mongodb.mongod role does), or take the host
        out of the inventory"
notes:
  description: What did not go as planned without failing the run, such as a priority takeover that did not come.
  returned: when there is something to say
  type: list
  elements: str
  sample: ["db1.example.net:27017 has the highest priority but db2.example.net:27017 is still primary after 60 s"]
"""


from dataclasses import replace

from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import align_member_ids
from ansible_collections.quorum.mongodb.plugins.module_utils.joining_members import (
    joining_hosts,
    joining_refusal,
    joining_verdict,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    CommandFailed,
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import (
    PlanError,
    plan_reconfig,
    render_plan_markdown,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import (
    ReplSetConfig,
    normalize_host,
    server_version_rules,
    to_json_view,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import primary_host
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import (
    VERSION_DEPENDENT_RULES,
    validate_config,
)


class StepFailed(Exception):
    """A step of the plan failed; the message says which and why."""


def initialized_member(conn, members, set_name):
    """The hello of a desired member that already belongs to a set, if any answers: a set is
    initiated only when none does (never a second set beside a live one)."""
    for member in members:
        try:
            hello = conn.hello(member.normalized_host)
        except ConnectionProblem:
            continue  # down or not yet installed
        if hello.get("setName") is not None:
            if hello["setName"] != set_name:
                raise StepFailed("%s belongs to replica set %r, the desired config is for %r"
                                 % (member.normalized_host, hello["setName"], set_name))
            return hello
    return None


def initiate(module, conn, config, host):
    """replSetInitiate on `host`, then wait for a primary."""
    doc = dict(config, version=1)
    if module.check_mode:
        return
    try:
        conn.admin({"replSetInitiate": doc}, direct_host=host, retries=0)
    except CommandFailed as exc:
        raise StepFailed("replSetInitiate on %s was refused: %s" % (host, exc))
    wait_until(lambda: conn.hello(host), lambda h: h.get("isWritablePrimary") or h.get("primary"),
               timeout=module.params["step_timeout"], max_interval=0.5,
               what="a primary after replSetInitiate on %s" % host,
               describe=lambda h: "primary %s" % h.get("primary"))


def check_joining(options, current, desired, result):
    """Before any change (and in check mode): every member to be added answers hello and is
    uninitialised or of this set; otherwise StepFailed naming each member and what to do."""
    hosts = joining_hosts(current, desired)
    if not hosts:
        return
    verdicts = []
    with ReplicaSetConnection(options) as conn:
        for host in hosts:
            try:
                verdicts.append(joining_verdict(host, desired["_id"], hello=conn.hello(host)))
            except ConnectionProblem as exc:
                verdicts.append(joining_verdict(host, desired["_id"], error=str(exc)))
    result["joining"] = verdicts
    result["plan_markdown"] += "\n\nMembers to be added: %s" % "; ".join(
        "%s %s" % (v["host"], v["found"]) for v in verdicts)
    refusal = joining_refusal(verdicts)
    if refusal:
        result["changed"] = False  # refused before any change
        raise StepFailed(refusal)


def apply_plan(module, conn, plan, result):
    """Run the plan's actions in order, counting the steps applied in result."""
    for action in plan.actions:
        if action["action"] == "stepdown":
            step_down(module, conn, action)
        elif action["action"] == "reconfig":
            reconfig(module, conn, plan.steps[action["step"] - 1], len(plan.steps))
            result["steps_applied"] += 1
        elif action["action"] == "await_primary":
            await_takeover(module, conn, action, result)


def await_takeover(module, conn, action, result):
    """A step gave another member the highest priority: let its takeover happen before the
    next step, so that step does not meet an election. Bounded; a takeover that does not
    come is reported, not fatal (the next step goes to whichever member is primary)."""
    try:
        wait_until(lambda: current_primary(conn), lambda p: p == normalize_host(action["to"]),
                   timeout=module.params["step_timeout"], what="%s to take over as primary" % action["to"])
    except ConnectionProblem as exc:
        result.setdefault("notes", []).append(str(exc))
        wait_until(lambda: current_primary(conn), lambda p: p is not None, timeout=module.params["step_timeout"],
                   what="a primary after step %d" % action["after_step"])


def current_primary(conn):
    """The primary's host as the set reports it (from any reachable member), or None."""
    return primary_host(conn.status())


def step_down(module, conn, action):
    primary = current_primary(conn)
    if primary != normalize_host(action["from"]):
        return  # the primary already moved (a priority takeover did it)
    try:
        conn.admin({"replSetStepDown": module.params["stepdown_seconds"], "secondaryCatchUpPeriodSecs": 10},
                   direct_host=primary, retries=0)
    except CommandFailed as exc:
        raise StepFailed("stepdown of %s before step %d was refused: %s" % (primary, action["before_step"], exc))
    except ConnectionProblem:
        pass  # the primary closes connections as it steps down
    wait_until(lambda: current_primary(conn), lambda p: p is not None and p != primary,
               timeout=module.params["step_timeout"], what="a new primary after stepping down %s" % primary)


def reconfig(module, conn, step, total):
    live = conn.config()
    doc = dict(step.config, version=live["version"] + 1)  # automatic reconfigs (newlyAdded) bump the version
    joining = set(normalize_host(m["host"]) for m in step.config["members"]) - \
        set(normalize_host(m["host"]) for m in live["members"])
    try:
        conn.admin({"replSetReconfig": doc, "maxTimeMS": int(module.params["step_timeout"] * 1000)}, retries=0)
    except CommandFailed as exc:
        raise StepFailed("step %d of %d (%s) was refused by mongod: %s" % (step.number, total, step.reason, exc))
    except ConnectionProblem as exc:
        raise StepFailed("step %d of %d (%s) failed: %s" % (step.number, total, step.reason, exc))

    def settled():
        # replSetGetConfig hides newlyAdded; a new member has finished its initial sync when
        # replSetGetStatus shows it SECONDARY (or ARBITER), after which the primary drops the flag
        committed = conn.admin({"replSetGetConfig": 1, "commitmentStatus": True}).get("commitmentStatus")
        states = dict((normalize_host(m["name"]), m.get("stateStr")) for m in conn.status().get("members", []))
        syncing = dict((host, states.get(host, "not yet seen")) for host in sorted(joining)
                       if states.get(host) not in ("PRIMARY", "SECONDARY", "ARBITER"))
        return {"committed": bool(committed), "syncing": syncing}
    wait_until(settled, lambda s: s["committed"] and not s["syncing"], timeout=module.params["step_timeout"],
               max_interval=0.5,  # two reads a poll: noticing a finished sync within 0.5 s, not 2 s, is worth it
               what="step %d of %d to commit and its new members to finish initial sync" % (step.number, total),
               describe=lambda s: "committed: %s; still syncing: %s" % (s["committed"], ", ".join(
                   "%s (%s)" % item for item in s["syncing"].items()) or "none"))


def main():
    module = connection_module(dict(
        config=dict(type="dict", required=True),
        initiate_host=dict(type="str"),
        target_version=dict(type="str", choices=["4.4", "5.0", "6.0", "7.0", "8.0"]),
        step_timeout=dict(type="float", default=600),
        stepdown_seconds=dict(type="int", default=60),
        keep_member_ids=dict(type="bool", default=True),
    ), needs_jsonschema=True, supports_check_mode=True)
    params = module.params
    desired = dict(params["config"])
    members = ReplSetConfig(desired).members
    # Validate before connecting; without a target version, only the rules all versions share.
    errors = [e for e in validate_config(desired, target_version=params["target_version"] or "8.0").errors
              if params["target_version"] or e.rule not in VERSION_DEPENDENT_RULES]
    if errors:
        module.fail_json(msg="the desired config is refused, nothing was changed:\n%s"
                         % "\n".join(str(e) for e in errors), errors=[e.to_dict() for e in errors])
    initiate_host = normalize_host(params["initiate_host"] or members[0].host)
    options = ConnectionOptions.from_params(params)
    if not params["replica_set"]:
        options.replica_set = desired.get("_id")
    result = {"changed": False, "initiated": False, "steps_applied": 0}
    with ReplicaSetConnection(options) as conn:
        try:
            quick = replace(options, server_selection_timeout=min(options.server_selection_timeout, 5.0),
                            connect_timeout=min(options.connect_timeout, 5.0))
            with ReplicaSetConnection(quick) as probe:
                hello = initialized_member(probe, members, desired["_id"])
            if hello is None:  # no member belongs to a set yet: the designated member must answer
                hello = conn.hello(initiate_host)
            target_version = params["target_version"] or server_version_rules(
                conn.admin("buildInfo", direct_host=None if hello.get("setName") else initiate_host).get("version"))
            if hello.get("setName") is None:
                if not hello.get("isreplicaset"):
                    module.fail_json(msg="%s is not started with --replSet (hello shows no replica set); start "
                                         "mongod with replication.replSetName: %s" % (initiate_host, desired["_id"]))
                checked = validate_config(dict(desired, version=1), target_version=target_version, initiate=True)
                if checked.errors:
                    module.fail_json(msg="replSetInitiate would refuse the config:\n%s"
                                     % "\n".join(str(e) for e in checked.errors))
                initiate(module, conn, desired, initiate_host)
                result.update(changed=True, initiated=True)
                if module._diff:
                    result["diff"] = {"before": {}, "after": to_json_view(dict(desired, version=1))}
            else:
                status = conn.status()
                current = to_json_view(conn.config())
                result["config_before"] = current
                if params["keep_member_ids"]:
                    desired = align_member_ids(desired, current)
                result["term_before"] = status.get("term")
                primary = current_primary(conn)
                plan = plan_reconfig(current, desired, primary=primary, target_version=target_version)
                result.update(plan=plan.to_dict(), plan_markdown=render_plan_markdown(plan), changed=plan.changed)
                if module._diff and plan.changed:
                    result["diff"] = {"before": current, "after": plan.steps[-1].config}
                check_joining(quick, current, desired, result)
                if plan.changed and not module.check_mode:
                    apply_plan(module, conn, plan, result)
            if not module.check_mode:
                try:
                    result["config"] = to_json_view(conn.config())
                    result["term_after"] = conn.status().get("term")
                except ConnectionProblem as exc:
                    if not result["initiated"]:
                        raise
                    # initiated through the localhost exception: nothing but createUser is allowed
                    # until the first user exists (mongod 7.0)
                    result.setdefault("notes", []).append("config not read after replSetInitiate: %s" % exc)
        except (ConnectionProblem, StepFailed, PlanError) as exc:
            result["msg"] = str(exc)
            module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
