#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_smoke
short_description: Prove that a MongoDB replica set works as designed, from an application's side
version_added: 0.1.0
description:
  - Connects the way an application does - a seed list of one member (the first of O(hosts)) and the set
    name - and reports the members the driver discovered from it, with the round-trip time the driver
    measured to each.
  - Writes one scratch document under each write-concern mode - C(majority) and every mode in the
    config's C(settings.getLastErrorModes), or O(write_concern_modes) - and reports how long each took
    to be acknowledged; a mode not acknowledged within O(write_timeout) is a failure.
  - For each datacenter (each value of the member tag O(datacenter_tag) on a data-bearing, non-hidden member),
    reads with read preference C(secondary) and a tag set that names that datacenter - or
    O(dc_read_fallback) when the driver sees no secondary there - and proves that the member that
    served the read, as the driver reports it, carries that tag in the config.
  - Removes the scratch documents it wrote (an empty scratch collection stays); C(changed) is always false.
  - Runs every check, then fails naming each write-concern mode and datacenter that failed.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  scratch_namespace:
    description: The C(database.collection) the scratch documents are written to and read from.
    type: str
    default: quorum_smoke.checks
  write_concern_modes:
    description:
      - The write concerns to prove, instead of C(majority) plus every mode in C(settings.getLastErrorModes).
      - A number given as a string (C("2")) is sent as a number.
    type: list
    elements: str
  write_timeout:
    description: Seconds each write may take to be acknowledged (sent as C(wtimeout)).
    type: float
    default: 30
  datacenter_tag:
    description: The member tag whose values are the datacenters.
    type: str
    default: dc
  dc_read_fallback:
    description:
      - The read preference for a datacenter where the driver sees no secondary (its only data-bearing
        member is the primary, or its secondaries are down).
      - C(none) makes such a datacenter a failure.
    type: str
    choices: [nearest, none]
    default: nearest
  read_timeout:
    description: Seconds each datacenter read may take, server selection included.
    type: float
    default: 10
  discovery_timeout:
    description:
      - Seconds to wait until the driver has discovered every member that C(hello) lists (all but hidden
        ones) and measured its round-trip time. Members still missing then are reported as a failure.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    details: Connects, discovers the members and plans the checks; writes and reads nothing.
  diff_mode:
    support: none
    details: The scratch documents are removed again; the set's data is as before.
notes:
  - In check mode it connects, discovers the members and plans the checks, but writes and
    reads nothing and reports what it would check.
  - Every member the driver discovers must be reachable from where the task runs (the controller when it is
    delegated to localhost), under the names in the replica set config, as for any application.
  - C(changed) is always false on purpose - the scratch documents are removed again, so the set's data is
    as before and a rerun of a playbook stays idempotent.
"""

EXAMPLES = r"""
- name: Prove the set works from an application's side, after provisioning
  quorum.mongodb.rs_smoke:
    hosts: [db1.dc1.example.net]
    replica_set: orders
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
  delegate_to: localhost
  register: smoke

- name: Show what it proved
  ansible.builtin.debug:
    msg: "{{ smoke.report }}"

- name: Only the multiDC mode, and no read from a datacenter without a secondary
  quorum.mongodb.rs_smoke:
    hosts: [db1.dc1.example.net]
    replica_set: orders
    write_concern_modes: [multiDC]
    write_timeout: 5
    dc_read_fallback: none
  delegate_to: localhost
"""

RETURN = r"""
set:
  description: The replica set name, from its config.
  returned: success
  type: str
  sample: orders
seed:
  description: The one member the driver was given.
  returned: success
  type: str
  sample: db1.dc1.example.net:27017
members:
  description: The members the driver discovered from the seed - host, type (C(RSPrimary), C(RSSecondary),
    C(RSArbiter), C(Unknown), ...), tags, and rtt_ms (the driver's round-trip time, null before its first check).
  returned: success
  type: list
  elements: dict
  sample: [{"host": "127.0.0.21:27017", "type": "RSPrimary", "tags": {"dc": "dc1"}, "rtt_ms": 0.41}]
writes:
  description: One entry per write concern - w, ok (null in check mode), seconds until acknowledged, error.
  returned: success
  type: list
  elements: dict
  sample: [{"w": "multiDC", "ok": true, "seconds": 0.012, "error": null}]
reads:
  description: One entry per datacenter - dc, read_preference, tag_set, members (host and the driver's type),
    served_by, served_by_type, found_written_document, ok (null in check mode), error.
  returned: success
  type: list
  elements: dict
  sample: [{"dc": "dc2", "read_preference": "secondary", "tag_set": {"dc": "dc2"}, "served_by": "127.0.0.23:27017",
            "ok": true}]
problems:
  description: Everything that failed, one sentence each, naming the member, mode or datacenter.
  returned: always
  type: list
  elements: str
  sample: ["write concern multiDC: not acknowledged within 5 s (WTimeout)"]
removed:
  description: Scratch documents removed again.
  returned: success
  type: int
  sample: 2
report:
  description: The outcome for people, as Markdown lines (members with round-trip times, writes, reads).
  returned: success
  type: list
  elements: str
  sample:
    - 'members: db1.dc1.example.net:27017 RSPrimary 0.4 ms, db2.dc2.example.net:27017 RSSecondary 0.9 ms'
    - 'w majority: acknowledged in 0.012 s'
    - 'dc2: read served by db2.dc2.example.net:27017 (RSSecondary)'
domain_key:
  description: The member tag that names the datacenters (O(datacenter_tag)).
  returned: success
  type: str
  sample: dc
"""

import datetime
import time
import uuid

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
    WaitTimeout,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.smoke_check import (
    datacenter_reads,
    describe_discovery,
    discovery_complete,
    discovery_problems,
    read_served_problem,
    render_smoke_report,
    write_concern_modes_to_check,
)


def discover(conn, config, timeout):
    """The driver's view of the set once it has found every member (or the timeout ran out)."""
    try:
        discovered = wait_until(conn.discovered_members, lambda seen: discovery_complete(config, seen),
                                timeout=timeout, what="the driver to discover every member", describe=describe_discovery)[0]
    except WaitTimeout:
        discovered = conn.discovered_members()
    return discovered


def prove_write(conn, namespace, run_id, w, timeout):
    document = {"_id": "%s-%s" % (run_id, w), "run": run_id, "w": str(w),
                "at": datetime.datetime.now(datetime.timezone.utc)}
    started = time.monotonic()
    try:
        conn.insert_acknowledged(namespace, document, w, timeout)
    except ConnectionProblem as exc:
        seconds = round(time.monotonic() - started, 3)
        return {"w": w, "ok": False, "seconds": seconds,
                "error": "write concern %s: not acknowledged, failed after %g s (bound %g s): %s" % (w, seconds, timeout, exc)}
    return {"w": w, "ok": True, "seconds": round(time.monotonic() - started, 3), "error": None}


def unproven_read(planned, ok):
    """A planned datacenter read as reported before (or instead of) running it."""
    read = dict(planned, served_by=None, served_by_type=None, found_written_document=None, ok=ok,
                error=planned["problem"])
    del read["problem"]
    return read


def prove_read(conn, config, namespace, run_id, planned, key, timeout):
    read = unproven_read(planned, False)
    if read["error"]:
        return read
    comment = "quorum.mongodb smoke check %s %s=%s" % (run_id, key, read["dc"])
    try:
        served_by, found = conn.read_one(namespace, {"run": run_id}, read["read_preference"], [read["tag_set"]],
                                         comment, timeout)
    except ConnectionProblem as exc:
        read["error"] = "%s %s: no read with read preference %s and tag set %s: %s" % (
            key, read["dc"], read["read_preference"], read["tag_set"], exc)
        return read
    types = dict((m["host"], m["type"]) for m in conn.discovered_members())
    read.update(served_by=served_by, served_by_type=types.get(served_by), found_written_document=found is not None,
                error=read_served_problem(config, key, read["dc"], served_by))
    read["ok"] = read["error"] is None
    return read


def main():
    module = connection_module(dict(
        scratch_namespace=dict(type="str", default="quorum_smoke.checks"),
        write_concern_modes=dict(type="list", elements="str"),
        write_timeout=dict(type="float", default=30),
        datacenter_tag=dict(type="str", default="dc"),
        dc_read_fallback=dict(type="str", default="nearest", choices=["nearest", "none"]),
        read_timeout=dict(type="float", default=10),
        discovery_timeout=dict(type="float", default=30),
    ), supports_check_mode=True)
    params = module.params
    namespace, key = params["scratch_namespace"], params["datacenter_tag"]
    if "." not in namespace.strip("."):
        module.fail_json(msg="scratch_namespace must be database.collection, got %r" % namespace, problems=[])
    options = ConnectionOptions.from_params(params)
    options.hosts = options.hosts[:1]  # one seed: the driver must discover the rest itself
    seed = options.seeds[0]
    run_id = uuid.uuid4().hex[:12]
    with ReplicaSetConnection(options) as conn:
        try:
            config = conn.config()
        except ConnectionProblem as exc:
            module.fail_json(msg="smoke check: cannot read the replica set config through seed %s: %s" % (seed, exc),
                             problems=[str(exc)])
        members = discover(conn, config, params["discovery_timeout"])
        problems = discovery_problems(config, members)
        modes = write_concern_modes_to_check(config, params["write_concern_modes"])
        planned = datacenter_reads(config, members, key, params["dc_read_fallback"])
        removed = 0
        if module.check_mode:
            writes = [{"w": w, "ok": None, "seconds": None, "error": None} for w in modes]
            reads = [unproven_read(r, False if r["problem"] else None) for r in planned]
        else:
            try:
                writes = [prove_write(conn, namespace, run_id, w, params["write_timeout"]) for w in modes]
                reads = [prove_read(conn, config, namespace, run_id, r, key, params["read_timeout"]) for r in planned]
            finally:
                try:
                    removed = conn.delete_many(namespace, {"run": run_id})
                except ConnectionProblem as exc:
                    problems.append("could not remove the scratch documents of run %s from %s: %s" % (run_id, namespace, exc))
        problems += [w["error"] for w in writes if w["error"]] + [r["error"] for r in reads if r["error"]]
    result = {"set": config.get("_id"), "seed": seed, "domain_key": key, "members": members, "writes": writes,
              "reads": reads, "problems": problems, "removed": removed}
    result["report"] = render_smoke_report(result)
    if problems:
        module.fail_json(msg="smoke check of %s failed: %s" % (result["set"], "; ".join(problems)), changed=False,
                         **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
