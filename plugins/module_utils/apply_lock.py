# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apply lock: one document per operation in the replica set itself, so two pipelines
that apply to the same set at once take turns, and a run that died leaves a lock that expires.

    {"_id": "reconfig", "owner": "ci run 42", "acquired_at": <date>, "expires_at": <date>}

It lives in the collection quorum_mongodb.apply_locks (replicated like any data, written
with w:majority so a failover keeps it). Taking it is an insert: mongod's unique index on
_id lets exactly one of two concurrent inserts succeed (the other gets DuplicateKey,
code 11000), on every version this collection supports. Pure decisions here; the module
quorum.mongodb.rs_apply_lock does the I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

LOCK_DATABASE = "quorum_mongodb"
LOCK_COLLECTION = "apply_locks"
DUPLICATE_KEY = 11000

FREE, MINE, EXPIRED, HELD = "free", "mine", "expired", "held"


def _utc(moment):
    """A datetime as naive UTC (pymongo returns BSON dates naive, in UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def lock_document(name, owner, now, ttl):
    """The document that holds lock `name` for `owner` from `now` for `ttl` seconds."""
    now = _utc(now).replace(microsecond=(now.microsecond // 1000) * 1000)  # BSON dates hold milliseconds
    return {"_id": name, "owner": owner, "acquired_at": now,
            "expires_at": now + datetime.timedelta(seconds=ttl)}


def judge_lock(existing, owner, now):
    """What the lock document found means for `owner` at `now`: FREE (none), MINE (this owner
    holds it: a rerun of the same pipeline job), EXPIRED (its holder died or overran: it
    may be taken over) or HELD (wait or refuse)."""
    if not existing:
        return FREE
    if existing.get("owner") == owner:
        return MINE
    expires = existing.get("expires_at")
    if not isinstance(expires, datetime.datetime) or _utc(expires) <= _utc(now):
        return EXPIRED
    return HELD


def describe_holder(existing, now):
    """Who holds the lock, since when and for how much longer, for messages."""
    expires = existing.get("expires_at")
    acquired = existing.get("acquired_at")
    left = ""
    if isinstance(expires, datetime.datetime):
        seconds = int((_utc(expires) - _utc(now)).total_seconds())
        left = ", expires at %sZ (%s)" % (_utc(expires).isoformat(timespec="seconds"),
                                          "in %d s" % seconds if seconds > 0 else "%d s ago" % -seconds)
    since = " since %sZ" % _utc(acquired).isoformat(timespec="seconds") if isinstance(acquired, datetime.datetime) else ""
    return "%r%s%s" % (existing.get("owner"), since, left)


def takeover_filter(existing):
    """The delete that removes exactly the expired lock that was read (not a newer one taken
    meanwhile by another waiter)."""
    query = {"_id": existing["_id"], "owner": existing.get("owner")}
    if "expires_at" in existing:
        query["expires_at"] = existing["expires_at"]
    return query


def to_result(existing):
    """A lock document as module output (dates as ISO 8601 UTC strings)."""
    if not existing:
        return None
    out = {}
    for key, value in existing.items():
        out[key] = _utc(value).isoformat(timespec="seconds") + "Z" if isinstance(value, datetime.datetime) else value
    return out
