"""Replica set config documents as mongod 7.0 parses and checks them.

Mirrors, in order:
  * the IDL parsers ``repl_set_config.idl`` / ``member_config.idl`` (strict structs: 40414 for a
    missing field, 40415 for an unknown one, 51024 for a range validator, TypeMismatch) and the
    hand-written parts of ``MemberConfig::MemberConfig`` / ``addTagInfo`` (member_config.cpp),
  * ``ReplSetConfig::_validate`` (repl_set_config.cpp),
  * ``validateConfigForInitiate`` / ``validateConfigForReconfig`` and their helpers
    (repl_set_config_checks.cpp).

A parsed config is kept as the document ``ReplSetConfig::toBSON`` would produce (every default
filled in, members in mongod's field order), so it can be stored in local.system.replset and
returned by replSetGetConfig as is.
"""
from __future__ import annotations

import ipaddress
import math
from typing import Any

from bson import Decimal128, Int64, ObjectId

from mongoemu.errors import MongoError

MAX_MEMBERS = 50
MAX_VOTING_MEMBERS = 7
UNINITIALIZED_TERM = -1
INITIAL_TERM = 0

_TOP_FIELDS = ("_id", "version", "term", "members", "configsvr", "protocolVersion",
               "writeConcernMajorityJournalDefault", "settings", "repaired", "recipientConfig")
_MEMBER_FIELDS = ("_id", "host", "votes", "newlyAdded", "priority", "hidden",
                  "secondaryDelaySecs", "arbiterOnly", "buildIndexes", "tags", "horizons")


# -- BSON type names, as IDL error messages spell them ------------------------------------------

def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "long"
    if isinstance(value, int):
        return "int" if -2**31 <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, Decimal128):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, ObjectId):
        return "objectId"
    if value is None:
        return "null"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal128)) and not isinstance(value, bool)


def _as_float(value: Any) -> float:
    if isinstance(value, Decimal128):
        return float(value.to_decimal())
    return float(value)


def _wrong_type(path: str, value: Any, expected: str) -> MongoError:
    return MongoError(14, f"BSON field '{path}' is the wrong type '{_type_name(value)}', "
                          f"expected type '{expected}'")


def _wrong_types(path: str, value: Any, expected: str) -> MongoError:
    # IDLParserContext::throwBadType prints the list as '[a, b']: the quote before the bracket
    return MongoError(14, f"BSON field '{path}' is the wrong type '{_type_name(value)}', "
                          f"expected types '{expected[:-1]}']")


_NUMERIC_TYPES = "[long, int, decimal, double]"


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _range(path: str, value: Any, *, gt: Any = None, gte: Any = None, lt: Any = None,
           lte: Any = None) -> None:
    """IDL range validators fail with 51024 (idl_parser.h throwComparisonError)."""
    for op, bound, ok in ((">", gt, lambda v, b: v > b), (">=", gte, lambda v, b: v >= b),
                          ("<", lt, lambda v, b: v < b), ("<=", lte, lambda v, b: v <= b)):
        if bound is not None and not ok(value, bound):
            raise MongoError(51024, f"BSON field '{path}' value must be {op} {_fmt(bound)}, "
                                    f"actual value '{_fmt(value)}'")


def small_exact_int64(path: str, value: Any) -> int:
    """``parseSmallExactInt64``: any number, but it must hold an exact integer."""
    if not _is_number(value):
        raise _wrong_types(path, value, _NUMERIC_TYPES)
    if isinstance(value, int):
        return int(value)
    number = _as_float(value)
    if math.isnan(number) or math.isinf(number) or not number.is_integer() or \
            not -2**63 <= number < 2**63:
        raise MongoError(4708900, f"Expected an integer, but found {_fmt(number)} in field "
                                  f"'{path}'")
    return int(number)


def safe_int64(path: str, value: Any) -> int:
    """``safeInt64``: any number, truncated."""
    if not _is_number(value):
        raise _wrong_types(path, value, _NUMERIC_TYPES)
    number = _as_float(value) if not isinstance(value, int) else value
    if isinstance(number, float):
        if math.isnan(number):
            return 0
        if math.isinf(number):
            return 2**63 - 1 if number > 0 else -2**63
        return int(number)
    return int(number)


def safe_double(path: str, value: Any) -> float:
    if not _is_number(value):
        raise _wrong_types(path, value, _NUMERIC_TYPES)
    return _as_float(value)


def safe_bool(path: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return _as_float(value) != 0
    raise _wrong_types(path, value, "[bool, long, int, decimal, double]")


def _number_int(value: Any) -> int:
    """BSONElement::numberInt(): truncation toward zero, saturating at the int32 range."""
    number = _as_float(value) if not isinstance(value, int) else value
    if isinstance(number, float):
        if math.isnan(number):
            return 0
        number = max(min(number, 2**31 - 1), -2**31)
    return int(number)


# -- host:port ----------------------------------------------------------------------------------

def parse_host(text: str) -> tuple[str, int]:
    """HostAndPort::initialize (host trimmed first); FailedToParse on a bad value."""
    s = text.strip()
    if not s:
        raise MongoError(9, "Empty host component parsing HostAndPort from \"\"")
    if s.startswith("["):
        close = s.find("]")
        if close < 0:
            raise MongoError(9, f"Missing \"]\" in IPv6 address \"{s}\"")
        host, rest = s[1:close], s[close + 1:]
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and not rest.startswith(":"):
            raise MongoError(9, f"Extraneous characters after \"]\" in \"{s}\"")
    elif s.count(":") > 1:
        host, port_text = s, None
    else:
        host, _, port_text = s.partition(":")
        if ":" not in s:
            port_text = None
    if not host:
        raise MongoError(9, f"Empty host component parsing HostAndPort from \"{s}\"")
    if port_text is None:
        return host, 27017
    if not port_text or not port_text.isdigit():
        raise MongoError(9, f"Bad port number \"{port_text}\" in HostAndPort from \"{s}\"")
    port = int(port_text)
    if not 0 < port <= 65535:
        raise MongoError(9, f"Port number {port} out of range parsing HostAndPort from \"{s}\"")
    return host, port


def host_string(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_localhost(host_port: str) -> bool:
    host = host_port.rsplit(":", 1)[0].strip("[]")
    return host == "localhost" or host.startswith("127.") or host == "::1"


# -- members ---------------------------------------------------------------------------------------

def is_arbiter(m: dict[str, Any]) -> bool:
    return bool(m.get("arbiterOnly"))


def is_newly_added(m: dict[str, Any]) -> bool:
    return bool(m.get("newlyAdded"))


def base_votes(m: dict[str, Any]) -> int:
    return int(m.get("votes", 1))


def is_voter(m: dict[str, Any]) -> bool:
    """MemberConfig::isVoter(): newlyAdded members count as 0 votes."""
    return base_votes(m) > 0 and not is_newly_added(m)


def priority(m: dict[str, Any]) -> float:
    """MemberConfig::getPriority(): newlyAdded members count as priority 0."""
    return 0.0 if is_newly_added(m) else float(m.get("priority", 1.0))


def is_electable(m: dict[str, Any]) -> bool:
    return not is_arbiter(m) and priority(m) > 0


def _parse_member(doc: Any, index: int) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise _wrong_type(f"ReplSetConfig.members.{index}", doc, "object")
    try:
        return _parse_member_fields(doc)
    except MongoError as exc:  # MemberConfig::parseFromBSON adds the member as context
        raise MongoError(exc.code, f"member: {_brief(doc)} :: caused by :: {exc.errmsg}") \
            from None


def _parse_member_fields(doc: dict[str, Any]) -> dict[str, Any]:
    ctx = "MemberConfig"
    for key in doc:
        if key not in _MEMBER_FIELDS:
            raise MongoError(40415, f"BSON field '{ctx}.{key}' is an unknown field.")
    for key in ("_id", "host"):
        if key not in doc:
            raise MongoError(40414, f"BSON field '{ctx}.{key}' is missing but a required field")
    raw_id = doc["_id"]
    if not _is_number(raw_id):
        raise MongoError(14, f"Member \"_id\" field must be a number, but found "
                             f"{_type_name(raw_id)}")
    member_id = _number_int(raw_id)
    if member_id < 0:
        raise MongoError(2, f"_id field must be non-negative, but found {member_id}")
    if not isinstance(doc["host"], str):
        raise _wrong_type(f"{ctx}.host", doc["host"], "string")
    host, port = parse_host(doc["host"])
    votes = 1
    if "votes" in doc:
        votes = safe_int64(f"{ctx}.votes", doc["votes"])
        _range(f"{ctx}.votes", votes, gte=0, lte=1)
    newly_added = None
    if "newlyAdded" in doc:
        if not isinstance(doc["newlyAdded"], bool):
            raise _wrong_type(f"{ctx}.newlyAdded", doc["newlyAdded"], "bool")
        if doc["newlyAdded"] is not True:
            raise MongoError(93, "newlyAdded field must be true when specified")
        newly_added = True
    prio = 1.0
    if "priority" in doc:
        prio = safe_double(f"{ctx}.priority", doc["priority"])
        _range(f"{ctx}.priority", prio, gte=0, lte=1000)
    hidden = safe_bool(f"{ctx}.hidden", doc["hidden"]) if "hidden" in doc else False
    delay = 0
    if "secondaryDelaySecs" in doc:
        delay = safe_int64(f"{ctx}.secondaryDelaySecs", doc["secondaryDelaySecs"])
        _range(f"{ctx}.secondaryDelaySecs", delay, gte=0, lte=31622400)
    arbiter = safe_bool(f"{ctx}.arbiterOnly", doc["arbiterOnly"]) if "arbiterOnly" in doc \
        else False
    build_indexes = safe_bool(f"{ctx}.buildIndexes", doc["buildIndexes"]) \
        if "buildIndexes" in doc else True
    tags: dict[str, Any] = {}
    if "tags" in doc:
        if not isinstance(doc["tags"], dict):
            raise _wrong_type(f"{ctx}.tags", doc["tags"], "object")
        tags = dict(doc["tags"])
    horizons = None
    if "horizons" in doc:
        if not isinstance(doc["horizons"], dict):
            raise _wrong_type(f"{ctx}.horizons", doc["horizons"], "object")
        horizons = _parse_horizons(doc["horizons"], host)
    if arbiter:
        if prio == 1.0:
            prio = 0.0
        if votes == 0:
            raise MongoError(2, "Arbiter must vote (cannot have 0 votes)")
        if newly_added:
            raise MongoError(2, "Arbiter cannot have newlyAdded field set")
    effective_priority = 0.0 if newly_added else prio
    if effective_priority != 0:
        if votes == 0 or newly_added:
            raise MongoError(2, "priority must be 0 when non-voting (votes:0)")
        if delay > 0:
            raise MongoError(2, "priority must be 0 when secondaryDelaySecs is used")
        if hidden:
            raise MongoError(2, "priority must be 0 when hidden=true")
        if not build_indexes:
            raise MongoError(2, "priority must be 0 when buildIndexes=false")
    # addTagInfo
    for name, value in tags.items():
        if not isinstance(value, str):
            raise MongoError(14, f"tags.{name} field has non-string value of type "
                                 f"{_type_name(value)}")
    if arbiter and tags:
        raise MongoError(2, "Cannot set tags on arbiters.")
    member: dict[str, Any] = {"_id": member_id, "host": host_string(host, port),
                              "arbiterOnly": arbiter}
    if newly_added:
        member["newlyAdded"] = True
    member.update({"buildIndexes": build_indexes, "hidden": hidden, "priority": prio,
                   "tags": tags})
    if horizons is not None:
        member["horizons"] = horizons
    member["secondaryDelaySecs"] = Int64(delay)
    member["votes"] = 1 if votes else 0
    return member


def _parse_horizons(doc: dict[str, Any], host: str) -> dict[str, str]:
    seen_hosts = {host}
    out: dict[str, str] = {}
    for name, value in doc.items():
        if not isinstance(value, str):
            raise MongoError(14, f"horizons.{name} field has non-string value of type "
                                 f"{_type_name(value)}")
        if not name:
            raise MongoError(2, "Horizons cannot have empty names")
        if name == "__default":
            raise MongoError(2, "Horizon name \"__default\" is reserved for internal mongodb "
                                "usage")
        h, p = parse_host(value)
        if h in seen_hosts:
            raise MongoError(2, f"Duplicate horizon hostname found: {h}")
        seen_hosts.add(h)
        out[name] = host_string(h, p)
    return out


def _brief(doc: Any) -> str:
    def show(v: Any) -> str:
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return _brief(v)
        return str(v)
    if not isinstance(doc, dict):
        return show(doc)
    return "{ " + ", ".join(f"{k}: {show(v)}" for k, v in doc.items()) + " }" if doc else "{}"


# -- settings --------------------------------------------------------------------------------------

_DEFAULT_GLE = {"w": 1, "wtimeout": 0}


def _parse_settings(doc: Any, members: list[dict[str, Any]]) -> dict[str, Any]:
    ctx = "ReplSetConfig.settings"
    if not isinstance(doc, dict):
        raise _wrong_type(ctx, doc, "object")
    out: dict[str, Any] = {}
    out["chainingAllowed"] = safe_bool(f"{ctx}.chainingAllowed", doc["chainingAllowed"]) \
        if "chainingAllowed" in doc else True
    for name, default, bound in (("heartbeatIntervalMillis", 2000, {"gt": 0}),
                                 ("heartbeatTimeoutSecs", 10, {"gt": 0}),
                                 ("electionTimeoutMillis", 10000, {"gt": 0}),
                                 ("catchUpTimeoutMillis", -1, {"gte": -1}),
                                 ("catchUpTakeoverDelayMillis", 30000, {"gte": -1})):
        value = default
        if name in doc:
            value = small_exact_int64(f"{ctx}.{name}", doc[name])
            _range(f"{ctx}.{name}", value, **bound)
        out[name] = Int64(value) if not -2**31 <= value < 2**31 else value
    modes = doc.get("getLastErrorModes", {})
    out["getLastErrorModes"] = _parse_modes(modes, members)
    out["getLastErrorDefaults"] = _parse_gle_defaults(doc.get("getLastErrorDefaults",
                                                              dict(_DEFAULT_GLE)))
    if "replicaSetId" in doc:
        rsid = doc["replicaSetId"]
        if not isinstance(rsid, ObjectId):
            raise _wrong_type(f"{ctx}.replicaSetId", rsid, "objectId")
        if rsid.binary == b"\x00" * 12:
            raise MongoError(2, "replicaSetId field value cannot be null")
        out["replicaSetId"] = rsid
    return out


def _parse_modes(modes: Any, members: list[dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(modes, dict):
        raise MongoError(14, "Expected getLastErrorModes field to be an object, but found "
                             f"{_type_name(modes)}")
    tag_keys = {k for m in members for k in m.get("tags", {})}
    out: dict[str, Any] = {}
    for name, mode in modes.items():
        if not isinstance(mode, dict):
            raise MongoError(14, f"Expected getLastErrorModes.{name} to be an Object, was "
                                 f"{_type_name(mode)}")
        for key, count in mode.items():
            if not _is_number(count):
                raise MongoError(14, f"Expected getLastErrorModes.{name}.{key} to be a "
                                     f"number, was {_type_name(count)}")
            if _number_int(count) <= 0:
                raise MongoError(2, f"Value of getLastErrorModes.{name}.{key} must be "
                                    f"positive, but found {_fmt(_as_float(count))}")
            if key not in tag_keys:
                raise MongoError(4, f"No replica set tag with key \"{key}\" in replica set "
                                    f"config while processing getLastErrorModes.{name}")
        out[name] = {key: _number_int(count) for key, count in mode.items()}
    return out


def _parse_gle_defaults(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise _wrong_type("ReplSetConfig.settings.getLastErrorDefaults", doc, "object")
    w = doc.get("w", 1)
    if isinstance(w, bool) or not isinstance(w, (int, float, str, dict, Int64)):
        raise MongoError(14, "w has to be a number, string or object")
    if _is_number(w) and _number_int(w) == 0 and not doc.get("j"):
        raise MongoError(2, "Default write concern mode must wait for at least 1 member")
    out = dict(doc)
    out.setdefault("w", 1)
    out.setdefault("wtimeout", 0)
    return out


def customized_gle_defaults(settings: dict[str, Any]) -> bool:
    """ReplSetConfig::containsCustomizedGetLastErrorDefaults: anything but {w:1, wtimeout:0}."""
    gle = settings.get("getLastErrorDefaults", _DEFAULT_GLE)
    w = gle.get("w", 1)
    if not (_is_number(w) and _as_float(w) == 1):
        return True
    if _is_number(gle.get("wtimeout", 0)) and _as_float(gle.get("wtimeout", 0)) != 0:
        return True
    return any(k not in ("w", "wtimeout") for k in gle)


# -- the whole document ------------------------------------------------------------------------

def parse(doc: Any, *, force_term: int | None, default_replica_set_id: ObjectId | None
          ) -> dict[str, Any]:
    """ReplSetConfig(cfg, forInitiate, forceTerm, defaultReplicaSetId)."""
    ctx = "ReplSetConfig"
    if not isinstance(doc, dict):
        raise MongoError(14, "no configuration specified")
    for key in doc:
        if key not in _TOP_FIELDS:
            raise MongoError(40415, f"BSON field '{ctx}.{key}' is an unknown field.")
    for key in ("_id", "version", "members"):
        if key not in doc:
            raise MongoError(40414, f"BSON field '{ctx}.{key}' is missing but a required field")
    name = doc["_id"]
    if not isinstance(name, str):
        raise _wrong_type(f"{ctx}._id", name, "string")
    if not name:
        raise MongoError(2, "Replica set name cannot be empty")
    version = small_exact_int64(f"{ctx}.version", doc["version"])
    _range(f"{ctx}.version", version, gt=0, lt=2147483648)
    term = UNINITIALIZED_TERM
    if "term" in doc:
        term = small_exact_int64(f"{ctx}.term", doc["term"])
        _range(f"{ctx}.term", term, gte=-1, lt=2147483648)
    raw_members = doc["members"]
    if not isinstance(raw_members, list):
        raise _wrong_type(f"{ctx}.members", raw_members, "array")
    members = [_parse_member(m, i) for i, m in enumerate(raw_members)]
    configsvr = False
    if "configsvr" in doc:
        if not isinstance(doc["configsvr"], bool):
            raise _wrong_type(f"{ctx}.configsvr", doc["configsvr"], "bool")
        configsvr = doc["configsvr"]
    pv = 1
    if "protocolVersion" in doc:
        pv = safe_int64(f"{ctx}.protocolVersion", doc["protocolVersion"])
        _range(f"{ctx}.protocolVersion", pv, gte=1, lte=1)
    wcmjd = safe_bool(f"{ctx}.writeConcernMajorityJournalDefault",
                      doc["writeConcernMajorityJournalDefault"]) \
        if "writeConcernMajorityJournalDefault" in doc else True
    settings = _parse_settings(doc.get("settings", {}), members)
    if "repaired" in doc:
        if not isinstance(doc["repaired"], bool):
            raise _wrong_type(f"{ctx}.repaired", doc["repaired"], "bool")
        if doc["repaired"]:
            raise MongoError(270, "Replicated data has been repaired")
    if force_term is not None:
        term = force_term
    if "replicaSetId" not in settings and default_replica_set_id is not None:
        settings["replicaSetId"] = default_replica_set_id
    out: dict[str, Any] = {"_id": name, "version": version}
    if term != UNINITIALIZED_TERM:
        out["term"] = term
    out["members"] = members
    if configsvr:
        out["configsvr"] = True
    out.update({"protocolVersion": Int64(pv), "writeConcernMajorityJournalDefault": wcmjd,
                "settings": settings})
    return out


def term_of(cfg: dict[str, Any]) -> int:
    return int(cfg.get("term", UNINITIALIZED_TERM))


def version_and_term(cfg: dict[str, Any]) -> str:
    return f"{{version: {cfg['version']}, term: {term_of(cfg)}}}"


def newer(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """ConfigVersionAndTerm ordering: terms compared first unless either is -1."""
    ot, nt = term_of(old), term_of(new)
    if ot == UNINITIALIZED_TERM or nt == UNINITIALIZED_TERM:
        return int(new["version"]) > int(old["version"])
    return (nt, int(new["version"])) > (ot, int(old["version"]))


def _is_cidr(host: str) -> bool:
    try:
        ipaddress.ip_network(host, strict=False)
    except ValueError:
        return False
    return True


def validate(cfg: dict[str, Any], *, allow_multiple_arbiters: bool = False,
             allow_split_horizon_ip: bool = False) -> None:
    """ReplSetConfig::_validate: BadValue (UnsupportedFormat for an IP horizon)."""
    members = cfg["members"]
    if not members or len(members) > MAX_MEMBERS:
        raise MongoError(2, f"Replica set configuration contains {len(members)} members, but "
                            f"must have at least 1 and no more than  {MAX_MEMBERS}")
    if not allow_split_horizon_ip:
        for i, m in enumerate(members):
            for name, target in m.get("horizons", {}).items():
                if _is_cidr(target.rsplit(":", 1)[0].strip("[]")):
                    raise MongoError(12, "Found split horizon configuration using IP address, "
                                         f"which is disallowed: members.{i}.horizons contains "
                                         f"entry {{\"{name}\": \"{target}\"}}")
    horizon_names = sorted(members[0].get("horizons", {}))
    for i, m in enumerate(members):
        if sorted(m.get("horizons", {})) != horizon_names:
            raise MongoError(2, "Saw a replica set member with a different horizon mapping "
                                "than the others.")
        for j, other in enumerate(members):
            if i == j:
                continue
            if m["_id"] == other["_id"]:
                raise MongoError(2, f"Found two member configurations with same _id field, "
                                    f"members.{i}._id == members.{j}._id == {m['_id']}")
            if m["host"] == other["host"]:
                raise MongoError(2, f"Found two member configurations with same host field, "
                                    f"members.{i}.host == members.{j}.host == {m['host']}")
    endpoints: dict[str, int] = {}
    for m in members:
        for h in [m["host"], *m.get("horizons", {}).values()]:
            endpoints[h] = endpoints.get(h, 0) + 1
    dupes = [h for h, n in endpoints.items() if n > 1]
    if dupes:
        raise MongoError(2, "The following hostnames are not unique across all horizons and "
                            "host specifications in the replica set: " + ", ".join(dupes))
    local = sum(1 for m in members if is_localhost(m["host"]))
    if local not in (0, len(members)):
        raise MongoError(2, "Either all host names in a replica set configuration must be "
                            f"localhost references, or none must be; found {local} out of "
                            f"{len(members)}")
    voters = sum(1 for m in members if is_voter(m))
    if voters == 0 or voters > MAX_VOTING_MEMBERS:
        raise MongoError(2, f"Replica set configuration contains {voters} voting members, but "
                            f"must be at least 1 and no more than {MAX_VOTING_MEMBERS}")
    if not any(is_electable(m) for m in members):
        raise MongoError(2, "Replica set configuration must contain at least one non-arbiter "
                            "member with priority > 0")
    if cfg.get("configsvr"):
        if any(is_arbiter(m) for m in members):
            raise MongoError(2, "Arbiters are not allowed in replica set configurations being "
                                "used for config servers")
        if not all(m["buildIndexes"] for m in members):
            raise MongoError(2, "Members in replica set configurations being used for config "
                                "servers must build indexes")
        if any(int(m["secondaryDelaySecs"]) for m in members):
            raise MongoError(2, "Members in replica set configurations being used for config "
                                "servers cannot have a non-zero secondaryDelaySecs")
        raise MongoError(2, "Nodes being used for config servers must be started with the "
                            "--configsvr flag")
    if not allow_multiple_arbiters and sum(1 for m in members if is_arbiter(m)) > 1:
        raise MongoError(2, "Multiple arbiters are not allowed unless all nodes were started "
                            "with with --setParameter 'allowMultipleArbiters=true'")


def check_arbiter_priorities(cfg: dict[str, Any]) -> None:
    for m in cfg["members"]:
        if is_arbiter(m) and m["priority"] != 0:
            raise MongoError(93, f"Member {m['host']} is an arbiter but has priority "
                                 f"{_fmt(m['priority'])}. Arbiter priority must be 0.")


def check_no_newly_added(cfg: dict[str, Any]) -> None:
    for m in cfg["members"]:
        if is_newly_added(m):
            raise MongoError(93, f"Member {m['host']}, with _id {m['_id']}, has a newlyAdded "
                                 "field, which is not valid for initial configuration of a "
                                 "replica set.")


def check_compatible(old: dict[str, Any], new: dict[str, Any]) -> None:
    """validateOldAndNewConfigsCompatible: NewReplicaSetConfigurationIncompatible."""
    name = new["_id"]
    if not newer(old, new):
        raise MongoError(103, "New replica set configuration version and term must be greater "
                              f"than old, but {version_and_term(new)} is not greater than "
                              f"{version_and_term(old)} for replica set {name}")
    if old["_id"] != new["_id"]:
        raise MongoError(103, "New and old configurations differ in replica set name; old was "
                              f"{old['_id']}, and new is {new['_id']}")
    old_id = old["settings"].get("replicaSetId")
    new_id = new["settings"].get("replicaSetId")
    if old_id != new_id:
        raise MongoError(103, "New and old configurations differ in replica set ID; old was "
                              f"{old_id}, and new is {new_id}")
    if old.get("configsvr") and not new.get("configsvr"):
        raise MongoError(103, "Cannot remove \"configsvr\" from replica set configuration on "
                              "reconfig")
    for m_new in new["members"]:
        for m_old in old["members"]:
            ids_equal = m_old["_id"] == m_new["_id"]
            hosts_equal = m_old["host"] == m_new["host"]
            if not ids_equal and not hosts_equal:
                continue
            if hosts_equal and not ids_equal:
                raise MongoError(103, "New and old configurations both have members with host "
                                      f"of {m_old['host']} but in the new configuration the _id "
                                      f"field is {m_new['_id']} and in the old configuration it "
                                      f"is {m_old['_id']} for replica set {name}")
            if m_old["buildIndexes"] != m_new["buildIndexes"]:
                raise MongoError(103, "New and old configurations differ in the setting of the "
                                      f"buildIndexes field for member {m_old['host']}; to make "
                                      "this change, remove then re-add the member")
            if m_old["arbiterOnly"] != m_new["arbiterOnly"]:
                raise MongoError(103, "New and old configurations differ in the setting of the "
                                      f"arbiterOnly field for member {m_old['host']}; to make "
                                      "this change, remove then re-add the member")
    # enableReconfigRollbackCommittedWritesCheck (default true): the PSA rule.
    old_voters = sum(1 for m in old["members"] if base_votes(m) > 0)
    old_arbiters = sum(1 for m in old["members"] if is_arbiter(m))
    overlap = old_voters // 2 + 1 <= old_voters - old_arbiters
    new_members = new["members"]
    is_psa = len(new_members) == 3 and sum(1 for m in new_members if not is_arbiter(m)) == 2
    electable_new = sum(1 for m in new_members if float(m["priority"]) > 0)
    if not overlap and is_psa and electable_new > 1:
        raise MongoError(103, "Rejecting reconfig where the new config has a PSA topology and "
                              "the secondary is electable, but the old config contains only "
                              "one writable node. Refer to https://docs.mongodb.com/manual/"
                              "reference/method/rs.reconfigForPSASet/ for next steps on "
                              "reconfiguring a PSA set.")


def check_single_node_change(old: dict[str, Any], new: dict[str, Any]) -> None:
    old_ids = {m["_id"] for m in old["members"] if is_voter(m)}
    new_ids = {m["_id"] for m in new["members"] if is_voter(m)}
    if len(old_ids ^ new_ids) > 1:
        raise MongoError(93, "Non force replica set reconfig can only add or remove at most 1 "
                             "voting member.")


def without_newly_added(cfg: dict[str, Any]) -> dict[str, Any]:
    """ReplSetConfig::toBSONWithoutNewlyAdded (what replSetGetConfig shows)."""
    out = dict(cfg)
    out["members"] = [{k: v for k, v in m.items() if k != "newlyAdded"}
                      for m in cfg["members"]]
    return out
