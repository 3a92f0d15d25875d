# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate a replica set configuration document as mongod would, and say which
failures the topology survives.

    result = validate_config(config, current=None, target_version="8.0", force=False)
    result.valid, result.errors, result.warnings, result.analysis

Two passes. The structural pass checks the document against the JSON Schema
(replset_schema.REPLSET_CONFIG_SCHEMA). The semantic pass applies the rules of
mongod's ReplSetConfig::validate(), validateConfigForInitiate() and
validateConfigForReconfig() (see RULES), then the fault-domain analysis adds its
warnings. Every finding names the JSON pointer, the rule, mongod's error code and
what to do. Nothing here raises for bad input: any JSON-like value yields a result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import math
from dataclasses import dataclass, field

from ansible_collections.quorum.mongodb.plugins.module_utils.fault_domains import analyse_fault_domains
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import (
    ERROR_CODES,
    MAX_MEMBERS,
    MAX_VOTING_MEMBERS,
    HostParseError,
    ReplSetConfig,
    as_dict,
    is_localhost,
    is_number,
    normalize_host,
    parse_host,
    parse_version,
    replica_set_id_hex,
    safe_bool,
    tag_values,
    to_json_view,
    truncate,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_schema import REPLSET_CONFIG_SCHEMA
from ansible_collections.quorum.mongodb.plugins.module_utils.schema_check import compile_schema

# rule id -> (mongod error code or codeName, what the rule says)
RULES = {
    # structural pass (JSON Schema keywords, mapped to the IDL parser's errors)
    "schema.type": ("TypeMismatch", "a field has the wrong BSON type"),
    "schema.integer": (4708900, "version, term and settings durations must be integral numbers"),
    "schema.required": (40414, "a required field is missing"),
    "schema.unknown_field": (40415, "mongod parses the document and its members strictly"),
    "schema.range": (51024, "a number is outside the range mongod accepts"),
    "schema.count": ("BadValue", "a set has 1 to 50 members"),
    "schema.empty": ("BadValue", "the set name must not be empty"),
    "schema.format": ("TypeMismatch", "replicaSetId must be an ObjectId"),
    # document
    "config.repaired": ("RepairedReplicaSetNode", "a config written by --repair is refused"),
    # members
    "member.id_range_4_4": ("BadValue", "before 5.0 a member _id is 0 to 255"),
    "member.host": ("FailedToParse", "host must be host[:port] with a port from 1 to 65535"),
    "member.duplicate_id": ("BadValue", "member _ids are unique"),
    "member.duplicate_host": ("BadValue", "member hosts are unique (a missing port is 27017)"),
    "member.newly_added": ("InvalidReplicaSetConfig", "newlyAdded is set by the server, never by a client"),
    "member.delay_field": (40415, "slaveDelay (up to 4.4) became secondaryDelaySecs (5.0 and later)"),
    "member.arbiter_votes": ("BadValue", "an arbiter must vote"),
    "member.arbiter_tags": ("BadValue", "arbiters cannot carry tags"),
    "member.arbiter_priority": ("InvalidReplicaSetConfig", "an arbiter's priority must be 0"),
    "member.priority_non_voter": ("BadValue", "a member with priority > 0 must vote"),
    "member.priority_delayed": ("BadValue", "a delayed member must have priority 0"),
    "member.priority_hidden": ("BadValue", "a hidden member must have priority 0"),
    "member.priority_build_indexes": ("BadValue", "a member with buildIndexes:false must have priority 0"),
    "member.horizons": ("BadValue", "horizon names are non-empty, not __default, and their hosts unique"),
    "member.horizon_ip": ("UnsupportedFormat", "a horizon host must be a name, not an IP address"),
    "members.horizon_names": ("BadValue", "every member defines the same horizon names"),
    "members.localhost_mix": ("BadValue", "either every host is localhost or none is"),
    "members.voters": ("BadValue", "1 to 7 members vote"),
    "members.electable": ("BadValue", "at least one data-bearing member has priority > 0"),
    "members.multiple_arbiters": ("BadValue", "more than one arbiter is refused from 5.3 on"),
    "configsvr.arbiters": ("BadValue", "a config server set has no arbiters"),
    "configsvr.build_indexes": ("BadValue", "config server members build indexes"),
    "configsvr.delay": ("BadValue", "config server members are not delayed"),
    "configsvr.journal_default": ("BadValue", "a config server set keeps writeConcernMajorityJournalDefault true"),
    # settings
    "settings.replica_set_id": ("BadValue", "replicaSetId must not be all zeros"),
    "settings.default_write_concern": ("BadValue", "getLastErrorDefaults must wait for at least one member"),
    "settings.custom_default_write_concern": (5624101, "from 5.0 getLastErrorDefaults can only be {w: 1, wtimeout: 0}"),
    "settings.default_write_concern_mode": ("BadValue", "getLastErrorDefaults names a mode that is not defined"),
    "settings.default_write_concern_unsatisfiable": ("UnsatisfiableWriteConcern",
                                                     "before 5.0, getLastErrorDefaults must be satisfiable"),
    "settings.write_concern_mode_count": ("BadValue", "a mode's counts are numbers whose integer part is > 0"),
    "settings.write_concern_mode_tag": ("NoSuchKey", "a mode's tag keys appear in some member's tags"),
    # replSetInitiate
    # processReplSetInitiate returns every validateConfigForInitiate failure as InvalidReplicaSetConfig
    "initiate.version": ("InvalidReplicaSetConfig", "replSetInitiate takes version 1"),
    "initiate.replica_set_id": ("InvalidReplicaSetConfig", "replSetInitiate generates replicaSetId itself"),
    # replSetReconfig against the current config
    "reconfig.version": ("NewReplicaSetConfigurationIncompatible", "(version, term) increases"),
    "reconfig.set_name": ("InvalidReplicaSetConfig", "the set name never changes"),
    "reconfig.replica_set_id": ("NewReplicaSetConfigurationIncompatible", "replicaSetId never changes"),
    "reconfig.configsvr": ("NewReplicaSetConfigurationIncompatible", "configsvr cannot be dropped"),
    "reconfig.host_id": ("NewReplicaSetConfigurationIncompatible", "a host keeps its member _id"),
    "reconfig.arbiter_flip": ("NewReplicaSetConfigurationIncompatible", "a member cannot become or stop being an arbiter"),
    "reconfig.build_indexes_flip": ("NewReplicaSetConfigurationIncompatible", "buildIndexes cannot change for a member"),
    "reconfig.voting_change": ("NewReplicaSetConfigurationIncompatible", "a non-force reconfig adds or removes at most one voter"),
    "reconfig.psa": ("NewReplicaSetConfigurationIncompatible", "a reconfig to PSA with two electable data members is refused"),
}

# Rules whose outcome depends on the target version (see validate_config's target_version).
VERSION_DEPENDENT_RULES = frozenset(("member.id_range_4_4", "member.delay_field", "members.multiple_arbiters",
                                     "settings.custom_default_write_concern", "settings.default_write_concern_mode",
                                     "settings.default_write_concern_unsatisfiable", "reconfig.psa"))

# Warnings: mongod accepts these, an operator wants to know.
WARNINGS = {
    "settings.unknown_field": ("BadValue", "mongod ignores unknown settings fields"),
    "write_concern.unsatisfiable": ("UnsatisfiableWriteConcern", "a mode needs more distinct tag values than the members have"),
    "members.multiple_arbiters": ("BadValue", "several arbiters weaken w:majority; refused from 5.3 on"),
    "member.delayed_votes": ("BadValue", "a voting delayed member slows w:majority writes"),
    "member.delayed_not_hidden": ("BadValue", "a visible delayed member serves stale reads"),
    "reconfig.implicit_default_write_concern": ("NewReplicaSetConfigurationIncompatible",
                                                "the implicit default write concern would change"),
    "analysis.even_voters": (None, "an even number of voters adds no fault tolerance"),
    "analysis.even_split": (None, "two domains with equal votes: losing either stops elections"),
    "analysis.primary_domain_spof": (None, "losing the preferred primary's domain leaves no majority"),
    "analysis.arbiter_survivor": (None, "after a domain loss only arbiters keep the majority"),
    "analysis.single_domain_electable": (None, "every electable member is in one domain"),
    "analysis.domain_loss_no_primary": (None, "losing one domain leaves the set without a primary"),
    "analysis.untagged": (None, "some members have no domain tag"),
}

_CUSTOM_GLE_DEFAULT_CODES = {"initiate": 5624101, "reconfig": 5624102}


@dataclass
class Finding:
    """One error or warning: where (JSON pointer, member), which rule, mongod's code, and why."""

    path: str
    rule: str
    code: object
    message: str
    member: object = None

    def to_dict(self):
        data = {"path": self.path, "rule": self.rule, "code": self.code, "message": self.message}
        if isinstance(self.code, str):
            data["code_number"] = ERROR_CODES.get(self.code)
        if self.member is not None:
            data["member"] = self.member
        return data

    def __str__(self):
        where = "%s (%s)" % (self.member, self.path) if self.member else (self.path or "/")
        rule = self.rule if self.code is None else "%s, %s" % (self.rule, self.code)
        return "%s: [%s] %s" % (where, rule, self.message)


@dataclass
class ValidationResult:
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    analysis: dict = field(default_factory=dict)

    @property
    def valid(self):
        return not self.errors

    def to_dict(self):
        return {
            "valid": self.valid,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "analysis": self.analysis,
        }


class _Collector:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, rule, path, message, member=None, code=None):
        self.errors.append(Finding(path, rule, code if code is not None else RULES[rule][0], message, member))

    def warn(self, rule, path, message, member=None):
        self.warnings.append(Finding(path, rule, WARNINGS[rule][0], message, member))


def validate_config(config, current=None, target_version="8.0", force=False, initiate=False,
                    domain_key="dc", member_domains=None):
    """Validate `config` as replSetInitiate (initiate=True) or replSetReconfig would.

    current: the live config; enables the transition rules of validateConfigForReconfig.
    force: a forced reconfig (skips the version and single-voter checks, as mongod does).
    domain_key, member_domains: how the fault-domain analysis groups members (the tag
    key, and host -> domain for members that cannot carry tags, such as arbiters).
    Raises ValueError only for an unsupported target_version.
    """
    version = parse_version(target_version)
    if member_domains is not None and not isinstance(member_domains, dict):
        raise ValueError("member_domains must be a mapping of host to domain, got %s" % type(member_domains).__name__)
    doc = to_json_view(config)
    found = _Collector()
    _check_structure(doc, found)
    cfg = ReplSetConfig(doc)
    _check_document(cfg, found)
    counted = cfg
    if current is not None and not force:
        counted = ReplSetConfig(_with_server_newly_added(doc, ReplSetConfig(to_json_view(current))))
    _check_members(cfg, version, found, counted)
    _check_settings(cfg, version, found, "initiate" if initiate or current is None else "reconfig")
    if initiate:
        _check_initiate(cfg, found)
    if current is not None:
        _check_transition(ReplSetConfig(to_json_view(current)), cfg, version, force, found)
    analysis = {}
    if cfg.members:
        analysis = analyse_fault_domains(cfg, domain_key=domain_key, member_domains=member_domains)
        for warning in analysis.pop("warnings", []):
            found.warn(warning["rule"], warning.get("path", ""), warning["message"], warning.get("member"))
    return ValidationResult(errors=found.errors, warnings=found.warnings, analysis=analysis)


# -- structural pass -------------------------------------------------------------------

def _inline_refs(node, defs):
    """The schema with every local "#/$defs/x" reference replaced by its target.

    Same meaning, but jsonschema no longer resolves a reference per member, which makes
    validating a 50-member document several times faster.
    """
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref[len("#/$defs/"):]], defs)
        return dict((k, _inline_refs(v, defs)) for k, v in node.items() if k != "$defs")
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def require_jsonschema():
    """None when jsonschema is importable, else the import error text: the modules that validate
    a config document (rs_validate, rs_config, rs_force_reconfig) fail with missing_required_lib
    instead of a traceback when an invalid document needs jsonschema's explanation."""
    try:
        import jsonschema  # noqa: F401  pylint: disable=unused-import
    except ImportError as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=1)
def _schema_validator():
    import jsonschema  # imported here: module_utils must load without it (see rs_validate)

    schema = _inline_refs(REPLSET_CONFIG_SCHEMA, REPLSET_CONFIG_SCHEMA["$defs"])
    return jsonschema.Draft202012Validator(schema)


def _pointer(parts):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _member_label(doc, parts):
    """The member a JSON path points into, for messages."""
    if len(parts) >= 2 and parts[0] == "members" and isinstance(parts[1], int):
        members = doc.get("members") if isinstance(doc, dict) else None
        if isinstance(members, list) and parts[1] < len(members) and isinstance(members[parts[1]], dict):
            host = members[parts[1]].get("host")
            return host if isinstance(host, str) else "members[%d]" % parts[1]
    return None


@functools.lru_cache(maxsize=1)
def _schema_is_valid():
    return compile_schema(REPLSET_CONFIG_SCHEMA)


def _check_structure(doc, found):
    if _schema_is_valid()(doc):
        return  # the common case; jsonschema only explains failures
    for err in sorted(_schema_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        parts = list(err.absolute_path)
        member = _member_label(doc, parts)
        keyword = err.validator
        where = _pointer(parts) or "/"
        if keyword == "required":
            for name in err.validator_value:
                if not isinstance(err.instance, dict) or name not in err.instance:
                    found.error("schema.required", _pointer(parts + [name]),
                                "required field %r is missing at %s" % (name, where), member)
        elif keyword == "additionalProperties":
            known = err.schema.get("properties", {})
            for name in err.instance:
                if name not in known:
                    found.error("schema.unknown_field", _pointer(parts + [name]),
                                "unknown field %r at %s: mongod refuses it (check the spelling%s)"
                                % (name, where, _delay_hint(name)), member)
        elif keyword == "type":
            if "integer" in _as_tuple(err.validator_value) and is_number(err.instance):
                found.error("schema.integer", where, "%s must be a whole number, got %r" % (where, err.instance), member)
            else:
                found.error("schema.type", where, "%s must be of type %s, got %s"
                            % (where, " or ".join(_as_tuple(err.validator_value)), _bson_type(err.instance)), member)
        elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            found.error("schema.range", where, "%s = %r is out of range (%s)" % (where, err.instance, _range_text(err.schema)), member)
        elif keyword in ("minItems", "maxItems"):
            found.error("schema.count", where, "a replica set has 1 to %d members, got %d" % (MAX_MEMBERS, len(err.instance)))
        elif keyword == "minLength":
            found.error("schema.empty", where, "%s must not be empty" % where, member)
        else:
            found.error("schema.format", where, "%s is not valid: %s" % (where, err.message), member)


def _delay_hint(name):
    if name == "slaveDelay":
        return "; slaveDelay was renamed secondaryDelaySecs in 5.0"
    if name == "secondaryDelaySecs":
        return "; before 5.0 the field is slaveDelay"
    return ""


def _as_tuple(value):
    return tuple(value) if isinstance(value, list) else (value,)


def _bson_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return type(value).__name__


def _range_text(schema):
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    parts = []
    if "minimum" in schema:
        parts.append(">= %s" % low)
    elif "exclusiveMinimum" in schema:
        parts.append("> %s" % low)
    if "maximum" in schema:
        parts.append("<= %s" % high)
    elif "exclusiveMaximum" in schema:
        parts.append("< %s" % high)
    return " and ".join(parts)


# -- semantic pass: ReplSetConfig::validate() and the member parser --------------------

def _check_document(cfg, found):
    if cfg.doc.get("repaired") is True:
        found.error("config.repaired", "/repaired", "this config was written by mongod --repair; "
                    "remove the repaired field only after checking the data on this member")


def _with_server_newly_added(doc, old):
    """The document as replSetReconfig validates it: mongod first marks newlyAdded every
    non-arbiter voter that is new (its _id not in the old config) or still newlyAdded."""
    members = []
    for m in ReplSetConfig(doc).members:
        before = old.member_by_id(m.id)
        if not m.arbiter and m.base_votes > 0 and (before is None or before.newly_added):
            members.append(dict(m.doc, newlyAdded=True))
        else:
            members.append(m.doc)
    return dict(doc, members=members)


def _check_members(cfg, version, found, counted=None):
    """Member and whole-set rules; the voter and electable counts use `counted`, the
    config as mongod sees it after marking new voters newlyAdded (a reconfig)."""
    counted = counted or cfg
    ids, hosts = {}, {}
    for m in cfg.members:
        _check_member(m, version, found)
        if m.id is not None:
            if m.id in ids:
                found.error("member.duplicate_id", m.pointer + "/_id", "_id %d is used by %s and %s"
                            % (m.id, ids[m.id].label, m.label), m.label)
            else:
                ids[m.id] = m
        if m.normalized_host is not None:
            if m.normalized_host in hosts:
                found.error("member.duplicate_host", m.pointer + "/host", "host %s appears twice (members[%d] and members[%d])"
                            % (m.normalized_host, hosts[m.normalized_host].index, m.index), m.label)
            else:
                hosts[m.normalized_host] = m
    _check_horizon_names(cfg, found)
    _check_localhost(cfg, found)
    voters = counted.voters
    if cfg.members and not 1 <= len(voters) <= MAX_VOTING_MEMBERS:
        found.error("members.voters", "/members", "%d members vote; a replica set needs 1 to %d voting members "
                    "(give the others votes: 0 and priority: 0)" % (len(voters), MAX_VOTING_MEMBERS))
    if cfg.members and not any(m.is_electable for m in counted.members):
        found.error("members.electable", "/members", "no member can become primary: at least one "
                    "non-arbiter member needs priority > 0")
    arbiters = [m for m in cfg.members if m.arbiter]
    if len(arbiters) > 1:
        message = "%d arbiters (%s)" % (len(arbiters), ", ".join(m.label for m in arbiters))
        if version >= (5, 3):
            found.error("members.multiple_arbiters", "/members", message + ": mongod 5.3+ refuses more than one "
                        "arbiter unless allowMultipleArbiters is set; use data-bearing members instead")
        else:
            found.warn("members.multiple_arbiters", "/members", message + ": refused from 5.3 on")
    if cfg.configsvr:
        _check_configsvr(cfg, found)


def _check_member(m, version, found):
    doc = m.doc
    priority = doc.get("priority")
    if isinstance(priority, float) and math.isnan(priority):
        found.error("schema.range", m.pointer + "/priority", "%s/priority = NaN is out of range (>= 0 and <= 1000)"
                    % m.pointer, m.label)
    if version < (5, 0) and m.id is not None and m.id > 255:
        found.error("member.id_range_4_4", m.pointer + "/_id", "_id %d: MongoDB 4.4 accepts 0 to 255" % m.id, m.label)
    if m.host is not None:
        try:
            parse_host(m.host)
        except HostParseError as exc:
            found.error("member.host", m.pointer + "/host", "cannot parse host %r: %s" % (m.host, exc), m.label)
    if "newlyAdded" in doc:
        found.error("member.newly_added", m.pointer + "/newlyAdded", "newlyAdded is managed by the primary; remove "
                    "it (copy a config from replSetGetConfig without newlyAdded)", m.label)
    new_field, old_field = ("secondaryDelaySecs", "slaveDelay") if version >= (5, 0) else ("slaveDelay", "secondaryDelaySecs")
    if old_field in doc:
        found.error("member.delay_field", m.pointer + "/" + old_field, "%s is not a member field in MongoDB %d.%d; "
                    "use %s" % (old_field, version[0], version[1], new_field), m.label)
    tags = doc.get("tags")
    if m.arbiter:
        if m.base_votes == 0:
            found.error("member.arbiter_votes", m.pointer + "/votes", "an arbiter must have votes: 1", m.label)
        if isinstance(tags, dict) and tags:
            found.error("member.arbiter_tags", m.pointer + "/tags", "arbiters cannot carry tags; describe the "
                        "arbiter's datacenter outside the config (member_domains)", m.label)
        if m.base_priority != 0:
            found.error("member.arbiter_priority", m.pointer + "/priority", "an arbiter's priority must be 0, got %s"
                        % doc.get("priority"), m.label)
    if m.priority > 0:  # mongod's member checks, which arbiters with a priority fail too
        if m.base_votes == 0:
            found.error("member.priority_non_voter", m.pointer + "/priority",
                        "priority must be 0 when non-voting (votes: 0)", m.label)
        if m.delay > 0:
            found.error("member.priority_delayed", m.pointer + "/priority",
                        "a delayed member (%d s) must have priority 0" % m.delay, m.label)
        if m.hidden:
            found.error("member.priority_hidden", m.pointer + "/priority", "a hidden member must have priority 0", m.label)
        if not m.build_indexes:
            found.error("member.priority_build_indexes", m.pointer + "/priority",
                        "a member with buildIndexes: false must have priority 0", m.label)
    if not m.arbiter and m.delay > 0:
        if m.base_votes > 0:
            found.warn("member.delayed_votes", m.pointer + "/votes", "delayed member (%d s) votes: w:majority writes "
                       "may wait for it; give it votes: 0" % m.delay, m.label)
        if not m.hidden:
            found.warn("member.delayed_not_hidden", m.pointer + "/hidden", "delayed member (%d s) is not hidden: "
                       "clients may read data %d s old from it" % (m.delay, m.delay), m.label)
    _check_horizons(m, found)


def _check_horizons(m, found):
    horizons = m.doc.get("horizons")
    if not isinstance(horizons, dict):
        return
    seen = {}
    own = parse_host(m.host)[0] if m.normalized_host else None
    for name, host in horizons.items():
        path = "%s/horizons/%s" % (m.pointer, name)
        if not name:
            found.error("member.horizons", path, "a horizon name cannot be empty", m.label)
        elif name == "__default":
            found.error("member.horizons", path, "the horizon name __default is reserved", m.label)
        if not isinstance(host, str):
            continue
        try:
            hostname, _port = parse_host(host)
        except HostParseError as exc:
            found.error("member.horizons", path, "cannot parse horizon host %r: %s" % (host, exc), m.label)
            continue
        if hostname == own or hostname in seen:
            found.error("member.horizons", path, "horizon host name %s is used twice in this member" % hostname, m.label)
        seen[hostname] = name
        if _looks_like_ip(hostname):
            found.error("member.horizon_ip", path, "horizon %s uses the IP address %s; horizons route by SNI and "
                        "need host names" % (name, hostname), m.label)


def _looks_like_ip(name):
    if ":" in name:
        return True
    parts = name.split("/")[0].split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def _check_horizon_names(cfg, found):
    with_horizons = [(m, sorted(as_dict(m.doc.get("horizons")))) for m in cfg.members]
    if not any(names for _m, names in with_horizons):
        return
    reference = with_horizons[0][1]
    for m, names in with_horizons[1:]:
        if names != reference:
            found.error("members.horizon_names", m.pointer + "/horizons", "horizons %s differ from members[0]'s %s: "
                        "every member defines the same horizon names" % (names, reference), m.label)
    seen = {}
    for m in cfg.members:
        for host in [m.normalized_host] + [h for h in as_dict(m.doc.get("horizons")).values() if isinstance(h, str)]:
            if host is None:
                continue
            key = normalize_host(host) or host.strip()
            if key in seen and seen[key] is not m:
                found.error("members.horizon_names", m.pointer + "/horizons", "%s is used by %s too"
                            % (key, seen[key].label), m.label)
            seen.setdefault(key, m)


def _check_localhost(cfg, found):
    local, remote = [], []
    for m in cfg.members:
        try:
            name = parse_host(m.host)[0]
        except HostParseError:
            continue
        (local if is_localhost(name) else remote).append(m)
    if local and remote:
        found.error("members.localhost_mix", local[0].pointer + "/host", "%s is a localhost address while %s is not: "
                    "either every member is on localhost or none is" % (local[0].label, remote[0].label), local[0].label)


def _check_configsvr(cfg, found):
    for m in cfg.members:
        if m.arbiter:
            found.error("configsvr.arbiters", m.pointer + "/arbiterOnly", "a config server set has no arbiters", m.label)
        if not m.build_indexes:
            found.error("configsvr.build_indexes", m.pointer + "/buildIndexes", "config server members must build indexes", m.label)
        if m.delay > 0:
            found.error("configsvr.delay", m.pointer, "config server members cannot be delayed", m.label)
    if not safe_bool(cfg.doc.get("writeConcernMajorityJournalDefault"), True):
        found.error("configsvr.journal_default", "/writeConcernMajorityJournalDefault",
                    "a config server set needs writeConcernMajorityJournalDefault: true")


# -- settings --------------------------------------------------------------------------

_KNOWN_SETTINGS = frozenset(REPLSET_CONFIG_SCHEMA["$defs"]["settings"]["properties"])


def _check_settings(cfg, version, found, operation):
    settings = cfg.settings
    for name in settings:
        if name not in _KNOWN_SETTINGS:
            found.warn("settings.unknown_field", "/settings/" + name, "mongod ignores settings.%s (a typo?); known "
                       "fields: %s" % (name, ", ".join(sorted(_KNOWN_SETTINGS))))
    rsid = settings.get("replicaSetId")
    if rsid is not None and replica_set_id_hex(rsid) == "0" * 24:
        found.error("settings.replica_set_id", "/settings/replicaSetId", "replicaSetId cannot be all zeros")
    modes = cfg.write_concern_modes
    _check_default_write_concern(settings.get("getLastErrorDefaults"), modes, version, operation, cfg.members, found)
    _check_write_concern_modes(cfg, modes, found)


def _check_default_write_concern(gle, modes, version, operation, members, found):
    if not isinstance(gle, dict):
        return
    path = "/settings/getLastErrorDefaults"
    w = gle.get("w", 1)
    if is_number(w) and truncate(w, 1) < 1 and not gle.get("j"):
        found.error("settings.default_write_concern", path + "/w", "getLastErrorDefaults must wait for at least "
                    "1 member (w: 0 is refused)")
        return
    customized = not (is_number(w) and truncate(w, 1) == 1) or any(
        gle.get(k) for k in ("j", "fsync")) or truncate(gle.get("wtimeout", 0), 0) != 0
    if version >= (5, 0) and customized:
        found.error("settings.custom_default_write_concern", path, "MongoDB %d.%d refuses a customized "
                    "getLastErrorDefaults (%s); remove it and use setDefaultRWConcern" % (version[0], version[1], gle),
                    code=_CUSTOM_GLE_DEFAULT_CODES[operation])
    elif isinstance(w, str) and w != "majority" and w not in modes:
        found.error("settings.default_write_concern_mode", path + "/w", "getLastErrorDefaults uses mode %r, which "
                    "getLastErrorModes does not define" % w)
    elif version < (5, 0):
        _check_default_write_concern_satisfiable(w, modes, members, path, found)


def _check_default_write_concern_satisfiable(w, modes, members, path, found):
    """Before 5.0, replSetInitiate and replSetReconfig refuse a getLastErrorDefaults the
    members cannot satisfy (checkIfWriteConcernCanBeSatisfied)."""
    data = [m for m in members if not m.arbiter]
    if is_number(w) and truncate(w, 1) > len(data):
        found.error("settings.default_write_concern_unsatisfiable", path + "/w", "getLastErrorDefaults w: %s needs "
                    "%d data-bearing members, the config has %d" % (w, truncate(w, 1), len(data)))
    elif isinstance(w, str) and w in modes and isinstance(modes[w], dict):
        for key, count in modes[w].items():
            values = tag_values(data, key)
            if is_number(count) and truncate(count, 0) > len(values):
                found.error("settings.default_write_concern_unsatisfiable", path + "/w", "getLastErrorDefaults uses "
                            "mode %r, which needs %d distinct %r values; the members have %d"
                            % (w, truncate(count, 0), key, len(values)))


def _check_write_concern_modes(cfg, modes, found):
    carried = set(key for m in cfg.members for key in m.tags)
    for mode, constraints in modes.items():
        if not isinstance(constraints, dict):
            continue
        for key, count in constraints.items():
            path = "/settings/getLastErrorModes/%s/%s" % (mode, key)
            if not is_number(count):
                continue  # the schema pass reported it
            if truncate(count, 0) <= 0:
                found.error("settings.write_concern_mode_count", path, "mode %s: %s: %r must be a positive integer "
                            "(mongod reads %d)" % (mode, key, count, truncate(count, 0)))
            elif key not in carried:
                found.error("settings.write_concern_mode_tag", path, "mode %s counts tag %r, which no member carries"
                            % (mode, key))
            elif truncate(count, 0) > len(tag_values(cfg.members, key)):
                values = sorted(tag_values(cfg.members, key))
                found.warn("write_concern.unsatisfiable", path, "mode %s needs %d distinct %r values but members "
                           "have %d (%s): writes with w: %r can never be acknowledged"
                           % (mode, truncate(count, 0), key, len(values), ", ".join(values), mode))


# -- replSetInitiate -------------------------------------------------------------------

def _check_initiate(cfg, found):
    if cfg.version is not None and cfg.version != 1:
        found.error("initiate.version", "/version", "replSetInitiate needs version 1, got %d" % cfg.version)
    if "replicaSetId" in cfg.settings:
        found.error("initiate.replica_set_id", "/settings/replicaSetId", "replSetInitiate generates the "
                    "replicaSetId; remove it from the document")


# -- replSetReconfig: validateConfigForReconfig(old, new, force) -----------------------

def _check_transition(old, new, version, force, found):
    # replSetReconfig ignores the document's term (it uses the node's current term), so with
    # the term equal on both sides only the version decides; force picks its own version.
    if not force and new.version is not None and old.version is not None and new.version <= old.version:
        found.error("reconfig.version", "/version", "the new config must have a higher version than the current one "
                    "(%d); got %d" % (old.version, new.version))
    if old.name is not None and new.name is not None and old.name != new.name:
        found.error("reconfig.set_name", "/_id", "the set name cannot change (%r -> %r)" % (old.name, new.name))
    old_rsid = replica_set_id_hex(old.settings.get("replicaSetId"))
    new_rsid = replica_set_id_hex(new.settings.get("replicaSetId"))
    if old_rsid and new_rsid and old_rsid != new_rsid:
        found.error("reconfig.replica_set_id", "/settings/replicaSetId", "replicaSetId cannot change (%s -> %s)"
                    % (old_rsid, new_rsid))
    if old.configsvr and not new.configsvr:
        found.error("reconfig.configsvr", "/configsvr", "configsvr: true cannot be removed")
    for m in new.members:
        before = old.member_by_host(m.host) if m.normalized_host else None
        if before is not None and m.id is not None and before.id != m.id:
            found.error("reconfig.host_id", m.pointer + "/_id", "%s has _id %s in the current config; a host keeps its "
                        "_id (remove it and add it back in two reconfigs to renumber)" % (m.label, before.id), m.label)
        same = old.member_by_id(m.id)
        if same is not None:  # mongod compares every pair with the same _id, even when the host moved
            if same.arbiter != m.arbiter:
                found.error("reconfig.arbiter_flip", m.pointer + "/arbiterOnly", "%s cannot %s an arbiter in place: "
                            "remove it, then add it back with a new _id" % (m.label, "become" if m.arbiter else "stop being"),
                            m.label)
            if same.build_indexes != m.build_indexes:
                found.error("reconfig.build_indexes_flip", m.pointer + "/buildIndexes", "buildIndexes cannot change for "
                            "%s: remove it, then add it back with a new _id" % m.label, m.label)
    if not force:
        _check_single_voter_change(old, new, found)
    if version >= (5, 0):
        _check_psa(old, new, found)
        _check_implicit_default_write_concern(old, new, found)


def _voting_ids_after_reconfig(old, new):
    """Voters of `new` as mongod counts them after it has marked new voters newlyAdded."""
    voters = set()
    for m in new.members:
        if not m.is_voter or m.id is None:
            continue
        before = old.member_by_id(m.id)
        if not m.arbiter and (before is None or before.newly_added):
            continue  # mongod adds newlyAdded: a non-voter until its initial sync ends
        voters.add(m.id)
    return voters


def _check_single_voter_change(old, new, found):
    before = set(m.id for m in old.voters if m.id is not None)
    after = _voting_ids_after_reconfig(old, new)
    changed = sorted(before.symmetric_difference(after))
    if len(changed) > 1:
        labels = []
        for member_id in changed:
            m = new.member_by_id(member_id) or old.member_by_id(member_id)
            labels.append("%s (_id %s, %s)" % (m.label, member_id, "gains a vote" if member_id in after else "loses its vote"))
        found.error("reconfig.voting_change", "/members", "a non-force reconfig can add or remove at most 1 voting "
                    "member; this one changes %d: %s. Split it into one reconfig per voter (quorum.mongodb.rs_config "
                    "plans that)" % (len(changed), "; ".join(labels)))


def _is_psa(cfg):
    data = [m for m in cfg.members if not m.arbiter]
    return len(cfg.members) == 3 and len(data) == 2


def _check_psa(old, new, found):
    writable_voters = len([m for m in old.members if m.base_votes > 0 and not m.arbiter])
    old_majority = len([m for m in old.members if m.base_votes > 0]) // 2 + 1
    electable = [m for m in new.members if m.base_priority > 0 and not m.arbiter]
    if old_majority > writable_voters and _is_psa(new) and len(electable) > 1:
        found.error("reconfig.psa", "/members", "rejecting a reconfig to a PSA topology with %d electable data "
                    "members while the current config cannot commit majority writes; first reconfig with the new "
                    "secondary at votes: 0, priority: 0, then give it its vote and priority" % len(electable))


def _implicit_default_is_w1(cfg):
    arbiters = len([m for m in cfg.voters if m.arbiter])
    return arbiters > 0 and len([m for m in cfg.voters if not m.arbiter]) <= cfg.majority_vote_count


def _check_implicit_default_write_concern(old, new, found):
    if old.members and _implicit_default_is_w1(old) != _implicit_default_is_w1(new):
        shown = dict([(True, "{w: 1}"), (False, "{w: 'majority'}")])
        found.warn("reconfig.implicit_default_write_concern", "/members", "this reconfig changes the implicit default "
                   "write concern from %s to %s; mongod 5.0+ refuses it unless a cluster-wide default was set with "
                   "setDefaultRWConcern" % (shown[_implicit_default_is_w1(old)], shown[_implicit_default_is_w1(new)]))
