"""Benchmark: reconfig plan computation for sets of 3 to 50 members.

    .venv/bin/python -m bench.bench_planner
Each case replaces two voters (one when the set has three members) and moves the preferred
primary to another datacenter. Writes bench/results/planner.json and bench/results/planner.md.
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
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import plan_reconfig  # noqa: E402

COMMAND = ".venv/bin/python -m bench.bench_planner"
SIZES = (3, 5, 7, 15, 50)


def inventory(names, preferred_dc):
    """Host variables; the first two members of the preferred datacenter get priority 2."""
    preferred = [n for n in names if n.startswith(preferred_dc)][:2]
    return [{"inventory_hostname": name, "mongodb_datacenter": name.split("-")[0],
             "mongodb_priority": 2 if name in preferred else None} for name in names]


def topology(size):
    names = ["%s-%02d.example.net" % ("abc"[i % 3], i) for i in range(size)]
    current = build_desired_config([dict((k, v) for k, v in h.items() if v is not None)
                                    for h in inventory(names, "a")], "rs0")
    replaced = 1 if size == 3 else 2
    voters = [m["host"].split(":")[0] for m in current["members"] if m["votes"]]
    kept = [n for n in names if n not in voters[-replaced:]]
    new_names = kept + ["%s-new%d.example.net" % ("bc"[i % 2], i) for i in range(replaced)]
    desired = build_desired_config([dict((k, v) for k, v in h.items() if v is not None)
                                    for h in inventory(new_names, "b")], "rs0", current=current)
    primary = next(m["host"] for m in current["members"] if m["priority"] == 2)
    return current, desired, primary


def main():
    rows = []
    for size in SIZES:
        current, desired, primary = topology(size)
        plan = plan_reconfig(current, desired, primary=primary)
        samples = []
        for _ in range(5 if size > 15 else 20):
            start = time.perf_counter()
            plan_reconfig(current, desired, primary=primary)
            samples.append((time.perf_counter() - start) * 1000)
        rows.append({"members": size, "steps": len(plan.steps), "lower_bound": plan.lower_bound,
                     "elections_expected": plan.elections_expected, "runs": len(samples),
                     "median_ms": round(statistics.median(samples), 2), "max_ms": round(max(samples), 2)})
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": COMMAND,
            "python": platform.python_version(), "machine": "%s, %d cores" % (platform.machine(), os.cpu_count())}
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "planner.json"), "w") as handle:
        json.dump({"meta": meta, "results": rows}, handle, indent=2)
        handle.write("\n")
    lines = ["# Reconfig planner benchmark", "",
             "%s; Python %s; %s; `%s`" % (meta["machine"], meta["python"], meta["date"], COMMAND), "",
             "| members | steps | lower bound | elections expected | runs | median ms | max ms |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %(members)d | %(steps)d | %(lower_bound)d | %(elections_expected)d | %(runs)d | %(median_ms).2f "
                     "| %(max_ms).2f |" % r)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "bench", "results", "planner.md"), "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
