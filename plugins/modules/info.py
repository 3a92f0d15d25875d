#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: info
short_description: Read a MongoDB server's version, FCV, parameters, databases, users, roles and replica set
version_added: 0.2.0
description:
  - Gathers what a drift report compares with the inventory - the server version (C(buildInfo)), the feature
    compatibility version (C(getParameter featureCompatibilityVersion), stable, upgrading or downgrading, in the
    shapes mongod 4.4 to 8.0 answer), the storage engine, selected server parameters, the databases with their
    sizes, the users and user-defined roles, and a replication summary (set name, primary, term, config version,
    each member's state).
  - Users never carry credentials - C(usersInfo) is asked without C(showCredentials), and only the user's name,
    database, roles, mechanisms, custom data and restrictions are kept of its answer.
  - Works on any member. With the seed list, one member answers every section - the primary, or, when the set
    has none, the member that answered first; with O(member), that member over a direct connection (its own view
    of the set). RV(answered_by) names it. An arbiter holds no
    users, so nobody can log in to it; on one only the version and the replication summary are read (both
    answered without a login) and the other sections are listed in RV(skipped).
  - Read-only; never reports a change. Check mode behaves the same.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  gather:
    description:
      - The sections to read - C(version), C(fcv), C(storage), C(parameters), C(databases), C(users), C(roles),
        C(replication), or C(all).
      - A name prefixed with C(!) leaves that section out; a list of exclusions only means every other section
        (for example C(['!users', '!roles']) for a login without user administration privileges).
    type: list
    elements: str
    default: [all]
  parameters:
    description:
      - The server parameters to read with C(getParameter). Names the server does not know (they vary by
        release) are listed in RV(parameters_unknown), not an error.
    type: list
    elements: str
    default: [authenticationMechanisms, clusterAuthMode, tlsMode, enableLocalhostAuthBypass, logLevel,
              cursorTimeoutMillis, transactionLifetimeLimitSeconds, maxTransactionLockRequestTimeoutMillis,
              diagnosticDataCollectionEnabled, replWriterThreadCount, enableFlowControl, ttlMonitorEnabled]
  member:
    description:
      - Read this member (C(host:port)) over a direct connection instead of the set's primary.
    type: str
attributes:
  check_mode:
    support: full
    details: Read-only; check mode reads the same.
  diff_mode:
    support: none
    details: The module only reads; there is nothing to show.
"""

EXAMPLES = r"""
- name: Everything an operator reads about the set
  quorum.mongodb.info:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
  delegate_to: localhost
  run_once: true
  register: mongodb

- name: Drift report - the release and FCV the inventory asks for
  ansible.builtin.assert:
    that:
      - mongodb.version.version is version(mongod_version, '>=')
      - mongodb.fcv.version == mongod_version.split('.')[:2] | join('.')
      - mongodb.fcv.state == 'stable'
    fail_msg: "rs0 runs {{ mongodb.version.version }} with FCV {{ mongodb.fcv.version }}"
  run_once: true

- name: One secondary's own view, without users and roles (a monitoring login)
  quorum.mongodb.info:
    hosts: ["db3.example.net:27017"]
    member: db3.example.net:27017
    login_user: monitor
    login_password: "{{ vault_mongodb_monitor_password }}"
    gather: ["!users", "!roles"]
    parameters: [logLevel, oplogFetcherUsesExhaust]
  delegate_to: localhost
"""

RETURN = r"""
gathered:
  description: The sections read.
  returned: always
  type: list
  elements: str
  sample: [version, fcv, storage, parameters, databases, users, roles, replication]
skipped:
  description: Sections asked for but not read, each with the reason (on an arbiter, every section that needs a login).
  returned: always
  type: dict
  sample: {}
answered_by:
  description: The member that answered every section (C(host:port)); null for a standalone (not in a set).
  returned: always
  type: str
  sample: db1.example.net:27017
version:
  description: The server release (C(buildInfo)) and the highest wire protocol version it speaks (C(hello)).
  returned: when gathered
  type: dict
  sample: {version: "7.0.14", git_version: "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188",
           version_array: [7, 0, 14, 0], modules: [], max_wire_version: 21}
fcv:
  description:
    - The feature compatibility version. C(state) is C(stable), C(upgrading) (C(target_version) above C(version))
      or C(downgrading); C(raw) is mongod's answer as it is.
  returned: when gathered
  type: dict
  sample: {version: "7.0", target_version: null, previous_version: null, state: stable, raw: {version: "7.0"}}
storage:
  description: The storage engine (C(serverStatus.storageEngine)).
  returned: when gathered
  type: dict
  sample: {engine: wiredTiger, persistent: true, supports_committed_reads: true, read_only: false}
parameters:
  description: The values of the O(parameters) the server knows.
  returned: when gathered
  type: dict
  sample: {logLevel: 0, authenticationMechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256"], tlsMode: disabled}
parameters_unknown:
  description: The O(parameters) the server does not know.
  returned: when parameters are gathered
  type: list
  elements: str
  sample: [oplogFetcherUsesExhaust]
databases:
  description: The databases (C(listDatabases)), by name, with their size on disk in bytes.
  returned: when gathered
  type: list
  elements: dict
  sample: [{name: admin, size_on_disk: 40960, empty: false}, {name: orders, size_on_disk: 8192000, empty: false}]
databases_total_size:
  description: The sum of the databases' sizes on disk, in bytes.
  returned: when databases are gathered
  type: int
  sample: 8232960
users:
  description: Every user of every database (C(usersInfo forAllDBs)) - name, database, roles, mechanisms, custom
    data; never credentials.
  returned: when gathered
  type: list
  elements: dict
  sample: [{user: admin, db: admin, roles: [{role: root, db: admin}], mechanisms: ["SCRAM-SHA-1", "SCRAM-SHA-256"]}]
roles:
  description: Every user-defined role of every database (the documents of C(admin.system.roles)) - name,
    database, privileges, inherited roles, authentication restrictions.
  returned: when gathered
  type: list
  elements: dict
  sample:
    - role: ordersReader
      db: admin
      privileges: [{resource: {db: orders, collection: ""}, actions: [find, listCollections]}]
      roles: [{role: read, db: reporting}]
replication:
  description: The replica set as the answering member sees it (C(enabled) false on a standalone).
  returned: when gathered
  type: dict
  sample:
    enabled: true
    set: rs0
    primary: db1.example.net:27017
    answered_by: db1.example.net:27017
    term: 4
    config_version: 7
    config_term: 4
    members:
      - {host: db1.example.net:27017, id: 0, state: PRIMARY, health: 1, votes: 1, priority: 2, hidden: false,
         arbiter: false, self: true}
"""

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import CommandFailed, ConnectionProblem
from ansible_collections.quorum.mongodb.plugins.module_utils.server_info import (
    DEFAULT_PARAMETERS,
    NEED_LOGIN,
    GatherError,
    databases_section,
    fcv_section,
    parameters_section,
    replication_section,
    roles_section,
    select_sections,
    storage_section,
    users_section,
    version_section,
)

INVALID_OPTIONS = 72  # getParameter when it knows none of the names (parameters.cpp, CmdGet)


def gather_section(conn, section, member, parameters, arbiter):
    """One section as {result key: value}."""
    def read(command, database="admin", authenticate=True):
        return conn.read(database, command, direct_host=member, authenticate=authenticate)

    if section == "version":
        return {"version": version_section(read("buildInfo", authenticate=not arbiter),
                                           read("hello", authenticate=False))}
    if section == "replication":
        hello = read("hello", authenticate=False)
        if arbiter or not hello.get("setName"):
            return {"replication": replication_section(hello)}
        return {"replication": replication_section(hello, conn.status(member), conn.config(member))}
    if section == "fcv":
        return {"fcv": fcv_section(read({"getParameter": 1, "featureCompatibilityVersion": 1}))}
    if section == "storage":
        return {"storage": storage_section(read("serverStatus"))}
    if section == "parameters":
        command = {"getParameter": 1}
        command.update((name, 1) for name in parameters)
        try:
            reply = read(command) if parameters else None
        except CommandFailed as exc:
            if exc.code != INVALID_OPTIONS:
                raise
            reply = None
        values = parameters_section(reply, parameters)
        return {"parameters": values["values"], "parameters_unknown": values["unknown"]}
    if section == "databases":
        values = databases_section(read({"listDatabases": 1}))
        return {"databases": values["databases"], "databases_total_size": values["total_size"]}
    if section == "users":
        return {"users": users_section(read({"usersInfo": {"forAllDBs": True}})["users"])}
    return {"roles": roles_section(conn.find_all("admin", "system.roles", direct_host=member))}


def main():
    module = connection_module(dict(
        gather=dict(type="list", elements="str", default=["all"]),
        parameters=dict(type="list", elements="str", default=list(DEFAULT_PARAMETERS)),
        member=dict(type="str"),
    ), supports_check_mode=True)
    p = module.params
    try:
        sections = select_sections(p["gather"])
    except GatherError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": False, "gathered": [], "skipped": {}, "answered_by": None}
    try:
        with connect(module) as conn:
            # One member answers every section: O(member), else the primary the first answer names (a new
            # client's primaryPreferred read may go to whichever member it hears from first), else that member.
            hello = conn.read("admin", "hello", direct_host=p["member"], authenticate=False)
            member = p["member"] or hello.get("primary") or hello.get("me")  # neither on a standalone
            arbiter = bool(member) and conn.is_arbiter(member)
            result["answered_by"] = member
            for section in sections:
                if arbiter and section in NEED_LOGIN:
                    result["skipped"][section] = ("%s is an arbiter: it holds no users, so nobody can log in to it"
                                                  % member)
                    continue
                try:
                    result.update(gather_section(conn, section, member, p["parameters"], arbiter))
                except ConnectionProblem as exc:
                    hint = "" if len(sections) == 1 else "; leave it out with gather: ['!%s']" % section
                    module.fail_json(msg="reading %s: %s%s" % (section, exc, hint),
                                     code_name=getattr(exc, "code_name", None), **result)
                result["gathered"].append(section)
    except ConnectionProblem as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
