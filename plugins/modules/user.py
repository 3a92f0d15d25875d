#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: user
short_description: Create, update and remove MongoDB users (SCRAM)
version_added: 0.1.0
description:
  - Makes a user exist with the given roles, or not exist. Runs on the primary of a replica set (found
    from the seed list) or on a standalone.
  - The first administrator of a set with authorization on is created through the localhost exception -
    when the credentials are refused and the user to create is O(login_user) itself, the module connects
    without credentials from localhost, as mongod allows while no user exists.
  - Idempotent, the password included - with O(update_password=always) the module first tries to
    authenticate with the given password and changes it only when that fails.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  name:
    description: The user name.
    type: str
    required: true
  database:
    description: The database that holds the user (its authentication database).
    type: str
    default: admin
  password:
    description: The user's password. Never logged. Required to create a user.
    type: str
  roles:
    description:
      - Role names (of O(database)) or mappings with C(role) and C(db).
    type: list
    elements: raw
    default: []
  state:
    description: Whether the user exists.
    type: str
    choices: [present, absent]
    default: present
  update_password:
    description: C(on_create) sets the password only when creating the user; C(always) also changes it.
    type: str
    choices: [on_create, always]
    default: on_create
  mechanisms:
    description: The SCRAM mechanisms the user can authenticate with.
    type: list
    elements: str
    choices: ["SCRAM-SHA-1", "SCRAM-SHA-256"]
    default: ["SCRAM-SHA-1", "SCRAM-SHA-256"]
  custom_data:
    description:
      - The user's C(customData) document. Without it, whatever the user has is left as it is.
    type: dict
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The user's roles and custom data before and after; a password is never shown, only whether it is set.
"""

EXAMPLES = r"""
- name: Create the first administrator (localhost exception)
  quorum.mongodb.user:
    hosts: ["127.0.0.1:27017"]
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    name: admin
    password: "{{ vault_mongodb_admin_password }}"
    roles: [root]
  delegate_to: db1.example.net   # the localhost exception holds only on the member's own loopback
  run_once: true

- name: An application user
  quorum.mongodb.user:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    name: orders
    database: orders
    password: "{{ vault_orders_password }}"
    roles: [readWrite, {role: read, db: reporting}]
    custom_data: {team: orders, ticket: OPS-1234}
  delegate_to: localhost

- name: Remove a user nobody uses any more
  quorum.mongodb.user:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    name: legacy_reports
    database: reporting
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
user:
  description: The user as usersInfo shows it after the run (no credentials).
  returned: when the user exists after the run and not in check mode
  type: dict
  sample:
    _id: orders.orders
    user: orders
    db: orders
    roles:
    - role: readWrite
      db: orders
    - role: read
      db: reporting
    mechanisms:
    - SCRAM-SHA-1
    - SCRAM-SHA-256
actions:
  description: The commands run (or, in check mode, that would run), each with its reason.
  returned: always
  type: list
  elements: str
  sample: ["createUser (the user does not exist)"]
bootstrapped:
  description: Whether the localhost exception was used.
  returned: always
  type: bool
  sample: false
"""

from dataclasses import replace

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    AuthenticationProblem,
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.users import (
    RoleError,
    check_user_names,
    normalize_roles,
    user_changes,
    user_diff,
)


def find_user(conn, name, database):
    users = conn.command(database, {"usersInfo": {"user": name, "db": database}})["users"]
    return users[0] if users else None


def password_authenticates(options, name, database, password):
    """Whether `password` authenticates `name` now (a throwaway connection)."""
    probe = replace(options, login_user=name, login_password=password, login_database=database)
    with ReplicaSetConnection(probe) as conn:
        try:
            conn.admin("ping", retries=0)
            return True
        except AuthenticationProblem:
            return False


def main():
    module = connection_module(dict(
        name=dict(type="str", required=True),
        database=dict(type="str", default="admin"),
        password=dict(type="str", no_log=True),
        roles=dict(type="list", elements="raw", default=[]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        mechanisms=dict(type="list", elements="str", default=["SCRAM-SHA-1", "SCRAM-SHA-256"],
                        choices=["SCRAM-SHA-1", "SCRAM-SHA-256"]),
        custom_data=dict(type="dict"),
    ), supports_check_mode=True)
    p = module.params
    refused = check_user_names(p["name"], p["database"])
    if refused:
        module.fail_json(msg="%s; nothing was changed" % refused)
    try:
        wanted_roles = normalize_roles(p["roles"], p["database"])
    except RoleError as exc:
        module.fail_json(msg=str(exc))
    options = ConnectionOptions.from_params(p)
    result = {"changed": False, "actions": [], "bootstrapped": False}
    try:
        conn = ReplicaSetConnection(options)
        try:
            existing = find_user(conn, p["name"], p["database"])
        except AuthenticationProblem:
            if not (p["state"] == "present" and p["name"] == options.login_user and p["database"] == options.login_database):
                raise
            conn.close()  # no user yet: the localhost exception lets us create the first one
            options = replace(options, login_user=None, login_password=None)
            conn = ReplicaSetConnection(options)
            existing, result["bootstrapped"] = None, True
        with conn:
            if p["state"] == "present" and existing is None and not p["password"]:
                module.fail_json(msg="password is required to create user %s on %s" % (p["name"], p["database"]))
            matches = None
            if existing and p["state"] == "present" and p["update_password"] == "always" and p["password"]:
                matches = password_authenticates(options, p["name"], p["database"], p["password"])
            changes = user_changes(existing, wanted_roles, p["state"], matches, p["update_password"], p["custom_data"])
            result["actions"] = ["%s (%s)" % change for change in changes]
            if module._diff:
                result["diff"] = user_diff(existing, p["name"], p["database"], wanted_roles, p["state"], changes,
                                           p["custom_data"])
            result["changed"] = bool(changes)
            if changes and not module.check_mode:
                apply_changes(conn, p, wanted_roles, changes)
            if not module.check_mode and p["state"] == "present":
                user = find_user(conn, p["name"], p["database"]) if not result["bootstrapped"] or not changes else None
                if user is not None:
                    result["user"] = {"user": user.get("user"), "db": user.get("db"), "roles": user.get("roles"),
                                      "mechanisms": user.get("mechanisms"), "customData": user.get("customData")}
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


def apply_changes(conn, p, roles, changes):
    names = [name for name, _reason in changes]
    if "dropUser" in names:
        conn.command(p["database"], {"dropUser": p["name"]}, retries=0)
    elif "createUser" in names:
        create = {"createUser": p["name"], "pwd": p["password"], "roles": roles, "mechanisms": p["mechanisms"]}
        if p["custom_data"] is not None:
            create["customData"] = p["custom_data"]
        conn.command(p["database"], create, retries=0)
    else:
        update = {"updateUser": p["name"]}
        if "updateUser.roles" in names:
            update["roles"] = roles
        if "updateUser.customData" in names:
            update["customData"] = p["custom_data"]
        if "updateUser.pwd" in names:
            update.update(pwd=p["password"], mechanisms=p["mechanisms"])
        conn.command(p["database"], update, retries=0)


if __name__ == "__main__":
    main()
