#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_apply_lock
short_description: Take or release a lock kept in a MongoDB replica set, so that applies to it take turns
version_added: 0.1.0
description:
  - A lock with an owner and an expiry, kept as one document per O(name) in the collection
    C(quorum_mongodb.apply_locks) of the replica set itself and written with C(w:majority). Two
    pipelines that run C(playbooks/reconfig.yml) against the same set at once take turns - the second
    waits up to O(wait) seconds, then fails naming who holds the lock.
  - O(state=present) takes the lock for O(owner). The same owner taking it again only extends it (a
    rerun of the same job). A lock past its expiry (its run died) is taken over, and the result says so.
  - O(state=absent) releases the lock when O(owner) holds it; with O(force=true) whoever holds it.
  - A set that is not initiated yet has nowhere to keep a lock; the module then changes nothing and
    returns RV(initiated=false).
  - Check mode reads the lock and changes nothing.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  name:
    description: The lock's name, one per kind of operation; runs that use the same name exclude each other.
    type: str
    default: reconfig
  owner:
    description:
      - Who takes or releases the lock, shown to anyone who has to wait for it, for example
        C(github run 4711 by alice). Use the same value to release it.
    type: str
    required: true
  state:
    description: C(present) takes the lock, C(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  ttl:
    description:
      - Seconds the lock is held at most; after that another run may take it over. Longer than the
        longest apply (each step waits up to its step timeout).
    type: int
    default: 3600
  wait:
    description: Seconds to wait for a lock held by another owner before failing; C(0) fails at once.
    type: float
    default: 0
  force:
    description: With O(state=absent), release the lock whoever holds it (a run known to be dead).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The lock document before and after.
notes:
  - The login user needs C(readWrite) on the database C(quorum_mongodb) (C(root) has it).
  - Expiry is judged by the clock of the host that runs the module; keep controllers' clocks in sync (NTP).
"""

EXAMPLES = r"""
- name: Change rs0 under its lock (another pipeline's run is waited for, up to 10 minutes)
  block:
    - name: Take the reconfig lock of rs0
      quorum.mongodb.rs_apply_lock:
        hosts: "{{ groups['rs0'] }}"
        replica_set: rs0
        login_user: admin
        login_password: "{{ vault_mongodb_admin_password }}"
        owner: "pipeline {{ lookup('ansible.builtin.env', 'CI_PIPELINE_ID') }}"
        wait: 600
        ttl: 3600
      delegate_to: localhost
      run_once: true
    - name: Apply the inventory's topology
      quorum.mongodb.rs_config:
        hosts: "{{ groups['rs0'] }}"
        replica_set: rs0
        login_user: admin
        login_password: "{{ vault_mongodb_admin_password }}"
        config: "{{ groups['rs0'] | map('extract', hostvars) | list | quorum.mongodb.rs_desired_config(replset_name='rs0') }}"
      delegate_to: localhost
      run_once: true
  always:
    - name: Release the reconfig lock of rs0
      quorum.mongodb.rs_apply_lock:
        hosts: "{{ groups['rs0'] }}"
        replica_set: rs0
        login_user: admin
        login_password: "{{ vault_mongodb_admin_password }}"
        owner: "pipeline {{ lookup('ansible.builtin.env', 'CI_PIPELINE_ID') }}"
        state: absent
      delegate_to: localhost
      run_once: true

- name: Break the lock of a run known to be dead (its expiry has not come yet)
  quorum.mongodb.rs_apply_lock:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    owner: "{{ lookup('ansible.builtin.env', 'USER') }} breaking a dead run's lock"
    state: absent
    force: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
initiated:
  description: Whether the set is initiated (without a set there is no lock to take).
  returned: always
  type: bool
  sample: true
acquired:
  description: Whether O(owner) holds the lock now.
  returned: state=present
  type: bool
  sample: true
took_over:
  description: The expired lock that was taken over (its owner, acquired_at, expires_at), when there was one.
  returned: when an expired lock was taken over
  type: dict
  sample: {"_id": "reconfig", "owner": "github/acme/db/run/41", "acquired_at": "2026-12-06T01:00:00Z",
           "expires_at": "2026-12-06T02:00:00Z"}
lock:
  description: The lock document as it is now (dates as ISO 8601 UTC), or null when free.
  returned: always
  type: dict
  sample: {"_id": "reconfig", "owner": "github/acme/db/run/42 2026-12-06T02:10:00Z #123", "acquired_at": "2026-12-06T02:10:01Z",
           "expires_at": "2026-12-06T03:10:01Z"}
waited:
  description: Seconds spent waiting for another owner's lock.
  returned: state=present
  type: float
  sample: 12.5
"""

import datetime
import time
from dataclasses import replace

from ansible_collections.quorum.mongodb.plugins.module_utils.apply_lock import (
    DUPLICATE_KEY,
    EXPIRED,
    FREE,
    HELD,
    LOCK_COLLECTION,
    LOCK_DATABASE,
    MINE,
    describe_holder,
    judge_lock,
    lock_document,
    takeover_filter,
    to_result,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    CommandFailed,
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
)

MAJORITY = {"w": "majority", "wtimeout": 15000}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def set_initiated(options):
    """True when a member answers with a set name; False when members answer and none has one."""
    quick = replace(options, replica_set=None, server_selection_timeout=min(options.server_selection_timeout, 5.0),
                    connect_timeout=min(options.connect_timeout, 5.0))
    answered, problems = False, []
    with ReplicaSetConnection(quick) as probe:
        for host in options.seeds:
            try:
                hello = probe.hello(host)
            except ConnectionProblem as exc:
                problems.append(str(exc))
                continue
            answered = True
            if hello.get("setName") is not None:
                return True
    if not answered:
        raise ConnectionProblem("no member of %s answers: %s" % (", ".join(options.seeds), "; ".join(problems)))
    return False


def write(conn, command, what):
    """A write command under w:majority; its write error (if any) as (code, message)."""
    reply = conn.command(LOCK_DATABASE, dict(command, writeConcern=MAJORITY))
    if reply.get("writeConcernError"):
        error = reply["writeConcernError"]
        raise CommandFailed(what, LOCK_DATABASE + "." + LOCK_COLLECTION, error.get("code"), error.get("codeName"),
                            error.get("errmsg"))
    errors = reply.get("writeErrors") or []
    if errors:
        return errors[0].get("code"), errors[0].get("errmsg")
    return None, reply.get("n", 0)


def read_lock(conn, name):
    reply = conn.command(LOCK_DATABASE, {"find": LOCK_COLLECTION, "filter": {"_id": name}, "limit": 1,
                                         "readConcern": {"level": "majority"}})
    batch = reply.get("cursor", {}).get("firstBatch", [])
    return dict(batch[0]) if batch else None


def take(module, conn, result):
    p = module.params
    set_name = p["replica_set"] or ", ".join(conn.options.seeds)
    started = time.monotonic()
    pause = 0.5
    while True:
        now = utcnow()
        existing = read_lock(conn, p["name"])
        verdict = judge_lock(existing, p["owner"], now)
        result["lock"] = to_result(existing)
        if module.check_mode:
            result.update(acquired=verdict in (FREE, MINE, EXPIRED), changed=verdict != MINE,
                          waited=0.0)
            if verdict == HELD:
                module.warn("replica set %s: the %s lock is held by %s" % (set_name, p["name"],
                                                                           describe_holder(existing, now)))
            return
        if verdict == MINE:
            document = lock_document(p["name"], p["owner"], now, p["ttl"])
            write(conn, {"update": LOCK_COLLECTION, "updates": [
                {"q": {"_id": p["name"], "owner": p["owner"]},
                 "u": {"$set": {"expires_at": document["expires_at"]}}}]}, "extend the lock")
            result.update(acquired=True, changed=True, lock=to_result(dict(existing, **{
                "expires_at": document["expires_at"]})))
            break
        if verdict == EXPIRED:
            write(conn, {"delete": LOCK_COLLECTION, "deletes": [{"q": takeover_filter(existing), "limit": 1}]},
                  "remove the expired lock")
            result["took_over"] = to_result(existing)
            module.warn("replica set %s: took over the expired %s lock of %s" % (
                set_name, p["name"], describe_holder(existing, now)))
        if verdict in (FREE, EXPIRED):
            document = lock_document(p["name"], p["owner"], now, p["ttl"])
            code, _detail = write(conn, {"insert": LOCK_COLLECTION, "documents": [document]}, "take the lock")
            if code is None:
                result.update(acquired=True, changed=True, lock=to_result(document))
                break
            if code != DUPLICATE_KEY:
                raise CommandFailed("take the lock", LOCK_DATABASE + "." + LOCK_COLLECTION, code, None, _detail)
            continue  # another run took it between the read and the insert: judge again
        waited = time.monotonic() - started
        if waited >= p["wait"]:
            result.update(acquired=False, waited=round(waited, 1))
            module.fail_json(msg=(
                "replica set %s: the %s lock is held by %s; waited %.0f s. Another run is applying to this set: "
                "run again when it has finished. If that run died, its lock expires by itself; to release it now, "
                "run quorum.mongodb.rs_apply_lock with state=absent and force=true (playbooks/reconfig.yml: "
                "-e mongodb_apply_lock_break=true)" % (set_name, p["name"], describe_holder(existing, now), waited)),
                **result)
        time.sleep(min(pause, max(p["wait"] - waited, 0.05)))
        pause = min(pause * 1.5, 5.0)
    result["waited"] = round(time.monotonic() - started, 1)


def release(module, conn, result):
    p = module.params
    existing = read_lock(conn, p["name"])
    result["lock"] = to_result(existing)
    if existing is None or (existing.get("owner") != p["owner"] and not p["force"]):
        if existing is not None:
            module.warn("the %s lock is held by %s, not by %s: left in place" % (
                p["name"], describe_holder(existing, utcnow()), p["owner"]))
        return
    result["changed"] = True
    if module.check_mode:
        return
    query = {"_id": p["name"]} if p["force"] else {"_id": p["name"], "owner": p["owner"]}
    write(conn, {"delete": LOCK_COLLECTION, "deletes": [{"q": query, "limit": 1}]}, "release the lock")
    result["lock"] = None


def main():
    module = connection_module(dict(
        name=dict(type="str", default="reconfig"),
        owner=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        ttl=dict(type="int", default=3600),
        wait=dict(type="float", default=0),
        force=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    if not p["owner"].strip():
        module.fail_json(msg="owner must name who holds the lock (for example the pipeline run); it is empty")
    if p["ttl"] <= 0:
        module.fail_json(msg="ttl must be a positive number of seconds, got %d" % p["ttl"])
    result = {"changed": False, "initiated": True, "lock": None}
    before = {}
    options = ConnectionOptions.from_params(p)
    try:
        if not set_initiated(options):
            result["initiated"] = False
            module.exit_json(**result)
        with ReplicaSetConnection(options) as conn:
            before = to_result(read_lock(conn, p["name"])) or {}
            if p["state"] == "present":
                take(module, conn, result)
            else:
                release(module, conn, result)
    except ConnectionProblem as exc:
        module.fail_json(msg="replica set %s: the %s lock could not be %s: %s" % (
            p["replica_set"] or ", ".join(options.seeds), p["name"],
            "taken" if p["state"] == "present" else "released", exc), **result)
    if module._diff:
        after = result["lock"] or {}
        if module.check_mode and result["changed"]:
            after = {} if p["state"] == "absent" else {"_id": p["name"], "owner": p["owner"]}
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
