# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""quorum.mongodb.member_security: check a member's security settings on the controller (the key
and PEM material are variables there) before the mongod role writes mongod.conf. The checks are
plugins/module_utils/member_security.py; this plugin only gathers the arguments and reports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.quorum.mongodb.plugins.module_utils.member_security import (
    exposure_problems,
    keyfile_problems,
    tls_problems,
)

_TLS_ARGS = ("tls_mode", "cluster_auth_mode", "host", "certificate_key", "certificate_key_password", "ca",
             "cluster_certificate_key", "cluster_password", "disabled_protocols", "certificate_key_file", "ca_file",
             "cluster_file")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("bind_ip", "bind_ip_all", "authorization", "keyfile_content", "keyfile_path",
                             "replset_name", "allow_insecure") + _TLS_ARGS)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=dict(
            bind_ip=dict(type="raw", required=True),
            bind_ip_all=dict(type="bool", default=False),
            authorization=dict(type="bool", required=True),
            keyfile_content=dict(type="str", default="", no_log=True),
            keyfile_path=dict(type="str", default=""),
            replset_name=dict(type="str", default=""),
            allow_insecure=dict(type="bool", default=False),
            tls_mode=dict(type="str", default="disabled"),
            cluster_auth_mode=dict(type="str", default="keyFile"),
            host=dict(type="str", default=""),
            certificate_key=dict(type="str", default="", no_log=True),
            certificate_key_password=dict(type="str", default="", no_log=True),
            ca=dict(type="str", default=""),
            cluster_certificate_key=dict(type="str", default="", no_log=True),
            cluster_password=dict(type="str", default="", no_log=True),
            disabled_protocols=dict(type="str", default=""),
            certificate_key_file=dict(type="str", default=""),
            ca_file=dict(type="str", default=""),
            cluster_file=dict(type="str", default=""),
        ))[1]
        problems = keyfile_problems(args["keyfile_content"], args["keyfile_path"])
        problems += tls_problems(dict((name, args[name]) for name in _TLS_ARGS))
        exposed = exposure_problems(args["bind_ip"], args["authorization"], bool(args["keyfile_content"]),
                                    args["cluster_auth_mode"], args["replset_name"], args["bind_ip_all"])
        result.update(changed=False, problems=problems, insecure=bool(exposed))
        if exposed and args["allow_insecure"]:
            result["warnings"] = ["mongod_allow_insecure is on: %s. Use it only for a throwaway lab." % "; ".join(exposed)]
        elif exposed:
            problems += [p + " (refused; mongod_allow_insecure: true allows it for a throwaway lab)" for p in exposed]
        if problems:
            result.update(failed=True, msg="refusing to configure this member, mongod.conf was not changed: %s"
                          % "; ".join(problems))
        else:
            result["msg"] = "security settings checked"
        return result
