"""Provisioning the local six-member set (issue 5): `make demo` from cold (six emulated members
over three datacenters, auth and keyFile, site.yml with the smoke check), idempotent reruns,
and a topology change applied by playbooks/reconfig.yml (the preferred primary moves from dc1
to dc2) with a w:"majority" writer running: wall time, reconfig steps against the lower
bound, elections, the longest gap between acknowledged writes, writes lost.

    .venv/bin/python bench/bench_provision.py

It runs in a copy of the checkout on free 127.0.0.x addresses (the helpers of the make demo
test), and `make stop` stops every member by pid. The rerun is taken RERUNS times (the median is
the figure; make demo prints the same tables each time). The figures of the previous run
(bench/results/provision.json before this one) stay beside the new ones in both files, with
the load average each was taken under (the machine is shared: a loaded one is slower).
Writes bench/results/provision.json/.md.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RERUNS = 3
# The figures compared run to run, and how many earlier runs' figures are kept in the JSON.
COMPARED = ("cold_s", "rerun_s", "reconfig_s")
HISTORY = 5
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "tests" / "emulator")]

from test_rs_smoke import copy_checkout, free_addresses, rewrite_addresses  # noqa: E402


def _run(checkout: Path, *command: str) -> tuple[float, str]:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    started = time.monotonic()
    proc = subprocess.run(list(command), cwd=checkout, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}")
    return time.monotonic() - started, proc.stdout


def load() -> str:
    return " ".join("%.2f" % n for n in os.getloadavg())


def previous_figures() -> list[dict[str, Any]]:
    """The figures of earlier runs, newest first: the last provision.json, then the history it kept."""
    path = RESULTS / "provision.json"
    if not path.exists():
        return []
    last = json.loads(path.read_text())
    entry = {"date": last.get("date"), "load_average": last.get("load_average")}
    entry.update((key, last.get(key)) for key in COMPARED)
    return ([entry] + list(last.get("history") or []))[:HISTORY]


def table(result: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    before = history[0] if history else {}
    since = f"previous ({before.get('date') or 'none'})"

    def old(key: str) -> str:
        value = before.get(key)
        return "-" if value is None else str(value)
    reruns = ", ".join(str(x) for x in result["reruns_s"])
    return [
        f"| step | wall s | {since} | notes |", "|---|---|---|---|",
        f"| make demo, cold | {result['cold_s']} | {old('cold_s')} | six members, initiate, first administrator, "
        "smoke check, fault-domain report |",
        f"| make demo, rerun (median of {len(result['reruns_s'])}) | {result['rerun_s']} | {old('rerun_s')} | "
        f"reruns {reruns} s; changed=0: {result['rerun_unchanged']} |",
        f"| reconfig.yml: preferred primary dc1 -> dc2 | {result['reconfig_s']} | {old('reconfig_s')} | steps "
        f"{result['steps']} (lower bound {result['lower_bound']}), elections "
        f"{result['elections']}, longest gap between acknowledged w:majority writes "
        f"{result['longest_ack_gap_s']} s, {result['acknowledged']} acknowledged, "
        f"{result['lost']} lost |",
        "",
        f"Load average (1, 5, 15 min) before the cold run: {result['load_average']['cold']}; before the reruns: "
        f"{result['load_average']['rerun']}; previous run: {before.get('load_average') or 'not recorded'}.",
    ]


def main() -> int:
    history = previous_figures()
    with tempfile.TemporaryDirectory(prefix="bench-provision-") as tmp:
        checkout = Path(tmp) / "checkout"
        checkout.mkdir()
        copy_checkout(checkout)
        inventory = checkout / "inventories" / "local" / "hosts.yml"
        addresses, port = free_addresses(6)
        rewrite_addresses(inventory, addresses, port)
        try:
            result = measure(checkout, inventory, addresses, port)
        finally:
            _run(checkout, "make", "--no-print-directory", "stop")
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "provision.json").write_text(json.dumps(
        {"date": date, "command": "bench/bench_provision.py", **result, "history": history}, indent=2) + "\n")
    lines = [f"# Provisioning the local six-member set ({date})", "",
             "`.venv/bin/python bench/bench_provision.py` (a copy of the checkout on free "
             "127.0.0.x addresses)", ""] + table(result, history)
    (RESULTS / "provision.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def measure(checkout: Path, inventory: Path, addresses: list[str], port: int) -> dict[str, Any]:
    load_cold = load()
    cold, _ = _run(checkout, "make", "--no-print-directory", "demo")
    load_rerun = load()
    reruns, unchanged = [], True
    for _ in range(RERUNS):
        took, _ = _run(checkout, "make", "--no-print-directory", "demo")
        reruns.append(round(took, 1))
        counts = re.findall(r"changed=(\d+)", (checkout / ".demo" / "site.log").read_text())
        unchanged = unchanged and bool(counts) and all(n == "0" for n in counts)
    password = (checkout / ".demo" / "secrets" / "admin_password").read_text().strip()
    uri = (f"mongodb://admin:{password}@" + ",".join(f"{a}:{port}" for a in addresses) +
           "/?replicaSet=demo&authSource=admin")
    client = MongoClient(uri, serverSelectionTimeoutMS=30000)
    term_before = int(client.admin.command("replSetGetStatus")["term"])

    data = yaml.safe_load(inventory.read_text())
    hosts = data["all"]["children"]["rs_demo"]["hosts"]
    hosts["dc2-a"]["mongodb_priority"] = 4
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))

    acked: list[float] = []
    ids: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        coll = client.bench.get_collection("w", write_concern=WriteConcern(w="majority",
                                                                            wtimeout=20000))
        i = 0
        while not stop.is_set():
            try:
                coll.insert_one({"_id": i})
                acked.append(time.monotonic())
                ids.append(i)
            except PyMongoError:
                pass
            i += 1
            time.sleep(0.01)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    time.sleep(1)
    started = time.monotonic()
    reconfig, out = _run(checkout, ".venv/bin/ansible-playbook", "-i", "inventories/local",
                         "playbooks/reconfig.yml")
    time.sleep(2)
    stop.set()
    thread.join()
    during = [started] + [t for t in acked if t >= started] + [time.monotonic()]
    present = {d["_id"] for d in client.bench.w.find({}, {"_id": 1})}
    term_after = int(client.admin.command("replSetGetStatus")["term"])
    client.close()
    found = re.search(r"Reconfiguration plan: (\d+) step\(s\) \(lower bound (\d+)", out)
    steps, lower = (int(found.group(1)), int(found.group(2))) if found else (None, None)
    return {"cold_s": round(cold, 1), "rerun_s": statistics.median(reruns), "reruns_s": reruns,
            "rerun_unchanged": unchanged, "load_average": {"cold": load_cold, "rerun": load_rerun},
            "reconfig_s": round(reconfig, 1), "steps": steps, "lower_bound": lower,
            "elections": term_after - term_before,
            "longest_ack_gap_s": round(max(b - a for a, b in zip(during, during[1:])), 3),
            "acknowledged": len(ids), "lost": len(set(ids) - present)}


if __name__ == "__main__":
    sys.exit(main())
