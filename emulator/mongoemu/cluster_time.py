"""$clusterTime signing and validation with HMAC keys kept in admin.system.keys, as mongod 7.0
does when authorization is on.

* Keys (src/mongo/db/keys_collection_manager.cpp, key_generator.cpp): the primary creates them
  when none is valid - two at a time, the second valid after the first - as
  {_id: NumberLong(keyId), purpose: "HMAC", key: BinData(0, 20 random bytes), expiresAt:
  Timestamp}; they replicate like any document, so every data-bearing member signs and checks
  with the same keys. An arbiter holds none.
* Signing (LogicalTimeValidator::trySignLogicalTime, time_proof_service.cpp getProof):
  HMAC-SHA1 with the key over the 8 bytes (little-endian, LogicalTime::toUnsignedArray) of the
  cluster time with its low 16 bits set; without a usable key, the all-zero signature and keyId 0.
* Validation (LogicalTimeValidator::validate): a time not newer than the newest valid time this
  member has seen is accepted as it is; a newer one needs its key (KeyNotFound, 211) and a
  matching proof (TimeProofMismatch, 204). Clients allowed advanceClusterTime (__system) are not
  checked.
"""
from __future__ import annotations

import hmac
import os
import struct
import time
from hashlib import sha1
from typing import TYPE_CHECKING, Any

from bson import Binary, Int64, Timestamp

from mongoemu.errors import MongoError

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.server import Server

KEYS_NS = "admin.system.keys"
KEY_VALID_FOR_SECS = 90 * 24 * 3600   # keyValidForInterval / newKeyInvalidationIntervalSecs
ZERO_SIGNATURE = {"hash": Binary(b"\x00" * 20, 0), "keyId": Int64(0)}
_RANGE_MASK = 0xFFFF


def _as_ull(ts: Timestamp) -> int:
    return (ts.time << 32) | ts.inc


def proof(ts: Timestamp, key: bytes) -> bytes:
    """TimeProofService::getProof."""
    return hmac.new(key, struct.pack("<Q", _as_ull(ts) | _RANGE_MASK), sha1).digest()


class ClusterTimeSigner:
    # The keys are read again at most this often (KeysCollectionManager refreshes its cache
    # periodically too); a key this member creates is seen at once.
    KEYS_REFRESH_SECS = 1.0

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.last_seen_valid = Timestamp(0, 0)
        self._cached_keys: list[dict[str, Any]] = []
        self._keys_read_at = -1e9
        self._last_proof: tuple[int, bytes, bytes] | None = None  # TimeProofService's cache

    @property
    def active(self) -> bool:
        repl = self.server.repl
        return bool(self.server.config.auth_enabled and repl.config is not None
                    and repl.state != 7)  # arbiters keep no keys

    def _keys(self, refresh: bool = False) -> list[dict[str, Any]]:
        now = time.monotonic()
        if refresh or now - self._keys_read_at >= self.KEYS_REFRESH_SECS:
            self._keys_read_at = now
            self._cached_keys = [] if self.server.storage.get(KEYS_NS) is None else sorted(
                (doc for _, doc in self.server.storage.scan(KEYS_NS)
                 if doc.get("purpose") == "HMAC"), key=lambda d: int(d["_id"]))
        return self._cached_keys

    def _proof(self, ts: Timestamp, key: bytes) -> bytes:
        ceiling = _as_ull(ts) | _RANGE_MASK
        cached = self._last_proof
        if cached is not None and cached[0] == ceiling and cached[1] == key:
            return cached[2]
        digest = proof(ts, key)
        self._last_proof = (ceiling, key, digest)
        return digest

    def _generate_if_needed(self, now: Timestamp) -> None:
        """KeyGenerator::generateNewKeysIfNeeded, on a writable primary only."""
        if not self.server.repl.is_writable_primary:
            return
        valid = [k for k in self._keys() if _as_ull(k["expiresAt"]) > _as_ull(now)]
        if valid:
            return
        first_expiry = now.time + KEY_VALID_FOR_SECS
        docs = [{"_id": Int64(_as_ull(now)), "purpose": "HMAC",
                 "key": Binary(os.urandom(20), 0), "expiresAt": Timestamp(first_expiry, 0)},
                {"_id": Int64(_as_ull(now) + 1), "purpose": "HMAC",
                 "key": Binary(os.urandom(20), 0),
                 "expiresAt": Timestamp(first_expiry + KEY_VALID_FOR_SECS, 0)}]
        storage = self.server.storage
        with storage.transaction(journal=True):
            for doc in docs:
                storage.insert(KEYS_NS, doc)
        for doc in docs:
            self.server.repl.log_op("i", KEYS_NS, doc, o2={"_id": doc["_id"]})
        self._keys(refresh=True)

    def sign(self, ts: Timestamp) -> dict[str, Any]:
        if not self.active:
            return dict(ZERO_SIGNATURE)
        self._generate_if_needed(ts)
        key = next((k for k in self._keys() if _as_ull(k["expiresAt"]) > _as_ull(ts)), None)
        if key is None:
            return dict(ZERO_SIGNATURE)
        if _as_ull(ts) > _as_ull(self.last_seen_valid):
            self.last_seen_valid = ts
        return {"hash": Binary(self._proof(ts, bytes(key["key"])), 0),
                "keyId": Int64(key["_id"])}

    def validate(self, cluster_time: Any, may_advance: bool) -> None:
        """The $clusterTime a client sent (VectorClockMongoD gossip in)."""
        if not self.active or not isinstance(cluster_time, dict):
            return
        ts = cluster_time.get("clusterTime")
        if not isinstance(ts, Timestamp) or _as_ull(ts) <= _as_ull(self.last_seen_valid):
            return
        if may_advance:
            self.last_seen_valid = ts
            return
        signature = cluster_time.get("signature")
        if not isinstance(signature, dict):
            raise MongoError(210, "Cannot accept logicalTime: " + str(ts) + ". May not be a "
                                  "part of a sharded cluster")
        key_id = signature.get("keyId")
        # KeysCollectionCacheReader::getKeyById: that id, and not expired at that time (a key
        # not cached yet is looked for again, as the cache reader refreshes on a miss)
        key = None
        for refresh in (False, True):
            key = next((k for k in self._keys(refresh) if int(k["_id"]) == key_id
                        and _as_ull(k["expiresAt"]) > _as_ull(ts)), None)
            if key is not None:
                break
        if key is None:
            raise MongoError(211, "No keys found for HMAC that is valid for time: { ts: "
                                  f"Timestamp({ts.time}, {ts.inc}) }} with id: {key_id}")
        given = signature.get("hash")
        if not isinstance(given, bytes) or not hmac.compare_digest(
                bytes(given), proof(ts, bytes(key["key"]))):
            raise MongoError(204, "Proof does not match the cluster time")
        self.last_seen_valid = ts
