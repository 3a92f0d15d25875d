"""What one member knows about the others, and the protocol-version-1 machinery built on it:
heartbeats (replSetHeartbeat), elections (dry run, then replSetRequestVotes in a new term),
priority takeover, a primary's liveness check, the election handoff of a stepdown, and the
primary's clean-up of ``newlyAdded`` once a new member has synced.

The rules follow mongod's TopologyCoordinator (topology_coordinator.cpp) and
ReplicationCoordinatorImpl (replication_coordinator_impl_elect_v1.cpp,
replication_coordinator_impl_heartbeat.cpp). Everything runs on the server's event loop; every
request to another member has a deadline (peer.py), so a paused member only stops answering.

Timers are kept as mongod keeps them, each at its own time and not on the heartbeat interval's
beat: the election timeout (electionTimeoutMillis + a random offset of up to 15 %, rescheduled
by a heartbeat answer from the primary of our term, by an oplog batch from a source that knows
a primary, by a new term and by every election attempt), a scheduled priority takeover
((rank + 1) x electionTimeoutMillis + the random offset), and the primary's liveness check
(electionTimeoutMillis after the stalest voter was last heard from).
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bson import Int64, Timestamp

from mongoemu import rsconfig as rsc
from mongoemu.peer import PeerCommandError, PeerError

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.repl import ReplicationCoordinator

STATE_PRIMARY = 1
STATE_SECONDARY = 2
STATE_RECOVERING = 3
STATE_STARTUP2 = 5
STATE_UNKNOWN = 6
STATE_ARBITER = 7
STATE_DOWN = 8
STATE_ROLLBACK = 9
STATE_REMOVED = 10

#: electionTimeoutOffsetLimitFraction: the random offset added to election timeouts and
#: priority takeover delays is at most this fraction of electionTimeoutMillis
ELECTION_OFFSET_FRACTION = 0.15
#: priorityTakeoverFreshnessWindowSeconds (server parameter, default 2)
PRIORITY_TAKEOVER_FRESHNESS_S = 2

NULL_OPTIME: dict[str, Any] = {"ts": Timestamp(0, 0), "t": Int64(-1)}


def optime_key(optime: dict[str, Any] | None) -> tuple[int, int, int]:
    """OpTime ordering: the term first, then the timestamp."""
    if not optime:
        return (-1, 0, 0)
    ts = optime.get("ts") or Timestamp(0, 0)
    return (int(optime.get("t", -1)), ts.time, ts.inc)


def utcnow() -> _dt.datetime:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


@dataclass
class MemberData:
    """One other member as the heartbeats (and replSetUpdatePosition) show it."""

    host: str
    health: float = 0.0           # -1 never contacted yet, 0 down, 1 up
    state: int = STATE_UNKNOWN
    term: int = -1
    applied: dict[str, Any] = field(default_factory=lambda: dict(NULL_OPTIME))
    durable: dict[str, Any] = field(default_factory=lambda: dict(NULL_OPTIME))
    applied_wall: _dt.datetime = EPOCH
    durable_wall: _dt.datetime = EPOCH
    config_version: int = -2
    config_term: int = -1
    last_heartbeat: _dt.datetime = EPOCH
    last_heartbeat_recv: _dt.datetime = EPOCH
    last_ok_monotonic: float = 0.0      # last successful heartbeat answer
    last_contact_monotonic: float = 0.0  # any sign of life (heartbeat answer, position update)
    ping_ms: int = 0
    message: str = ""
    sync_source: str = ""
    uptime: int = 0
    election_time: Timestamp | None = None
    election_date: _dt.datetime | None = None
    contacted: bool = False

    def up(self) -> bool:
        return self.health == 1.0


class Topology:
    """Heartbeats, elections and the primary's view of its secondaries for one member."""

    def __init__(self, coord: "ReplicationCoordinator") -> None:
        self.coord = coord
        self.members: dict[str, MemberData] = {}
        self.primary_host: str | None = None
        self.election_deadline = float("inf")
        self.no_election_until = 0.0          # stepdown period or replSetFreeze
        self.takeover_at: float | None = None  # a scheduled priority takeover
        self.electing = False
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._wakeup = asyncio.Event()
        self._heartbeats_due = True           # the next loop round sends heartbeats
        self._next_heartbeat = 0.0
        self._planned_wake = float("inf")     # when the loop wakes next on its own
        self._removing_newly_added = False
        self.last_election_reason = ""
        # TopologyCoordinator::pingsInConfig: successful heartbeats to members of the config
        self.pings_in_config = 0

    # -- settings -------------------------------------------------------------------------------

    def _setting(self, name: str, default: int) -> int:
        cfg = self.coord.config or {}
        return int(cfg.get("settings", {}).get(name, default))

    @property
    def heartbeat_interval(self) -> float:
        return self._setting("heartbeatIntervalMillis", 2000) / 1000.0

    @property
    def heartbeat_timeout(self) -> float:
        return float(self._setting("heartbeatTimeoutSecs", 10))

    @property
    def election_timeout(self) -> float:
        return self._setting("electionTimeoutMillis", 10000) / 1000.0

    def pings_needed(self) -> int:
        """_chooseSyncSourceInitialChecks: no sync source is chosen before two successful
        heartbeats per other member of the config ("Waiting for pings from other members
        before syncing")."""
        return max(0, 2 * len(self.members) - self.pings_in_config)

    def current_heartbeat_interval(self) -> float:
        """TopologyCoordinator::processHeartbeatResponse: an arbiter heartbeats at least every
        electionTimeout / 2; a member that is not primary and has no sync source at
        min(electionTimeout / 2, heartbeatInterval / 4), to find a primary (and a source)
        sooner; every other member every heartbeatIntervalMillis."""
        coord = self.coord
        interval = self.heartbeat_interval
        me = coord.self_member()
        if me is not None and rsc.is_arbiter(me):
            return min(self.election_timeout / 2, interval)
        if coord.state != STATE_PRIMARY and not coord.replicator.sync_source:
            return min(self.election_timeout / 2, interval / 4)
        return interval

    def random_offset(self) -> float:
        """_getRandomizedElectionOffset_inlock: up to 15 % of the election timeout."""
        return random.uniform(0, ELECTION_OFFSET_FRACTION * self.election_timeout)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for task in list(self._pending):
            task.cancel()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def config_changed(self) -> None:
        """A new config is installed: keep what is known of members still in it."""
        hosts = [m["host"] for m in self.coord.other_members()]
        self.members = {h: self.members.get(h) or MemberData(h) for h in hosts}
        # _setCurrentRSConfig -> _startHeartbeats_inlock -> TopologyCoordinator::
        # resetAllMemberTimeouts(now): every member, new ones included, gets a whole election
        # timeout before the primary's liveness check may count it as not heard from
        now = time.monotonic()
        for data in self.members.values():
            data.last_contact_monotonic = now
        if self.coord.self_member() is None:
            self.pings_in_config = 0  # removed: no sync source until pinged in a new config
        if self.primary_host not in self.members and self.coord.state != STATE_PRIMARY:
            self.primary_host = None
        self.takeover_at = None
        self.reset_election_timer()
        self.heartbeat_now()

    def heartbeat_now(self) -> None:
        """Send the next round of heartbeats at once (a new primary announces itself)."""
        self._heartbeats_due = True
        self._wakeup.set()

    def _wake_by(self, when: float) -> None:
        """A timer moved: wake the loop if it would otherwise sleep past ``when``."""
        if when < self._planned_wake:
            self._wakeup.set()

    def reset_election_timer(self) -> None:
        """_cancelAndRescheduleElectionTimeout_inlock: electionTimeoutMillis from now plus a
        random offset of up to 15 %."""
        self.election_deadline = time.monotonic() + self.election_timeout + self.random_offset()
        self._wake_by(self.election_deadline)

    def cancel_priority_takeover(self) -> None:
        self.takeover_at = None

    def term_updated(self) -> None:
        """_updateTerm_inlock on a newer term: a scheduled priority takeover is cancelled and
        the election timeout starts over."""
        self.cancel_priority_takeover()
        self.reset_election_timer()

    async def _loop(self) -> None:
        while True:
            self._wakeup.clear()
            now = time.monotonic()
            wake = now + self.heartbeat_interval
            if self.coord.config is not None and self.coord.self_member() is not None:
                if self._heartbeats_due or now >= self._next_heartbeat:
                    self._heartbeats_due = False
                    for member in list(self.members.values()):
                        client = self.coord.peers.get(member.host, "heartbeat")
                        if not client.busy:
                            self.spawn(self.heartbeat(member.host))
                    self._next_heartbeat = now + self.current_heartbeat_interval()
                self.tick(now)
                wake = min(self._next_heartbeat, self._next_timer(time.monotonic()))
            self._planned_wake = wake
            try:
                await asyncio.wait_for(self._wakeup.wait(), max(0.0, wake - time.monotonic()))
            except asyncio.TimeoutError:
                pass
            self._planned_wake = float("inf")

    def _next_timer(self, now: float) -> float:
        """The earliest of this member's timers: its election timeout, a scheduled priority
        takeover, or (as primary) the liveness check of the stalest voter heard from."""
        if self.coord.state == STATE_PRIMARY:
            return self._next_liveness_check(now)
        return min(self.election_deadline, self.takeover_at or float("inf"))

    # -- heartbeats ---------------------------------------------------------------------------------

    def heartbeat_request(self, cfg: dict[str, Any] | None = None) -> dict[str, Any]:
        coord = self.coord
        cfg = cfg or coord.config or {}
        me = coord.self_member(cfg)
        return {"replSetHeartbeat": coord.set_name,
                "configVersion": int(cfg.get("version", -2)),
                "configTerm": rsc.term_of(cfg) if cfg else -1, "hbv": 1,
                "from": me["host"] if me else coord.my_host(),
                "fromId": int(me["_id"]) if me else -1, "term": Int64(coord.term)}

    async def heartbeat(self, host: str) -> None:
        coord = self.coord
        member = self.members.get(host)
        if member is None:
            return
        client = coord.peers.get(host, "heartbeat")
        started = time.monotonic()
        member.last_heartbeat = utcnow()
        try:
            reply = await client.command("admin", self.heartbeat_request(),
                                         self.heartbeat_timeout)
        except PeerCommandError as exc:
            member.health = 0.0
            member.state = STATE_DOWN
            member.message = str(exc)
            self._lost_contact(member)
            return
        except PeerError as exc:
            member.message = str(exc)
            refused = "Connection refused" in str(exc)  # a dead process, not a slow one
            if refused or not member.contacted or \
                    time.monotonic() - member.last_ok_monotonic >= self.heartbeat_timeout:
                member.health = 0.0
                member.state = STATE_DOWN
                self._lost_contact(member)
            return
        if self.members.get(host) is not member:
            return  # removed by a reconfig meanwhile
        now = time.monotonic()
        member.ping_ms = int((now - started) * 1000)
        member.health = 1.0
        member.contacted = True
        self.pings_in_config += 1
        member.last_ok_monotonic = member.last_contact_monotonic = now
        member.message = ""
        self.absorb(member, reply)

    def _lost_contact(self, member: MemberData) -> None:
        if self.primary_host == member.host:
            self.primary_host = None
            self.coord.bump()

    def absorb(self, member: MemberData, reply: dict[str, Any]) -> None:
        """Take in a heartbeat answer: the member's state and optimes, a higher term, a newer
        config, who is primary."""
        coord = self.coord
        term = int(reply.get("term", -1))
        if term > coord.term:
            coord.update_term(term, f"heartbeat response from {member.host}")
        old_state = member.state
        member.state = int(reply.get("state", STATE_UNKNOWN))
        member.term = term
        for key, wall_key, attr, wall_attr in (("opTime", "wallTime", "applied", "applied_wall"),
                                               ("durableOpTime", "durableWallTime", "durable",
                                                "durable_wall")):
            if isinstance(reply.get(key), dict) and \
                    optime_key(reply[key]) > optime_key(getattr(member, attr)):
                setattr(member, attr, reply[key])
                if isinstance(reply.get(wall_key), _dt.datetime):
                    setattr(member, wall_attr, reply[wall_key])
            elif isinstance(reply.get(key), dict) and member.state != old_state:
                setattr(member, attr, reply[key])  # a rollback moves it back
        member.config_version = int(reply.get("configVersion", -2))
        member.config_term = int(reply.get("configTerm", -1))
        member.sync_source = str(reply.get("syncingTo", ""))
        member.uptime = int(reply.get("uptime", member.uptime))
        member.election_time = reply.get("electionTime")
        member.election_date = reply.get("electionDate")
        cfg = reply.get("config")
        if isinstance(cfg, dict) and (coord.config is None or supersedes(cfg, coord.config)):
            coord.install_config_from_heartbeat(cfg, member.host)
        if member.state == STATE_PRIMARY and term >= coord.term:
            if coord.state == STATE_PRIMARY and term == coord.term:
                pass  # cannot happen: one vote per term
            elif self.primary_host != member.host:
                self.primary_host = member.host
                coord.bump()
            if coord.state != STATE_PRIMARY:
                # "Postponing election timeout due to heartbeat from primary"
                self.reset_election_timer()
                self._maybe_schedule_priority_takeover(member)
        elif self.primary_host == member.host:
            self.primary_host = None
            coord.bump()
        if coord.state == STATE_PRIMARY:
            coord.progress_changed()
        if member.state != old_state:
            coord.bump()

    def process_heartbeat(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """The answer to replSetHeartbeat (prepareHeartbeatResponseV1)."""
        coord = self.coord
        sender = str(cmd.get("from", ""))
        term = int(cmd.get("term", -1))
        member = self.members.get(sender)
        if member is not None and coord.state != STATE_PRIMARY and \
                (term > coord.term or self.primary_host is None) and \
                not coord.peers.get(sender, "heartbeat").busy:
            # a member in a newer term (a new primary heartbeats at once) or while we know of
            # no primary: heartbeat it back now rather than at the next interval
            self.spawn(self.heartbeat(sender))
        if term > coord.term and coord.config is not None:
            coord.update_term(term, f"heartbeat from {sender}")
        if member is not None:
            member.last_heartbeat_recv = utcnow()
            member.last_contact_monotonic = time.monotonic()
        cfg = coord.config
        applied = coord.applied_optime()
        wall = coord.last_applied.get("wall", EPOCH)
        reply: dict[str, Any] = {"ok": 1.0, "set": coord.set_name, "state": coord.state,
                                 "term": Int64(coord.term),
                                 "configVersion": int(cfg["version"]) if cfg else -2,
                                 "configTerm": rsc.term_of(cfg) if cfg else -1,
                                 "durableOpTime": applied, "durableWallTime": wall,
                                 "opTime": applied, "wallTime": wall,
                                 "syncingTo": coord.sync_source_host() or "",
                                 "uptime": int(coord.server.uptime()),
                                 "electionTime": coord.election_ts,
                                 "electionDate": coord.election_date}
        if reply["electionTime"] is None:
            del reply["electionTime"], reply["electionDate"]
        if coord.state == STATE_PRIMARY:
            reply["primaryId"] = int((coord.self_member() or {}).get("_id", -1))
        sender_cfg = {"version": int(cmd.get("configVersion", -2)),
                      "term": int(cmd.get("configTerm", -1))}
        if cfg is not None and (sender_cfg["version"] < 0 or supersedes(cfg, sender_cfg)):
            reply["config"] = cfg
        elif sender and sender_cfg["version"] > 0 and \
                (cfg is None or supersedes(sender_cfg, cfg)):
            # the sender has a newer config: fetch it with a heartbeat of our own
            self.spawn(self._fetch_config_from(sender))
        return reply

    async def _fetch_config_from(self, host: str) -> None:
        coord = self.coord
        client = coord.peers.get(host, "config")
        if client.busy:
            return
        try:
            reply = await client.command("admin", self.heartbeat_request(), self.heartbeat_timeout)
        except PeerError:
            return
        cfg = reply.get("config")
        if isinstance(cfg, dict) and (coord.config is None or supersedes(cfg, coord.config)):
            coord.install_config_from_heartbeat(cfg, host)
        member = self.members.get(host)
        if member is not None:
            member.health = 1.0
            member.contacted = True
            self.pings_in_config += 1
            member.last_ok_monotonic = member.last_contact_monotonic = time.monotonic()
            self.absorb(member, reply)

    # -- periodic checks -----------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        coord = self.coord
        now = time.monotonic() if now is None else now
        if coord.state == STATE_PRIMARY:
            self._check_liveness(now)
            self._maybe_remove_newly_added()
            return
        if now >= self.election_deadline:
            # heartbeats and oplog batches from a live primary push the deadline back;
            # reaching it means no primary has been heard from within the election timeout.
            # mongod reschedules the timeout first, whether or not this member may stand.
            self.reset_election_timer()
            if self.can_stand(now):
                self.primary_host = None
                self.spawn(self.run_election("electionTimeout"))
                return
        if self.takeover_at is not None and now >= self.takeover_at:
            self.takeover_at = None
            why = self._unelectable_reason(now)
            if not why and not self._fresh_enough_for_priority_takeover():
                why = ("member is not caught up enough to the most up-to-date member to call "
                       "for priority takeover - must be within "
                       f"{PRIORITY_TAKEOVER_FRESHNESS_S} seconds")
            if why:
                coord.server.logger.info("ELECTION", 4615656, "ReplCoord", "Not starting an "
                                         "election for a priority takeover, since we are not "
                                         "electable", reason=f"Not standing for election "
                                         f"because {why}")
            else:
                self.spawn(self.run_election("priorityTakeover"))

    def _unelectable_reason(self, now: float) -> str:
        """The gist of TopologyCoordinator::_getUnelectableReasonString for this member."""
        coord = self.coord
        me = coord.self_member()
        if me is None:
            return "node is not a member of a valid replica set configuration"
        if rsc.is_arbiter(me):
            return "member is an arbiter"
        if not rsc.is_electable(me):
            return "member has zero priority"
        if self.electing:
            return "already candidate"
        if now < self.no_election_until:
            return "I am still waiting for stepdown period to end"
        if coord.state != STATE_SECONDARY:
            return "member is not currently a secondary"
        return ""

    def can_stand(self, now: float | None = None) -> bool:
        coord = self.coord
        me = coord.self_member()
        now = time.monotonic() if now is None else now
        return (me is not None and rsc.is_electable(me) and coord.state == STATE_SECONDARY
                and not self.electing and now >= self.no_election_until)

    def _check_liveness(self, now: float) -> None:
        """A primary that has not heard from a majority of the voters within the election
        timeout steps down."""
        coord = self.coord
        voters = [m for m in (coord.config or {}).get("members", []) if rsc.is_voter(m)]
        majority = len(voters) // 2 + 1
        seen = 0
        for m in voters:
            if coord.server.is_self_host(m["host"]):
                seen += 1
                continue
            data = self.members.get(m["host"])
            if data and now - data.last_contact_monotonic < self.election_timeout:
                seen += 1
        if seen < majority and now - coord.primary_since >= self.election_timeout:
            coord.step_down_now("Can't see a majority of the set, relinquishing primary",
                                21809)

    def _next_liveness_check(self, now: float) -> float:
        """_scheduleNextLivenessUpdate_inlock: the next check is due electionTimeout after
        the stalest voter that still counts as heard from (and electionTimeout after this
        member became primary)."""
        timeout = self.election_timeout
        due = [self.coord.primary_since + timeout]
        for m in (self.coord.config or {}).get("members", []):
            data = self.members.get(m["host"]) if rsc.is_voter(m) else None
            if data is not None:
                due.append(data.last_contact_monotonic + timeout)
        return min((t for t in due if t > now), default=float("inf"))

    def _maybe_schedule_priority_takeover(self, primary_data: MemberData) -> None:
        """TopologyCoordinator::_shouldTakeOverPrimary on a heartbeat answer from the primary
        of our term: a member of higher priority than the primary schedules a priority
        takeover at (its priority rank + 1) x electionTimeoutMillis plus the random offset
        (ReplSetConfig::getPriorityTakeoverDelay), unless one is already scheduled."""
        coord = self.coord
        me = coord.self_member()
        primary = coord.member_config(primary_data.host)
        if me is None or primary is None or primary_data.term != coord.term or \
                rsc.priority(primary) >= rsc.priority(me) or self.takeover_at is not None:
            return
        rank = sum(1 for m in coord.config["members"] if rsc.priority(m) > rsc.priority(me))
        self.takeover_at = time.monotonic() + (rank + 1) * self.election_timeout + \
            self.random_offset()
        coord.server.logger.info("ELECTION", 4615601, "ReplCoord", "Scheduling priority "
                                 "takeover", when=utcnow() + _dt.timedelta(
                                     seconds=self.takeover_at - time.monotonic()))
        self._wake_by(self.takeover_at)

    def _fresh_enough_for_priority_takeover(self) -> bool:
        """TopologyCoordinator::_amIFreshEnoughForPriorityTakeover: our last applied optime
        has the term of the newest one we know of (ours or a healthy member's) and is within
        priorityTakeoverFreshnessWindowSeconds of it (1000 increments within one second)."""
        mine = self.coord.applied_optime()
        latest = max([mine] + [d.applied for d in self.members.values()
                               if d.up() and d.state != STATE_REMOVED], key=optime_key)
        if int(mine.get("t", -1)) != int(latest.get("t", -1)):
            return False
        ours, newest = mine["ts"], latest["ts"]
        if ours.time != newest.time:
            return ours.time + PRIORITY_TAKEOVER_FRESHNESS_S >= newest.time
        return ours.inc + 1000 >= newest.inc

    def _maybe_remove_newly_added(self) -> None:
        """ReplicationCoordinatorImpl::_reconfigToRemoveNewlyAddedField: once a new member is
        SECONDARY, the primary drops its newlyAdded flag in a reconfig of its own."""
        coord = self.coord
        if self._removing_newly_added or coord.config_busy:
            return
        ready = [m for m in coord.config["members"] if rsc.is_newly_added(m) and
                 (data := self.members.get(m["host"])) is not None and data.up() and
                 data.state == STATE_SECONDARY]
        if not ready or not coord.config_committed():
            return
        ready = ready[:1]  # mongod removes the flag one member per reconfig
        self._removing_newly_added = True

        async def remove() -> None:
            try:
                await coord.remove_newly_added([m["_id"] for m in ready])
            finally:
                self._removing_newly_added = False

        self.spawn(remove())

    # -- elections ------------------------------------------------------------------------------

    async def run_election(self, reason: str, skip_dry_run: bool = False) -> bool:
        coord = self.coord
        if self.electing or coord.state == STATE_PRIMARY:
            return coord.state == STATE_PRIMARY
        me = coord.self_member()
        if me is None or not rsc.is_electable(me):
            return False
        self.electing = True
        self.last_election_reason = reason
        # _startElectSelfIfEligibleV1: a scheduled takeover is cancelled and the election
        # timeout rescheduled before every attempt, whatever its outcome
        self.cancel_priority_takeover()
        self.reset_election_timer()
        log = coord.server.logger
        try:
            voters = [m for m in coord.config["members"] if rsc.is_voter(m)]
            majority = len(voters) // 2 + 1
            if reason == "electionTimeout":
                log.info("ELECTION", 4615652, "ReplCoord", "Starting an election, since we've "
                         "seen no PRIMARY in election timeout period",
                         electionTimeoutPeriod=f"{int(self.election_timeout * 1000)}ms")
            elif reason == "priorityTakeover":
                log.info("ELECTION", 4615660, "ReplCoord", "Starting an election for a "
                         "priority takeover")
            else:
                log.info("ELECTION", 4615661, "ReplCoord", "Starting an election due to step "
                         "up request")
            original_term = coord.term
            if skip_dry_run:
                log.info("ELECTION", 21437, "ReplCoord", "Skipping dry run and running for "
                         "election", newTerm=original_term + 1)
            else:
                log.info("ELECTION", 21438, "ReplCoord", "Conducting a dry run election to see "
                         "if we could be elected", currentTerm=original_term)
                granted = await self._request_votes(voters, dry_run=True, term=original_term)
                if coord.term != original_term:
                    # _processDryRunResult: a newer term appeared meanwhile (we voted in it,
                    # or a voter answered with it): another candidate is ahead of us
                    log.info("ELECTION", 21439, "ReplCoord", "Not running for primary, we have "
                             "been superseded already during dry run",
                             originalTerm=original_term, currentTerm=coord.term)
                    return False
                if granted < majority or coord.state != STATE_SECONDARY:
                    log.info("ELECTION", 21440, "ReplCoord", "Not running for primary, we "
                             "received insufficient votes", votes=granted, needed=majority)
                    return False
                log.info("ELECTION", 21444, "ReplCoord", "Dry election run succeeded, running "
                         "for election", newTerm=original_term + 1)
            new_term = original_term + 1
            coord.set_term(new_term)
            coord.record_vote(new_term, int(me["_id"]))
            granted = await self._request_votes(voters, dry_run=False, term=new_term)
            if coord.term != new_term or coord.state != STATE_SECONDARY:
                log.info("ELECTION", 21446, "ReplCoord", "Not becoming primary, we have been "
                         "superseded already during election", electionTerm=new_term,
                         currentTerm=coord.term)
                return False
            if granted < majority:
                log.info("ELECTION", 21447, "ReplCoord", "Not becoming primary, we received "
                         "insufficient votes", votes=granted, needed=majority)
                return False
            log.info("ELECTION", 21450, "ReplCoord", "Election succeeded, assuming primary role",
                     term=new_term)
            coord.election_metrics = {
                "lastElectionReason": reason, "lastElectionDate": utcnow(),
                "electionTerm": Int64(new_term),
                "lastCommittedOpTimeAtElection": coord.commit_point(),
                "lastSeenOpTimeAtElection": coord.applied_optime(),
                "numVotesNeeded": majority, "priorityAtElection": rsc.priority(me),
                "electionTimeoutMillis": Int64(int(self.election_timeout * 1000)),
                "numCatchUpOps": Int64(0), "newTermStartDate": utcnow(),
                "wMajorityWriteAvailabilityDate": utcnow()}
            await coord.assume_primary()
            return coord.state == STATE_PRIMARY
        finally:
            self.electing = False

    async def _request_votes(self, voters: list[dict[str, Any]], *, dry_run: bool,
                             term: int) -> int:
        coord = self.coord
        me = coord.self_member()
        assert me is not None
        request = {"replSetRequestVotes": 1, "setName": coord.set_name, "dryRun": dry_run,
                   "term": Int64(term), "candidateIndex": coord.config["members"].index(me),
                   "configVersion": int(coord.config["version"]),
                   "configTerm": rsc.term_of(coord.config),
                   "lastAppliedOpTime": coord.applied_optime()}
        granted = 1 if rsc.is_voter(me) else 0
        others = [m for m in voters if m is not me]
        timeout = max(self.election_timeout, 0.5)

        async def ask(host: str) -> dict[str, Any] | None:
            try:
                return await coord.peers.get(host, "vote").command("admin", request, timeout)
            except PeerError:
                return None

        replies = await asyncio.gather(*(ask(m["host"]) for m in others))
        for reply in replies:
            if reply is None:
                continue
            if int(reply.get("term", -1)) > coord.term:
                coord.update_term(int(reply["term"]), "vote response")
            if reply.get("voteGranted"):
                granted += 1
        return granted

    def process_request_votes(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """TopologyCoordinator::processReplSetRequestVotes."""
        coord = self.coord
        term = int(cmd.get("term", -1))
        dry_run = bool(cmd.get("dryRun"))
        if term > coord.term:
            # ReplicationCoordinatorImpl::processReplSetRequestVotes updates the term first,
            # dry run or not; a newer term also restarts the election timeout (term_updated)
            coord.update_term(term, "vote request")
        cfg = coord.config
        reason = ""
        candidate_cfg = {"version": int(cmd.get("configVersion", -1)),
                         "term": int(cmd.get("configTerm", -1))}
        index = int(cmd.get("candidateIndex", -1))
        mine = coord.applied_optime()
        if cfg is None:
            reason = "no replica set config"
        elif term < coord.term:
            reason = f"candidate's term ({term}) is lower than mine ({coord.term})"
        elif rsc.newer(candidate_cfg, cfg):
            reason = (f"candidate's config with {rsc.version_and_term(candidate_cfg)} is older "
                      f"than mine with {rsc.version_and_term(cfg)}")
        elif cmd.get("setName") != coord.set_name:
            reason = (f"candidate's set name ({cmd.get('setName')}) differs from mine "
                      f"({coord.set_name})")
        elif optime_key(cmd.get("lastAppliedOpTime")) < optime_key(mine):
            reason = ("candidate's data is staler than mine. candidate's last applied OpTime: "
                      f"{_fmt_optime(cmd.get('lastAppliedOpTime'))}, my last applied OpTime: "
                      f"{_fmt_optime(mine)}")
        elif not dry_run and coord.last_vote.get("term") == term:
            reason = (f"already voted for another candidate "
                      f"({coord.last_vote.get('candidateIndex')}) this term ({term})")
        elif coord.state == STATE_ARBITER and _same_version_and_term(candidate_cfg, cfg) and \
                self._healthy_primary_at_least(index):
            # only with the same config: in a newer one this member may not be an arbiter
            reason = f"can see a healthy primary ({self.primary_host}) of equal or greater priority"
        granted = not reason
        if granted and not dry_run:
            coord.record_vote(term, index)
        coord.server.logger.info("ELECTION", 5972100 if dry_run else 5972101, "conn",
                                 "Received vote request", term=term, dryRun=dry_run,
                                 candidateIndex=index, voteGranted=granted, reason=reason)
        return {"term": Int64(coord.term), "voteGranted": granted, "reason": reason, "ok": 1.0}

    def _healthy_primary_at_least(self, candidate_index: int) -> bool:
        coord = self.coord
        members = coord.config["members"]
        if self.primary_host is None or not 0 <= candidate_index < len(members):
            return False
        primary = coord.member_config(self.primary_host)
        data = self.members.get(self.primary_host)
        return bool(primary and data and data.up() and
                    rsc.priority(primary) >= rsc.priority(members[candidate_index]))

    # -- positions (replSetUpdatePosition) --------------------------------------------------------

    def process_update_position(self, cmd: dict[str, Any]) -> None:
        """CmdReplSetUpdatePosition::run (repl_set_commands.cpp) processes the sender's $replData
        first: a newer term makes a primary step down before it counts any position, so a member
        that has voted in a newer term never completes a w:"majority" wait of the older one."""
        coord = self.coord
        meta = cmd.get("$replData")
        if isinstance(meta, dict) and isinstance(meta.get("term"), int) and int(meta["term"]) > coord.term:
            coord.update_term(int(meta["term"]), "replSetUpdatePosition")
        by_id = {int(m["_id"]): m["host"] for m in (coord.config or {}).get("members", [])}
        now = time.monotonic()
        for entry in cmd.get("optimes", []):
            host = by_id.get(int(entry.get("memberId", -1)))
            member = self.members.get(host or "")
            if member is None:
                continue
            member.last_contact_monotonic = now
            for key, attr, wall_key, wall_attr in (
                    ("appliedOpTime", "applied", "appliedWallTime", "applied_wall"),
                    ("durableOpTime", "durable", "durableWallTime", "durable_wall")):
                optime = entry.get(key)
                if isinstance(optime, dict) and \
                        optime_key(optime) > optime_key(getattr(member, attr)):
                    setattr(member, attr, optime)
                    if isinstance(entry.get(wall_key), _dt.datetime):
                        setattr(member, wall_attr, entry[wall_key])
        coord.progress_changed()

    # -- views ----------------------------------------------------------------------------------

    def caught_up_electable(self) -> str | None:
        """An electable, healthy secondary whose applied optime equals ours."""
        coord = self.coord
        mine = optime_key(coord.applied_optime())
        best = None
        for m in coord.other_members():
            data = self.members.get(m["host"])
            if data and data.up() and data.state == STATE_SECONDARY and rsc.is_electable(m) \
                    and optime_key(data.applied) >= mine:
                if best is None or rsc.priority(m) > rsc.priority(best):
                    best = m
        return best["host"] if best else None


def supersedes(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """``new`` replaces ``old``: newer by ConfigVersionAndTerm, or the same version that a new
    primary has stamped with its term (the step-up reconfig after a force reconfig, whose
    term is -1)."""
    if rsc.newer(old, new):
        return True
    return int(new["version"]) == int(old["version"]) and \
        rsc.term_of(old) == rsc.UNINITIALIZED_TERM and rsc.term_of(new) > rsc.term_of(old)


def same_config(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not supersedes(a, b) and not supersedes(b, a)


def _same_version_and_term(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """ConfigVersionAndTerm::operator==: terms are ignored when either is -1."""
    if rsc.term_of(a) == rsc.UNINITIALIZED_TERM or rsc.term_of(b) == rsc.UNINITIALIZED_TERM:
        return int(a["version"]) == int(b["version"])
    return (int(a["version"]), rsc.term_of(a)) == (int(b["version"]), rsc.term_of(b))


def _fmt_optime(optime: Any) -> str:
    if not isinstance(optime, dict):
        return "{}"
    ts = optime.get("ts") or Timestamp(0, 0)
    return f"{{ ts: Timestamp({ts.time}, {ts.inc}), t: {int(optime.get('t', -1))} }}"
