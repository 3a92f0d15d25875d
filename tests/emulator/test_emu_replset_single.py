"""A single-node replica set, initiated once for the module: hello and serverStatus.repl
on its primary, driver discovery by set name, retryable writes (a retry with the same
lsid and txnNumber is not applied twice), and the REPL/ELECTION log components.

Multi-member behaviour (elections, reconfig, initial sync) is part 2's conformance suite.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from bson import Binary, Int64, ObjectId
from pymongo import MongoClient

from emuharness import Emu, Wire

pytestmark = pytest.mark.emulator

SET_NAME = "rssingle"


def _wait_writable_primary(cli: MongoClient, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    hello: dict = {}
    while time.monotonic() < deadline:
        hello = cli.admin.command("hello")
        if hello.get("isWritablePrimary"):
            return hello
        time.sleep(0.2)
    raise AssertionError(f"no writable primary within {timeout}s; last hello: {hello}")


@pytest.fixture(scope="module")
def rs_node(module_emu_factory) -> Emu:
    node = module_emu_factory("--replSet", SET_NAME, name="rs")
    cli = node.client()
    reply = cli.admin.command({"replSetInitiate": {"_id": SET_NAME, "members": [
        {"_id": 0, "host": node.address}]}})
    assert reply["ok"] == 1.0
    _wait_writable_primary(cli)
    return node


@pytest.fixture(scope="module")
def rs_client(rs_node) -> MongoClient:
    return rs_node.client()


def test_hello_on_single_node_primary(rs_node, rs_client):
    hello = rs_client.admin.command("hello")
    assert hello["isWritablePrimary"] is True and hello["secondary"] is False
    assert hello["setName"] == SET_NAME and hello["setVersion"] == 1
    assert hello["hosts"] == [rs_node.address]
    assert hello["me"] == hello["primary"] == rs_node.address
    assert isinstance(hello["electionId"], ObjectId)
    assert "isreplicaset" not in hello and "info" not in hello
    assert "lastWriteDate" in hello["lastWrite"] and "opTime" in hello["lastWrite"]
    assert hello["topologyVersion"]["counter"] >= 1  # it changed since startup


def test_server_status_repl(rs_node, rs_client):
    repl = rs_client.admin.command("serverStatus")["repl"]
    assert repl["setName"] == SET_NAME
    assert repl["isWritablePrimary"] is True and repl["secondary"] is False
    assert repl["me"] == rs_node.address and repl["primary"] == rs_node.address
    assert repl["hosts"] == [rs_node.address]


def test_driver_discovers_set_by_name(rs_node):
    discovered = MongoClient(rs_node.host, rs_node.port, replicaSet=SET_NAME,
                             serverSelectionTimeoutMS=10000)
    try:
        discovered.rsdb.warmup.insert_one({"ok": True})  # retryWrites is on by default
        assert discovered.rsdb.warmup.count_documents({}) == 1
        assert discovered.primary == (rs_node.host, rs_node.port)
    finally:
        discovered.close()


def test_retryable_write_not_applied_twice(rs_node, rs_client):
    lsid = {"id": Binary(uuid.uuid4().bytes, 4)}
    with Wire(rs_node.host, rs_node.port) as wire:
        insert = {"insert": "c", "$db": "retry", "documents": [{"_id": 1, "n": 0}],
                  "lsid": lsid, "txnNumber": Int64(1)}
        first_insert = wire.command(insert)
        assert first_insert["ok"] == 1.0 and first_insert["n"] == 1
        retried = wire.command(insert)
        assert retried["ok"] == 1.0 and retried["n"] == 1
        assert "writeErrors" not in retried  # not a duplicate key: the retry is recognised
        update = {"update": "c", "$db": "retry", "lsid": lsid, "txnNumber": Int64(2),
                  "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]}
        first = wire.command(update)
        second = wire.command(update)
        assert first["nModified"] == second["nModified"] == 1
        fam = {"findAndModify": "c", "$db": "retry", "lsid": lsid, "txnNumber": Int64(3),
               "query": {"_id": 1}, "update": {"$inc": {"n": 10}}, "new": True}
        fam_first = wire.command(fam)
        fam_retry = wire.command(fam)
        assert fam_first["value"] == fam_retry["value"] == {"_id": 1, "n": 11}
        # once txnNumber 3 has started, 2 is too old to retry: TransactionTooOld (225),
        # "Cannot start transaction 2 on session ... because a newer transaction 3 has
        # already started" (transaction_participant.cpp)
        stale = wire.command(update)
        assert stale["ok"] == 0 and stale["code"] == 225, stale
        assert stale["codeName"] == "TransactionTooOld"
    doc = rs_client.retry.c.find_one({"_id": 1})
    assert doc == {"_id": 1, "n": 11}, f"a retried write was applied twice: {doc}"
    assert rs_client.retry.c.count_documents({}) == 1


def test_repl_and_election_logged(rs_node):
    components = {json.loads(line)["c"] for line in rs_node.log_lines() if line.strip()}
    assert {"REPL", "ELECTION"} <= components, components
