"""Chaos runs: while quorum.mongodb changes a replica set, a random member (the primary
included) is killed (SIGKILL) or paused (SIGSTOP) at a random moment; the set is healed and
the invariants are checked:

* every write acknowledged with w:"majority" is on the final primary;
* no two members were primary in the same term (hello's electionId carries the term);
* the operation either completed or stopped with a clear message (no traceback);
* a rerun converges (the desired config, or every member healthy again).

Four operations (scenarios):

* rs_config: three members (dc1 x2, dc2) become dc2 + two new dc3 members with a write-concern
  mode: two voters added, two removed and the primary moved (tests/integration/files/
  rs_config_run.yml);
* rolling_resync: playbooks/rolling_resync.yml resyncs every member of a three-member set
  provisioned by playbooks/site.yml (secondaries first, the primary last after a stepdown); the
  rerun is the same playbook;
* rs_config_back_to_back (a drill): the rs_config change, then at once a second one (the
  preferred primary back to dc2, one dc3 member out of the vote); the rerun converges on the
  second and a rerun right after it changes nothing;
* force_reconfig: seven voters (dc1 x3, dc2 x2, dc3 x2) lose dc2 and dc3 and
  quorum.mongodb.rs_force_reconfig gives the three dc1 survivors a config of their own
  (tests/integration/files/force_reconfig_run.yml); a rerun must find that config (and refuse
  to force again) or apply it.

    .venv/bin/python tests/chaos/chaos_runner.py --runs 5 [--seed 1234] [--scenario rs_config]

Each run is reproducible from its scenario and seed (the fault's member, kind, moment and
duration; the machine's timing still varies). Every process is stopped by pid. Results:
bench/results/chaos.json and bench/results/chaos.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

from harness import ROOT, ProvisionedSet, run_recorded
from mongoemu.cluster import MemberSpec, ReplicaSetCluster, hello, state_from_hello

SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}
FILES = "tests/integration/files"


@dataclass
class RunResult:
    scenario: str
    seed: int
    fault: str
    target: str
    target_index: int
    at_s: float
    target_state: str = ""  # what the target was when the fault hit it
    first_run: str = ""
    message: str = ""
    converged: bool = False
    acknowledged: int = 0
    lost: int = 0
    terms_with_two_primaries: list[int] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Observer(threading.Thread):
    """Polls hello on every member: which member was primary in which term."""

    def __init__(self, members: list[Any]) -> None:
        super().__init__(daemon=True)
        self.members = members  # anything with .address and .paused
        self.stop_event = threading.Event()
        self.primaries: dict[int, set[str]] = {}

    def run(self) -> None:
        while not self.stop_event.is_set():
            for member in list(self.members):
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
    """Inserts _id 0, 1, 2... with w:"majority"; keeps the acknowledged ones."""

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


@dataclass
class Fault:
    """What a seed decides: which member (by index), how, when, and for how long a pause."""
    kind: str
    index: int
    at: float
    pause_for: float

    @classmethod
    def draw(cls, rng: random.Random, members: int, window: tuple[float, float]) -> "Fault":
        index = rng.randrange(members)
        kind = rng.choice(["kill9", "pause"])
        return cls(kind, index, round(rng.uniform(*window), 2), round(rng.uniform(0.5, 4.0), 2))


class Scenario:
    """One operation under chaos. Subclasses set up a set, run the operation, heal the set
    and rerun; the runner injects the fault and checks the invariants."""

    name = ""
    window = (0.5, 6.0)  # seconds after the operation starts
    uri = ""
    members: list[Any] = []

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def setup(self) -> None:
        """Start the set (self.members, self.uri)."""

    def fault_candidates(self) -> list[Any]:
        return self.members

    def start_operation(self) -> None:
        """What happens once the writer runs, before the operation (a datacenter is lost)."""

    def operate(self) -> dict[str, Any]:
        """Run the operation; its result ("failed", "msg")."""
        raise NotImplementedError

    def kill9(self, member: Any) -> None:
        """SIGKILL the member, if it runs."""

    def pause(self, member: Any) -> Callable[[], None]:
        """SIGSTOP the member, if it runs; returns what resumes it."""
        raise NotImplementedError

    def heal(self, fault: Fault, target: Any) -> None:
        """Bring back what the fault or the interrupted operation left down."""

    def rerun(self) -> tuple[bool, str]:
        """Run the operation again: (converged, message)."""
        raise NotImplementedError

    def state(self, member: Any) -> str:
        """PRIMARY, SECONDARY, OTHER or DOWN."""
        raise NotImplementedError

    def final_ids(self) -> set[int]:
        """The writer's _ids on the final primary."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Stop every member by pid."""


class ClusterScenario(Scenario):
    """A set of mongoemu.cluster members (no Ansible provisioning)."""

    specs: list[MemberSpec] = []
    cluster: ReplicaSetCluster

    def setup(self) -> None:
        self.cluster = ReplicaSetCluster(self.specs, set_name=self.name.replace("_", ""),
                                         root=self.workdir / "set", settings=SETTINGS)
        self.cluster.start()
        self.cluster.wait_ready(timeout=30)
        self.members = self.cluster.members
        self.uri = ("mongodb://" + ",".join(m.address for m in self.members)
                    + f"/?replicaSet={self.cluster.set_name}")

    def kill9(self, member: Any) -> None:
        if member.running:
            self.cluster.kill9(member)

    def pause(self, member: Any) -> Callable[[], None]:
        if not member.running:
            return lambda: None
        self.cluster.pause(member)
        return lambda: self.cluster.resume(member)

    def heal(self, fault: Fault, target: Any) -> None:
        if fault.kind == "kill9":  # the killed member comes back with its data
            self.cluster.start_members([target])

    def state(self, member: Any) -> str:
        try:
            return state_from_hello(hello(member.address, timeout=0.5))
        except OSError:
            return "DOWN"

    def final_ids(self) -> set[int]:
        primary = self.cluster.wait_for_primary(timeout=30)
        return {d["_id"] for d in self.cluster.client(primary).chaos.w.find({}, {"_id": 1})}

    def teardown(self) -> None:
        self.cluster.stop()

    def _converged(self, result: dict[str, Any], hosts: list[str]) -> bool:
        config = result.get("config") or {}
        return sorted(m["host"] for m in config.get("members", [])) == sorted(hosts)


class RsConfig(ClusterScenario):
    name = "rs_config"
    specs = [MemberSpec(tags={"dc": "dc1"}, priority=2), MemberSpec(tags={"dc": "dc1"}),
             MemberSpec(tags={"dc": "dc2"})]

    def setup(self) -> None:
        super().setup()
        newcomers = [self.cluster.add_member(MemberSpec(tags={"dc": "dc3"})),
                     self.cluster.add_member(MemberSpec(tags={"dc": "dc3"}))]
        m2 = self.members[2]
        self.desired = {"_id": self.cluster.set_name, "version": 1, "members": [
            {"_id": 2, "host": m2.address, "tags": {"dc": "dc2"}},
            {"_id": 3, "host": newcomers[0].address, "tags": {"dc": "dc3"}, "priority": 2},
            {"_id": 4, "host": newcomers[1].address, "tags": {"dc": "dc3"}}],
            "settings": {**SETTINGS, "getLastErrorModes": {"multiDC": {"dc": 2}}}}
        self.seeds = [m.address for m in self.members]

    def operate(self) -> dict[str, Any]:
        return run_recorded(f"{FILES}/rs_config_run.yml",
                            {"seeds": self.seeds, "desired": self.desired}, self.workdir)

    def rerun(self) -> tuple[bool, str]:
        final = self.operate()
        if final.get("failed"):  # one more try once the set has settled
            time.sleep(3)
            final = self.operate()
        hosts = [m["host"] for m in self.desired["members"]]
        return (not final.get("failed") and self._converged(final, hosts),
                str(final.get("msg", "")))


class RsConfigBackToBack(RsConfig):
    """A drill (issue 12): the rs_config change, and right after it returns - while the members it
    added may still be catching up (newlyAdded) - a second change that moves the preferred primary
    back to dc2 and takes dc3's second member out of the vote; the fault may hit during either.
    The rerun must converge on the second config and then report no change."""

    name = "rs_config_back_to_back"
    window = (0.5, 10.0)

    def setup(self) -> None:
        super().setup()
        second = [dict(m) for m in self.desired["members"]]
        second[0]["priority"] = 3  # dc2 is preferred again
        second[2].update(votes=0, priority=0)  # one voter fewer: 2 of 3 left, majority 2
        self.second = dict(self.desired, members=second)

    def _apply(self, desired: dict[str, Any]) -> dict[str, Any]:
        return run_recorded(f"{FILES}/rs_config_run.yml", {"seeds": self.seeds, "desired": desired}, self.workdir)

    def operate(self) -> dict[str, Any]:
        first = self._apply(self.desired)
        if first.get("failed"):
            return first
        return self._apply(self.second)

    def rerun(self) -> tuple[bool, str]:
        final = self._apply(self.second)
        if final.get("failed"):  # one more try once the set has settled
            time.sleep(3)
            final = self._apply(self.second)
        if final.get("failed"):
            return False, str(final.get("msg", ""))
        config = final.get("config") or {}
        live = dict((m["host"], (m.get("votes", 1), m.get("priority", 1))) for m in config.get("members", []))
        wanted = dict((m["host"], (m.get("votes", 1), m.get("priority", 1))) for m in self.second["members"])
        if live != wanted:
            return False, "live members %s, wanted %s" % (live, wanted)
        again = self._apply(self.second)  # right after converging: nothing left to do
        if again.get("failed") or again.get("changed"):
            return False, "the rerun right after converging was not a no-op: %s" % (again.get("msg") or again.get("plan"))
        return True, ""


class ForceReconfig(ClusterScenario):
    name = "force_reconfig"
    window = (0.2, 10.0)
    specs = ([MemberSpec(tags={"dc": "dc1"}, priority=2)]
             + [MemberSpec(tags={"dc": "dc1"}), MemberSpec(tags={"dc": "dc1"})]
             + [MemberSpec(tags={"dc": dc}) for dc in ("dc2", "dc2", "dc3", "dc3")])

    def setup(self) -> None:
        super().setup()
        self.survivors = self.members[:3]

    def fault_candidates(self) -> list[Any]:
        return self.survivors

    def start_operation(self) -> None:
        """dc2 and dc3 are lost (four of seven voters); wait until no survivor is primary."""
        for member in self.members[3:]:
            self.cluster.kill9(member)
        deadline = time.monotonic() + 30
        while self.cluster.primary() is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    def operate(self) -> dict[str, Any]:
        seeds = [m.address for m in self.survivors]
        return run_recorded(f"{FILES}/force_reconfig_run.yml",
                            {"seeds": seeds, "set_name": self.cluster.set_name,
                             "survivors": seeds}, self.workdir)

    def rerun(self) -> tuple[bool, str]:
        """Converged: the survivors' config is live with a primary, whether the rerun forced
        it or refused because the set can already write."""
        final = self.operate()
        primary = self.cluster.wait_for_primary(timeout=30)
        config = self.cluster.client(primary).admin.command("replSetGetConfig")["config"]
        hosts = [m.address for m in self.survivors]
        return self._converged({"config": config}, hosts), str(final.get("msg", ""))


class RollingResync(Scenario):
    name = "rolling_resync"
    window = (0.5, 25.0)
    MEMBERS = [("db1", "dc1", 2), ("db2", "dc2", 1), ("db3", "dc3", 1)]
    BOUNDS = ["-e", "resync_sync_timeout=45", "-e", "resync_lag_timeout=20",
              "-e", "resync_step_down_timeout=30", "-e", "resync_step_down_seconds=10",
              "-e", "resync_durable_timeout=20"]

    def setup(self) -> None:
        self.rs = ProvisionedSet(self.workdir / "set", "chaosresync", self.MEMBERS, SETTINGS)
        self.members = self.rs.members
        self.uri = self.rs.uri
        self.rs.provision()
        with MongoClient(self.uri, serverSelectionTimeoutMS=30000) as client:
            client.chaos.data.insert_many([{"i": i, "pad": "x" * 200} for i in range(500)])

    def _resync(self) -> dict[str, Any]:
        proc = self.rs.playbook("playbooks/rolling_resync.yml", "-e", "replset=chaosresync",
                                "-e", "resync_members=all", "-e", "resync_delete_data=true",
                                *self.BOUNDS)
        if proc.returncode == 0:
            return {"changed": True}
        fatal = [line for line in proc.stdout.splitlines() if line.startswith("fatal:")]
        return {"failed": True, "msg": "\n".join(fatal[-2:]) or proc.stdout[-1500:]}

    def operate(self) -> dict[str, Any]:
        return self._resync()

    def kill9(self, member: Any) -> None:
        self.rs.kill9(member)

    def pause(self, member: Any) -> Callable[[], None]:
        pid = self.rs.pause(member)
        return lambda: self.rs.resume(member, pid)

    def heal(self, fault: Fault, target: Any) -> None:
        """Whatever does not run is started again (a member stopped by the interrupted
        playbook too), with its data when it still has any."""
        for member in self.members:
            if member.pid() is None:
                self.rs.start(member)

    def rerun(self) -> tuple[bool, str]:
        final = self._resync()
        healthy = sorted(self.rs.state(m) for m in self.members)
        ok = not final.get("failed") and healthy == ["PRIMARY", "SECONDARY", "SECONDARY"]
        return ok, final.get("msg", "") or f"states {healthy}"

    def state(self, member: Any) -> str:
        return self.rs.state(member)

    def final_ids(self) -> set[int]:
        with MongoClient(self.uri, serverSelectionTimeoutMS=30000) as client:
            return {d["_id"] for d in client.chaos.w.find({}, {"_id": 1})}

    def teardown(self) -> None:
        self.rs.stop()


def clear_message(message: str) -> bool:
    """Not empty, and not a module crash (a traceback; ansible-core 2.19 shows an exception
    in a module as "Module failed: <exception text>", older versions as MODULE FAILURE)."""
    return bool(message.strip()) and not any(
        crash in message for crash in ("Traceback", "Module failed:", "MODULE FAILURE"))


SCENARIOS: dict[str, type[Scenario]] = {
    s.name: s for s in (RsConfig, RollingResync, ForceReconfig, RsConfigBackToBack)}


def one_run(scenario_name: str, seed: int, workdir: Path) -> RunResult:
    rng = random.Random(seed)
    scenario = SCENARIOS[scenario_name](workdir / f"{scenario_name}-{seed}")
    scenario.workdir.mkdir(parents=True)
    started = time.monotonic()
    try:
        scenario.setup()
        candidates = scenario.fault_candidates()
        fault = Fault.draw(rng, len(candidates), scenario.window)
        target = candidates[fault.index]
        result = RunResult(scenario_name, seed, fault.kind, target.address, fault.index,
                           fault.at)
        observer, writer = Observer(scenario.members), Writer(scenario.uri)
        observer.start()
        writer.start()
        scenario.start_operation()

        def inject() -> None:
            time.sleep(fault.at)
            result.target_state = scenario.state(target)
            if fault.kind == "kill9":
                scenario.kill9(target)
            else:
                resume = scenario.pause(target)
                time.sleep(fault.pause_for)
                resume()

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
        first = scenario.operate()
        injector.join()
        result.first_run = "failed" if first.get("failed") else "completed"
        result.message = str(first.get("msg", ""))[:300]
        if first.get("failed") and not clear_message(result.message):
            result.violations.append("the failed run gave no clear message")

        scenario.heal(fault, target)
        result.converged, message = scenario.rerun()
        if not result.converged:
            result.violations.append("the rerun did not converge: " + message[:300])

        time.sleep(0.5)
        writer.stop_event.set()
        writer.join(timeout=30)
        observer.stop_event.set()
        observer.join(timeout=10)
        result.acknowledged = len(writer.acknowledged)
        result.lost = len(set(writer.acknowledged) - scenario.final_ids())
        if result.lost:
            result.violations.append(f"{result.lost} w:majority acknowledged writes lost")
        result.terms_with_two_primaries = sorted(
            t for t, hosts in observer.primaries.items() if len(hosts) > 1)
        if result.terms_with_two_primaries:
            result.violations.append("two primaries in one term")
        writer.client.close()
    finally:
        scenario.teardown()
    result.seconds = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chaos runs of quorum.mongodb operations")
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario")
    parser.add_argument("--seed", type=int, default=None, help="first seed (random if absent)")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="repeatable; every scenario if absent")
    parser.add_argument("--no-report", action="store_true", help="do not write bench/results")
    args = parser.parse_args(argv)
    first = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    results = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        for name in args.scenario or list(SCENARIOS):
            for seed in range(first, first + args.runs):
                result = one_run(name, seed, Path(tmp))
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
    command = ("tests/chaos/chaos_runner.py " + " ".join(argv)).strip()
    (out / "chaos.json").write_text(json.dumps({"date": date, "command": command,
                                                "runs": [asdict(r) for r in results]}, indent=2)
                                    + "\n")
    lines = [f"# Chaos runs ({date})", "", f"`.venv/bin/python {command}`", "",
             "| scenario | runs | kill -9 | SIGSTOP | fault hit the primary | first run "
             "completed / stopped | rerun converged | w:majority acked | lost | violations |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in SCENARIOS:
        rows = [r for r in results if r.scenario == name]
        if not rows:
            continue
        lines.append(
            f"| {name} | {len(rows)} | {sum(r.fault == 'kill9' for r in rows)} | "
            f"{sum(r.fault == 'pause' for r in rows)} | "
            f"{sum(r.target_state == 'PRIMARY' for r in rows)} | "
            f"{sum(r.first_run == 'completed' for r in rows)} / "
            f"{sum(r.first_run == 'failed' for r in rows)} | "
            f"{sum(r.converged for r in rows)} | {sum(r.acknowledged for r in rows)} | "
            f"{sum(r.lost for r in rows)} | {sum(len(r.violations) for r in rows)} |")
    lines += ["", "Every run:", "",
              "| scenario | seed | fault | target was | at s | first run | message | "
              "rerun converged | acked | lost | violations | s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        message = r.message.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| {r.scenario} | {r.seed} | {r.fault} | {r.target_state} | {r.at_s} | "
                     f"{r.first_run} | {message} | {r.converged} | {r.acknowledged} | "
                     f"{r.lost} | {'; '.join(r.violations) or 0} | {r.seconds} |")
    total = sum(len(r.violations) for r in results)
    lines += ["", f"{len(results)} runs, {len(results)} faults injected, {total} invariant "
              "violations.", ""]
    (out / "chaos.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
