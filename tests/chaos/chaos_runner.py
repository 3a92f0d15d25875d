"""Chaos runs: apply a desired topology with quorum.mongodb.rs_config while a random member
(the primary included) is killed (SIGKILL) or paused (SIGSTOP) at a random moment, then heal
the set and check the invariants:

* every write acknowledged with w:"majority" is on the final primary;
* no two members were primary in the same term (hello's electionId carries the term);
* the run either completed or stopped with a clear message (no traceback);
* a rerun converges to the desired config.

    .venv/bin/python tests/chaos/chaos_runner.py --runs 10 [--seed 1234]

Each run is reproducible from its seed (the fault's member, kind, moment and duration; the
machine's timing still varies). Every process is stopped by pid (mongoemu.cluster). Results:
bench/results/chaos.json and bench/results/chaos.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

from mongoemu.cluster import MemberSpec, ReplicaSetCluster, hello

ROOT = Path(__file__).resolve().parents[2]
PLAY = ROOT / "tests" / "integration" / "files" / "rs_config_run.yml"
SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}


@dataclass
class RunResult:
    seed: int
    fault: str
    target: str
    target_index: int
    at_s: float
    first_apply: str
    message: str = ""
    converged: bool = False
    acknowledged: int = 0
    lost: int = 0
    terms_with_two_primaries: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".venv" / "collections"),
                "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")})
    return env


def apply(workdir: Path, seeds: list[str], desired: dict[str, Any]) -> dict[str, Any]:
    out = workdir / f"result-{time.monotonic_ns()}.json"
    variables = workdir / f"vars-{time.monotonic_ns()}.json"
    variables.write_text(json.dumps({"seeds": seeds, "desired": desired, "out": str(out)}))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           "-i", "localhost,", str(PLAY), "-e", f"@{variables}"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600,
                          check=False)
    if out.exists():
        return json.loads(out.read_text())
    return {"failed": True, "msg": "the playbook did not record a result:\n" + proc.stdout[-2000:]}


class Observer(threading.Thread):
    """Polls hello on every member: which member was primary in which term."""

    def __init__(self, cluster: ReplicaSetCluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop_event = threading.Event()
        self.primaries: dict[int, set[str]] = {}

    def run(self) -> None:
        while not self.stop_event.is_set():
            for member in list(self.cluster.members):
                if member.paused:
                    continue
                try:
                    reply = hello(member.address, timeout=0.5)
                except Exception:  # a dead or paused member does not answer
                    continue
                election = reply.get("electionId")
                if reply.get("isWritablePrimary") and election is not None:
                    term = int(str(election)[8:], 16)
                    self.primaries.setdefault(term, set()).add(member.address)
            time.sleep(0.02)


class Writer(threading.Thread):
    def __init__(self, uri: str) -> None:
        super().__init__(daemon=True)
        self.client = MongoClient(uri, serverSelectionTimeoutMS=30000)
        self.stop_event = threading.Event()
        self.acknowledged: list[int] = []

    def run(self) -> None:
        coll = self.client.chaos.get_collection(
            "w", write_concern=WriteConcern(w="majority", wtimeout=15000))
        i = 0
        while not self.stop_event.is_set():
            try:
                coll.insert_one({"_id": i})
                self.acknowledged.append(i)
            except PyMongoError:
                pass
            i += 1
            time.sleep(0.01)


def one_run(seed: int, workdir: Path) -> RunResult:
    rng = random.Random(seed)
    specs = [MemberSpec(tags={"dc": "dc1"}, priority=2), MemberSpec(tags={"dc": "dc1"}),
             MemberSpec(tags={"dc": "dc2"})]
    cluster = ReplicaSetCluster(specs, set_name="chaos", root=workdir / f"run-{seed}",
                                settings=SETTINGS)
    started = time.monotonic()
    try:
        cluster.start()
        cluster.wait_ready(timeout=30)
        newcomers = [cluster.add_member(MemberSpec(tags={"dc": "dc3"})),
                     cluster.add_member(MemberSpec(tags={"dc": "dc3"}))]
        m0, m1, m2 = cluster.members[:3]
        desired = {"_id": "chaos", "version": 1, "members": [
            {"_id": 2, "host": m2.address, "tags": {"dc": "dc2"}},
            {"_id": 3, "host": newcomers[0].address, "tags": {"dc": "dc3"}, "priority": 2},
            {"_id": 4, "host": newcomers[1].address, "tags": {"dc": "dc3"}}],
            "settings": {**SETTINGS, "getLastErrorModes": {"multiDC": {"dc": 2}}}}
        seeds = [m.address for m in cluster.members]
        observer, writer = Observer(cluster), Writer(
            "mongodb://" + ",".join(seeds) + "/?replicaSet=chaos")
        observer.start()
        writer.start()

        target = rng.choice(cluster.members)
        fault = rng.choice(["kill9", "pause"])
        at = round(rng.uniform(0.5, 6.0), 2)
        pause_for = round(rng.uniform(0.5, 4.0), 2)
        result = RunResult(seed, fault, target.address, cluster.members.index(target), at,
                           first_apply="")

        def inject() -> None:
            time.sleep(at)
            if fault == "kill9":
                cluster.kill9(target)
            else:
                cluster.pause(target)
                time.sleep(pause_for)
                cluster.resume(target)

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
        first = apply(workdir, seeds, desired)
        injector.join()
        result.first_apply = "failed" if first.get("failed") else "completed"
        result.message = str(first.get("msg", ""))[:300]
        if first.get("failed") and (not result.message or "Traceback" in result.message):
            result.violations.append("the failed run gave no clear message")

        if fault == "kill9":  # heal: the killed member comes back with its data
            cluster.start_members([target])
        final = apply(workdir, seeds, desired)
        if final.get("failed"):  # one more try once the set has settled
            time.sleep(3)
            final = apply(workdir, seeds, desired)
        config = final.get("config") or {}
        result.converged = not final.get("failed") and sorted(
            m["host"] for m in config.get("members", [])) == sorted(
            m["host"] for m in desired["members"])
        if not result.converged:
            result.violations.append("the rerun did not converge: " +
                                     str(final.get("msg", ""))[:300])

        time.sleep(0.5)
        writer.stop_event.set()
        writer.join(timeout=30)
        observer.stop_event.set()
        observer.join(timeout=10)
        result.acknowledged = len(writer.acknowledged)
        primary = cluster.wait_for_primary(timeout=30)
        present = {d["_id"] for d in cluster.client(primary).chaos.w.find({}, {"_id": 1})}
        result.lost = len(set(writer.acknowledged) - present)
        if result.lost:
            result.violations.append(f"{result.lost} w:majority acknowledged writes lost")
        result.terms_with_two_primaries = sorted(
            t for t, hosts in observer.primaries.items() if len(hosts) > 1)
        if result.terms_with_two_primaries:
            result.violations.append("two primaries in one term")
        writer.client.close()
    finally:
        cluster.stop()
    result.seconds = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chaos runs of rs_config")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="first seed (random if absent)")
    parser.add_argument("--no-report", action="store_true", help="do not write bench/results")
    args = parser.parse_args(argv)
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    results = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        for seed in range(first, first + args.runs):
            result = one_run(seed, Path(tmp))
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
    violations = sum(len(r.violations) for r in results)
    if not args.no_report:
        _report(results, argv if argv is not None else sys.argv[1:])
    print(f"{len(results)} runs, {len(results)} faults injected, {violations} invariant violations")
    return 1 if violations else 0


def _report(results: list[RunResult], argv: list[str]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    command = "tests/chaos/chaos_runner.py " + " ".join(argv)
    (out / "chaos.json").write_text(json.dumps({"date": date, "command": command.strip(),
                                                "runs": [asdict(r) for r in results]}, indent=2)
                                    + "\n")
    lines = [f"# Chaos runs of rs_config ({date})", "", f"`{command.strip()}`", "",
             "| seed | fault | at s | first apply | rerun converged | w:majority acked | lost | "
             "violations |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.seed} | {r.fault} | {r.at_s} | {r.first_apply} | {r.converged} | "
                     f"{r.acknowledged} | {r.lost} | {'; '.join(r.violations) or 0} |")
    total = sum(len(r.violations) for r in results)
    lines += ["", f"{len(results)} runs, {len(results)} faults injected, {total} invariant "
              "violations.", ""]
    (out / "chaos.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
