"""insert, update, delete, find, getMore, killCursors, findAndModify, count, distinct,
aggregate."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import bson
from bson import Int64, ObjectId
from bson.raw_bson import RawBSONDocument

from mongoemu.aggregate import PipelineContext, run_pipeline
from mongoemu.commands.catalog import check_coll_name, coll_stats_stage
from mongoemu.cursors import Cursor
from mongoemu.dispatch import Ctx, command
from mongoemu.errors import MongoError
from mongoemu.keys import MISSING, canonical_key, is_number, to_number
from mongoemu.query import Matcher, Projection, resolve_path, sort_documents
from mongoemu.wire import CODEC
from mongoemu.update import apply_update, is_operator_update, upsert_seed, validate_update

MAX_WRITE_BATCH = 100_000


def _coll(ctx: Ctx) -> str:
    coll = ctx.coll_name()
    check_coll_name(ctx.db, coll)
    return coll


def _int_arg(ctx: Ctx, name: str, default: int = 0, minimum: int | None = 0) -> int:
    value = ctx.cmd.get(name, default)
    if value is None:
        return default
    if not is_number(value):
        raise MongoError(14, f"BSON field '{ctx.spec.name}.{name}' is the wrong type "
                             f"'{type(value).__name__}', expected types '[long, int, decimal, "
                             "double]'")
    n = int(to_number(value))
    if minimum is not None and n < minimum:
        raise MongoError(51024, f"BSON field '{name}' value must be >= {minimum}, actual value "
                                f"'{n}'")
    return n


def _id_equality(flt: dict[str, Any]) -> tuple[bool, Any]:
    """A filter that is exactly {_id: <scalar>} can use the _id index."""
    if len(flt) != 1 or "_id" not in flt:
        return False, None
    value = flt["_id"]
    if isinstance(value, dict):
        if len(value) == 1 and "$eq" in value and not isinstance(value["$eq"], (dict, list)):
            return True, value["$eq"]
        if value and next(iter(value)).startswith("$"):
            return False, None
    if isinstance(value, (list, bson.Regex)) or hasattr(value, "pattern"):
        return False, None
    return True, value


def iter_matching(ctx: Ctx, ns: str, flt: dict[str, Any] | None,
                  reverse: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    flt = flt or {}
    if not isinstance(flt, dict):
        raise MongoError(14, "filter must be an object")
    fast, id_value = _id_equality(flt)
    if fast:
        found = ctx.storage.find_by_id(ns, id_value)
        if found is not None:
            yield found
        return
    matcher = Matcher(flt)
    rids = ctx.storage.candidate_rids(ns, flt)
    source = ctx.storage.scan(ns, reverse=reverse) if rids is None else \
        ctx.storage.fetch(ns, rids, reverse=reverse)
    for rid, doc in source:
        if matcher(doc):
            yield rid, doc


def _prepare_insert_doc(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise MongoError(14, "document to insert must be an object")
    if "_id" not in doc:
        return {"_id": ObjectId(), **doc}
    id_value = doc["_id"]
    if isinstance(id_value, list):
        raise MongoError(53, "The '_id' value cannot be of type array")
    if isinstance(id_value, (bson.Regex,)) or hasattr(id_value, "pattern") and \
            not isinstance(id_value, (str, dict)):
        raise MongoError(53, "can't use a regex for _id")
    if next(iter(doc)) != "_id":
        return {"_id": id_value, **{k: v for k, v in doc.items() if k != "_id"}}
    return doc


def _check_field_names(doc: dict[str, Any]) -> None:
    for key in doc:
        if key.startswith("$"):
            raise MongoError(2, f"Document can't have $ prefixed field names: {key}")


def _write_reply(n: int, errors: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"n": n}
    reply.update(extra)
    if errors:
        reply["writeErrors"] = errors
    reply["ok"] = 1.0
    return reply


@command("insert", write=True, needs=[("db", "insert")], retryable=True)
def cmd_insert(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    docs = ctx.cmd.get("documents")
    if not isinstance(docs, list):
        raise MongoError(40414, "BSON field 'insert.documents' is missing but a required field")
    if len(docs) > MAX_WRITE_BATCH:
        raise MongoError(16, f"Write batch sizes must be between 1 and {MAX_WRITE_BATCH}. Got "
                             f"{len(docs)} operations.")
    ordered = ctx.cmd.get("ordered", True)
    storage = ctx.storage
    repl = ctx.server.repl
    n = 0
    errors: list[dict[str, Any]] = []
    with storage.transaction(journal=ctx.journal):
        info = storage.get(ns)
        for index, raw in enumerate(docs):
            try:
                doc = _prepare_insert_doc(raw)
                _check_field_names(doc)
                if info is None:
                    info = storage.create_collection(ns)
                storage.insert(ns, doc, create=False)
                repl.log_op("i", ns, doc, o2={"_id": doc["_id"]}, ui=info.uuid)
                n += 1
            except MongoError as exc:
                errors.append(exc.to_write_error(index))
                if ordered:
                    break
    ctx.server.opcounters["insert"] += n
    return _write_reply(n, errors)


def _update_one_statement(ctx: Ctx, ns: str, stmt: dict[str, Any]
                          ) -> tuple[int, int, Any]:
    """Returns (matched, modified, upserted _id or MISSING)."""
    if not isinstance(stmt, dict):
        raise MongoError(14, "update statement must be an object")
    q = stmt.get("q", {})
    u = stmt.get("u")
    if u is None:
        raise MongoError(40414, "BSON field 'update.updates.u' is missing but a required field")
    if not isinstance(q, dict):
        raise MongoError(14, "BSON field 'update.updates.q' is the wrong type")
    multi = bool(stmt.get("multi", False))
    upsert = bool(stmt.get("upsert", False))
    array_filters = stmt.get("arrayFilters")
    validate_update(u)
    if multi and isinstance(u, dict) and not is_operator_update(u):
        raise MongoError(9, "multi update is not supported for replacement-style update")
    storage = ctx.storage
    repl = ctx.server.repl
    matched = modified = 0
    info = storage.get(ns)
    targets: list[tuple[int, dict[str, Any]]] = []
    if info is not None:
        sort = stmt.get("sort")
        if sort and not multi:
            found = list(iter_matching(ctx, ns, q))
            targets = [found_doc for found_doc in _sort_pairs(found, sort)[:1]]
        else:
            for pair in iter_matching(ctx, ns, q):
                targets.append(pair)
                if not multi:
                    break
    for rid, doc in targets:
        matched += 1
        new = apply_update(doc, u, query=q, array_filters=array_filters)
        _check_new_doc(new)
        if bson.encode(new) == bson.encode(doc):
            continue
        storage.replace(ns, rid, new)
        modified += 1
        o = new if not is_operator_update(u) else {"$v": 2, "diff": _diff(doc, new)}
        repl.log_op("u", ns, o, o2={"_id": doc["_id"]}, ui=info.uuid if info else None)
    if matched == 0 and upsert:
        if isinstance(u, dict) and not is_operator_update(u):
            new = dict(u)
            seed = upsert_seed(q)
            if "_id" not in new and "_id" in seed:
                new = {"_id": seed["_id"], **new}
        else:
            new = apply_update(upsert_seed(q), u, query=q, array_filters=array_filters,
                               is_insert=True)
        new = _prepare_insert_doc(new)
        _check_new_doc(new)
        info = storage.ensure_collection(ns)
        storage.insert(ns, new, create=False)
        repl.log_op("i", ns, new, o2={"_id": new["_id"]}, ui=info.uuid)
        return 0, 0, new["_id"]
    return matched, modified, MISSING


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The top-level ``$v: 2`` diff from ``before`` to ``after``: ``d`` removed fields, ``u``
    changed ones, ``i`` new ones (a secondary applies it with oplog_apply.apply_diff)."""
    diff: dict[str, Any] = {}
    removed = {k: False for k in before if k not in after}
    changed = {k: v for k, v in after.items() if k in before and
               bson.encode({"v": v}) != bson.encode({"v": before[k]})}
    added = {k: v for k, v in after.items() if k not in before}
    for key, part in (("d", removed), ("u", changed), ("i", added)):
        if part:
            diff[key] = part
    return diff


def _check_new_doc(doc: dict[str, Any]) -> None:
    if isinstance(doc.get("_id"), list):
        raise MongoError(53, "The '_id' value cannot be of type array")
    if len(bson.encode(doc)) > 16 * 1024 * 1024:
        raise MongoError(17419, "Resulting document after update is larger than 16777216")


def _sort_pairs(pairs: list[tuple[int, dict[str, Any]]], sort: Any
                ) -> list[tuple[int, dict[str, Any]]]:
    by_id = {id(doc): (rid, doc) for rid, doc in pairs}
    ordered = sort_documents([doc for _, doc in pairs], sort)
    return [by_id[id(doc)] for doc in ordered]


@command("update", write=True, needs=[("db", "update")], retryable=True)
def cmd_update(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    updates = ctx.cmd.get("updates")
    if not isinstance(updates, list):
        raise MongoError(40414, "BSON field 'update.updates' is missing but a required field")
    ordered = ctx.cmd.get("ordered", True)
    n = n_modified = 0
    upserted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with ctx.storage.transaction(journal=ctx.journal):
        for index, stmt in enumerate(updates):
            try:
                matched, modified, up_id = _update_one_statement(ctx, ns, stmt)
            except MongoError as exc:
                errors.append(exc.to_write_error(index))
                if ordered:
                    break
                continue
            n += matched
            n_modified += modified
            if up_id is not MISSING:
                n += 1
                upserted.append({"index": index, "_id": up_id})
    ctx.server.opcounters["update"] += len(updates)
    extra: dict[str, Any] = {"upserted": upserted} if upserted else {}
    return _write_reply(n, errors, nModified=n_modified, **extra)


@command("delete", write=True, needs=[("db", "remove")], retryable=True)
def cmd_delete(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    deletes = ctx.cmd.get("deletes")
    if not isinstance(deletes, list):
        raise MongoError(40414, "BSON field 'delete.deletes' is missing but a required field")
    ordered = ctx.cmd.get("ordered", True)
    storage = ctx.storage
    info = storage.get(ns)
    n = 0
    errors: list[dict[str, Any]] = []
    with storage.transaction(journal=ctx.journal):
        for index, stmt in enumerate(deletes):
            try:
                if not isinstance(stmt, dict) or "q" not in stmt:
                    raise MongoError(40414, "BSON field 'delete.deletes.q' is missing but a "
                                            "required field")
                limit = stmt.get("limit", 0)
                if limit not in (0, 1):
                    raise MongoError(9, "The limit field in delete objects must be 0 or 1. "
                                        f"Got {limit}")
                if info is None:
                    continue
                victims = []
                for rid, doc in iter_matching(ctx, ns, stmt["q"]):
                    victims.append((rid, doc))
                    if limit == 1:
                        break
                for rid, doc in victims:
                    _refuse_fcv_delete(ns, doc)
                    storage.delete(ns, rid)
                    ctx.server.repl.log_op("d", ns, {"_id": doc["_id"]}, ui=info.uuid)
                    n += 1
            except MongoError as exc:
                errors.append(exc.to_write_error(index))
                if ordered:
                    break
    ctx.server.opcounters["delete"] += len(deletes)
    return _write_reply(n, errors)


# -- reads ------------------------------------------------------------------------------------


_FIND_OPTIONS_NOT_FAST = frozenset({"projection", "skip", "sort", "tailable", "awaitData", "hint",
                                    "min", "max", "returnKey", "showRecordId", "collation",
                                    "let"})


def check_hint(ctx: Ctx, ns: str, hint: Any) -> None:
    """mongod refuses a hint that names no existing index (BadValue)."""
    if hint is None or hint == {} or hint == "":
        return
    info = ctx.storage.get(ns)
    if isinstance(hint, dict) and list(hint) == ["$natural"]:
        return
    if info is None:
        return
    if isinstance(hint, str):
        if hint in info.indexes:
            return
    elif isinstance(hint, dict):
        if any(list(ix.key.items()) == list(hint.items()) for ix in info.indexes.values()):
            return
    else:
        raise MongoError(9, "hint must be a string or an object")
    raise MongoError(2, "error processing query: ns=" + ns + " planner returned error :: "
                        "caused by :: hint provided does not correspond to an existing index")


def _natural_direction(sort: Any) -> tuple[bool, Any]:
    if isinstance(sort, dict) and list(sort) == ["$natural"]:
        return to_number(sort["$natural"]) < 0, None
    return False, sort


@command("find", read=True, needs=[("db", "find")])
def cmd_find(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    cmd = ctx.cmd
    flt = cmd.get("filter") or {}
    if len(flt) == 1 and "_id" in flt and not (cmd.keys() & _FIND_OPTIONS_NOT_FAST):
        # The _id point lookup that drivers send for find_one({_id: x}).
        fast, id_value = _id_equality(flt)
        if fast:
            ctx.server.opcounters["query"] += 1
            raw = ctx.storage.find_raw_by_id(ns, id_value)
            if raw is not None and cmd.get("batchSize") == 0:
                return ctx.server.dispatcher.cursors.first_batch(
                    ns, [bson.decode(raw, CODEC)], ctx.conn.id, batch_size=0,
                    users=ctx.user_names())
            # The stored bytes go back to the client as they are (no decode/encode).
            batch = [RawBSONDocument(raw)] if raw is not None else []
            return {"cursor": {"firstBatch": batch, "id": Int64(0), "ns": ns}, "ok": 1.0}
    if not isinstance(flt, dict):
        raise MongoError(14, "BSON field 'FindCommandRequest.filter' is the wrong type, "
                             "expected type 'object'")
    projection = Projection(ctx.cmd.get("projection"))
    skip = _int_arg(ctx, "skip")
    limit = _int_arg(ctx, "limit")
    batch_size = ctx.cmd.get("batchSize")
    if batch_size is not None:
        batch_size = _int_arg(ctx, "batchSize")
    single = bool(ctx.cmd.get("singleBatch", False))
    tailable = bool(ctx.cmd.get("tailable", False))
    await_data = bool(ctx.cmd.get("awaitData", False))
    reverse, sort = _natural_direction(ctx.cmd.get("sort"))
    hint = ctx.cmd.get("hint")
    check_hint(ctx, ns, hint)
    if isinstance(hint, dict) and list(hint) == ["$natural"] and not sort:
        reverse = to_number(hint["$natural"]) < 0
    info = ctx.storage.get(ns)
    ctx.server.opcounters["query"] += 1
    if await_data and not tailable:
        raise MongoError(2, "Cannot set 'awaitData' without also setting 'tailable'")
    if tailable:
        if info is not None and not info.capped:
            raise MongoError(2, f"error processing query: ns={ns} tree: $and\n  Sort: {{}}\n  "
                                "Proj: {}\n planner returned error :: caused by :: tailable "
                                "cursor requested on non capped collection")
        if sort:
            raise MongoError(2, "error processing query: tailable cursor only supports "
                                "$natural sort")
        if single:
            raise MongoError(2, "cannot use tailable option with the 'singleBatch' option")
    if info is None:
        return ctx.server.dispatcher.cursors.first_batch(ns, [], ctx.conn.id, batch_size=0,
                                                         single_batch=True)
    matcher = Matcher(flt)
    last_rid = 0
    if tailable:
        docs = []
        for rid, doc in ctx.storage.scan(ns):
            last_rid = rid
            if matcher(doc):
                docs.append(doc)
        docs = docs[skip:]
        out = [projection.apply(d) for d in docs]

        def fetch_more(cursor: Cursor, _ns: str = ns) -> list[dict[str, Any]]:
            if cursor.last_rid and not ctx.storage.has_rid(_ns, cursor.last_rid):
                raise MongoError(136, "CollectionScan died due to position in capped "
                                      "collection being deleted. Last seen record id: "
                                      f"RecordId({cursor.last_rid})")
            found = []
            for rid, doc in ctx.storage.scan(_ns, after_rid=cursor.last_rid):
                cursor.last_rid = rid
                if matcher(doc):
                    found.append(projection.apply(doc))
            return found
        return ctx.server.dispatcher.cursors.first_batch(
            ns, out, ctx.conn.id, batch_size=batch_size, limit=limit, tailable=True,
            await_data=await_data, last_rid=last_rid, fetch_more=fetch_more,
            users=ctx.user_names())
    docs = [doc for _, doc in iter_matching(ctx, ns, flt, reverse=reverse)]
    if sort:
        docs = sort_documents(docs, sort)
    if skip:
        docs = docs[skip:]
    if limit:
        docs = docs[:limit]
    out = [projection.apply(d) for d in docs] if projection.spec else docs
    return ctx.server.dispatcher.cursors.first_batch(ns, out, ctx.conn.id, batch_size=batch_size,
                                                     single_batch=single,
                                                     users=ctx.user_names())


def _getmore_needs(ctx: Ctx) -> list[tuple[str | None, str]]:
    return [(ctx.db, "find")]


@command("getMore", read=True, needs=_getmore_needs)
async def cmd_get_more(ctx: Ctx) -> dict[str, Any]:
    cursor_id = ctx.arg
    if not isinstance(cursor_id, int):
        raise MongoError(14, "BSON field 'getMore.getMore' is the wrong type, expected type "
                             "'long'")
    coll = ctx.cmd.get("collection")
    if not isinstance(coll, str):
        raise MongoError(40414, "BSON field 'getMore.collection' is missing but a required "
                                "field")
    batch = ctx.cmd.get("batchSize")
    max_time = ctx.cmd.get("maxTimeMS")
    ctx.server.opcounters["getmore"] += 1
    return await ctx.server.dispatcher.cursors.get_more(
        int(cursor_id), ctx.ns(coll), int(batch) if batch is not None else None,
        int(max_time) if max_time is not None else None, ctx.user_names())


@command("killCursors", needs=[("db", "killCursors")])
def cmd_kill_cursors(ctx: Ctx) -> dict[str, Any]:
    coll = ctx.coll_name()
    ids = ctx.cmd.get("cursors")
    if not isinstance(ids, list):
        raise MongoError(40414, "BSON field 'killCursors.cursors' is missing but a required "
                                "field")
    return ctx.server.dispatcher.cursors.kill(ctx.ns(coll), ids)


@command("count", read=True, needs=[("db", "find")])
def cmd_count(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    query = ctx.cmd.get("query") or {}
    skip = _int_arg(ctx, "skip")
    limit = abs(_int_arg(ctx, "limit", minimum=None))
    check_hint(ctx, ns, ctx.cmd.get("hint"))
    info = ctx.storage.get(ns)
    if info is None:
        return {"n": 0, "ok": 1.0}
    if not query and not skip and not limit:
        return {"n": info.count, "ok": 1.0}
    n = sum(1 for _ in iter_matching(ctx, ns, query))
    n = max(0, n - skip)
    if limit:
        n = min(n, limit)
    return {"n": n, "ok": 1.0}


@command("distinct", read=True, needs=[("db", "find")])
def cmd_distinct(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    key = ctx.cmd.get("key")
    if not isinstance(key, str):
        raise MongoError(40414, "BSON field 'distinct.key' is missing but a required field")
    query = ctx.cmd.get("query") or {}
    values: list[Any] = []
    seen: set[bytes] = set()
    if ctx.storage.get(ns) is not None:
        for _, doc in iter_matching(ctx, ns, query):
            for v in resolve_path(doc, key.split(".")):
                if v is MISSING:
                    continue
                for item in (v if isinstance(v, list) else [v]):
                    k = canonical_key(item)
                    if k not in seen:
                        seen.add(k)
                        values.append(item)
    return {"values": values, "ok": 1.0}


@command("findAndModify", aliases=("findandmodify",), write=True,
         needs=lambda ctx: [(ctx.db, "find"), (ctx.db, "remove" if ctx.cmd.get("remove")
                                               else "update")], retryable=True)
def cmd_find_and_modify(ctx: Ctx) -> dict[str, Any]:
    coll = _coll(ctx)
    ns = ctx.ns(coll)
    query = ctx.cmd.get("query") or {}
    remove = bool(ctx.cmd.get("remove", False))
    update = ctx.cmd.get("update")
    upsert = bool(ctx.cmd.get("upsert", False))
    return_new = bool(ctx.cmd.get("new", False))
    fields = ctx.cmd.get("fields")
    projection = Projection(fields)
    sort = ctx.cmd.get("sort")
    if remove and update is not None:
        raise MongoError(9, "Cannot specify both an update and remove=true")
    if not remove and update is None:
        raise MongoError(9, "Either an update or remove=true must be specified")
    if remove and upsert:
        raise MongoError(9, "Cannot specify both upsert=true and remove=true")
    if remove and return_new:
        raise MongoError(9, "Cannot specify both new=true and remove=true; 'remove' always "
                            "returns the deleted document")
    storage = ctx.storage
    with storage.transaction(journal=ctx.journal):
        candidates = list(iter_matching(ctx, ns, query)) if storage.get(ns) else []
        if sort:
            candidates = _sort_pairs(candidates, sort)
        target = candidates[0] if candidates else None
        if remove:
            if target is None:
                return {"lastErrorObject": {"n": 0}, "value": None, "ok": 1.0}
            rid, doc = target
            _refuse_fcv_delete(ns, doc)
            info = storage.get(ns)
            storage.delete(ns, rid)
            ctx.server.repl.log_op("d", ns, {"_id": doc["_id"]}, ui=info.uuid if info else None)
            return {"lastErrorObject": {"n": 1}, "value": projection.apply(doc), "ok": 1.0}
        stmt = {"q": {"_id": target[1]["_id"]} if target else query, "u": update,
                "upsert": upsert, "multi": False,
                "arrayFilters": ctx.cmd.get("arrayFilters")}
        if target is not None:
            stmt["q"] = query if any(k.endswith(".$") or ".$." in k for k in
                                     (update or {}) if isinstance(update, dict)) else stmt["q"]
        before = target[1] if target else None
        if target is not None:
            # Apply to exactly the chosen document.
            rid, doc = target
            validate_update(update)
            new = apply_update(doc, update, query=query,
                               array_filters=ctx.cmd.get("arrayFilters"))
            _check_new_doc(new)
            if bson.encode(new) != bson.encode(doc):
                storage.replace(ns, rid, new)
                info = storage.get(ns)
                ctx.server.repl.log_op("u", ns, new, o2={"_id": doc["_id"]},
                                       ui=info.uuid if info else None)
            value = new if return_new else before
            return {"lastErrorObject": {"n": 1, "updatedExisting": True},
                    "value": projection.apply(value), "ok": 1.0}
        if not upsert:
            return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None,
                    "ok": 1.0}
        _m, _mod, up_id = _update_one_statement(ctx, ns, stmt)
        found = storage.find_by_id(ns, up_id)
        value = projection.apply(found[1]) if (found and return_new) else None
        return {"lastErrorObject": {"n": 1, "updatedExisting": False, "upserted": up_id},
                "value": value, "ok": 1.0}


@command("aggregate", read=True,
         needs=lambda ctx: [(ctx.db, "find")] + ([(None, "inprog")] if any(
             isinstance(s, dict) and "$currentOp" in s for s in ctx.cmd.get("pipeline") or [])
             else []))
def cmd_aggregate(ctx: Ctx) -> dict[str, Any]:
    target = ctx.arg
    pipeline = ctx.cmd.get("pipeline")
    if not isinstance(pipeline, list):
        raise MongoError(14, "'pipeline' option must be specified as an array")
    if "cursor" not in ctx.cmd and not ctx.cmd.get("explain"):
        raise MongoError(9, "The 'cursor' option is required, except for aggregate with the "
                            "explain argument")
    cursor_opts = ctx.cmd.get("cursor") or {}
    if not isinstance(cursor_opts, dict):
        raise MongoError(14, "cursor field must be missing or an object")
    batch = cursor_opts.get("batchSize")
    if isinstance(target, str):
        check_coll_name(ctx.db, target)
        ns = ctx.ns(target)
    elif target == 1:
        ns = f"{ctx.db}.$cmd.aggregate"
    else:
        raise MongoError(73, "Invalid aggregate namespace")
    for stage in pipeline:
        if isinstance(stage, dict) and any(k in ("$out", "$merge") for k in stage):
            ctx.server.repl.check_writable(ctx.db)
    starts_with_generator = bool(pipeline) and isinstance(pipeline[0], dict) and \
        next(iter(pipeline[0]), "") in ("$collStats", "$currentOp", "$listSessions",
                                        "$indexStats", "$documents")
    if starts_with_generator or target == 1:
        source: list[dict[str, Any]] = []
    else:
        source = [doc for _, doc in ctx.storage.scan(ns)]

    def load(name: str) -> list[dict[str, Any]]:
        return [doc for _, doc in ctx.storage.scan(ctx.ns(name))]

    def write_out(stage: str, arg: Any, docs: list[dict[str, Any]]) -> None:
        out_coll = arg if isinstance(arg, str) else (arg.get("coll") if stage == "$out"
                                                     else arg.get("into"))
        if isinstance(out_coll, dict):
            out_coll = out_coll.get("coll")
        out_ns = ctx.ns(str(out_coll))
        with ctx.storage.transaction(journal=ctx.journal):
            if stage == "$out" and ctx.storage.get(out_ns) is not None:
                ctx.storage.truncate(out_ns)
            for doc in docs:
                doc = _prepare_insert_doc(doc)
                if stage == "$merge":
                    found = ctx.storage.find_by_id(out_ns, doc["_id"])
                    if found is not None:
                        ctx.storage.replace(out_ns, found[0], doc)
                        continue
                ctx.storage.insert(out_ns, doc)

    pctx = PipelineContext(db=ctx.db,
                           coll_stats=lambda spec: coll_stats_stage(ctx, ns, spec),
                           load_collection=load, extra={"write_out": write_out})
    results = run_pipeline(source, pipeline, pctx)
    ctx.server.opcounters["query"] += 1
    if ctx.cmd.get("explain"):
        return {"explainVersion": "1", "stages": pipeline, "ok": 1.0}
    return ctx.server.dispatcher.cursors.first_batch(ns, results, ctx.conn.id, batch_size=batch,
                                                     users=ctx.user_names())


__all__ = ["iter_matching", "Callable", "Int64"]


@command("explain", read=True, needs=lambda ctx: [(ctx.db, "find")])
def cmd_explain(ctx: Ctx) -> dict[str, Any]:
    inner = ctx.arg
    if not isinstance(inner, dict) or not inner:
        raise MongoError(9, "explain command requires a nested object")
    inner_name = next(iter(inner))
    if inner_name not in ("find", "aggregate", "count", "distinct", "update", "delete",
                          "findAndModify"):
        raise MongoError(2, f"Explain failed due to unknown command: {inner_name}")
    target = inner[inner_name]
    ns = ctx.ns(target) if isinstance(target, str) else f"{ctx.db}.$cmd.aggregate"
    flt = inner.get("filter") or inner.get("query") or {}
    fast, _ = _id_equality(flt) if isinstance(flt, dict) and flt else (False, None)
    stage = "IDHACK" if fast else "COLLSCAN"
    from mongoemu import release

    return {"explainVersion": "1",
            "queryPlanner": {"namespace": ns, "indexFilterSet": False, "parsedQuery": flt,
                             "maxIndexedOrSolutionsReached": False,
                             "maxIndexedAndSolutionsReached": False,
                             "maxScansToExplodeReached": False,
                             "winningPlan": {"stage": stage}, "rejectedPlans": []},
            "command": inner,
            "serverInfo": {"host": ctx.server.hostname, "port": ctx.server.config.port,
                           "version": release.current().version, "gitVersion": "mongoemu"},
            "ok": 1.0}


@command("commitTransaction", admin_only=True)
def cmd_commit_transaction(ctx: Ctx) -> dict[str, Any]:
    raise MongoError(251, "mongoemu does not support multi-document transactions")


@command("abortTransaction", admin_only=True)
def cmd_abort_transaction(ctx: Ctx) -> dict[str, Any]:
    raise MongoError(251, "mongoemu does not support multi-document transactions")


def _refuse_fcv_delete(ns: str, doc: dict[str, Any]) -> None:
    """FcvOpObserver::onDelete: the FCV document cannot be removed."""
    if ns == "admin.system.version" and doc.get("_id") == "featureCompatibilityVersion":
        raise MongoError(40670, "removing FeatureCompatibilityVersion document is not allowed")
