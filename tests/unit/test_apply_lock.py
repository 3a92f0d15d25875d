"""The apply lock's decisions (plugins/module_utils/apply_lock.py); the module is exercised by
tests/integration/test_gitops.py (two applies at once)."""
import datetime

from ansible_collections.quorum.mongodb.plugins.module_utils.apply_lock import (
    EXPIRED,
    FREE,
    HELD,
    MINE,
    describe_holder,
    judge_lock,
    lock_document,
    takeover_filter,
    to_result,
)

NOW = datetime.datetime(2026, 12, 6, 1, 0, 0, 123456)


def test_a_new_lock_holds_for_its_ttl_in_whole_milliseconds():
    doc = lock_document("reconfig", "ci run 7", NOW, 600)
    assert doc == {"_id": "reconfig", "owner": "ci run 7", "acquired_at": datetime.datetime(2026, 12, 6, 1, 0, 0, 123000),
                   "expires_at": datetime.datetime(2026, 12, 6, 1, 10, 0, 123000)}


def test_an_aware_clock_is_read_as_utc():
    aware = datetime.datetime(2026, 12, 6, 2, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert lock_document("x", "o", aware, 1)["acquired_at"] == datetime.datetime(2026, 12, 6, 1, 0, 0)


def test_judging_a_lock():
    held = lock_document("reconfig", "ci run 7", NOW, 600)
    assert judge_lock(None, "me", NOW) == FREE
    assert judge_lock(held, "ci run 7", NOW) == MINE
    assert judge_lock(held, "ci run 8", NOW + datetime.timedelta(seconds=599)) == HELD
    assert judge_lock(held, "ci run 8", NOW + datetime.timedelta(seconds=601)) == EXPIRED
    assert judge_lock({"_id": "reconfig", "owner": "x"}, "me", NOW) == EXPIRED  # no expiry: never blocks forever
    aware_now = (NOW + datetime.timedelta(seconds=60)).replace(tzinfo=datetime.timezone.utc)
    assert judge_lock(held, "other", aware_now) == HELD


def test_the_holder_is_described_for_whoever_waits():
    held = lock_document("reconfig", "github/acme/run/42", datetime.datetime(2026, 12, 6, 1, 0, 0), 600)
    assert describe_holder(held, datetime.datetime(2026, 12, 6, 1, 4, 0)) == (
        "'github/acme/run/42' since 2026-12-06T01:00:00Z, expires at 2026-12-06T01:10:00Z (in 360 s)")
    assert describe_holder(held, datetime.datetime(2026, 12, 6, 1, 11, 0)).endswith("(60 s ago)")


def test_a_takeover_removes_only_the_expired_lock_that_was_read():
    held = lock_document("reconfig", "dead run", NOW, 1)
    assert takeover_filter(held) == {"_id": "reconfig", "owner": "dead run", "expires_at": held["expires_at"]}


def test_results_show_dates_as_iso_utc():
    assert to_result(lock_document("reconfig", "o", datetime.datetime(2026, 1, 2, 3, 4, 5), 60)) == {
        "_id": "reconfig", "owner": "o", "acquired_at": "2026-01-02T03:04:05Z", "expires_at": "2026-01-02T03:05:05Z"}
    assert to_result(None) is None
