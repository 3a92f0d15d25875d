"""Benchmark mongoemu replica sets (issue 4 targets), with electionTimeoutMillis 1000 and
heartbeatIntervalMillis 200, for sets of 3, 5, 7 and 15 members (members beyond 7 are
non-voting, priority 0):

* cold start: processes spawned to a primary and every member SECONDARY;
* failover: kill -9 of the primary to the first write a new primary accepts;
* stepdown handoff: the longest gap without an acknowledged write (w:1, a writer thread)
  around replSetStepDown;
* replication lag: a writer at about 1,000 inserts/s; for each document, the time from the
  primary's acknowledgement to its appearance on a secondary (polled every 2 ms).

Run from the repository root:

    .venv/bin/python bench/bench_replset.py [--sizes 3,5,7,15]

Every process it starts is stopped by pid (mongoemu.cluster). It writes
bench/results/replset.json and bench/results/replset.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

from mongoemu.cluster import MemberSpec, ReplicaSetCluster

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}
TARGETS = {"cold_start_s": 3.0, "failover_s": 2.0, "stepdown_unavailable_s": 1.0,
           "lag_p50_ms": 50.0}


def _specs(size: int) -> list[MemberSpec]:
    return [MemberSpec() if i < 7 else MemberSpec(priority=0, votes=0) for i in range(size)]


def _writer(client: MongoClient, stop: threading.Event, acks: list[float]) -> None:
    coll = client.bench.get_collection("w", write_concern=WriteConcern(w=1))
    i = 0
    while not stop.is_set():
        try:
            coll.insert_one({"i": i})
            acks.append(time.monotonic())
            i += 1
        except PyMongoError:
            time.sleep(0.002)


def _longest_gap(acks: list[float], start: float, end: float) -> float:
    points = [start] + [t for t in acks if start <= t <= end] + [end]
    return max(b - a for a, b in zip(points, points[1:]))


def _primary_client(cluster: ReplicaSetCluster) -> MongoClient:
    hosts = ",".join(m.address for m in cluster.members)
    return MongoClient(f"mongodb://{hosts}/?replicaSet={cluster.set_name}",
                       serverSelectionTimeoutMS=10000, heartbeatFrequencyMS=500)


def measure(size: int, root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"members": size}
    cluster = ReplicaSetCluster(_specs(size), set_name=f"bench{size}", root=root / f"s{size}",
                                settings=SETTINGS)
    try:
        started = time.monotonic()
        cluster.start(initiate=True, wait=True)
        cluster.wait_ready(timeout=120)
        result["cold_start_s"] = round(time.monotonic() - started, 3)

        client = _primary_client(cluster)
        result.update(_lag(cluster, client))
        result["stepdown_unavailable_s"] = _stepdown_gap(cluster, client)

        old = cluster.primary_member()
        killed = time.monotonic()
        cluster.kill9(old)
        coll = client.bench.get_collection("failover", write_concern=WriteConcern(w=1))
        while True:
            try:
                coll.insert_one({"after": 1})
                break
            except PyMongoError:
                if time.monotonic() - killed > 60:
                    raise
                time.sleep(0.01)
        result["failover_s"] = round(time.monotonic() - killed, 3)
        client.close()
    finally:
        cluster.stop()
    return result


def _stepdown_gap(cluster: ReplicaSetCluster, client: MongoClient) -> float:
    acks: list[float] = []
    stop = threading.Event()
    thread = threading.Thread(target=_writer, args=(client, stop, acks), daemon=True)
    thread.start()
    time.sleep(0.5)
    primary = cluster.primary_member()
    start = time.monotonic()
    cluster.client(primary).admin.command({"replSetStepDown": 10,
                                           "secondaryCatchUpPeriodSecs": 5})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not [t for t in acks if t > start + 0.05]:
        time.sleep(0.01)
    time.sleep(0.5)
    end = time.monotonic()
    stop.set()
    thread.join()
    return round(_longest_gap(acks, start, end), 3)


def _lag(cluster: ReplicaSetCluster, client: MongoClient, rate: int = 1000,
         seconds: float = 3.0) -> dict[str, Any]:
    primary = cluster.primary_member()
    secondary = next(m for m in cluster.members if m is not primary)
    reader = cluster.client(secondary, readPreference="secondary")
    coll = client.bench.get_collection("lag", write_concern=WriteConcern(w=1))
    acked: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        last = -1
        source = reader.bench.lag
        while not stop.is_set() or last < max(acked, default=-1):
            doc = source.find_one({}, sort=[("_id", -1)])
            now = time.monotonic()
            if doc is not None and doc["_id"] > last:
                for i in range(last + 1, doc["_id"] + 1):
                    seen.setdefault(i, now)
                last = doc["_id"]
            if stop.is_set() and now - stop_time[0] > 5:
                return
            time.sleep(0.002)

    stop_time = [0.0]
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    interval = 1.0 / rate
    begin = time.monotonic()
    i = 0
    while time.monotonic() - begin < seconds:
        due = begin + i * interval
        if time.monotonic() < due:
            time.sleep(due - time.monotonic())
        coll.insert_one({"_id": i})
        acked[i] = time.monotonic()
        i += 1
    achieved = i / (time.monotonic() - begin)
    stop_time[0] = time.monotonic()
    stop.set()
    thread.join()
    lags = sorted((seen[k] - acked[k]) * 1000 for k in acked if k in seen)
    return {"writes_per_s": round(achieved), "lag_p50_ms": round(statistics.median(lags), 1)
            if lags else None,
            "lag_p95_ms": round(lags[int(len(lags) * 0.95) - 1], 1) if lags else None,
            "lag_samples": len(lags)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,5,7,15")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-replset-") as tmp:
        for size in sizes:
            row = measure(size, Path(tmp))
            print(json.dumps(row), flush=True)
            rows.append(row)
    command = "bench/bench_replset.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {platform.python_implementation()} "
                         f"{platform.python_version()}", "command": command.strip(),
              "settings": SETTINGS, "targets": TARGETS, "results": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "replset.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# mongoemu replica sets ({report['date']})", "",
             f"`{report['command']}` on {report['machine']}; settings {SETTINGS}.", "",
             "| members | cold start s | failover s | stepdown unavailable s | writes/s | "
             "lag p50 ms | lag p95 ms |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['members']} | {r['cold_start_s']} | {r['failover_s']} | "
                     f"{r['stepdown_unavailable_s']} | {r['writes_per_s']} | {r['lag_p50_ms']} | "
                     f"{r['lag_p95_ms']} |")
    lines += ["", "Targets (issue 4): " + ", ".join(f"{k} < {v}" for k, v in TARGETS.items()),
              ""]
    (RESULTS / "replset.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
