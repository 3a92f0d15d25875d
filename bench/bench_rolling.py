"""Rolling resync of a five-member emulated set with a w:"majority" writer running (issue 7,
item 3): playbooks/rolling_resync.yml (secondaries first, one at a time, the primary last after
a stepdown) against a naive procedure (members in inventory order, each killed with SIGKILL -
the primary included - emptied and restarted, waiting for SECONDARY before the next).

Both start from a set provisioned by playbooks/site.yml (mongoemu as mongod_binary, settings
electionTimeoutMillis 1000 / heartbeatIntervalMillis 200) holding 2,000 documents. Measured:
elections (term after - term before), the longest gap between two acknowledged w:"majority"
writes, the seconds with no writable primary (hello polled every 20 ms), acknowledged writes
lost, total time.

    .venv/bin/python bench/bench_rolling.py

Also the time from a datacenter loss (three of five voters killed) to the first acknowledged
w:"majority" write with playbooks/force_reconfig.yml. Writes bench/results/rolling.json and
bench/results/rolling.md; bench/report.py draws the timeline. Every process is stopped by the
pid in its pid file.
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
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

from mongoemu.cluster import free_loopback_address, hello, process_alive

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}
MEMBERS = [("db1", "dc1", 2), ("db2", "dc1", 1), ("db3", "dc2", 1), ("db4", "dc2", 1),
           ("db5", "dc3", 1)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".venv" / "collections"),
                "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")})
    return env


def _playbook(inventory: Path, playbook: str, *extra: str) -> None:
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           "-i", str(inventory), str(ROOT / "playbooks" / playbook), *extra],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=1200,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{playbook} failed:\n{proc.stdout[-3000:]}")


class Set:
    """Five members provisioned by site.yml under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.addresses: dict[str, str] = {}
        hosts = {}
        for name, dc, priority in MEMBERS:
            address = free_loopback_address(self.addresses.values())
            self.addresses[name] = address
            host, port = address.rsplit(":", 1)
            hosts[name] = {"mongodb_host": host, "mongodb_port": int(port),
                           "mongodb_datacenter": dc, "mongodb_priority": priority,
                           "mongod_base_dir": str(root / name)}
        self.inventory = root / "hosts.yml"
        self.inventory.write_text(yaml.safe_dump({"all": {
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                     "ansible_connection": "local"},
            "children": {"rs_bench": {"vars": {
                "mongodb_replset_name": "roll", "mongodb_replset_settings": SETTINGS,
                "mongodb_smoke_check": False,
                "mongod_binary": os.path.join(os.path.dirname(sys.executable), "mongoemu")},
                "hosts": hosts}}}}))

    @property
    def uri(self) -> str:
        return "mongodb://" + ",".join(self.addresses.values()) + "/?replicaSet=roll"

    def pid(self, name: str) -> int | None:
        path = self.root / name / "mongod.pid"
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        for name in self.addresses:
            pid = self.pid(name)
            if pid and process_alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name in self.addresses:
            pid = self.pid(name)
            while pid and process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid and process_alive(pid):
                os.kill(pid, signal.SIGKILL)

    def state(self, name: str) -> str:
        try:
            reply = hello(self.addresses[name], timeout=0.5)
        except OSError:
            return "DOWN"
        if reply.get("isWritablePrimary"):
            return "PRIMARY"
        return "SECONDARY" if reply.get("secondary") else "OTHER"

    def term(self) -> int:
        with MongoClient(self.uri, serverSelectionTimeoutMS=20000) as client:
            return int(client.admin.command("replSetGetStatus")["term"])


class Recorder(threading.Thread):
    """A w:"majority" writer and a hello poller: acknowledged writes with their times, and
    the intervals with no writable primary."""

    def __init__(self, rs: Set) -> None:
        super().__init__(daemon=True)
        self.rs = rs
        self.stop_event = threading.Event()
        self.acked: list[tuple[int, float]] = []
        self.errors = 0
        self.primary_seen: list[tuple[float, str | None]] = []
        self.start_time = time.monotonic()

    def run(self) -> None:
        poller = threading.Thread(target=self._poll, daemon=True)
        poller.start()
        client = MongoClient(self.rs.uri, serverSelectionTimeoutMS=30000)
        coll = client.bench.get_collection("w", write_concern=WriteConcern(w="majority",
                                                                            wtimeout=20000))
        i = 0
        while not self.stop_event.is_set():
            try:
                coll.insert_one({"_id": i})
                self.acked.append((i, time.monotonic() - self.start_time))
            except PyMongoError:
                self.errors += 1
            i += 1
            time.sleep(0.01)
        poller.join()
        client.close()

    def _poll(self) -> None:
        while not self.stop_event.is_set():
            primary = next((n for n in self.rs.addresses if self.rs.state(n) == "PRIMARY"),
                           None)
            self.primary_seen.append((time.monotonic() - self.start_time, primary))
            time.sleep(0.02)


def _summary(rs: Set, recorder: Recorder, term_before: int, seconds: float) -> dict[str, Any]:
    times = [t for _, t in recorder.acked]
    gaps = [b - a for a, b in zip(times, times[1:])]
    no_primary = 0.0
    for (t0, p0), (t1, _p1) in zip(recorder.primary_seen, recorder.primary_seen[1:]):
        if p0 is None:
            no_primary += t1 - t0
    with MongoClient(rs.uri, serverSelectionTimeoutMS=30000) as client:
        present = {d["_id"] for d in client.bench.w.find({}, {"_id": 1})}
    lost = len({i for i, _ in recorder.acked} - present)
    return {"elections": rs.term() - term_before, "longest_ack_gap_s": round(max(gaps), 3)
            if gaps else None, "no_writable_primary_s": round(no_primary, 2),
            "acknowledged": len(recorder.acked), "write_errors": recorder.errors,
            "lost": lost, "total_s": round(seconds, 1),
            "timeline": {"acked_s": [round(t, 3) for t in times],
                         "primary": [(round(t, 3), p) for t, p in recorder.primary_seen]}}


def _prepare(root: Path) -> tuple[Set, int]:
    rs = Set(root)
    _playbook(rs.inventory, "site.yml")
    with MongoClient(rs.uri, serverSelectionTimeoutMS=30000) as client:
        client.bench.data.insert_many([{"i": i, "pad": "x" * 200} for i in range(2000)])
    return rs, rs.term()


def _measure(root: Path, procedure, settle_s: float) -> dict[str, Any]:
    """Provision the set, start the recorder, run ``procedure(rs)``, summarise."""
    rs, term = _prepare(root)
    try:
        recorder = Recorder(rs)
        recorder.start()
        time.sleep(1)
        started = time.monotonic()
        procedure(rs)
        seconds = time.monotonic() - started
        time.sleep(settle_s)
        recorder.stop_event.set()
        recorder.join()
        return _summary(rs, recorder, term, seconds)
    finally:
        rs.stop()


def ours(root: Path) -> dict[str, Any]:
    return _measure(root, lambda rs: _playbook(
        rs.inventory, "rolling_resync.yml", "-e", "replset=roll", "-e", "resync_members=all",
        "-e", "resync_delete_data=true"), settle_s=1)


def _naive_procedure(rs: Set) -> None:
    """Members in inventory order, the primary killed like the rest, each emptied and
    restarted, back as SECONDARY (or PRIMARY) before the next."""
    binary = os.path.join(os.path.dirname(sys.executable), "mongoemu")
    for name in rs.addresses:
        pid = rs.pid(name)
        if pid and process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while process_alive(pid):
                time.sleep(0.02)
        data = rs.root / name / "data"
        shutil.rmtree(data)
        data.mkdir()
        subprocess.run([binary, "-f", str(rs.root / name / "mongod.conf")], check=True,
                       capture_output=True, timeout=60)
        deadline = time.monotonic() + 120
        while rs.state(name) not in ("SECONDARY", "PRIMARY"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back")
            time.sleep(0.1)


def naive(root: Path) -> dict[str, Any]:
    return _measure(root, _naive_procedure, settle_s=2)


def dc_loss(root: Path) -> dict[str, Any]:
    """dc2 and dc3 (three of five voters) are killed; survivors db1 and db2 cannot elect.
    Time from the loss to the first acknowledged write, with force_reconfig.yml run as soon
    as the old primary has stepped down (an operator's reaction time is not counted)."""
    rs, _term = _prepare(root)
    try:
        lost = ["db3", "db4", "db5"]
        killed = time.monotonic()
        for name in lost:
            pid = rs.pid(name)
            if pid and process_alive(pid):
                os.kill(pid, signal.SIGKILL)
        while any(rs.state(n) == "PRIMARY" for n in ("db1", "db2")):
            time.sleep(0.05)
        no_primary = time.monotonic()
        survivors = json.dumps({"survivors": [rs.addresses["db1"], rs.addresses["db2"]]})
        _playbook(rs.inventory, "force_reconfig.yml", "-e", "replset=roll", "-e", survivors)
        forced = time.monotonic()
        with MongoClient(rs.uri.replace(",".join(rs.addresses.values()),
                                        f"{rs.addresses['db1']},{rs.addresses['db2']}"),
                         serverSelectionTimeoutMS=60000) as client:
            client.bench.get_collection("w", write_concern=WriteConcern(w="majority")).insert_one(
                {"after": "force"})
        writable = time.monotonic()
        return {"stepdown_after_loss_s": round(no_primary - killed, 2),
                "force_reconfig_playbook_s": round(forced - no_primary, 2),
                "loss_to_majority_write_s": round(writable - killed, 2)}
    finally:
        rs.stop()


def main() -> int:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-rolling-") as tmp:
        for name, run in (("rolling_resync.yml", ours), ("naive (inventory order, kill -9)",
                                                         naive)):
            root = Path(tmp) / name.split()[0].replace(".", "_")
            root.mkdir()
            results[name] = run(root)
            row = {k: v for k, v in results[name].items() if k != "timeline"}
            print(name, json.dumps(row), flush=True)
        (Path(tmp) / "dc_loss").mkdir()
        loss = dc_loss(Path(tmp) / "dc_loss")
        print("dc loss", json.dumps(loss), flush=True)
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "rolling.json").write_text(json.dumps(
        {"date": date, "command": "bench/bench_rolling.py", "settings": SETTINGS,
         "results": results, "dc_loss": loss}, indent=1) + "\n")
    lines = [f"# Rolling resync of five members with a w:\"majority\" writer ({date})", "",
             "`.venv/bin/python bench/bench_rolling.py`; settings "
             f"{SETTINGS}; 2,000 documents; see bench/figures/rolling_timeline.png.", "",
             "| procedure | elections | longest gap between acknowledged writes s | "
             "no writable primary s | acknowledged | write errors | lost | total s |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['elections']} | {r['longest_ack_gap_s']} | "
                     f"{r['no_writable_primary_s']} | {r['acknowledged']} | "
                     f"{r['write_errors']} | {r['lost']} | {r['total_s']} |")
    lines += ["", "Datacenter loss (dc2 and dc3: three of five voters, killed): the primary "
              f"steps down after {loss['stepdown_after_loss_s']} s; playbooks/force_reconfig.yml "
              f"on the survivors takes {loss['force_reconfig_playbook_s']} s; the first "
              f"w:\"majority\" write is acknowledged {loss['loss_to_majority_write_s']} s after "
              "the loss (an operator's reaction time not counted)."]
    (RESULTS / "rolling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
