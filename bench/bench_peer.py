"""Side by side: quorum.mongodb.rs_config against community.mongodb.mongodb_replicaset (issue 7,
item 2), on identical fresh mongoemu replica sets (mongod 7.0 stand-in, one process per member
on 127.0.0.x, no auth, settings electionTimeoutMillis 1000 and heartbeatIntervalMillis 200).

Scenarios, each on its own fresh set (the same topology for both tools):

1. initiate a 3- and a 5-member set across datacenters (tags dc1/dc2/dc3, priorities);
2. add two members and remove two in one desired-state change (5 members: remove the dc2 and
   dc3 secondaries m3 and m4, add m5 and m6 in dc3); for community.mongodb also the way its
   documentation asks for it, one member per run (four runs);
3. change priorities so that the primary moves from dc1 to dc2;
4. add a write-concern mode (settings.getLastErrorModes) to a running set;
5. an idempotent rerun (of the 5-member initiate, and of scenario 3's desired state).

Measured for every run: outcome (with the server's or the module's error text),
replSetReconfig commands the members received (log id 21352, replSetInitiate 21356), steps
applied against the lower bound of the change (quorum.mongodb's planner computes the bound from
the live config; the bound is a property of the change, not of the tool), elections (term after
minus term before, replSetGetStatus), seconds without a writable primary (a thread sends hello
to every member every 10 ms), w:"majority" acknowledged writes lost (a writer thread inserts
with w:"majority" during the change; afterwards acknowledged _ids missing on the final primary
are counted), the tool's wall time and the time until the set has converged (one primary, the
member with the highest priority, every member in the config PRIMARY or SECONDARY).

community.mongodb comes from the PyPI package ``ansible`` 12.x, installed by this script into a
throwaway venv, bench/.peer/venv (gitignored), and run with that venv's ansible-playbook, its
python as the interpreter and ANSIBLE_COLLECTIONS_PATH pointing at that venv's
site-packages/ansible_collections. quorum.mongodb runs from .venv (make venv).

    .venv/bin/python bench/bench_peer.py

Every process it starts is stopped by pid (ReplicaSetCluster.stop in finally). It writes
bench/results/peer.json and bench/results/peer.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    from pymongo import MongoClient, WriteConcern
    from pymongo.errors import PyMongoError
except ImportError:  # started with another python: use the project's venv
    if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    raise

from mongoemu.cluster import MemberSpec, ReplicaSetCluster, hello, state_from_hello  # noqa: E402

sys.path.insert(0, str(ROOT / ".venv" / "collections"))
from ansible_collections.quorum.mongodb.plugins.module_utils.reconfig_plan import (  # noqa: E402
    plan_reconfig,
)

RESULTS = ROOT / "bench" / "results"
PEER_DIR = ROOT / "bench" / ".peer"
PEER_VENV = PEER_DIR / "venv"
PEER_REQUIREMENTS = ["ansible>=12,<13", "pymongo"]
OURS_BIN = ROOT / ".venv" / "bin"
COMMAND = ".venv/bin/python bench/bench_peer.py"
SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}
MODES = {"multiDC": {"dc": 2}}
OURS, PEER = "quorum.mongodb", "community.mongodb"
POLL_S = 0.010
SETTLE_TIMEOUT_S = 45.0

#: name, datacenter, priority
TOPOLOGY_3 = [("m0", "dc1", 2), ("m1", "dc2", 1), ("m2", "dc3", 1)]
TOPOLOGY_5 = [("m0", "dc1", 2), ("m1", "dc1", 1), ("m2", "dc2", 1), ("m3", "dc2", 1),
              ("m4", "dc3", 0.5)]
NEWCOMERS = [("m5", "dc3", 1), ("m6", "dc3", 1)]
PEER_INITIATE_NOTE = (
    "mongodb_replicaset has no option for heartbeatIntervalMillis, so the set keeps the default "
    "2000 ms next to electionTimeoutMillis 1000 ms")


# ---------------------------------------------------------------- the two tools


def peer_site_packages() -> Path:
    return PEER_VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
        "site-packages"


def ensure_peer() -> dict[str, str]:
    """Create bench/.peer/venv with `ansible` 12.x (it ships community.mongodb) unless there."""
    manifest = peer_site_packages() / "ansible_collections" / "community" / "mongodb" / \
        "MANIFEST.json"
    if not manifest.exists():
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        print(f"installing {' '.join(PEER_REQUIREMENTS)} into {PEER_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "--quiet",
                        *PEER_REQUIREMENTS], check=True)
    versions = subprocess.run(
        [str(PEER_VENV / "bin" / "python"), "-c",
         "import importlib.metadata as m; print(m.version('ansible'), m.version('ansible-core'),"
         " m.version('pymongo'))"], check=True, capture_output=True, text=True).stdout.split()
    return {"community.mongodb": json.loads(manifest.read_text())["collection_info"]["version"],
            "ansible": versions[0], "ansible-core": versions[1], "pymongo": versions[2]}


class Tool:
    """One of the two collections, run through ansible-playbook from its own venv."""

    def __init__(self, name: str, module: str, bin_dir: Path, collections: Path,
                 config: Path | None) -> None:
        self.name, self.module, self.bin_dir = name, module, bin_dir
        self.env = dict(os.environ)
        self.env.update({"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1",
                         "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                         "PATH": str(bin_dir) + os.pathsep + self.env.get("PATH", "")})
        if config is not None:
            self.env["ANSIBLE_CONFIG"] = str(config)
        self.example_command = ""

    def run(self, args: dict[str, Any], workdir: Path, label: str) -> dict[str, Any]:
        """Run the module once in a generated play; returns the registered result plus
        wall_s (failures are results too: the task ignores errors)."""
        out = workdir / f"{label}.result.json"
        play = [{"name": f"{self.name}: {label}", "hosts": "localhost", "connection": "local",
                 "gather_facts": False,
                 "tasks": [{"name": "Run the module", self.module: args, "register": "r",
                            "ignore_errors": True},
                           {"name": "Record the result", "ansible.builtin.copy": {
                               "content": "{{ r | to_nice_json }}", "dest": str(out),
                               "mode": "0600"}}]}]
        path = workdir / f"{label}.yml"
        path.write_text(json.dumps(play, indent=1))  # JSON is YAML
        command = [str(self.bin_dir / "ansible-playbook"), "-i", "localhost,", str(path),
                   "-e", f"ansible_python_interpreter={self.bin_dir / 'python'}"]
        self.example_command = " ".join(
            shlex.quote(str(c).replace(str(workdir.parent), "$TMP").replace(str(ROOT) + "/", ""))
            for c in command)
        started = time.monotonic()
        proc = subprocess.run(command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
        wall = time.monotonic() - started
        if not out.exists():
            raise RuntimeError(f"{self.name} {label}: ansible-playbook exited {proc.returncode} "
                               f"without a result:\n{proc.stdout[-3000:]}")
        result = json.loads(out.read_text())
        result["wall_s"] = wall
        return result


# ---------------------------------------------------------------- desired states


def specs(topology: list[tuple[str, str, float]]) -> list[MemberSpec]:
    return [MemberSpec(name=name, tags={"dc": dc}, priority=priority)
            for name, dc, priority in topology]


def members_by_name(cluster: ReplicaSetCluster) -> dict[str, Any]:
    return {m.name: m for m in cluster.members}


def desired_config(cluster: ReplicaSetCluster, topology, settings=None) -> dict[str, Any]:
    """quorum.mongodb's desired document: _id = the member's index in the harness."""
    by_name = members_by_name(cluster)
    return {"_id": cluster.set_name, "version": 1,
            "members": [{"_id": by_name[n].index, "host": by_name[n].address, "priority": p,
                         "tags": {"dc": dc}} for n, dc, p in topology],
            "settings": dict(settings or SETTINGS)}


def peer_members(cluster: ReplicaSetCluster, topology) -> list[dict[str, Any]]:
    by_name = members_by_name(cluster)
    return [{"host": by_name[n].address, "priority": p, "tags": {"dc": dc}}
            for n, dc, p in topology]


def ours_args(cluster: ReplicaSetCluster, topology, seed, settings=None) -> dict[str, Any]:
    return {"hosts": [seed.address], "config": desired_config(cluster, topology, settings),
            "step_timeout": 60, "stepdown_seconds": 10}


def peer_initiate_args(cluster: ReplicaSetCluster, topology) -> dict[str, Any]:
    first = members_by_name(cluster)[topology[0][0]]
    return {"login_host": first.host, "login_port": first.port,
            "replica_set": cluster.set_name, "members": peer_members(cluster, topology),
            "election_timeout_millis": SETTINGS["electionTimeoutMillis"]}


def peer_reconfig_args(cluster: ReplicaSetCluster, topology) -> dict[str, Any]:
    """The peer connects directly to login_host and sends replSetReconfig there, so it is
    pointed at the current primary (as its users must do)."""
    primary = cluster.wait_for_primary(timeout=20)
    return {"login_host": primary.host, "login_port": primary.port,
            "replica_set": cluster.set_name, "members": peer_members(cluster, topology),
            "reconfigure": True}


def config_differences(config: dict[str, Any] | None, cluster: ReplicaSetCluster, topology,
                       settings=None) -> list[str]:
    """What the live config lacks of the desired state (members, priorities, tags, settings)."""
    if config is None:
        return ["no config"]
    by_name = members_by_name(cluster)
    want = {by_name[n].address: (float(p), {"dc": dc}) for n, dc, p in topology}
    have = {m["host"]: (float(m.get("priority", 1)), m.get("tags", {}))
            for m in config["members"]}
    problems = []
    if set(want) != set(have):
        problems.append(f"members {sorted(set(have))} instead of {sorted(set(want))}")
    for host in set(want) & set(have):
        if want[host] != have[host]:
            problems.append(f"{host}: priority/tags {have[host]} instead of {want[host]}")
    for key, value in (settings or SETTINGS).items():
        if config.get("settings", {}).get(key) != value:
            problems.append(f"settings.{key} = {config.get('settings', {}).get(key)!r} "
                            f"instead of {value!r}")
    return problems


# ---------------------------------------------------------------- observers


class PrimaryWatcher(threading.Thread):
    """hello (isWritablePrimary) to every member every 10 ms over persistent connections."""

    def __init__(self, addresses: list[str]) -> None:
        super().__init__(daemon=True)
        self.clients = {a: MongoClient(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1]),
                                       directConnection=True, serverSelectionTimeoutMS=300,
                                       connectTimeoutMS=300, socketTimeoutMS=300)
                        for a in addresses}
        self.samples: list[tuple[float, tuple[str, ...]]] = []
        self.offset = time.time() - time.monotonic()  # monotonic -> wall clock (the logs)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            began = time.monotonic()
            primaries = []
            for address, client in self.clients.items():
                try:
                    if client.admin.command("hello").get("isWritablePrimary"):
                        primaries.append(address)
                except PyMongoError:
                    pass
            self.samples.append((began, tuple(primaries)))
            time.sleep(max(0.0, POLL_S - (time.monotonic() - began)))

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)
        for client in self.clients.values():
            client.close()

    def without_primary(self, start: float, end: float) -> tuple[float, float]:
        """(total, longest) seconds in [start, end] during which no member was writable."""
        points = [s for s in self.samples if start <= s[0] <= end]
        total = longest = run = 0.0
        for (t0, primaries), (t1, _) in zip(points, points[1:]):
            if primaries:
                run = 0.0
                continue
            total += t1 - t0
            run += t1 - t0
            longest = max(longest, run)
        return total, longest

    def first_primary_after(self, start: float) -> float | None:
        return next((t - start for t, p in self.samples if t >= start and p), None)

    def first_primary_after_wall(self, wall: float) -> float | None:
        return next((t + self.offset - wall for t, p in self.samples
                     if t + self.offset >= wall and p), None)

    def most_primaries(self) -> int:
        return max((len(p) for _, p in self.samples), default=0)


class MajorityWriter(threading.Thread):
    """Inserts {_id: n} with w:"majority" as fast as it is acknowledged (plus 5 ms) into a
    collection of its own."""

    count = 0

    def __init__(self, cluster: ReplicaSetCluster) -> None:
        super().__init__(daemon=True)
        uri = "mongodb://" + ",".join(m.address for m in cluster.members if m.pid) + \
            f"/?replicaSet={cluster.set_name}"
        self.client = MongoClient(uri, serverSelectionTimeoutMS=20000, heartbeatFrequencyMS=500)
        MajorityWriter.count += 1
        self.name_ = f"majority{MajorityWriter.count}"
        self.coll = self.client.bench.get_collection(
            self.name_, write_concern=WriteConcern(w="majority", wtimeout=20000))
        self.acked: list[int] = []
        self.ack_times: list[float] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            try:
                self.coll.insert_one({"_id": n})
                self.acked.append(n)
                self.ack_times.append(time.monotonic())
            except PyMongoError as exc:
                self.errors.append(type(exc).__name__)
            n += 1
            time.sleep(0.005)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=60)
        self.client.close()

    def longest_gap(self, start: float, end: float) -> float:
        points = [start] + [t for t in self.ack_times if start <= t <= end] + [end]
        return max(b - a for a, b in zip(points, points[1:]))

    def median_gap(self) -> float | None:
        gaps = sorted(b - a for a, b in zip(self.ack_times, self.ack_times[1:]))
        return gaps[len(gaps) // 2] if gaps else None


def direct(member) -> MongoClient:
    return MongoClient(member.host, member.port, directConnection=True,
                       serverSelectionTimeoutMS=5000, connectTimeoutMS=2000)


def term_and_config(cluster: ReplicaSetCluster) -> tuple[int, dict[str, Any] | None, Any]:
    primary = cluster.wait_for_primary(timeout=30)
    with direct(primary) as cli:
        term = cli.admin.command("replSetGetStatus")["term"]
        config = cli.admin.command("replSetGetConfig")["config"]
    return term, config, primary


def log_counts(cluster: ReplicaSetCluster) -> dict[str, Any]:
    counts: dict[str, Any] = {"replSetReconfig": 0, "replSetInitiate": 0, "initiated_at": None}
    for member in cluster.members:
        for entry in member.log_entries():
            ident = entry.get("id")
            if ident == 21352:
                counts["replSetReconfig"] += 1
            elif ident == 21356:
                counts["replSetInitiate"] += 1
                counts["initiated_at"] = datetime.datetime.fromisoformat(
                    entry["t"]["$date"]).timestamp()
    return counts


def converged(cluster: ReplicaSetCluster, timeout: float = SETTLE_TIMEOUT_S) -> float | None:
    """Wait until one primary holds the highest priority of the live config and every member
    of that config answers PRIMARY/SECONDARY; returns the monotonic time, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        primary = cluster.primary_member()
        if primary is not None:
            try:
                with direct(primary) as cli:
                    config = cli.admin.command("replSetGetConfig")["config"]
                states = {}
                for m in config["members"]:
                    try:
                        states[m["host"]] = state_from_hello(hello(m["host"]))
                    except OSError:
                        states[m["host"]] = "UNREACHABLE"
                top = max(float(m.get("priority", 1)) for m in config["members"])
                mine = next(float(m.get("priority", 1)) for m in config["members"]
                            if m["host"] == primary.address)
                if mine == top and all(s in ("PRIMARY", "SECONDARY") for s in states.values()):
                    return time.monotonic()
            except PyMongoError:
                pass
        time.sleep(0.05)
    return None


def lower_bound(cluster: ReplicaSetCluster, topology, settings=None) -> int:
    term, config, primary = term_and_config(cluster)
    plan = plan_reconfig(config, desired_config(cluster, topology, settings),
                         primary=primary.address, target_version="7.0")
    return plan.lower_bound


# ---------------------------------------------------------------- one measured change


def measure(cluster: ReplicaSetCluster, invoke: Callable[[], list[dict[str, Any]]], *,
            initiated: bool) -> dict[str, Any]:
    """Run invoke() (one or more tool runs) with the watcher (and, on a live set, the
    w:"majority" writer) running; wait for the set to converge; collect the numbers."""
    addresses = [m.address for m in cluster.members if m.pid]
    logs_before = log_counts(cluster)
    term_before = term_and_config(cluster)[0] if initiated else 0
    watcher = PrimaryWatcher(addresses)
    writer = MajorityWriter(cluster) if initiated else None
    watcher.start()
    if writer:
        writer.start()
        time.sleep(0.5)  # a baseline of acknowledged writes before the change
    started = time.monotonic()
    try:
        runs = invoke()
        tool_done = time.monotonic()
        settled = converged(cluster)
        time.sleep(0.3)
        end = time.monotonic()
    finally:
        if writer:
            writer.stop()
        watcher.stop()
    term_after, config, primary = term_and_config(cluster)
    logs_after = log_counts(cluster)
    lost = None
    if writer:
        with direct(primary) as cli:
            present = {d["_id"] for d in cli.bench[writer.name_].find({}, {"_id": 1})}
        lost = len(set(writer.acked) - present)
    total, longest = watcher.without_primary(started, end)
    return {
        "runs": runs,
        "wall_s": round(tool_done - started, 2),
        "converged_s": round(settled - started, 2) if settled else None,
        "reconfig_commands": logs_after["replSetReconfig"] - logs_before["replSetReconfig"],
        "initiate_commands": logs_after["replSetInitiate"] - logs_before["replSetInitiate"],
        "term_before": term_before, "term_after": term_after,
        "elections": term_after - term_before,
        "unavailable_s": round(total, 3) if initiated else None,
        "longest_unavailable_s": round(longest, 3) if initiated else None,
        "first_primary_s": None if initiated else _rounded(watcher.first_primary_after(started)),
        "initiate_to_primary_s": None if initiated or not logs_after["initiated_at"] else
        _rounded(watcher.first_primary_after_wall(logs_after["initiated_at"])),
        "longest_majority_ack_gap_s": round(writer.longest_gap(started, end), 3)
        if writer else None,
        "median_majority_ack_gap_s": _rounded(writer.median_gap(), 3) if writer else None,
        "most_simultaneous_primaries": watcher.most_primaries(),
        "acked_majority": len(writer.acked) if writer else None,
        "write_errors": len(writer.errors) if writer else None,
        "write_error_kinds": sorted(set(writer.errors)) if writer else None,
        "lost_majority": lost,
        "final_primary": primary.name,
        "final_config": config,
    }


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def outcome(runs: list[dict[str, Any]]) -> tuple[str, str | None]:
    failed = [r for r in runs if r.get("failed")]
    if failed:
        return "refused", str(failed[0].get("msg"))
    return ("changed" if any(r.get("changed") for r in runs) else "unchanged"), None


def record(rows: list[dict[str, Any]], scenario: str, tool: str, data: dict[str, Any],
           bound: int | None, steps: int | None, problems: list[str], note: str = "") -> None:
    state, error = outcome(data["runs"])
    row = {"scenario": scenario, "tool": tool, "outcome": state, "error": error,
           "lower_bound": bound, "steps_applied": steps, "config_differences": problems,
           "note": note, **{k: v for k, v in data.items() if k not in ("runs", "final_config")},
           "results": [{k: r.get(k) for k in ("changed", "failed", "msg", "steps_applied",
                                               "wall_s", "plan")} for r in data["runs"]],
           "final_config": data["final_config"]}
    rows.append(row)
    print(json.dumps({k: row[k] for k in ("scenario", "tool", "outcome", "error",
                                          "reconfig_commands", "steps_applied", "lower_bound",
                                          "elections", "unavailable_s", "lost_majority",
                                          "wall_s", "converged_s", "config_differences")},
                     default=str), flush=True)


def new_cluster(tmp: Path, label: str, topology, *, initiate: bool,
                newcomers=()) -> ReplicaSetCluster:
    cluster = ReplicaSetCluster(specs(topology), set_name=label, root=tmp / label,
                                settings=SETTINGS)
    cluster.start(initiate=initiate)
    if initiate:
        cluster.wait_ready(timeout=60)
        # the priority-2 member takes over once caught up: start every run from that primary
        deadline = time.monotonic() + 20
        while cluster.primary() != cluster.members[0].address and time.monotonic() < deadline:
            time.sleep(0.1)
    for spec in specs(list(newcomers)):
        cluster.add_member(spec)
    return cluster


def steps_of(tool: str, runs: list[dict[str, Any]]) -> int:
    if tool == OURS:
        return sum(r.get("steps_applied") or 0 for r in runs)
    return sum(1 for r in runs if r.get("changed") and not r.get("failed"))


# ---------------------------------------------------------------- scenarios


def scenario_initiate(rows, tools, tmp: Path, size: int) -> None:
    topology = TOPOLOGY_3 if size == 3 else TOPOLOGY_5
    for tool in (OURS, PEER):
        label = f"init{size}{'q' if tool == OURS else 'c'}"
        cluster = new_cluster(tmp, label, topology, initiate=False)
        try:
            work = tmp / f"{label}-runs"
            work.mkdir()
            if tool == OURS:
                args = ours_args(cluster, topology, cluster.members[0])
            else:
                args = peer_initiate_args(cluster, topology)
            data = measure(cluster, lambda: [tools[tool].run(args, work, "initiate")],
                           initiated=False)
            problems = config_differences(data["final_config"], cluster, topology)
            record(rows, f"1. initiate {size} members", tool, data, None, None, problems,
                   note=PEER_INITIATE_NOTE if tool == PEER else "")
        finally:
            cluster.stop()


def scenario_rerun_initiate(rows, tools, tmp: Path) -> None:
    """The initiate run again on a set that already has that config (initiated by the
    harness with the same topology and settings, so both tools meet the same set)."""
    for tool in (OURS, PEER):
        label = f"again{'q' if tool == OURS else 'c'}"
        cluster = new_cluster(tmp, label, TOPOLOGY_5, initiate=True)
        try:
            work = tmp / f"{label}-runs"
            work.mkdir()
            if tool == OURS:
                args = ours_args(cluster, TOPOLOGY_5, cluster.members[0])
            else:
                args = peer_initiate_args(cluster, TOPOLOGY_5)
            data = measure(cluster, lambda: [tools[tool].run(args, work, "rerun")],
                           initiated=True)
            record(rows, "5a. rerun of the 5-member initiate", tool, data, 0,
                   steps_of(tool, data["runs"]), [])
        finally:
            cluster.stop()


def scenario_add_remove(rows, tools, tmp: Path) -> None:
    target = [t for t in TOPOLOGY_5 if t[0] not in ("m3", "m4")] + NEWCOMERS
    cases = [(OURS, "one desired-state run"), (PEER, "one desired-state run"),
             (PEER, "one member per run, as its documentation asks (4 runs)")]
    for number, (tool, how) in enumerate(cases):
        label = f"addrm{number}"
        cluster = new_cluster(tmp, label, TOPOLOGY_5, initiate=True, newcomers=NEWCOMERS)
        try:
            work = tmp / f"{label}-runs"
            work.mkdir()
            bound = lower_bound(cluster, target)
            if tool == OURS:
                args = ours_args(cluster, target, cluster.members[2])
                invoke = lambda: [tools[OURS].run(args, work, "add-remove")]  # noqa: E731
            elif number == 1:
                invoke = lambda: [tools[PEER].run(  # noqa: E731
                    peer_reconfig_args(cluster, target), work, "add-remove")]
            else:
                names = [t[0] for t in TOPOLOGY_5]
                sequence = [names + ["m5"], names + ["m5", "m6"],
                            [n for n in names if n != "m3"] + ["m5", "m6"],
                            [n for n in names if n not in ("m3", "m4")] + ["m5", "m6"]]
                lookup = {t[0]: t for t in TOPOLOGY_5 + NEWCOMERS}

                def invoke():
                    runs = []
                    for i, step in enumerate(sequence, 1):
                        runs.append(tools[PEER].run(
                            peer_reconfig_args(cluster, [lookup[n] for n in step]), work,
                            f"step{i}"))
                        if runs[-1].get("failed"):
                            break
                    return runs
            data = measure(cluster, invoke, initiated=True)
            problems = config_differences(data["final_config"], cluster, target)
            record(rows, "2. add two members, remove two", tool, data, bound,
                   steps_of(tool, data["runs"]), problems, note=how)
        finally:
            cluster.stop()


def scenario_move_primary(rows, tools, tmp: Path) -> None:
    target = [("m0", "dc1", 1), ("m1", "dc1", 1), ("m2", "dc2", 2), ("m3", "dc2", 1),
              ("m4", "dc3", 0.5)]
    for tool in (OURS, PEER):
        label = f"move{'q' if tool == OURS else 'c'}"
        cluster = new_cluster(tmp, label, TOPOLOGY_5, initiate=True)
        try:
            work = tmp / f"{label}-runs"
            work.mkdir()
            bound = lower_bound(cluster, target)
            if tool == OURS:
                args = ours_args(cluster, target, cluster.members[3])
                invoke = lambda: [tools[OURS].run(args, work, "move")]  # noqa: E731
                again = invoke
            else:
                invoke = lambda: [tools[PEER].run(  # noqa: E731
                    peer_reconfig_args(cluster, target), work, "move")]
                again = lambda: [tools[PEER].run(  # noqa: E731
                    peer_reconfig_args(cluster, target), work, "rerun")]
            data = measure(cluster, invoke, initiated=True)
            problems = config_differences(data["final_config"], cluster, target)
            if data["final_primary"] != "m2":
                problems.append(f"final primary {data['final_primary']}, not m2 (dc2)")
            record(rows, "3. move the primary dc1 -> dc2 (priorities)", tool, data, bound,
                   steps_of(tool, data["runs"]), problems)
            rerun = measure(cluster, again, initiated=True)
            record(rows, "5b. rerun of scenario 3", tool, rerun, 0,
                   steps_of(tool, rerun["runs"]), [])
        finally:
            cluster.stop()


def scenario_write_concern_mode(rows, tools, tmp: Path) -> None:
    settings = {**SETTINGS, "getLastErrorModes": MODES}
    for tool in (OURS, PEER):
        label = f"mode{'q' if tool == OURS else 'c'}"
        cluster = new_cluster(tmp, label, TOPOLOGY_5, initiate=True)
        try:
            work = tmp / f"{label}-runs"
            work.mkdir()
            bound = lower_bound(cluster, TOPOLOGY_5, settings)
            if tool == OURS:
                args = ours_args(cluster, TOPOLOGY_5, cluster.members[1], settings)
                invoke = lambda: [tools[OURS].run(args, work, "mode")]  # noqa: E731
                note = ""
            else:
                # mongodb_replicaset has no option for the settings document: show its answer
                def invoke():
                    args = peer_reconfig_args(cluster, TOPOLOGY_5)
                    args["settings"] = {"getLastErrorModes": MODES}
                    return [tools[PEER].run(args, work, "mode")]
                note = ("cannot: mongodb_replicaset has no option for the settings document "
                        "on an existing set (its documentation: 'Currently no support for "
                        "replicaset settings document changes'); passing one is refused by "
                        "argument validation, nothing reaches mongod")
            data = measure(cluster, invoke, initiated=True)
            problems = config_differences(data["final_config"], cluster, TOPOLOGY_5, settings)
            mode_write = None
            if not problems:
                try:
                    primary = cluster.wait_for_primary(timeout=20)
                    with direct(primary) as cli:
                        cli.bench.get_collection("mode", write_concern=WriteConcern(
                            w="multiDC", wtimeout=10000)).insert_one({"ok": 1})
                    mode_write = "acknowledged"
                except PyMongoError as exc:
                    mode_write = f"failed: {exc}"
            data["multiDC_write"] = mode_write
            record(rows, "4. add write-concern mode multiDC {dc: 2}", tool, data, bound,
                   steps_of(tool, data["runs"]) if tool == OURS else 0, problems, note=note)
            if tool == PEER:
                rows[-1]["outcome"] = "cannot"
        finally:
            cluster.stop()


# ---------------------------------------------------------------- report


def cell(value: Any, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}{suffix}"
    return f"{value}{suffix}"


def short_error(text: Any) -> str:
    """The server's words without the config document the peer appends (JSON has it all)."""
    text = " ".join(str(text).split())
    code = re.search(r"'code': (\d+), 'codeName': '(\w+)'", text)
    text = text.split(", full error:")[0].split(" Supported parameters include")[0]
    if code:
        text += f" (code {code.group(1)}, {code.group(2)})"
    return text[:600]


def render(report: dict[str, Any]) -> str:
    lines = [
        "# Side by side: quorum.mongodb.rs_config vs community.mongodb.mongodb_replicaset", "",
        f"{report['date']} · {report['machine']} · `{report['command']}`", "",
        f"Peer: community.mongodb {report['peer']['community.mongodb']} (PyPI ansible "
        f"{report['peer']['ansible']}, ansible-core {report['peer']['ansible-core']}, pymongo "
        f"{report['peer']['pymongo']}) from a throwaway venv (bench/.peer/venv). Ours: "
        f"quorum.mongodb {report['ours']['quorum.mongodb']} (ansible-core "
        f"{report['ours']['ansible-core']}, pymongo {report['ours']['pymongo']}).", "",
        "Every row starts from its own fresh mongoemu set (mongod 7.0 stand-in, one process per "
        "member on 127.0.0.x, **no auth**, settings electionTimeoutMillis 1000, "
        "heartbeatIntervalMillis 200), the same topology for both tools: m0 dc1 priority 2, m1 "
        "dc1, m2 dc2, m3 dc2, m4 dc3 priority 0.5 (the 3-member set: m0 dc1 priority 2, m1 dc2, "
        "m2 dc3). Scenario 2 adds m5 and m6 (dc3) and removes m3 and m4. "
        "quorum.mongodb gets one secondary as its seed; community.mongodb is pointed at the "
        "current primary (it connects directly to login_host and sends replSetReconfig there).",
        "",
        "| scenario | tool | outcome | reconfigs sent | steps / lower bound | elections | "
        "s without writable primary (longest) | longest w:majority ack gap s | "
        "w:majority acked / errors / lost | tool wall s | converged s |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for row in report["rows"]:
        outcome_text = row["outcome"]
        if row["outcome"] in ("refused", "cannot"):
            notes.append(f"{row['scenario']}, {row['tool']}: {row['note'] + '. ' if row['note'] else ''}"
                         f"Error: `{short_error(row['error'])}`")
            outcome_text = f"**{row['outcome']}** [{len(notes)}]"
        elif row["config_differences"]:
            notes.append(f"{row['scenario']}, {row['tool']}: {row['note'] + '. ' if row['note'] else ''}"
                         "The final config differs from the desired one: "
                         + "; ".join(row["config_differences"]))
            outcome_text = f"{row['outcome']}, incomplete [{len(notes)}]"
        elif row["note"]:
            notes.append(f"{row['scenario']}, {row['tool']}: {row['note']}")
            outcome_text = f"{row['outcome']} [{len(notes)}]"
        stall = row.get("longest_majority_ack_gap_s")
        if stall is not None and stall > 2 and (row.get("unavailable_s") or 0) < 0.5:
            notes.append(
                f"{row['scenario']}, {row['tool']}: w:\"majority\" writes were not acknowledged "
                f"for {stall:.1f} s while a member answered isWritablePrimary (writer errors: "
                f"{', '.join(row.get('write_error_kinds') or []) or 'none'}; elections "
                f"{row['elections']}): the primary could not get the majority commit point "
                "past the writes")
            outcome_text += f" [{len(notes)}]"
        if row.get("multiDC_write"):
            outcome_text += f"; w:multiDC write {row['multiDC_write']}"
        wall, converged = cell(row["wall_s"]), cell(row["converged_s"])
        if row["outcome"] == "cannot":
            rec = "0"
            steps = elections = unavailable = gap = writes = wall = converged = \
                "n/a (no way to do it)"
        else:
            rec = str(row["reconfig_commands"])
            if row["initiate_commands"]:
                rec += f" (+{row['initiate_commands']} replSetInitiate)"
            steps = "n/a" if row["lower_bound"] is None else \
                f"{row['steps_applied']} / {row['lower_bound']}"
            elections = cell(row["elections"])
            if row["unavailable_s"] is None:
                unavailable = (f"n/a (no set yet); first primary "
                               f"{cell(row['initiate_to_primary_s'])} s after replSetInitiate")
            else:
                unavailable = f"{row['unavailable_s']:.3f} ({row['longest_unavailable_s']:.3f})"
            gap = cell(row["longest_majority_ack_gap_s"])
            writes = "n/a (no set yet)" if row["acked_majority"] is None else \
                f"{row['acked_majority']} / {row['write_errors']} / {row['lost_majority']}"
        lines.append(f"| {row['scenario']} | {row['tool']} | {outcome_text} | {rec} | {steps} | "
                     f"{elections} | {unavailable} | {gap} | {writes} | {wall} | {converged} |")
    lines += ["", "Notes:", ""] + [f"{i}. {text}" for i, text in enumerate(notes, 1)]
    lines += [
        "", "How it is measured:", "",
        "- reconfigs sent: `replSetReconfig admin command received from client` lines (log id "
        "21352) in all members' logs during the run, replSetInitiate (21356) in brackets; a "
        "command refused before it is logged (NotWritablePrimary) would not count.",
        "- steps / lower bound: reconfigs accepted against the fewest reconfigs mongod's rules "
        "allow for the change (one per voting member added to or removed from the voters, at "
        "least one for any change); quorum.mongodb's planner computes it from the live config.",
        "- elections: replSetGetStatus term after minus term before.",
        "- seconds without a writable primary: hello to every member every 10 ms; total time "
        "no member answered isWritablePrimary, from the start of the run until the set "
        "converged, longest stretch in brackets.",
        "- longest w:majority ack gap: the longest time between two acknowledgements of the "
        "writer below (its median gap is about "
        f"{report['median_ack_gap_ms']} ms); it also sees a primary that still answers hello "
        "but can no longer commit writes.",
        "- w:majority acked / errors / lost: a writer inserting with w:\"majority\" (wtimeout "
        "20 s, retryable writes) from 0.5 s before the run until the set converged; errors are "
        "inserts that were not acknowledged; lost = acknowledged _ids missing on the final "
        "primary.",
        "- tool wall s: ansible-playbook, start to exit (including Ansible's own start-up); "
        "converged s: from the start until one primary holding the highest priority and every "
        "member of the live config PRIMARY/SECONDARY.",
        "",
        "Example commands: ",
        f"`{report['commands'][OURS]}` (ANSIBLE_COLLECTIONS_PATH=.venv/collections) and "
        f"`{report['commands'][PEER]}` (ANSIBLE_COLLECTIONS_PATH=bench/.peer/venv/lib/"
        "python3.11/site-packages/ansible_collections).",
        f"Total benchmark time: {report['total_s']:.0f} s; load average (1, 5, 15 min) at the "
        f"start {tuple(round(x, 1) for x in report['load_average']['start'])}, at the end "
        f"{tuple(round(x, 1) for x in report['load_average']['end'])} (wall times include "
        "whatever else the machine ran).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="1,2,3,4",
                        help="comma-separated scenario numbers (5 runs within 1 and 3)")
    parser.add_argument("--render", action="store_true",
                        help="only write peer.md again from peer.json (no runs)")
    options = parser.parse_args()
    if options.render:
        text = render(json.loads((RESULTS / "peer.json").read_text()))
        (RESULTS / "peer.md").write_text(text)
        print(text)
        return 0
    wanted = set(options.scenarios.split(","))
    began = time.monotonic()
    load_start = os.getloadavg()
    peer_versions = ensure_peer()
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmpdir:
        tmp = Path(tmpdir)
        peer_cfg = tmp / "peer-ansible.cfg"
        peer_cfg.write_text("[defaults]\nretry_files_enabled = false\n"
                            "interpreter_python = auto_silent\n")
        tools = {
            OURS: Tool(OURS, "quorum.mongodb.rs_config", OURS_BIN, ROOT / ".venv" / "collections",
                       ROOT / "ansible.cfg"),
            PEER: Tool(PEER, "community.mongodb.mongodb_replicaset", PEER_VENV / "bin",
                       peer_site_packages() / "ansible_collections", peer_cfg),
        }
        rows: list[dict[str, Any]] = []
        if "1" in wanted:
            scenario_initiate(rows, tools, tmp, 3)
            scenario_initiate(rows, tools, tmp, 5)
            scenario_rerun_initiate(rows, tools, tmp)
        if "2" in wanted:
            scenario_add_remove(rows, tools, tmp)
        if "3" in wanted:
            scenario_move_primary(rows, tools, tmp)
        if "4" in wanted:
            scenario_write_concern_mode(rows, tools, tmp)
    order = ["1. initiate 3", "1. initiate 5", "2.", "3.", "4.", "5a", "5b"]
    rows.sort(key=lambda r: (next(i for i, p in enumerate(order) if r["scenario"].startswith(p)),
                             r["tool"] != OURS))
    import importlib.metadata

    import pymongo
    galaxy = (ROOT / "galaxy.yml").read_text()
    ours_version = next((line.split(":", 1)[1].strip() for line in galaxy.splitlines()
                         if line.startswith("version:")), "?")
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
                   f"{platform.release()}, CPython {platform.python_version()}",
        "command": COMMAND + "".join(" " + shlex.quote(a) for a in sys.argv[1:]), "settings": SETTINGS, "auth": False,
        "peer": peer_versions,
        "ours": {"quorum.mongodb": ours_version, "ansible-core": importlib.metadata.version("ansible-core"),
                 "pymongo": pymongo.version},
        "commands": {name: tool.example_command for name, tool in tools.items()},
        "total_s": time.monotonic() - began,
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "median_ack_gap_ms": round(1000 * sorted(
            r["median_majority_ack_gap_s"] for r in rows
            if r.get("median_majority_ack_gap_s") is not None)[
                len([r for r in rows if r.get("median_majority_ack_gap_s") is not None]) // 2])
        if any(r.get("median_majority_ack_gap_s") is not None for r in rows) else None,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "peer.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    text = render(report)
    (RESULTS / "peer.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
