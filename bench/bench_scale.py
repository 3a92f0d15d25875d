"""Scale (issue 7, item 4): how provisioning and plan computation grow with the set size.

* plan computation: plan_reconfig (plugins/module_utils/reconfig_plan.py) for 3, 5, 7, 15 and
  50 members (members beyond the 7th are non-voters with priority 0), in two cases: the rerun
  that finds nothing to do (desired = live config), and the change bench_planner measures
  (two voters replaced, one on three members, and the preferred primary moved to another
  datacenter; its topology() builds both configs);
* provisioning: quorum.mongodb.rs_config initiating a fresh mongoemu set of 3, 5, 7, 15 and 50
  members (processes already running, not yet initiated; mongod's default settings,
  electionTimeoutMillis 10000 and heartbeatIntervalMillis 2000: every member heartbeats every
  other, 50 members at 200 ms would be 12,000 heartbeats a second on this machine; no auth)
  through ansible-playbook, until one primary and every member SECONDARY.

    .venv/bin/python bench/bench_scale.py [--sizes 3,5,7,15,50] [--plan-sizes 3,5,7,15,50]

Every process it starts is stopped by pid (ReplicaSetCluster.stop in finally). It writes
bench/results/scale.json and bench/results/scale.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_peer import OURS, OURS_BIN, ROOT, Tool  # noqa: E402  (re-execs into .venv)
from bench_planner import topology  # noqa: E402

from mongoemu.cluster import MemberSpec, ReplicaSetCluster  # noqa: E402
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import (  # noqa: E402
    plan_reconfig,
)

RESULTS = ROOT / "bench" / "results"
COMMAND = ".venv/bin/python bench/bench_scale.py"
MAX_VOTERS = 7
SETTINGS = {"electionTimeoutMillis": 10000, "heartbeatIntervalMillis": 2000}  # mongod's defaults


def member_specs(size: int) -> list[MemberSpec]:
    """dc1, dc2, dc3 in turn; the first member priority 2; beyond 7, non-voters."""
    specs = []
    for i in range(size):
        dc = f"dc{i % 3 + 1}"
        if i >= MAX_VOTERS:
            specs.append(MemberSpec(name=f"m{i}", tags={"dc": dc}, priority=0, votes=0))
        else:
            specs.append(MemberSpec(name=f"m{i}", tags={"dc": dc}, priority=2 if i == 0 else 1))
    return specs


def timed(function, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return {"runs": runs, "median_ms": round(statistics.median(samples), 3),
            "max_ms": round(max(samples), 3)}


def plan_rows(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        current, desired, primary = topology(size)
        runs = 5 if size > 15 else 20
        voters = sum(1 for m in current["members"] if m.get("votes", 1))
        nothing = timed(lambda: plan_reconfig(current, current, primary=primary), runs)
        change_plan = plan_reconfig(current, desired, primary=primary)
        change = timed(lambda: plan_reconfig(current, desired, primary=primary), runs)
        rows.append({"members": size, "voters": voters,
                     "no_change": {**nothing,
                                   "steps": len(plan_reconfig(current, current,
                                                              primary=primary).steps)},
                     "change": {**change, "steps": len(change_plan.steps),
                                "lower_bound": change_plan.lower_bound}})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def provision(size: int, tool: Tool, tmp: Path) -> dict[str, Any]:
    cluster = ReplicaSetCluster(member_specs(size), set_name=f"scale{size}",
                                root=tmp / f"s{size}", settings=SETTINGS)
    try:
        spawned = time.monotonic()
        cluster.start(initiate=False)
        spawn_s = time.monotonic() - spawned
        config = cluster.config_document()
        work = tmp / f"s{size}-runs"
        work.mkdir()
        started = time.monotonic()
        result = tool.run({"hosts": [cluster.members[0].address], "config": config,
                           "step_timeout": 300}, work, "initiate")
        tool_s = time.monotonic() - started
        if result.get("failed"):
            return {"members": size, "spawn_s": round(spawn_s, 2), "failed": result.get("msg")}
        cluster.wait_ready(timeout=300)
        ready_s = time.monotonic() - started
        return {"members": size, "spawn_s": round(spawn_s, 2), "tool_wall_s": round(tool_s, 2),
                "ready_s": round(ready_s, 2), "initiated": result.get("initiated")}
    finally:
        cluster.stop()


def growth(rows: list[dict[str, Any]], key) -> list[str]:
    """The exponent k of time ~ members^k between consecutive sizes."""
    out = []
    for a, b in zip(rows, rows[1:]):
        ta, tb = key(a), key(b)
        if ta and tb and ta > 0 and tb > 0:
            out.append(f"{a['members']}->{b['members']}: x{tb / ta:.1f} "
                       f"(k = {math.log(tb / ta) / math.log(b['members'] / a['members']):.1f})")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,5,7,15,50")
    parser.add_argument("--plan-sizes", default="3,5,7,15,50")
    args = parser.parse_args()
    began = time.monotonic()
    load_start = os.getloadavg()
    plans = plan_rows([int(s) for s in args.plan_sizes.split(",")])
    tool = Tool(OURS, "quorum.mongodb.rs_config", OURS_BIN, ROOT / ".venv" / "collections",
                ROOT / "ansible.cfg")
    provisioning = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmpdir:
        for size in [int(s) for s in args.sizes.split(",")]:
            provisioning.append(provision(size, tool, Path(tmpdir)))
            print(json.dumps(provisioning[-1]), flush=True)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
                   f"{platform.release()}, CPython {platform.python_version()}",
        "command": COMMAND + "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
        "settings": SETTINGS, "auth": False,
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "total_s": round(time.monotonic() - began, 1),
        "plan_computation": plans, "provisioning": provisioning,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Scale: plan computation and provisioning", "",
        f"{report['date']} · {report['machine']} · `{report['command']}` · load average "
        f"{tuple(round(x, 1) for x in load_start)} at the start, "
        f"{tuple(round(x, 1) for x in report['load_average']['end'])} at the end", "",
        "## Plan computation (plan_reconfig, in process)", "",
        "Members beyond the 7th are non-voters (votes 0, priority 0). *No change*: the desired "
        "config equals the live one (every rerun pays this). *Change*: two voters replaced "
        "(one on three members) and the preferred primary moved to another datacenter "
        "(bench_planner's topology).", "",
        "| members | voters | no change: median ms (max) | change: steps / lower bound | "
        "change: median ms (max) | runs |", "|---|---|---|---|---|---|"]
    for r in plans:
        lines.append(f"| {r['members']} | {r['voters']} | {r['no_change']['median_ms']:.2f} "
                     f"({r['no_change']['max_ms']:.2f}) | {r['change']['steps']} / "
                     f"{r['change']['lower_bound']} | {r['change']['median_ms']:.2f} "
                     f"({r['change']['max_ms']:.2f}) | {r['change']['runs']} |")
    lines += ["", "Growth of the change's median (time ~ members^k): "
              + "; ".join(growth(plans, lambda r: r["change"]["median_ms"])) + ".",
              "Growth of the no-change median: "
              + "; ".join(growth(plans, lambda r: r["no_change"]["median_ms"])) + ".", "",
              "## Provisioning (rs_config initiate on mongoemu)", "",
              f"Settings {SETTINGS} (mongod's defaults), no auth. *spawn*: the harness forks "
              "every member (not initiated); *rs_config*: ansible-playbook running quorum.mongodb.rs_config "
              "(replSetInitiate, then it waits for a primary), including Ansible's start-up; "
              "*ready*: from the start of ansible-playbook until one primary and every member "
              "SECONDARY (initial sync done).", "",
              "The members wait one election timeout before the first election (mongod does "
              "too), so *ready* minus that timeout is what Ansible and the set's size cost.", "",
              "| members | spawn s | rs_config s | ready s | ready minus the election timeout s |",
              "|---|---|---|---|---|"]
    timeout_s = SETTINGS["electionTimeoutMillis"] / 1000
    for r in provisioning:
        if r.get("failed"):
            lines.append(f"| {r['members']} | {r['spawn_s']} | failed: {r['failed']} | | |")
        else:
            lines.append(f"| {r['members']} | {r['spawn_s']:.2f} | {r['tool_wall_s']:.2f} | "
                         f"{r['ready_s']:.2f} | {r['ready_s'] - timeout_s:.2f} |")
    ok = [r for r in provisioning if not r.get("failed")]
    lines += ["", "Growth of ready s: " + "; ".join(growth(ok, lambda r: r["ready_s"])) + ".",
              "", f"Total benchmark time: {report['total_s']:.0f} s.", ""]
    text = "\n".join(lines)
    (RESULTS / "scale.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
