"""Rolling operations on a five-member emulated set with a w:"majority" writer running (issue 7,
item 3), each against a naive procedure:

* resync: playbooks/rolling_resync.yml (secondaries first, one at a time, the primary last after
  a stepdown) against members in inventory order, each killed with SIGKILL - the primary
  included - emptied and restarted, waiting for SECONDARY before the next;
* oplog resize: playbooks/oplog.yml (replSetResizeOplog online, secondaries first, the primary
  last, no restart) against what a config-management run does: replication.oplogSizeMB changed
  in each member's mongod.conf and the member restarted, in inventory order, the primary killed
  with SIGKILL, the secondaries stopped with SIGTERM (a clean shutdown), waiting for SECONDARY
  (or PRIMARY) before the next. mongod reads oplogSizeMB only when it creates the oplog, so the
  naive procedure should leave every size as it was; the table says whether each procedure
  reached the target on every member (collStats of local.oplog.rs, maxSize).

Every run starts from a set provisioned by playbooks/site.yml (mongoemu as mongod_binary,
settings electionTimeoutMillis 1000 / heartbeatIntervalMillis 200, oplogs created at 500 MB)
holding 2,000 documents. The oplog target is mongod's minimum, 990 MB: what oplog.yml computes
with oplog_target_hours=1 for this writer (the size floor), a real change on every member.
Measured: elections (term after - term before), the longest gap between two acknowledged
w:"majority" writes, the seconds with no writable primary (hello polled every 20 ms),
acknowledged writes lost, total time, and for the oplog runs each member's size before and after.

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
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import yaml
from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError

from mongoemu.cluster import process_alive

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "chaos"))
from harness import InventoryMember, ProvisionedSet  # noqa: E402  (shared with the chaos suite)

RESULTS = ROOT / "bench" / "results"
SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}
MEMBERS = [("db1", "dc1", 2), ("db2", "dc1", 1), ("db3", "dc2", 1), ("db4", "dc2", 1),
           ("db5", "dc3", 1)]
OPLOG_CREATED_MB = 500  # mongod.conf's oplogSizeMB when site.yml provisions the set
OPLOG_TARGET_MB = 990  # replSetResizeOplog's minimum: oplog.yml's size for this writer


class Set(ProvisionedSet):
    """Five members provisioned by site.yml under ``root``, oplogs created at OPLOG_CREATED_MB."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, "roll", MEMBERS, SETTINGS,
                         {"mongod_oplog_size_mb": OPLOG_CREATED_MB})

    def run(self, playbook: str, *extra: str) -> None:
        self.playbook(f"playbooks/{playbook}", *extra, check=True)

    def term(self) -> int:
        with MongoClient(self.uri, serverSelectionTimeoutMS=20000) as client:
            return int(client.admin.command("replSetGetStatus")["term"])

    @staticmethod
    def oplog_mb(member: InventoryMember) -> float:
        """The member's configured oplog size (collStats maxSize of local.oplog.rs), in MB."""
        with MongoClient(member.address, directConnection=True,
                         serverSelectionTimeoutMS=20000) as client:
            return client.local.command("collStats", "oplog.rs")["maxSize"] / (1024 * 1024)

    def restart(self, member: InventoryMember, sig: int, change: Callable[[Path], None]) -> None:
        """Stop the member with ``sig``, ``change(its directory)``, start it again from its
        mongod.conf and wait until it is SECONDARY (or PRIMARY)."""
        pid = member.pid()
        if pid is not None:
            os.kill(pid, sig)
            deadline = time.monotonic() + 60
            while process_alive(pid):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{member.name} (pid {pid}) did not stop on signal {sig}")
                time.sleep(0.02)
        change(member.base_dir)
        self.start(member)
        deadline = time.monotonic() + 120
        while self.state(member) not in ("SECONDARY", "PRIMARY"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{member.name} did not come back")
            time.sleep(0.1)


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
            primary = next((m.name for m in self.rs.members if self.rs.state(m) == "PRIMARY"),
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
    rs.provision()
    with MongoClient(rs.uri, serverSelectionTimeoutMS=30000) as client:
        client.bench.data.insert_many([{"i": i, "pad": "x" * 200} for i in range(2000)])
    return rs, rs.term()


def _oplog_outcome(rs: Set, before: dict[str, float]) -> dict[str, Any]:
    after = {m.name: rs.oplog_mb(m) for m in rs.members}
    return {"target_mb": OPLOG_TARGET_MB, "before_mb": before, "after_mb": after,
            "reached_target": all(abs(mb - OPLOG_TARGET_MB) < 1 for mb in after.values())}


def _measure(root: Path, procedure: Callable[[Set], None], settle_s: float,
             oplog: bool = False) -> dict[str, Any]:
    """Provision the set, start the recorder, run ``procedure(rs)``, summarise (with each
    member's oplog size before and after when ``oplog``)."""
    rs, term = _prepare(root)
    try:
        before = {m.name: rs.oplog_mb(m) for m in rs.members} if oplog else {}
        recorder = Recorder(rs)
        recorder.start()
        time.sleep(1)
        started = time.monotonic()
        procedure(rs)
        seconds = time.monotonic() - started
        time.sleep(settle_s)
        recorder.stop_event.set()
        recorder.join()
        summary = _summary(rs, recorder, term, seconds)
        if oplog:
            summary["oplog"] = _oplog_outcome(rs, before)
        return summary
    finally:
        rs.stop()


def resync_ours(root: Path) -> dict[str, Any]:
    return _measure(root, lambda rs: rs.run(
        "rolling_resync.yml", "-e", "replset=roll", "-e", "resync_members=all",
        "-e", "resync_delete_data=true"), settle_s=1)


def _empty_data(member_dir: Path) -> None:
    shutil.rmtree(member_dir / "data")
    (member_dir / "data").mkdir()


def resync_naive(root: Path) -> dict[str, Any]:
    """Members in inventory order, the primary killed like the rest, each emptied and
    restarted, back as SECONDARY (or PRIMARY) before the next."""
    def procedure(rs: Set) -> None:
        for member in rs.members:
            rs.restart(member, signal.SIGKILL, _empty_data)
    return _measure(root, procedure, settle_s=2)


def oplog_ours(root: Path) -> dict[str, Any]:
    return _measure(root, lambda rs: rs.run("oplog.yml", "-e", "oplog_target_hours=1"),
                    settle_s=1, oplog=True)


def _conf_oplog_size(member_dir: Path) -> None:
    conf = member_dir / "mongod.conf"
    document = yaml.safe_load(conf.read_text())
    document["replication"]["oplogSizeMB"] = OPLOG_TARGET_MB
    conf.write_text(yaml.safe_dump(document))


def oplog_naive(root: Path) -> dict[str, Any]:
    """oplogSizeMB changed in each member's mongod.conf and the member restarted, in
    inventory order: the primary killed (SIGKILL), a secondary stopped (SIGTERM)."""
    def procedure(rs: Set) -> None:
        for member in rs.members:
            sig = signal.SIGKILL if rs.state(member) == "PRIMARY" else signal.SIGTERM
            rs.restart(member, sig, _conf_oplog_size)
    return _measure(root, procedure, settle_s=2, oplog=True)


def dc_loss(root: Path) -> dict[str, Any]:
    """dc2 and dc3 (three of five voters) are killed; survivors db1 and db2 cannot elect.
    Time from the loss to the first acknowledged write, with force_reconfig.yml run as soon
    as the old primary has stepped down (an operator's reaction time is not counted)."""
    rs, _term = _prepare(root)
    try:
        lost = ["db3", "db4", "db5"]
        killed = time.monotonic()
        for name in lost:
            rs.kill9(rs.member(name))
        while any(rs.state(rs.member(n)) == "PRIMARY" for n in ("db1", "db2")):
            time.sleep(0.05)
        no_primary = time.monotonic()
        survivors = json.dumps({"survivors": [rs.addresses["db1"], rs.addresses["db2"]]})
        rs.run("force_reconfig.yml", "-e", "replset=roll", "-e", survivors)
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


#: result key -> (directory, run)
PROCEDURES = {
    "rolling_resync.yml": ("resync_ours", resync_ours),
    "naive resync (inventory order, kill -9)": ("resync_naive", resync_naive),
    "oplog.yml": ("oplog_ours", oplog_ours),
    "naive oplog (oplogSizeMB in mongod.conf, restart in inventory order)":
        ("oplog_naive", oplog_naive),
}


def _row(name: str, r: dict[str, Any], *extra: str) -> str:
    cells = [name, r["elections"], r["longest_ack_gap_s"], r["no_writable_primary_s"],
             r["acknowledged"], r["write_errors"], r["lost"], r["total_s"], *extra]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _markdown(date: str, results: dict[str, Any], loss: dict[str, Any]) -> list[str]:
    header = ("| procedure | elections | longest gap between acknowledged writes s | "
              "no writable primary s | acknowledged | write errors | lost | total s |")
    lines = [f"# Rolling resync and oplog resize of five members with a w:\"majority\" "
             f"writer ({date})", "",
             "`.venv/bin/python bench/bench_rolling.py`; settings "
             f"{SETTINGS}; 2,000 documents; oplogs created at {OPLOG_CREATED_MB} MB; see "
             "bench/figures/rolling_timeline.png.", "", "Rolling resync:", "", header,
             "|---|---|---|---|---|---|---|---|"]
    oplog_rows = {name: r for name, r in results.items() if "oplog" in r}
    lines += [_row(name, r) for name, r in results.items() if name not in oplog_rows]
    lines += ["", f"Oplog resize to {OPLOG_TARGET_MB} MB (sizes after: "
              f"{', '.join(name for name, _dc, _p in MEMBERS)}):", "",
              header[:-1] + "| oplog sizes reached target (MB after) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, r in oplog_rows.items():
        sizes = ", ".join(f"{mb:g}" for mb in r["oplog"]["after_mb"].values())
        lines.append(_row(name, r, f"{'yes' if r['oplog']['reached_target'] else 'no'} "
                                   f"({sizes})"))
    naive = [r for name, r in oplog_rows.items() if name.startswith("naive")]
    if any(r["oplog"]["reached_target"] for r in naive):
        lines += ["", "Emulator divergence: mongoemu resized existing oplogs from mongod.conf "
                  "on restart; mongod reads oplogSizeMB only when it creates the oplog, so on "
                  "real mongod the naive procedure leaves every size as it was."]
    elif naive:
        lines += ["", "As on mongod, oplogSizeMB applies only when the oplog is created: the "
                  "restarts left every oplog at its size."]
    lines += ["", "Datacenter loss (dc2 and dc3: three of five voters, killed): the primary "
              f"steps down after {loss['stepdown_after_loss_s']} s; playbooks/force_reconfig.yml "
              f"on the survivors takes {loss['force_reconfig_playbook_s']} s; the first "
              f"w:\"majority\" write is acknowledged {loss['loss_to_majority_write_s']} s after "
              "the loss (an operator's reaction time not counted)."]
    return lines


def main() -> int:
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-rolling-") as tmp:
        for name, (directory, run) in PROCEDURES.items():
            root = Path(tmp) / directory
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
         "oplog_created_mb": OPLOG_CREATED_MB, "oplog_target_mb": OPLOG_TARGET_MB,
         "results": results, "dc_loss": loss}, indent=1) + "\n")
    lines = _markdown(date, results, loss)
    (RESULTS / "rolling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
