#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: oplog
short_description: Size the oplogs of a MongoDB replica set for a target window, and resize them online
version_added: 0.1.0
description:
  - Measures the oplog write rate on the primary - from its oplog's oldest and newest entries and the bytes
    it holds, or by sampling for O(sample_seconds) - and computes the size that holds O(target_hours) of
    writes times O(headroom), clamped to C(replSetResizeOplog)'s 990 MB to 1 PB and to O(max_disk_fraction)
    of each member's free disk (what its oplog occupies counts as free).
  - Resizes member by member, secondaries first and the primary last, with C(replSetResizeOplog) (and
    C(minRetentionHours) when O(min_retention_hours) is set).
  - The sizes settle. The rate is measured again on every run and moves with the traffic, so a member keeps
    its size while the size computed now stays inside a band around it - it grows only when the new size is
    more than O(grow_band) above its current size, and shrinks only when the new size is less than its
    current size divided by 1 + O(shrink_band) (never with O(shrink=false)). A member over its disk budget
    (O(max_disk_fraction)) shrinks past O(grow_band). Right after a resize to S, a rerun that measures a
    rate up to 20% lower or 25% higher (default bands) changes nothing.
  - With O(size_mb), the size is given rather than measured, and a member within O(tolerance) of it is left
    alone.
  - Check mode reports the measured rate, each member's current size and window, and the size it would set.
author:
  - quorum.mongodb developers (!UNKNOWN)
extends_documentation_fragment:
  - quorum.mongodb.connection
  - quorum.mongodb.attributes
  - quorum.mongodb.attributes.action_group
options:
  target_hours:
    description: The window the oplog must hold (the seed's advice - at least eight hours of secondary downtime).
    type: float
    default: 8
  headroom:
    description: Factor for write peaks above the measured rate.
    type: float
    default: 1.5
  size_mb:
    description: Set this size instead of computing one (still clamped to mongod's limits).
    type: int
  sample_seconds:
    description:
      - Measure the rate by sampling the primary's oplog for this long instead of from its bounds
        (entries written meanwhile times their average size).
    type: float
    default: 0
  max_disk_fraction:
    description: The share of a member's free disk (plus its current oplog) the oplog may take.
    type: float
    default: 0.5
  min_retention_hours:
    description: C(minRetentionHours) to set with the size (MongoDB 4.4 and later).
    type: float
  tolerance:
    description: With O(size_mb), a member whose size is within this fraction of O(size_mb) is not resized.
    type: float
    default: 0.1
  grow_band:
    description:
      - A member grows only when the size computed from the measured rate is more than its current size times
        1 + O(grow_band) (1 MB of rounding aside).
    type: float
    default: 0.25
  shrink_band:
    description:
      - A member shrinks only when the size computed from the measured rate is less than its current size
        divided by 1 + O(shrink_band). Wider than O(grow_band) - shrinking frees disk only after C(compact),
        and the traffic that needed the size may come back.
    type: float
    default: 1.0
  shrink:
    description: Whether a measured size may shrink an oplog at all (false - grow only).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Each member's oplog size (MB) and minRetentionHours before and after.
notes:
  - Shrinking an oplog returns disk space only after C(compact) on C(local.oplog.rs).
"""

EXAMPLES = r"""
- name: Give every member twelve hours of oplog
  quorum.mongodb.oplog:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    target_hours: 12
  delegate_to: localhost

- name: Preview the sizes, sampling the write rate for a minute during peak traffic
  quorum.mongodb.oplog:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    sample_seconds: 60
    target_hours: 24
  check_mode: true
  register: sizing
  delegate_to: localhost

- name: A fixed size and a retention floor, whatever the rate
  quorum.mongodb.oplog:
    hosts: "{{ groups['rs0'] }}"
    replica_set: rs0
    login_user: admin
    login_password: "{{ vault_mongodb_admin_password }}"
    size_mb: 51200
    min_retention_hours: 24
  delegate_to: localhost
"""

RETURN = r"""
rate_bytes_per_hour:
  description: The measured oplog write rate on the primary.
  returned: success
  type: float
  sample: 734003200.0
size_mb:
  description: The size set (or that would be set) on each member before the disk limit of that member.
  returned: success
  type: int
  sample: 10500
members:
  description:
    - Per member - host, state, current_mb, window_hours, min_retention_hours, target_mb, limited_by, set_mb
      (the size sent), action (resize or keep), change (grow, shrink or keep) and reason (why, with the band).
  returned: success
  type: list
  elements: dict
  sample:
    - host: db2.example.net:27017
      state: SECONDARY
      current_mb: 990
      window_hours: 1.41
      min_retention_hours: 0
      target_mb: 10500
      limited_by: []
      set_mb: 10500
      action: resize
      change: grow
      reason: 10500 MB needed now is more than 990 MB + 25%
"""

import time

from ansible_collections.quorum.mongodb.plugins.module_utils.module_runner import connect, connection_module
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionProblem,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.oplog_math import (
    MB,
    OplogMathError,
    clamp_oplog_size,
    oplog_diff,
    oplog_disk_occupancy,
    oplog_size_for,
    rate_from_bounds,
    resize_needed,
    settle_oplog_size,
    window_hours,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import healthy_data_members


def measure_rate(conn, primary, sample_seconds):
    """Bytes per hour written to the primary's oplog."""
    if sample_seconds > 0:
        before = conn.oplog_stats(primary)
        started = time.monotonic()
        time.sleep(sample_seconds)
        written = conn.oplog_bytes_since(primary, before["newest_seconds"])
        return written / (time.monotonic() - started) * 3600.0
    stats = conn.oplog_stats(primary)
    if stats is None:
        raise OplogMathError("%s has no oplog entries to measure" % primary)
    return rate_from_bounds(stats["oldest_seconds"], stats["newest_seconds"], stats["used_bytes"])


def member_plan(conn, member, rate, p):
    host = member["name"]
    stats = conn.oplog_stats(host)
    if stats is None:
        raise OplogMathError("%s has no oplog (is it a data-bearing member?)" % host)
    fs = conn.command("local", {"dbStats": 1}, direct_host=host)  # that member's disk
    free = fs["fsTotalSize"] - fs["fsUsedSize"] if "fsTotalSize" in fs and "fsUsedSize" in fs else None
    storage = conn.command("local", {"collStats": "oplog.rs"}, direct_host=host).get("storageSize")
    occupied = oplog_disk_occupancy(stats["size_bytes"], storage)  # the file keeps its size until compact
    if p["size_mb"]:
        size = clamp_oplog_size(p["size_mb"], rate, free, occupied, p["max_disk_fraction"])
    else:
        size = oplog_size_for(rate, p["target_hours"], p["headroom"], free, occupied, p["max_disk_fraction"])
    current_mb = int(round(stats["size_bytes"] / MB))
    window = window_hours(stats["size_bytes"], rate)
    if p["size_mb"]:  # a given size: no measurement to drift, the tolerance only absorbs rounding
        resize = resize_needed(current_mb, size.size_mb, p["tolerance"])
        change = ("grow" if size.size_mb > current_mb else "shrink") if resize else "keep"
        reason = "size_mb %d MB, current %d MB (tolerance %d%%)" % (size.size_mb, current_mb, round(p["tolerance"] * 100))
        set_mb = size.size_mb if resize else current_mb
    else:
        decision = settle_oplog_size(current_mb, size, p["grow_band"], p["shrink_band"] if p["shrink"] else None)
        change, reason, set_mb = decision.action, decision.reason, decision.set_mb
    retention = p["min_retention_hours"] is not None and p["min_retention_hours"] != stats["min_retention_hours"]
    return {"host": host, "state": member.get("stateStr"), "current_mb": current_mb,
            "window_hours": None if window == float("inf") else round(window, 2),
            "min_retention_hours": stats["min_retention_hours"],
            "target_mb": size.size_mb, "limited_by": size.limited_by,
            "set_mb": set_mb, "change": change, "reason": reason,
            "action": "resize" if change != "keep" or retention else "keep"}


def main():
    module = connection_module(dict(
        target_hours=dict(type="float", default=8),
        headroom=dict(type="float", default=1.5),
        size_mb=dict(type="int"),
        sample_seconds=dict(type="float", default=0),
        max_disk_fraction=dict(type="float", default=0.5),
        min_retention_hours=dict(type="float"),
        tolerance=dict(type="float", default=0.1),
        grow_band=dict(type="float", default=0.25),
        shrink_band=dict(type="float", default=1.0),
        shrink=dict(type="bool", default=True),
    ), supports_check_mode=True)
    p = module.params
    result = {"changed": False, "members": []}
    try:
        with connect(module) as conn:
            status = conn.status()
            members = healthy_data_members(status)
            primary = next((m["name"] for m in members if m["state"] == 1), None)
            if primary is None:
                module.fail_json(msg="no primary to measure the oplog rate on; members: %s" % ", ".join(
                    "%s %s" % (m["name"], m.get("stateStr")) for m in status.get("members", [])))
            rate = measure_rate(conn, primary, p["sample_seconds"])
            result["rate_bytes_per_hour"] = round(rate, 1)
            ordered = sorted(members, key=lambda m: (m["state"] == 1, m["name"]))  # secondaries first
            result["members"] = [member_plan(conn, m, rate, p) for m in ordered]
            result["size_mb"] = max([m["target_mb"] for m in result["members"]] or [0])
            to_resize = [m for m in result["members"] if m["action"] == "resize"]
            result["changed"] = bool(to_resize)
            if module._diff:
                result["diff"] = oplog_diff(result["members"], p["min_retention_hours"])
            if to_resize and not module.check_mode:
                for member in to_resize:
                    command = {"replSetResizeOplog": 1, "size": float(member["set_mb"])}
                    if p["min_retention_hours"] is not None:
                        command["minRetentionHours"] = p["min_retention_hours"]
                    conn.admin(command, direct_host=member["host"], retries=0)
    except (ConnectionProblem, OplogMathError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
