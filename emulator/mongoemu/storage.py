"""Durable storage in the dbPath: one sqlite3 database in WAL mode.

Each collection is a table of (rid, key of _id, BSON document); rid gives natural
(insertion) order, which capped collections and tailable cursors rely on. Unique secondary
indexes get a table of (key, rid) with a UNIQUE constraint, so sqlite enforces them.
"""
from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import os
import sqlite3
import uuid as _uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import bson
from bson import Binary, ObjectId

from mongoemu.errors import DuplicateKeyError, MongoError
from mongoemu.keys import MISSING, canonical_key
from mongoemu.query import resolve_path
from mongoemu.wire import CODEC

DATA_FILE = "mongoemu.sqlite3"
LOCK_FILE = "mongod.lock"
MAX_DOCUMENT_SIZE = 16 * 1024 * 1024


class DbPathError(Exception):
    """The dbPath cannot be used; ``exit_code`` is what mongod exits with."""

    def __init__(self, message: str, exit_code: int = 100) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def is_disk_full(exc: BaseException) -> bool:
    """The dbPath's filesystem has no room left: SQLITE_FULL from sqlite3, or ENOSPC."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


class _Connection(sqlite3.Connection):
    """A sqlite3 connection that hands a full disk to ``on_disk_full`` (set by the server)
    before the error propagates: mongod does not answer a write that cannot reach its files
    with an error, it stops (see Server.disk_full)."""

    on_disk_full: Callable[[str], None] | None = None

    def execute(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(*args)
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc) and self.on_disk_full is not None:
                self.on_disk_full(str(exc))
            raise


class DbPathLock:
    """mongod.lock: an exclusive lock held for the life of the process, holding its pid."""

    def __init__(self, dbpath: str) -> None:
        self.path = os.path.join(dbpath, LOCK_FILE)
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DbPathError(f"Unable to create/open the lock file: {self.path} "
                              f"({exc.strerror}). Ensure the user executing mongod is the "
                              "owner of the lock file and has the appropriate permissions. "
                              "Also make sure that another mongod instance is not already "
                              "running on the " + os.path.dirname(self.path) + " directory")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DbPathError(
                    f"Unable to lock the lock file: {self.path} (Resource temporarily "
                    "unavailable). Another mongod instance is already running on the "
                    f"{os.path.dirname(self.path)} directory") from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
                os.fsync(self.fd)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None


def read_lock_pid(dbpath: str) -> int | None:
    try:
        with open(os.path.join(dbpath, LOCK_FILE), encoding="ascii") as fh:
            text = fh.read().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


@dataclass
class IndexInfo:
    name: str
    key: dict[str, Any]
    unique: bool = False
    sparse: bool = False
    table: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    partial: dict[str, Any] | None = None

    def spec(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"v": 2, "key": dict(self.key), "name": self.name}
        if self.unique and self.name != "_id_":
            doc["unique"] = True
        if self.sparse:
            doc["sparse"] = True
        for k, v in self.options.items():
            if k not in doc:
                doc[k] = v
        return doc


@dataclass
class CollectionInfo:
    ns: str
    db: str
    name: str
    table: str
    uuid: Binary
    options: dict[str, Any]
    indexes: dict[str, IndexInfo] = field(default_factory=dict)
    count: int = 0
    size: int = 0

    @property
    def capped(self) -> bool:
        return bool(self.options.get("capped"))


def split_ns(ns: str) -> tuple[str, str]:
    db, _, coll = ns.partition(".")
    return db, coll


class Storage:
    """All databases of one server process, in one sqlite3 file in the dbPath."""

    def __init__(self, dbpath: str) -> None:
        self.dbpath = dbpath
        self.path = os.path.join(dbpath, DATA_FILE)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                    factory=_Connection)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.execute("CREATE TABLE IF NOT EXISTS catalog (ns TEXT PRIMARY KEY, "
                          "tbl TEXT NOT NULL, uuid BLOB NOT NULL, options BLOB NOT NULL, "
                          "indexes BLOB NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB)")
        self.collections: dict[str, CollectionInfo] = {}
        self.insert_listeners: list[Callable[[str], None]] = []
        #: ns -> predicate telling whether a capped collection's oldest document may be removed
        self.cap_guards: dict[str, Any] = {}
        self._in_txn = False
        self._sync_full = False
        self._load_catalog()

    # -- catalog ----------------------------------------------------------------------

    def _load_catalog(self) -> None:
        for ns, tbl, uid, options, indexes in self.conn.execute(
                "SELECT ns, tbl, uuid, options, indexes FROM catalog"):
            db, name = split_ns(ns)
            info = CollectionInfo(ns=ns, db=db, name=name, table=tbl, uuid=Binary(uid, 4),
                                  options=bson.decode(options, CODEC))
            for spec in bson.decode(indexes, CODEC).get("list", []):
                info.indexes[spec["name"]] = IndexInfo(**spec)
            count, size = self.conn.execute(
                f'SELECT COUNT(*), COALESCE(SUM(LENGTH(doc)), 0) FROM "{tbl}"').fetchone()
            info.count, info.size = count, size
            self.collections[ns] = info

    def _save_catalog(self, info: CollectionInfo) -> None:
        indexes = [{"name": ix.name, "key": ix.key, "unique": ix.unique, "sparse": ix.sparse,
                    "table": ix.table, "options": ix.options, "partial": ix.partial}
                   for ix in info.indexes.values()]
        self.conn.execute(
            "INSERT OR REPLACE INTO catalog (ns, tbl, uuid, options, indexes) "
            "VALUES (?, ?, ?, ?, ?)",
            (info.ns, info.table, bytes(info.uuid), bson.encode(info.options),
             bson.encode({"list": indexes})))

    def get_meta(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return bson.decode(row[0], CODEC) if row else None

    def set_meta(self, key: str, value: dict[str, Any]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                          (key, bson.encode(value)))

    def database_names(self) -> list[str]:
        return sorted({info.db for info in self.collections.values()})

    def collection_names(self, db: str) -> list[str]:
        return sorted(info.name for info in self.collections.values() if info.db == db)

    def get(self, ns: str) -> CollectionInfo | None:
        return self.collections.get(ns)

    def create_collection(self, ns: str, options: dict[str, Any] | None = None,
                          id_index: bool = True) -> CollectionInfo:
        if ns in self.collections:
            raise MongoError(48, f"Collection {ns} already exists.")
        db, name = split_ns(ns)
        table = "c_" + _uuid.uuid4().hex
        uid = Binary(_uuid.uuid4().bytes, 4)
        info = CollectionInfo(ns=ns, db=db, name=name, table=table, uuid=uid,
                              options=dict(options or {}))
        with self.transaction():
            self.conn.execute(f'CREATE TABLE "{table}" (rid INTEGER PRIMARY KEY, '
                              "k BLOB NOT NULL UNIQUE, doc BLOB NOT NULL)")
            if id_index:
                info.indexes["_id_"] = IndexInfo(name="_id_", key={"_id": 1}, unique=True)
            self.collections[ns] = info
            self._save_catalog(info)
        return info

    def ensure_collection(self, ns: str) -> CollectionInfo:
        info = self.collections.get(ns)
        if info is None:
            info = self.create_collection(ns)
        return info

    def drop_collection(self, ns: str) -> bool:
        info = self.collections.pop(ns, None)
        if info is None:
            return False
        with self.transaction():
            self.conn.execute(f'DROP TABLE IF EXISTS "{info.table}"')
            for ix in info.indexes.values():
                if ix.table:
                    self.conn.execute(f'DROP TABLE IF EXISTS "{ix.table}"')
            self.conn.execute("DELETE FROM catalog WHERE ns = ?", (ns,))
        return True

    def rename_collection(self, src: str, dst: str) -> None:
        info = self.collections.pop(src)
        db, name = split_ns(dst)
        info.ns, info.db, info.name = dst, db, name
        self.collections[dst] = info
        with self.transaction():
            self.conn.execute("DELETE FROM catalog WHERE ns = ?", (src,))
            self._save_catalog(info)

    # -- transactions -------------------------------------------------------------------

    class _Txn:
        def __init__(self, storage: "Storage", journal: bool) -> None:
            self.storage = storage
            self.journal = journal
            self.outer = False

        def __enter__(self) -> "Storage._Txn":
            st = self.storage
            if st._in_txn:
                if self.journal:
                    st._sync_full = True
                return self
            self.outer = True
            st._in_txn = True
            st._sync_full = self.journal
            st.conn.execute("BEGIN IMMEDIATE")
            return self

        def __exit__(self, *exc: Any) -> None:
            if not self.outer:
                return
            st = self.storage
            try:
                if st._sync_full:
                    st.conn.execute("COMMIT")
                    st.sync()
                else:
                    st.conn.execute("COMMIT")
            finally:
                st._in_txn = False
                st._sync_full = False

    def transaction(self, journal: bool = False) -> "Storage._Txn":
        """A write unit; commits even when the body raised (mongod's writes are not
        transactional across documents). ``journal`` makes the commit durable (fsync).

        The server runs one event loop thread and command handlers never await inside a
        transaction, so transactions never interleave; nested calls join the outer one."""
        return Storage._Txn(self, journal)

    def sync(self) -> None:
        """Flush the write-ahead log to disk (j:true, fsync)."""
        for suffix in ("-wal", ""):
            path = self.path + suffix
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def checkpoint(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- documents ------------------------------------------------------------------------

    def insert(self, ns: str, doc: dict[str, Any], *, create: bool = True) -> int:
        info = self.ensure_collection(ns) if create else self.collections[ns]
        if "_id" in doc:
            key = canonical_key(doc["_id"])
        elif "_id_" not in info.indexes:
            # Collections without an _id index (local.oplog.rs) hold documents without _id.
            key = b"\xff" + _uuid.uuid4().bytes
        else:
            doc = {"_id": ObjectId(), **doc}
            key = canonical_key(doc["_id"])
        raw = bson.encode(doc, codec_options=CODEC)
        if len(raw) > MAX_DOCUMENT_SIZE:
            raise MongoError(2, f"object to insert too large. size in bytes: {len(raw)}, max "
                                f"size: {MAX_DOCUMENT_SIZE}")
        with self.transaction():
            try:
                cur = self.conn.execute(f'INSERT INTO "{info.table}" (k, doc) VALUES (?, ?)',
                                        (key, raw))
            except sqlite3.IntegrityError:
                raise DuplicateKeyError(ns, "_id_", {"_id": 1}, {"_id": doc["_id"]}) from None
            rid = cur.lastrowid
            assert rid is not None
            try:
                self._index_insert(info, rid, doc)
            except DuplicateKeyError:
                self.conn.execute(f'DELETE FROM "{info.table}" WHERE rid = ?', (rid,))
                raise
            info.count += 1
            info.size += len(raw)
            if info.capped:
                self._enforce_cap(info)
        for listener in self.insert_listeners:
            listener(ns)
        return rid

    def _enforce_cap(self, info: CollectionInfo) -> None:
        max_size = int(info.options.get("size", 0) or 0)
        max_docs = int(info.options.get("max", 0) or 0)
        guard = self.cap_guards.get(info.ns)
        while info.count > 1 and ((max_size and info.size > max_size)
                                  or (max_docs and info.count > max_docs)):
            row = self.conn.execute(f'SELECT rid, doc FROM "{info.table}" ORDER BY rid LIMIT 1'
                                    ).fetchone()
            if row is None:
                break
            doc = bson.decode(row[1], CODEC)
            if guard is not None and not guard(doc):
                break  # the oldest entry must stay (oplog minRetentionHours): so must the rest
            self._delete_row(info, row[0], doc, len(row[1]))

    def enforce_cap(self, ns: str) -> None:
        """Apply a capped collection's limits now (after its size was changed)."""
        info = self.collections.get(ns)
        if info is None or not info.capped:
            return
        with self.transaction():
            self._enforce_cap(info)

    def _index_keys(self, ix: IndexInfo, doc: dict[str, Any]) -> list[bytes] | None:
        fields = list(ix.key)
        per_field: list[list[Any]] = []
        present = False
        for f in fields:
            values = list(resolve_path(doc, f.split(".")))
            expanded: list[Any] = []
            for v in values:
                if v is MISSING:
                    expanded.append(None)
                    continue
                present = True
                if isinstance(v, list):
                    expanded.extend(v if v else [None])
                else:
                    expanded.append(v)
            per_field.append(_dedupe(expanded))
        if ix.sparse and not present:
            return None
        if ix.partial is not None:
            from mongoemu.query import Matcher

            if not Matcher(ix.partial)(doc):
                return None
        keys: list[bytes] = [b""]
        for values in per_field:
            keys = [k + canonical_key(v) for k in keys for v in values]
        return list(dict.fromkeys(keys))

    def _index_insert(self, info: CollectionInfo, rid: int, doc: dict[str, Any]) -> None:
        for ix in info.indexes.values():
            if not ix.table:
                continue
            keys = self._index_keys(ix, doc)
            for key in keys or []:
                try:
                    self.conn.execute(f'INSERT INTO "{ix.table}" (k, rid) VALUES (?, ?)',
                                      (key, rid))
                except sqlite3.IntegrityError:
                    self.conn.execute(f'DELETE FROM "{ix.table}" WHERE rid = ?', (rid,))
                    key_value = {}
                    for f in ix.key:
                        v = next(iter(resolve_path(doc, f.split("."))), None)
                        key_value[f] = None if v is MISSING else v
                    raise DuplicateKeyError(info.ns, ix.name, dict(ix.key), key_value) from None

    def _index_delete(self, info: CollectionInfo, rid: int) -> None:
        for ix in info.indexes.values():
            if ix.table:
                self.conn.execute(f'DELETE FROM "{ix.table}" WHERE rid = ?', (rid,))

    def _delete_row(self, info: CollectionInfo, rid: int, doc: dict[str, Any],
                    size: int) -> None:
        self.conn.execute(f'DELETE FROM "{info.table}" WHERE rid = ?', (rid,))
        self._index_delete(info, rid)
        info.count -= 1
        info.size -= size

    def delete(self, ns: str, rid: int) -> None:
        info = self.collections[ns]
        with self.transaction():
            row = self.conn.execute(f'SELECT LENGTH(doc) FROM "{info.table}" WHERE rid = ?',
                                    (rid,)).fetchone()
            if row is None:
                return
            self._delete_row(info, rid, {}, row[0])

    def replace(self, ns: str, rid: int, doc: dict[str, Any]) -> None:
        info = self.collections[ns]
        raw = bson.encode(doc, codec_options=CODEC)
        with self.transaction():
            old = self.conn.execute(f'SELECT LENGTH(doc), doc FROM "{info.table}" '
                                    "WHERE rid = ?", (rid,)).fetchone()
            if old is None:
                return
            self._index_delete(info, rid)
            try:
                self._index_insert(info, rid, doc)
            except DuplicateKeyError:
                self._index_insert(info, rid, bson.decode(old[1], CODEC))
                raise
            if "_id" in doc:
                self.conn.execute(f'UPDATE "{info.table}" SET doc = ?, k = ? WHERE rid = ?',
                                  (raw, canonical_key(doc["_id"]), rid))
            else:
                self.conn.execute(f'UPDATE "{info.table}" SET doc = ? WHERE rid = ?',
                                  (raw, rid))
            info.size += len(raw) - old[0]

    def find_by_id(self, ns: str, id_value: Any) -> tuple[int, dict[str, Any]] | None:
        info = self.collections.get(ns)
        if info is None:
            return None
        row = self.conn.execute(f'SELECT rid, doc FROM "{info.table}" WHERE k = ?',
                                (canonical_key(id_value),)).fetchone()
        if row is None:
            return None
        return row[0], bson.decode(row[1], CODEC)

    def find_raw_by_id(self, ns: str, id_value: Any) -> bytes | None:
        """The stored BSON of the document with this _id, undecoded."""
        info = self.collections.get(ns)
        if info is None:
            return None
        row = self.conn.execute(f'SELECT doc FROM "{info.table}" WHERE k = ?',
                                (canonical_key(id_value),)).fetchone()
        return row[0] if row is not None else None

    def candidate_rids(self, ns: str, flt: dict[str, Any]) -> list[int] | None:
        """Record ids that may match ``flt``, found through the _id key or an index whose
        leading fields the filter pins by equality or $in; None when no index applies.
        Callers still apply the full filter to each candidate."""
        info = self.collections.get(ns)
        if info is None:
            return None
        eq: dict[str, list[Any]] = {}
        for field_name, cond in flt.items():
            if field_name.startswith("$"):
                continue
            if _indexable(cond):
                eq[field_name] = [cond]
            elif isinstance(cond, dict) and len(cond) == 1:
                op, arg = next(iter(cond.items()))
                if op == "$eq" and _indexable(arg):
                    eq[field_name] = [arg]
                elif op == "$in" and isinstance(arg, list) and 0 < len(arg) <= 1000 and \
                        all(_indexable(a) for a in arg):
                    eq[field_name] = arg
        if not eq:
            return None
        if "_id" in eq and "_id_" in info.indexes:
            keys = [canonical_key(v) for v in eq["_id"]]
            return self._rids_for_keys(info.table, keys, exact=True)
        best: tuple[int, IndexInfo, list[str]] | None = None
        for ix in info.indexes.values():
            if not ix.table or ix.partial is not None:
                continue
            prefix: list[str] = []
            for field_name in ix.key:
                if field_name not in eq:
                    break
                prefix.append(field_name)
            if not prefix:
                continue
            score = len(prefix) * 2 + (1 if ix.unique else 0) + \
                (1 if len(prefix) == len(ix.key) else 0)
            if best is None or score > best[0]:
                best = (score, ix, prefix)
        if best is None:
            return None
        _score, ix, prefix = best
        keys = [b""]
        for field_name in prefix:
            keys = [k + canonical_key(v) for k in keys for v in eq[field_name]]
            if len(keys) > 5000:
                return None
        assert ix.table is not None
        return self._rids_for_keys(ix.table, keys, exact=len(prefix) == len(ix.key))

    def _rids_for_keys(self, table: str, keys: list[bytes], exact: bool) -> list[int]:
        rids: set[int] = set()
        column = "k"
        rid_col = "rid"
        if exact:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rids.update(r for (r,) in self.conn.execute(
                    f'SELECT {rid_col} FROM "{table}" WHERE {column} IN ({marks})', chunk))
        else:
            for key in keys:
                rids.update(r for (r,) in self.conn.execute(
                    f'SELECT {rid_col} FROM "{table}" WHERE {column} >= ? AND {column} < ?',
                    (key, key + b"\xff")))
        return sorted(rids)

    def fetch(self, ns: str, rids: list[int], reverse: bool = False
              ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Documents by record id, in natural order (or reversed)."""
        info = self.collections.get(ns)
        if info is None or not rids:
            return iter(())
        rows: list[tuple[int, bytes]] = []
        for start in range(0, len(rids), 500):
            chunk = rids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows.extend(self.conn.execute(
                f'SELECT rid, doc FROM "{info.table}" WHERE rid IN ({marks})', chunk))
        rows.sort(key=lambda row: row[0], reverse=reverse)
        return _decode_rows(rows)

    def scan(self, ns: str, after_rid: int = 0, reverse: bool = False
             ) -> Iterator[tuple[int, dict[str, Any]]]:
        info = self.collections.get(ns)
        if info is None:
            return iter(())
        order = "DESC" if reverse else "ASC"
        # fetchall first: callers may write to the table while they iterate.
        rows = self.conn.execute(f'SELECT rid, doc FROM "{info.table}" WHERE rid > ? '
                                 f"ORDER BY rid {order}", (after_rid,)).fetchall()
        return _decode_rows(rows)

    def has_rid(self, ns: str, rid: int) -> bool:
        info = self.collections.get(ns)
        if info is None:
            return False
        row = self.conn.execute(f'SELECT 1 FROM "{info.table}" WHERE rid = ?', (rid,)).fetchone()
        return row is not None

    def last_rid(self, ns: str) -> int:
        info = self.collections.get(ns)
        if info is None:
            return 0
        row = self.conn.execute(f'SELECT MAX(rid) FROM "{info.table}"').fetchone()
        return row[0] or 0

    def truncate(self, ns: str) -> None:
        info = self.collections[ns]
        with self.transaction():
            self.conn.execute(f'DELETE FROM "{info.table}"')
            for ix in info.indexes.values():
                if ix.table:
                    self.conn.execute(f'DELETE FROM "{ix.table}"')
            info.count = 0
            info.size = 0

    # -- indexes ---------------------------------------------------------------------------

    def create_index(self, ns: str, spec: dict[str, Any]) -> bool:
        """Create an index; returns False when an identical one exists."""
        info = self.ensure_collection(ns)
        name = spec["name"]
        key = dict(spec["key"])
        unique = bool(spec.get("unique", False))
        sparse = bool(spec.get("sparse", False))
        for existing in info.indexes.values():
            same_key = list(existing.key.items()) == list(key.items())
            if existing.name == name:
                if same_key and existing.unique == unique and existing.sparse == sparse:
                    return False
                if same_key:
                    raise MongoError(86, f"An existing index has the same name as the requested "
                                         f"index. When index names are not specified, they are "
                                         f"auto generated and can cause conflicts. Please refer "
                                         f"to our documentation. Requested index: {spec}, "
                                         f"existing index: {existing.spec()}")
                raise MongoError(86, f"An existing index has the same name as the requested "
                                     f"index. Requested index: {spec}, existing index: "
                                     f"{existing.spec()}")
            if same_key:
                if existing.unique == unique and existing.sparse == sparse:
                    return False
                raise MongoError(85, f"An equivalent index already exists with the same name "
                                     f"but different options. Requested index: {spec}, "
                                     f"existing index: {existing.spec()}" if existing.name == name
                                 else f"An equivalent index already exists with a different "
                                      f"name and options. Requested index: {spec}, existing "
                                      f"index: {existing.spec()}")
        options = {k: v for k, v in spec.items()
                   if k not in ("key", "name", "unique", "sparse", "v", "partialFilterExpression")}
        if "partialFilterExpression" in spec:
            options["partialFilterExpression"] = spec["partialFilterExpression"]
        ix = IndexInfo(name=name, key=key, unique=unique, sparse=sparse, options=options,
                       partial=spec.get("partialFilterExpression"))
        # Every B-tree index gets a table of (key, rid): unique ones enforce E11000 through a
        # UNIQUE constraint, all serve equality and $in lookups (see candidate_rids).
        plugin = any(isinstance(d, str) and d != "hashed" for d in key.values())
        with self.transaction():
            if not plugin:
                ix.table = "i_" + _uuid.uuid4().hex
                if unique:
                    self.conn.execute(f'CREATE TABLE "{ix.table}" (k BLOB NOT NULL UNIQUE, '
                                      "rid INTEGER NOT NULL)")
                else:
                    self.conn.execute(f'CREATE TABLE "{ix.table}" (k BLOB NOT NULL, '
                                      "rid INTEGER NOT NULL)")
                    self.conn.execute(f'CREATE INDEX "{ix.table}_k" ON "{ix.table}" (k)')
                self.conn.execute(f'CREATE INDEX "{ix.table}_rid" ON "{ix.table}" (rid)')
                for rid, doc in self.scan(ns):
                    keys = self._index_keys(ix, doc) or []
                    for k in keys:
                        try:
                            self.conn.execute(f'INSERT INTO "{ix.table}" (k, rid) VALUES (?, ?)',
                                              (k, rid))
                        except sqlite3.IntegrityError:
                            self.conn.execute(f'DROP TABLE "{ix.table}"')
                            key_value = {f: _first(doc, f) for f in key}
                            raise DuplicateKeyError(ns, name, key, key_value) from None
            info.indexes[name] = ix
            self._save_catalog(info)
        return True

    def drop_index(self, ns: str, name: str) -> None:
        info = self.collections[ns]
        ix = info.indexes.pop(name)
        with self.transaction():
            if ix.table:
                self.conn.execute(f'DROP TABLE IF EXISTS "{ix.table}"')
            self._save_catalog(info)

    def update_options(self, ns: str, options: dict[str, Any]) -> None:
        info = self.collections[ns]
        info.options = options
        with self.transaction():
            self._save_catalog(info)

    def file_size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(self.path + suffix)
            except OSError:
                pass
        return total

    def close(self) -> None:
        try:
            self.checkpoint()
        except sqlite3.Error:
            pass
        self.conn.close()


def _decode_rows(rows: list[tuple[int, bytes]], chunk: int = 512
                 ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Decode stored documents a chunk at a time (one C call per chunk)."""
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        docs = bson.decode_all(b"".join(raw for _, raw in part), CODEC)
        yield from zip((rid for rid, _ in part), docs)


_INDEXABLE_TYPES = (str, ObjectId, _dt.datetime, bool)


def _indexable(value: Any) -> bool:
    """A query value whose equality match is exactly 'some index key equals this key'."""
    if isinstance(value, (int, float)):
        return value == value  # not NaN
    return isinstance(value, _INDEXABLE_TYPES)


def _first(doc: dict[str, Any], path: str) -> Any:
    v = next(iter(resolve_path(doc, path.split("."))), None)
    return None if v is MISSING else v


def _dedupe(values: list[Any]) -> list[Any]:
    seen: set[bytes] = set()
    out = []
    for v in values:
        k = canonical_key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out
