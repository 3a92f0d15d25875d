"""Oplog sizing and backup staleness arithmetic."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.quorum.mongodb.plugins.module_utils.oplog_math import (
    MB,
    MemberOplog,
    OplogMathError,
    backup_staleness,
    oplog_diff,
    oplog_disk_occupancy,
    oplog_size_for,
    rate_from_bounds,
    rate_from_samples,
    resize_needed,
    restore_seconds_for,
    settle_oplog_size,
    window_hours,
)

GB = 1024 * MB


def test_rate_from_the_oplog_bounds():
    assert rate_from_bounds(1000, 1000 + 7200, 2 * GB) == pytest.approx(GB)
    with pytest.raises(OplogMathError, match="too little history"):
        rate_from_bounds(5, 5, 10)


def test_rate_from_samples_is_the_slope():
    samples = [(0, 0), (60, 60 * MB), (120, 120 * MB), (180, 180 * MB)]
    assert rate_from_samples(samples) == pytest.approx(3600 * MB)
    with pytest.raises(OplogMathError, match="two samples"):
        rate_from_samples([(1, 5)])


def test_size_for_eight_hours_with_headroom():
    size = oplog_size_for(GB, target_hours=8, headroom=1.5)
    assert size.wanted_mb == 12 * 1024 and size.size_mb == 12 * 1024 and size.limited_by == []
    assert size.window_hours == pytest.approx(12)


def test_size_is_clamped_to_mongod_and_disk_limits():
    assert oplog_size_for(1 * MB).size_mb == 990
    assert oplog_size_for(1 * MB).limited_by == ["minimum 990 MB"]
    small_disk = oplog_size_for(100 * GB, free_disk_bytes=40 * GB, current_size_bytes=10 * GB, max_disk_fraction=0.5)
    assert small_disk.size_mb == 25 * 1024
    assert small_disk.limited_by == ["50% of free disk (25600 MB)"]
    assert small_disk.window_hours == pytest.approx(0.25)
    assert math.isinf(oplog_size_for(0).window_hours) and oplog_size_for(0).to_dict()["window_hours"] is None


def test_resize_is_idempotent_within_tolerance():
    assert not resize_needed(10000, 10500)
    assert resize_needed(10000, 12000)


# -- settling (issue 12 item 6): a 48 h target grew every member 990 -> 1572 MB, and an immediate rerun
# measured a new rate and grew them again to 1843 MB; in a GitOps loop the oplogs grew on every merge.

def rate_for(size_mb, target_hours=8, headroom=1.5):
    return size_mb * MB / (target_hours * headroom)


def test_the_drill_settles_a_rerun_that_measures_17_percent_more_keeps_the_size():
    first = settle_oplog_size(990, oplog_size_for(rate_for(1572, 48), target_hours=48))
    assert (first.action, first.set_mb) == ("grow", 1572)
    again = settle_oplog_size(1572, oplog_size_for(rate_for(1843, 48), target_hours=48))
    assert (again.action, again.set_mb) == ("keep", 1572)
    assert "within the band" in again.reason and "1843" in again.reason


def test_grow_only_past_the_grow_band_shrink_only_past_the_shrink_band():
    assert settle_oplog_size(10000, oplog_size_for(rate_for(12500))).action == "keep"  # +25%: at the band
    grown = settle_oplog_size(10000, oplog_size_for(rate_for(12600)))
    assert (grown.action, grown.set_mb) == ("grow", 12600)
    assert settle_oplog_size(10000, oplog_size_for(rate_for(5000))).action == "keep"  # twice the need: kept
    shrunk = settle_oplog_size(10000, oplog_size_for(rate_for(4900)))
    assert (shrunk.action, shrunk.set_mb) == ("shrink", 4900)
    assert settle_oplog_size(10000, oplog_size_for(rate_for(4900)), shrink_band=None).action == "keep"  # grow-only


def test_the_floor_and_an_explicit_size_settle_at_once():
    floor = oplog_size_for(rate_for(500))  # an 8 h target under 990 MB
    assert settle_oplog_size(990, floor).action == "keep"
    fixed = oplog_size_for(0)  # no rate: only what clamp gives
    assert settle_oplog_size(990, fixed).action == "keep"


def test_a_member_over_its_disk_limit_shrinks_within_the_grow_band():
    limited = oplog_size_for(rate_for(60000), free_disk_bytes=70 * GB, current_size_bytes=40 * GB, max_disk_fraction=0.5)
    assert limited.size_mb == 55 * 1024 and limited.limited_by
    assert settle_oplog_size(40 * 1024, limited).action == "grow"  # 56320 > 40960 * 1.25
    too_big = oplog_size_for(rate_for(60000), free_disk_bytes=10 * GB, current_size_bytes=40 * GB, max_disk_fraction=0.5)
    assert too_big.size_mb == 25 * 1024
    decided = settle_oplog_size(40 * 1024, too_big)
    assert (decided.action, decided.set_mb) == ("shrink", 25 * 1024) and "disk" in decided.reason


def test_a_shrink_for_the_disk_budget_settles_because_the_file_keeps_its_size_until_compact():
    rate = rate_for(60000)
    first = settle_oplog_size(40 * 1024, oplog_size_for(rate, free_disk_bytes=10 * GB, current_size_bytes=40 * GB))
    assert (first.action, first.set_mb) == ("shrink", 25 * 1024)
    # the rerun: maximum 25 GB, the file still 40 GB, the free disk unchanged
    occupied = oplog_disk_occupancy(25 * GB, storage_size_bytes=40 * GB)
    again = settle_oplog_size(25 * 1024, oplog_size_for(rate, free_disk_bytes=10 * GB, current_size_bytes=occupied))
    assert again.action == "keep", again
    naive = settle_oplog_size(25 * 1024, oplog_size_for(rate, free_disk_bytes=10 * GB, current_size_bytes=25 * GB))
    assert naive.action == "shrink"  # what counting the maximum alone did: shrink on every run
    assert oplog_disk_occupancy(25 * GB) == 25 * GB


def test_bands_are_checked():
    with pytest.raises(OplogMathError, match="grow_band"):
        settle_oplog_size(990, oplog_size_for(GB), grow_band=-0.1)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=1 * MB, max_value=50 * GB), st.floats(min_value=0.8, max_value=1.25),
       st.floats(min_value=1, max_value=72), st.integers(min_value=990, max_value=200000))
def test_a_rerun_with_a_rate_inside_the_band_changes_nothing(rate, drift, hours, start_mb):
    first = settle_oplog_size(start_mb, oplog_size_for(rate, target_hours=hours))
    same = settle_oplog_size(first.set_mb, oplog_size_for(rate, target_hours=hours))
    assert same.action == "keep", (first, same)  # the same measurement: always settled
    if first.action != "keep":  # right after a resize, a rate 20 % lower to 25 % higher changes nothing
        second = settle_oplog_size(first.set_mb, oplog_size_for(rate * drift, target_hours=hours))
        assert second.action == "keep", (first, second)


def member(host="db1:27017", oldest=0, used=10 * GB, size=10 * GB, rate=GB, retention=0.0):
    return MemberOplog(host=host, oldest_seconds=oldest, newest_seconds=oldest + 36000, size_bytes=size,
                       used_bytes=used, rate_bytes_per_hour=rate, min_retention_hours=retention)


def test_full_oplog_moves_with_the_clock():
    m = member(oldest=1000)
    assert m.oldest_at(3600, now_seconds=37000) == 4600


def test_filling_oplog_keeps_its_oldest_entry_until_full():
    m = member(oldest=1000, used=5 * GB)  # 5 GB free at 1 GB/h: five hours to fill
    assert m.oldest_at(4 * 3600, now_seconds=19000) == 1000
    assert m.oldest_at(6 * 3600, now_seconds=19000) == 1000 + 3600


def test_min_retention_keeps_entries_longer():
    m = member(oldest=0, retention=20.0)
    now = 10 * 3600
    assert m.oldest_at(3600, now) == 0  # nothing is older than 20 h yet


def test_backup_fresh_and_stale():
    now = 50000
    members = [member("a:27017", oldest=14000), member("b:27017", oldest=12000)]
    fresh = backup_staleness(backup_newest_seconds=20000, members=members, restore_seconds=3600, now_seconds=now)
    assert fresh.verdict == "fresh" and fresh.best_source == "b:27017"
    assert fresh.margin_seconds == pytest.approx(20000 - 15600)
    stale = backup_staleness(backup_newest_seconds=20000, members=members, restore_seconds=4 * 3600, now_seconds=now)
    assert stale.verdict == "stale" and stale.margin_seconds == pytest.approx(20000 - 26400)
    assert "do not restore it" in stale.recommendation and "initial sync" in stale.recommendation
    tight = backup_staleness(20000, members, 3600, now, safety_seconds=5000)
    assert tight.verdict == "stale" and "beyond the safety margin" in tight.recommendation


def test_restore_time_from_size_and_throughput():
    assert restore_seconds_for(size_bytes=100 * MB, throughput_bytes_per_second=10 * MB) == 10
    assert restore_seconds_for(given_seconds=7) == 7
    with pytest.raises(OplogMathError, match="restore throughput"):
        restore_seconds_for(size_bytes=5)


def test_bad_staleness_inputs_are_refused():
    with pytest.raises(OplogMathError, match="no live member"):
        backup_staleness(1, [], 1, 2)
    with pytest.raises(OplogMathError, match="in the future"):
        backup_staleness(100, [member()], 1, 50)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e12), st.floats(0.5, 72), st.floats(1, 3))
def test_size_covers_the_target_unless_limited(rate, hours, headroom):
    size = oplog_size_for(rate, target_hours=hours, headroom=headroom)
    assert 990 <= size.size_mb
    if not size.limited_by or size.limited_by == ["minimum 990 MB"]:
        assert window_hours(size.size_mb * MB, rate) >= hours * headroom * 0.999


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e5), st.floats(0, 1e5), st.floats(0, 5e4))
def test_a_longer_restore_never_makes_a_backup_fresher(restore_a, extra, backup_age):
    now = 1e6
    members = [member(oldest=now - 36000, used=8 * GB), member("b:1", oldest=now - 30000)]
    backup = now - backup_age
    first = backup_staleness(backup, members, restore_a, now)
    later = backup_staleness(backup, members, restore_a + extra, now)
    assert later.margin_seconds <= first.margin_seconds + 1e-6


def test_a_young_set_whose_oplog_will_not_fill_keeps_a_fresh_backup_fresh():
    # the set is ten minutes old, its oplog far from full: nothing will be truncated during the
    # restore or the safety margin, so a backup taken a minute ago is fresh
    now = 100000
    young = MemberOplog(host="a:27017", oldest_seconds=now - 600, newest_seconds=now,
                        size_bytes=10 * GB, used_bytes=MB, rate_bytes_per_hour=MB,
                        min_retention_hours=0.0)
    answer = backup_staleness(now - 60, [young], restore_seconds=120, now_seconds=now, safety_seconds=300)
    assert answer.verdict == "fresh", answer.recommendation


def test_the_diff_shows_each_members_size_and_retention_before_and_after():
    plans = [{"host": "a:27017", "current_mb": 990, "set_mb": 2048, "min_retention_hours": 0, "action": "resize"},
             {"host": "b:27017", "current_mb": 2000, "set_mb": 2000, "min_retention_hours": 0, "action": "keep"}]
    diff = oplog_diff(plans, min_retention_hours=24)
    assert diff["before"] == {"a:27017": {"size_mb": 990, "min_retention_hours": 0},
                              "b:27017": {"size_mb": 2000, "min_retention_hours": 0}}
    assert diff["after"] == {"a:27017": {"size_mb": 2048, "min_retention_hours": 24},
                             "b:27017": {"size_mb": 2000, "min_retention_hours": 0}}
    unchanged = oplog_diff([dict(plans[1])])
    assert unchanged["before"] == unchanged["after"]
