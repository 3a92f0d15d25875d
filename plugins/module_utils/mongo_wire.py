# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal MongoDB client with no dependency beyond the standard library: BSON for the types that
commands and their replies use, one OP_MSG round trip per command, optional TLS.

It exists for one path: bootstrapping a new replica set on the member itself (rs_bootstrap), where
mongod's localhost exception lets a connection on the member's own loopback initiate the set and
create the first administrator. That code runs on a database host, which needs nothing but the
Python that Ansible needs. It does not authenticate: everything else goes through the connection
layer (mongo_client.py, pymongo) from wherever the task runs.

Wire format: OP_MSG (opcode 2013) with one body section, as MongoDB's wire protocol specification
describes; BSON per bsonspec.org.
"""
from __future__ import absolute_import, division, print_function

import os
import socket
import ssl
import struct
import time

__metaclass__ = type

OP_MSG = 2013
MAX_MESSAGE = 48 * 1024 * 1024  # mongod's maxMessageSizeBytes


class WireError(Exception):
    """The member could not be reached or answered something that is not a reply."""


class CommandError(WireError):
    """mongod answered the command with ok: 0."""

    def __init__(self, command, reply):
        self.code = reply.get("code")
        self.code_name = reply.get("codeName", "")
        self.errmsg = reply.get("errmsg", "")
        super(CommandError, self).__init__("%s failed: %s (%s %s)" % (command, self.errmsg, self.code_name, self.code))


class Timestamp:
    """A BSON timestamp (seconds, increment)."""

    def __init__(self, time_, inc):
        self.time, self.inc = time_, inc

    def __eq__(self, other):
        return isinstance(other, Timestamp) and (self.time, self.inc) == (other.time, other.inc)

    def __repr__(self):
        return "Timestamp(%d, %d)" % (self.time, self.inc)


class Int64(int):
    """An integer to encode as BSON int64 whatever its size."""


def _cstring(text):
    data = text.encode("utf-8")
    if b"\x00" in data:
        raise ValueError("BSON key contains a NUL byte: %r" % text)
    return data + b"\x00"


def encode(document):
    """BSON for a dict (keys in order) of str, bool, int, float, None, dict, list, tuple, bytes."""
    body = b"".join(_element(key, value) for key, value in document.items())
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _element(key, value):
    name = _cstring(str(key))
    if isinstance(value, bool):
        return b"\x08" + name + (b"\x01" if value else b"\x00")
    if isinstance(value, Int64):
        return b"\x12" + name + struct.pack("<q", value)
    if isinstance(value, int):
        if -2 ** 31 <= value < 2 ** 31:
            return b"\x10" + name + struct.pack("<i", value)
        return b"\x12" + name + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + name + struct.pack("<d", value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"\x02" + name + struct.pack("<i", len(data) + 1) + data + b"\x00"
    if value is None:
        return b"\x0a" + name
    if isinstance(value, dict):
        return b"\x03" + name + encode(value)
    if isinstance(value, (list, tuple)):
        return b"\x04" + name + encode(dict((str(i), item) for i, item in enumerate(value)))
    if isinstance(value, bytes):
        return b"\x05" + name + struct.pack("<i", len(value)) + b"\x00" + value
    if isinstance(value, Timestamp):
        return b"\x11" + name + struct.pack("<II", value.inc, value.time)
    raise TypeError("cannot encode %s (%r) as BSON for key %r" % (type(value).__name__, value, key))


def decode(data, offset=0):
    """The document at `offset` of `data` as a dict (arrays as lists, ObjectId as its hex string,
    datetime as milliseconds since the epoch, binary as bytes, Timestamp and Int64 as above)."""
    size = struct.unpack_from("<i", data, offset)[0]
    end = offset + size - 1
    if size < 5 or end >= len(data) or data[end] != 0:
        raise WireError("malformed BSON document")
    position, result = offset + 4, {}
    while position < end:
        kind = data[position]
        name_end = data.index(b"\x00", position + 1)
        key = data[position + 1:name_end].decode("utf-8")
        result[key], position = _value(kind, data, name_end + 1)
    return result


def _value(kind, data, at):
    if kind == 0x01:
        return struct.unpack_from("<d", data, at)[0], at + 8
    if kind in (0x02, 0x0D, 0x0E):  # string, JavaScript code, symbol
        length = struct.unpack_from("<i", data, at)[0]
        return data[at + 4:at + 3 + length].decode("utf-8"), at + 4 + length
    if kind in (0x03, 0x04):
        size = struct.unpack_from("<i", data, at)[0]
        document = decode(data, at)
        return (list(document.values()) if kind == 0x04 else document), at + size
    if kind == 0x05:
        length = struct.unpack_from("<i", data, at)[0]
        return bytes(data[at + 5:at + 5 + length]), at + 5 + length
    if kind == 0x07:
        return data[at:at + 12].hex(), at + 12
    if kind == 0x08:
        return data[at] == 1, at + 1
    if kind == 0x09:
        return struct.unpack_from("<q", data, at)[0], at + 8
    if kind in (0x0A, 0x06, 0x7F, 0xFF):  # null, undefined, maxKey, minKey
        return None, at
    if kind == 0x0B:
        pattern_end = data.index(b"\x00", at)
        flags_end = data.index(b"\x00", pattern_end + 1)
        return data[at:pattern_end].decode("utf-8"), flags_end + 1
    if kind == 0x10:
        return struct.unpack_from("<i", data, at)[0], at + 4
    if kind == 0x11:
        inc, seconds = struct.unpack_from("<II", data, at)
        return Timestamp(seconds, inc), at + 8
    if kind == 0x12:
        return Int64(struct.unpack_from("<q", data, at)[0]), at + 8
    if kind == 0x13:
        return bytes(data[at:at + 16]), at + 16
    raise WireError("unsupported BSON type 0x%02x in a reply" % kind)


class WireConnection:
    """One connection to one mongod, unauthenticated; `command()` runs a command on a database."""

    def __init__(self, host, port, timeout=10.0, tls=False, tls_ca_file=None, tls_certificate_key_file=None,
                 tls_certificate_key_file_password=None, tls_check_hostname=True):
        self.address = "%s:%s" % (host, port)
        self._request_id = int.from_bytes(os.urandom(3), "little")
        try:
            sock = socket.create_connection((host, int(port)), timeout=timeout)
        except OSError as exc:
            raise WireError("cannot connect to %s: %s" % (self.address, exc))
        if tls:
            context = ssl.create_default_context(cafile=tls_ca_file)
            context.check_hostname = tls_check_hostname
            if tls_certificate_key_file:
                context.load_cert_chain(tls_certificate_key_file, password=tls_certificate_key_file_password)
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                sock.close()
                raise WireError("TLS handshake with %s failed: %s" % (self.address, exc))
        self._sock = sock

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def command(self, database, command):
        """Run `command` (a dict whose first key names the command) and return the reply;
        CommandError when mongod answers ok: 0."""
        body = dict(command)
        body["$db"] = database
        self._request_id += 1
        payload = struct.pack("<I", 0) + b"\x00" + encode(body)
        header = struct.pack("<iiii", 16 + len(payload), self._request_id, 0, OP_MSG)
        try:
            self._sock.sendall(header + payload)
            length, _request_id, response_to, opcode = struct.unpack("<iiii", self._read(16))
            if not 16 < length <= MAX_MESSAGE or opcode != OP_MSG or response_to != self._request_id:
                raise WireError("%s answered something that is not a reply to the command" % self.address)
            message = self._read(length - 16)
        except (OSError, struct.error) as exc:
            raise WireError("%s: the connection failed during %s: %s" % (self.address, next(iter(command)), exc))
        if message[4] != 0:
            raise WireError("%s answered with an OP_MSG section of kind %d" % (self.address, message[4]))
        reply = decode(message, 5)
        if reply.get("ok") != 1:
            raise CommandError(next(iter(command)), reply)
        return reply

    def _read(self, count):
        chunks, remaining = [], count
        while remaining:
            chunk = self._sock.recv(remaining)
            if not chunk:
                raise WireError("%s closed the connection" % self.address)
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def hello_until_answers(connect, timeout, interval=0.2, clock=time.monotonic, sleep=time.sleep):
    """(connection, hello reply) from `connect()` once the member answers hello, retrying a member
    that is still starting for up to `timeout` seconds; WireError naming the last problem after."""
    deadline = clock() + timeout
    while True:
        try:
            connection = connect()
            try:
                return connection, connection.command("admin", {"hello": 1})
            except Exception:
                connection.close()
                raise
        except WireError as exc:
            if clock() >= deadline:
                raise WireError("no answer to hello within %g s: %s" % (timeout, exc))
            sleep(interval)
