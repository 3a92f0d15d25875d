#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_bootstrap
short_description: Start a new MongoDB replica set with authorization from one of its members
version_added: 0.2.0
description:
  - Runs on a member host (C(delegate_to) the member) and talks to mongod on that host's own loopback, the only
    connection mongod's localhost exception serves. A controller that reaches members by their network
    addresses cannot initiate a set with access control on, nor create its first user.
  - When the member is not in a replica set yet, initiates a one-member set of this member (with its C(_id),
    tags and the desired settings, priority at least 1 and a vote); a single electable member elects itself at
    once. Then creates the first administrator while the localhost exception is open. Adding the other members
    is an ordinary, authenticated reconfiguration (M(quorum.mongodb.rs_config), from anywhere).
  - Needs only Python's standard library on the member host (no pymongo) - it speaks the wire protocol itself,
    without authentication, and sends nothing but C(hello), C(replSetInitiate) and C(createUser).
  - Idempotent. A member that already belongs to the set is left alone; the administrator is created only while
    no user exists (mongod refuses the localhost exception after that), and never changed.
  - The M(quorum.mongodb.replset) role's bootstrap runs this on the desired config's first highest-priority
    member; the member must bind C(127.0.0.1) as well as its address (the mongod role's default C(mongod_bind_ip)).
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.attributes
options:
  config:
    description: The desired replica set config document (C(_id), C(members), C(settings)); only the bootstrap
      member's entry and the settings go into the one-member config.
    type: dict
    required: true
  member:
    description:
      - The bootstrap member, as its C(host) appears in O(config).
      - Default the first member of the highest priority that is an electable data-bearing voter.
    type: str
  login_host:
    description:
      - Where to reach mongod on this host. Default the member's address when it is a loopback address (emulated
        members on 127.0.0.x), else C(127.0.0.1).
    type: str
  login_port:
    description: The port; default the member's port.
    type: int
  admin_user:
    description: The first administrator to create (on the C(admin) database). Without it only the set is initiated.
    type: str
  admin_password:
    description: Its password. Never logged or returned.
    type: str
  admin_roles:
    description: Roles on the C(admin) database for the first administrator.
    type: list
    elements: str
    default: [root]
  timeout:
    description: Seconds to wait for mongod to answer and for the member to become primary.
    type: float
    default: 60
  tls:
    description: Connect with TLS (the member requires it, C(net.tls.mode) C(requireTLS)).
    type: bool
    default: false
  tls_ca_file:
    description: The CA that signed the member's certificate. The certificate's name is not checked against
      C(127.0.0.1) (it names the member's network address); its chain is.
    type: path
  tls_certificate_key_file:
    description: A client certificate and key (PEM), when the member requires one.
    type: path
  tls_certificate_key_file_password:
    description: The passphrase of that key.
    type: str
  tls_ca_content:
    description:
      - The CA certificate(s) as PEM text, instead of O(tls_ca_file) - for a bootstrap that runs on the member,
        where the controller's files are not (the M(quorum.mongodb.replset) role passes the member's
        C(mongod_tls_ca_content)). Written to a private temporary file for the run.
    type: str
  tls_certificate_key_content:
    description:
      - A client certificate and key as PEM text, instead of O(tls_certificate_key_file) (the role passes the
        member's own C(mongod_tls_certificate_key_content)). Written to a private temporary file for the run.
    type: str
attributes:
  check_mode:
    support: full
    details: Sends only C(hello) and reports what it would do.
  diff_mode:
    support: none
  platform:
    support: full
    details: Runs on the member host itself, with its Python 3 standard library only.
notes:
  - The other members are added by M(quorum.mongodb.rs_config) with the administrator's credentials.
  - The localhost exception - U(https://www.mongodb.com/docs/manual/core/localhost-exception/).
seealso:
  - module: quorum.mongodb.rs_config
  - module: quorum.mongodb.user
"""

EXAMPLES = r"""
- name: Start the set on its first member, through that member's loopback
  quorum.mongodb.rs_bootstrap:
    config: "{{ desired_config }}"
    admin_user: admin
    admin_password: "{{ vault_mongodb_admin_password }}"
  delegate_to: db1.dc1.example.net

- name: See what the bootstrap would do (hello only)
  quorum.mongodb.rs_bootstrap:
    config: "{{ desired_config }}"
    member: db1.dc1.example.net:27017
  delegate_to: db1.dc1.example.net
  check_mode: true

- name: A member that requires TLS
  quorum.mongodb.rs_bootstrap:
    config: "{{ desired_config }}"
    admin_user: admin
    admin_password: "{{ vault_mongodb_admin_password }}"
    tls: true
    tls_ca_file: /etc/mongodb/ca.pem
  delegate_to: db1.dc1.example.net
"""

RETURN = r"""
member:
  description: The bootstrap member (its C(host) in the config).
  returned: always
  type: str
  sample: db1.dc1.example.net:27017
login:
  description: Where the module connected (C(host:port) on the member host).
  returned: always
  type: str
  sample: 127.0.0.1:27017
initiated:
  description: Whether this run initiated the set (in check mode, whether it would).
  returned: always
  type: bool
  sample: true
admin_created:
  description: Whether this run created the first administrator (in check mode, whether it would try).
  returned: always
  type: bool
  sample: true
config:
  description: The one-member config that was (or would be) initiated; absent when the set existed.
  returned: when the set was not initiated yet
  type: dict
  sample: {"_id": "orders", "version": 1, "members": [{"_id": 0, "host": "db1.dc1.example.net:27017", "priority": 3}]}
set_name:
  description: The replica set the member belongs to after the run (none in check mode before an initiate).
  returned: always
  type: str
  sample: orders
notes:
  description: What was found and left alone, for people.
  returned: always
  type: list
  elements: str
  sample: ["the set was initiated already: nothing to initiate"]
"""

import atexit
import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.quorum.mongodb.plugins.module_utils.bootstrap import (
    BootstrapError, bootstrap_config, choose_bootstrap_member, loopback_address)
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_wire import (
    CommandError, WireConnection, WireError, hello_until_answers)

UNAUTHORIZED = 13           # the localhost exception is closed: a user exists
USER_EXISTS = 51003


def wait_writable_primary(connection, timeout):
    """hello until the member says it is a writable primary (a one-member set elects itself)."""
    deadline = time.monotonic() + timeout
    while True:
        hello = connection.command("admin", {"hello": 1})
        if hello.get("isWritablePrimary"):
            return hello
        if time.monotonic() >= deadline:
            raise WireError("%s did not become primary within %g s after replSetInitiate (hello: %s)" % (
                connection.address, timeout, hello.get("stateStr") or "secondary=%s" % hello.get("secondary")))
        time.sleep(0.1)


def create_admin(module, connection, result):
    params = module.params
    command = {"createUser": params["admin_user"], "pwd": params["admin_password"],
               "roles": [{"role": role, "db": "admin"} for role in params["admin_roles"]],
               "writeConcern": {"w": "majority", "wtimeout": int(params["timeout"] * 1000)}}
    try:
        connection.command("admin", command)
    except CommandError as exc:
        if exc.code in (UNAUTHORIZED, USER_EXISTS):
            result["notes"].append("a user exists already (the localhost exception is closed): no administrator "
                                   "created; %s authenticates as the existing one" % params["admin_user"])
            return
        raise
    result.update(admin_created=True, changed=True)


def progress(result):
    """What a failed run had done, for its message."""
    if result["set_name"] and result["initiated"]:
        return ("the one-member set %s was initiated, the first administrator was not created: run again "
                "(the localhost exception stays open until a user exists)" % result["set_name"])
    return "nothing was changed"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="dict", required=True),
            member=dict(type="str"),
            login_host=dict(type="str"),
            login_port=dict(type="int"),
            admin_user=dict(type="str"),
            admin_password=dict(type="str", no_log=True),
            admin_roles=dict(type="list", elements="str", default=["root"]),
            timeout=dict(type="float", default=60),
            tls=dict(type="bool", default=False),
            tls_ca_file=dict(type="path"),
            tls_certificate_key_file=dict(type="path"),
            tls_certificate_key_file_password=dict(type="str", no_log=True),
            tls_ca_content=dict(type="str"),
            tls_certificate_key_content=dict(type="str", no_log=True),
        ),
        required_together=[("admin_user", "admin_password")],
        supports_check_mode=True,
    )
    params = module.params
    desired = params["config"]
    try:
        member = params["member"] or choose_bootstrap_member(desired)
        initial = bootstrap_config(desired, member)
    except BootstrapError as exc:
        module.fail_json(msg="nothing was changed: %s" % exc)
    host, port = loopback_address(member)
    host, port = params["login_host"] or host, params["login_port"] or port
    result = {"changed": False, "member": member, "login": "%s:%s" % (host, port), "initiated": False,
              "admin_created": False, "set_name": None, "notes": []}

    private = tempfile.mkdtemp(prefix="rs_bootstrap-")  # 0700: PEM texts given as content live here
    atexit.register(shutil.rmtree, private, True)  # also after exit_json / fail_json
    tls_files = {"tls_ca_file": params["tls_ca_file"], "tls_certificate_key_file": params["tls_certificate_key_file"]}
    for option, content in (("tls_ca_file", params["tls_ca_content"]),
                            ("tls_certificate_key_file", params["tls_certificate_key_content"])):
        if content:
            tls_files[option] = os.path.join(private, option + ".pem")
            with os.fdopen(os.open(tls_files[option], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as pem:
                pem.write(content)

    def connect():
        return WireConnection(host, port, timeout=min(params["timeout"], 10), tls=params["tls"],
                              tls_certificate_key_file_password=params["tls_certificate_key_file_password"],
                              tls_check_hostname=False, **tls_files)
    try:
        connection, hello = hello_until_answers(connect, params["timeout"])
    except WireError as exc:
        module.fail_json(msg="cannot reach mongod of %s on this host at %s: %s. The bootstrap runs on the member "
                             "through its loopback: check that mongod runs, that net.bindIp includes %s, and that the TLS options "
                             "match its net.tls (a member that requires TLS closes a plain connection)."
                         % (member, result["login"], exc, host), **result)
    with connection:
        try:
            set_name = hello.get("setName")
            if set_name is not None and set_name != desired["_id"]:
                module.fail_json(msg="%s belongs to replica set %r, the desired config is for %r: nothing was changed"
                                 % (member, set_name, desired["_id"]), **result)
            if set_name is None and not hello.get("isreplicaset"):
                module.fail_json(msg="mongod at %s was not started with a replica set name (replication.replSetName: "
                                     "%s): nothing was changed" % (result["login"], desired["_id"]), **result)
            if set_name is None:
                result.update(initiated=True, changed=True, config=initial)
                if not module.check_mode:
                    connection.command("admin", {"replSetInitiate": initial})
                    result["set_name"] = desired["_id"]
                    hello = wait_writable_primary(connection, params["timeout"])
            else:
                result["set_name"] = set_name
                result["notes"].append("%s belongs to %s already: nothing to initiate" % (member, set_name))
            if params["admin_user"]:
                if module.check_mode:
                    result["admin_created"] = result["initiated"]
                    if not result["initiated"]:
                        result["notes"].append("check mode: whether %s must be created is known only by trying"
                                               % params["admin_user"])
                elif hello.get("isWritablePrimary"):
                    create_admin(module, connection, result)
                else:
                    result["notes"].append(
                        "%s is not the primary of the initiated set: its first administrator was created when it was "
                        "started (no user is created through a secondary)" % member)
        except CommandError as exc:
            module.fail_json(msg="mongod at %s refused it; %s: %s" % (result["login"], progress(result), exc),
                             code=exc.code, code_name=exc.code_name, **result)
        except WireError as exc:
            module.fail_json(msg="%s; %s" % (exc, progress(result)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
