"""$clusterTime signing and validation as mongod 7.0 with authorization on (issue 16 item 8).

* keys: admin.system.keys documents {_id: NumberLong, purpose: "HMAC", key: BinData(0, 20 bytes),
  expiresAt: Timestamp} made by the primary (key_generator.cpp KeyGenerator::
  generateNewKeysIfNeeded), valid 90 days (keyValidForInterval);
* the signature is HMAC-SHA1 of the cluster time (low 16 bits set, 8 bytes little-endian) with
  the newest key valid at that time (time_proof_service.cpp TimeProofService::getProof,
  LogicalTimeValidator::trySignLogicalTime);
* a received time newer than the newest valid time the member has seen must carry a known key
  id (KeyNotFound, 211) and a matching proof (TimeProofMismatch, 204); older ones are accepted as
  they are; __system (advanceClusterTime) is never checked (LogicalTimeValidator::validate).
"""
from __future__ import annotations

import hmac
import struct
from hashlib import sha1

import pytest
from bson import Binary, Int64, Timestamp
from pymongo import MongoClient

from emuharness import STARTED_PIDS, assert_fails
from mongoemu.cluster import MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator

KEY = "Y2x1c3Rlci10aW1lLXNpZ25pbmcta2V5LWZvci10ZXN0cw"


def _proof(ts: Timestamp, key: bytes) -> bytes:
    return hmac.new(key, struct.pack("<Q", ((ts.time << 32) | ts.inc) | 0xFFFF), sha1).digest()


@pytest.fixture(scope="module")
def signed_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("ct")
    cluster = ReplicaSetCluster([MemberSpec()], set_name="ct", root=root, key_file=KEY,
                                credentials=("boss", "boss-pw-1"),
                                on_start=lambda m: STARTED_PIDS.add(m.pid))
    cluster.start()
    yield cluster
    cluster.stop()


def _client(cluster, **kwargs) -> MongoClient:
    host, port = cluster.members[0].address.rsplit(":", 1)
    return MongoClient(host, int(port), directConnection=True, serverSelectionTimeoutMS=5000,
                       **kwargs)


def test_cluster_time_is_signed_with_a_key_of_admin_system_keys(signed_set):
    system = _client(signed_set, username="__system", password=KEY, authSource="local")
    reply = system.admin.command("ping")
    signature = reply["$clusterTime"]["signature"]
    assert signature["keyId"] != 0
    keys = {int(k["_id"]): k for k in system.admin["system.keys"].find()}
    key = keys[int(signature["keyId"])]
    assert key["purpose"] == "HMAC" and len(key["key"]) == 20
    ts = reply["$clusterTime"]["clusterTime"]
    assert key["expiresAt"].time > ts.time + 89 * 24 * 3600
    assert bytes(signature["hash"]) == _proof(ts, bytes(key["key"]))


def test_forged_cluster_times_are_refused(signed_set):
    admin = _client(signed_set, username="boss", password="boss-pw-1", authSource="admin")
    admin.app.command("createUser", "plain", pwd="plain-pw-1", roles=["readWrite"])
    plain = _client(signed_set, username="plain", password="plain-pw-1", authSource="app")
    reply = plain.app.command("ping")
    now = reply["$clusterTime"]
    key_id = now["signature"]["keyId"]
    future = Timestamp(now["clusterTime"].time + 3600, 1)

    def send(cluster_time):
        client = _client(signed_set, username="plain", password="plain-pw-1", authSource="app")
        client.app.command("ping")  # connect and log in first
        client._topology.receive_cluster_time(cluster_time)
        try:
            return client.app.command("ping")
        finally:
            client.close()

    bad_hash = {"clusterTime": future, "signature": {"hash": Binary(b"\x01" * 20, 0),
                                                     "keyId": key_id}}
    assert_fails(lambda: send(bad_hash), 204, "TimeProofMismatch")
    unknown_key = {"clusterTime": future, "signature": {"hash": Binary(b"\x01" * 20, 0),
                                                        "keyId": Int64(42)}}
    assert_fails(lambda: send(unknown_key), 211, "KeyNotFound")
    # a time the member has already issued is accepted whatever its signature
    old = {"clusterTime": now["clusterTime"], "signature": {"hash": Binary(b"\x01" * 20, 0),
                                                           "keyId": key_id}}
    assert send(old)["ok"] == 1.0
    # a genuine signature of a newer time (made with the set's key) is accepted
    system = _client(signed_set, username="__system", password=KEY, authSource="local")
    key = bytes(system.admin["system.keys"].find_one({"_id": key_id})["key"])
    genuine = {"clusterTime": future, "signature": {"hash": Binary(_proof(future, key), 0),
                                                    "keyId": key_id}}
    assert send(genuine)["ok"] == 1.0


def test_without_authorization_the_signature_is_all_zero(tmp_path):
    cluster = ReplicaSetCluster([MemberSpec()], set_name="open", root=tmp_path / "open",
                                on_start=lambda m: STARTED_PIDS.add(m.pid))
    try:
        cluster.start()
        signature = cluster.client(cluster.members[0]).admin.command("ping")["$clusterTime"][
            "signature"]
        assert signature == {"hash": b"\x00" * 20, "keyId": 0}
    finally:
        cluster.stop()
