"""MongoDB wire protocol framing: OP_MSG, OP_QUERY (legacy hello) and OP_REPLY.

Only parsing and encoding live here; no command logic.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.codec_options import CodecOptions, DatetimeConversion

from mongoemu.errors import ProtocolError

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

FLAG_CHECKSUM_PRESENT = 1
FLAG_MORE_TO_COME = 1 << 1
FLAG_EXHAUST_ALLOWED = 1 << 16
_KNOWN_MSG_FLAGS = FLAG_CHECKSUM_PRESENT | FLAG_MORE_TO_COME | FLAG_EXHAUST_ALLOWED

HEADER = struct.Struct("<iiii")
MAX_MESSAGE_SIZE = 48_000_000
MAX_BSON_SIZE = 16 * 1024 * 1024

CODEC = CodecOptions(document_class=dict, datetime_conversion=DatetimeConversion.DATETIME_AUTO)


def _make_crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum OP_MSG uses."""
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


@dataclass
class Request:
    """One decoded client message."""

    request_id: int
    op_code: int
    body: dict[str, Any]
    flags: int = 0
    # For OP_QUERY: the full collection name ("admin.$cmd").
    full_collection: str = ""
    sequences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def more_to_come(self) -> bool:
        return bool(self.flags & FLAG_MORE_TO_COME)

    @property
    def exhaust_allowed(self) -> bool:
        return bool(self.flags & FLAG_EXHAUST_ALLOWED)


def parse_header(header: bytes) -> tuple[int, int, int, int]:
    length, request_id, response_to, op_code = HEADER.unpack(header)
    if length < 16 + 5 or length > MAX_MESSAGE_SIZE:
        raise ProtocolError(f"invalid message length {length}")
    return length, request_id, response_to, op_code


def _decode_doc(data: bytes | memoryview, offset: int) -> tuple[dict[str, Any], int]:
    if offset + 5 > len(data):
        raise ProtocolError("truncated BSON document")
    size = struct.unpack_from("<i", data, offset)[0]
    if size < 5 or offset + size > len(data):
        raise ProtocolError(f"invalid BSON document size {size}")
    try:
        doc = bson.decode(bytes(data[offset:offset + size]), CODEC)
    except Exception as exc:  # bson raises several error classes
        raise ProtocolError(f"invalid BSON: {exc}") from exc
    return doc, offset + size


def parse_message(request_id: int, op_code: int, payload: bytes) -> Request:
    """Decode the part of a message after its 16-byte header."""
    if op_code == OP_MSG:
        return _parse_op_msg(request_id, payload)
    if op_code == OP_QUERY:
        return _parse_op_query(request_id, payload)
    raise ProtocolError(f"unsupported opCode {op_code}")


def _parse_op_msg(request_id: int, payload: bytes) -> Request:
    if len(payload) < 5:
        raise ProtocolError("OP_MSG too short")
    flags = struct.unpack_from("<I", payload, 0)[0]
    if flags & 0xFFFF & ~_KNOWN_MSG_FLAGS:
        raise ProtocolError(f"OP_MSG contains unknown required flag bits {flags:#x}")
    end = len(payload)
    if flags & FLAG_CHECKSUM_PRESENT:
        if len(payload) < 9:
            raise ProtocolError("OP_MSG too short for its checksum")
        end -= 4  # the server verifies the CRC-32C trailer with the header
    body: dict[str, Any] | None = None
    sequences: dict[str, list[dict[str, Any]]] = {}
    offset = 4
    view = memoryview(payload)
    while offset < end:
        kind = payload[offset]
        offset += 1
        if kind == 0:
            if body is not None:
                raise ProtocolError("OP_MSG has more than one body section")
            body, offset = _decode_doc(view[:end], offset)
        elif kind == 1:
            if offset + 4 > end:
                raise ProtocolError("truncated document sequence")
            size = struct.unpack_from("<i", payload, offset)[0]
            seq_end = offset + size
            if size < 5 or seq_end > end:
                raise ProtocolError("invalid document sequence size")
            nul = payload.find(b"\x00", offset + 4, seq_end)
            if nul < 0:
                raise ProtocolError("document sequence identifier is not terminated")
            ident = payload[offset + 4:nul].decode("utf-8", "replace")
            pos = nul + 1
            docs = []
            while pos < seq_end:
                doc, pos = _decode_doc(view[:seq_end], pos)
                docs.append(doc)
            if ident in sequences:
                raise ProtocolError(f"duplicate document sequence {ident}")
            sequences[ident] = docs
            offset = seq_end
        else:
            raise ProtocolError(f"unknown OP_MSG section kind {kind}")
    if body is None:
        raise ProtocolError("OP_MSG has no body section")
    return Request(request_id=request_id, op_code=OP_MSG, body=body, flags=flags,
                   sequences=sequences)


def verify_checksum(header: bytes, payload: bytes) -> None:
    """Check the CRC-32C trailer of an OP_MSG whose checksumPresent flag is set."""
    data = header + payload[:-4]
    expected = struct.unpack_from("<I", payload, len(payload) - 4)[0]
    if crc32c(data) != expected:
        raise ProtocolError("OP_MSG checksum does not match contents")


def _parse_op_query(request_id: int, payload: bytes) -> Request:
    if len(payload) < 4 + 1 + 8 + 5:
        raise ProtocolError("OP_QUERY too short")
    flags = struct.unpack_from("<i", payload, 0)[0]
    nul = payload.find(b"\x00", 4)
    if nul < 0:
        raise ProtocolError("OP_QUERY collection name is not terminated")
    full_collection = payload[4:nul].decode("utf-8", "replace")
    offset = nul + 1 + 8  # numberToSkip, numberToReturn
    query, offset = _decode_doc(payload, offset)
    return Request(request_id=request_id, op_code=OP_QUERY, body=query, flags=flags,
                   full_collection=full_collection)


def encode_op_msg(request_id: int, response_to: int, doc: dict[str, Any],
                  more_to_come: bool = False) -> bytes:
    body = bson.encode(doc, codec_options=CODEC)
    flags = FLAG_MORE_TO_COME if more_to_come else 0
    length = 16 + 4 + 1 + len(body)
    return b"".join((HEADER.pack(length, request_id, response_to, OP_MSG),
                     struct.pack("<I", flags), b"\x00", body))


def encode_op_reply(request_id: int, response_to: int, doc: dict[str, Any]) -> bytes:
    body = bson.encode(doc, codec_options=CODEC)
    length = 16 + 20 + len(body)
    return b"".join((HEADER.pack(length, request_id, response_to, OP_REPLY),
                     struct.pack("<iqii", 8, 0, 0, 1), body))  # flags: AwaitCapable
