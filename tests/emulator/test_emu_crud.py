"""Collections, CRUD, update operators, findAndModify, count/distinct, aggregation,
indexes (unique enforcement), collStats/dbStats, cursors (getMore, killCursors, tailable
awaitData on capped collections) and the query language, on one shared standalone."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from bson import Binary, Int64
from pymongo import ASCENDING, DESCENDING, CursorType, ReturnDocument, WriteConcern
from pymongo.errors import DuplicateKeyError, OperationFailure, WriteError

from emuharness import Wire, assert_fails as _fails

pytestmark = pytest.mark.emulator




@pytest.fixture
def db(client, request):
    name = "crud_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[:50]
    client.drop_database(name)
    yield client[name]
    client.drop_database(name)


# ------------------------------------------------------------------ collections


def test_create_and_list_collections(db):
    assert db.command("create", "plain")["ok"] == 1.0
    db.create_collection("capped", capped=True, size=4096, max=3)
    infos = {c["name"]: c for c in db.command("listCollections")["cursor"]["firstBatch"]}
    assert set(infos) == {"plain", "capped"}
    plain = infos["plain"]
    assert plain["type"] == "collection"
    assert plain["options"] == {}
    assert plain["info"]["readOnly"] is False
    assert isinstance(plain["info"]["uuid"], (Binary, uuid.UUID))
    assert plain["idIndex"] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    capped_options = infos["capped"]["options"]
    assert capped_options["capped"] is True
    assert capped_options["size"] == 4096
    assert capped_options["max"] == 3
    names_only = db.command({"listCollections": 1, "nameOnly": True})["cursor"]["firstBatch"]
    assert all(set(c) == {"name", "type"} for c in names_only)
    filtered = db.command({"listCollections": 1, "filter": {"name": "capped"}})
    assert [c["name"] for c in filtered["cursor"]["firstBatch"]] == ["capped"]
    assert sorted(db.list_collection_names()) == ["capped", "plain"]


def test_create_existing_with_other_options_is_namespace_exists(db):
    db.create_collection("c")
    err = _fails(lambda: db.command({"create": "c", "capped": True, "size": 4096}),
                 48, "NamespaceExists")
    assert "already exists" in str(err)


def test_capped_requires_size(db):
    # create.idl / create_collection.cpp: "the 'size' field is required when 'capped' is true"
    with pytest.raises(OperationFailure) as err:
        db.command({"create": "c", "capped": True})
    assert "size" in str(err.value)


def test_capped_collection_keeps_newest_in_insertion_order(db):
    coll = db.create_collection("cap", capped=True, size=4096, max=3)
    for i in range(6):
        coll.insert_one({"i": i})
    assert [d["i"] for d in coll.find()] == [3, 4, 5]
    assert [d["i"] for d in coll.find().sort("$natural", -1)] == [5, 4, 3]
    stats = db.command("collStats", "cap")
    assert stats["capped"] is True
    assert stats["max"] == 3
    assert stats["maxSize"] == 4096
    assert stats["count"] == 3


def test_capped_collection_size_bound(db):
    coll = db.create_collection("capsize", capped=True, size=4096)
    for i in range(100):
        coll.insert_one({"i": i, "pad": "x" * 100})
    count = coll.count_documents({})
    assert 0 < count < 100
    remaining = [d["i"] for d in coll.find()]
    assert remaining == list(range(100 - count, 100))  # oldest went first


def test_drop_collection(db):
    db.c.insert_one({"x": 1})
    db.c.create_index("x")
    reply = db.command("drop", "c")
    assert reply["ok"] == 1.0
    assert reply["nIndexesWas"] == 2
    assert reply["ns"] == f"{db.name}.c"
    assert "c" not in db.list_collection_names()


def test_drop_database(client, db):
    db.c.insert_one({"x": 1})
    assert db.name in client.list_database_names()
    reply = client[db.name].command("dropDatabase")
    assert reply["ok"] == 1.0 and reply["dropped"] == db.name
    assert db.name not in client.list_database_names()


# ------------------------------------------------------------------ insert / update / delete


def test_insert_and_find(db):
    result = db.c.insert_many([{"_id": i, "v": i} for i in range(10)])
    assert result.inserted_ids == list(range(10))
    assert db.c.find_one({"_id": 3}) == {"_id": 3, "v": 3}
    generated = db.c.insert_one({"v": "auto"}).inserted_id
    assert db.c.find_one({"_id": generated})["v"] == "auto"
    reply = db.command({"insert": "c", "documents": [{"_id": 100}, {"_id": 101}]})
    assert reply == {"n": 2, "ok": 1.0}
    # w:"majority" and j:true are accepted by a standalone (it is its own majority)
    majority = db.get_collection("c", write_concern=WriteConcern(w="majority", j=True))
    assert majority.insert_one({"_id": 102}).acknowledged
    assert db.c.count_documents({}) == 14


def test_duplicate_id_is_e11000(db):
    db.c.insert_one({"_id": 1})
    with pytest.raises(DuplicateKeyError) as err:
        db.c.insert_one({"_id": 1})
    assert err.value.code == 11000
    assert "E11000 duplicate key error collection: %s.c index: _id_ dup key: { _id: 1 }" % db.name \
        in err.value.details["errmsg"]
    assert err.value.details["keyPattern"] == {"_id": 1}
    assert err.value.details["keyValue"] == {"_id": 1}


def test_ordered_and_unordered_bulk_insert_with_duplicate(db):
    reply = db.command({"insert": "c", "documents": [{"_id": 1}, {"_id": 1}, {"_id": 2}],
                        "ordered": True})
    assert reply["n"] == 1
    assert [(e["index"], e["code"]) for e in reply["writeErrors"]] == [(1, 11000)]
    reply = db.command({"insert": "d", "documents": [{"_id": 1}, {"_id": 1}, {"_id": 2}],
                        "ordered": False})
    assert reply["n"] == 2
    assert [(e["index"], e["code"]) for e in reply["writeErrors"]] == [(1, 11000)]


def test_update_operators(db):
    db.c.insert_one({"_id": 1, "a": 1, "b": "x", "list": [1]})
    result = db.c.update_one({"_id": 1}, {"$set": {"b": "y", "n.deep": True}, "$inc": {"a": 5},
                                          "$push": {"list": 2}, "$unset": {"gone": ""}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert db.c.find_one({"_id": 1}) == {"_id": 1, "a": 6, "b": "y", "list": [1, 2],
                                         "n": {"deep": True}}
    db.c.update_one({"_id": 1}, {"$unset": {"b": ""}, "$inc": {"counter": 2}})
    doc = db.c.find_one({"_id": 1})
    assert "b" not in doc and doc["counter"] == 2
    db.c.update_one({"_id": 1}, {"$push": {"list": {"$each": [3, 4]}}})
    assert db.c.find_one({"_id": 1})["list"] == [1, 2, 3, 4]


def test_update_noop_reports_not_modified(db):
    db.c.insert_one({"_id": 1, "a": 1})
    reply = db.command({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 1}}}]})
    assert reply["n"] == 1 and reply["nModified"] == 0


def test_replacement_update_keeps_id(db):
    db.c.insert_one({"_id": 1, "a": 1, "b": 2})
    db.c.replace_one({"_id": 1}, {"c": 3})
    assert db.c.find_one({"_id": 1}) == {"_id": 1, "c": 3}


def test_upsert_with_set_on_insert(db):
    reply = db.command({"update": "c", "updates": [
        {"q": {"k": "one"}, "u": {"$set": {"v": 1}, "$setOnInsert": {"created": True}},
         "upsert": True}]})
    assert reply["n"] == 1 and reply["nModified"] == 0
    upserted = reply["upserted"]
    assert len(upserted) == 1 and upserted[0]["index"] == 0
    doc = db.c.find_one({"k": "one"})
    assert doc == {"_id": upserted[0]["_id"], "k": "one", "v": 1, "created": True}
    # second time: matches, $setOnInsert does nothing
    again = db.c.update_one({"k": "one"}, {"$set": {"v": 2}, "$setOnInsert": {"created": False}},
                            upsert=True)
    assert again.upserted_id is None and again.modified_count == 1
    assert db.c.find_one({"k": "one"})["created"] is True


def test_update_multi(db):
    db.c.insert_many([{"g": i % 2, "v": 0} for i in range(10)])
    one = db.command({"update": "c", "updates": [{"q": {"g": 0}, "u": {"$inc": {"v": 1}}}]})
    assert one["nModified"] == 1
    many = db.command({"update": "c", "updates": [{"q": {"g": 0}, "u": {"$inc": {"v": 1}},
                                                   "multi": True}]})
    assert many["n"] == 5 and many["nModified"] == 5
    assert sorted(d["v"] for d in db.c.find({"g": 0})) == [1, 1, 1, 1, 2]
    assert db.c.count_documents({"g": 1, "v": 0}) == 5


def test_update_errors(db):
    # write errors carry index, code and errmsg (write_ops WriteError::serialize: no codeName)
    db.c.insert_one({"_id": 1, "s": "text"})
    with pytest.raises(WriteError) as err:
        db.c.update_one({"_id": 1}, {"$inc": {"s": 1}})
    assert err.value.code == 14  # TypeMismatch
    assert "Cannot apply $inc to a value of non-numeric type" in err.value.details["errmsg"]
    with pytest.raises(WriteError) as err:
        db.c.update_one({"_id": 1}, {"$set": {"_id": 2}})
    assert err.value.code == 66  # ImmutableField
    assert "_id" in err.value.details["errmsg"]
    with pytest.raises(WriteError) as err:
        db.c.update_one({"_id": 1}, {"$frobnicate": {"s": 1}})
    assert err.value.code == 9  # FailedToParse
    assert "Unknown modifier: $frobnicate" in err.value.details["errmsg"]
    assert db.c.find_one({"_id": 1}) == {"_id": 1, "s": "text"}


def test_delete(db):
    db.c.insert_many([{"g": i % 3} for i in range(9)])
    reply = db.command({"delete": "c", "deletes": [{"q": {"g": 0}, "limit": 1}]})
    assert reply == {"n": 1, "ok": 1.0}
    assert db.c.delete_many({"g": 0}).deleted_count == 2
    assert db.c.delete_many({"g": {"$in": [1, 2]}}).deleted_count == 6
    assert db.c.count_documents({}) == 0


# ------------------------------------------------------------------ findAndModify, count, distinct


def test_find_and_modify(db):
    db.c.insert_one({"_id": 1, "v": 1})
    reply = db.command({"findAndModify": "c", "query": {"_id": 1}, "update": {"$inc": {"v": 1}}})
    assert reply["lastErrorObject"] == {"n": 1, "updatedExisting": True}
    assert reply["value"] == {"_id": 1, "v": 1}  # the document before, by default
    reply = db.command({"findAndModify": "c", "query": {"_id": 1}, "update": {"$inc": {"v": 1}},
                        "new": True, "fields": {"_id": 0}})
    assert reply["value"] == {"v": 3}
    reply = db.command({"findAndModify": "c", "query": {"_id": 2}, "update": {"$set": {"v": 9}},
                        "upsert": True, "new": True})
    assert reply["lastErrorObject"] == {"n": 1, "updatedExisting": False, "upserted": 2}
    assert reply["value"] == {"_id": 2, "v": 9}
    reply = db.command({"findAndModify": "c", "query": {"_id": 1}, "remove": True})
    assert reply["lastErrorObject"] == {"n": 1}
    assert reply["value"] == {"_id": 1, "v": 3}
    reply = db.command({"findAndModify": "c", "query": {"_id": 404}, "remove": True})
    assert reply["lastErrorObject"] == {"n": 0} and reply["value"] is None
    doc = db.c.find_one_and_update({"_id": 2}, {"$set": {"v": 10}},
                                   return_document=ReturnDocument.AFTER)
    assert doc == {"_id": 2, "v": 10}


def test_find_and_modify_sort_picks_first(db):
    db.c.insert_many([{"_id": i, "p": i} for i in range(5)])
    doc = db.c.find_one_and_delete({}, sort=[("p", DESCENDING)])
    assert doc["_id"] == 4
    assert db.c.count_documents({}) == 4


def test_count(db):
    db.c.insert_many([{"g": i % 2} for i in range(7)])
    assert db.command("count", "c") == {"n": 7, "ok": 1.0}
    assert db.command({"count": "c", "query": {"g": 1}})["n"] == 3
    assert db.command({"count": "c", "query": {}, "skip": 2, "limit": 3})["n"] == 3
    assert db.command("count", "missing_collection")["n"] == 0
    assert db.c.count_documents({"g": 0}) == 4
    assert db.c.estimated_document_count() == 7


def test_distinct(db):
    db.c.insert_many([{"a": 1, "t": ["x", "y"]}, {"a": 2, "t": ["y"]}, {"a": 1, "t": "z"},
                      {"b": 1}, {"a": {"n": 1}}])
    reply = db.command({"distinct": "c", "key": "a"})
    assert reply["ok"] == 1.0
    values = reply["values"]
    assert len(values) == 3 and 1 in values and 2 in values and {"n": 1} in values
    assert sorted(db.c.distinct("t")) == ["x", "y", "z"]  # arrays are unwound
    assert sorted(db.c.distinct("a", {"t": "y"})) == [1, 2]
    assert db.c.distinct("a.n") == [1]


# ------------------------------------------------------------------ aggregation


def test_aggregate_pipeline(db):
    db.sales.insert_many([
        {"_id": 1, "item": "a", "qty": 2, "price": 10, "tags": ["x"]},
        {"_id": 2, "item": "b", "qty": 1, "price": 20, "tags": ["y"]},
        {"_id": 3, "item": "a", "qty": 5, "price": 10, "tags": ["x", "z"]},
        {"_id": 4, "item": "c", "qty": 3, "price": 7, "tags": []},
        {"_id": 5, "item": "b", "qty": 4, "price": 20, "tags": ["y"]},
    ])
    grouped = list(db.sales.aggregate([
        {"$match": {"qty": {"$gte": 2}}},
        {"$group": {"_id": "$item", "total": {"$sum": "$qty"}, "n": {"$sum": 1},
                    "avg": {"$avg": "$qty"}, "min": {"$min": "$qty"}, "max": {"$max": "$qty"},
                    "ids": {"$push": "$_id"}, "prices": {"$addToSet": "$price"},
                    "first": {"$first": "$_id"}, "last": {"$last": "$_id"}}},
        {"$sort": {"_id": 1}},
    ]))
    assert grouped == [
        {"_id": "a", "total": 7, "n": 2, "avg": 3.5, "min": 2, "max": 5, "ids": [1, 3],
         "prices": [10], "first": 1, "last": 3},
        {"_id": "b", "total": 4, "n": 1, "avg": 4.0, "min": 4, "max": 4, "ids": [5],
         "prices": [20], "first": 5, "last": 5},
        {"_id": "c", "total": 3, "n": 1, "avg": 3.0, "min": 3, "max": 3, "ids": [4],
         "prices": [7], "first": 4, "last": 4},
    ]
    page = list(db.sales.aggregate([{"$sort": {"_id": -1}}, {"$skip": 1}, {"$limit": 2},
                                    {"$project": {"item": 1, "_id": 0}}]))
    assert page == [{"item": "c"}, {"item": "a"}]
    computed = list(db.sales.aggregate([{"$match": {"_id": 2}},
                                        {"$project": {"value": {"$multiply": ["$qty", "$price"]}}}]))
    assert computed == [{"_id": 2, "value": 20}]
    assert list(db.sales.aggregate([{"$match": {"item": "a"}}, {"$count": "howMany"}])) == \
        [{"howMany": 2}]
    everything = list(db.sales.aggregate([{"$group": {"_id": None, "sum": {"$sum": "$qty"}}}]))
    assert everything == [{"_id": None, "sum": 15}]


def test_aggregate_reply_shape_and_batches(db):
    db.c.insert_many([{"i": i} for i in range(10)])
    reply = db.command({"aggregate": "c", "pipeline": [{"$sort": {"i": 1}}],
                        "cursor": {"batchSize": 3}})
    cursor = reply["cursor"]
    assert cursor["ns"] == f"{db.name}.c"
    assert [d["i"] for d in cursor["firstBatch"]] == [0, 1, 2]
    assert cursor["id"] != 0
    more = db.command({"getMore": cursor["id"], "collection": "c", "batchSize": 100})
    assert [d["i"] for d in more["cursor"]["nextBatch"]] == list(range(3, 10))
    assert more["cursor"]["id"] == 0


def test_aggregate_without_cursor_option_is_refused(db):
    # aggregate requires 'cursor' unless explain: FailedToParse (9)
    err = _fails(lambda: db.command({"aggregate": "c", "pipeline": []}), 9, "FailedToParse")
    assert "cursor" in str(err)


def test_aggregate_unknown_stage(db):
    db.c.insert_one({})
    err = _fails(lambda: list(db.c.aggregate([{"$frobnicate": {}}])), 40324,
                 "Location40324")
    assert "Unrecognized pipeline stage name: '$frobnicate'" in str(err)


def test_coll_stats_stage(db):
    db.c.insert_many([{"i": i, "pad": "x" * 50} for i in range(20)])
    stats = list(db.c.aggregate([{"$collStats": {"storageStats": {}}}]))
    assert len(stats) == 1
    doc = stats[0]
    assert doc["ns"] == f"{db.name}.c"
    assert "localTime" in doc and "host" in doc
    storage = doc["storageStats"]
    assert storage["count"] == 20
    assert storage["size"] > 20 * 50
    assert isinstance(storage["avgObjSize"], int) and storage["avgObjSize"] > 50
    assert storage["nindexes"] == 1
    assert set(storage["indexSizes"]) == {"_id_"}
    assert storage["capped"] is False
    for key in ("storageSize", "totalIndexSize", "totalSize"):
        assert isinstance(storage[key], int), key
    counted = list(db.c.aggregate([{"$collStats": {"count": {}}}]))
    assert counted[0]["count"] == 20
    # $collStats must be the first stage: Location40602
    with pytest.raises(OperationFailure) as err:
        list(db.c.aggregate([{"$match": {}}, {"$collStats": {"count": {}}}]))
    assert err.value.code == 40602


# ------------------------------------------------------------------ indexes


def test_create_list_drop_indexes(db):
    db.c.insert_one({"a": 1, "b": 1})
    reply = db.command({"createIndexes": "c", "indexes": [
        {"key": {"a": 1}, "name": "a_1"},
        {"key": {"a": 1, "b": -1}, "name": "a_b", "unique": True}]})
    assert reply["ok"] == 1.0
    assert reply["numIndexesBefore"] == 1 and reply["numIndexesAfter"] == 3
    assert reply["createdCollectionAutomatically"] is False
    again = db.command({"createIndexes": "c", "indexes": [{"key": {"a": 1}, "name": "a_1"}]})
    assert again["numIndexesBefore"] == again["numIndexesAfter"] == 3
    assert again["note"] == "all indexes already exist"
    listed = db.command("listIndexes", "c")["cursor"]["firstBatch"]
    by_name = {ix["name"]: ix for ix in listed}
    assert set(by_name) == {"_id_", "a_1", "a_b"}
    assert by_name["_id_"] == {"v": 2, "key": {"_id": 1}, "name": "_id_"}
    assert by_name["a_b"]["unique"] is True and by_name["a_b"]["key"] == {"a": 1, "b": -1}
    assert "unique" not in by_name["a_1"]
    dropped = db.command({"dropIndexes": "c", "index": "a_1"})
    assert dropped["nIndexesWas"] == 3
    assert [ix["name"] for ix in db.c.list_indexes()] == ["_id_", "a_b"]
    by_key = db.command({"dropIndexes": "c", "index": {"a": 1, "b": -1}})  # by key pattern
    assert by_key["nIndexesWas"] == 2
    assert [ix["name"] for ix in db.c.list_indexes()] == ["_id_"]


def test_create_index_on_new_collection(db):
    reply = db.command({"createIndexes": "fresh", "indexes": [{"key": {"x": 1}, "name": "x_1"}]})
    assert reply["createdCollectionAutomatically"] is True
    assert reply["numIndexesBefore"] == 1 and reply["numIndexesAfter"] == 2
    assert db.fresh.create_index([("y", ASCENDING)]) == "y_1"


def test_index_errors(db):
    db.c.insert_one({"a": 1})
    db.c.create_index("a", name="myindex")
    # same name, other key: IndexKeySpecsConflict (86)
    _fails(lambda: db.command({"createIndexes": "c",
                               "indexes": [{"key": {"b": 1}, "name": "myindex"}]}),
           86, "IndexKeySpecsConflict")
    err = _fails(lambda: db.command({"dropIndexes": "c", "index": "nosuchindex"}),
                 27, "IndexNotFound")
    assert "nosuchindex" in str(err)
    # dropping _id_ is refused: InvalidOptions (72), "cannot drop _id index"
    _fails(lambda: db.command({"dropIndexes": "c", "index": "_id_"}), 72, "InvalidOptions")
    # listIndexes on a collection that does not exist: NamespaceNotFound (26)
    _fails(lambda: db.command("listIndexes", "no_such_coll"), 26, "NamespaceNotFound")


def test_unique_index_enforced(db):
    db.c.create_index("email", unique=True)
    db.c.insert_one({"email": "a@x"})
    with pytest.raises(DuplicateKeyError) as err:
        db.c.insert_one({"email": "a@x"})
    assert err.value.code == 11000
    assert "E11000 duplicate key error" in err.value.details["errmsg"]
    assert "index: email_1 dup key: { email: \"a@x\" }" in err.value.details["errmsg"]
    assert err.value.details["keyPattern"] == {"email": 1}
    assert err.value.details["keyValue"] == {"email": "a@x"}
    db.c.insert_one({"email": "b@x"})
    with pytest.raises(DuplicateKeyError):
        db.c.update_one({"email": "b@x"}, {"$set": {"email": "a@x"}})
    assert db.c.update_one({"email": "new@x"}, {"$set": {"n": 1}}, upsert=True).upserted_id
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"email": "new@x"})
    assert db.c.count_documents({"email": "a@x"}) == 1


def test_unique_index_over_existing_duplicates_fails(db):
    db.c.insert_many([{"k": 1}, {"k": 1}])
    with pytest.raises(OperationFailure) as err:
        db.c.create_index("k", unique=True)
    assert err.value.code == 11000
    assert "E11000" in str(err.value)
    assert [ix["name"] for ix in db.c.list_indexes()] == ["_id_"]


def test_unique_compound_and_missing_fields(db):
    db.c.create_index([("a", 1), ("b", 1)], unique=True)
    db.c.insert_many([{"a": 1, "b": 1}, {"a": 1, "b": 2}, {"a": 2}])
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"a": 1, "b": 1})
    # a missing field indexes as null, so a second doc without b under a:2 collides
    with pytest.raises(DuplicateKeyError):
        db.c.insert_one({"a": 2})


def test_coll_stats_and_db_stats(db):
    db.c.insert_many([{"i": i, "pad": "y" * 100} for i in range(10)])
    db.c.create_index("i")
    stats = db.command("collStats", "c")
    assert stats["ok"] == 1.0
    assert stats["ns"] == f"{db.name}.c"
    assert stats["count"] == 10
    assert stats["size"] > 1000
    assert stats["nindexes"] == 2
    assert set(stats["indexSizes"]) == {"_id_", "i_1"}
    assert stats["capped"] is False
    for key in ("avgObjSize", "storageSize", "totalIndexSize", "totalSize"):
        assert isinstance(stats[key], (int, float)), key
    scaled = db.command({"collStats": "c", "scale": 1024})
    assert scaled["scaleFactor"] == 1024
    db.other.insert_one({})
    dbstats = db.command("dbStats")
    assert dbstats["ok"] == 1.0
    assert dbstats["db"] == db.name
    assert dbstats["collections"] == 2
    assert dbstats["objects"] == 11
    assert dbstats["indexes"] == 3
    for key in ("dataSize", "storageSize", "indexSize", "avgObjSize", "totalSize"):
        assert isinstance(dbstats[key], (int, float)), key
    assert dbstats["dataSize"] > 1000


# ------------------------------------------------------------------ cursors


def test_get_more_and_kill_cursors(db):
    db.c.insert_many([{"i": i} for i in range(10)])
    first = db.command({"find": "c", "sort": {"i": 1}, "batchSize": 4})
    cursor = first["cursor"]
    assert cursor["ns"] == f"{db.name}.c" and cursor["id"] != 0
    assert isinstance(cursor["id"], Int64)
    assert [d["i"] for d in cursor["firstBatch"]] == [0, 1, 2, 3]
    more = db.command({"getMore": cursor["id"], "collection": "c", "batchSize": 4})
    assert [d["i"] for d in more["cursor"]["nextBatch"]] == [4, 5, 6, 7]
    assert more["cursor"]["id"] == cursor["id"]
    killed = db.command({"killCursors": "c", "cursors": [cursor["id"], Int64(123456789)]})
    assert killed["cursorsKilled"] == [cursor["id"]]
    assert killed["cursorsNotFound"] == [123456789]
    assert killed["cursorsAlive"] == [] and killed["cursorsUnknown"] == []
    err = _fails(lambda: db.command({"getMore": cursor["id"], "collection": "c"}),
                 43, "CursorNotFound")
    assert str(int(cursor["id"])) in str(err)


def test_exhausted_cursor_closes_itself(db):
    db.c.insert_many([{"i": i} for i in range(3)])
    reply = db.command({"find": "c", "batchSize": 10})
    assert reply["cursor"]["id"] == 0
    assert len(reply["cursor"]["firstBatch"]) == 3


def test_find_options(db):
    db.c.insert_many([{"_id": i, "a": i % 3, "b": {"c": i}} for i in range(10)])
    assert [d["_id"] for d in db.c.find().sort("_id", -1).skip(2).limit(3)] == [7, 6, 5]
    assert [d["_id"] for d in db.c.find().sort([("a", 1), ("_id", -1)]).limit(4)] == [9, 6, 3, 0]
    assert db.c.find_one({"_id": 4}, {"b.c": 1}) == {"_id": 4, "b": {"c": 4}}
    assert db.c.find_one({"_id": 4}, {"b": 0, "_id": 0}) == {"a": 1}
    reply = db.command({"find": "c", "filter": {"a": 0}, "projection": {"_id": 1},
                        "sort": {"_id": 1}, "limit": 2, "singleBatch": True})
    assert reply["cursor"]["firstBatch"] == [{"_id": 0}, {"_id": 3}]
    assert reply["cursor"]["id"] == 0


def test_tailable_on_non_capped_is_bad_value(db):
    db.c.insert_one({})
    err = _fails(lambda: db.command({"find": "c", "tailable": True}), 2, "BadValue")
    assert "tailable cursor requested on non capped collection" in str(err)


def test_tailable_await_data_on_capped(emu, db):
    coll = db.create_collection("capped", capped=True, size=1 << 16)
    coll.insert_many([{"i": 0}, {"i": 1}])
    first = db.command({"find": "capped", "tailable": True, "awaitData": True, "batchSize": 10})
    cursor_id = first["cursor"]["id"]
    assert cursor_id != 0, "a tailable cursor stays open at the end of the data"
    assert [d["i"] for d in first["cursor"]["firstBatch"]] == [0, 1]
    # nothing new: getMore waits about maxTimeMS, then returns an empty batch, cursor alive
    started = time.monotonic()
    empty = db.command({"getMore": cursor_id, "collection": "capped", "maxTimeMS": 800})
    waited = time.monotonic() - started
    assert empty["cursor"]["nextBatch"] == []
    assert empty["cursor"]["id"] == cursor_id
    assert 0.6 <= waited < 5, waited
    # an insert during the wait wakes the getMore up early
    writer = emu.client()
    timer = threading.Timer(0.3, lambda: writer[db.name].capped.insert_one({"i": 2}))
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    woke = db.command({"getMore": cursor_id, "collection": "capped", "maxTimeMS": 5000})
    waited = time.monotonic() - started
    timer.join()
    assert [d["i"] for d in woke["cursor"]["nextBatch"]] == [2]
    assert waited < 4, waited


def test_tailable_await_cursor_through_pymongo(emu, db):
    coll = db.create_collection("tail", capped=True, size=1 << 16)
    coll.insert_one({"i": 0})
    cursor = coll.find(cursor_type=CursorType.TAILABLE_AWAIT).max_await_time_ms(300)
    assert next(cursor)["i"] == 0
    with pytest.raises(StopIteration):
        next(cursor)  # an empty awaitData getMore: no document, cursor still open
    assert cursor.alive
    coll.insert_one({"i": 1})
    got = None
    deadline = time.monotonic() + 5
    while got is None and time.monotonic() < deadline and cursor.alive:
        try:
            got = next(cursor)
        except StopIteration:
            pass
    assert got is not None and got["i"] == 1
    cursor.close()


def test_retryable_write_fields_refused_on_standalone(emu):
    # service_entry_point_common.cpp: a standalone refuses txnNumber with IllegalOperation (20),
    # "Transaction numbers are only allowed on a replica set member or mongos"
    lsid = {"id": Binary(uuid.uuid4().bytes, 4)}
    with Wire(emu.host, emu.port) as wire:
        reply = wire.command({"insert": "retry", "$db": "crud_retry", "documents": [{"_id": 1}],
                              "lsid": lsid, "txnNumber": Int64(1)})
    assert reply["ok"] == 0
    assert reply["code"] == 20 and reply["codeName"] == "IllegalOperation"
    assert "Transaction numbers are only allowed on a replica set member or mongos" in reply["errmsg"]


# ------------------------------------------------------------------ query language

QUERY_DOCS = [
    {"_id": 1, "a": 1, "b": "x", "tags": ["red", "blue"], "n": {"c": 1, "d": [1, 2]},
     "arr": [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}]},
    {"_id": 2, "a": 2, "b": "y", "tags": ["blue"], "n": {"c": 2}, "arr": [{"k": 3, "v": "c"}]},
    {"_id": 3, "a": 3, "b": None, "tags": [], "n": {"c": 3, "d": [3]}},
    {"_id": 4, "a": "4", "tags": "red"},
    {"_id": 5, "a": [1, 5], "b": "x"},
]

QUERIES = [
    ({"a": 1}, [1, 5]),
    ({"a": {"$eq": 2}}, [2]),
    ({"a": {"$gt": 1}}, [2, 3, 5]),  # no type bracketing across number/string
    # without $elemMatch each bound may be met by a different array element: [1, 5] matches
    ({"a": {"$gte": 2, "$lt": 3}}, [2, 5]),
    ({"a": {"$elemMatch": {"$gte": 2, "$lt": 3}}}, []),
    ({"a": {"$lte": 1}}, [1, 5]),
    ({"a": {"$ne": 1}}, [2, 3, 4]),
    ({"a": {"$in": [2, "4"]}}, [2, 4]),
    ({"a": {"$nin": [1, 2, 3]}}, [4]),
    ({"b": None}, [3, 4]),  # null matches a missing field
    ({"b": {"$exists": False}}, [4]),
    ({"b": {"$exists": True}}, [1, 2, 3, 5]),
    ({"n.c": {"$gte": 2}}, [2, 3]),
    ({"n.d": 3}, [3]),
    ({"arr.k": 2}, [1]),
    ({"arr.v": {"$in": ["c"]}}, [2]),
    ({"tags": "red"}, [1, 4]),
    ({"tags": ["blue"]}, [2]),
    ({"tags": {"$size": 2}}, [1]),
    ({"tags": {"$all": ["red", "blue"]}}, [1]),
    ({"tags.0": "red"}, [1]),
    ({"arr": {"$elemMatch": {"k": {"$gt": 1}, "v": "b"}}}, [1]),
    ({"$and": [{"a": {"$gt": 0}}, {"b": "x"}]}, [1, 5]),
    ({"$or": [{"a": 2}, {"b": "x"}]}, [1, 2, 5]),
    ({"$nor": [{"a": 1}, {"b": "y"}]}, [3, 4]),
    ({"a": {"$not": {"$gt": 1}}}, [1, 4]),
    ({"b": {"$regex": "^x"}}, [1, 5]),
    ({"a": {"$type": "string"}}, [4]),
    ({"_id": {"$mod": [2, 0]}}, [2, 4]),
    ({"tags": {"$exists": True, "$ne": []}}, [1, 2, 4]),
    ({"n": {"c": 2}}, [2]),  # whole-subdocument equality
    ({}, [1, 2, 3, 4, 5]),
]


@pytest.fixture(scope="module")
def query_coll(client):
    coll = client.crud_query.docs
    coll.drop()
    coll.insert_many(QUERY_DOCS)
    yield coll
    client.drop_database("crud_query")


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[repr(q) for q, _ in QUERIES])
def test_query_language(query_coll, query, expected):
    assert sorted(d["_id"] for d in query_coll.find(query)) == expected
    assert query_coll.count_documents(query) == len(expected)


def test_unknown_query_operators(query_coll):
    err = _fails(lambda: list(query_coll.find({"$frob": 1})), 2, "BadValue")
    assert "unknown top level operator: $frob" in str(err)
    err = _fails(lambda: list(query_coll.find({"a": {"$frob": 1}})), 2, "BadValue")
    assert "unknown operator: $frob" in str(err)


def test_explain_server_info_is_the_machine_name_and_the_member_port(db, emu):
    """Issue 12 item 12 asked for the member's host:port in explain().serverInfo.host. mongod does
    not report that: explain_common.cpp generateServerInfo() appends host = getHostNameCached()
    (socket_utils.cpp: gethostname(), the machine's name, cached) and port =
    serverGlobalParams.port as separate fields, so every member on one machine reports the same
    host. The member's own name in the set is hello's `me`, which is what to read instead."""
    import socket

    db.c.insert_one({"_id": 1})
    info = db.command("explain", {"find": "c", "filter": {"_id": 1}})["serverInfo"]
    assert info["host"] == socket.gethostname()
    assert info["port"] == emu.port
    assert set(info) >= {"host", "port", "version", "gitVersion"}
