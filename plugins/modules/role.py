#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: role
short_description: Create, update and remove MongoDB user-defined roles
version_added: 0.2.0
description:
  - Makes a user-defined role exist with exactly the given privileges and inherited roles (and, when given,
    authentication restrictions), or not exist. Runs on the primary of a replica set (found from the seed list)
    or on a standalone, with C(createRole), C(updateRole) and C(dropRole).
  - Idempotent. What the server holds and what is asked are compared as mongod stores a role - privileges on the
    same resource merged into one, actions as a set (C(anyAction) standing for all), inherited roles as a set - so
    the order they are written in does not matter.
  - Built-in role names (those mongod builds in on that database, such as C(readWrite) anywhere or C(root) on
    C(admin)) are refused before anything is sent.
  - What mongod itself refuses - an unknown action, a malformed resource, a privilege on another database for a
    role outside C(admin), a missing inherited role - fails the task with mongod's message and code name; the
    role is left as it was (each command changes the role in one step or not at all).
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  name:
    description: The role name.
    type: str
    required: true
  database:
    description: The database the role is defined on (a role outside C(admin) can only hold privileges on its own database).
    type: str
    default: admin
  privileges:
    description:
      - "The privileges the role grants directly; each a mapping with C(resource) (C({db, collection}),
        C({cluster: true}) or C({anyResource: true})) and C(actions) (action names)."
      - The role gets exactly these; an empty list grants none.
    type: list
    elements: dict
    default: []
  roles:
    description:
      - The roles it inherits - names (of O(database)) or mappings with C(role) and C(db). Exactly these.
    type: list
    elements: raw
    default: []
  authentication_restrictions:
    description:
      - The role's C(authenticationRestrictions) - mappings with C(clientSource) and/or C(serverAddress) (CIDR
        ranges or addresses). An empty list removes them; without this option they are left as they are.
    type: list
    elements: dict
  state:
    description: Whether the role exists.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Nothing is sent but C(rolesInfo), so what only mongod judges (an unknown action, a malformed resource)
      is reported by the real run, not by check mode.
  diff_mode:
    support: full
    details: The role's privileges, inherited roles and authentication restrictions before and after.
"""

EXAMPLES = r"""
- name: A role that reads the orders database and may inspect the set
  quorum.mongodb.role:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    name: ordersReader
    database: admin
    privileges:
      - resource: {db: orders, collection: ""}
        actions: [find, listCollections, listIndexes]
      - resource: {cluster: true}
        actions: [replSetGetStatus, serverStatus]
    roles:
      - {role: read, db: reporting}
  delegate_to: localhost
  run_once: true

- name: A role of the orders database, usable from the application network only
  quorum.mongodb.role:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    name: ordersWriter
    database: orders
    privileges:
      - resource: {db: orders, collection: invoices}
        actions: [find, insert, update]
    roles: [read]
    authentication_restrictions:
      - clientSource: ["10.20.0.0/16"]
  delegate_to: localhost
  run_once: true

- name: Remove a role nobody uses any more
  quorum.mongodb.role:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    name: legacyReports
    database: reporting
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
role:
  description: The role as rolesInfo shows it after the run, normalised (its direct privileges, inherited roles
    and authentication restrictions).
  returned: when the role exists after the run and not in check mode
  type: dict
  sample:
    role: ordersReader
    db: admin
    privileges:
      - resource: {cluster: true}
        actions: [replSetGetStatus, serverStatus]
      - resource: {collection: "", db: orders}
        actions: [find, listCollections, listIndexes]
    roles:
      - {role: read, db: reporting}
    authenticationRestrictions: []
actions:
  description: The commands run (or, in check mode, that would run), each with its reason.
  returned: always
  type: list
  elements: str
  sample: ["updateRole privileges (privileges differ)"]
code_name:
  description: The code name of mongod's error, when mongod refused the command.
  returned: failure, when mongod answered with an error
  type: str
  sample: BadValue
"""

from ansible_collections.quorum.mongodb.plugins.module_utils.custom_roles import (
    RoleInputError,
    builtin_role_refused,
    normalize_privileges,
    normalize_restrictions,
    normalize_role_refs,
    role_changes,
    role_diff,
    stored_role,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import CommandFailed, ConnectionProblem
from ansible_collections.quorum.mongodb.plugins.module_utils.users import check_user_names


def find_role(conn, name, database):
    """The role as rolesInfo describes it (direct privileges and restrictions included), or None."""
    reply = conn.command(database, {"rolesInfo": {"role": name, "db": database}, "showPrivileges": True,
                                    "showAuthenticationRestrictions": True})
    return next(iter(reply.get("roles") or []), None)


def main():
    module = connection_module(dict(
        name=dict(type="str", required=True),
        database=dict(type="str", default="admin"),
        privileges=dict(type="list", elements="dict", default=[]),
        roles=dict(type="list", elements="raw", default=[]),
        authentication_restrictions=dict(type="list", elements="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ), supports_check_mode=True)
    p = module.params
    refused = (check_user_names(p["name"], p["database"]) or builtin_role_refused(p["name"], p["database"]))
    if refused:
        module.fail_json(msg="%s; nothing was changed" % refused.replace("user name", "role name"))
    try:
        wanted = {"role": p["name"], "db": p["database"],
                  "privileges": normalize_privileges(p["privileges"]),
                  "roles": normalize_role_refs(p["roles"], p["database"]),
                  "authenticationRestrictions": normalize_restrictions(p["authentication_restrictions"])}
    except RoleInputError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc)
    result = {"changed": False, "actions": []}
    try:
        with connect(module) as conn:
            info = find_role(conn, p["name"], p["database"])
            if info is not None and info.get("isBuiltin"):
                module.fail_json(msg="%s@%s is a built-in role: it cannot be created, changed or dropped; nothing was "
                                     "changed" % (p["name"], p["database"]))
            existing = stored_role(info) if info is not None else None
            changes = role_changes(existing, wanted, p["state"])
            result["actions"] = ["%s (%s)" % (" ".join([command] + fields), reason) for command, fields, reason in changes]
            if module._diff:
                result["diff"] = role_diff(existing, wanted, p["state"], changes)
            result["changed"] = bool(changes)
            if changes and not module.check_mode:
                apply_changes(conn, p, wanted, changes)
            if not module.check_mode and p["state"] == "present":
                info = find_role(conn, p["name"], p["database"])
                if info is not None:
                    result["role"] = stored_role(info)
    except CommandFailed as exc:
        module.fail_json(msg="%s; nothing was changed by it" % exc, code_name=exc.code_name, **result)
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


def apply_changes(conn, p, wanted, changes):
    command, fields, _reason = changes[0]
    if command == "dropRole":
        conn.command(p["database"], {"dropRole": p["name"]}, retries=0)
        return
    if command == "createRole":
        create = {"createRole": p["name"], "privileges": wanted["privileges"], "roles": wanted["roles"]}
        if wanted["authenticationRestrictions"]:
            create["authenticationRestrictions"] = wanted["authenticationRestrictions"]
        conn.command(p["database"], create, retries=0)
        return
    update = {"updateRole": p["name"]}
    update.update((field, wanted[field]) for field in fields)
    conn.command(p["database"], update, retries=0)


if __name__ == "__main__":
    main()
