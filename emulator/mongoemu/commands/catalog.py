"""Databases, collections and indexes: list, create, drop, stats."""
from __future__ import annotations

import datetime as _dt
import os
from typing import Any

from bson import Int64

from mongoemu.auth import has_any_action_on_db, is_authorized
from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError
from mongoemu.keys import is_number, to_number
from mongoemu.query import Matcher
from mongoemu.storage import CollectionInfo

_BAD_DB_CHARS = frozenset('/\\. "$*<>:|?\x00')


def check_db_name(db: str) -> None:
    if not db or not _BAD_DB_CHARS.isdisjoint(db) or len(db) >= 64:
        raise MongoError(73, f"Invalid database name: '{db}'")


def check_coll_name(db: str, coll: str, *, for_create: bool = False) -> None:
    check_db_name(db)
    if not coll or "$" in coll or "\x00" in coll or coll.startswith("."):
        raise MongoError(73, f"Invalid namespace specified '{db}.{coll}'")
    if for_create and coll.startswith("system.") and coll not in (
            "system.users", "system.roles", "system.version", "system.js", "system.profile",
            "system.views", "system.replset", "system.sessions"):
        raise MongoError(73, f"Invalid system namespace: {db}.{coll}")


def _index_size(info: CollectionInfo) -> int:
    return max(4096, info.count * 24)


def _scale(ctx: Ctx) -> int:
    scale = ctx.cmd.get("scale", 1)
    if not is_number(scale) or to_number(scale) < 1:
        raise MongoError(2, "scale has to be >= 1")
    return int(to_number(scale))


def storage_stats(info: CollectionInfo, scale: int = 1) -> dict[str, Any]:
    size = info.size
    index_sizes = {name: _index_size(info) // scale for name in info.indexes}
    total_index = sum(index_sizes.values())
    storage_size = max(4096, size) // scale
    stats: dict[str, Any] = {
        "size": size // scale, "count": info.count,
        "avgObjSize": int(size / info.count) if info.count else 0,
        "numOrphanDocs": 0, "storageSize": storage_size, "freeStorageSize": 0,
        "capped": info.capped}
    if info.capped:
        if info.options.get("max"):
            stats["max"] = int(info.options["max"])
        stats["maxSize"] = int(info.options.get("size", 0)) // scale
    stats.update({"wiredTiger": {"type": "file", "uri": f"statistics:table:{info.table}",
                                 "mongoemu": "sqlite3 table"},
                  "nindexes": len(info.indexes), "indexDetails": {}, "indexBuilds": [],
                  "totalIndexSize": total_index, "totalSize": storage_size + total_index,
                  "indexSizes": index_sizes, "scaleFactor": scale})
    return stats


def _now() -> _dt.datetime:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def coll_stats_stage(ctx: Ctx, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    info = ctx.storage.get(ns)
    out: dict[str, Any] = {"ns": ns, "host": f"{ctx.server.hostname}:{ctx.server.config.port}",
                           "localTime": _now()}
    if not isinstance(spec, dict):
        raise MongoError(5447000, "$collStats must take a nested object")
    if "latencyStats" in spec:
        out["latencyStats"] = {"reads": {"latency": Int64(0), "ops": Int64(0)},
                               "writes": {"latency": Int64(0), "ops": Int64(0)},
                               "commands": {"latency": Int64(0), "ops": Int64(0)},
                               "transactions": {"latency": Int64(0), "ops": Int64(0)}}
    if "storageStats" in spec:
        if info is None:
            raise MongoError(26, f"Unable to retrieve storageStats in $collStats stage :: "
                                 f"caused by :: Collection [{ns}] not found.")
        scale = int((spec.get("storageStats") or {}).get("scale", 1))
        out["storageStats"] = storage_stats(info, scale)
    if "count" in spec:
        if info is None:
            raise MongoError(26, f"Unable to retrieve count in $collStats stage :: caused by "
                                 f":: Collection [{ns}] not found.")
        out["count"] = info.count
    return out


@command("listDatabases", admin_only=True, read=False, needs=lambda ctx: [])
def cmd_list_databases(ctx: Ctx) -> dict[str, Any]:
    storage = ctx.storage
    name_only = bool(ctx.cmd.get("nameOnly", False))
    flt = ctx.cmd.get("filter")
    matcher = Matcher(flt) if flt else None
    authorized_only = ctx.cmd.get("authorizedDatabases")
    restrict = False
    # list_databases.cpp: without the listDatabases action (or with authorizedDatabases: true)
    # only the databases the session holds any privilege in are listed; the localhost
    # exception's default privileges count (admin and $external).
    principals = ctx.server.dispatcher.principals(ctx.conn)
    if ctx.server.config.auth_enabled and principals:
        if not is_authorized(principals, [(None, "listDatabases")]):
            if authorized_only is False:
                raise MongoError(13, "not authorized on admin to execute command "
                                     "{ listDatabases: 1 }")
            restrict = True
    elif authorized_only:
        restrict = bool(ctx.server.config.auth_enabled)
    dbs = []
    total = 0
    for db in storage.database_names():
        if restrict and not has_any_action_on_db(principals, db):
            continue
        size = sum(max(4096, i.size) + 4096 * len(i.indexes) for i in storage.collections.values()
                   if i.db == db)
        entry: dict[str, Any] = {"name": db} if name_only else \
            {"name": db, "sizeOnDisk": Int64(size), "empty": False}
        probe = {"name": db, "sizeOnDisk": Int64(size), "empty": False}
        if matcher is not None and not matcher(probe):
            continue
        dbs.append(entry)
        total += size
    reply: dict[str, Any] = {"databases": dbs}
    if not name_only:
        reply["totalSize"] = Int64(total)
        reply["totalSizeMb"] = Int64(total // (1024 * 1024))
    reply["ok"] = 1.0
    return reply


def _collection_entry(info: CollectionInfo, name_only: bool) -> dict[str, Any]:
    if name_only:
        return {"name": info.name, "type": "collection"}
    entry: dict[str, Any] = {"name": info.name, "type": "collection",
                             "options": dict(info.options),
                             "info": {"readOnly": False, "uuid": info.uuid}}
    if "_id_" in info.indexes:
        entry["idIndex"] = {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    return entry


@command("listCollections", read=True, needs=[("db", "listCollections")])
def cmd_list_collections(ctx: Ctx) -> dict[str, Any]:
    check_db_name(ctx.db)
    name_only = bool(ctx.cmd.get("nameOnly", False))
    flt = ctx.cmd.get("filter")
    matcher = Matcher(flt) if flt else None
    docs = []
    for name in ctx.storage.collection_names(ctx.db):
        info = ctx.storage.get(ctx.ns(name))
        full = _collection_entry(info, False)
        if matcher is not None and not matcher(full):
            continue
        docs.append(_collection_entry(info, name_only))
    batch = (ctx.cmd.get("cursor") or {}).get("batchSize")
    return ctx.server.dispatcher.cursors.first_batch(
        f"{ctx.db}.$cmd.listCollections", docs, ctx.conn.id, batch_size=batch)


@command("create", write=True, needs=[("db", "createCollection")])
def cmd_create(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    check_coll_name(ctx.db, coll, for_create=True)
    options: dict[str, Any] = {}
    allowed = {"capped", "size", "max", "autoIndexId", "validator", "validationLevel",
               "validationAction", "collation", "storageEngine", "indexOptionDefaults",
               "writeConcern", "viewOn", "pipeline", "clusteredIndex", "timeseries",
               "expireAfterSeconds", "changeStreamPreAndPostImages", "encryptedFields",
               "idIndex", "flags", "temp", "recordPreImages"}
    for key, value in ctx.cmd.items():
        if key == ctx.name or key in ("$db", "lsid", "$clusterTime", "$readPreference",
                                      "writeConcern", "comment", "maxTimeMS", "txnNumber",
                                      "apiVersion", "apiStrict", "apiDeprecationErrors"):
            continue
        if key not in allowed:
            raise MongoError(40415, f"BSON field 'create.{key}' is an unknown field.")
        options[key] = value
    if "viewOn" in options or "timeseries" in options:
        raise MongoError(115, "mongoemu does not support views or time series collections")
    if options.get("capped"):
        size = options.get("size")
        if size is None:
            raise MongoError(72, "the 'size' field is required when 'capped' is true")
        if not is_number(size) or to_number(size) < 0:
            raise MongoError(2, "size must be a positive number")
        size = int(to_number(size))
        if size > 1024 ** 5:
            raise MongoError(2, "size too large")
        options["capped"] = True
        options["size"] = size
        if "max" in options:
            options["max"] = int(to_number(options["max"]))
    else:
        options.pop("capped", None)
    if options.get("validator") == {}:  # CollectionOptions::appendBSON omits an empty one
        del options["validator"]
    ns = ctx.ns(coll)
    existing = ctx.storage.get(ns)
    if existing is not None:
        if _same_options(existing.options, options):
            return {"ok": 1.0}
        raise MongoError(48, f"Collection {ns} already exists.")
    with ctx.storage.transaction(journal=ctx.journal):
        ctx.storage.create_collection(ns, options)
    ctx.server.repl.log_op("c", f"{ctx.db}.$cmd", {"create": coll, **options})
    ctx.server.logger.info("STORAGE", 20320, f"conn{ctx.conn.id}", "createCollection",
                           namespace=ns, options=options)
    return {"ok": 1.0}


def _same_options(a: dict[str, Any], b: dict[str, Any]) -> bool:
    strip = lambda d: {k: v for k, v in d.items() if k != "writeConcern"}  # noqa: E731
    return strip(a) == strip(b)


@command("drop", write=True, needs=[("db", "dropCollection")])
def cmd_drop(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    ns = ctx.ns(coll)
    info = ctx.storage.get(ns)
    if info is None:
        # mongod 7.0: dropping a missing collection succeeds.
        return {"ok": 1.0}
    n = len(info.indexes)
    ctx.server.logger.info("COMMAND", 518070, f"conn{ctx.conn.id}", "CMD: drop",
                           namespace=ns)
    with ctx.storage.transaction(journal=ctx.journal):
        ctx.storage.drop_collection(ns)
    ctx.server.dispatcher.cursors.drop_namespace(ns)
    ctx.server.repl.log_op("c", f"{ctx.db}.$cmd", {"drop": coll})
    return {"nIndexesWas": n, "ns": ns, "ok": 1.0}


@command("dropDatabase", write=True, needs=[("db", "dropDatabase")])
def cmd_drop_database(ctx: Ctx) -> dict[str, Any]:
    check_db_name(ctx.db)
    if ctx.db == "local" and ctx.server.repl.enabled:
        raise MongoError(20, "Cannot drop 'local' database while replication is active")
    ctx.server.logger.info("COMMAND", 20337, f"conn{ctx.conn.id}", "dropDatabase - starting",
                           db=ctx.db)
    with ctx.storage.transaction(journal=ctx.journal):
        for name in ctx.storage.collection_names(ctx.db):
            ns = ctx.ns(name)
            ctx.storage.drop_collection(ns)
            ctx.server.dispatcher.cursors.drop_namespace(ns)
    ctx.server.repl.log_op("c", f"{ctx.db}.$cmd", {"dropDatabase": 1})
    ctx.server.logger.info("COMMAND", 20336, f"conn{ctx.conn.id}", "dropDatabase", db=ctx.db,
                           numCollectionsDropped=0)
    return {"dropped": ctx.db, "ok": 1.0}


@command("renameCollection", admin_only=True, write=True,
         needs=lambda ctx: [(str(ctx.arg).split(".")[0], "renameCollectionSameDB")])
def cmd_rename_collection(ctx: Ctx) -> dict[str, Any]:
    src, dst = ctx.arg, ctx.cmd.get("to")
    if not isinstance(src, str) or not isinstance(dst, str):
        raise MongoError(2, "renameCollection and to must be strings")
    if ctx.storage.get(src) is None:
        raise MongoError(26, "Source collection " + src + " does not exist")
    if ctx.storage.get(dst) is not None:
        if not ctx.cmd.get("dropTarget"):
            raise MongoError(48, "target namespace exists")
        ctx.storage.drop_collection(dst)
    ctx.storage.rename_collection(src, dst)
    ctx.server.repl.log_op("c", f"{src.split('.', 1)[0]}.$cmd",
                           {"renameCollection": src, "to": dst,
                            "dropTarget": bool(ctx.cmd.get("dropTarget"))})
    return {"ok": 1.0}


@command("collMod", write=True, needs=[("db", "collMod")])
def cmd_coll_mod(ctx: Ctx) -> dict[str, Any]:
    ns = ctx.ns(ctx.coll_name())
    info = ctx.storage.get(ns)
    if info is None:
        raise MongoError(26, f"ns does not exist: {ns}")
    options = dict(info.options)
    for key in ("cappedSize", "cappedMax"):
        if key in ctx.cmd:
            if not info.capped:
                raise MongoError(72, "collMod cappedSize/cappedMax only apply to capped "
                                     "collections")
            options["size" if key == "cappedSize" else "max"] = int(ctx.cmd[key])
    for key in ("validator", "validationLevel", "validationAction"):
        if key in ctx.cmd:
            options[key] = ctx.cmd[key]
    # CollectionOptions::appendBSON (collection_options.cpp) writes "validator" only when it is
    # not empty: collMod {validator: {}} removes it from the catalog and listCollections
    if options.get("validator") == {}:
        del options["validator"]
    ctx.storage.update_options(ns, options)
    return {"ok": 1.0}


# -- indexes ---------------------------------------------------------------------------------


def _validate_index_spec(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise MongoError(14, "Each index specification must be an object")
    key = spec.get("key")
    if not isinstance(key, dict):
        raise MongoError(9, f"Error in specification {spec} :: caused by :: The 'key' field is "
                            "a required property of an index specification")
    if not key:
        raise MongoError(67, f"Error in specification {spec} :: caused by :: Index keys cannot "
                             "be empty.")
    for field, direction in key.items():
        if isinstance(direction, str):
            if direction not in ("2d", "2dsphere", "text", "hashed", "wildcard"):
                raise MongoError(67, f"Error in specification {spec} :: caused by :: Unknown "
                                     f"index plugin '{direction}'")
        elif not is_number(direction) or to_number(direction) == 0:
            raise MongoError(67, f"Error in specification {spec} :: caused by :: Values in the "
                                 "index key pattern can only be numbers > 0, numbers < 0, or "
                                 "strings.")
    if "name" not in spec or not isinstance(spec["name"], str):
        raise MongoError(9, f"Error in specification {spec} :: caused by :: The 'name' field "
                            "is a required property of an index specification")
    if not spec["name"]:
        raise MongoError(67, "Index name cannot be empty")
    return spec


@command("createIndexes", write=True, needs=[("db", "createIndex")])
def cmd_create_indexes(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    check_coll_name(ctx.db, coll)
    ns = ctx.ns(coll)
    indexes = ctx.cmd.get("indexes")
    if not isinstance(indexes, list) or not indexes:
        raise MongoError(2, "Must specify at least one index to create")
    specs = [_validate_index_spec(s) for s in indexes]
    for s in specs:
        if s["name"] == "_id_" and list(s["key"].items()) != [("_id", 1)]:
            raise MongoError(86, "The index name '_id_' is reserved for the _id index, which "
                                 "must have key pattern {_id: 1}")
    created_auto = ctx.storage.get(ns) is None
    with ctx.storage.transaction(journal=ctx.journal):
        info = ctx.storage.ensure_collection(ns)
        before = len(info.indexes)
        any_created = False
        for s in specs:
            spec = {k: v for k, v in s.items() if k != "v"}
            if ctx.storage.create_index(ns, spec):
                any_created = True
                ctx.server.repl.log_op("c", f"{ctx.db}.$cmd", {"createIndexes": coll, "v": 2,
                                                               **spec})
                ctx.server.logger.info("INDEX", 20345, f"conn{ctx.conn.id}",
                                       "Index build: done building", namespace=ns,
                                       index=spec["name"])
    reply: dict[str, Any] = {"numIndexesBefore": before, "numIndexesAfter": len(info.indexes)}
    if not any_created:
        reply["note"] = "all indexes already exist"
    reply["createdCollectionAutomatically"] = created_auto
    reply["ok"] = 1.0
    return reply


@command("listIndexes", read=True, needs=[("db", "listIndexes")])
def cmd_list_indexes(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    ns = ctx.ns(coll)
    info = ctx.storage.get(ns)
    if info is None:
        raise MongoError(26, f"ns does not exist: {ns}")
    docs = [ix.spec() for ix in info.indexes.values()]
    batch = (ctx.cmd.get("cursor") or {}).get("batchSize")
    return ctx.server.dispatcher.cursors.first_batch(ns, docs, ctx.conn.id, batch_size=batch)


@command("dropIndexes", aliases=("deleteIndexes",), write=True, needs=[("db", "dropIndex")])
def cmd_drop_indexes(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    ns = ctx.ns(coll)
    info = ctx.storage.get(ns)
    if info is None:
        raise MongoError(26, f"ns not found {ns}")
    which = ctx.cmd.get("index")
    n_before = len(info.indexes)
    names: list[str]
    if which == "*":
        names = [n for n in info.indexes if n != "_id_"]
    elif isinstance(which, str):
        if which == "_id_":
            raise MongoError(72, "cannot drop _id index")
        if which not in info.indexes:
            raise MongoError(27, f"index not found with name [{which}]")
        names = [which]
    elif isinstance(which, dict):
        matching = [ix.name for ix in info.indexes.values()
                    if list(ix.key.items()) == list(which.items())]
        if not matching:
            raise MongoError(27, f"can't find index with key: {which}")
        if matching == ["_id_"]:
            raise MongoError(72, "cannot drop _id index")
        names = matching
    elif isinstance(which, list):
        names = []
        for n in which:
            if n not in info.indexes:
                raise MongoError(27, f"index not found with name [{n}]")
            if n == "_id_":
                raise MongoError(72, "cannot drop _id index")
            names.append(n)
    else:
        raise MongoError(14, "dropIndexes 'index' must be a string, object or array")
    with ctx.storage.transaction(journal=ctx.journal):
        for n in names:
            ctx.storage.drop_index(ns, n)
            ctx.server.repl.log_op("c", f"{ctx.db}.$cmd", {"dropIndexes": coll, "index": n})
    reply: dict[str, Any] = {"nIndexesWas": n_before}
    if which == "*":
        reply["msg"] = "non-_id indexes dropped for collection"
    reply["ok"] = 1.0
    return reply


# -- stats -------------------------------------------------------------------------------------


@command("collStats", read=True, needs=[("db", "collStats")])
def cmd_coll_stats(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    ns = ctx.ns(coll)
    scale = _scale(ctx)
    info = ctx.storage.get(ns)
    if info is None:
        raise MongoError(26, f"Collection [{ns}] not found.")
    reply: dict[str, Any] = {"ns": ns}
    reply.update(storage_stats(info, scale))
    reply["ok"] = 1.0
    return reply


@command("dbStats", read=True, needs=[("db", "dbStats")])
def cmd_db_stats(ctx: Ctx) -> dict[str, Any]:
    check_db_name(ctx.db)
    scale = _scale(ctx)
    infos = [i for i in ctx.storage.collections.values() if i.db == ctx.db]
    objects = sum(i.count for i in infos)
    data = sum(i.size for i in infos)
    storage_size = sum(max(4096, i.size) for i in infos)
    n_indexes = sum(len(i.indexes) for i in infos)
    index_size = sum(_index_size(i) * len(i.indexes) for i in infos)
    try:
        st = os.statvfs(ctx.server.config.dbpath)
        fs_total = st.f_blocks * st.f_frsize
        fs_used = (st.f_blocks - st.f_bfree) * st.f_frsize
    except OSError:
        fs_total = fs_used = 0
    return {"db": ctx.db, "collections": len(infos), "views": 0, "objects": objects,
            "avgObjSize": (data / objects) if objects else 0, "dataSize": data / scale,
            "storageSize": storage_size / scale, "indexes": n_indexes,
            "indexSize": index_size / scale, "totalSize": (storage_size + index_size) / scale,
            "scaleFactor": scale, "fsUsedSize": fs_used / scale, "fsTotalSize": fs_total / scale,
            "ok": 1.0}


@command("validate", read=True, needs=[("db", "validate")])
def cmd_validate(ctx: Ctx) -> dict[str, Any]:
    ns = ctx.ns(ctx.coll_name())
    info = ctx.storage.get(ns)
    if info is None:
        raise MongoError(26, f"Collection '{ns}' does not exist to validate.")
    return {"ns": ns, "nInvalidDocuments": 0, "nNonCompliantDocuments": 0,
            "nrecords": info.count, "nIndexes": len(info.indexes),
            "keysPerIndex": {n: info.count for n in info.indexes},
            "indexDetails": {n: {"valid": True} for n in info.indexes}, "valid": True,
            "repaired": False, "warnings": [], "errors": [], "extraIndexEntries": [],
            "missingIndexEntries": [], "corruptRecords": [], "ok": 1.0}


@command("compact", write=False, needs=[("db", "compact")])
def cmd_compact(ctx: Ctx) -> dict[str, Any]:
    ns = ctx.ns(ctx.coll_name())
    if ctx.storage.get(ns) is None:
        raise MongoError(26, f"collection does not exist: {ns}")
    ctx.storage.checkpoint()
    return {"bytesFreed": 0, "ok": 1.0}
