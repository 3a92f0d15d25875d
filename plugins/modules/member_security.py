#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: member_security
short_description: Check a MongoDB member's security settings before its configuration is written
version_added: 0.1.0
description:
  - Runs on the controller (an action plugin), where the keyFile and the TLS material are variables, typically from
    Ansible Vault. The mongod role calls it before it writes C(mongod.conf), so a member is never restarted with a
    configuration it cannot run or that leaves it open.
  - Refuses a member that would accept network connections (a C(bindIp) entry other than loopback) without
    authorization, or a replica set member without member authentication (keyFile or x509), unless
    O(allow_insecure) is set; then it warns.
  - Refuses a keyFile mongod would refuse (characters other than base64, fewer than 6 or more than 1024).
  - With TLS on, refuses a certificate that does not name O(host), a private key that cannot be read (encrypted
    without passphrase, wrong passphrase, damaged) or that does not belong to the certificate, a certificate the CA
    did not sign, an expired one, and for O(cluster_auth_mode=x509) a member certificate without C(clientAuth) or
    without O, OU or DC in its subject.
  - Every message names the variable, the file it is written to and the problem.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.attributes
options:
  bind_ip:
    description: C(net.bindIp), a comma-separated string or a list.
    type: raw
    required: true
  bind_ip_all:
    description: C(net.bindIpAll).
    type: bool
    default: false
  authorization:
    description: C(security.authorization) is enabled.
    type: bool
    required: true
  keyfile_content:
    description: The keyFile's content (empty when there is none).
    type: str
    default: ""
  keyfile_path:
    description: Where the keyFile is written (named in messages).
    type: str
    default: ""
  replset_name:
    description: C(replication.replSetName) (empty for a standalone).
    type: str
    default: ""
  allow_insecure:
    description: Allow a member that accepts network connections without access control, with a warning.
    type: bool
    default: false
  tls_mode:
    description: C(net.tls.mode).
    type: str
    default: disabled
  cluster_auth_mode:
    description: C(security.clusterAuthMode).
    type: str
    default: keyFile
  host:
    description: The member's host name or address, which its certificate must name.
    type: str
    default: ""
  certificate_key:
    description: PEM text of the member's certificate and private key.
    type: str
    default: ""
  certificate_key_password:
    description: Passphrase of the private key in O(certificate_key).
    type: str
    default: ""
  ca:
    description: PEM text of the CA certificates.
    type: str
    default: ""
  cluster_certificate_key:
    description: PEM text of a separate certificate and key the member presents to the other members.
    type: str
    default: ""
  cluster_password:
    description: Passphrase of the private key in O(cluster_certificate_key).
    type: str
    default: ""
  disabled_protocols:
    description: C(net.tls.disabledProtocols), comma-separated.
    type: str
    default: ""
  certificate_key_file:
    description: Where O(certificate_key) is written (named in messages).
    type: str
    default: ""
  ca_file:
    description: Where O(ca) is written (named in messages).
    type: str
    default: ""
  cluster_file:
    description: Where O(cluster_certificate_key) is written (named in messages).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    description: Runs on the controller (an action plugin); nothing is sent to the member's host.
    support: full
    platforms: posix
requirements:
  - cryptography (on the controller, when TLS material is checked; ansible-core depends on it)
"""

EXAMPLES = r"""
- name: Check the member's security settings before mongod.conf is written
  quorum.mongodb.member_security:
    bind_ip: "{{ mongod_bind_ip }}"
    authorization: "{{ mongod_authorization }}"
    keyfile_content: "{{ mongod_keyfile_content }}"
    replset_name: "{{ mongod_replset_name }}"
    host: "{{ mongod_host }}"
    tls_mode: requireTLS
    certificate_key: "{{ vault_member_pem }}"
    ca: "{{ lookup('ansible.builtin.file', 'ca.pem') }}"

- name: A lab member on the network without a key (allowed, with a warning)
  quorum.mongodb.member_security:
    bind_ip: 10.0.0.5,127.0.0.1
    authorization: false
    replset_name: lab
    allow_insecure: true
  register: lab_security
"""

RETURN = r"""
problems:
  description: What is wrong, one sentence each (empty when the settings are fine).
  returned: always
  type: list
  elements: str
  sample: ["mongod_tls_certificate_key_content (/var/lib/mongodb-quorum/db1-27017/tls/member.pem): the certificate
    CN=db2.example.net does not match the host db1.example.net (it names db2.example.net)"]
insecure:
  description: Whether the member would accept network connections without access control.
  returned: always
  type: bool
  sample: false
"""
