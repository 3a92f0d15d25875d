# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""May this member go down for a resync now? (pure)

A resync (initial sync from an empty dbPath) takes the member away for about its data size
over the sync throughput, and it must then catch up from its sync source's oplog: the
source's window must outlast the sync, with a safety factor. The set must stay writable
meanwhile, and the member must not hold the only up-to-date copy. The member itself may be in
any state (a stale or crashed member is what one resyncs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig, normalize_host


# An arbiter "does not maintain a data set" and holds no users (MongoDB manual, Replica Set Arbiter);
# its dbPath holds only its local database (the set's config, its own state), which a wiped arbiter
# gets back from the set's heartbeats. An initial sync never runs on one: mongod skips data
# replication for an arbiter (src/mongo/db/repl/replication_coordinator_impl.cpp).
ARBITER_REASON = ("%s is an arbiter: it holds no data (only its local database: the set's config, which it gets "
                  "again from the other members), so there is nothing to resync")


def resync_check(summary, config, member, data_size_bytes, throughput_bytes_per_second, safety_factor=2.0,
                 votes_margin=0):
    """Returns {allowed, reasons, facts}. `summary` is replset_status.summarize_status's output
    (with oplog_window_hours), `config` the live config."""
    host = normalize_host(member)
    cfg = ReplSetConfig(config)
    rows = dict((r["host"], r) for r in summary["members"])
    reasons = []
    me = rows.get(host)
    if me is None:
        return {"allowed": False, "reasons": ["%s is not a member of set %s" % (host, summary.get("set"))], "facts": {}}
    mine = cfg.member_by_host(host)
    if mine is not None and mine.arbiter:
        return {"allowed": False, "reasons": [ARBITER_REASON % host], "facts": {}}
    # the member itself may be in any state: a stale (RECOVERING) or crashed (DOWN) member is what
    # one resyncs; every other member must be healthy
    others = [r for r in summary["members"] if r["host"] != host]
    unhealthy = [r for r in others if r["state"] not in (1, 2, 7)]
    if unhealthy or len([r for r in summary["members"] if r["state"] == 1]) != 1:
        reasons.append("the set is not healthy: %s" % (", ".join(
            "%s %s" % (r["host"], r["state_str"]) for r in unhealthy) or "no primary"))
    if me["state"] == 1:
        reasons.append("%s is the primary: step it down first (the rolling resync does it last)" % host)
    healthy_votes = sum((m.votes for m in cfg.members
                         if m.normalized_host != host and rows.get(m.normalized_host, {}).get("state") in (1, 2, 7)))
    needed = cfg.majority_vote_count + votes_margin
    if healthy_votes < needed:
        reasons.append("without %s, %d healthy votes remain; a majority is %d%s" % (
            host, healthy_votes, cfg.majority_vote_count, " plus a margin of %d" % votes_margin if votes_margin else ""))
    my_lag = me["lag_seconds"] if me["lag_seconds"] is not None else 0
    up_to_date = [r for r in summary["members"] if r["host"] != host and r["state"] in (1, 2)
                  and r["lag_seconds"] is not None and r["lag_seconds"] <= my_lag]
    if not up_to_date:
        reasons.append("%s holds the only up-to-date copy of the data: no other data-bearing member is as recent" % host)
    sync_seconds = data_size_bytes / float(throughput_bytes_per_second) if throughput_bytes_per_second > 0 else None
    sources = [r for r in summary["members"] if r["host"] != host and r["state"] in (1, 2)
               and r["oplog_window_hours"] is not None]
    best_window = max([r["oplog_window_hours"] for r in sources] or [0]) * 3600.0
    if sync_seconds is None:
        reasons.append("the sync throughput must be > 0")
    elif best_window < sync_seconds * safety_factor:
        reasons.append("the best sync source's oplog keeps an entry for %.0f s (its window, plus the time its free space "
                       "lasts at the set's write rate), less than the estimated initial sync (%.0f s) times %.1f: the "
                       "member would fall off the oplog; grow the oplogs first"
                       % (best_window, sync_seconds, safety_factor))
    return {"allowed": not reasons, "reasons": reasons,
            "facts": {"estimated_sync_seconds": sync_seconds, "best_source_window_seconds": best_window,
                      "healthy_votes_without_member": healthy_votes, "majority": cfg.majority_vote_count}}


def write_rate(oplogs):
    """Bytes of oplog written per second, from the oplog with the longest window (stats as
    mongo_client.oplog_stats returns them); 0 when no oplog spans any time."""
    spans = [(o["newest_seconds"] - o["oldest_seconds"], o["used_bytes"]) for o in oplogs if o]
    seconds, used = max(spans or [(0, 0)])
    return used / float(seconds) if seconds > 0 else 0.0


def oplog_keep_seconds(oplog, rate):
    """How long an entry written now stays in this oplog: mongod truncates the oldest entries only
    once the oplog exceeds its configured size, so a member whose oplog is not full yet (one just
    resynced has a window of about 0 s) keeps new entries for its window plus the time its free
    space lasts at the write rate; an idle set (rate 0) keeps them until writes resume."""
    window = oplog["newest_seconds"] - oplog["oldest_seconds"]
    free = max(oplog["size_bytes"] - oplog["used_bytes"], 0)
    if free and rate <= 0:
        return float("inf")
    return window + (free / rate if free else 0.0)
