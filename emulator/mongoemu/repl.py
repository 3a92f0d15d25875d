"""Replica set state of one member: its config, state and term, the hello fields and the
topology version awaitable hellos wait on, the oplog (local.oplog.rs), write concern, and the
replica set commands (replSetInitiate, replSetReconfig, replSetStepDown, replSetStepUp,
replSetFreeze, replSetMaintenance, replSetSyncFrom, replSetResizeOplog, replSetGetStatus).

This class owns the state; topology.py runs heartbeats and elections, replication.py fetches
and applies the oplog (initial sync, rollback). Config documents are parsed and checked by
rsconfig.py.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import secrets
import ssl
import time
import uuid as _uuid
from typing import TYPE_CHECKING, Any, NoReturn

from bson import Binary, Int64, ObjectId, Timestamp

from mongoemu import rsconfig as rsc
from mongoemu.errors import MongoError
from mongoemu.peer import PeerCommandError, PeerError, PeerPool
from mongoemu.replication import Replicator
from mongoemu.topology import (STATE_ARBITER, STATE_PRIMARY, STATE_RECOVERING, STATE_REMOVED,
                               STATE_ROLLBACK, STATE_SECONDARY, STATE_STARTUP2, Topology,
                               optime_key, same_config)

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.server import Server

OPLOG_NS = "local.oplog.rs"
REPLSET_CONFIG_NS = "local.system.replset"

STATE_STARTUP = 0
STATE_NAMES = {0: "STARTUP", 1: "PRIMARY", 2: "SECONDARY", 3: "RECOVERING", 5: "STARTUP2",
               6: "UNKNOWN", 7: "ARBITER", 8: "(not reachable/healthy)", 9: "ROLLBACK",
               10: "REMOVED"}
# replSetGetStatus names a member that does not answer heartbeats (health 0, state 8) as
# TopologyCoordinator::prepareStatusResponse does: "(not reachable/healthy)", never "DOWN".
STATE_STR = STATE_NAMES


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


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
        self._progress = asyncio.Event()
        self.config: dict[str, Any] | None = None
        self.state = STATE_STARTUP
        self.term = 0
        self.last_vote: dict[str, Any] = {"term": -1, "candidateIndex": -1}
        self.election_id: ObjectId | None = None
        self.election_ts: Timestamp | None = None
        self.election_date: _dt.datetime | None = None
        self.election_metrics: dict[str, Any] | None = None
        self.primary_since = 0.0
        self._last_ts = (0, 0)
        self.last_applied: dict[str, Any] = {"ts": Timestamp(0, 0), "t": Int64(-1)}
        self.config_busy = False            # initiating or reconfiguring
        self.stepping_down = False          # a replSetStepDown is waiting: writes are refused
        self.catching_up = False            # a new primary catching up: writes are refused
        self.rolling_back = False
        self.maintenance = 0
        self._initial_sync_flag = False
        self.min_retention_hours = float(getattr(server.config, "oplog_min_retention_hours",
                                                 0.0) or 0.0)
        self.peers = PeerPool(None)
        self.topology = Topology(self)
        self.replicator = Replicator(self)
        self._running = False
        server.storage.cap_guards[OPLOG_NS] = self._oplog_entry_removable

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self.set_name is not None

    def load(self) -> None:
        """At startup, before serving: the stored config, term, vote and last applied op."""
        if not self.enabled:
            return
        storage = self.server.storage
        self.term = int((storage.get_meta("replTerm") or {}).get("t", 0))
        self.last_vote = storage.get_meta("lastVote") or self.last_vote
        last = storage.get_meta("lastApplied")
        if last:
            self.last_applied = last
            self._last_ts = (last["ts"].time, last["ts"].inc)
        self._initial_sync_flag = bool((storage.get_meta("initialSync") or {}).get("on"))
        found = storage.find_by_id(REPLSET_CONFIG_NS, self.set_name)
        if found is None:
            return
        self.config = found[1]

    def start(self) -> None:
        """Once the event loop runs: heartbeats, elections and replication begin."""
        if not self.enabled:
            return
        self.peers = PeerPool(self.server.key, ssl_context=self._peer_tls(),
                              x509=self.server.config.cluster_auth_mode in ("sendX509", "x509"),
                              wire=self._outgoing_wire)
        self._running = True
        if self.config is not None:
            self._activate()

    def _outgoing_wire(self) -> tuple[int, int]:
        """WireSpec outgoing: the wire versions this member requires of the members it calls."""
        from mongoemu import release

        return self.server.wire_floor(), release.current().max_wire

    def _peer_tls(self) -> ssl.SSLContext | None:
        """Members of a set with preferTLS/requireTLS talk TLS to each other, presenting their
        own certificate (mongod uses net.tls.clusterFile, else certificateKeyFile)."""
        tls = self.server.config.tls
        if tls.mode not in ("preferTLS", "requireTLS"):
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        if tls.ca_file and not tls.allow_invalid_certificates:
            ctx.load_verify_locations(tls.ca_file)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if tls.cluster_file:
            ctx.load_cert_chain(tls.cluster_file, password=tls.cluster_password)
        elif tls.certificate_key_file:
            ctx.load_cert_chain(tls.certificate_key_file,
                                password=tls.certificate_key_file_password)
        return ctx

    def _activate(self) -> None:
        if not self._running:
            return
        self.topology.config_changed()
        self.topology.start()
        self.replicator.start()
        self.refresh_follower_state()
        self._maybe_elect_self()

    def notify_shutdown(self) -> None:
        self.topology.stop()
        self.replicator.stop()
        self.peers.close_all()
        self.bump()

    def bump(self) -> None:
        self.counter += 1
        old = self._changed
        self._changed = asyncio.Event()
        old.set()

    async def wait_changed(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def progress_changed(self) -> None:
        old = self._progress
        self._progress = asyncio.Event()
        old.set()

    async def wait_progress(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._progress.wait(), max(0.0, timeout))
        except asyncio.TimeoutError:
            pass

    def topology_version(self) -> dict[str, Any]:
        return {"processId": self.process_id, "counter": Int64(self.counter)}

    async def wait_topology_change(self, tv: Any, max_await_ms: int) -> None:
        """Awaitable hello: return when the topology changes or the time is up."""
        if not isinstance(tv, dict) or tv.get("processId") != self.process_id:
            return
        if int(tv.get("counter", -1)) != self.counter:
            return
        await self.wait_changed(max(0, max_await_ms) / 1000.0)

    # -- members ------------------------------------------------------------------------------

    def _members(self) -> list[dict[str, Any]]:
        return list((self.config or {}).get("members", []))

    def self_member(self, cfg: dict[str, Any] | None = None) -> dict[str, Any] | None:
        for m in (cfg or self.config or {}).get("members", []):
            if self.server.is_self_host(str(m.get("host", ""))):
                return m
        return None

    _self_member = self_member

    def other_members(self) -> list[dict[str, Any]]:
        return [m for m in self._members() if not self.server.is_self_host(m["host"])]

    def member_config(self, host: str) -> dict[str, Any] | None:
        for m in self._members():
            if m["host"] == host:
                return m
        return None

    def my_host(self) -> str:
        me = self.self_member()
        return me["host"] if me else f"{self.server.advertised_host()}:{self.server.config.port}"

    def applied_optime(self) -> dict[str, Any]:
        return {"ts": self.last_applied["ts"], "t": Int64(self.last_applied["t"])}

    def sync_source_host(self) -> str | None:
        return self.replicator.sync_source if self.state != STATE_PRIMARY or self.catching_up \
            else None

    # -- state --------------------------------------------------------------------------------

    @property
    def is_writable_primary(self) -> bool:
        return not self.enabled or (self.state == STATE_PRIMARY and not self.stepping_down
                                    and not self.catching_up)

    def check_writable(self, db: str) -> None:
        if db == "local" or self.is_writable_primary:
            return
        raise MongoError(10107, "not primary")

    def check_readable(self, db: str, secondary_ok: bool) -> None:
        if db == "local" or self.is_writable_primary:
            return
        if self.state in (STATE_SECONDARY, STATE_PRIMARY) and secondary_ok:
            return
        if not secondary_ok:
            raise MongoError(13435, "not primary and secondaryOk=false")
        raise MongoError(13436, "node is not in primary or recovering state")

    def _transition(self, new_state: int) -> None:
        if new_state == self.state:
            return
        self.server.logger.info("REPL", 21358, "ReplCoord-0", "Replica set state transition",
                                newState=STATE_NAMES.get(new_state, "UNKNOWN"),
                                oldState=STATE_NAMES.get(self.state, "UNKNOWN"))
        self.state = new_state
        if new_state == STATE_SECONDARY:
            self.topology.reset_election_timer()
        self.bump()

    def follower_state(self) -> int:
        me = self.self_member()
        if self.config is None:
            return STATE_STARTUP
        if me is None:
            return STATE_REMOVED
        if rsc.is_arbiter(me):
            return STATE_ARBITER
        if self.rolling_back:
            return STATE_ROLLBACK
        if self.needs_initial_sync():
            return STATE_STARTUP2
        if self.replicator.stale or self.maintenance:
            return STATE_RECOVERING
        return STATE_SECONDARY

    def refresh_follower_state(self) -> None:
        if self.state != STATE_PRIMARY:
            self._transition(self.follower_state())

    def should_replicate(self) -> bool:
        me = self.self_member()
        if self.config is None or me is None or rsc.is_arbiter(me) or self.rolling_back:
            return False
        return self.state != STATE_PRIMARY or self.catching_up

    def needs_initial_sync(self) -> bool:
        if self._initial_sync_flag:
            return True
        storage = self.server.storage
        oplog = storage.get(OPLOG_NS)
        return (oplog is None or oplog.count == 0) and self.last_applied["ts"] == Timestamp(0, 0)

    def initial_sync_flag(self) -> bool:
        return bool(self._initial_sync_flag)

    def set_initial_sync_flag(self, on: bool) -> None:
        self._initial_sync_flag = on
        self.server.storage.set_meta("initialSync", {"on": on})

    def ensure_oplog(self, reset: bool = False) -> None:
        storage = self.server.storage
        if reset and storage.get(OPLOG_NS) is not None:
            storage.truncate(OPLOG_NS)
        if storage.get(OPLOG_NS) is None:
            storage.create_collection(OPLOG_NS, self._oplog_options(), id_index=False)

    def note_applied(self, entry: dict[str, Any]) -> None:
        ts = entry["ts"]
        self.last_applied = {"ts": ts, "t": Int64(entry.get("t", -1)),
                             "wall": entry.get("wall", _now())}
        self._last_ts = max(self._last_ts, (ts.time, ts.inc))
        self.server.storage.set_meta("lastApplied", self.last_applied)
        self.progress_changed()

    def reset_applied(self, entry: dict[str, Any]) -> None:
        """After a rollback: the common point is the last applied entry."""
        ts = entry["ts"]
        self.last_applied = {"ts": ts, "t": Int64(entry.get("t", -1)),
                             "wall": entry.get("wall", _now())}
        self._last_ts = (ts.time, ts.inc)
        self.server.storage.set_meta("lastApplied", self.last_applied)

    def enter_rollback(self) -> None:
        self.rolling_back = True
        self._transition(STATE_ROLLBACK)

    def leave_rollback(self) -> None:
        self.rolling_back = False
        self.refresh_follower_state()

    # -- terms and votes ------------------------------------------------------------------------

    def set_term(self, term: int) -> None:
        self.term = term
        self.server.storage.set_meta("replTerm", {"t": term})

    def update_term(self, term: int, why: str) -> None:
        """_updateTerm_inlock: a newer term cancels a scheduled priority takeover, restarts the
        election timeout and makes a primary step down."""
        if term <= self.term:
            return
        self.set_term(term)
        self.topology.term_updated()
        if self.state == STATE_PRIMARY:
            self.step_down_now(f"Stepping down from primary, because a higher term has been "
                               f"seen ({why})", 21809)

    def record_vote(self, term: int, candidate_index: int) -> None:
        self.last_vote = {"term": term, "candidateIndex": candidate_index}
        self.server.storage.set_meta("lastVote", self.last_vote)

    def _win_alone(self) -> None:
        """A set where this member is the only electable voter: elect at once (mongod's
        kActionStartSingleNodeElection)."""
        log = self.server.logger
        log.info("ELECTION", 4615652, "ReplCoord-0", "Starting an election, since we've seen "
                 "no PRIMARY in election timeout period", electionTimeoutPeriodMillis=10000)
        log.info("ELECTION", 21450, "ReplCoord-0", "Election succeeded, assuming primary "
                 "role", term=self.term + 1)
        self.set_term(self.term + 1)
        me = self.self_member()
        self.record_vote(self.term, self._members().index(me) if me else -1)
        self.election_metrics = {"lastElectionReason": "electionTimeout",
                                 "lastElectionDate": _now(), "electionTerm": Int64(self.term),
                                 "numVotesNeeded": 1, "newTermStartDate": _now()}
        self._become_writable_primary()

    async def assume_primary(self) -> None:
        """After winning an election: catch up to the newest member we can see (bounded by
        catchUpTimeoutMillis), then the step-up reconfig and the new-term no-op."""
        self._transition(STATE_PRIMARY)
        self.catching_up = True
        self.election_id = ObjectId(f"7fffffff{self.term:016x}")
        self.primary_since = time.monotonic()
        term = self.term
        try:
            target = max((d.applied for d in self.topology.members.values() if d.up()),
                         key=optime_key, default=None)
            setting = int((self.config or {}).get("settings", {}).get("catchUpTimeoutMillis",
                                                                      -1))
            limit = (2 * self.topology.election_timeout if setting < 0 else setting / 1000.0)
            deadline = time.monotonic() + limit
            if target is not None and optime_key(target) > optime_key(self.applied_optime()):
                self.server.logger.info("REPL", 21359, "ReplCoord-0", "Entering primary "
                                        "catch-up mode", targetOpTime=target)
                self.bump()
                while optime_key(self.applied_optime()) < optime_key(target) and \
                        time.monotonic() < deadline and self.state == STATE_PRIMARY:
                    await self.wait_progress(deadline - time.monotonic())
        finally:
            self.catching_up = False
        if self.state == STATE_PRIMARY and self.term == term:
            self._become_writable_primary()

    def _become_writable_primary(self) -> None:
        self.state = STATE_PRIMARY
        self.catching_up = False
        self.election_id = ObjectId(f"7fffffff{self.term:016x}")
        self.election_date = _now()
        self.primary_since = time.monotonic()
        self.topology.primary_host = None
        if self.config is not None and rsc.term_of(self.config) != self.term:
            self._step_up_reconfig()
        self.log_noop("new primary")
        self.election_ts = self.last_applied["ts"]
        self.server.logger.info("REPL", 21331, "ReplCoord-0", "Transition to primary complete; "
                                "database writes are now permitted")
        self.topology.heartbeat_now()
        self.bump()
        self.progress_changed()

    def _step_up_reconfig(self) -> None:
        """doOptimizedReconfig on step-up: the config takes the new term."""
        assert self.config is not None
        cfg = dict(self.config)
        members = cfg.pop("members")
        head = {"_id": cfg.pop("_id"), "version": cfg.pop("version")}
        cfg.pop("term", None)
        self.config = {**head, "term": self.term, "members": members, **cfg}
        self._persist_config(self.config)

    def step_down_now(self, why: str, log_id: int) -> None:
        self.server.logger.info("REPL", log_id, "ReplCoord-0", why)
        self.election_id = None
        self.catching_up = False
        self.state = STATE_SECONDARY  # follower_state below settles the exact one
        self._transition_from_primary()

    def _transition_from_primary(self) -> None:
        self.server.logger.info("REPL", 21358, "ReplCoord-0", "Replica set state transition",
                                newState=STATE_NAMES.get(self.follower_state()),
                                oldState="PRIMARY")
        self.state = self.follower_state()
        self.topology.reset_election_timer()
        self.bump()
        self.progress_changed()

    def _can_win_alone(self) -> bool:
        me = self.self_member()
        voters = self._voters()
        return me is not None and rsc.is_electable(me) and len(voters) == 1 and voters[0] is me

    def _maybe_elect_self(self) -> None:
        if self.state == STATE_PRIMARY or not self._can_win_alone() or not self._running:
            return
        if time.monotonic() < self.topology.no_election_until:
            return
        if self.needs_initial_sync():
            return
        self._win_alone()

    # -- hello ------------------------------------------------------------------------------------

    def hello_fields(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        if self.config is None:
            return {"isWritablePrimary": False, "secondary": False,
                    "info": "Does not have a valid replica set config", "isreplicaset": True}
        me = self.self_member()
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
        elif self.topology.primary_host:
            fields["primary"] = self.topology.primary_host
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
        optime = self.applied_optime()
        wall = self.last_applied.get("wall", _now())
        committed = self.commit_point()
        fields["lastWrite"] = {"opTime": optime, "lastWriteDate": wall,
                               "majorityOpTime": committed, "majorityWriteDate": wall}
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
        self.ensure_oplog()
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
        self.progress_changed()

    def log_noop(self, msg: str) -> None:
        self.log_op("n", "", {"msg": msg})

    # -- commit point and write concern ---------------------------------------------------------

    def _data_voters(self) -> list[dict[str, Any]]:
        return [m for m in self._voters() if not rsc.is_arbiter(m)]

    def _applied_of(self, member: dict[str, Any]) -> dict[str, Any] | None:
        if self.server.is_self_host(member["host"]):
            return self.applied_optime()
        data = self.topology.members.get(member["host"])
        return data.applied if data is not None else None

    def write_majority(self) -> int:
        voters = self._voters()
        return min(len(voters) // 2 + 1, len(self._data_voters()))

    def commit_point(self) -> dict[str, Any]:
        """The newest optime a majority of the data-bearing voters has applied (the primary's
        view; on a secondary, its own applied optime bounded by what it knows)."""
        optimes = sorted((self._applied_of(m) or {} for m in self._data_voters()),
                         key=optime_key, reverse=True)
        need = self.write_majority()
        if not optimes or need <= 0 or len(optimes) < need:
            return self.applied_optime()
        point = optimes[need - 1]
        return {"ts": point.get("ts", Timestamp(0, 0)), "t": Int64(point.get("t", -1))}

    def implicit_default_w(self) -> Any:
        """mongod 5.0+: w:1 when arbiters make a majority of data-bearing voters impossible
        to lose, else "majority"."""
        arbiters = [m for m in self._voters() if rsc.is_arbiter(m)]
        if arbiters and len(self._data_voters()) <= len(self._voters()) // 2 + 1:
            return 1
        return "majority"

    def _satisfied(self, w: Any, target: tuple[int, int, int]) -> bool:
        members = [m for m in self._members() if not rsc.is_arbiter(m)]
        done = [m for m in members if optime_key(self._applied_of(m)) >= target]
        if w == "majority":
            data_voters = {m["host"] for m in self._data_voters()}
            return sum(1 for m in done if m["host"] in data_voters) >= self.write_majority()
        if isinstance(w, str):
            mode = (self.config or {}).get("settings", {}).get("getLastErrorModes", {}).get(w, {})
            for tag, count in mode.items():
                values = {m["tags"][tag] for m in done if tag in (m.get("tags") or {})}
                if len(values) < int(count):
                    return False
            return True
        return len(done) >= int(w)

    async def await_write_concern(self, wc: Any) -> dict[str, Any] | None:
        """Wait until the write concern is satisfied for this client's last write; the
        writeConcernError to return, or None."""
        if not self.enabled or self.config is None:
            return None
        wc = wc if isinstance(wc, dict) else {}
        w = wc.get("w", self.implicit_default_w())
        if isinstance(w, (int, float)) and not isinstance(w, bool):
            if w <= 1:
                return None
            if w > len([m for m in self._members() if not rsc.is_arbiter(m)]):
                return {"code": 100, "codeName": "UnsatisfiableWriteConcern",
                        "errmsg": "Not enough data-bearing nodes"}
        elif not isinstance(w, str):
            return None
        target = optime_key(self.applied_optime())
        wtimeout = wc.get("wtimeout", 0)
        timeout = float(wtimeout) / 1000.0 if isinstance(wtimeout, (int, float)) and \
            not isinstance(wtimeout, bool) and wtimeout > 0 else None
        deadline = None if timeout is None else time.monotonic() + timeout
        term = self.term
        while True:
            # checkForStepDown in _startWaitingForReplication (replication_coordinator_impl.cpp),
            # before the done test: leaving primary, or a newer term, fails the wait whatever the
            # count - a member seen in a newer term is past the write's optime without holding it
            if self.state != STATE_PRIMARY:
                return {"code": 189, "codeName": "PrimarySteppedDown",
                        "errmsg": "Primary stepped down while waiting for replication"}
            if self.term != term:
                return {"code": 189, "codeName": "PrimarySteppedDown",
                        "errmsg": f"Term changed from {term} to {self.term} while waiting for "
                                  "replication, indicating that this node must have stepped down."}
            if self._satisfied(w, target):
                break
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return {"code": 64, "codeName": "WriteConcernFailed",
                        "errmsg": "waiting for replication timed out",
                        "errInfo": {"wtimeout": True, "writeConcern": {
                            "w": w, "wtimeout": int(wtimeout or 0),
                            "provenance": "clientSupplied" if "w" in wc else "implicitDefault"}}}
            await self.wait_progress(min(left, 1.0))
        return None

    # -- commands ---------------------------------------------------------------------------------

    def initiate_default_config(self) -> dict[str, Any]:
        host = f"{self.server.advertised_host()}:{self.server.config.port}"
        return {"_id": self.set_name, "version": 1, "members": [{"_id": 0, "host": host}]}

    async def initiate(self, config: dict[str, Any]) -> None:
        """processReplSetInitiate (replication_coordinator_impl.cpp): parse errors and every
        validateConfigForInitiate failure are InvalidReplicaSetConfig; the quorum check
        (check_quorum_for_config_change.cpp) answers NodeNotFound when another member does not
        respond affirmatively to its heartbeat."""
        if not self.enabled:
            raise MongoError(76, "This node was not started with replication enabled.")
        if self.config is not None or self.config_busy:
            raise MongoError(23, "already initialized",
                             info="try querying local.system.replset to see current "
                                  "configuration")
        self.config_busy = True
        try:
            await self._initiate(config)
        finally:
            self.config_busy = False

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
            self.ensure_oplog()
            storage.insert(REPLSET_CONFIG_NS, new)
        self.config = new
        self.log_noop("initiating set")
        if self.server.fcv is None:
            # initializeReplSetStorage -> FeatureCompatibilityVersion::setIfCleanStartup: a
            # new set starts at the latest FCV of the initiating member's binary
            from mongoemu import release

            self.server.set_fcv(release.Fcv(release.current().series.latest), replicate=True)
        self._activate()

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


    async def _quorum_check(self, cfg: dict[str, Any], me: dict[str, Any], *,
                            initiate: bool) -> None:
        """QuorumChecker (check_quorum_for_config_change.cpp): every other member is sent a
        heartbeat carrying the proposed config's version; initiate needs all of them to answer
        (and to be uninitialized members of the same set), a reconfig a majority of the voters
        and one electable member."""
        others = [m for m in cfg["members"] if m is not me]
        if not others:
            return
        timeout = min(float(cfg["settings"].get("heartbeatTimeoutSecs", 10)),
                      max(1.0, int(cfg["settings"].get("electionTimeoutMillis", 10000)) / 1000))
        request = self.topology.heartbeat_request(cfg)

        async def probe(m: dict[str, Any]) -> str | None:
            try:
                reply = await self.peers.get(m["host"], "quorum").command("admin", request,
                                                                         timeout)
            except PeerCommandError as exc:
                return f"{exc.reply.get('codeName', 'Error')}: {exc}"
            except PeerError as exc:
                return str(exc)
            if reply.get("set") not in (None, cfg["_id"]):
                return (f"InconsistentReplicaSetNames: Our set name of {cfg['_id']} does not "
                        f"match name {reply.get('set')} reported by remote node")
            their_version = int(reply.get("configVersion", -2))
            if initiate and their_version != -2:
                return f"InvalidReplicaSetConfig: '{m['host']}' has data already, cannot " \
                       "initiate set."
            if not initiate and their_version >= int(cfg["version"]) and \
                    int(reply.get("configTerm", -1)) == rsc.term_of(cfg):
                return (f"NewReplicaSetConfigurationIncompatible: Our config version of "
                        f"{cfg['version']} is no larger than the version on {m['host']}, "
                        f"which is {their_version}")
            return None

        reasons = await asyncio.gather(*(probe(m) for m in others))
        failed = [(m, r) for m, r in zip(others, reasons) if r is not None]
        bad = ", ".join(f"{m['host']} failed with {r}" for m, r in failed)
        if initiate:
            if failed:
                raise MongoError(74, "replSetInitiate quorum check failed because not all "
                                     "proposed set members responded affirmatively: " + bad)
            return
        answered = [me] + [m for m, r in zip(others, reasons) if r is None]
        if not any(rsc.is_electable(m) for m in answered):
            raise MongoError(74, "Quorum check failed because no electable nodes responded; at "
                                 "least one required for config")
        voters = [m for m in cfg["members"] if rsc.is_voter(m)]
        majority = len(voters) // 2 + 1
        responded = [m["host"] for m in answered if rsc.is_voter(m)]
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
        """The current config is committed: a majority of its voters have it (heartbeats
        report its version and term) and an oplog entry of this term is majority-committed."""
        if self.config is None or self.self_member() is None:
            return False
        voters = self._voters()
        version, term = int(self.config["version"]), rsc.term_of(self.config)
        have = 0
        for m in voters:
            if self.server.is_self_host(m["host"]):
                have += 1
                continue
            data = self.topology.members.get(m["host"])
            if data and data.up() and same_config(
                    {"version": data.config_version, "term": data.config_term},
                    {"version": version, "term": term}):
                have += 1
        if have < len(voters) // 2 + 1:
            return False
        return self.state != STATE_PRIMARY or optime_key(self.commit_point())[0] == self.term

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
            await self.wait_progress(0.05)

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
        if self.config_busy:
            raise MongoError(109, "Cannot run replSetReconfig because the node is currently "
                                  "updating its configuration")
        self.server.logger.info("REPL", 21352, "conn", "replSetReconfig admin command received "
                                "from client", newConfig=new_doc)
        self.config_busy = True
        try:
            await self._reconfig(new_doc, force)
        finally:
            self.config_busy = False

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
        """_setCurrentRSConfig: a primary that is no longer electable steps down at once; a
        secondary that is now the only electable voter elects itself."""
        first = self.config is None
        self.config = cfg
        me = self.self_member()
        self.topology.config_changed()
        if self.state == STATE_PRIMARY:
            if me is None or not rsc.is_electable(me):
                self.step_down_now("Stepping down from primary, because we received a new "
                                   "config", 21355)
        else:
            self.refresh_follower_state()
        self.bump()
        self.progress_changed()
        if first:
            self._activate()
        else:
            self._maybe_elect_self()

    def install_config_from_heartbeat(self, cfg: dict[str, Any], source: str) -> None:
        """A newer config learnt from another member's heartbeat answer."""
        if self.config_busy or cfg.get("_id") != self.set_name:
            return
        if self.config is None and self.self_member(cfg) is None:
            return  # not (yet) one of its members
        self.server.logger.info("REPL", 21392, "ReplCoord", "New replica set config in use",
                                config=cfg, source=source)
        self._persist_config(cfg)
        self._install_config(cfg)

    async def remove_newly_added(self, member_ids: list[int]) -> None:
        """The primary's own reconfig that drops newlyAdded from members that have synced."""
        if self.config is None or self.state != STATE_PRIMARY or self.config_busy:
            return
        self.config_busy = True
        try:
            new = dict(self.config)
            new["version"] = int(new["version"]) + 1
            new["members"] = [{k: v for k, v in m.items() if k != "newlyAdded"}
                              if m["_id"] in member_ids else m for m in new["members"]]
            self._persist_config(new)
            self.log_op("n", "", {"msg": "Reconfig set", "version": new["version"]})
            self.server.logger.info("REPL", 4634400, "ReplCoord", "Removed newlyAdded field "
                                    "from members", memberIds=member_ids,
                                    version=new["version"])
            self._install_config(new)
        finally:
            self.config_busy = False

    # -- stepdown, stepup, freeze, maintenance, syncFrom ----------------------------------------

    async def step_down(self, step_down_secs: int, catch_up_secs: int, force: bool) -> None:
        """ReplicationCoordinatorImpl::stepDown: writes are refused while it waits up to
        secondaryCatchUpPeriodSecs for an electable secondary that has caught up; then it steps
        down, stays out of elections for stepDownSecs and hands the election off to that
        secondary (replSetStepUp, as enableElectionHandoff does). Without one and without
        force: ExceededTimeLimit."""
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
        self.bump()
        target = None
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
                target = self.topology.caught_up_electable()
                if target is not None:
                    break
                if force and now >= wait_until:
                    break
                if now >= wait_until:
                    raise MongoError(262, "No electable secondaries caught up as of "
                                          f"{_iso_local()}. Please use the replSetStepDown "
                                          "command with the argument {force: true} to force "
                                          "node to step down.")
                await self.wait_progress(min(0.05, max(0.0, wait_until - now)) or 0.01)
        except BaseException:
            self.stepping_down = False
            self.bump()
            raise
        self.stepping_down = False
        self.topology.no_election_until = step_down_until
        self.step_down_now("Stepping down from primary in response to replSetStepDown", 21344)
        loop = asyncio.get_running_loop()
        loop.call_later(step_down_secs, self._stepdown_period_over)
        handoff = self.server.parameters.get(  # setParameter at runtime, else at startup
            "enableElectionHandoff",
            self.server.config.set_parameters.get("enableElectionHandoff", True))
        if target is not None and handoff not in (False, "false", "0", 0):
            self.topology.spawn(self._hand_off(target))
        self.server.logger.info("COMMAND", 21580, "conn", "replSetStepDown command completed")

    async def _hand_off(self, host: str) -> None:
        self.server.logger.info("REPL", 21347, "ReplCoord", "Handing off election to node",
                                target=host)
        try:
            await self.peers.get(host, "vote").command(
                "admin", {"replSetStepUp": 1, "skipDryRun": True},
                max(1.0, self.topology.election_timeout))
        except PeerError:
            pass

    def _stepdown_period_over(self) -> None:
        if time.monotonic() + 0.01 >= self.topology.no_election_until:
            self.topology.no_election_until = 0.0
            self._maybe_elect_self()

    async def step_up(self, skip_dry_run: bool) -> None:
        self.check_initialized()
        self.server.logger.info("REPL", 21581, "conn", "Received replSetStepUp request")
        if self.state == STATE_PRIMARY:
            return
        me = self.self_member()
        if me is None or not rsc.is_electable(me) or self.state != STATE_SECONDARY:
            self._step_up_failed()
        self.topology.no_election_until = 0.0
        won = await self.topology.run_election("stepUpRequest" + ("SkipDryRun" if skip_dry_run
                                                                   else ""), skip_dry_run)
        if not won:
            self._step_up_failed()

    def _step_up_failed(self) -> NoReturn:
        self.server.logger.info("REPL", 21582, "conn", "replSetStepUp request failed",
                                error="CommandFailed: Election failed.")
        raise MongoError(125, "Election failed.")

    def freeze(self, secs: int) -> dict[str, Any]:
        self.check_initialized()
        if self.state == STATE_PRIMARY:
            raise MongoError(95, "cannot freeze node when primary or running for election. "
                                 "state: Primary")
        if secs == 0:
            self.topology.no_election_until = 0.0
            self._maybe_elect_self()
            return {"info": "unfreezing"}
        self.topology.no_election_until = time.monotonic() + secs
        if secs == 1:
            return {"warning": "you really want to freeze for only 1 second?"}
        return {}

    def set_maintenance(self, on: bool) -> None:
        self.check_initialized()
        if self.state == STATE_PRIMARY:
            raise MongoError(95, "primaries can't modify maintenance mode")
        if on:
            self.maintenance += 1
        elif self.maintenance == 0:
            raise MongoError(96, "already out of maintenance mode")
        else:
            self.maintenance -= 1
        self.refresh_follower_state()

    def sync_from(self, target: Any) -> dict[str, Any]:
        self.check_initialized()
        if not isinstance(target, str):
            raise MongoError(14, "Expected string for replSetSyncFrom")
        if self.state == STATE_PRIMARY:
            raise MongoError(95, "primaries don't sync")
        if self.server.is_self_host(target):
            raise MongoError(72, "I cannot sync from myself")
        member = self.member_config(target)
        if member is None:
            raise MongoError(74, f"Could not find member \"{target}\" in replica set")
        if rsc.is_arbiter(member):
            raise MongoError(72, f"Cannot sync from \"{target}\" because it is an arbiter")
        data = self.topology.members.get(target)
        if data is None or not data.up():
            raise MongoError(6, f"I cannot reach the requested member: {target}")
        reply: dict[str, Any] = {"syncFromRequested": target}
        if self.replicator.sync_source:
            reply["prevSyncTarget"] = self.replicator.sync_source
        self.replicator.forced_source = target
        return reply

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
        """Oplog truncation never removes the majority commit point or anything newer (mongod
        4.0+ lets the oplog grow instead), so every member of the majority keeps its place in
        the oplog; nor entries younger than minRetentionHours."""
        if self.config is not None and \
                optime_key(entry) >= optime_key(self.commit_point()):
            return False
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
        """replSetGetStatus (ReplicationCoordinatorImpl::processReplSetGetStatus)."""
        self.check_initialized()
        assert self.config is not None
        now = _now()
        optime = self.applied_optime()
        wall = self.last_applied.get("wall", now)
        committed = self.commit_point()
        by_host = {m["host"]: m for m in self._members()}
        members = []
        for m in self._members():
            is_self = self.server.is_self_host(m["host"])
            if is_self:
                entry: dict[str, Any] = {
                    "_id": m["_id"], "name": m["host"], "health": 1.0, "state": self.state,
                    "stateStr": STATE_STR[self.state], "uptime": int(self.server.uptime()),
                    "optime": optime, "optimeDate": wall, "lastAppliedWallTime": wall,
                    "lastDurableWallTime": wall,
                    "syncSourceHost": self.sync_source_host() or "",
                    "syncSourceId": _member_id(by_host, self.sync_source_host()),
                    "infoMessage": self._info_message(), "configVersion": self.config["version"],
                    "configTerm": rsc.term_of(self.config), "self": True,
                    "lastHeartbeatMessage": ""}
                if self.state == STATE_PRIMARY and self.election_ts is not None:
                    entry["electionTime"] = self.election_ts
                    entry["electionDate"] = self.election_date
                members.append(entry)
                continue
            data = self.topology.members.get(m["host"])
            if data is None:
                continue
            state = data.state if data.up() else 8
            entry = {"_id": m["_id"], "name": m["host"], "health": data.health,
                     "state": state, "stateStr": STATE_STR.get(state, "UNKNOWN")
                     if data.up() else STATE_NAMES[8],
                     "uptime": data.uptime if data.up() else 0,
                     # a DOWN member's last heartbeat response is emptied (MemberData::
                     # setDownValues): null optimes, no sync source; its wall times are kept
                     "optime": data.applied if data.up() else {"ts": Timestamp(0, 0), "t": Int64(-1)},
                     "optimeDurable": data.durable if data.up() else {"ts": Timestamp(0, 0),
                                                                      "t": Int64(-1)},
                     "optimeDate": data.applied_wall if data.up() else _EPOCH,
                     "optimeDurableDate": data.durable_wall if data.up() else _EPOCH,
                     "lastAppliedWallTime": data.applied_wall,
                     "lastDurableWallTime": data.durable_wall,
                     "lastHeartbeat": data.last_heartbeat,
                     "lastHeartbeatRecv": data.last_heartbeat_recv, "pingMs": Int64(data.ping_ms),
                     "lastHeartbeatMessage": data.message,
                     "syncSourceHost": data.sync_source if data.up() else "",
                     "syncSourceId": _member_id(by_host, data.sync_source) if data.up() else -1,
                     "infoMessage": "", "configVersion": data.config_version,
                     "configTerm": data.config_term}
            if data.state == STATE_PRIMARY and data.up() and data.election_time is not None:
                entry["electionTime"] = data.election_time
                entry["electionDate"] = data.election_date
            members.append(entry)
        voters = len(self._voters())
        majority = voters // 2 + 1
        reply: dict[str, Any] = {
            "set": self.set_name, "date": now, "myState": self.state, "term": Int64(self.term),
            "syncSourceHost": self.sync_source_host() or "",
            "syncSourceId": _member_id(by_host, self.sync_source_host()),
            "heartbeatIntervalMillis": Int64(self.config["settings"].get(
                "heartbeatIntervalMillis", 2000)),
            "majorityVoteCount": majority, "writeMajorityCount": self.write_majority(),
            "votingMembersCount": voters, "writableVotingMembersCount": len(self._data_voters()),
            "optimes": {"lastCommittedOpTime": committed, "lastCommittedWallTime": wall,
                        "readConcernMajorityOpTime": committed, "appliedOpTime": optime,
                        "durableOpTime": optime, "lastAppliedWallTime": wall,
                        "lastDurableWallTime": wall}}
        if self.state == STATE_PRIMARY and self.election_metrics is not None:
            reply["electionCandidateMetrics"] = self.election_metrics
        if self.replicator.initial_sync_status is not None and self.state == STATE_STARTUP2:
            status = dict(self.replicator.initial_sync_status)
            start = status.get("initialSyncStart")
            if isinstance(start, _dt.datetime):
                status["totalInitialSyncElapsedMillis"] = int((now - start).total_seconds() *
                                                              1000)
            reply["initialSyncStatus"] = status
        reply["members"] = members
        return reply

    def _info_message(self) -> str:
        if self.replicator.stale:
            return "could not find member to sync from"
        if self.state == STATE_SECONDARY and self.replicator.sync_source is None and \
                self.topology.primary_host is None:
            return "could not find member to sync from"
        return ""


def new_lsid_key(lsid: Any) -> bytes:
    if isinstance(lsid, dict) and isinstance(lsid.get("id"), (Binary, bytes)):
        return bytes(lsid["id"])
    return _uuid.uuid4().bytes


def _member_id(by_host: dict[str, dict[str, Any]], host: str | None) -> int:
    member = by_host.get(host or "")
    return int(member["_id"]) if member else -1


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
