"""Replica set state of one process: topology version (for awaitable hello), the hello fields,
replSetInitiate, replSetReconfig (force and non-force), replSetStepDown and replSetResizeOplog
for a set whose only reachable member is this process, the oplog (local.oplog.rs) and
retryable-write history. Config documents are parsed and checked by rsconfig.py.

Elections between processes, heartbeats and replication grow from here.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import os
import secrets
import socket
import time
import uuid as _uuid
from typing import TYPE_CHECKING, Any

from bson import Binary, Int64, ObjectId, Timestamp

from mongoemu import rsconfig as rsc
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
        self._config_busy = False          # initiating or reconfiguring
        self.stepping_down = False         # a replSetStepDown is waiting: writes are refused
        self.stepdown_until: float | None = None  # monotonic end of the stepdown period
        self._liveness_timer: asyncio.TimerHandle | None = None
        self.min_retention_hours = float(getattr(server.config, "oplog_min_retention_hours",
                                                 0.0) or 0.0)
        server.storage.cap_guards[OPLOG_NS] = self._oplog_entry_removable

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
        if self._can_win_alone():
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
        return not self.enabled or (self.state == STATE_PRIMARY and not self.stepping_down)

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
        if self.config is not None and rsc.term_of(self.config) != self.term:
            # the step-up reconfig (doOptimizedReconfig): the config takes the new term
            cfg = dict(self.config)
            members = cfg.pop("members")
            head = {"_id": cfg.pop("_id"), "version": cfg.pop("version")}
            cfg.pop("term", None)
            self.config = {**head, "term": self.term, "members": members, **cfg}
            self._persist_config(self.config)
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
        # TopologyCoordinator::fillHelloForReplSet: hidden and delayed members are left out
        listed = [m for m in self._members()
                  if not m.get("hidden") and not int(m.get("secondaryDelaySecs", 0))]
        hosts = [m["host"] for m in listed if rsc.is_electable(m)]
        passives = [m["host"] for m in listed
                    if not rsc.is_electable(m) and not rsc.is_arbiter(m)]
        arbiters = [m["host"] for m in listed if rsc.is_arbiter(m)]
        fields: dict[str, Any] = {"hosts": hosts}
        if passives:
            fields["passives"] = passives
        if arbiters:
            fields["arbiters"] = arbiters
        fields.update({"setName": self.set_name, "setVersion": self.config.get("version", 1),
                       "isWritablePrimary": self.is_writable_primary,
                       "secondary": self.state == STATE_SECONDARY})
        if self.state == STATE_PRIMARY and me is not None:
            fields["primary"] = me["host"]
        if me is not None:
            fields["me"] = me["host"]
            if rsc.is_arbiter(me):
                fields["arbiterOnly"] = True
            elif rsc.priority(me) == 0:
                fields["passive"] = True
            if me.get("hidden"):
                fields["hidden"] = True
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

    def initiate_default_config(self) -> dict[str, Any]:
        host = f"{self.server.advertised_host()}:{self.server.config.port}"
        return {"_id": self.set_name, "version": 1, "members": [{"_id": 0, "host": host}]}

    async def initiate(self, config: dict[str, Any]) -> None:
        """processReplSetInitiate (replication_coordinator_impl.cpp): parse errors and every
        validateConfigForInitiate failure are InvalidReplicaSetConfig; the quorum check
        (check_quorum_for_config_change.cpp) answers NodeNotFound when another member does not
        respond, and here no other member ever does."""
        if not self.enabled:
            raise MongoError(76, "This node was not started with replication enabled.")
        if self.config is not None or self._config_busy:
            raise MongoError(23, "already initialized",
                             info="try querying local.system.replset to see current "
                                  "configuration")
        self._config_busy = True
        try:
            await self._initiate(config)
        finally:
            self._config_busy = False

    async def _initiate(self, config: dict[str, Any]) -> None:
        self.server.logger.info("REPL", 21356, "conn", "replSetInitiate admin command received "
                                "from client")
        try:
            new = rsc.parse(config, force_term=rsc.INITIAL_TERM,
                            default_replica_set_id=ObjectId())
        except MongoError as exc:
            raise MongoError(93, exc.errmsg) from None
        if isinstance(config, dict) and isinstance(config.get("settings"), dict) and \
                "replicaSetId" in config["settings"]:
            raise MongoError(93, "replica set configuration cannot contain 'replicaSetId' "
                                 "field when called from replSetInitiate: " + rsc._brief(config))
        if new["_id"] != self.set_name:
            raise MongoError(93, "Rejecting initiate with a set name that differs from command "
                                 f"line set name, initiate set name: {new['_id']}, command line "
                                 f"set name: {self.set_name}")
        try:  # validateConfigForInitiate
            rsc.validate(new, allow_multiple_arbiters=self._allow_multiple_arbiters())
            if rsc.customized_gle_defaults(new["settings"]):
                # mongod fasserts (5624101) and exits; mongoemu answers with the code instead.
                raise MongoError(5624101, "Failed to initiate: Replica set config contains "
                                          "customized getLastErrorDefaults, which has been "
                                          "deprecated and is now ignored. Use "
                                          "setDefaultRWConcern instead to set a cluster-wide "
                                          "default writeConcern.")
            rsc.check_arbiter_priorities(new)
            rsc.check_no_newly_added(new)
            if new["version"] != 1:
                raise MongoError(103, "Configuration used to initiate a replica set must  have "
                                      f"version 1, but found {new['version']}")
            me = self._find_self(new, electable=True)
        except MongoError as exc:
            if exc.code == 5624101:
                raise
            raise MongoError(93, exc.errmsg) from None
        await self._quorum_check(new, me, initiate=True)
        storage = self.server.storage
        with storage.transaction(journal=True):
            if storage.get(OPLOG_NS) is None:
                storage.create_collection(OPLOG_NS, self._oplog_options(), id_index=False)
            storage.insert(REPLSET_CONFIG_NS, new)
        self.config = new
        self.log_noop("initiating set")
        self._become_primary()

    # -- reconfig -----------------------------------------------------------------------------

    def _allow_multiple_arbiters(self) -> bool:
        value = self.server.config.set_parameters.get("allowMultipleArbiters", False)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)

    def _find_self(self, cfg: dict[str, Any], *, electable: bool) -> dict[str, Any]:
        """findSelfInConfig / findSelfInConfigIfElectable (repl_set_config_checks.cpp)."""
        selves = [m for m in cfg["members"] if self.server.is_self_host(m["host"])]
        where = f"{rsc.version_and_term(cfg)} for replica set {cfg['_id']}"
        if not selves:
            raise MongoError(74, f"No host described in new configuration with {where} maps "
                                 "to this node")
        if len(selves) > 1:
            hosts = [m["host"] for m in selves]
            raise MongoError(93, f"The hosts {', '.join(hosts[:-1])} and {hosts[-1]} all map to "
                                 f"this node in new configuration with {where}")
        me = selves[0]
        if electable and not rsc.is_electable(me):
            raise MongoError(104, f"This node, {me['host']}, with _id {me['_id']} is not "
                                  f"electable under the new configuration with {where}")
        return me

    async def _probe(self, host_port: str, timeout: float) -> str:
        """Why a member did not answer the quorum check's heartbeat. mongoemu does not run
        heartbeats yet, so even a member that accepts the connection counts as failed."""
        host, port = rsc.parse_host(host_port)
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                     timeout)
        except asyncio.TimeoutError:
            return (f"Couldn't get a connection within the time limit of "
                    f"{int(timeout * 1000)}ms")
        except socket.gaierror:
            return (f"Error connecting to {host_port} :: caused by :: Could not find address "
                    f"for {host_port}: SocketException: Host not found (authoritative)")
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            return f"Error connecting to {host_port} :: caused by :: {reason}"
        writer.close()
        return "mongoemu does not exchange heartbeats with other members yet"

    async def _quorum_check(self, cfg: dict[str, Any], me: dict[str, Any], *,
                            initiate: bool) -> None:
        """QuorumChecker (check_quorum_for_config_change.cpp): every other member is sent a
        heartbeat; none answers affirmatively here."""
        others = [m for m in cfg["members"] if m is not me]
        if not others:
            return
        timeout = min(1.0, float(cfg["settings"].get("heartbeatTimeoutSecs", 10)))
        reasons = await asyncio.gather(*(self._probe(m["host"], timeout) for m in others))
        bad = ", ".join(f"{m['host']} failed with {r}" for m, r in zip(others, reasons))
        if initiate:
            raise MongoError(74, "replSetInitiate quorum check failed because not all proposed "
                                 "set members responded affirmatively: " + bad)
        if not rsc.is_electable(me):
            raise MongoError(74, "Quorum check failed because no electable nodes responded; at "
                                 "least one required for config")
        voters = [m for m in cfg["members"] if rsc.is_voter(m)]
        majority = len(voters) // 2 + 1
        responded = [me["host"]] if rsc.is_voter(me) else []
        if len(responded) < majority:
            msg = (f"Quorum check failed because not enough voting nodes responded; required "
                   f"{majority} but ")
            msg += ("none responded" if not responded else
                    f"only the following {len(responded)} voting nodes responded: "
                    + ", ".join(responded))
            msg += "; the following nodes did not respond affirmatively: " + bad
            raise MongoError(74, msg)

    def _voters(self, cfg: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [m for m in (cfg or self.config or {}).get("members", []) if rsc.is_voter(m)]

    def config_committed(self) -> bool:
        """The config (and the oplog under it) is majority-committed: only this member ever
        acknowledges, so that holds exactly when this member is the only voter."""
        me = self._self_member()
        voters = self._voters()
        return me is not None and len(voters) == 1 and voters[0] is me

    async def _await_config_commitment(self, max_time_ms: int | None) -> None:
        """The replSetReconfig command's wait for the current config to be committed."""
        deadline = None if not max_time_ms else time.monotonic() + max_time_ms / 1000.0
        while not self.config_committed():
            if not self.is_writable_primary:
                raise MongoError(10107, "New config is rejected :: caused by :: Primary stepped "
                                        "down while waiting for replication")
            if deadline is not None and time.monotonic() >= deadline:
                raise MongoError(308, "New config is rejected :: caused by :: Current config "
                                      f"with {rsc.version_and_term(self.config or {})} has not "
                                      "yet propagated to a majority of nodes :: caused by :: "
                                      "operation exceeded time limit")
            await asyncio.sleep(0.05)

    async def reconfig(self, new_doc: dict[str, Any], force: bool,
                       max_time_ms: int | None = None) -> None:
        """replSetReconfig: CmdReplSetReconfig, processReplSetReconfig and _doReplSetReconfig
        (replication_coordinator_impl.cpp), validateConfigForReconfig (checks)."""
        self.check_initialized()
        if not force:
            if not self.is_writable_primary:
                raise MongoError(10107, "New config is rejected :: caused by :: replSetReconfig "
                                        "should only be run on a writable PRIMARY. Current "
                                        f"state {STATE_NAMES.get(self.state, 'UNKNOWN')};")
            await self._await_config_commitment(max_time_ms)
        if self._config_busy:
            raise MongoError(109, "Cannot run replSetReconfig because the node is currently "
                                  "updating its configuration")
        self.server.logger.info("REPL", 21352, "conn", "replSetReconfig admin command received "
                                "from client", newConfig=new_doc)
        self._config_busy = True
        try:
            await self._reconfig(new_doc, force)
        finally:
            self._config_busy = False

    async def _reconfig(self, new_doc: dict[str, Any], force: bool) -> None:
        old = self.config
        assert old is not None
        try:
            new = rsc.parse(new_doc, force_term=self.term if not force else rsc.UNINITIALIZED_TERM,
                            default_replica_set_id=old["settings"].get("replicaSetId"))
        except MongoError as exc:
            raise MongoError(93, exc.errmsg) from None
        if new["_id"] != old["_id"]:
            raise MongoError(93, "Rejecting reconfig where new config set name differs from "
                                 f"command line set name, new config set name: {new['_id']}, "
                                 f"old config set name: {old['_id']}")
        if force:
            new["version"] = max(int(old["version"]), int(new["version"])) + 10_000 + \
                secrets.randbelow(100_000)
        old_by_id = {m["_id"]: m for m in old["members"]}
        for i, m in enumerate(new["members"]):
            if rsc.is_newly_added(m):
                raise MongoError(93, "Cannot provide newlyAdded field to member config during "
                                     "reconfig.")
            if rsc.is_arbiter(m) or force:
                continue
            previous = old_by_id.get(m["_id"])
            if (previous is None and rsc.is_voter(m)) or \
                    (previous is not None and rsc.is_newly_added(previous)):
                new["members"][i] = _with_newly_added(m)
        try:  # validateConfigForReconfig
            rsc.validate(new, allow_multiple_arbiters=self._allow_multiple_arbiters())
            if rsc.customized_gle_defaults(new["settings"]):
                raise MongoError(5624102, "Failed to reconfig: Replica set config contains "
                                          "customized getLastErrorDefaults, which has been "
                                          "deprecated and is now ignored. Use "
                                          "setDefaultRWConcern instead to set a cluster-wide "
                                          "default writeConcern.")
            rsc.check_compatible(old, new)
            if not force:
                rsc.check_single_node_change(old, new)
            rsc.check_arbiter_priorities(new)
        except MongoError as exc:
            if exc.code == 5624102:
                raise
            raise MongoError(103, exc.errmsg) from None
        me = self._find_self(new, electable=not force)
        if not force:
            await self._quorum_check(new, me, initiate=False)
            if not self.is_writable_primary:
                raise MongoError(10107, "Stepped down when persisting new config")
        self._persist_config(new)
        if not force:
            self.log_op("n", "", {"msg": "Reconfig set", "version": new["version"]})
        self.server.logger.info("REPL", 21392, "conn", "New replica set config in use",
                                config=new)
        self._install_config(new)

    def _persist_config(self, cfg: dict[str, Any]) -> None:
        storage = self.server.storage
        with storage.transaction(journal=True):
            found = storage.find_by_id(REPLSET_CONFIG_NS, cfg["_id"])
            if found is None:
                storage.insert(REPLSET_CONFIG_NS, cfg)
            else:
                storage.replace(REPLSET_CONFIG_NS, found[0], cfg)

    def _install_config(self, cfg: dict[str, Any]) -> None:
        """_setCurrentRSConfig: a primary that is no longer electable steps down at once; one
        that cannot reach a majority of the voters steps down after electionTimeoutMillis; a
        secondary that is now the only voter and electable elects itself."""
        self.config = cfg
        me = self._self_member()
        if self.state == STATE_PRIMARY:
            if me is None or not rsc.is_electable(me):
                self._step_down_now("Stepping down from primary, because we received a new "
                                    "config", 21355)
            elif not self.config_committed():
                self._schedule_liveness_stepdown()
        elif me is None:
            self.state = STATE_REMOVED
        self._bump()
        self._maybe_elect_self()

    def _can_win_alone(self) -> bool:
        me = self._self_member()
        return me is not None and rsc.is_electable(me) and self.config_committed()

    def _maybe_elect_self(self) -> None:
        if self.state == STATE_PRIMARY or not self._can_win_alone():
            return
        if self.stepdown_until is not None and time.monotonic() < self.stepdown_until:
            return
        self._become_primary()

    def _schedule_liveness_stepdown(self) -> None:
        if self._liveness_timer is not None:
            self._liveness_timer.cancel()
        timeout = int((self.config or {}).get("settings", {}).get("electionTimeoutMillis",
                                                                  10000)) / 1000.0
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._liveness_timer = loop.call_later(timeout, self._liveness_check)

    def _liveness_check(self) -> None:
        self._liveness_timer = None
        if self.state == STATE_PRIMARY and not self.config_committed():
            self._step_down_now("Can't see a majority of the set, relinquishing primary", 21809)

    def _step_down_now(self, why: str, log_id: int) -> None:
        if self._liveness_timer is not None:
            self._liveness_timer.cancel()
            self._liveness_timer = None
        self.server.logger.info("REPL", log_id, "ReplCoord-0", why)
        self.server.logger.info("REPL", 21358, "ReplCoord-0", "Replica set state transition",
                                newState="SECONDARY", oldState="PRIMARY")
        self.state = STATE_SECONDARY if self._self_member() is not None else STATE_REMOVED
        self.election_id = None
        self._bump()

    # -- stepdown -----------------------------------------------------------------------------

    async def step_down(self, step_down_secs: int, catch_up_secs: int, force: bool) -> None:
        """ReplicationCoordinatorImpl::stepDown and TopologyCoordinator::tryToStartStepDown:
        without an electable caught-up secondary (never, here) a non-forced stepdown fails with
        ExceededTimeLimit once secondaryCatchUpPeriodSecs has passed; writes are refused while
        it waits. A single-node set elects itself again when the stepdown period ends."""
        if self.state != STATE_PRIMARY:
            raise MongoError(10107, "not primary so can't step down")
        if self.stepping_down:
            raise MongoError(117, "This node is already in the process of stepping down")
        self.server.logger.info("COMMAND", 21579, "conn", "Attempting to step down in response "
                                "to replSetStepDown command")
        start = time.monotonic()
        wait_until = start + catch_up_secs
        step_down_until = start + step_down_secs
        term_at_start = self.term
        self.stepping_down = True
        self._bump()
        try:
            while True:
                now = time.monotonic()
                if self.state != STATE_PRIMARY or self.term != term_at_start:
                    raise MongoError(189, "While waiting for secondaries to catch up before "
                                          "stepping down, this node decided to step down for "
                                          "other reasons")
                if now >= step_down_until:
                    raise MongoError(262, "By the time we were ready to step down, we were "
                                          "already past the time we were supposed to step down "
                                          "until")
                if force and now >= wait_until:
                    break
                if now >= wait_until:
                    raise MongoError(262, "No electable secondaries caught up as of "
                                          f"{_iso_local()}. Please use the replSetStepDown "
                                          "command with the argument {force: true} to force "
                                          "node to step down.")
                await asyncio.sleep(min(0.05, max(0.0, wait_until - now)))
        except BaseException:
            self.stepping_down = False
            self._bump()
            raise
        self.stepping_down = False
        self.stepdown_until = step_down_until
        self._step_down_now("Stepping down from primary in response to replSetStepDown", 21344)
        loop = asyncio.get_running_loop()
        loop.call_later(step_down_secs, self._stepdown_period_over)
        self.server.logger.info("COMMAND", 21580, "conn", "replSetStepDown command completed")

    def _stepdown_period_over(self) -> None:
        if self.stepdown_until is not None and time.monotonic() + 0.01 >= self.stepdown_until:
            self.stepdown_until = None
            self._maybe_elect_self()

    # -- oplog size ---------------------------------------------------------------------------

    def resize_oplog(self, cmd: dict[str, Any]) -> None:
        """replSetResizeOplog (resize_oplog.cpp / resize_oplog.idl): size in MB (a double,
        990..1 PB), minRetentionHours (a double, >= 0, kept in memory as mongod does)."""
        storage = self.server.storage
        info = storage.get(OPLOG_NS)
        if info is None:
            raise MongoError(26, "oplog does not exist")
        if not info.capped:
            raise MongoError(20, "oplog isn't capped")
        first = cmd.get("replSetResizeOplog")
        if not rsc._is_number(first):
            raise rsc._wrong_types("replSetResizeOplog.replSetResizeOplog", first,
                                   "[long, int, decimal, double]")
        size = cmd.get("size")
        hours = cmd.get("minRetentionHours")
        if size is not None:
            if not isinstance(size, float):
                raise rsc._wrong_type("replSetResizeOplog.size", size, "double")
            rsc._range("replSetResizeOplog.size", size, gte=990, lte=1073741824)
        if hours is not None:
            if not isinstance(hours, float):
                raise rsc._wrong_type("replSetResizeOplog.minRetentionHours", hours, "double")
            rsc._range("replSetResizeOplog.minRetentionHours", hours, gte=0)
        if size is not None:
            options = dict(info.options)
            options["size"] = int(size * 1024 * 1024)
            storage.update_options(OPLOG_NS, options)
        if hours is not None:
            self.min_retention_hours = hours
        storage.enforce_cap(OPLOG_NS)
        self.server.logger.info("STORAGE", 20497, "conn", "replSetResizeOplog success",
                                size=int(storage.get(OPLOG_NS).options.get("size", 0)),
                                minRetentionHours=self.min_retention_hours)

    def _oplog_entry_removable(self, entry: dict[str, Any]) -> bool:
        hours = self.min_retention_hours
        if hours <= 0:
            return True
        ts = entry.get("ts")
        if not isinstance(ts, Timestamp):
            return True
        return ts.time < time.time() - hours * 3600

    def oplog_truncation_section(self) -> dict[str, Any] | None:
        if self.server.storage.get(OPLOG_NS) is None:
            return None
        section: dict[str, Any] = {"totalTimeProcessingMicros": Int64(0),
                                   "processingMethod": "scanning"}
        if self.min_retention_hours:
            section["oplogMinRetentionHours"] = self.min_retention_hours
        section.update({"totalTimeTruncatingMicros": Int64(0), "truncateCount": Int64(0)})
        return section

    # -- reads ----------------------------------------------------------------------------------

    def check_initialized(self) -> None:
        if not self.enabled:
            raise MongoError(76, "not running with --replSet")
        if self.config is None:
            raise MongoError(94, "no replset config has been received")

    def get_config(self, commitment_status: bool = False,
                   include_newly_added: bool = False) -> dict[str, Any]:
        self.check_initialized()
        assert self.config is not None
        cfg = dict(self.config) if include_newly_added else rsc.without_newly_added(self.config)
        if commitment_status and not self.is_writable_primary:
            raise MongoError(10107, "commitmentStatus is only supported on primary.")
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
                            "configTerm": rsc.term_of(self.config), "self": is_self,
                            "lastHeartbeatMessage": ""})
        voters = len(self._voters())
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


def _with_newly_added(member: dict[str, Any]) -> dict[str, Any]:
    """The member with newlyAdded: true where MemberConfig::toBSON puts it."""
    out: dict[str, Any] = {}
    for key, value in member.items():
        out[key] = value
        if key == "arbiterOnly":
            out["newlyAdded"] = True
    return out


def _iso_local() -> str:
    """dateToISOStringLocal."""
    now = _dt.datetime.now().astimezone()
    text = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
    offset = now.strftime("%z")
    return text + (offset[:3] + ":" + offset[3:] if offset else "")
