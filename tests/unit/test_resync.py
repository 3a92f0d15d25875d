"""May a member go down for a resync now?"""
import pytest
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import summarize_status
from ansible_collections.quorum.mongodb.plugins.module_utils.resync import resync_check


class Ts:
    def __init__(self, time):
        self.time = time


def member(i, state, seconds):
    return {"_id": i, "name": "h%d:27017" % i, "state": state, "health": 1,
            "stateStr": {1: "PRIMARY", 2: "SECONDARY", 7: "ARBITER", 8: "DOWN"}[state],
            "optime": {"ts": Ts(seconds)}}


CONFIG = {"_id": "rs0", "version": 1, "members": [{"_id": i, "host": "h%d:27017" % i} for i in range(3)]}
GB = 1024 ** 3


def summary(states, windows=None):
    status = {"set": "rs0", "members": [member(i, s, t) for i, (s, t) in enumerate(states)]}
    return summarize_status(status, CONFIG, windows or {"h0:27017": 24.0, "h1:27017": 24.0, "h2:27017": 24.0})


def test_a_caught_up_secondary_of_a_healthy_set_may_go():
    answer = resync_check(summary([(1, 100), (2, 100), (2, 100)]), CONFIG, "h2", 100 * GB, 100 * 1024 ** 2)
    assert answer["allowed"], answer["reasons"]
    assert answer["facts"]["estimated_sync_seconds"] == 1024
    assert answer["facts"]["healthy_votes_without_member"] == 2


def test_refusals_name_the_reason():
    primary = resync_check(summary([(1, 100), (2, 100), (2, 100)]), CONFIG, "h0", GB, 10 ** 9)
    assert primary["reasons"] == ["h0:27017 is the primary: step it down first (the rolling resync does it last)"]
    degraded = resync_check(summary([(1, 100), (2, 100), (8, 0)]), CONFIG, "h1", GB, 10 ** 9)
    assert any("the set is not healthy: h2:27017 DOWN" in r for r in degraded["reasons"])
    assert any("without h1:27017, 1 healthy votes remain; a majority is 2" in r for r in degraded["reasons"])
    ahead = resync_check(summary([(1, 100), (2, 90), (2, 95)]), CONFIG, "h0", GB, 10 ** 9)
    assert any("holds the only up-to-date copy" in r for r in ahead["reasons"])
    short = resync_check(summary([(1, 100), (2, 100), (2, 100)], {"h0:27017": 0.5, "h1:27017": 0.5}), CONFIG, "h2",
                         100 * GB, 50 * 1024 ** 2, safety_factor=2)
    assert any("oplog keeps an entry for 1800 s" in r and "less than the estimated initial sync (2048 s) times 2.0" in r
               for r in short["reasons"])
    margin = resync_check(summary([(1, 100), (2, 100), (2, 100)]), CONFIG, "h2", GB, 10 ** 9, votes_margin=1)
    assert any("plus a margin of 1" in r for r in margin["reasons"])
    unknown = resync_check(summary([(1, 100), (2, 100), (2, 100)]), CONFIG, "h9", GB, 10 ** 9)
    assert unknown["reasons"] == ["h9:27017 is not a member of set rs0"]


def test_a_set_without_primary_says_so():
    # every member is up but none is primary (an election in progress): the reason names it
    leaderless = resync_check(summary([(2, 100), (2, 100), (2, 100)]), CONFIG, "h2", GB, 10 ** 9)
    assert "the set is not healthy: no primary" in leaderless["reasons"], leaderless["reasons"]


def test_the_member_itself_may_be_down_or_stale():
    # a crashed or too-stale member is what one resyncs: only the others must be healthy
    member_down = resync_check(summary([(1, 100), (2, 100), (8, 0)]), CONFIG, "h2", GB, 10 ** 9)
    assert member_down["allowed"], member_down["reasons"]
    other_down = resync_check(summary([(1, 100), (8, 0), (2, 100)]), CONFIG, "h2", GB, 10 ** 9)
    assert any("the set is not healthy: h1:27017 DOWN" in r for r in other_down["reasons"])


def test_an_arbiter_is_refused_it_has_nothing_to_resync():
    # an arbiter holds no data (MongoDB manual, Replica Set Arbiter): its one reason says so
    config = dict(CONFIG, members=CONFIG["members"][:2] + [{"_id": 2, "host": "h2:27017", "arbiterOnly": True}])
    status = {"set": "rs0", "members": [member(0, 1, 100), member(1, 2, 100), member(2, 7, 0)]}
    answer = resync_check(summarize_status(status, config, {"h0:27017": 24.0, "h1:27017": 24.0}), config, "h2",
                          0, 10 ** 9)
    assert not answer["allowed"]
    assert answer["reasons"] == ["h2:27017 is an arbiter: it holds no data (only its local database: the set's "
                                 "config, which it gets again from the other members), so there is nothing to resync"]


def test_an_oplog_that_is_not_full_keeps_new_entries_until_it_fills():
    """A member resynced a moment ago has an oplog window of about 0 s; mongod truncates only once
    the oplog exceeds its size, so it is still a sync source that keeps entries for as long as its
    free space lasts (found by the field lab's rolling resync of an idle set, which refused the
    last member: 'oplog window (0 s) is shorter than the estimated initial sync (0 s)')."""
    from ansible_collections.quorum.mongodb.plugins.module_utils.resync import oplog_keep_seconds, write_rate
    primary = {"oldest_seconds": 1000, "newest_seconds": 4600, "size_bytes": 990 * 2 ** 20, "used_bytes": 36 * 2 ** 20}
    fresh = {"oldest_seconds": 4600, "newest_seconds": 4600, "size_bytes": 990 * 2 ** 20, "used_bytes": 200}
    rate = write_rate([primary, fresh])
    assert rate == 36 * 2 ** 20 / 3600.0
    assert oplog_keep_seconds(fresh, rate) == pytest.approx((990 * 2 ** 20 - 200) / rate)
    full = dict(primary, used_bytes=primary["size_bytes"])
    assert oplog_keep_seconds(full, rate) == 3600, "a full oplog keeps an entry for its window"
    assert oplog_keep_seconds(fresh, 0.0) == float("inf"), "an idle set truncates nothing"
