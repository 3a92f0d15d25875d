"""The parse mongod's IDL generates for a strict command (buildscripts/idl, idl_parser.cpp
IDLParserContext): the command parameter's type, each field's type, unknown fields (40415),
missing required fields (40414), with mongod's messages. Generic arguments (generic_argument.idl)
and ``$``-prefixed fields belong to every command."""
from __future__ import annotations

from typing import Any

from mongoemu.dispatch import GENERIC_FIELDS
from mongoemu.errors import MongoError
from mongoemu.rsconfig import _type_name

# IDL types by the BSON types they take (basic_types.idl)
SAFE_BOOL = ("bool", "long", "int", "decimal", "double")
_NUMBER_TYPES = ("long", "int", "decimal", "double")
_MORE_GENERIC = frozenset({"maxTimeMSOpOnly", "clientOperationKey", "$configTime",
                           "$topologyVersion", "mayBypassWriteBlocking", "rawData",
                           "usesDefaultMaxTimeMS", "help"})


def wrong_type(path: str, value: Any, expected: str | tuple[str, ...]) -> MongoError:
    """IDLParserContext::throwBadType: one type, or several (mongod prints the list as
    ``'[a, b']``: the closing quote before the bracket)."""
    if isinstance(expected, str):
        return MongoError(14, f"BSON field '{path}' is the wrong type '{_type_name(value)}', "
                              f"expected type '{expected}'")
    return MongoError(14, f"BSON field '{path}' is the wrong type '{_type_name(value)}', "
                          f"expected types '[{', '.join(expected)}']")


def _matches(value: Any, expected: str | tuple[str, ...]) -> bool:
    kinds = (expected,) if isinstance(expected, str) else expected
    name = _type_name(value)
    return name in kinds


def parse_command(ctx: Any, parameter: str | None, fields: dict[str, str | tuple[str, ...]],
                  required: tuple[str, ...] = ()) -> None:
    """Check ``ctx.cmd`` as the IDL parser of a strict command checks it, in document order:
    the command parameter (``parameter`` its type, None: any), then each field."""
    name = ctx.name
    if parameter is not None and not _matches(ctx.arg, parameter):
        raise wrong_type(f"{name}.{name}", ctx.arg, parameter)
    for key, value in ctx.cmd.items():
        if key == name or key in GENERIC_FIELDS or key in _MORE_GENERIC or key.startswith("$"):
            continue
        expected = fields.get(key)
        if expected is None:
            raise MongoError(40415, f"BSON field '{name}.{key}' is an unknown field.")
        if expected != "any" and not _matches(value, expected):
            raise wrong_type(f"{name}.{key}", value, expected)
    for key in required:
        if key not in ctx.cmd:
            raise MongoError(40414, f"BSON field '{name}.{key}' is missing but a required field")
