#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: member_host
short_description: Read a MongoDB member's files, process and port on its host in one look
version_added: 0.2.0
description:
  - Runs on the member's host and changes nothing. For each path it reports whether it exists, its type, mode,
    owner, group and, for a regular file, its SHA-1 checksum (the checksum M(ansible.builtin.stat) and
    M(ansible.builtin.copy) use).
  - For a secret file (a keyFile, a mongod.conf that holds a TLS key passphrase), pass its expected SHA-1 in O(expected_checksums); the module then returns only
    whether the file matches (C(checksum_matches)), never the file's checksum, which would be printed with C(-v).
  - With O(pid_file), it reads the process id in that file and reports it when that process is alive and not a
    zombie (as C(/proc/<pid>/stat) says), else an empty string.
  - With O(address), it reports whether a TCP connection to that address is accepted within O(connect_timeout).
  - The mongod role reads everything it is about to write in this one module run, compares it with what it wants on
    the controller, and runs its file, copy and template tasks only for what differs; an unchanged member then costs
    one module run, not one per file.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.attributes
options:
  paths:
    description: Paths to read (symbolic links are followed for directories; a file that is a link is reported as one).
    type: list
    elements: path
    default: []
  expected_checksums:
    description:
      - Path -> the SHA-1 the file should have, for secret files. Such a path (listed in O(paths)) is reported with
        C(checksum) null and C(checksum_matches) (true when it is a regular file with that SHA-1). The values are
        not logged.
    type: dict
    default: {}
  pid_file:
    description: A pid file; its process is reported when alive.
    type: path
  address:
    description: C(host:port) to try a TCP connection to (IPv6 in brackets, C([::1]:27017)).
    type: str
  connect_timeout:
    description: Seconds to wait for the TCP connection to O(address).
    type: float
    default: 1.0
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    description: Runs on the member's host and needs only Python's standard library there.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Read the member's directories, keyFile, configuration and process
  quorum.mongodb.member_host:
    paths:
      - /var/lib/mongodb-quorum/db1-27017
      - /var/lib/mongodb-quorum/db1-27017/keyfile
      - /var/lib/mongodb-quorum/db1-27017/mongod.conf
    expected_checksums:  # the keyFile's checksum is compared on the host, never returned
      /var/lib/mongodb-quorum/db1-27017/keyfile: "{{ vault_keyfile_content | hash('sha1') }}"
    pid_file: /var/lib/mongodb-quorum/db1-27017/mongod.pid
    address: 10.0.0.11:27017
  register: seen

- name: Write mongod.conf only when its content or mode differs
  ansible.builtin.template:
    src: mongod.conf.j2
    dest: /var/lib/mongodb-quorum/db1-27017/mongod.conf
    mode: "0640"
  when: >-
    seen.paths['/var/lib/mongodb-quorum/db1-27017/mongod.conf'].checksum != (lookup('ansible.builtin.template',
    'mongod.conf.j2') | hash('sha1')) or seen.paths['/var/lib/mongodb-quorum/db1-27017/mongod.conf'].mode != '0640'

- name: Is anything listening on the member's port?
  quorum.mongodb.member_host:
    address: "[::1]:27017"
    connect_timeout: 0.5
  register: port_check
"""

RETURN = r"""
paths:
  description: For each path of O(paths), what is there.
  returned: always
  type: dict
  sample:
    /var/lib/mongodb-quorum/db1-27017/keyfile:
      exists: true
      type: file
      mode: "0400"
      owner: mongodb
      group: mongodb
      checksum: null
      checksum_matches: true
    /var/lib/mongodb-quorum/db1-27017/mongod.conf:
      exists: true
      type: file
      mode: "0640"
      owner: mongodb
      group: mongodb
      checksum: 1e1f4c5ad9c5c2b4d0a86c9ad3bd8a8c2bbfb2f3
    /var/lib/mongodb-quorum/db1-27017/data:
      exists: false
      type: null
      mode: null
      owner: null
      group: null
      checksum: null
pid:
  description: The process id in O(pid_file) when that process is alive, else an empty string.
  returned: when O(pid_file) is given
  type: str
  sample: "4242"
listening:
  description: Whether O(address) accepted a TCP connection.
  returned: when O(address) is given
  type: bool
  sample: true
"""

import grp
import hashlib
import os
import pwd
import socket
import stat

from ansible.module_utils.basic import AnsibleModule

_TYPES = ((stat.S_ISLNK, "link"), (stat.S_ISDIR, "directory"), (stat.S_ISREG, "file"))


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:  # an id without a name on this host
        return str(number)


def _sha1(path):
    """The file's SHA-1, or None when it cannot be read (then it never equals what the role wants)."""
    digest = hashlib.sha1()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
    except (IOError, OSError):
        return None
    return digest.hexdigest()


def read_path(path, expected_checksum=None):
    """What is at `path`: a directory is followed through a link (as the file module does for state=directory),
    a file is not (a link to a file is reported as a link, which never equals what the role wants). With
    expected_checksum (a secret file), only whether its SHA-1 matches, never the SHA-1 itself."""
    seen = _read_path(path)
    if expected_checksum is not None:
        checksum = seen.pop("checksum")
        seen.update(checksum=None, checksum_matches=checksum is not None and checksum == str(expected_checksum).lower())
    return seen


def _read_path(path):
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) and os.path.isdir(path):
            info = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path, which nothing can be at
        return dict(exists=False, type=None, mode=None, owner=None, group=None, checksum=None)
    kind = next((name for test, name in _TYPES if test(info.st_mode)), "other")
    return dict(exists=True, type=kind, mode="%04o" % stat.S_IMODE(info.st_mode),
                owner=_name(pwd.getpwuid, info.st_uid), group=_name(grp.getgrgid, info.st_gid),
                checksum=_sha1(path) if kind == "file" else None)


def running_pid(pid_file):
    """The pid in `pid_file` when that process is alive and not a zombie, else ''."""
    try:
        with open(pid_file) as handle:
            pid = handle.read().strip()
    except (IOError, OSError, ValueError):  # ValueError: undecodable, or a NUL in the path
        return ""
    if not pid.isdigit():
        return ""
    try:
        with open("/proc/%s/stat" % pid) as handle:
            state = handle.read().rsplit(") ", 1)[-1].split(" ", 1)[0]
    except (IOError, OSError):
        return ""
    return "" if state == "Z" else pid


def split_address(address):
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("address %r is not host:port" % address)
    return host.strip("[]"), int(port)


def accepts(address, timeout):
    host, port = split_address(address)
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except (socket.error, OSError):
        return False
    connection.close()
    return True


def main():
    module = AnsibleModule(argument_spec=dict(
        paths=dict(type="list", elements="path", default=[]),
        expected_checksums=dict(type="dict", default={}, no_log=True),
        pid_file=dict(type="path"),
        address=dict(type="str"),
        connect_timeout=dict(type="float", default=1.0),
    ), supports_check_mode=True)
    params = module.params
    expected = params["expected_checksums"]  # keyed by the paths as given in paths
    result = dict(changed=False, paths=dict((path, read_path(path, expected.get(path))) for path in params["paths"]))
    if params["pid_file"]:
        result["pid"] = running_pid(params["pid_file"])
    if params["address"]:
        try:
            result["listening"] = accepts(params["address"], params["connect_timeout"])
        except (ValueError, OverflowError) as exc:  # not host:port, a port over 65535, a bad host name or timeout
            module.fail_json(msg="address %s: %s" % (params["address"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
