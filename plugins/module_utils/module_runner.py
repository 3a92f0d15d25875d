# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared start of every module that talks to mongod: the connection options (doc fragment
quorum.mongodb.connection) beside the module's own, and Ansible's missing-library message - naming
the package to install - when pymongo, or jsonschema for a module that validates a configuration
document, is not importable on the host that runs the module. A module then reads as its story:
its options, connect, plan, (apply), report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionOptions,
    ReplicaSetConnection,
    connection_argument_spec,
    require_pymongo,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import require_jsonschema


def connection_module(options, needs_jsonschema=False, **module_kwargs):
    """An AnsibleModule with the connection options and `options` (the module's own); fails the
    task with missing_required_lib when a library it needs is missing."""
    argument_spec = connection_argument_spec()
    argument_spec.update(options)
    module = AnsibleModule(argument_spec=argument_spec, **module_kwargs)
    for library, problem in (("pymongo", require_pymongo()),
                             ("jsonschema", require_jsonschema() if needs_jsonschema else None)):
        if problem:
            module.fail_json(msg=missing_required_lib(library), exception=problem)
    return module


def connect(module):
    """The connection to the set that the module's connection options describe."""
    return ReplicaSetConnection(ConnectionOptions.from_params(module.params))
