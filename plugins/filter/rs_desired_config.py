# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The documentation of the filters is in the .yml files beside this file (rs_desired_config,
# rs_member_domains, rs_inventory_errors, rs_bootstrap_member, rs_config_converged): ansible-doc takes
# a filter's docs from the .py file when it has any, which would give the other filters the docs of
# rs_desired_config.

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.mongodb.plugins.module_utils.bootstrap import (
    BootstrapError,
    bootstrap_inventory_host,
    choose_bootstrap_member,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import (
    DesiredConfigError,
    build_desired_config,
    inventory_errors,
    inventory_hosts,
    member_domains,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import config_converged


def rs_desired_config(members, replset_name, settings=None, write_concern_modes=None, current=None,
                      target_version="8.0", domain_key="dc", rack_key="rack"):
    try:
        return build_desired_config(list(members), replset_name, settings=settings,
                                    write_concern_modes=write_concern_modes, current=current,
                                    target_version=target_version, domain_key=domain_key, rack_key=rack_key)
    except (DesiredConfigError, ValueError) as exc:
        raise AnsibleFilterError("rs_desired_config: %s" % exc)


def rs_config_converged(desired, current, target_version="8.0"):
    if not isinstance(desired, dict) or not isinstance(current, dict):
        return False
    return config_converged(current, desired, target_version=str(target_version))


def rs_member_domains(members):
    try:
        return member_domains(list(members))
    except (DesiredConfigError, ValueError) as exc:
        raise AnsibleFilterError("rs_member_domains: %s" % exc)


def rs_inventory_errors(members, domain_key="dc", rack_key="rack"):
    try:
        return inventory_errors(list(members), domain_key=domain_key, rack_key=rack_key)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("rs_inventory_errors: %s" % exc)


def rs_bootstrap_member(desired, members, member=None):
    try:
        member = member or choose_bootstrap_member(desired)
        return {"host": member, "inventory_hostname": bootstrap_inventory_host(desired, inventory_hosts(list(members)),
                                                                               member)}
    except (BootstrapError, DesiredConfigError, ValueError) as exc:
        raise AnsibleFilterError("rs_bootstrap_member: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "rs_config_converged": rs_config_converged,
            "rs_desired_config": rs_desired_config,
            "rs_member_domains": rs_member_domains,
            "rs_inventory_errors": rs_inventory_errors,
            "rs_bootstrap_member": rs_bootstrap_member,
        }
