# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The connection options every quorum.mongodb module that talks to mongod accepts."""

    DOCUMENTATION = r"""
options:
  hosts:
    description:
      - Seed list - any members of the set, as C(host) or C(host:port) (port 27017 when omitted).
      - The module discovers the primary itself; it does not have to be listed first, or at all.
    type: list
    elements: str
    default: ["localhost:27017"]
  replica_set:
    description:
      - The replica set name (C(--replSet)). When set, members reachable under another set name are ignored.
    type: str
  login_user:
    description:
      - The user to authenticate as. Without it the module connects unauthenticated.
      - Arbiters are never logged in to (they hold no data, so no users; with authorization on mongod accepts
        no login on one over the network). They are asked an unauthenticated C(hello) only, and an arbiter may
        be among O(hosts).
    type: str
  login_password:
    description: The password of O(login_user). Never logged.
    type: str
  login_database:
    description: The database that holds O(login_user).
    type: str
    default: admin
  auth_mechanism:
    description:
      - The SCRAM mechanism; by default the server and the driver negotiate it.
      - C(MONGODB-X509) authenticates with the client certificate O(tls_certificate_key_file) as the user of the
        C($external) database named by the certificate's subject (O(login_user), when set, must be that subject);
        no password is sent. It needs O(tls).
    type: str
    choices: ["SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-X509"]
  tls:
    description: Connect with TLS.
    type: bool
    default: false
  tls_ca_file:
    description: The CA file that signed the members' certificates.
    type: path
  tls_certificate_key_file:
    description: A client certificate and key (PEM), when the members require one or for C(MONGODB-X509).
    type: path
  tls_certificate_key_file_password:
    description: The passphrase of the encrypted private key in O(tls_certificate_key_file). Never logged.
    type: str
  tls_allow_invalid_hostnames:
    description: Accept certificates whose names do not match the host. For tests only.
    type: bool
    default: false
  connect_timeout:
    description: Seconds to wait for a TCP connection to a member.
    type: float
    default: 10.0
  server_selection_timeout:
    description: Seconds to wait for a usable member (the primary, or the named member).
    type: float
    default: 30.0
requirements:
  - pymongo >= 4.6 (on the host that runs the task - the controller when the task is delegated to localhost)
"""
