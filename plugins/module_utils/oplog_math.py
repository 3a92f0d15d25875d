# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Oplog sizing and backup staleness, as plain arithmetic on measured numbers (pure).

Rates are bytes of oplog per hour. An oplog holds `window = size / rate` hours; mongod
deletes its oldest entries only once the size is reached (and, with minRetentionHours,
only entries older than that), so the oldest entry stands still while the oplog fills and
then moves forward at the speed of the clock.

Sizing (seed 004, "Sizing the replication oplog"): an oplog should cover the longest a
secondary may be down or behind - at least eight hours - with headroom for write peaks.
replSetResizeOplog takes 990 MB to 1 PB; the result is also capped to a fraction of the
member's free disk (what the oplog occupies now counts as available to it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from dataclasses import dataclass, field

MB = 1024 * 1024
MIN_OPLOG_MB = 990
MAX_OPLOG_MB = 1024 * 1024 * 1024  # 1 PB in MB, replSetResizeOplog's upper bound
DEFAULT_TARGET_HOURS = 8.0


class OplogMathError(ValueError):
    """Inputs that cannot give a meaningful answer; the message says which."""


def rate_from_bounds(first_seconds, last_seconds, used_bytes):
    """Bytes per hour from an oplog's oldest and newest entry times and the bytes it holds."""
    span = float(last_seconds) - float(first_seconds)
    if span <= 0:
        raise OplogMathError("the oplog spans %.0f s (first %s, last %s): too little history to measure a rate; "
                             "sample over a period instead" % (span, first_seconds, last_seconds))
    if used_bytes < 0:
        raise OplogMathError("used_bytes must be >= 0, got %s" % used_bytes)
    return used_bytes / span * 3600.0


def rate_from_samples(samples):
    """Bytes per hour from (seconds, bytes written so far) samples: the least-squares slope."""
    points = sorted((float(t), float(b)) for t, b in samples)
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        raise OplogMathError("need at least two samples at different times, got %d" % len(points))
    n = len(points)
    mean_t = sum(t for t, written in points) / n
    mean_b = sum(written for t, written in points) / n
    var = sum((t - mean_t) ** 2 for t, written in points)
    slope = sum((t - mean_t) * (b - mean_b) for t, b in points) / var
    return max(slope, 0.0) * 3600.0


def window_hours(size_bytes, rate_bytes_per_hour):
    """How many hours of writes an oplog of this size holds (inf without writes)."""
    if rate_bytes_per_hour <= 0:
        return math.inf
    return size_bytes / rate_bytes_per_hour


@dataclass
class OplogSize:
    size_mb: int
    wanted_mb: int
    window_hours: float
    limited_by: list = field(default_factory=list)

    def to_dict(self):
        return {"size_mb": self.size_mb, "wanted_mb": self.wanted_mb,
                "window_hours": None if math.isinf(self.window_hours) else round(self.window_hours, 2),
                "limited_by": list(self.limited_by)}


def oplog_size_for(rate_bytes_per_hour, target_hours=DEFAULT_TARGET_HOURS, headroom=1.5, free_disk_bytes=None,
                   current_size_bytes=0, max_disk_fraction=0.5):
    """The oplog size (MB) that holds `target_hours` of writes times `headroom`, clamped to
    replSetResizeOplog's 990 MB..1 PB and to max_disk_fraction of (free disk + current oplog)."""
    if rate_bytes_per_hour < 0 or target_hours <= 0 or headroom < 1:
        raise OplogMathError("need rate >= 0, target_hours > 0 and headroom >= 1 (got %s, %s, %s)"
                             % (rate_bytes_per_hour, target_hours, headroom))
    wanted = int(math.ceil(rate_bytes_per_hour * target_hours * headroom / MB))
    return clamp_oplog_size(wanted, rate_bytes_per_hour, free_disk_bytes, current_size_bytes, max_disk_fraction)


def clamp_oplog_size(wanted_mb, rate_bytes_per_hour, free_disk_bytes=None, current_size_bytes=0,
                     max_disk_fraction=0.5):
    """`wanted_mb` within replSetResizeOplog's 990 MB..1 PB and max_disk_fraction of
    (free disk + current oplog); says what limited it."""
    size, limited = wanted_mb, []
    if size < MIN_OPLOG_MB:
        size, limited = MIN_OPLOG_MB, ["minimum 990 MB"]
    if size > MAX_OPLOG_MB:
        size, limited = MAX_OPLOG_MB, ["maximum 1 PB"]
    if free_disk_bytes is not None:
        budget = int((free_disk_bytes + current_size_bytes) * max_disk_fraction / MB)
        if size > budget:
            size = max(budget, 0)
            limited.append("%d%% of free disk (%d MB)" % (round(max_disk_fraction * 100), budget))
    return OplogSize(size_mb=size, wanted_mb=wanted_mb, window_hours=window_hours(size * MB, rate_bytes_per_hour),
                     limited_by=limited)


def resize_needed(current_mb, target_mb, tolerance=0.1):
    """Whether a resize is worth doing: the sizes differ by more than `tolerance` of the target."""
    return abs(current_mb - target_mb) > tolerance * target_mb


# Settling a measured size. The write rate is measured again on every run and moves with the
# traffic, so a size computed from it moves too; resizing to every new figure grows the oplogs on
# every run of a GitOps loop. A member keeps its size while the new figure stays inside a band
# around it, and is resized to the new figure only past the band:
#   grow    when the new size > current x (1 + grow_band)    (default 0.25: 25 % more need)
#   shrink  when the new size < current / (1 + shrink_band)  (default 1.0: the oplog is more than
#           twice what is needed; None never shrinks: grow-only). Shrinking frees disk only after
#           compact on local.oplog.rs, and the traffic that needed the size may come back, hence
#           the wider band.
#   a size over the member's disk budget shrinks past the grow band instead (the disk is short).
# 1 MB of rounding (sizes are whole MB, rounded up) is allowed on either side. After a resize to
# S, any later figure within [S / (1 + shrink_band), S x (1 + grow_band)] keeps S.
DEFAULT_GROW_BAND = 0.25
DEFAULT_SHRINK_BAND = 1.0


def oplog_disk_occupancy(max_size_bytes, storage_size_bytes=0):
    """What a member's oplog occupies on disk, which counts as free for its new size: its file
    (collStats storageSize), or its configured maximum when that is more. A smaller maximum
    returns no disk until compact on local.oplog.rs (MongoDB manual, "Change the Oplog Size of
    Self-Managed Replica Set Members", step D), so counting the maximum alone would make a
    shrink for the disk budget shrink the budget too, and every rerun shrink again."""
    return max(float(max_size_bytes or 0), float(storage_size_bytes or 0))


@dataclass
class OplogDecision:
    action: str  # grow, shrink or keep
    set_mb: int  # the size the member has afterwards
    reason: str


def settle_oplog_size(current_mb, size, grow_band=DEFAULT_GROW_BAND, shrink_band=DEFAULT_SHRINK_BAND):
    """Keep, grow or shrink a member whose oplog is `current_mb`, given the size computed for it
    now (an OplogSize), by the bands described above."""
    if grow_band is None or grow_band < 0 or (shrink_band is not None and shrink_band < 0):
        raise OplogMathError("grow_band must be >= 0 and shrink_band >= 0 or None (got %s, %s)" % (grow_band, shrink_band))
    new = size.size_mb
    over_disk = any("disk" in limit for limit in size.limited_by)
    grow_above = current_mb * (1 + grow_band) + 1
    if new > grow_above:
        return OplogDecision("grow", new, "%d MB needed now is more than %d MB + %d%%" % (new, current_mb, round(grow_band * 100)))
    if over_disk and new < current_mb / (1 + grow_band) - 1:
        return OplogDecision("shrink", new, "%d MB is over the member's disk budget (%s)"
                             % (current_mb, ", ".join(size.limited_by)))
    if shrink_band is not None and new < current_mb / (1 + shrink_band) - 1:
        return OplogDecision("shrink", new, "%d MB needed now is less than %d MB / %.2g"
                             % (new, current_mb, 1 + shrink_band))
    return OplogDecision("keep", current_mb, "%d MB needed now is within the band of the current %d MB (grow above "
                         "%d MB%s)" % (new, current_mb, int(grow_above),
                                       "" if shrink_band is None else ", shrink below %d MB" % int(current_mb / (1 + shrink_band) - 1)))


# -- backup staleness ------------------------------------------------------------------

@dataclass
class MemberOplog:
    """What a live member's oplog looks like now."""

    host: str
    oldest_seconds: float  # time of its oldest entry
    newest_seconds: float
    size_bytes: float  # the configured maximum
    used_bytes: float
    rate_bytes_per_hour: float
    min_retention_hours: float = 0.0

    def oldest_at(self, seconds_from_now, now_seconds):
        """Predicted time of the oldest entry `seconds_from_now` seconds after `now_seconds`."""
        if self.rate_bytes_per_hour <= 0:
            return self.oldest_seconds
        fill_seconds = max(self.size_bytes - self.used_bytes, 0) / self.rate_bytes_per_hour * 3600.0
        advance = max(seconds_from_now - fill_seconds, 0.0)
        oldest = self.oldest_seconds + advance
        if self.min_retention_hours > 0:
            oldest = min(oldest, now_seconds + seconds_from_now - self.min_retention_hours * 3600.0)
        return max(self.oldest_seconds, oldest)


@dataclass
class Staleness:
    verdict: str
    margin_seconds: float
    restore_seconds: float
    best_source: object
    recommendation: str
    per_member: list = field(default_factory=list)

    def to_dict(self):
        return {"verdict": self.verdict, "margin_seconds": round(self.margin_seconds, 1),
                "restore_seconds": round(self.restore_seconds, 1), "best_source": self.best_source,
                "recommendation": self.recommendation, "members": self.per_member}


def restore_seconds_for(size_bytes=None, throughput_bytes_per_second=None, given_seconds=None):
    """The restore duration: given, or the backup size over the restore throughput."""
    if given_seconds is not None:
        if given_seconds < 0:
            raise OplogMathError("restore time must be >= 0, got %s" % given_seconds)
        return float(given_seconds)
    if not size_bytes or not throughput_bytes_per_second or throughput_bytes_per_second <= 0:
        raise OplogMathError("give the restore time, or the backup size and a restore throughput > 0")
    return float(size_bytes) / float(throughput_bytes_per_second)


def backup_staleness(backup_newest_seconds, members, restore_seconds, now_seconds, safety_seconds=0.0):
    """Whether a backup whose newest oplog entry is at `backup_newest_seconds` can still catch
    up once restored: after `restore_seconds` - and `safety_seconds` more, should the restore
    run late - some live member's oplog must still hold that entry (its oldest entry not newer).
    An oplog that will not fill up by then keeps its oldest entry, however young the set."""
    if not members:
        raise OplogMathError("no live member's oplog to compare with")
    if backup_newest_seconds > now_seconds:
        raise OplogMathError("the backup's newest oplog entry (%s) is in the future (now %s)"
                             % (backup_newest_seconds, now_seconds))
    rows = []
    for m in members:
        oldest_then = m.oldest_at(restore_seconds, now_seconds)
        oldest_late = m.oldest_at(restore_seconds + safety_seconds, now_seconds)
        rows.append({"host": m.host, "oldest_now": m.oldest_seconds, "oldest_after_restore": round(oldest_then, 1),
                     "margin_seconds": round(backup_newest_seconds - oldest_then, 1),
                     "margin_with_safety_seconds": round(backup_newest_seconds - oldest_late, 1)})
    best = max(rows, key=lambda r: (r["margin_with_safety_seconds"], r["margin_seconds"]))
    margin = best["margin_seconds"]
    if best["margin_with_safety_seconds"] >= 0:
        verdict = "fresh"
        advice = ("restore it: after %.0f s of restore (and %.0f s more of safety), %s still holds its newest "
                  "entry; sync from %s" % (restore_seconds, safety_seconds, best["host"], best["host"]))
    elif margin >= 0:
        verdict = "stale"
        advice = ("do not restore it: %s still holds its newest entry after %.0f s of restore, but not if the "
                  "restore runs %.0f s late (beyond the safety margin); take a fresh backup or resync the member "
                  "(initial sync)" % (best["host"], restore_seconds, safety_seconds))
    else:
        verdict = "stale"
        advice = ("do not restore it: after %.0f s of restore the oldest entry on the best source (%s) would be "
                  "%.0f s newer than the backup's newest entry; take a fresh backup or resync the member "
                  "(initial sync)" % (restore_seconds, best["host"], -margin))
    return Staleness(verdict=verdict, margin_seconds=margin, restore_seconds=restore_seconds, best_source=best["host"],
                     recommendation=advice, per_member=rows)


def oplog_diff(member_plans, min_retention_hours=None):
    """Ansible's diff of an oplog resize: each member's size (MB) and minRetentionHours before and
    after, from the per-member plans of the oplog module (host, current_mb, set_mb, action and
    min_retention_hours as the member has it)."""
    before, after = {}, {}
    for plan in member_plans:
        have = {"size_mb": plan["current_mb"], "min_retention_hours": plan["min_retention_hours"]}
        before[plan["host"]] = have
        after[plan["host"]] = dict(have)
        if plan["action"] == "resize":
            after[plan["host"]]["size_mb"] = plan["set_mb"]
            if min_retention_hours is not None:
                after[plan["host"]]["min_retention_hours"] = min_retention_hours
    return {"before": before, "after": after, "before_header": "oplog sizes", "after_header": "oplog sizes"}
