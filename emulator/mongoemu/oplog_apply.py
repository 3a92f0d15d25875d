"""Applying one oplog entry to this member's data, idempotently, as a secondary's applier does
(oplog_application.cpp): inserts become upserts, updates apply a replacement or a ``$v: 2``
diff, deletes of missing documents are no-ops, and commands (create, drop, dropDatabase,
createIndexes, dropIndexes, renameCollection) converge to the same catalog.
"""
from __future__ import annotations

from typing import Any

from mongoemu.storage import Storage

#: namespaces mongod never replicates from another member's oplog
_LOCAL_DB = "local"


def apply_entry(storage: Storage, entry: dict[str, Any], *, build_indexes: bool = True) -> None:
    op = entry.get("op")
    ns = str(entry.get("ns", ""))
    if op == "n" or ns.split(".", 1)[0] == _LOCAL_DB:
        return
    o = entry.get("o") or {}
    if op == "i":
        _upsert(storage, ns, o)
    elif op == "u":
        _update(storage, ns, (entry.get("o2") or {}).get("_id"), o)
    elif op == "d":
        found = storage.find_by_id(ns, o.get("_id"))
        if found is not None:
            storage.delete(ns, found[0])
    elif op == "c":
        _command(storage, ns.split(".", 1)[0], o, build_indexes)


def _upsert(storage: Storage, ns: str, doc: dict[str, Any]) -> None:
    found = storage.find_by_id(ns, doc.get("_id")) if storage.get(ns) is not None else None
    if found is None:
        storage.insert(ns, doc)
    else:
        storage.replace(ns, found[0], doc)


def _update(storage: Storage, ns: str, doc_id: Any, o: dict[str, Any]) -> None:
    found = storage.find_by_id(ns, doc_id) if storage.get(ns) is not None else None
    if "$v" in o and isinstance(o.get("diff"), dict):
        if found is None:
            return  # the document was deleted later in the oplog (initial sync replays)
        storage.replace(ns, found[0], apply_diff(found[1], o["diff"]))
        return
    new = dict(o)
    if "_id" not in new:
        new = {"_id": doc_id, **new}
    if found is None:
        storage.insert(ns, new)
    else:
        storage.replace(ns, found[0], new)


def apply_diff(doc: dict[str, Any], diff: dict[str, Any]) -> dict[str, Any]:
    """A ``$v: 2`` update diff: ``d`` deletes fields, ``u`` sets existing ones, ``i`` appends
    new ones, ``s<field>`` recurses into a sub-document."""
    out = {k: v for k, v in doc.items() if k not in (diff.get("d") or {})}
    for key, value in (diff.get("u") or {}).items():
        out[key] = value
    for key, value in (diff.get("i") or {}).items():
        out[key] = value
    for key, value in diff.items():
        if key.startswith("s") and len(key) > 1 and isinstance(value, dict):
            field = key[1:]
            sub = out.get(field)
            out[field] = apply_diff(sub if isinstance(sub, dict) else {}, value)
    return out


def _command(storage: Storage, db: str, o: dict[str, Any], build_indexes: bool) -> None:
    name = next(iter(o), "")
    if name == "create":
        ns = f"{db}.{o['create']}"
        if storage.get(ns) is None:
            options = {k: v for k, v in o.items() if k != "create"}
            storage.create_collection(ns, options or None)
    elif name == "drop":
        storage.drop_collection(f"{db}.{o['drop']}")
    elif name == "dropDatabase":
        for coll in storage.collection_names(db):
            storage.drop_collection(f"{db}.{coll}")
    elif name == "createIndexes":
        spec = {k: v for k, v in o.items() if k not in ("createIndexes", "v")}
        if build_indexes or spec.get("name") == "_id_":
            storage.create_index(f"{db}.{o['createIndexes']}", spec)
    elif name == "dropIndexes":
        ns = f"{db}.{o['dropIndexes']}"
        info = storage.get(ns)
        if info is not None and o.get("index") in info.indexes:
            storage.drop_index(ns, o["index"])
    elif name == "renameCollection":
        src, dst = str(o["renameCollection"]), str(o.get("to", ""))
        if storage.get(src) is not None:
            if o.get("dropTarget") and storage.get(dst) is not None:
                storage.drop_collection(dst)
            storage.rename_collection(src, dst)
