"""Replica set state as far as part 1 needs it: topology version (for awaitable hello),
the hello fields of a standalone / uninitialised / single-node member, replSetInitiate of
a one-member set, the oplog (local.oplog.rs) and retryable-write history.

Part 2 (elections, heartbeats, replication between processes) grows from here.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import time
import uuid as _uuid
from typing import TYPE_CHECKING, Any

from bson import Binary, Int64, ObjectId, Timestamp

from mongoemu.errors import MongoError

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.server import Server

OPLOG_NS = "local.oplog.rs"
REPLSET_CONFIG_NS = "local.system.replset"

STATE_STARTUP = 0
STATE_PRIMARY = 1
STATE_SECONDARY = 2
STATE_REMOVED = 10
STATE_NAMES = {0: "STARTUP", 1: "PRIMARY", 2: "SECONDARY", 3: "RECOVERING", 5: "STARTUP2",
               6: "UNKNOWN", 7: "ARBITER", 8: "DOWN", 9: "ROLLBACK", 10: "REMOVED"}


def _now() -> _dt.datetime:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class ReplicationCoordinator:
    def __init__(self, server: "Server") -> None:
        self.server = server
        self.set_name: str | None = server.config.repl_set
        self.process_id = ObjectId()
        self.counter = 0
        self._changed = asyncio.Event()
        self.config: dict[str, Any] | None = None
        self.state = STATE_STARTUP
        self.term = 0
        self.election_id: ObjectId | None = None
        self._last_ts = (0, 0)
        self.last_applied: dict[str, Any] = {"ts": Timestamp(0, 0), "t": Int64(-1)}
        self.election_date: _dt.datetime | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self.set_name is not None

    def load(self) -> None:
        if not self.enabled:
            return
        storage = self.server.storage
        found = storage.find_by_id(REPLSET_CONFIG_NS, self.set_name)
        if found is None:
            return
        self.config = found[1]
        self.term = int((storage.get_meta("replTerm") or {}).get("t", 0))
        last = storage.get_meta("lastApplied")
        if last:
            self.last_applied = last
            self._last_ts = (last["ts"].time, last["ts"].inc)
        if self._self_member() is not None and len(self.config.get("members", [])) == 1:
            self._become_primary()
        else:
            self.state = STATE_REMOVED if self._self_member() is None else STATE_SECONDARY

    def _bump(self) -> None:
        self.counter += 1
        old = self._changed
        self._changed = asyncio.Event()
        old.set()

    def topology_version(self) -> dict[str, Any]:
        return {"processId": self.process_id, "counter": Int64(self.counter)}

    async def wait_topology_change(self, tv: Any, max_await_ms: int) -> None:
        """Awaitable hello: return when the topology changes or the time is up."""
        if not isinstance(tv, dict) or tv.get("processId") != self.process_id:
            return
        if int(tv.get("counter", -1)) != self.counter:
            return
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0, max_await_ms) / 1000.0)
        except asyncio.TimeoutError:
            pass

    def notify_shutdown(self) -> None:
        self._bump()

    # -- state --------------------------------------------------------------------------------

    @property
    def is_writable_primary(self) -> bool:
        return not self.enabled or self.state == STATE_PRIMARY

    def check_writable(self, db: str) -> None:
        if db == "local" or self.is_writable_primary:
            return
        raise MongoError(10107, "not primary")

    def check_readable(self, db: str, secondary_ok: bool) -> None:
        if db == "local" or self.is_writable_primary:
            return
        if self.state == STATE_SECONDARY and secondary_ok:
            return
        if not secondary_ok:
            raise MongoError(13435, "not primary and secondaryOk=false")
        raise MongoError(13436, "node is not in primary or recovering state")

    def _members(self) -> list[dict[str, Any]]:
        return list((self.config or {}).get("members", []))

    def _self_member(self) -> dict[str, Any] | None:
        for m in self._members():
            if self.server.is_self_host(str(m.get("host", ""))):
                return m
        return None

    def _become_primary(self) -> None:
        log = self.server.logger
        log.info("ELECTION", 4615652, "ReplCoord-0", "Starting an election, since we've seen "
                 "no PRIMARY in election timeout period", electionTimeoutPeriodMillis=10000)
        log.info("ELECTION", 21438, "ReplCoord-0", "Conducting a dry run election to see if "
                 "we could be elected", currentTerm=self.term)
        log.info("ELECTION", 21450, "ReplCoord-0", "Election succeeded, assuming primary "
                 "role", term=self.term + 1)
        log.info("REPL", 21358, "ReplCoord-0", "Replica set state transition",
                 newState="PRIMARY", oldState=STATE_NAMES.get(self.state, "STARTUP"))
        self.term += 1
        self.server.storage.set_meta("replTerm", {"t": self.term})
        self.state = STATE_PRIMARY
        self.election_id = ObjectId(f"7fffffff{self.term:016x}")
        self.election_date = _now()
        self.log_noop("new primary")
        self.server.logger.info("REPL", 21331, "ReplCoord-0", "Transition to primary complete; "
                                "database writes are now permitted")
        self._bump()

    def hello_fields(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        if self.config is None:
            return {"isWritablePrimary": False, "secondary": False,
                    "info": "Does not have a valid replica set config", "isreplicaset": True}
        me = self._self_member()
        hosts = [m["host"] for m in self._members()
                 if not m.get("arbiterOnly") and not m.get("hidden")
                 and m.get("priority", 1) != 0]
        passives = [m["host"] for m in self._members()
                    if not m.get("arbiterOnly") and not m.get("hidden")
                    and m.get("priority", 1) == 0]
        arbiters = [m["host"] for m in self._members() if m.get("arbiterOnly")]
        fields: dict[str, Any] = {"hosts": hosts}
        if passives:
            fields["passives"] = passives
        if arbiters:
            fields["arbiters"] = arbiters
        fields.update({"setName": self.set_name, "setVersion": self.config.get("version", 1),
                       "isWritablePrimary": self.state == STATE_PRIMARY,
                       "secondary": self.state == STATE_SECONDARY})
        if self.state == STATE_PRIMARY and me is not None:
            fields["primary"] = me["host"]
        if me is not None:
            fields["me"] = me["host"]
            if me.get("tags"):
                fields["tags"] = me["tags"]
        if self.election_id is not None and self.state == STATE_PRIMARY:
            fields["electionId"] = self.election_id
        optime = {"ts": self.last_applied["ts"], "t": Int64(self.last_applied["t"])}
        wall = self.last_applied.get("wall", _now())
        fields["lastWrite"] = {"opTime": optime, "lastWriteDate": wall,
                               "majorityOpTime": optime, "majorityWriteDate": wall}
        return fields

    # -- oplog ----------------------------------------------------------------------------------

    def next_timestamp(self) -> Timestamp:
        secs = int(time.time())
        last_secs, last_inc = self._last_ts
        if secs > last_secs:
            self._last_ts = (secs, 1)
        else:
            self._last_ts = (last_secs, last_inc + 1)
        return Timestamp(*self._last_ts)

    def _oplog_options(self) -> dict[str, Any]:
        size_mb = self.server.config.oplog_size_mb or 990
        return {"capped": True, "size": int(size_mb * 1024 * 1024)}

    def log_op(self, op: str, ns: str, o: dict[str, Any], o2: dict[str, Any] | None = None,
               ui: Binary | None = None) -> None:
        """Append an oplog entry (only for an initiated replica set member)."""
        if not self.enabled or self.config is None or ns.startswith("local."):
            return
        storage = self.server.storage
        if storage.get(OPLOG_NS) is None:
            storage.create_collection(OPLOG_NS, self._oplog_options(), id_index=False)
        ts = self.next_timestamp()
        entry: dict[str, Any] = {"op": op, "ns": ns}
        if ui is not None:
            entry["ui"] = ui
        entry["o"] = o
        if o2 is not None:
            entry["o2"] = o2
        wall = _now()
        entry.update({"ts": ts, "t": Int64(self.term), "v": Int64(2), "wall": wall})
        storage.insert(OPLOG_NS, entry)
        self.last_applied = {"ts": ts, "t": Int64(self.term), "wall": wall}
        storage.set_meta("lastApplied", self.last_applied)

    def log_noop(self, msg: str) -> None:
        self.log_op("n", "", {"msg": msg})

    # -- commands ---------------------------------------------------------------------------------

    def initiate(self, config: dict[str, Any] | None) -> None:
        if not self.enabled:
            raise MongoError(76, "This node was not started with replication enabled.")
        if self.config is not None:
            raise MongoError(23, "already initialized")
        if config is None:
            host = f"{self.server.advertised_host()}:{self.server.config.port}"
            config = {"_id": self.set_name, "version": 1,
                      "members": [{"_id": 0, "host": host}]}
        if not isinstance(config, dict):
            raise MongoError(14, "no configuration specified")
        if config.get("_id") != self.set_name:
            raise MongoError(93, f"Attempting to initiate a replica set with name "
                                 f"{config.get('_id')}, but command line reports "
                                 f"{self.set_name}; rejecting")
        members = config.get("members")
        if not isinstance(members, list):
            raise MongoError(14, "BSON field 'members' is the wrong type, expected type "
                                 "'array'")
        if not members or len(members) > 50:
            raise MongoError(2, f"Replica set configuration contains {len(members)} members, "
                                "but must have at least 1 and no more than 50")
        if config.get("settings", {}).get("replicaSetId") is not None:
            raise MongoError(93, "replica set configuration cannot contain 'replicaSetId' "
                                 "\"settings\" field when called from replSetInitiate")
        version = config.get("version", 1)
        if version != 1:
            raise MongoError(103, f"Invalid replica set config version {version}; must be 1 "
                                  "when initiating")
        normalized = []
        for m in members:
            if not isinstance(m, dict):
                raise MongoError(14, "Expected type object for member")
            host = str(m.get("host", ""))
            if ":" not in host:
                host = f"{host}:27017"
            normalized.append({"_id": m.get("_id"), "host": host,
                               "arbiterOnly": bool(m.get("arbiterOnly", False)),
                               "buildIndexes": bool(m.get("buildIndexes", True)),
                               "hidden": bool(m.get("hidden", False)),
                               "priority": float(m.get("priority", 1.0)),
                               "tags": dict(m.get("tags", {})),
                               "secondaryDelaySecs": Int64(m.get("secondaryDelaySecs", 0)),
                               "votes": int(m.get("votes", 1))})
        selves = [m for m in normalized if self.server.is_self_host(m["host"])]
        if not selves:
            raise MongoError(74, "No host described in new configuration with "
                                 f"{{version: 1, term: 0}} for replica set {self.set_name} "
                                 "maps to this node")
        if len(selves) > 1:
            raise MongoError(93, "Found two member configurations for same node")
        others = [m for m in normalized if m is not selves[0]]
        if others:
            raise MongoError(74, "replSetInitiate quorum check failed because not all proposed "
                                 "set members responded affirmatively: " +
                                 ", ".join(f"{m['host']} failed with mongoemu part 1 runs "
                                           "single-member sets only" for m in others))
        settings = dict(config.get("settings", {}))
        settings.setdefault("chainingAllowed", True)
        settings.setdefault("heartbeatIntervalMillis", 2000)
        settings.setdefault("heartbeatTimeoutSecs", 10)
        settings.setdefault("electionTimeoutMillis", 10000)
        settings.setdefault("catchUpTimeoutMillis", -1)
        settings.setdefault("catchUpTakeoverDelayMillis", 30000)
        settings.setdefault("getLastErrorModes", {})
        settings.setdefault("getLastErrorDefaults", {"w": 1, "wtimeout": 0})
        settings["replicaSetId"] = ObjectId()
        full = {"_id": self.set_name, "version": 1, "term": 1,
                "members": normalized, "protocolVersion": Int64(1),
                "writeConcernMajorityJournalDefault": True, "settings": settings}
        storage = self.server.storage
        with storage.transaction(journal=True):
            if storage.get(OPLOG_NS) is None:
                storage.create_collection(OPLOG_NS, self._oplog_options(), id_index=False)
            storage.insert(REPLSET_CONFIG_NS, full)
        self.config = full
        self.server.logger.info("REPL", 21356, "conn", "replSetInitiate admin command received "
                                "from client")
        self.log_noop("initiating set")
        self._become_primary()

    def get_config(self) -> dict[str, Any]:
        if not self.enabled:
            raise MongoError(76, "not running with --replSet")
        if self.config is None:
            raise MongoError(94, "no replset config has been received")
        cfg = dict(self.config)
        cfg["term"] = self.term
        return cfg

    def status(self) -> dict[str, Any]:
        if not self.enabled:
            raise MongoError(76, "not running with --replSet")
        if self.config is None:
            raise MongoError(94, "no replset config has been received")
        now = _now()
        optime = {"ts": self.last_applied["ts"], "t": Int64(self.last_applied["t"])}
        wall = self.last_applied.get("wall", now)
        members = []
        for m in self._members():
            is_self = self.server.is_self_host(m["host"])
            members.append({"_id": m["_id"], "name": m["host"], "health": 1.0,
                            "state": self.state if is_self else 8,
                            "stateStr": STATE_NAMES[self.state if is_self else 8],
                            "uptime": int(self.server.uptime()),
                            "optime": optime, "optimeDate": wall,
                            "lastAppliedWallTime": wall, "lastDurableWallTime": wall,
                            "syncSourceHost": "", "syncSourceId": -1, "infoMessage": "",
                            "electionTime": self.last_applied["ts"],
                            "electionDate": self.election_date or now,
                            "configVersion": self.config.get("version", 1),
                            "configTerm": self.term, "self": is_self, "lastHeartbeatMessage": ""})
        voters = sum(1 for m in self._members() if m.get("votes", 1))
        majority = voters // 2 + 1
        return {"set": self.set_name, "date": now, "myState": self.state, "term": Int64(self.term),
                "syncSourceHost": "", "syncSourceId": -1,
                "heartbeatIntervalMillis": Int64(self.config["settings"].get(
                    "heartbeatIntervalMillis", 2000)),
                "majorityVoteCount": majority, "writeMajorityCount": majority,
                "votingMembersCount": voters, "writableVotingMembersCount": voters,
                "optimes": {"lastCommittedOpTime": optime, "lastCommittedWallTime": wall,
                            "readConcernMajorityOpTime": optime, "appliedOpTime": optime,
                            "durableOpTime": optime, "lastAppliedWallTime": wall,
                            "lastDurableWallTime": wall},
                "members": members}


def new_lsid_key(lsid: Any) -> bytes:
    if isinstance(lsid, dict) and isinstance(lsid.get("id"), (Binary, bytes)):
        return bytes(lsid["id"])
    return _uuid.uuid4().bytes
