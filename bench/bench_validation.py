"""Benchmark: validating a 50-member, 7-voter, tagged config with the fault-domain analysis.

    .venv/bin/python -m bench.bench_validation
Writes bench/results/validation.json and bench/results/validation.md.
"""
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".venv", "collections"))

from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import build_desired_config  # noqa: E402
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config  # noqa: E402

COMMAND = ".venv/bin/python -m bench.bench_validation"


def fifty_member_config():
    members = []
    for i in range(50):
        dc = ("dc1", "dc2", "dc3")[i % 3]
        members.append({"inventory_hostname": "db%02d.%s.example.net" % (i, dc), "mongodb_datacenter": dc,
                        "mongodb_rack": "r%d" % (i % 4), "mongodb_tags": {"disk": "ssd" if i % 2 else "hdd"}})
    return build_desired_config(members, "rs50", write_concern_modes="auto")


def measure(function, repeat):
    function()  # warm up (schema compilation, imports)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"runs": repeat, "median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[int(repeat * 0.95) - 1], 3), "min_ms": round(samples[0], 3)}


def main():
    config = fifty_member_config()
    current = dict(config, version=1)
    desired = dict(config, version=2)
    assert sum(m["votes"] for m in config["members"]) == 7
    cases = {
        "validate 50 members, 7 voters, tags, analysis": lambda: validate_config(config),
        "validate reconfig against current (transition rules)": lambda: validate_config(desired, current=current),
        "build desired config from 50 host var sets": fifty_member_config,
    }
    results = dict((name, measure(fn, 300)) for name, fn in cases.items())
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": COMMAND,
            "python": platform.python_version(), "machine": "%s, %d cores" % (platform.machine(), os.cpu_count())}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "validation.json"), "w") as handle:
        json.dump({"meta": meta, "results": results}, handle, indent=2)
        handle.write("\n")
    lines = ["# Validator benchmark", "", "%s; Python %s; %s; `%s`" % (meta["machine"], meta["python"], meta["date"], COMMAND),
             "", "| case | runs | median ms | p95 ms | min ms |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append("| %s | %d | %.3f | %.3f | %.3f |" % (name, r["runs"], r["median_ms"], r["p95_ms"], r["min_ms"]))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "bench", "results", "validation.md"), "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
