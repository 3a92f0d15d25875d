"""Logical sessions and retryable-write history (config.transactions)."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from mongoemu.errors import MongoError

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.storage import Storage

TXN_NS = "config.transactions"


class SessionStore:
    def __init__(self, storage: "Storage") -> None:
        self.storage = storage

    def _key(self, lsid: Any) -> Any:
        if isinstance(lsid, dict) and "id" in lsid:
            return {"id": lsid["id"], "uid": lsid.get("uid", b"")}
        raise MongoError(2, "lsid must be an object with an id")

    def lookup(self, lsid: Any, txn_number: int) -> dict[str, Any] | None:
        found = self.storage.find_by_id(TXN_NS, self._key(lsid))
        if found is None:
            return None
        _rid, doc = found
        if txn_number < doc["txnNum"]:
            raise MongoError(225, f"Retryable write with txnNumber {txn_number} is prohibited on "
                                  f"session because a newer retryable write with txnNumber "
                                  f"{doc['txnNum']} has already started on this session.")
        if txn_number == doc["txnNum"]:
            reply = copy.deepcopy(doc["reply"])
            return reply
        return None

    def record(self, lsid: Any, txn_number: int, reply: dict[str, Any]) -> None:
        key = self._key(lsid)
        doc = {"_id": key, "txnNum": txn_number, "reply": reply}
        found = self.storage.find_by_id(TXN_NS, key)
        if found is None:
            self.storage.insert(TXN_NS, doc)
        else:
            self.storage.replace(TXN_NS, found[0], doc)
