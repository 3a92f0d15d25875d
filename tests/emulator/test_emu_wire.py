"""Handshake and wire protocol: hello/isMaster shapes, the legacy OP_QUERY handshake, the
awaitable and streaming hello, buildInfo, malformed frames, many connections.

Reference values are mongod 7.0's: maxWireVersion 21 (WireVersion::WIRE_VERSION_70),
maxBsonObjectSize 16 MiB, maxMessageSizeBytes 48,000,000, maxWriteBatchSize 100,000,
logicalSessionTimeoutMinutes 30 (MongoDB manual, "hello" command output).
"""

from __future__ import annotations

import datetime
import struct
import threading
import time

import bson
import pytest
from bson import Int64, ObjectId
from pymongo.errors import OperationFailure

from emuharness import MSG_FLAG_EXHAUST_ALLOWED, MSG_FLAG_MORE_TO_COME, OP_MSG, OP_REPLY, Wire

pytestmark = pytest.mark.emulator

MAX_WIRE_VERSION_70 = 21


def _common_handshake_fields(reply: dict) -> None:
    assert reply["ok"] == 1.0
    assert reply["maxBsonObjectSize"] == 16 * 1024 * 1024
    assert reply["maxMessageSizeBytes"] == 48_000_000
    assert reply["maxWriteBatchSize"] == 100_000
    assert reply["minWireVersion"] == 0
    assert reply["maxWireVersion"] == MAX_WIRE_VERSION_70
    assert reply["readOnly"] is False
    assert reply["logicalSessionTimeoutMinutes"] == 30
    assert isinstance(reply["connectionId"], int) and reply["connectionId"] > 0
    assert isinstance(reply["localTime"], datetime.datetime)
    topology_version = reply["topologyVersion"]
    assert isinstance(topology_version["processId"], ObjectId)
    assert isinstance(topology_version["counter"], int)
    # a standalone is not a replica set member
    for field in ("setName", "hosts", "isreplicaset", "msg"):
        assert field not in reply, field


def test_hello_standalone(client):
    reply = client.admin.command("hello")
    _common_handshake_fields(reply)
    assert reply["isWritablePrimary"] is True
    assert "ismaster" not in reply


def test_ismaster_standalone_uses_legacy_field(client):
    reply = client.admin.command("isMaster")
    _common_handshake_fields(reply)
    assert reply["ismaster"] is True
    assert "isWritablePrimary" not in reply
    # lower-case alias is the same command
    assert client.admin.command("ismaster")["ismaster"] is True


def test_ismaster_helloOk_is_echoed(client):
    reply = client.admin.command({"isMaster": 1, "helloOk": True})
    assert reply["helloOk"] is True


def test_topology_version_counter_is_int64_and_process_id_stable(emu):
    with Wire(emu.host, emu.port) as one, Wire(emu.host, emu.port) as two:
        first = one.command({"hello": 1, "$db": "admin"})
        second = two.command({"hello": 1, "$db": "admin"})
    assert type(first["topologyVersion"]["counter"]) is Int64
    assert first["topologyVersion"]["processId"] == second["topologyVersion"]["processId"]
    assert first["connectionId"] != second["connectionId"]


def test_legacy_op_query_handshake(emu):
    """Drivers open with OP_QUERY isMaster on admin.$cmd and get an OP_REPLY back."""
    with Wire(emu.host, emu.port) as wire:
        wire.send_query("admin.$cmd", {
            "isMaster": 1, "helloOk": True,
            "client": {"driver": {"name": "conformance", "version": "0"},
                       "os": {"type": "Linux"}},
        })
        opcode, _flags, reply = wire.recv()
        assert opcode == OP_REPLY
        assert reply["ismaster"] is True
        assert reply["helloOk"] is True
        assert reply["maxWireVersion"] == MAX_WIRE_VERSION_70
        # the same connection then speaks OP_MSG
        assert wire.command({"ping": 1, "$db": "admin"})["ok"] == 1.0


def test_op_query_other_than_handshake_is_refused(emu):
    # mongod >= 5.1: UnsupportedOpQueryCommand (352), "Unsupported OP_QUERY command: ping"
    # (src/mongo/db/query/legacy ... checkAllowedOpQueryCommand)
    with Wire(emu.host, emu.port) as wire:
        wire.send_query("admin.$cmd", {"ping": 1})
        opcode, _flags, reply = wire.recv()
    assert opcode == OP_REPLY
    assert reply["ok"] == 0
    assert reply["code"] == 352
    assert reply["codeName"] == "UnsupportedOpQueryCommand"
    assert "Unsupported OP_QUERY command: ping" in reply["errmsg"]


def test_awaitable_hello_waits_max_await_time(emu):
    with Wire(emu.host, emu.port) as wire:
        first = wire.command({"hello": 1, "$db": "admin"})
        started = time.monotonic()
        second = wire.command({"hello": 1, "$db": "admin",
                               "topologyVersion": first["topologyVersion"],
                               "maxAwaitTimeMS": 700})
        waited = time.monotonic() - started
    assert 0.6 <= waited < 5, waited
    assert second["topologyVersion"] == first["topologyVersion"]
    assert second["isWritablePrimary"] is True


def test_awaitable_hello_answers_at_once_for_other_process_id(emu):
    # a topologyVersion from another process (e.g. before a restart) is answered at once
    with Wire(emu.host, emu.port) as wire:
        started = time.monotonic()
        reply = wire.command({"hello": 1, "$db": "admin",
                              "topologyVersion": {"processId": ObjectId(), "counter": Int64(0)},
                              "maxAwaitTimeMS": 5000})
        waited = time.monotonic() - started
    assert waited < 2, waited
    assert reply["ok"] == 1.0


@pytest.mark.parametrize("extra", [
    pytest.param({"maxAwaitTimeMS": 100}, id="maxAwaitTimeMS-alone"),
    pytest.param({"topologyVersion": {"processId": ObjectId(), "counter": Int64(0)}},
                 id="topologyVersion-alone"),
])
def test_awaitable_hello_needs_both_fields(emu, extra):
    # db/repl/hello (mongod): uassert(31368, "A request with ... must include ...")
    with Wire(emu.host, emu.port) as wire:
        reply = wire.command({"hello": 1, "$db": "admin", **extra})
    assert reply["ok"] == 0
    assert reply["code"] == 31368 and reply["codeName"] == "Location31368"
    assert "must include" in reply["errmsg"]


def test_op_msg_without_db_is_refused(emu, client):
    # op_msg.cpp: uassert(40571, "OP_MSG requests require a $db argument")
    with Wire(emu.host, emu.port) as wire:
        reply = wire.command({"ping": 1})
        assert reply["ok"] == 0
        assert reply["code"] == 40571
        assert "$db" in reply["errmsg"]
        # the connection stays usable
        assert wire.command({"ping": 1, "$db": "admin"})["ok"] == 1.0


def test_streaming_hello_with_exhaust_allowed(emu):
    """pymongo's streaming monitor: exhaustAllowed in, moreToCome out, then unsolicited replies."""
    with Wire(emu.host, emu.port) as wire:
        first = wire.command({"hello": 1, "$db": "admin"})
        wire.send_msg({"hello": 1, "$db": "admin", "topologyVersion": first["topologyVersion"],
                       "maxAwaitTimeMS": 300}, flags=MSG_FLAG_EXHAUST_ALLOWED)
        opcode, flags, reply1 = wire.recv()
        assert opcode == OP_MSG
        assert flags & MSG_FLAG_MORE_TO_COME
        assert reply1["ok"] == 1.0
        started = time.monotonic()
        _opcode, flags2, reply2 = wire.recv()  # no new request sent
        assert time.monotonic() - started < 5
        assert flags2 & MSG_FLAG_MORE_TO_COME
        assert reply2["topologyVersion"]["processId"] == first["topologyVersion"]["processId"]


def test_op_msg_document_sequence_insert(emu, client):
    """pymongo sends bulk writes as a kind-1 'documents' sequence."""
    with Wire(emu.host, emu.port) as wire:
        reply = wire.command({"insert": "seqtest", "$db": "wiretest"},
                             sequences={"documents": [{"_id": i, "v": i * i} for i in range(5)]})
    assert reply["ok"] == 1.0 and reply["n"] == 5
    assert sorted(d["v"] for d in client.wiretest.seqtest.find()) == [0, 1, 4, 9, 16]


def test_ping(client):
    assert client.admin.command("ping") == {"ok": 1.0}


def test_unknown_command_is_command_not_found(client):
    with pytest.raises(OperationFailure) as err:
        client.admin.command("frobnicate")
    assert err.value.code == 59
    assert err.value.details["codeName"] == "CommandNotFound"
    assert err.value.details["errmsg"] == "no such command: 'frobnicate'"


def test_build_info(client):
    info = client.admin.command("buildInfo")
    assert info["ok"] == 1.0
    assert info["version"].startswith("7.0.")
    array = info["versionArray"]
    assert len(array) == 4 and array[:2] == [7, 0] and all(isinstance(x, int) for x in array)
    assert info["version"] == "%d.%d.%d" % tuple(array[:3])
    assert isinstance(info["gitVersion"], str)
    assert info["bits"] == 64
    assert info["maxBsonObjectSize"] == 16 * 1024 * 1024
    assert isinstance(info["storageEngines"], list)
    # the one honest difference: a field saying this is mongoemu
    assert "mongoemu" in repr(info).lower()
    # lower-case alias used by old tools
    assert client.admin.command("buildinfo")["version"] == info["version"]


# ------------------------------------------------------------------ robustness


def _still_serving(client) -> None:
    assert client.admin.command("ping")["ok"] == 1.0
    client.wiretest.alive.insert_one({"t": time.time()})
    assert client.wiretest.alive.count_documents({}) >= 1


@pytest.mark.parametrize("frame", [
    pytest.param(struct.pack("<iiii", 5, 1, 0, OP_MSG), id="length-below-header"),
    pytest.param(struct.pack("<iiii", -100, 1, 0, OP_MSG), id="negative-length"),
    pytest.param(struct.pack("<iiii", 64 * 1024 * 1024, 1, 0, OP_MSG) + b"\x00" * 64,
                 id="length-above-48MB"),
])
def test_bad_frame_closes_only_that_connection(emu, client, frame):
    # mongod: "recv(): message msgLen N is invalid. Min 16 Max: 48000000" and the
    # session is ended (transport layer); other sessions are not affected.
    with Wire(emu.host, emu.port) as other:
        with Wire(emu.host, emu.port) as bad:
            bad.send_raw(frame)
            assert bad.closed_by_peer(timeout=5)
        assert other.command({"ping": 1, "$db": "admin"})["ok"] == 1.0
    _still_serving(client)


def test_bad_bson_in_op_msg(emu, client):
    """Invalid BSON: mongod answers with an error or ends the session; never dies."""
    garbage = struct.pack("<i", 40) + b"\x02abc\x00" + struct.pack("<i", 1000) + b"x" * 26 + b"\x00"
    body = struct.pack("<I", 0) + b"\x00" + garbage
    with Wire(emu.host, emu.port) as bad:
        bad.send_raw(struct.pack("<iiii", 16 + len(body), 7, 0, OP_MSG) + body)
        bad.sock.settimeout(5)
        try:
            _op, _flags, reply = bad.recv()
        except (ConnectionError, OSError):
            reply = None  # closed: fine
        if reply is not None:
            assert reply["ok"] == 0
            assert isinstance(reply["code"], int) and reply["code"] != 0
    _still_serving(client)


def test_truncated_frame_then_disconnect(emu, client):
    with Wire(emu.host, emu.port) as bad:
        doc = bson.encode({"ping": 1, "$db": "admin"})
        body = struct.pack("<I", 0) + b"\x00" + doc
        frame = struct.pack("<iiii", 16 + len(body), 9, 0, OP_MSG) + body
        bad.send_raw(frame[: len(frame) // 2])
    _still_serving(client)


def test_hundreds_of_concurrent_connections(emu, client):
    count = 300
    wires = [Wire(emu.host, emu.port) for _ in range(count)]
    try:
        for wire in wires:
            wire.send_msg({"hello": 1, "$db": "admin"})
        ids = {wire.recv()[2]["connectionId"] for wire in wires}
        assert len(ids) == count
        status = client.admin.command("serverStatus")
        assert status["connections"]["current"] >= count
    finally:
        for wire in wires:
            wire.close()


def test_concurrent_clients_writes(emu):
    pooled = emu.client(maxPoolSize=40)
    coll = pooled.wiretest.concurrent
    coll.drop()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(25):
                coll.insert_one({"w": worker, "i": i})
                assert coll.find_one({"w": worker, "i": i}) is not None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[:3]
    assert coll.count_documents({}) == 40 * 25
