"""Server-side cursors: batches, getMore, killCursors, tailable/awaitData on capped
collections."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import bson
from bson import Int64
from bson.raw_bson import RawBSONDocument

from mongoemu.errors import MongoError
from mongoemu.wire import CODEC

DEFAULT_BATCH = 101
MAX_BATCH_BYTES = 16 * 1024 * 1024


@dataclass
class Cursor:
    id: int
    ns: str
    pending: list[dict[str, Any]]
    conn_id: int
    batch_size: int = 0
    limit_left: int = 0  # 0 = no limit
    tailable: bool = False
    await_data: bool = False
    last_rid: int = 0
    fetch_more: Callable[["Cursor"], list[dict[str, Any]]] | None = None
    users: tuple[str, ...] = ()
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    max_await_ms: int = 1000


class CursorManager:
    CURSOR_TIMEOUT_S = 600.0

    def __init__(self) -> None:
        self.cursors: dict[int, Cursor] = {}
        self._waiters: dict[str, asyncio.Event] = {}

    def new_id(self) -> int:
        while True:
            cid = random.randint(1, 2**62)
            if cid not in self.cursors:
                return cid

    def notify_insert(self, ns: str) -> None:
        event = self._waiters.pop(ns, None)
        if event is not None:
            event.set()

    async def wait_insert(self, ns: str, timeout_s: float) -> None:
        event = self._waiters.get(ns)
        if event is None:
            event = asyncio.Event()
            self._waiters[ns] = event
        try:
            await asyncio.wait_for(event.wait(), timeout=timeout_s)
        except asyncio.TimeoutError:
            pass

    def _take(self, cursor: Cursor, batch_size: int) -> list[dict[str, Any]]:
        n = batch_size if batch_size > 0 else len(cursor.pending)
        if cursor.limit_left:
            n = min(n, cursor.limit_left)
        # Encode each document once (the reply embeds the bytes) and keep a reply under
        # the 16MB BSON limit, as mongod does.
        batch: list[Any] = []
        total = 0
        for doc in cursor.pending[:n]:
            raw = doc if isinstance(doc, RawBSONDocument) else \
                RawBSONDocument(bson.encode(doc, codec_options=CODEC))
            total += len(raw.raw)
            if batch and total > MAX_BATCH_BYTES - 64 * 1024:
                break
            batch.append(raw)
        n = len(batch)
        del cursor.pending[:n]
        if cursor.limit_left:
            cursor.limit_left -= len(batch)
        return batch

    def first_batch(self, ns: str, docs: list[dict[str, Any]], conn_id: int, *,
                    batch_size: int | None, limit: int = 0, single_batch: bool = False,
                    tailable: bool = False, await_data: bool = False, last_rid: int = 0,
                    fetch_more: Callable[[Cursor], list[dict[str, Any]]] | None = None,
                    users: tuple[str, ...] = (), max_await_ms: int = 1000,
                    key: str = "firstBatch") -> dict[str, Any]:
        size = DEFAULT_BATCH if batch_size is None else batch_size
        cursor = Cursor(id=0, ns=ns, pending=docs, conn_id=conn_id, batch_size=size,
                        limit_left=limit, tailable=tailable, await_data=await_data,
                        last_rid=last_rid, fetch_more=fetch_more, users=users,
                        max_await_ms=max_await_ms)
        if batch_size == 0:
            batch: list[dict[str, Any]] = []
        else:
            batch = self._take(cursor, size)
        exhausted = (not cursor.pending and not tailable) or single_batch or \
            (limit and cursor.limit_left <= 0 and not tailable)
        if not exhausted:
            cursor.id = self.new_id()
            self.cursors[cursor.id] = cursor
        return {"cursor": {key: batch, "id": Int64(cursor.id), "ns": ns}, "ok": 1.0}

    async def get_more(self, cursor_id: int, ns: str, batch_size: int | None,
                       max_time_ms: int | None, users: tuple[str, ...]) -> dict[str, Any]:
        cursor = self.cursors.get(cursor_id)
        if cursor is None:
            raise MongoError(43, f"cursor id {cursor_id} not found")
        if cursor.ns != ns:
            raise MongoError(13, f"Requested getMore on namespace '{ns}', but cursor belongs to "
                                 f"a different namespace {cursor.ns}")
        if cursor.users and users != cursor.users:
            raise MongoError(13, f"cursor id {cursor_id} was not created by the authenticated "
                                 "user")
        cursor.last_used = time.time()
        # mongod: a getMore without batchSize returns all that fits in a 16MB reply.
        size = 0 if batch_size is None else batch_size
        if cursor.tailable and not cursor.pending and cursor.fetch_more is not None:
            try:
                cursor.pending.extend(cursor.fetch_more(cursor))
            except MongoError:
                self.cursors.pop(cursor_id, None)  # e.g. CappedPositionLost kills the cursor
                raise
            if not cursor.pending and cursor.await_data:
                wait_ms = max_time_ms if max_time_ms is not None else 1000
                deadline = time.monotonic() + wait_ms / 1000.0
                while not cursor.pending:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    await self.wait_insert(cursor.ns, left)
                    if cursor.id not in self.cursors:
                        break
                    cursor.pending.extend(cursor.fetch_more(cursor))
        batch = self._take(cursor, size if size else 0)
        exhausted = not cursor.pending and not cursor.tailable
        if exhausted:
            self.cursors.pop(cursor_id, None)
            cid = 0
        else:
            cid = cursor_id
        return {"cursor": {"nextBatch": batch, "id": Int64(cid), "ns": ns}, "ok": 1.0}

    def kill(self, ns: str, ids: list[Any]) -> dict[str, Any]:
        killed, not_found = [], []
        for cid in ids:
            cursor = self.cursors.get(int(cid))
            if cursor is not None and cursor.ns == ns:
                del self.cursors[int(cid)]
                killed.append(Int64(cid))
            else:
                not_found.append(Int64(cid))
        return {"cursorsKilled": killed, "cursorsNotFound": not_found, "cursorsAlive": [],
                "cursorsUnknown": [], "ok": 1.0}

    def drop_namespace(self, ns: str) -> None:
        for cid in [c.id for c in self.cursors.values() if c.ns == ns]:
            del self.cursors[cid]
        self.notify_insert(ns)

    def reap(self) -> None:
        now = time.time()
        for cid in [c.id for c in self.cursors.values()
                    if now - c.last_used > self.CURSOR_TIMEOUT_S]:
            del self.cursors[cid]
