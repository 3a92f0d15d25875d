#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rs_validate
short_description: Validate a MongoDB replica set configuration document and analyse its fault domains
version_added: 0.1.0
description:
  - Checks a replica set configuration document the way mongod checks it in C(replSetInitiate) and
    C(replSetReconfig) - the JSON Schema of the document, then every semantic rule (member count,
    voters, arbiters, priorities of hidden and delayed members, tags, write-concern modes, settings
    ranges, differences between MongoDB versions) - and, given the current config, the transition
    rules of a reconfig (version, set name, C(_id) per host, at most one voting change).
  - Reports every error at once, each with a JSON pointer, the rule, mongod's error code and what to do.
  - Analyses fault domains - for each datacenter (the O(domain_key) tag), whether losing it leaves a
    voting majority, an electable member and each write-concern mode.
  - Needs no server. Check mode runs the same validation.
author:
  - quorum.mongodb developers (!UNKNOWN)
requirements:
  - jsonschema >= 4.18 (on the host that runs the module)
extends_documentation_fragment:
  - quorum.mongodb.attributes
options:
  config:
    description: The configuration document. Mutually exclusive with O(config_file).
    type: dict
  config_file:
    description: Path to a YAML or JSON file holding the configuration document.
    type: path
  current_config:
    description:
      - The configuration currently installed (as C(replSetGetConfig) returns it). Enables the reconfig
        transition rules.
    type: dict
  target_version:
    description: The MongoDB version whose rules apply.
    type: str
    choices: ["4.4", "5.0", "6.0", "7.0", "8.0"]
    default: "8.0"
  initiate:
    description: Validate for C(replSetInitiate) (version 1, no C(replicaSetId)).
    type: bool
    default: false
  force:
    description: Validate for a forced reconfig (the version and single-voter rules do not apply).
    type: bool
    default: false
  domain_key:
    description: The member tag that names a fault domain (datacenter).
    type: str
    default: dc
  member_domains:
    description:
      - Host to domain for members that cannot carry tags, such as arbiters. Overrides the tag.
    type: dict
  fail_on_warnings:
    description: Fail when there are warnings, too (a strict pull-request gate).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Check mode runs the same validation.
  diff_mode:
    support: none
    details: The module reads no server and changes nothing.
notes:
  - Never connects to a server and never changes anything.
seealso:
  - name: Replica set configuration
    description: MongoDB manual, the configuration document.
    link: https://www.mongodb.com/docs/manual/reference/replica-configuration/
"""

EXAMPLES = r"""
- name: Validate a desired config file on the controller
  quorum.mongodb.rs_validate:
    config_file: files/rs0.yml
    target_version: "7.0"
  delegate_to: localhost

- name: Validate a reconfig against the live config and fail on warnings too
  quorum.mongodb.rs_validate:
    config: "{{ desired }}"
    current_config: "{{ live.config }}"
    fail_on_warnings: true
"""

RETURN = r"""
valid:
  description: Whether mongod would accept the document.
  returned: always
  type: bool
  sample: false
errors:
  description: What mongod would refuse.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: JSON pointer into the document.
      type: str
      sample: /members/2/priority
    rule:
      description: The rule's id.
      type: str
      sample: member.priority_hidden
    code:
      description: mongod's codeName, or its number where it has no name.
      type: raw
      sample: BadValue
    message:
      description: What is wrong and what to do.
      type: str
      sample: "a hidden member must have priority 0: set members[2].priority to 0"
    member:
      description: The member's host, for findings about one member.
      type: str
      sample: db3.example.net:27017
validation_warnings:
  description:
    - What mongod accepts but an operator should know (same shape as RV(errors)). Each is also shown
      as an Ansible warning.
  returned: always
  type: list
  elements: dict
  sample:
    - path: /members/3
      rule: fault_domain.even_voters
      code: null
      message: four voters tolerate no more failures than three
      member: db4.example.net:27017
analysis:
  description:
    - Fault-domain analysis - voting members, majority, fault tolerance, the preferred primary and, per
      domain, what losing it leaves.
  returned: when the document has members
  type: dict
  sample:
    voting_members: 5
    majority: 3
    fault_tolerance: 2
    preferred_primary: db1.example.net:27017
    domains:
      ny:
        members: 2
        votes: 2
        survives_loss: true
report:
  description: The analysis as a Markdown table.
  returned: when the document has members
  type: str
  sample: "| datacenter | members | votes | losing it leaves |\n| --- | --- | --- | --- |\n| ny | 2 | 2 | 3 of 5 votes, a primary |"
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

from ansible_collections.quorum.mongodb.plugins.module_utils.fault_domains import render_fault_domain_report
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import require_jsonschema, validate_config


def load_config_file(path):
    """Read a YAML or JSON document; returns (document, error message)."""
    if not os.path.isfile(path):
        return None, "config_file %s does not exist" % path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        return None, "cannot read config_file %s: %s" % (path, exc)
    except UnicodeDecodeError as exc:
        return None, "config_file %s is not UTF-8 text: %s" % (path, exc)
    parse_errors = (ValueError, yaml.YAMLError) if HAS_YAML else (ValueError,)
    try:
        # JSON is YAML; without PyYAML on the host, only JSON can be read
        document = yaml.safe_load(text) if HAS_YAML else json.loads(text)
    except parse_errors as exc:
        return None, "config_file %s is not valid %s: %s" % (path, "YAML/JSON" if HAS_YAML else "JSON", exc)
    if not isinstance(document, dict):
        return None, "config_file %s must hold a mapping (the config document), got %s" % (path, type(document).__name__)
    return document, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="dict"),
            config_file=dict(type="path"),
            current_config=dict(type="dict"),
            target_version=dict(type="str", default="8.0", choices=["4.4", "5.0", "6.0", "7.0", "8.0"]),
            initiate=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            domain_key=dict(type="str", default="dc", no_log=False),
            member_domains=dict(type="dict"),
            fail_on_warnings=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("config", "config_file")],
        required_one_of=[("config", "config_file")],
        supports_check_mode=True,
    )
    if require_jsonschema():
        module.fail_json(msg=missing_required_lib("jsonschema"), exception=require_jsonschema())

    params = module.params
    config = params["config"]
    if params["config_file"]:
        config, problem = load_config_file(params["config_file"])
        if problem:
            module.fail_json(msg=problem)

    result = validate_config(
        config,
        current=params["current_config"],
        target_version=params["target_version"],
        force=params["force"],
        initiate=params["initiate"],
        domain_key=params["domain_key"],
        member_domains=params["member_domains"],
    )
    output = result.to_dict()
    # Ansible reserves the "warnings" key of a result for plain strings: show each warning the
    # Ansible way and return the structured findings as validation_warnings.
    output["validation_warnings"] = output.pop("warnings")
    for finding in result.warnings:
        module.warn(str(finding))
    output["changed"] = False
    if result.analysis:
        output["report"] = render_fault_domain_report(result.analysis, config.get("_id") if isinstance(config, dict) else None)

    problems = [str(f) for f in result.errors]
    if params["fail_on_warnings"]:
        problems += ["warning: %s" % f for f in result.warnings]
    if problems:
        output["msg"] = "the replica set config is refused (%d problem%s):\n%s" % (
            len(problems), "" if len(problems) == 1 else "s", "\n".join(problems))
        module.fail_json(**output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
