# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schemas (2020-12) of the replica set configuration document and of the
inventory variables that describe a desired topology.

These dictionaries are the source of truth; schemas/*.json at the root of the
collection are the same documents for editors and CI (a unit test keeps them
identical). Modules run on hosts where that folder does not exist, hence the copy
in code.

Numbers: mongod parses most integer fields with "safe" IDL types that truncate a
double towards zero (votes 1.9 is 1), while version, term and the settings
durations must be integral ("smallExactInt64"). The ranges below are written so
that a value passes exactly when mongod's parser would accept it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_SAFE_BOOL = {
    "type": ["boolean", "number"],
    "description": "A boolean; mongod also accepts a number (0 is false, anything else true).",
}

_MEMBER = {
    "title": "Replica set member",
    "description": "One member of members[]. mongod parses this document strictly: an unknown field is refused (code 40415).",
    "type": "object",
    "required": ["_id", "host"],
    "additionalProperties": False,
    "properties": {
        "_id": {
            "title": "Member id",
            "description": "Identifies the member across reconfigurations; never changes for a host. "
                           "mongod truncates a double and refuses a negative value; 4.4 also refuses values above 255.",
            "type": "number",
            "exclusiveMinimum": -1,
            "examples": [0, 1, 2],
        },
        "host": {
            "title": "Host and port",
            "description": "hostname:port (IPv6 as [addr]:port). Without a port, 27017 is meant.",
            "type": "string",
            "examples": ["ny1.example.net:27017"],
        },
        "arbiterOnly": dict(_SAFE_BOOL, title="Arbiter", description="An arbiter votes but holds no data. It cannot carry tags."),
        "buildIndexes": dict(_SAFE_BOOL, title="Build indexes", description="false only on priority-0 members; cannot change for an existing member."),
        "hidden": dict(_SAFE_BOOL, title="Hidden", description="Invisible to clients (not in hello.hosts); requires priority 0."),
        "priority": {
            "title": "Priority",
            "description": "Relative eligibility to become primary; 0 means never primary.",
            "type": "number",
            "minimum": 0,
            "maximum": 1000,
            "examples": [1, 2, 0.5, 0],
        },
        "votes": {
            "title": "Votes",
            "description": "1 or 0 (a double is truncated). At most 7 members vote.",
            "type": "number",
            "exclusiveMinimum": -1,
            "exclusiveMaximum": 2,
            "examples": [1, 0],
        },
        "secondaryDelaySecs": {
            "title": "Secondary delay (5.0+)",
            "description": "Seconds this member stays behind the primary; requires priority 0.",
            "type": "number",
            "exclusiveMinimum": -1,
            "exclusiveMaximum": 31622401,
            "examples": [3600],
        },
        "slaveDelay": {
            "title": "Secondary delay (4.4 and older)",
            "description": "The name of secondaryDelaySecs before MongoDB 5.0.",
            "type": "number",
            "exclusiveMinimum": -1,
            "exclusiveMaximum": 31622401,
            "deprecated": True,
        },
        "tags": {
            "title": "Tags",
            "description": "Free-form string pairs used by read preferences and getLastErrorModes, e.g. {dc: ny, rack: a}.",
            "type": "object",
            "additionalProperties": {"type": "string"},
            "examples": [{"dc": "ny", "rack": "a"}],
        },
        "horizons": {
            "title": "Split horizons",
            "description": "Horizon name to host:port seen from that network.",
            "type": "object",
            "additionalProperties": {"type": "string"},
        },
        "newlyAdded": {
            "title": "Newly added (server-managed)",
            "description": "Set by the primary on new voters until their initial sync ends; a client may not set it.",
            "type": "boolean",
        },
    },
}

_SETTINGS = {
    "title": "Settings",
    "description": "Set-wide options. mongod ignores unknown fields here (the validator warns about them).",
    "type": "object",
    "properties": {
        "chainingAllowed": dict(_SAFE_BOOL, title="Chaining allowed", description="Secondaries may sync from other secondaries."),
        "heartbeatIntervalMillis": {"type": "integer", "minimum": 1, "title": "Heartbeat interval (ms)", "examples": [2000]},
        "heartbeatTimeoutSecs": {"type": "integer", "minimum": 1, "title": "Heartbeat timeout (s)", "examples": [10]},
        "electionTimeoutMillis": {"type": "integer", "minimum": 1, "title": "Election timeout (ms)", "examples": [10000]},
        "catchUpTimeoutMillis": {
            "type": "integer", "minimum": -1, "title": "Catch-up timeout (ms)",
            "description": "-1 waits forever, 0 disables catch-up.", "examples": [-1],
        },
        "catchUpTakeoverDelayMillis": {"type": "integer", "minimum": -1, "title": "Catch-up takeover delay (ms)", "examples": [30000]},
        "getLastErrorModes": {
            "title": "Write concern modes",
            "description": "Mode name to {tag key: number of distinct tag values}, e.g. multiDC: {dc: 2}.",
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "number"},
            },
            "examples": [{"multiDC": {"dc": 2}}],
        },
        "getLastErrorDefaults": {
            "title": "Default write concern (legacy)",
            "description": "From 5.0 only {w: 1, wtimeout: 0} is accepted; use setDefaultRWConcern instead. "
                           "Parsed strictly, as a write concern.",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "w": {"type": ["number", "string", "object"]},
                "j": _SAFE_BOOL,
                "fsync": _SAFE_BOOL,
                "wtimeout": {"type": "number"},
                "wElectionId": {},
                "wOpTime": {},
                "getLastError": {},
                "provenance": {"type": "string"},
            },
        },
        "replicaSetId": {
            "title": "Replica set id",
            "description": "Generated by replSetInitiate; never changes. Extended JSON {$oid: hex}.",
            "type": "object",
            "required": ["$oid"],
            "additionalProperties": False,
            "properties": {"$oid": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}},
        },
    },
}

REPLSET_CONFIG_SCHEMA = {
    "$schema": SCHEMA_DIALECT,
    "$id": "urn:quorum.mongodb:schema:replset_config",
    "title": "MongoDB replica set configuration document",
    "description": "The document replSetInitiate and replSetReconfig accept (MongoDB 4.4 to 8.0). "
                   "Structure only: quorum.mongodb's validator adds every semantic rule mongod applies.",
    "type": "object",
    "required": ["_id", "version", "members"],
    "additionalProperties": False,
    "properties": {
        "_id": {
            "title": "Replica set name", "description": "Equal to --replSet / replication.replSetName.",
            "type": "string", "minLength": 1, "examples": ["rs0"],
        },
        "version": {
            "title": "Config version", "description": "Increases with every reconfig; 1 at initiate.",
            "type": "integer", "minimum": 1, "maximum": 2147483647,
        },
        "term": {
            "title": "Config term", "description": "Term of the primary that wrote this config; -1 after a forced reconfig.",
            "type": "integer", "minimum": -1, "maximum": 2147483647,
        },
        "protocolVersion": {"title": "Protocol version", "description": "Only 1 is supported.", "type": "number", "minimum": 1, "exclusiveMaximum": 2},
        "writeConcernMajorityJournalDefault": dict(_SAFE_BOOL, title="w:majority implies j:true"),
        "configsvr": {"title": "Config server replica set", "type": "boolean"},
        "members": {
            "title": "Members", "description": "1 to 50 members, at most 7 of them voting.",
            "type": "array", "minItems": 1, "maxItems": 50, "items": {"$ref": "#/$defs/member"},
        },
        "settings": {"$ref": "#/$defs/settings"},
        "repaired": {
            "title": "Repaired (refused)", "description": "Set by --repair on a member; such a config is refused.",
            "type": "boolean",
        },
        "recipientConfig": {"title": "Shard split recipient config (internal)", "description": "Ignored by mongod."},
    },
    "$defs": {"member": _MEMBER, "settings": _SETTINGS},
    "examples": [
        {
            "_id": "rs0",
            "version": 1,
            "members": [
                {"_id": 0, "host": "ny1.example.net:27017", "priority": 2, "tags": {"dc": "ny"}},
                {"_id": 1, "host": "ny2.example.net:27017", "priority": 2, "tags": {"dc": "ny"}},
                {"_id": 2, "host": "fr1.example.net:27017", "priority": 1, "tags": {"dc": "fr"}},
            ],
            "settings": {"getLastErrorModes": {"multiDC": {"dc": 2}}},
        }
    ],
}

_HOST_VARS = {
    "title": "Member variables (host_vars or group_vars)",
    "type": "object",
    "properties": {
        "mongodb_replset_name": {"type": "string", "minLength": 1, "description": "The set this host belongs to."},
        "mongodb_host": {"type": "string", "minLength": 1, "description": "Address other members and clients use; default inventory_hostname."},
        "mongodb_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 27017},
        "mongodb_member_id": {"type": "integer", "minimum": 0, "description": "Pin the member _id (otherwise kept from the live config or assigned)."},
        "mongodb_datacenter": {"type": "string", "minLength": 1, "description": "Becomes the dc tag (the fault domain)."},
        "mongodb_rack": {"type": "string", "minLength": 1, "description": "Becomes the rack tag."},
        "mongodb_priority": {"type": "number", "minimum": 0, "maximum": 1000},
        "mongodb_votes": {"type": "integer", "minimum": 0, "maximum": 1},
        "mongodb_arbiter": {"type": "boolean", "default": False},
        "mongodb_hidden": {"type": "boolean", "default": False},
        "mongodb_secondary_delay_secs": {"type": "integer", "minimum": 0, "maximum": 31622400},
        "mongodb_build_indexes": {"type": "boolean", "default": True},
        "mongodb_tags": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Extra tags, e.g. {rackNY: A}."},
    },
}

TOPOLOGY_SCHEMA = {
    "$schema": SCHEMA_DIALECT,
    "$id": "urn:quorum.mongodb:schema:topology",
    "title": "quorum.mongodb desired topology",
    "description": "The inventory variables quorum.mongodb.rs_desired_config turns into a replica set "
                   "configuration document: one entry per member (its host_vars) plus set-level settings.",
    "type": "object",
    "required": ["members"],
    "additionalProperties": False,
    "properties": {
        "replset_name": {"type": "string", "minLength": 1, "examples": ["rs0"]},
        "members": {"type": "array", "minItems": 1, "maxItems": 50, "items": {"$ref": "#/$defs/member"}},
        "settings": {
            "type": "object",
            "description": "Copied into the config document's settings (mongod's field names).",
        },
        "write_concern_modes": {
            "description": "getLastErrorModes to set, or 'auto' to derive multiDC/multiRack from the dc and rack tags.",
            "oneOf": [
                {"const": "auto"},
                {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}},
            ],
        },
        "target_version": {"enum": ["4.4", "5.0", "6.0", "7.0", "8.0"], "default": "8.0"},
    },
    "$defs": {"member": _HOST_VARS},
    "examples": [
        {
            "replset_name": "rs0",
            "members": [
                {"mongodb_host": "ny1.example.net", "mongodb_datacenter": "ny", "mongodb_priority": 2},
                {"mongodb_host": "ny2.example.net", "mongodb_datacenter": "ny", "mongodb_priority": 2},
                {"mongodb_host": "fr1.example.net", "mongodb_datacenter": "fr"},
            ],
            "write_concern_modes": "auto",
        }
    ],
}

SCHEMAS = {
    "replset_config.schema.json": REPLSET_CONFIG_SCHEMA,
    "topology.schema.json": TOPOLOGY_SCHEMA,
}
