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
import subprocess
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
from emuharness import fill_filesystem, mount_tmpfs, unmount  # noqa: E402 - on the path harness sets
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
    checks: dict[str, Any] = field(default_factory=dict)  # a drill's own figures


class Observer(threading.Thread):
    """Polls hello on every member: which member was primary in which term."""

    def __init__(self, members: list[Any]) -> None:
        super().__init__(daemon=True)
        self.members = members  # anything with .address and .paused
        self.stop_event = threading.Event()
        self.primaries: dict[int, set[str]] = {}
        self.first_seen: dict[int, float] = {}  # term -> monotonic time its primary was first seen
        # (time, members answering PRIMARY or SECONDARY) after each pass over the members
        self.healthy: list[tuple[float, int]] = []

    def run(self) -> None:
        while not self.stop_event.is_set():
            healthy = 0
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
                    self.first_seen.setdefault(term, time.monotonic())
                healthy += state_from_hello(reply) in ("PRIMARY", "SECONDARY")
            self.healthy.append((time.monotonic(), healthy))
            time.sleep(0.02)

    def fewest_healthy(self, start: float, end: float) -> int | None:
        """The fewest members answering PRIMARY or SECONDARY in one pass between start and end."""
        counts = [n for t, n in self.healthy if start <= t <= end]
        return min(counts) if counts else None


class Writer(threading.Thread):
    """Inserts _id 0, 1, 2... with w:"majority"; keeps the acknowledged ones."""

    def __init__(self, uri: str) -> None:
        super().__init__(daemon=True)
        self.client = MongoClient(uri, serverSelectionTimeoutMS=30000)
        self.stop_event = threading.Event()
        self.acknowledged: list[int] = []
        self.acked_at: dict[int, float] = {}  # _id -> wall-clock time of the acknowledgement
        self.acked_mono: dict[int, float] = {}  # the same on the monotonic clock

    def run(self) -> None:
        coll = self.client.chaos.get_collection(
            "w", write_concern=WriteConcern(w="majority", wtimeout=15000))
        i = 0
        while not self.stop_event.is_set():
            try:
                coll.insert_one({"_id": i})
                self.acked_at[i], self.acked_mono[i] = time.time(), time.monotonic()
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
    writer: "Writer"  # set by one_run before start_operation
    # a drill's own invariant and the mongod source that decides it (the report lists them)
    invariant = ""
    mongod_source = ""
    # acknowledged writes may be lost (no member left holds them): the drill's check judges them
    loss_is_expected = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.rng = random.Random(0)  # one_run gives it the run's generator once the fault is drawn
        self.window_s = (0.0, 0.0)  # monotonic start and end of the first run

    def draw_fault(self, rng: random.Random, candidates: list[Any]) -> Fault:
        return Fault.draw(rng, len(candidates), self.window)

    def inject(self, fault: Fault, target: Any) -> None:
        """At fault.at seconds into the operation: kill -9 the target, or pause it for a while."""
        if fault.kind == "kill9":
            self.kill9(target)
        else:
            resume = self.pause(target)
            time.sleep(fault.pause_for)
            resume()

    def after_first_run(self, first: dict[str, Any]) -> None:
        """Right after the first run, before the set is healed: read what it left."""

    def check(self, first: dict[str, Any], writer: "Writer", observer: Observer,
              result: RunResult) -> list[str]:
        """The drill's own invariants, once the writer stopped; figures go to result.checks."""
        return []

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

    def holders(self, ids: list[int]) -> dict[str, Any]:
        """Which of ids each running member holds (to explain a loss); empty when unknown."""
        return {}

    def teardown(self) -> None:
        """Stop every member by pid."""


class ClusterScenario(Scenario):
    """A set of mongoemu.cluster members (no Ansible provisioning)."""

    specs: list[MemberSpec] = []
    cluster_options: dict[str, Any] = {}  # ReplicaSetCluster's (auth, key_file, credentials)
    settings = SETTINGS
    cluster: ReplicaSetCluster

    def setup(self) -> None:
        self.cluster = ReplicaSetCluster(self.specs, set_name=self.name.replace("_", ""),
                                         root=self.workdir / "set", settings=self.settings,
                                         **self.cluster_options)
        self.cluster.start()
        self.cluster.wait_ready(timeout=30)
        self.members = self.cluster.members
        login = "%s:%s@" % self.cluster.credentials if self.cluster.credentials else ""
        self.uri = ("mongodb://" + login + ",".join(m.address for m in self.members)
                    + f"/?replicaSet={self.cluster.set_name}" + ("&authSource=admin" if login else ""))

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

    def holders(self, ids: list[int]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for member in self.members:
            if not member.running or member.paused:
                continue
            try:
                docs = self.cluster.client(member).chaos.w.find({"_id": {"$in": ids}}, {"_id": 1})
                found[member.address] = sorted(d["_id"] for d in docs)
            except PyMongoError as exc:
                found[member.address] = [f"unreadable: {exc}"[:80]]
        return found

    def teardown(self) -> None:
        self.cluster.stop()

    def _converged(self, result: dict[str, Any], hosts: list[str]) -> bool:
        config = result.get("config") or {}
        return sorted(m["host"] for m in config.get("members", [])) == sorted(hosts)

    def live_config(self) -> dict[str, Any] | None:
        """The newest config a running member holds (replSetGetConfig answers on any member)."""
        newest = None
        for member in self.members:
            if not member.running or member.paused or member.spec.arbiter_only:
                continue  # an arbiter holds no users: no login to it (drill arbiter_auth)
            try:
                with self.cluster.client(member, serverSelectionTimeoutMS=2000) as client:
                    config = client.admin.command("replSetGetConfig")["config"]
            except PyMongoError:
                continue
            if newest is None or (config.get("term", -1), config["version"]) > (
                    newest.get("term", -1), newest["version"]):
                newest = config
        return newest


def config_shape(config: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a reconfig changes of each member (host, votes, priority, arbiter, hidden), without
    the version, the term and newlyAdded (mongod removes that itself once the member caught up:
    replication_coordinator_impl.cpp, ReplicationCoordinatorImpl::_removeNewlyAddedField)."""
    return sorted((m["host"], int(m.get("votes", 1)), float(m.get("priority", 1)),
                   bool(m.get("arbiterOnly", False)), bool(m.get("hidden", False)))
                  for m in config.get("members", []))


class HalfAppliedCheck:
    """A drill invariant for rs_config runs: a run that stopped left the set in a config of its
    plan (the one it started from, or one step's), never a mix. mongod installs each
    replSetReconfig whole or not at all (repl_set_commands.cpp, CmdReplSetReconfig::run ->
    ReplicationCoordinatorImpl::processReplSetReconfig), so a half-applied change could only
    come from the plan itself (a step that is not one of its configs)."""

    invariant = "a plan that stops leaves the config it started from or one step's config, nothing half-applied"
    mongod_source = ("src/mongo/db/repl/replication_coordinator_impl.cpp, "
                     "ReplicationCoordinatorImpl::processReplSetReconfig (one config, installed whole)")
    starting_configs: list[dict[str, Any]]
    left_config: dict[str, Any] | None = None

    def after_first_run(self, first: dict[str, Any]) -> None:
        if first.get("failed"):
            self.left_config = self.live_config()  # type: ignore[attr-defined]

    def check(self, first: dict[str, Any], writer: "Writer", observer: Observer,
              result: RunResult) -> list[str]:
        steps = [s["config"] for s in (first.get("plan") or {}).get("steps", [])]
        result.checks["plan_steps"] = len(steps)
        if not first.get("failed"):
            return []
        if self.left_config is None:
            return ["no member answered replSetGetConfig after the run stopped"]
        allowed = [config_shape(c) for c in
                   [*self.starting_configs, first.get("config_before") or {}, *steps] if c]
        left = config_shape(self.left_config)
        result.checks["stopped_at"] = (["start"] * len(self.starting_configs) + ["before"]
                                       + ["step %d" % (n + 1) for n in range(len(steps))])[
            allowed.index(left)] if left in allowed else "none"
        if left in allowed:
            return []
        return ["the stopped run left a config that is none of its plan's: %s" % (left,)]


class RsConfig(HalfAppliedCheck, ClusterScenario):
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
        self.starting_configs = [self.live_config() or {}, self.desired]

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
    invariant = ("the rerun converges on the second config and a rerun right after it reports changed=false; "
                 "a plan that stops leaves the config it started from or one step's config, nothing half-applied")

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

# -- drills (issue 12): each states its invariant and the mongod source that decides it ----------


class LaggingSurvivors(ForceReconfig):
    """dc1's three survivors lag: a seeded number of them (1-3) is frozen (SIGSTOP) for a seeded
    time while dc2 and dc3 acknowledge w:"majority" writes; then dc2 and dc3 are lost and the
    frozen ones resume, and rs_force_reconfig gives dc1 a config of its own. When every survivor
    was frozen, the writes of the freeze are on no survivor: they are lost, and the report must
    say so. Checked against the writer: every acknowledged write that is not on the final primary
    was acknowledged after the span start the report gives."""

    name = "lagging_survivors"
    invariant = ("only writes acknowledged while every survivor lagged are lost, and the forced reconfig's "
                 "loss report never understates them: each was acknowledged after the span start it reports; "
                 "the report states the fault tolerance left and the next step")
    mongod_source = ("src/mongo/db/repl/topology_coordinator.cpp, TopologyCoordinator::prepareStatusResponse, "
                     "and src/mongo/db/repl/member_data.cpp, MemberData::setDownValues (a survivor keeps a lost "
                     "member's lastAppliedWallTime and lastHeartbeatRecv, clears its optime)")
    specs = ([MemberSpec(tags={"dc": "dc1"}) for dummy in range(3)]
             + [MemberSpec(tags={"dc": "dc2"}, priority=2), MemberSpec(tags={"dc": "dc2"})]
             + [MemberSpec(tags={"dc": "dc3"}), MemberSpec(tags={"dc": "dc3"})])
    # every secondary syncs from the primary: a frozen survivor is no member's sync source, so the
    # four others go on acknowledging w:"majority" writes (4 of 7) through the whole freeze
    settings = {**SETTINGS, "chainingAllowed": False}
    loss_is_expected = True  # the writes of the freeze are on no survivor

    def draw_fault(self, rng: random.Random, candidates: list[Any]) -> Fault:
        self.frozen = sorted(rng.sample(range(len(candidates)), rng.randint(1, len(candidates))))
        self.fault = Fault("freeze", self.frozen[0], 0.0, round(rng.uniform(1.0, 4.0), 2))
        return self.fault

    def start_operation(self) -> None:
        """Once the writer's writes are acknowledged: freeze, write on, lose dc2 and dc3, resume;
        wait until no survivor is primary."""
        self.cluster.wait_ready(timeout=30)
        deadline = time.monotonic() + 30  # dc2's priority-2 member takes over, the writer follows
        while self.cluster.primary() != self.members[3].address and time.monotonic() < deadline:
            time.sleep(0.05)
        acknowledged = len(self.writer.acknowledged)
        while len(self.writer.acknowledged) < acknowledged + 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        frozen = [self.survivors[i] for i in self.frozen]
        for member in frozen:
            self.cluster.pause(member)
        self.frozen_at = time.time()
        time.sleep(self.fault.pause_for)  # the seeded freeze: dc2 and dc3 go on acknowledging
        self.lost_at = time.time()
        for member in self.members[3:]:
            self.cluster.kill9(member)
        for member in frozen:
            self.cluster.resume(member)
        deadline = time.monotonic() + 30
        while self.cluster.primary() is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    def inject(self, fault: Fault, target: Any) -> None:
        """The freeze and the loss were the fault (start_operation)."""

    def check(self, first: dict[str, Any], writer: "Writer", observer: Observer,
              result: RunResult) -> list[str]:
        plan = first.get("plan") or {}
        loss, report = plan.get("loss") or {}, plan.get("report") or []
        lost = sorted(set(writer.acknowledged) - self.final_ids())
        result.checks.update(frozen=len(self.frozen), frozen_s=self.fault.pause_for, lost=len(lost),
                             acked_while_frozen=sum(self.frozen_at <= t <= self.lost_at
                                                    for t in writer.acked_at.values()),
                             reported_span_s=loss.get("span_seconds"))
        if first.get("failed"):  # every survivor answers: nothing stands in the way
            return ["the forced reconfig failed: %s" % str(first.get("msg", ""))[:300]]
        violations = []
        if lost and len(self.frozen) < len(self.survivors):
            violations.append("a survivor was never frozen and held every write, yet %d are lost" % len(lost))
        before = [i for i in lost if writer.acked_at[i] < self.frozen_at]
        if before:
            violations.append("%d writes acknowledged before the survivors froze are lost" % len(before))
        if lost:
            earliest = min(writer.acked_at[i] for i in lost)
            if not loss.get("span_start"):
                violations.append("%d acknowledged writes lost, the report gives no span" % len(lost))
            else:
                start = datetime.datetime.fromisoformat(loss["span_start"].replace("Z", "+00:00")).timestamp()
                result.checks["margin_s"] = round(earliest - start, 3)
                if earliest < start:
                    violations.append("the loss report understates: write acknowledged at %s is lost, the report's "
                                      "span starts %s" % (_iso(earliest), loss["span_start"]))
        for line in ("fault tolerance now: ", "next step: "):
            if not any(r.startswith(line) for r in report):
                violations.append("the report has no %r line" % line.strip(": "))
        return violations


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="milliseconds")


ARBITER_KEY = "chaosArbiterAuthKey0123456789abcdefghijklmnopqrstuv"
ARBITER_ADMIN = ("chaos-admin", "chaos-admin-password")


class ArbiterAuth(RsConfig):
    """A data, data, arbiter set with authorization (keyFile, --auth, an administrator): rs_config
    moves the preferred primary from dc1 to dc2, rs_status reads the set and rs_resync_check is asked
    about the arbiter, all with credentials and the arbiter first among the seeds, while a member
    is killed or paused. An arbiter holds no users, so a login to it fails; the
    collection must send it nothing but hello, and report it as ARBITER. What the collection sent
    is recorded by a pymongo command listener in every Python process of the run
    (tests/chaos/command_log); login attempts show in the arbiter's log (ids 5286306/5286307; the
    other members' __system logins with the keyFile are their heartbeats)."""

    name = "arbiter_auth"
    invariant = ("under auth the collection sends an arbiter only hello (no login, no other command) and "
                 "rs_status reports it as ARBITER; a stopped plan leaves one of its configs")
    mongod_source = ("src/mongo/db/repl/replication_info.cpp, CmdHello::requiresAuth (false: hello needs no "
                     "login); src/mongo/db/repl/replication_coordinator_impl.cpp, "
                     "ReplicationCoordinatorImpl::_startDataReplication (never started on an arbiter: it "
                     "holds no users)")
    specs = [MemberSpec(tags={"dc": "dc1"}, priority=2), MemberSpec(tags={"dc": "dc2"}),
             MemberSpec(arbiter_only=True)]  # mongod refuses tags on an arbiter
    cluster_options = {"auth": True, "key_file": ARBITER_KEY, "credentials": ARBITER_ADMIN}
    HELLO = frozenset({"hello", "isMaster", "ismaster"})

    def setup(self) -> None:
        ClusterScenario.setup(self)
        self.arbiter = self.members[2]
        d0, d1 = self.members[:2]
        self.desired = {"_id": self.cluster.set_name, "version": 1, "members": [
            {"_id": 0, "host": d0.address, "tags": {"dc": "dc1"}},
            {"_id": 1, "host": d1.address, "tags": {"dc": "dc2"}, "priority": 2},
            {"_id": 2, "host": self.arbiter.address, "arbiterOnly": True}],
            "settings": SETTINGS}
        self.seeds = [self.arbiter.address, d0.address, d1.address]  # the arbiter first
        self.commands = self.workdir / "commands.jsonl"
        self.starting_configs = [self.live_config() or {}, self.desired]
        self.last_status: dict[str, Any] = {}

    def operate(self) -> dict[str, Any]:
        return run_recorded("tests/chaos/files/arbiter_auth_run.yml", {
            "seeds": self.seeds, "desired": self.desired, "arbiter": self.arbiter.address,
            "login_user": ARBITER_ADMIN[0],
            "login_password": ARBITER_ADMIN[1]}, self.workdir, env={
            "PYTHONPATH": str(ROOT / "tests" / "chaos" / "command_log"),
            "QUORUM_CHAOS_COMMAND_LOG": str(self.commands)})

    def rerun(self) -> tuple[bool, str]:
        final = self.operate()
        if final.get("failed"):  # one more try once the set has settled
            time.sleep(3)
            final = self.operate()
        self.last_status = final.get("status_result") or {}
        hosts = [m["host"] for m in self.desired["members"]]
        return (not final.get("failed") and self._converged(final, hosts),
                str(final.get("msg", "")))

    def check(self, first: dict[str, Any], writer: "Writer", observer: Observer,
              result: RunResult) -> list[str]:
        violations = super().check(first, writer, observer, result)
        sent = [json.loads(line) for line in self.commands.read_text().splitlines()] \
            if self.commands.exists() else []
        to_arbiter = [c["command"] for c in sent if c["address"] == self.arbiter.address]
        result.checks.update(commands=len(sent), commands_to_arbiter=len(to_arbiter))
        if not sent:
            violations.append("no command recorded: the command listener did not run")
        others = sorted(set(to_arbiter) - self.HELLO)
        if others:
            violations.append("the arbiter was sent %s, not only hello" % ", ".join(others))
        # the other members log in as __system with the keyFile (heartbeats): mongod's own
        logins = [e for e in self.arbiter.log_entries() if e.get("id") in (5286306, 5286307)
                  and (e.get("attr") or {}).get("user") != "__system"]
        if logins:
            violations.append("%d login attempts in the arbiter's log, as %s" % (
                len(logins), sorted({str((e.get("attr") or {}).get("user")) for e in logins})))
        check = first.get("resync_check_result") or {}
        refusal = " ".join(check.get("reasons") or [])
        result.checks["resync_check"] = refusal[:80]
        if check.get("failed") or check.get("allowed") or "is an arbiter" not in refusal:
            violations.append("rs_resync_check did not answer that the arbiter has nothing to resync: %s"
                              % (refusal or check.get("msg", ""))[:300])
        reported = [m for m in self.last_status.get("members", []) if m.get("host") == self.arbiter.address]
        result.checks["arbiter_reported"] = reported[0].get("state_str") if reported else None
        if not reported or reported[0].get("state_str") != "ARBITER" or not reported[0].get("arbiter"):
            violations.append("rs_status did not report the arbiter as ARBITER: %s" % (reported or self.last_status.get("msg")))
        return violations


class ResyncMajority(RollingResync):
    """A member of the three is down (killed, or paused: it does not answer) when
    rolling_resync.yml starts resyncing every member: resyncing another one would leave a single
    member, no majority. The playbook must stop before that, saying why; once the member is back a
    rerun resyncs all three."""

    name = "resync_majority"
    invariant = ("rolling_resync.yml never takes a member down while another is down: at least 2 of the 3 "
                 "members answer PRIMARY or SECONDARY throughout the run")
    mongod_source = ("src/mongo/db/repl/repl_set_config.cpp, ReplSetConfig::_calculateMajorities (elections need "
                     "voters / 2 + 1 votes, w:'majority' that many data-bearing voters)")

    def draw_fault(self, rng: random.Random, candidates: list[Any]) -> Fault:
        self.fault = Fault(rng.choice(["kill9", "pause"]), rng.randrange(len(candidates)), 0.0, 0.0)
        return self.fault

    def start_operation(self) -> None:
        self.down = self.members[self.fault.index]
        if self.fault.kind == "kill9":
            self.rs.kill9(self.down)
            self.resume = lambda: None
        else:
            pid = self.rs.pause(self.down)
            self.resume = lambda: self.rs.resume(self.down, pid)

    def inject(self, fault: Fault, target: Any) -> None:
        """The member went down before the run (start_operation)."""

    def heal(self, fault: Fault, target: Any) -> None:
        self.resume()
        super().heal(fault, target)

    def check(self, first: dict[str, Any], writer: "Writer", observer: Observer,
              result: RunResult) -> list[str]:
        fewest = observer.fewest_healthy(*self.window_s)
        result.checks["fewest_healthy"] = fewest
        if fewest is not None and fewest < 2:
            return ["only %d member(s) answered PRIMARY or SECONDARY during the run" % fewest]
        return []


class DiskFull(Scenario):
    """Each member's dbPath is a small tmpfs of its own; a seeded moment into the run, one
    member's fills up. That member stops (mongod aborts, mongoemu too); the others keep or elect a
    primary. The operator's look: status.yml must show the member as not healthy, and site.yml -
    the playbook that starts members - must fail naming the cause while the disk is still full.
    Once the filler is removed, site.yml brings the member back."""

    name = "disk_full"
    window = (0.5, 3.0)
    MEMBERS = [("db1", "dc1", 2), ("db2", "dc2", 1), ("db3", "dc3", 1)]
    TMPFS_MB = 48
    invariant = ("a member whose dbPath fills stops; the set keeps or elects a primary within 30 s; status.yml "
                 "shows the member not healthy; site.yml fails naming the full disk; after space is freed "
                 "site.yml brings it back")
    mongod_source = ("src/mongo/db/storage/wiredtiger/wiredtiger_util.cpp, mdb_handle_error_with_startup_suppression "
                     "(WT_PANIC on a failed write: fassert 50853, the process aborts)")

    def setup(self) -> None:
        self.rs = ProvisionedSet(self.workdir / "set", "chaosdisk", self.MEMBERS, SETTINGS)
        self.members, self.uri = self.rs.members, self.rs.uri
        self.mounts: list[Path] = []
        for member in self.members:
            dbpath = member.base_dir / "data"
            mount_tmpfs(dbpath, self.TMPFS_MB, f"quorum-chaos-{member.name}")
            self.mounts.append(dbpath)
        self.rs.provision()
        self.report: dict[str, Any] = {}

    def draw_fault(self, rng: random.Random, candidates: list[Any]) -> Fault:
        self.fault = Fault("disk_full", rng.randrange(len(candidates)), round(rng.uniform(*self.window), 2), 0.0)
        return self.fault

    def inject(self, fault: Fault, target: Any) -> None:
        self.filled_at = time.monotonic()
        self.report["filler_mb"] = round(fill_filesystem(target.base_dir / "data") / 2**20, 1)

    def _wait(self, what: str, condition: Callable[[], bool], timeout: float = 30) -> float | None:
        """Seconds until condition() held, or None after timeout (noted in the report)."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                self.report.setdefault("timed_out", []).append(what)
                return None
            time.sleep(0.05)
        return round(time.monotonic() - started, 2)

    def operate(self) -> dict[str, Any]:
        target = self.members[self.fault.index]
        time.sleep(self.fault.at)  # the injector fills the disk then (same seeded moment)
        self._wait("the disk to be filled", lambda: hasattr(self, "filled_at"))
        self.report["stopped_after_s"] = self._wait("the member to stop", lambda: target.pid() is None)
        self.report["primary_after_s"] = self._wait(
            "a primary among the others",
            lambda: any(self.rs.state(m) == "PRIMARY" for m in self.members if m is not target))
        status = self.rs.playbook("playbooks/status.yml")
        line = next((ln for ln in status.stdout.splitlines() if "| %s |" % target.address in ln), "")
        self.report["status_line"] = line.strip().strip('",')
        started = self.rs.playbook("playbooks/site.yml")  # with the disk still full
        fatal = [ln for ln in started.stdout.splitlines() if ln.startswith("fatal:")]
        self.report["site_rc"] = started.returncode
        if started.returncode == 0:
            return {"failed": False, "msg": ""}
        return {"failed": True, "msg": "\n".join(fatal[-2:]) or started.stdout[-1500:]}

    def heal(self, fault: Fault, target: Any) -> None:
        (target.base_dir / "data" / "filler").unlink(missing_ok=True)

    def rerun(self) -> tuple[bool, str]:
        proc = self.rs.playbook("playbooks/site.yml")
        states = sorted(self.rs.state(m) for m in self.members)
        ok = proc.returncode == 0 and states == ["PRIMARY", "SECONDARY", "SECONDARY"]
        return ok, "" if ok else "site.yml rc %d, states %s: %s" % (proc.returncode, states, proc.stdout[-800:])

    def state(self, member: Any) -> str:
        return self.rs.state(member)

    def final_ids(self) -> set[int]:
        with MongoClient(self.uri, serverSelectionTimeoutMS=30000) as client:
            return {d["_id"] for d in client.chaos.w.find({}, {"_id": 1})}

    def check(self, first: dict[str, Any], writer: "Writer", observer: Observer,
              result: RunResult) -> list[str]:
        result.checks.update(self.report)
        violations = []
        if self.report.get("stopped_after_s") is None:
            violations.append("the member with the full dbPath did not stop")
        if self.report.get("primary_after_s") is None:
            violations.append("no primary among the other members within 30 s")
        line = self.report.get("status_line", "")
        if not line or "| PRIMARY |" in line or "| SECONDARY |" in line:
            violations.append("status.yml did not show the member as not healthy: %r" % line)
        message = str(first.get("msg", ""))
        if not first.get("failed"):
            violations.append("site.yml started nothing and did not fail while the dbPath was full")
        elif "No space left on device" not in message:
            violations.append("site.yml failed without naming the full disk: %s" % message[:300])
        target = self.members[self.fault.index]
        blamed = [m.name for m in self.members if m is not target and f"mongod on {m.name} (" in message]
        if blamed:  # the play stops every host at the first failure; the healthy ones did start
            violations.append("site.yml said healthy members did not start: %s" % ", ".join(blamed))
        return violations

    def teardown(self) -> None:
        try:
            self.rs.stop()
        finally:
            for path in self.mounts:
                try:
                    unmount(path)
                except subprocess.CalledProcessError as exc:
                    print(f"cannot unmount {path}: {exc.stderr}", file=sys.stderr)


def clear_message(message: str) -> bool:
    """Not empty, and not a module crash (a traceback; ansible-core 2.19 shows an exception
    in a module as "Module failed: <exception text>", older versions as MODULE FAILURE)."""
    return bool(message.strip()) and not any(
        crash in message for crash in ("Traceback", "Module failed:", "MODULE FAILURE"))


SCENARIOS: dict[str, type[Scenario]] = {
    s.name: s for s in (RsConfig, RollingResync, ForceReconfig, RsConfigBackToBack, LaggingSurvivors,
                        ArbiterAuth, ResyncMajority, DiskFull)}


def one_run(scenario_name: str, seed: int, workdir: Path) -> RunResult:
    rng = random.Random(seed)
    scenario = SCENARIOS[scenario_name](workdir / f"{scenario_name}-{seed}")
    scenario.workdir.mkdir(parents=True)
    started = time.monotonic()
    try:
        scenario.setup()
        candidates = scenario.fault_candidates()
        fault = scenario.draw_fault(rng, candidates)
        scenario.rng = rng
        target = candidates[fault.index]
        result = RunResult(scenario_name, seed, fault.kind, target.address, fault.index,
                           fault.at)
        observer, writer = Observer(scenario.members), Writer(scenario.uri)
        observer.start()
        writer.start()
        scenario.writer = writer
        scenario.start_operation()

        def inject() -> None:
            time.sleep(fault.at)
            result.target_state = scenario.state(target)
            scenario.inject(fault, target)

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
        started_first = time.monotonic()
        first = scenario.operate()
        scenario.window_s = (started_first, time.monotonic())
        injector.join()
        scenario.after_first_run(first)
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
        lost = sorted(set(writer.acknowledged) - scenario.final_ids())
        result.lost = len(lost)
        if lost and not scenario.loss_is_expected:
            result.violations.append(f"{result.lost} w:majority acknowledged writes lost")
            # what explains it, for the report: when each was acknowledged and each term's primary
            # first seen (seconds into the operation), and which member holds them now
            result.checks["lost_detail"] = {
                "acknowledged_s": {i: round(writer.acked_mono[i] - started_first, 2) for i in lost[:5]},
                "primaries_s": {t: [sorted(observer.primaries[t]), round(at - started_first, 2)]
                                for t, at in sorted(observer.first_seen.items())},
                "holders": scenario.holders(lost[:5])}
        result.terms_with_two_primaries = sorted(
            t for t, hosts in observer.primaries.items() if len(hosts) > 1)
        if result.terms_with_two_primaries:
            result.violations.append("two primaries in one term")
        result.violations += scenario.check(first, writer, observer, result)
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
    drills = [SCENARIOS[name] for name in SCENARIOS if SCENARIOS[name].invariant
              and any(r.scenario == name for r in results)]
    if drills:
        lines += ["", "Drills (issue 12): each one's own invariant, checked on every run besides the ones "
                  "above, and the mongod source that decides it:", ""]
        lines += [f"- **{d.name}**: {d.invariant}. mongod: {d.mongod_source}." for d in drills]
    lines += ["", "Every run (checks: a drill's own figures):", "",
              "| scenario | seed | fault | target was | at s | first run | message | "
              "rerun converged | acked | lost | violations | checks | s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        message = r.message.replace("|", "\\|").replace("\n", " ")[:160]
        checks = ", ".join(f"{k}={v}" for k, v in r.checks.items()).replace("|", "\\|")[:200]
        lines.append(f"| {r.scenario} | {r.seed} | {r.fault} | {r.target_state} | {r.at_s} | "
                     f"{r.first_run} | {message} | {r.converged} | {r.acknowledged} | "
                     f"{r.lost} | {'; '.join(r.violations) or 0} | {checks} | {r.seconds} |")
    total = sum(len(r.violations) for r in results)
    lines += ["", f"{len(results)} runs, {len(results)} faults injected, {total} invariant "
              "violations.", ""]
    (out / "chaos.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
