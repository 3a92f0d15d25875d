"""Data replication of one member: choosing a sync source, fetching its oplog over the wire
with a tailable awaitData cursor, applying entries in order (secondaryDelaySecs honoured, the
rsSyncApplyStop and stopReplProducer fail points), reporting progress to the primary
(replSetUpdatePosition), initial sync of an empty member, the too-stale check, and rollback
of writes that never reached the rest of the set.

Models: OplogFetcher / sync_source_selector / InitialSyncer / RollbackImpl in mongod's
src/mongo/db/repl. The rollback here is the "refetch" flavour mongod used before 4.0 (undone
documents are re-read from the sync source), with 4.4+'s file layout for what was undone
(<dbPath>/rollback/<collection UUID>/removed.<time>.bson).
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import bson
from bson import Int64, Timestamp

from mongoemu import release
from mongoemu import rsconfig as rsc
from mongoemu.oplog_apply import apply_entry
from mongoemu.peer import PeerClient, PeerError
from mongoemu.topology import (STATE_PRIMARY, STATE_SECONDARY, EPOCH, optime_key, utcnow)

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.repl import ReplicationCoordinator

OPLOG = "oplog.rs"
OPLOG_NS = "local.oplog.rs"
BATCH = 2000
AWAIT_MS = 500
#: InitialSyncer's syncSourceRetryWait: the wait before looking for a sync source again
SYNC_SOURCE_RETRY_WAIT_S = 1.0


class TooStale(Exception):
    pass


class Diverged(Exception):
    pass


class SourceGone(Exception):
    pass


class Replicator:
    def __init__(self, coord: "ReplicationCoordinator") -> None:
        self.coord = coord
        self.sync_source: str | None = None
        self.forced_source: str | None = None     # replSetSyncFrom
        self.initial_sync_status: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._position_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._position_again = False
        self._stale_sources: dict[str, float] = {}
        self.stale = False

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run())
            self._keepalive_task = loop.create_task(self._keepalive())

    def stop(self) -> None:
        for task in (self._task, self._position_task, self._keepalive_task):
            if task is not None:
                task.cancel()
        self._task = self._position_task = self._keepalive_task = None

    async def _keepalive(self) -> None:
        """mongod's Reporter: a replSetUpdatePosition at least every electionTimeout / 2,
        also when idle, so the primary knows its secondaries are alive whatever the
        heartbeat interval."""
        coord = self.coord
        while True:
            await asyncio.sleep(max(0.05, coord.topology.election_timeout / 2))
            me = coord.self_member()
            if me is not None and coord.state not in (STATE_PRIMARY,) and \
                    not rsc.is_arbiter(me):
                self.report_position()

    @property
    def _server(self) -> Any:
        return self.coord.server

    def _failpoint_on(self, name: str) -> bool:
        fp = self._server.failpoints.get(name)
        return bool(fp) and fp.get("mode") not in (None, "off")

    async def _run(self) -> None:
        coord = self.coord
        while True:
            try:
                if not coord.should_replicate():
                    await coord.wait_changed(1.0)
                    continue
                if coord.needs_initial_sync():
                    await self._initial_sync_attempt()
                    continue
                source = self.choose_source()
                if source is None:
                    await coord.wait_changed(coord.topology.heartbeat_interval)
                    continue
                await self._follow(source)
            except asyncio.CancelledError:
                raise
            except (PeerError, SourceGone) as exc:
                self._server.logger.info("REPL", 21275, "BackgroundSync", "Sync source "
                                         "unusable; choosing another", source=self.sync_source,
                                         reason=str(exc))
                self._set_source(None)
                await asyncio.sleep(0.05)
            except TooStale as exc:
                self._stale_sources[str(exc)] = time.monotonic()
                self._set_source(None)
                self._maybe_declare_stale()
                await asyncio.sleep(0.2)
            except Exception as exc:  # keep replicating; record the bug in the log
                import traceback

                self._server.logger.error("REPL", 21800, "BackgroundSync", "Replication error",
                                          error=repr(exc), trace=traceback.format_exc())
                self._set_source(None)
                await asyncio.sleep(0.5)

    def _set_source(self, host: str | None) -> None:
        if host != self.sync_source:
            self.sync_source = host
            if host is not None:
                self._server.logger.info("REPL", 21799, "BackgroundSync", "Sync source "
                                         "candidate chosen", syncSource=host)
            self.coord.bump()

    # -- sync source selection ----------------------------------------------------------------

    def choose_source(self) -> str | None:
        """TopologyCoordinator::chooseNewSyncSource, simplified: a forced source first, then
        the primary, else (chainingAllowed) the closest healthy member that is ahead of us.
        Sources found too stale recently are skipped."""
        coord = self.coord
        topo = coord.topology
        if topo.pings_needed() > 0 and not self.forced_source:
            return None  # "Waiting for pings from other members before syncing"
        mine = optime_key(coord.applied_optime())
        now = time.monotonic()
        candidates: list[tuple[int, int, str]] = []
        for m in coord.other_members():
            host = m["host"]
            data = topo.members.get(host)
            if data is None or not data.up() or rsc.is_arbiter(m) or \
                    data.state not in (STATE_PRIMARY, STATE_SECONDARY):
                continue
            if now - self._stale_sources.get(host, -1e9) < 10:
                continue
            # a candidate must be ahead of us (the primary may be level): no sync cycles
            ahead = optime_key(data.applied) > mine
            if not ahead and not (data.state == STATE_PRIMARY and optime_key(data.applied) == mine):
                continue
            if m.get("buildIndexes") is False and self._build_indexes():
                continue
            if host == self.forced_source:
                return host
            rank = 0 if data.state == STATE_PRIMARY else 1
            candidates.append((rank, data.ping_ms, host))
        if not candidates:
            return None
        candidates.sort()
        rank, _ping, host = candidates[0]
        if rank != 0 and not self._chaining_allowed() and coord.state != STATE_PRIMARY:
            primary = [c for c in candidates if c[0] == 0]
            return primary[0][2] if primary else None
        if coord.state == STATE_PRIMARY:  # catch-up: the most up-to-date member
            best = max(candidates, key=lambda c: optime_key(topo.members[c[2]].applied))
            return best[2]
        return host

    def _chaining_allowed(self) -> bool:
        return bool((self.coord.config or {}).get("settings", {}).get("chainingAllowed", True))

    def _build_indexes(self) -> bool:
        me = self.coord.self_member() or {}
        return me.get("buildIndexes", True) is not False

    def _source_still_good(self, source: str) -> bool:
        coord = self.coord
        if not coord.should_replicate():
            return False
        data = coord.topology.members.get(source)
        if data is None or not data.up():
            return False
        if self.forced_source and self.forced_source != source:
            return False
        primary = coord.topology.primary_host
        if primary and primary != source and coord.state != STATE_PRIMARY:
            if not self._chaining_allowed():
                return False
            # a secondary source that has stopped moving while the primary is ahead of it
            # (maxSyncSourceLagSecs in mongod) is left for the primary
            lead = coord.topology.members.get(primary)
            if lead is not None and lead.up() and \
                    optime_key(lead.applied) > optime_key(data.applied) and \
                    optime_key(data.applied) <= optime_key(coord.applied_optime()):
                return False
        return data.state in (STATE_PRIMARY, STATE_SECONDARY)

    # -- steady state -----------------------------------------------------------------------------

    def _await_ms(self) -> int:
        """The awaitData getMore's maxTimeMS: mongod's OplogFetcher waits electionTimeout / 2
        (calculateAwaitDataTimeout), so that even an idle source answers - and proves the
        primary alive - at least twice per election timeout; capped here at AWAIT_MS."""
        return max(10, min(AWAIT_MS, int(self.coord.topology.election_timeout * 500)))

    def _timeout(self) -> float:
        topo = self.coord.topology
        return AWAIT_MS / 1000.0 + max(1.0, min(topo.heartbeat_timeout, topo.election_timeout))

    async def _follow(self, source: str) -> None:
        coord = self.coord
        client = coord.peers.get(source, "oplog")
        mine = coord.applied_optime()
        self._set_source(source)
        reply = await client.command("local", {
            "find": OPLOG, "filter": {"ts": {"$gte": mine["ts"]}}, "tailable": True,
            "awaitData": True, "batchSize": BATCH, "term": Int64(coord.term)}, self._timeout())
        cursor = reply["cursor"]
        batch = cursor["firstBatch"]
        if not batch:
            raise SourceGone(f"{source} has no oplog entry at or after ours")
        first = batch[0]
        if first["ts"] != mine["ts"] or int(first.get("t", -1)) != int(mine["t"]):
            oldest = await self._oldest_entry(client)
            if oldest is not None and oldest["ts"] > mine["ts"]:
                self._log_too_stale(source, mine, oldest)
                raise TooStale(source)
            await self.rollback(source, client)
            return
        self._stale_sources.pop(source, None)
        if self.stale:
            self.stale = False
            coord.refresh_follower_state()
        batch = batch[1:]
        cursor_id = cursor["id"]
        try:
            while True:
                # stopReplProducer also holds a batch already on its way: once the fail point
                # is on, nothing written after it is fetched (the batch is fetched again later)
                while self._failpoint_on("stopReplProducer"):
                    await asyncio.sleep(0.05)
                    if not self._source_still_good(source):
                        return
                if batch:
                    await self.apply_batch(batch)
                if not cursor_id:
                    return
                if not self._source_still_good(source):
                    return
                reply = await client.command("local", {
                    "getMore": cursor_id, "collection": OPLOG, "batchSize": BATCH,
                    "maxTimeMS": self._await_ms(), "term": Int64(coord.term)}, self._timeout())
                cursor = reply["cursor"]
                batch = cursor["nextBatch"]
                cursor_id = cursor["id"]
                if coord.topology.primary_host is not None and coord.state != STATE_PRIMARY:
                    # the oplog keeps flowing from the primary (directly, or through a chained
                    # source that follows it): as mongod does with the fetcher's metadata, this
                    # proves the primary alive like a heartbeat and postpones an election
                    coord.topology.reset_election_timer()
        finally:
            if cursor_id:
                coord.topology.spawn(self._kill_cursor(client, cursor_id))

    async def _kill_cursor(self, client: PeerClient, cursor_id: int) -> None:
        try:
            await client.command("local", {"killCursors": OPLOG, "cursors": [cursor_id]}, 2.0)
        except PeerError:
            pass

    async def _oldest_entry(self, client: PeerClient) -> dict[str, Any] | None:
        reply = await client.command("local", {"find": OPLOG, "filter": {}, "sort": {"$natural": 1},
                                               "limit": 1, "singleBatch": True}, self._timeout())
        batch = reply["cursor"]["firstBatch"]
        return batch[0] if batch else None

    async def apply_batch(self, batch: list[dict[str, Any]]) -> None:
        coord = self.coord
        delay = int((coord.self_member() or {}).get("secondaryDelaySecs", 0) or 0)
        pending: list[dict[str, Any]] = []
        for entry in batch:
            while self._failpoint_on("rsSyncApplyStop"):
                await asyncio.sleep(0.05)
            if delay:
                wall = entry.get("wall")
                if isinstance(wall, _dt.datetime):
                    due = wall.replace(tzinfo=wall.tzinfo or _dt.timezone.utc) + \
                        _dt.timedelta(seconds=delay)
                    wait = (due - utcnow()).total_seconds()
                    if wait > 0:
                        self._commit(pending)
                        pending = []
                        await self._sleep_until(due)
            pending.append(entry)
        self._commit(pending)

    async def _sleep_until(self, due: _dt.datetime) -> None:
        while (left := (due - utcnow()).total_seconds()) > 0:
            await asyncio.sleep(min(left, 1.0))

    def _commit(self, entries: list[dict[str, Any]]) -> None:
        coord = self.coord
        if not entries or (coord.state == STATE_PRIMARY and not coord.catching_up):
            return  # a batch that arrives after this member became a writable primary
        storage = self._server.storage
        build_indexes = self._build_indexes()
        fcv_writes = self._check_fcv_entries(entries)
        with storage.transaction():
            coord.ensure_oplog()
            for entry in entries:
                apply_entry(storage, entry, build_indexes=build_indexes)
                storage.insert(OPLOG_NS, entry)
            coord.note_applied(entries[-1])
        if fcv_writes:
            self._server.fcv_changed()
        self.report_position()

    def _check_fcv_entries(self, entries: list[dict[str, Any]]) -> bool:
        """FcvOpObserver::_onInsertOrUpdate parses a replicated FCV document with this
        binary's parser (uassertStatusOK): an older binary that meets a newer release's FCV
        fails the batch, and OplogApplierImpl fasserts (34437, exit 14)."""
        found = False
        for entry in entries:
            if entry.get("ns") != release.FCV_NS or entry.get("op") not in ("i", "u"):
                continue
            doc = entry.get("o") or {}
            if (entry.get("o2") or doc).get("_id") != release.FCV_ID:
                continue
            found = True
            if "$v" in doc:
                continue
            try:
                release.parse_document({"_id": release.FCV_ID, **doc})
            except release.FcvError as exc:
                self._fatal_apply(entry, exc)
        return found

    def _fatal_apply(self, entry: dict[str, Any], exc: "release.FcvError") -> None:
        log = self._server.logger
        error = f"Location{exc.code}: {exc.message}"
        log.log("F", "REPL", 21238, "OplogApplier-0", "Failed to apply batch of operations",
                {"numOperationsInBatch": 1, "firstOperation": entry, "error": error})
        log.log("F", "ASSERT", 23090, "OplogApplier-0", "Fatal assertion",
                {"msgid": 34437, "error": error, "file": "src/mongo/db/repl/oplog_applier_impl.cpp"})
        log.log("F", "ASSERT", 23091, "OplogApplier-0",
                "\n\n***aborting after fassert() failure\n\n")
        log.close()
        os._exit(release.EXIT_ABRUPT)

    # -- progress ---------------------------------------------------------------------------------

    def report_position(self) -> None:
        """replSetUpdatePosition to the primary (or the sync source), coalesced: at most one
        in flight, and one more after it when progress was made meanwhile."""
        if self._position_task is not None and not self._position_task.done():
            self._position_again = True
            return
        self._position_task = asyncio.get_running_loop().create_task(self._send_position())

    async def _send_position(self) -> None:
        coord = self.coord
        while True:
            self._position_again = False
            target = coord.topology.primary_host or self.sync_source
            me = coord.self_member()
            if target and me is not None:
                applied = coord.applied_optime()
                wall = coord.last_applied.get("wall", EPOCH)
                doc = {"replSetUpdatePosition": 1, "optimes": [{
                    "durableOpTime": applied, "durableWallTime": wall, "appliedOpTime": applied,
                    "appliedWallTime": wall, "memberId": int(me["_id"]),
                    "cfgver": int(coord.config["version"])}],
                    "$replData": {"term": Int64(coord.term)}}  # the upstream learns a newer term
                try:
                    await coord.peers.get(target, "position").command(
                        "admin", doc, coord.topology.heartbeat_timeout)
                except PeerError:
                    pass
            if not self._position_again:
                return

    # -- too stale ----------------------------------------------------------------------------------

    def _log_too_stale(self, source: str, mine: dict[str, Any], oldest: dict[str, Any]) -> None:
        self._server.logger.info("REPL", 21799, "BackgroundSync", "We are too stale to use "
                                 "candidate as a sync source", candidate=source,
                                 lastOpTimeFetchedTimestamp=mine["ts"],
                                 remoteEarliestOpTimeTimestamp=oldest["ts"])

    def _maybe_declare_stale(self) -> None:
        """When every usable member has rolled its oplog past ours: RECOVERING until resynced."""
        if self.coord.topology.pings_needed() > 0 or self.choose_source() is not None or \
                self.stale:
            return
        self.stale = True
        self._server.logger.error("REPL", 21799, "BackgroundSync", "too stale to catch up -- "
                                  "entering maintenance mode; see http://dochub.mongodb.org/"
                                  "core/resyncingaverystalereplicasetmember",
                                  lastOpTimeFetched=self.coord.applied_optime())
        self.coord.refresh_follower_state()

    # -- initial sync -------------------------------------------------------------------------------

    async def _initial_sync_attempt(self) -> None:
        source = self.choose_source()
        status = self.initial_sync_status
        if status is None:
            status = self.initial_sync_status = {
                "failedInitialSyncAttempts": 0, "maxFailedInitialSyncAttempts": 10,
                "initialSyncStart": utcnow(), "initialSyncAttempts": []}
        if source is None:
            # InitialSyncer::_chooseSyncSourceCallback tries again after syncSourceRetryWait
            await asyncio.sleep(SYNC_SOURCE_RETRY_WAIT_S)
            return
        started = time.monotonic()
        try:
            await self._initial_sync(source, status, started)
        except (PeerError, SourceGone) as exc:
            status["failedInitialSyncAttempts"] += 1
            status["initialSyncAttempts"].append({
                "durationMillis": int((time.monotonic() - started) * 1000),
                "status": f"InitialSyncFailure: {exc}", "syncSource": source})
            self._server.logger.error("INITSYNC", 21200, "ReplCoordExtern-0", "Initial sync "
                                      "attempt failed", error=str(exc), syncSource=source)
            self._set_source(None)
            await asyncio.sleep(0.2)

    async def _initial_sync(self, source: str, status: dict[str, Any], started: float) -> None:
        coord = self.coord
        storage = self._server.storage
        log = self._server.logger
        client = coord.peers.get(source, "clone")
        timeout = self._timeout()
        self._set_source(source)
        coord.set_initial_sync_flag(True)
        log.info("INITSYNC", 21173, "ReplCoordExtern-0", "Starting initial sync attempt",
                 syncSource=source)
        newest = await client.command("local", {"find": OPLOG, "filter": {}, "sort":
                                                {"$natural": -1}, "limit": 1,
                                                "singleBatch": True}, timeout)
        begin = newest["cursor"]["firstBatch"]
        if not begin:
            raise SourceGone(f"{source} has an empty oplog")
        begin_ts = begin[0]["ts"]
        status.update({"initialSyncOplogStart": begin_ts, "syncSourceHost": source,
                       "appliedOps": 0})
        for db in storage.database_names():
            if db != "local":
                for coll in storage.collection_names(db):
                    storage.drop_collection(f"{db}.{coll}")
        dbs = await client.command("admin", {"listDatabases": 1, "nameOnly": True}, timeout)
        names = [d["name"] for d in dbs["databases"] if d["name"] not in ("local", "config")]
        progress: dict[str, Any] = {"databasesToClone": len(names), "databasesCloned": 0}
        status["databases"] = progress
        build_indexes = self._build_indexes()
        for db in names:
            colls = await client.command(db, {"listCollections": 1}, timeout)
            db_progress: dict[str, Any] = {"collections": 0, "clonedCollections": 0}
            progress[db] = db_progress
            infos = [c for c in colls["cursor"]["firstBatch"] if c.get("type") != "view"]
            db_progress["collections"] = len(infos)
            for info in infos:
                ns = f"{db}.{info['name']}"
                await self._clone_collection(client, db, info, timeout, build_indexes)
                db_progress["clonedCollections"] += 1
                db_progress[ns] = {"documentsCopied": storage.get(ns).count
                                   if storage.get(ns) else 0}
            progress["databasesCloned"] += 1
        # apply what the source wrote meanwhile, from the oplog entry we started at
        coord.ensure_oplog(reset=True)
        reply = await client.command("local", {"find": OPLOG, "filter": {"ts": {"$gte":
                                                                               begin_ts}},
                                               "batchSize": BATCH}, timeout)
        batch, cursor_id = reply["cursor"]["firstBatch"], reply["cursor"]["id"]
        while True:
            self._check_fcv_entries(batch)
            with storage.transaction():
                for entry in batch:
                    apply_entry(storage, entry, build_indexes=build_indexes)
                    storage.insert(OPLOG_NS, entry)
                if batch:
                    coord.note_applied(batch[-1])
            status["appliedOps"] += len(batch)
            if not cursor_id:
                break
            reply = await client.command("local", {"getMore": cursor_id, "collection": OPLOG,
                                                   "batchSize": BATCH}, timeout)
            batch, cursor_id = reply["cursor"]["nextBatch"], reply["cursor"]["id"]
        while self._failpoint_on("initialSyncHangBeforeFinish"):
            await asyncio.sleep(0.05)
        coord.set_initial_sync_flag(False)
        self._server.fcv_changed()
        elapsed = int((time.monotonic() - started) * 1000)
        log.info("INITSYNC", 21192, "ReplCoordExtern-0", "Initial sync done",
                 durationMillis=elapsed, syncSource=source)
        self.initial_sync_status = None
        coord.refresh_follower_state()
        self.report_position()

    async def _clone_collection(self, client: PeerClient, db: str, info: dict[str, Any],
                                timeout: float, build_indexes: bool) -> None:
        storage = self._server.storage
        ns = f"{db}.{info['name']}"
        options = dict(info.get("options") or {})
        with storage.transaction():
            if storage.get(ns) is None:
                storage.create_collection(ns, options or None)
        reply = await client.command(db, {"find": info["name"], "filter": {},
                                          "batchSize": BATCH}, timeout)
        batch, cursor_id = reply["cursor"]["firstBatch"], reply["cursor"]["id"]
        while True:
            with storage.transaction():
                for doc in batch:
                    storage.insert(ns, doc)
            if not cursor_id:
                break
            reply = await client.command(db, {"getMore": cursor_id, "collection": info["name"],
                                              "batchSize": BATCH}, timeout)
            batch, cursor_id = reply["cursor"]["nextBatch"], reply["cursor"]["id"]
        indexes = await client.command(db, {"listIndexes": info["name"]}, timeout)
        with storage.transaction():
            for spec in indexes["cursor"]["firstBatch"]:
                if spec.get("name") == "_id_" or not build_indexes:
                    continue
                storage.create_index(ns, {k: v for k, v in spec.items() if k != "v"})

    # -- rollback -----------------------------------------------------------------------------------

    async def rollback(self, source: str, client: PeerClient) -> None:
        """Undo our oplog entries after the newest one the source also has: each touched
        document is saved under <dbPath>/rollback/<collection UUID>/ and replaced by the
        source's version (or removed when the source has none)."""
        coord = self.coord
        storage = self._server.storage
        log = self._server.logger
        timeout = self._timeout()
        coord.enter_rollback()
        try:
            log.info("ROLLBACK", 21593, "BackgroundSync", "Transition to ROLLBACK",
                     syncSource=source)
            mine = list(storage.scan(OPLOG_NS, reverse=True))
            newest_ts = mine[0][1]["ts"] if mine else Timestamp(0, 0)
            reply = await client.command("local", {
                "find": OPLOG, "filter": {"ts": {"$lte": newest_ts}}, "sort": {"$natural": -1},
                "projection": {"ts": 1, "t": 1}, "batchSize": 10000, "singleBatch": True},
                timeout)
            theirs = {(e["ts"].time, e["ts"].inc, int(e.get("t", -1)))
                      for e in reply["cursor"]["firstBatch"]}
            undo: list[tuple[int, dict[str, Any]]] = []
            common = None
            for rid, entry in mine:
                key = (entry["ts"].time, entry["ts"].inc, int(entry.get("t", -1)))
                if key in theirs:
                    common = entry
                    break
                undo.append((rid, entry))
            if common is None:
                raise TooStale(source)
            touched_ids: dict[tuple[str, bytes], Any] = {}
            dropped_collections: list[str] = []
            for _rid, entry in undo:
                op, ns = entry.get("op"), str(entry.get("ns", ""))
                if op in ("i", "u", "d"):
                    doc_id = (entry.get("o2") or {}).get("_id", entry.get("o", {}).get("_id")) \
                        if op == "u" else (entry.get("o") or {}).get("_id")
                    touched_ids[(ns, _id_key(doc_id))] = doc_id
                elif op == "c" and "create" in (entry.get("o") or {}):
                    dropped_collections.append(f"{ns.split('.', 1)[0]}.{entry['o']['create']}")
            stamp = utcnow().strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3]
            saved: dict[str, list[bytes]] = {}
            refetched: list[tuple[str, Any, dict[str, Any] | None]] = []
            for (ns, _key), doc_id in touched_ids.items():
                db, coll = ns.split(".", 1)
                found = await client.command(db, {"find": coll, "filter": {"_id": doc_id},
                                                  "limit": 1, "singleBatch": True}, timeout)
                docs = found["cursor"]["firstBatch"]
                refetched.append((ns, doc_id, docs[0] if docs else None))
            with storage.transaction(journal=True):
                for ns, doc_id, theirs_doc in refetched:
                    local = storage.find_by_id(ns, doc_id) if storage.get(ns) else None
                    if local is not None:
                        saved.setdefault(ns, []).append(bson.encode(local[1]))
                        if theirs_doc is None:
                            storage.delete(ns, local[0])
                        else:
                            storage.replace(ns, local[0], theirs_doc)
                    elif theirs_doc is not None:
                        storage.insert(ns, theirs_doc)
                for ns in dropped_collections:
                    if ns not in {n for n, _i, d in refetched if d is not None}:
                        info = storage.get(ns)
                        if info is not None and info.count == 0:
                            storage.drop_collection(ns)
                for rid, _entry in undo:
                    storage.delete(OPLOG_NS, rid)
                coord.reset_applied(common)
            self._server.fcv_changed()  # FcvOpObserver::onReplicationRollback
            files = self._write_rollback_files(saved, stamp)
            log.info("ROLLBACK", 21612, "BackgroundSync", "Rollback summary",
                     syncSource=source, commonPoint=common["ts"], rollbackOplogEntries=len(undo),
                     documentsSaved=sum(len(v) for v in saved.values()), files=files)
        finally:
            coord.leave_rollback()

    def _write_rollback_files(self, saved: dict[str, list[bytes]], stamp: str) -> list[str]:
        """mongod 4.4+ layout: <dbPath>/rollback/<collection UUID>/removed.<time>.bson."""
        files = []
        storage = self._server.storage
        for ns, docs in saved.items():
            info = storage.get(ns)
            name = str(uuid.UUID(bytes=bytes(info.uuid))) if info is not None and \
                getattr(info, "uuid", None) is not None else ns
            folder = os.path.join(self._server.config.dbpath, "rollback", name)
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"removed.{stamp}.bson")
            with open(path, "wb") as fh:
                fh.write(b"".join(docs))
                fh.flush()
                os.fsync(fh.fileno())
            files.append(path)
        return files


def _id_key(value: Any) -> bytes:
    return bson.encode({"_id": value})
