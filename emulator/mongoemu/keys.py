"""BSON value ordering and canonical keys, shared by storage, indexes and queries."""
from __future__ import annotations

import datetime as _dt
import math
import re
import struct
from decimal import Decimal
from typing import Any

from bson import Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

# Canonical BSON type order used by comparisons and sorts.
_ORDER_MINKEY = 1
_ORDER_NULL = 2
_ORDER_NUMBER = 3
_ORDER_STRING = 4
_ORDER_OBJECT = 5
_ORDER_ARRAY = 6
_ORDER_BINARY = 7
_ORDER_OBJECTID = 8
_ORDER_BOOL = 9
_ORDER_DATE = 10
_ORDER_TIMESTAMP = 11
_ORDER_REGEX = 12
_ORDER_CODE = 13
_ORDER_MAXKEY = 14


class _Missing:
    """A field that does not exist (sorts like null)."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def is_number(value: Any) -> bool:
    return (isinstance(value, (int, float, Decimal128)) and not isinstance(value, bool))


def type_order(value: Any) -> int:
    if value is None or value is MISSING:
        return _ORDER_NULL
    if isinstance(value, bool):
        return _ORDER_BOOL
    if isinstance(value, (int, float, Decimal128)):
        return _ORDER_NUMBER
    if isinstance(value, str):
        return _ORDER_STRING
    if isinstance(value, dict):
        return _ORDER_OBJECT
    if isinstance(value, (list, tuple)):
        return _ORDER_ARRAY
    if isinstance(value, (Binary, bytes)):
        return _ORDER_BINARY
    if isinstance(value, ObjectId):
        return _ORDER_OBJECTID
    if isinstance(value, _dt.datetime):
        return _ORDER_DATE
    if isinstance(value, Timestamp):
        return _ORDER_TIMESTAMP
    if isinstance(value, (Regex, re.Pattern)):
        return _ORDER_REGEX
    if isinstance(value, MinKey):
        return _ORDER_MINKEY
    if isinstance(value, MaxKey):
        return _ORDER_MAXKEY
    if isinstance(value, Code):
        return _ORDER_CODE
    return _ORDER_OBJECT


def to_number(value: Any) -> float | int | Decimal:
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return value


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def _cmp_numbers(a: Any, b: Any) -> int:
    x, y = to_number(a), to_number(b)
    if isinstance(x, float) and math.isnan(x):
        return 0 if isinstance(y, float) and math.isnan(y) else -1
    if isinstance(y, float) and math.isnan(y):
        return 1
    if isinstance(x, Decimal) or isinstance(y, Decimal):
        try:
            return _cmp(Decimal(x) if not isinstance(x, Decimal) else x,
                        Decimal(y) if not isinstance(y, Decimal) else y)
        except Exception:
            return 0
    return _cmp(x, y)


def compare(a: Any, b: Any) -> int:
    """Compare two BSON values in MongoDB's order; returns -1, 0 or 1."""
    ta, tb = type_order(a), type_order(b)
    if ta != tb:
        return -1 if ta < tb else 1
    if ta == _ORDER_NUMBER:
        return _cmp_numbers(a, b)
    if ta == _ORDER_NULL or ta in (_ORDER_MINKEY, _ORDER_MAXKEY):
        return 0
    if ta in (_ORDER_STRING, _ORDER_BOOL, _ORDER_DATE):
        if ta == _ORDER_DATE:
            return _cmp(_date_ms(a), _date_ms(b))
        return _cmp(a, b)
    if ta == _ORDER_OBJECTID:
        return _cmp(a.binary, b.binary)
    if ta == _ORDER_TIMESTAMP:
        return _cmp((a.time, a.inc), (b.time, b.inc))
    if ta == _ORDER_BINARY:
        ab, bb = bytes(a), bytes(b)
        sa = a.subtype if isinstance(a, Binary) else 0
        sb = b.subtype if isinstance(b, Binary) else 0
        return _cmp((len(ab), sa, ab), (len(bb), sb, bb))
    if ta == _ORDER_OBJECT:
        if not isinstance(a, dict) or not isinstance(b, dict):
            return _cmp(str(a), str(b))
        items_a, items_b = list(a.items()), list(b.items())
        for (ka, va), (kb, vb) in zip(items_a, items_b):
            c = _cmp(type_order(va), type_order(vb))
            if c:
                return c
            c = _cmp(ka, kb)
            if c:
                return c
            c = compare(va, vb)
            if c:
                return c
        return _cmp(len(items_a), len(items_b))
    if ta == _ORDER_ARRAY:
        for va, vb in zip(a, b):
            c = compare(va, vb)
            if c:
                return c
        return _cmp(len(a), len(b))
    if ta == _ORDER_REGEX:
        return _cmp(_regex_parts(a), _regex_parts(b))
    return _cmp(str(a), str(b))


def _regex_parts(value: Any) -> tuple[str, str]:
    if isinstance(value, Regex):
        return (value.pattern, str(value.flags))
    return (value.pattern, str(value.flags))


def _date_ms(value: _dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return int(value.timestamp() * 1000)


def values_equal(a: Any, b: Any) -> bool:
    return type_order(a) == type_order(b) and compare(a, b) == 0


class SortKey:
    """Wraps a value so Python's sort uses MongoDB's ordering."""

    __slots__ = ("value", "reverse")

    def __init__(self, value: Any, reverse: bool = False) -> None:
        self.value = value
        self.reverse = reverse

    def __lt__(self, other: "SortKey") -> bool:
        c = compare(self.value, other.value)
        return c > 0 if self.reverse else c < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SortKey) and compare(self.value, other.value) == 0


def canonical_key(value: Any) -> bytes:
    """Bytes equal for values MongoDB considers equal (1 == 1.0 == Int64(1))."""
    cls = type(value)
    if cls is int or cls is Int64:  # fast paths for the usual _id types
        payload = str(value).encode()
        return bytes((_ORDER_NUMBER,)) + struct.pack(">I", len(payload)) + payload
    if cls is ObjectId:
        return bytes((_ORDER_OBJECTID,)) + value.binary
    if cls is str:
        payload = value.encode("utf-8", "surrogatepass")
        return bytes((_ORDER_STRING,)) + struct.pack(">I", len(payload)) + payload
    out = bytearray()
    _encode_key(value, out)
    return bytes(out)


def _encode_key(value: Any, out: bytearray) -> None:
    t = type_order(value)
    out.append(t)
    if t == _ORDER_NUMBER:
        num = to_number(value)
        if isinstance(num, float) and math.isnan(num):
            payload = b"nan"
        else:
            try:
                if num == int(num):
                    payload = str(int(num)).encode()
                else:
                    payload = repr(float(num)).encode() if not isinstance(num, Decimal) \
                        else str(num.normalize()).encode()
            except (OverflowError, ValueError):
                payload = str(num).encode()
        _put(out, payload)
    elif t == _ORDER_NULL or t in (_ORDER_MINKEY, _ORDER_MAXKEY):
        pass
    elif t == _ORDER_STRING:
        _put(out, value.encode("utf-8", "surrogatepass"))
    elif t == _ORDER_BOOL:
        out.append(1 if value else 0)
    elif t == _ORDER_OBJECTID:
        out += value.binary
    elif t == _ORDER_DATE:
        out += struct.pack(">q", _date_ms(value))
    elif t == _ORDER_TIMESTAMP:
        out += struct.pack(">II", value.time, value.inc)
    elif t == _ORDER_BINARY:
        out.append(value.subtype if isinstance(value, Binary) else 0)
        _put(out, bytes(value))
    elif t == _ORDER_OBJECT and isinstance(value, dict):
        out += struct.pack(">I", len(value))
        for k, v in value.items():
            _put(out, str(k).encode("utf-8", "surrogatepass"))
            _encode_key(v, out)
    elif t == _ORDER_ARRAY:
        out += struct.pack(">I", len(value))
        for v in value:
            _encode_key(v, out)
    else:
        _put(out, repr(value).encode())


def _put(out: bytearray, payload: bytes) -> None:
    out += struct.pack(">I", len(payload))
    out += payload


__all__ = ["MISSING", "compare", "canonical_key", "values_equal", "SortKey", "type_order",
           "is_number", "to_number", "Int64", "DBRef"]
