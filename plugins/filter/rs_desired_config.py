# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rs_desired_config
short_description: Build a replica set configuration document from inventory host variables
version_added: 0.1.0
description:
  - Turns the host variables of a replica set's members into the configuration document that
    C(replSetInitiate) or C(replSetReconfig) takes.
  - Each member is tagged with its datacenter (O(domain_key), default C(dc)) and rack (C(rack)) when
    given; arbiters carry no tags, as mongod requires.
  - Member C(_id)s are kept from O(current) for hosts already in the set; new members get the
    lowest free C(_id).
  - When more than 7 members would vote, a deterministic policy picks 7 voters: pinned voters
    first (arbiters, C(mongodb_votes=1), C(mongodb_priority>0)), then round-robin across datacenters
    starting with the one holding the highest priority, then the larger ones; the others get
    C(votes=0) and C(priority=0).
  - Hidden, delayed and C(buildIndexes=false) members default to priority 0.
options:
  _input:
    description:
      - The members, each a mapping of its host variables, typically
        C(groups['rs0'] | map('extract', hostvars)).
      - Variables read are C(mongodb_host) (default C(inventory_hostname)), C(mongodb_port),
        C(mongodb_member_id), C(mongodb_datacenter), C(mongodb_rack), C(mongodb_priority),
        C(mongodb_votes), C(mongodb_arbiter), C(mongodb_hidden), C(mongodb_secondary_delay_secs),
        C(mongodb_build_indexes) and C(mongodb_tags).
    type: list
    elements: dict
    required: true
  replset_name:
    description: The replica set name (C(--replSet)).
    type: str
    required: true
  settings:
    description: The config's C(settings) document, with mongod's field names.
    type: dict
  write_concern_modes:
    description:
      - C(getLastErrorModes) to set, or C(auto) to derive C(multiDC) (C({dc 2})) and C(multiRack)
        (C({rack 2})) from the tags when members span two or more of them.
    type: raw
  current:
    description: The live config; keeps member C(_id)s and C(replicaSetId), and sets version to its version + 1.
    type: dict
  target_version:
    description: MongoDB version the document is for (C(slaveDelay) up to 4.4, C(secondaryDelaySecs) from 5.0).
    type: str
    default: "8.0"
  domain_key:
    description: The tag key that holds the datacenter.
    type: str
    default: dc
  rack_key:
    description: The tag key that holds the rack.
    type: str
    default: rack
"""

EXAMPLES = r"""
- name: Build the desired config of rs0 from its inventory group
  ansible.builtin.set_fact:
    desired: >-
      {{ groups['rs0'] | map('extract', hostvars) | list
         | quorum.mongodb.rs_desired_config(replset_name='rs0', write_concern_modes='auto') }}
"""

RETURN = r"""
_value:
  description: The replica set configuration document.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import (
    DesiredConfigError,
    build_desired_config,
    member_domains,
)


def rs_desired_config(members, replset_name, settings=None, write_concern_modes=None, current=None,
                      target_version="8.0", domain_key="dc", rack_key="rack"):
    try:
        return build_desired_config(list(members), replset_name, settings=settings,
                                    write_concern_modes=write_concern_modes, current=current,
                                    target_version=target_version, domain_key=domain_key, rack_key=rack_key)
    except (DesiredConfigError, ValueError) as exc:
        raise AnsibleFilterError("rs_desired_config: %s" % exc)


def rs_member_domains(members):
    try:
        return member_domains(list(members))
    except (DesiredConfigError, ValueError) as exc:
        raise AnsibleFilterError("rs_member_domains: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "rs_desired_config": rs_desired_config,
            "rs_member_domains": rs_member_domains,
        }
