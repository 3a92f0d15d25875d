"""The bootstrap of a new set with authorization (module_utils/bootstrap.py) and the dependency-free
wire client it runs with on a member host (module_utils/mongo_wire.py)."""
import socket
import struct
import threading

import bson
import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils import mongo_wire
from ansible_collections.quorum.mongodb.plugins.module_utils.bootstrap import (
    BootstrapError, bootstrap_config, bootstrap_inventory_host, choose_bootstrap_member, loopback_address)
from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import inventory_hosts

DESIRED = {
    "_id": "orders", "version": 1, "protocolVersion": 1,
    "settings": {"electionTimeoutMillis": 2000, "getLastErrorModes": {"multiDC": {"dc": 2}}},
    "members": [
        {"_id": 0, "host": "arb.dc3:27017", "arbiterOnly": True, "priority": 0},
        {"_id": 1, "host": "db1.dc2:27017", "priority": 2, "tags": {"dc": "dc2"}},
        {"_id": 2, "host": "db1.dc1:27017", "priority": 3, "tags": {"dc": "dc1"}},
        {"_id": 3, "host": "db2.dc1:27017", "priority": 3, "tags": {"dc": "dc1"}},
        {"_id": 4, "host": "hidden.dc1:27017", "priority": 0, "votes": 0, "hidden": True},
    ],
}


def test_the_first_member_of_the_highest_priority_starts_the_set():
    assert choose_bootstrap_member(DESIRED) == "db1.dc1:27017"


def test_arbiters_hidden_delayed_and_non_voters_never_start_a_set():
    config = {"_id": "x", "members": [
        {"_id": 0, "host": "a:1", "arbiterOnly": True},
        {"_id": 1, "host": "b:1", "priority": 0},
        {"_id": 2, "host": "c:1", "votes": 0, "priority": 0},
        {"_id": 3, "host": "d:1", "hidden": True, "priority": 0},
        {"_id": 4, "host": "e:1", "priority": 0, "secondaryDelaySecs": 3600}]}
    with pytest.raises(BootstrapError, match="no electable data-bearing voter"):
        choose_bootstrap_member(config)
    with pytest.raises(BootstrapError, match="an arbiter"):
        bootstrap_config(config, "a:1")
    with pytest.raises(BootstrapError, match="not a member"):
        bootstrap_config(config, "z:1")


def test_the_one_member_config_keeps_id_tags_and_settings_but_not_the_modes():
    config = bootstrap_config(DESIRED, "db1.dc1:27017")
    assert config == {"_id": "orders", "version": 1, "protocolVersion": 1,
                      "settings": {"electionTimeoutMillis": 2000},
                      "members": [{"_id": 2, "host": "db1.dc1:27017", "priority": 3, "tags": {"dc": "dc1"}, "votes": 1}]}
    assert DESIRED["settings"]["getLastErrorModes"], "the desired config is not changed"


def test_loopback_is_the_members_own_address_only_when_that_is_loopback():
    assert loopback_address("127.0.0.21:27017") == ("127.0.0.21", 27017)
    assert loopback_address("10.78.0.11:27018") == ("127.0.0.1", 27018)
    assert loopback_address("db1.example.net") == ("127.0.0.1", 27017)


def test_the_bootstrap_runs_on_the_inventory_host_of_that_member():
    members = [{"inventory_hostname": "m1", "mongodb_host": "10.78.0.11"},
               {"inventory_hostname": "m2", "mongodb_host": "10.78.0.12", "mongodb_port": 27018}]
    hosts = inventory_hosts(members)
    assert hosts == {"10.78.0.11:27017": "m1", "10.78.0.12:27018": "m2"}
    config = {"_id": "x", "members": [{"_id": 0, "host": "10.78.0.12:27018", "priority": 2},
                                      {"_id": 1, "host": "10.78.0.11:27017"}]}
    assert bootstrap_inventory_host(config, hosts) == "m2"
    with pytest.raises(BootstrapError, match="no host of the inventory"):
        bootstrap_inventory_host(config, {"10.78.0.11:27017": "m1"})


@pytest.mark.parametrize("document", [
    {"hello": 1, "$db": "admin"},
    {"s": "é", "i": -5, "big": 2 ** 40, "f": 1.5, "t": True, "n": None, "nested": {"a": [1, "x", {"b": False}]}},
    {"replSetInitiate": bootstrap_config(DESIRED, "db1.dc1:27017")},
])
def test_bson_matches_pymongos(document):
    """The hand-written codec and pymongo's bson agree both ways on the types commands use."""
    ours = mongo_wire.encode(document)
    assert ours == bson.encode(document)
    assert mongo_wire.decode(bson.encode(document)) == document


def test_replies_decode_timestamps_object_ids_dates_and_binary():
    reply = bson.encode({"ok": 1.0, "electionId": bson.ObjectId("7fffffff0000000000000001"),
                         "opTime": {"ts": bson.Timestamp(1700000000, 3), "t": bson.Int64(2)},
                         "sig": bson.Binary(b"\x00" * 20), "localTime": bson.datetime.datetime(2026, 1, 1)})
    decoded = mongo_wire.decode(reply)
    assert decoded["electionId"] == "7fffffff0000000000000001"
    assert decoded["opTime"]["ts"] == mongo_wire.Timestamp(1700000000, 3) and decoded["opTime"]["t"] == 2
    assert decoded["sig"] == b"\x00" * 20
    assert decoded["localTime"] == 1767225600000


def _one_reply_server(reply_doc):
    """A listening socket that answers one OP_MSG with reply_doc; returns (port, thread, seen)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen = {}

    def serve():
        conn = listener.accept()[0]
        header = conn.recv(16)
        length, request_id = struct.unpack("<iiii", header)[:2]
        body = b""
        while len(body) < length - 16:
            body += conn.recv(length - 16 - len(body))
        seen["command"] = bson.decode(body[5:])
        payload = struct.pack("<I", 0) + b"\x00" + bson.encode(reply_doc)
        conn.sendall(struct.pack("<iiii", 16 + len(payload), 1, request_id, 2013) + payload)
        conn.close()
        listener.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, seen


def test_a_command_round_trip_and_a_refusal_with_mongods_code():
    port, thread, seen = _one_reply_server({"ok": 0.0, "code": 13, "codeName": "Unauthorized", "errmsg": "no"})
    with mongo_wire.WireConnection("127.0.0.1", port, timeout=5) as connection:
        with pytest.raises(mongo_wire.CommandError) as refused:
            connection.command("admin", {"createUser": "admin", "pwd": "x", "roles": []})
    thread.join(5)
    assert seen["command"]["createUser"] == "admin" and seen["command"]["$db"] == "admin"
    assert refused.value.code == 13 and refused.value.code_name == "Unauthorized"


def test_an_unreachable_member_is_retried_then_named():
    clock = iter([0.0, 0.0, 1.0, 2.0, 3.0])
    with pytest.raises(mongo_wire.WireError, match="no answer to hello within 2 s"):
        mongo_wire.hello_until_answers(lambda: mongo_wire.WireConnection("127.0.0.1", 1, timeout=1), 2,
                                       clock=lambda: next(clock), sleep=lambda _: None)


@pytest.mark.parametrize("member", [
    {"_id": 0, "host": "a:1", "priority": ""},
    {"_id": 0, "host": "a:1", "votes": "1"},
    {"_id": 0, "host": "a:1", "secondaryDelaySecs": None},
])
def test_a_malformed_member_is_named_not_a_traceback(member):
    """Found by test_module_fuzz: priority '' raised TypeError inside the module."""
    with pytest.raises(BootstrapError, match="member a:1: .* must be a number"):
        bootstrap_config({"_id": "x", "members": [member]}, "a:1")
    with pytest.raises(BootstrapError, match="must have members"):
        choose_bootstrap_member({"_id": "x", "members": "a:1"})
