# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The documentation of each filter is in <filter name>.yml beside this file (one file defines
# several filters; ansible-doc would otherwise give them all the same docs).

from ansible.errors import AnsibleFilterError

from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import (
    DesiredConfigError,
    member_domains,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.plan_report import (
    drift_summary,
    plan_document,
    render_drift_message,
    render_plan_file,
    render_report_file,
    report_document,
)


def _plain(value):
    """Registered results as plain dicts and lists (Ansible hands in its own mapping types)."""
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def rs_plan_document(results, desired=None, member_domains=None, mode="check", domain_key="dc",
                     target_version="8.0", drift_check=False):
    try:
        return plan_document(_plain(list(results or [])), _plain(desired or {}), _plain(member_domains or {}),
                             mode=mode, domain_key=domain_key, target_version=target_version or "8.0",
                             drift_check=drift_check)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("rs_plan_document: cannot read the rs_config results: %s" % exc)


def rs_plan_markdown(document):
    return render_plan_file(_plain(document))


def rs_drift(document):
    summary = drift_summary(_plain(document))
    summary["message"] = render_drift_message(summary)
    return summary


def rs_report_document(results, members=None, domain_key="dc"):
    """members: the host variables of every member in the inventory (their datacenters place
    the arbiters in the pictures)."""
    by_set = {}
    for hostvars in _plain(list(members or [])):
        if isinstance(hostvars, dict) and hostvars.get("mongodb_replset_name") is not None:
            by_set.setdefault(hostvars["mongodb_replset_name"], []).append(hostvars)
    try:
        domains = dict((name, member_domains(group)) for name, group in by_set.items())
        return report_document(_plain(list(results or [])), domains, domain_key=domain_key)
    except (DesiredConfigError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("rs_report_document: cannot read the rs_validate results: %s" % exc)


def rs_report_markdown(document):
    return render_report_file(_plain(document))


class FilterModule(object):
    def filters(self):
        return {
            "rs_plan_document": rs_plan_document,
            "rs_plan_markdown": rs_plan_markdown,
            "rs_drift": rs_drift,
            "rs_report_document": rs_report_document,
            "rs_report_markdown": rs_report_markdown,
        }
