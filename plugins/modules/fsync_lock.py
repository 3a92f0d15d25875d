#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fsync_lock
short_description: Lock a MongoDB member against writes for a file-level backup, and unlock it
version_added: 0.1.0
description:
  - O(state=locked) flushes the member's data files and locks it against writes (C(fsync) with
    C(lock)), then reads, from the locked member, what its files now hold - the set name, the
    installed config version, the newest oplog entry and the member's state - so the backup's
    metadata describes exactly the copied files. When reading fails, the lock is released before
    the task fails.
  - O(state=unlocked) releases one lock (C(fsyncUnlock)); a member that is not locked is left
    alone (changed=false).
  - The lock belongs to the server, not to the connection, so lock and unlock are separate tasks;
    put the unlock in an C(always) section.
  - Check mode reads whether the member is locked now (C(currentOp) reports C(fsyncLock)) and reports the
    change O(state) would make - a lock always changes the member (locks are counted), an unlock only a
    locked member - and sends no lock or unlock.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  member:
    description: The member (C(host:port)) to lock or unlock; the module talks to it directly.
    type: str
    required: true
  state:
    description: C(locked) or C(unlocked).
    type: str
    choices: [locked, unlocked]
    default: locked
attributes:
  check_mode:
    support: full
    details: Reads the member's lock state (C(currentOp)) and reports the change that O(state) would make.
  diff_mode:
    support: none
    details: Lock and unlock change the member's lock count, returned as RV(lock_count).
"""

EXAMPLES = r"""
- name: Lock db3 for the copy
  quorum.mongodb.fsync_lock:
    hosts: [db3.example.net:27017]
    member: db3.example.net:27017
    state: locked
  register: locked
  delegate_to: localhost

- name: Copy the locked files, and always unlock
  block:
    - name: Lock db3
      quorum.mongodb.fsync_lock:
        hosts: [db3.example.net:27017]
        login_user: backup
        login_password: "{{ vault_mongodb_backup_password }}"
        member: db3.example.net:27017
      register: locked
      delegate_to: localhost
    - name: Copy the data files
      ansible.builtin.command: rsync -a /var/lib/mongodb/ /backup/rs0/
      changed_when: true
  always:
    - name: Unlock db3
      quorum.mongodb.fsync_lock:
        hosts: [db3.example.net:27017]
        login_user: backup
        login_password: "{{ vault_mongodb_backup_password }}"
        member: db3.example.net:27017
        state: unlocked
      delegate_to: localhost
"""

RETURN = r"""
locked_before:
  description: Whether the member was locked before the task (C(fsyncLock) in C(currentOp)).
  returned: in check mode
  type: bool
  sample: false
lock_count:
  description: The member's lock count after the command (0 when unlocked).
  returned: success, not in check mode
  type: int
  sample: 1
set_name:
  description: The replica set name in the member's config.
  returned: state=locked
  type: str
  sample: rs0
config_version:
  description: The version of the member's installed config.
  returned: state=locked
  type: int
  sample: 7
member_state:
  description: PRIMARY, SECONDARY (hidden members too) or the member's other state.
  returned: state=locked
  type: str
  sample: SECONDARY
newest_oplog:
  description: The member's newest oplog entry's timestamp - C(t) (seconds), C(i) (increment), C(date) (ISO 8601, UTC).
  returned: state=locked
  type: dict
  sample: {"t": 1764979200, "i": 3, "date": "2026-12-06T00:00:00+00:00"}
"""

import datetime

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    CommandFailed,
    ConnectionProblem,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import normalize_host

NOT_LOCKED = 20  # IllegalOperation: "fsyncUnlock called when not locked"


def member_state_of(hello):
    if hello.get("isWritablePrimary") or hello.get("ismaster"):
        return "PRIMARY"
    if hello.get("secondary"):
        return "SECONDARY"
    return "ARBITER" if hello.get("arbiterOnly") else "OTHER"


def read_locked_member(conn, member):
    """What the locked member's files hold: set, config version, newest oplog entry, state."""
    config = conn.config(direct_host=member)
    newest = conn.command("local", {"find": "oplog.rs", "sort": {"$natural": -1}, "limit": 1,
                                    "projection": {"ts": 1}}, direct_host=member)["cursor"]["firstBatch"]
    if not newest:
        raise ConnectionProblem("%s has no oplog entries: it is not a replica set member with data" % member)
    ts = newest[0]["ts"]
    date = datetime.datetime.fromtimestamp(ts.time, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"set_name": config["_id"], "config_version": config["version"],
            "member_state": member_state_of(conn.hello(member)),
            "newest_oplog": {"t": ts.time, "i": ts.inc, "date": date}}


def is_fsync_locked(conn, member):
    """Whether `member` holds an fsync lock now: mongod adds fsyncLock: true to currentOp's reply
    while it is locked for writing (src/mongo/db/commands/current_op.cpp,
    CurrentOpCommand::appendToResponse)."""
    return bool(conn.admin({"currentOp": 1, "active": True}, direct_host=member).get("fsyncLock"))


def main():
    module = connection_module(dict(
        member=dict(type="str", required=True),
        state=dict(type="str", default="locked", choices=["locked", "unlocked"]),
    ), supports_check_mode=True)
    p = module.params
    member = normalize_host(p["member"])
    with connect(module) as conn:
        if module.check_mode:
            try:
                locked = is_fsync_locked(conn, member)
            except ConnectionProblem as exc:
                module.fail_json(msg="could not read whether %s is locked: %s" % (member, exc))
            if p["state"] == "locked":
                module.exit_json(changed=True, locked_before=locked, msg="would lock %s%s" % (
                    member, " once more (it is locked already; each lock needs its own unlock)" if locked else ""))
            module.exit_json(changed=locked, locked_before=locked,
                             msg=("would unlock %s" if locked else "%s is not locked: nothing to unlock") % member)
        if p["state"] == "unlocked":
            try:
                reply = conn.admin("fsyncUnlock", direct_host=member, retries=0)
            except CommandFailed as exc:
                if exc.code == NOT_LOCKED:
                    module.exit_json(changed=False, lock_count=0)
                module.fail_json(msg="could not unlock %s: %s" % (member, exc))
            except ConnectionProblem as exc:
                module.fail_json(msg="could not unlock %s, it may still be locked against writes: %s" % (member, exc))
            module.exit_json(changed=True, lock_count=int(reply.get("lockCount", 0)))
        try:
            reply = conn.admin({"fsync": 1, "lock": True}, direct_host=member, retries=0)
        except ConnectionProblem as exc:
            module.fail_json(msg="could not lock %s against writes: %s" % (member, exc))
        try:
            facts = read_locked_member(conn, member)
        except ConnectionProblem as exc:
            try:
                conn.admin("fsyncUnlock", direct_host=member, retries=0)
                released = "the lock was released"
            except ConnectionProblem as unlock_exc:
                released = "and unlocking failed too, run db.fsyncUnlock() on it: %s" % unlock_exc
            module.fail_json(msg="locked %s but could not read its oplog and config (%s); %s" % (member, exc, released))
    module.exit_json(changed=True, lock_count=int(reply.get("lockCount", 1)), **facts)


if __name__ == "__main__":
    main()
