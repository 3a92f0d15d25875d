"""Server errors with mongod's numeric codes and codeNames."""
from __future__ import annotations

from typing import Any

CODE_NAMES: dict[int, str] = {
    1: "InternalError",
    2: "BadValue",
    4: "NoSuchKey",
    5: "GraphContainsCycle",
    9: "FailedToParse",
    11: "UserNotFound",
    12: "UnsupportedFormat",
    13: "Unauthorized",
    14: "TypeMismatch",
    16: "InvalidLength",
    17: "ProtocolError",
    28: "PathNotViable",
    53: "InvalidIdField",
    56: "EmptyFieldName",
    186: "ClientMetadataCannotBeMutated",
    334: "MechanismUnavailable",
    13436: "NotPrimaryOrSecondary",
    18: "AuthenticationFailed",
    20: "IllegalOperation",
    23: "AlreadyInitialized",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    31: "RoleNotFound",
    40: "ConflictingUpdateOperators",
    43: "CursorNotFound",
    49: "InvalidRoleModification",
    58: "RoleModificationFailed",
    162: "CollectionIsEmpty",
    204: "TimeProofMismatch",
    210: "CannotVerifyAndSignLogicalTime",
    211: "KeyNotFound",
    214: "AuthenticationRestrictionUnmet",
    48: "NamespaceExists",
    50: "MaxTimeMSExpired",
    51: "DollarPrefixedFieldName",
    52: "InvalidIdField",
    59: "CommandNotFound",
    64: "WriteConcernFailed",
    66: "ImmutableField",
    67: "CannotCreateIndex",
    68: "IndexAlreadyExists",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    74: "NodeNotFound",
    76: "NoReplicationEnabled",
    79: "UnknownReplWriteConcern",
    85: "IndexOptionsConflict",
    86: "IndexKeySpecsConflict",
    91: "ShutdownInProgress",
    93: "InvalidReplicaSetConfig",
    94: "NotYetInitialized",
    96: "OperationFailed",
    100: "UnsatisfiableWriteConcern",
    103: "NewReplicaSetConfigurationIncompatible",
    104: "NodeNotElectable",
    109: "ConfigurationInProgress",
    117: "ConflictingOperationInProgress",
    189: "PrimarySteppedDown",
    258: "UnknownFeatureCompatibilityVersion",
    262: "ExceededTimeLimit",
    270: "RepairedReplicaSetNode",
    308: "CurrentConfigNotCommittedYet",
    111: "NotExactValueField",
    115: "CommandNotSupported",
    125: "CommandFailed",
    166: "CommandNotSupportedOnView",
    167: "OptionNotSupportedOnView",
    225: "TransactionTooOld",
    263: "OperationNotSupportedInTransaction",
    251: "NoSuchTransaction",
    352: "UnsupportedOpQueryCommand",
    10107: "NotWritablePrimary",
    11000: "DuplicateKey",
    11600: "InterruptedAtShutdown",
    13435: "NotPrimaryNoSecondaryOk",
}

# Errors after which drivers re-check the server; mongod attaches its topologyVersion.
NOT_PRIMARY_OR_SHUTDOWN_CODES = frozenset({10107, 13435, 13436, 11600, 11602, 91, 189, 10058})

CODES: dict[str, int] = {name: code for code, name in CODE_NAMES.items()}


def code_name(code: int) -> str:
    return CODE_NAMES.get(code, f"Location{code}")


class MongoError(Exception):
    """A command failure, rendered as ``{ok: 0, errmsg, code, codeName}``."""

    def __init__(self, code: int | str, errmsg: str, **extra: Any) -> None:
        if isinstance(code, str):
            code = CODES[code]
        super().__init__(errmsg)
        self.code: int = code
        self.errmsg = errmsg
        self.extra = extra

    @property
    def code_name(self) -> str:
        return code_name(self.code)

    def to_reply(self) -> dict[str, Any]:
        reply: dict[str, Any] = {"ok": 0.0, "errmsg": self.errmsg, "code": self.code,
                                 "codeName": self.code_name}
        reply.update(self.extra)
        return reply

    def to_write_error(self, index: int) -> dict[str, Any]:
        err: dict[str, Any] = {"index": index, "code": self.code, "codeName": self.code_name,
                               "errmsg": self.errmsg}
        err.update({k: v for k, v in self.extra.items() if k in ("keyPattern", "keyValue")})
        return err


class DuplicateKeyError(MongoError):
    def __init__(self, ns: str, index_name: str, key_pattern: dict[str, Any],
                 key_value: dict[str, Any]) -> None:
        shown = ", ".join(f"{k}: {_short_repr(v)}" for k, v in key_value.items())
        super().__init__(
            11000,
            f"E11000 duplicate key error collection: {ns} index: {index_name} dup key: {{ {shown} }}",
            keyPattern=key_pattern, keyValue=key_value)


def _short_repr(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class ProtocolError(Exception):
    """A malformed frame: the connection is closed, the server keeps serving others."""
