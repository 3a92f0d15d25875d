"""Benchmark mongoemu (issue 3 targets): start to accepting connections, single-document
inserts (w:1) and _id lookups from one pymongo client on loopback.

Run from the repository root:

    .venv/bin/python bench/bench_mongoemu.py [--inserts N] [--lookups N] [--starts N]

It starts mongoemu by its command line (temp dbPath, 127.0.0.x), stops every process it
started by pid, and writes bench/results/mongoemu.json and bench/results/mongoemu.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGETS = {"start_s": 0.5, "inserts_per_s": 3000, "id_lookups_per_s": 5000}


def _mongoemu() -> list[str]:
    script = Path(sys.executable).with_name("mongoemu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mongoemu"]


def _free_address() -> tuple[str, int]:
    for last in range(200, 250):
        host = f"127.0.0.{last}"
        with socket.socket() as probe:
            try:
                probe.bind((host, 0))
            except OSError:
                continue
            return host, probe.getsockname()[1]
    raise RuntimeError("no free loopback address")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stop(pid: int) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.02)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _wait_accepting(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.002)
    raise RuntimeError(f"{host}:{port} did not accept connections within {timeout}s")


def measure_start(workdir: Path, runs: int) -> dict[str, float]:
    """Two views: the --fork parent's return (it exits once the child listens) and a
    foreground process polled until it accepts a TCP connection."""
    fork_times, fg_times = [], []
    for i in range(runs):
        host, port = _free_address()
        db = workdir / f"start{i}"
        db.mkdir()
        argv = [*_mongoemu(), "--fork", "--dbpath", str(db), "--bind_ip", host, "--port",
                str(port), "--logpath", str(db / "mongod.log"), "--pidfilepath",
                str(db / "mongod.pid")]
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        _wait_accepting(host, port)
        fork_times.append(time.perf_counter() - t0)
        _stop(int((db / "mongod.pid").read_text()))
        host, port = _free_address()
        db2 = workdir / f"startfg{i}"
        db2.mkdir()
        argv = [*_mongoemu(), "--dbpath", str(db2), "--bind_ip", host, "--port", str(port),
                "--logpath", str(db2 / "mongod.log")]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_accepting(host, port)
            fg_times.append(time.perf_counter() - t0)
        finally:
            _stop(proc.pid)
            proc.wait(10)
    return {"fork_parent_return_median_s": statistics.median(fork_times),
            "fork_parent_return_max_s": max(fork_times),
            "foreground_accepting_median_s": statistics.median(fg_times),
            "foreground_accepting_max_s": max(fg_times), "runs": runs}


def measure_throughput(workdir: Path, inserts: int, lookups: int,
                       rounds: int) -> dict[str, Any]:
    host, port = _free_address()
    db = workdir / "throughput"
    db.mkdir()
    argv = [*_mongoemu(), "--fork", "--dbpath", str(db), "--bind_ip", host, "--port",
            str(port), "--logpath", str(db / "mongod.log"), "--pidfilepath",
            str(db / "mongod.pid")]
    subprocess.run(argv, check=True, capture_output=True)
    pid = int((db / "mongod.pid").read_text())
    try:
        client = MongoClient(host, port, directConnection=True, w=1)
        coll = client.bench.docs
        coll.insert_one({"_id": -1, "warm": True})
        for i in range(200):
            coll.find_one({"_id": -1})
        insert_rates, lookup_rates = [], []
        for r in range(rounds):
            base = r * inserts
            t0 = time.perf_counter()
            for i in range(base, base + inserts):
                coll.insert_one({"_id": i, "n": i, "payload": "x" * 64})
            insert_rates.append(inserts / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for i in range(lookups):
                doc = coll.find_one({"_id": base + i % inserts})
                assert doc is not None
            lookup_rates.append(lookups / (time.perf_counter() - t0))
        client.close()
    finally:
        _stop(pid)
    return {"rounds": rounds, "inserts": inserts,
            "inserts_per_s": statistics.median(insert_rates),
            "inserts_per_s_rounds": insert_rates,
            "lookups": lookups, "id_lookups_per_s": statistics.median(lookup_rates),
            "id_lookups_per_s_rounds": lookup_rates}


_HELLO = {"isWritablePrimary": True, "maxWireVersion": 21, "minWireVersion": 0,
          "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000,
          "maxWriteBatchSize": 100000, "logicalSessionTimeoutMinutes": 30,
          "connectionId": 1, "ok": 1.0}


def _canned_server(host: str, port: int) -> None:  # pragma: no cover - runs in a child
    """A server that answers hello and find with fixed replies, doing no work at all."""
    import asyncio
    import struct

    import bson

    class Canned(asyncio.Protocol):
        def connection_made(self, transport):  # type: ignore[no-untyped-def]
            self.transport, self.buf = transport, bytearray()

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while len(self.buf) >= 16:
                length, rid, _to, op = struct.unpack_from("<iiii", self.buf)
                if len(self.buf) < length:
                    return
                body = bytes(self.buf[16:length])
                del self.buf[:length]
                start = 5 if op == 2013 else body.index(b"\0", 4) + 9
                doc = bson.decode(body[start:start + struct.unpack_from("<i", body, start)[0]])
                name = next(iter(doc))
                if name in ("hello", "isMaster", "ismaster"):
                    reply = _HELLO
                else:
                    reply = {"cursor": {"firstBatch": [{"_id": 1}], "id": bson.Int64(0),
                                        "ns": "bench.docs"}, "ok": 1.0}
                raw = bson.encode(reply)
                if op == 2013:
                    self.transport.write(struct.pack("<iiiiIB", 21 + len(raw), 1, rid, 2013, 0,
                                                     0) + raw)
                else:
                    self.transport.write(struct.pack("<iiiiiqii", 36 + len(raw), 1, rid, 1, 8,
                                                     0, 0, 1) + raw)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Canned, host, port)
        async with server:
            await asyncio.sleep(120)
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def measure_client_ceiling(lookups: int) -> float:
    """find_one rate against a server that does nothing: what pymongo alone allows on this
    machine at this moment (context for the lookup figure)."""
    import multiprocessing

    host, port = _free_address()
    proc = multiprocessing.get_context("fork").Process(target=_canned_server,
                                                       args=(host, port), daemon=True)
    proc.start()
    try:
        _wait_accepting(host, port)
        client = MongoClient(host, port, directConnection=True)
        coll = client.bench.docs
        for _ in range(200):
            coll.find_one({"_id": 1})
        t0 = time.perf_counter()
        for _ in range(lookups):
            coll.find_one({"_id": 1})
        rate = lookups / (time.perf_counter() - t0)
        client.close()
    finally:
        assert proc.pid is not None
        _stop(proc.pid)
        proc.join(10)
    return rate


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inserts", type=int, default=5000)
    parser.add_argument("--lookups", type=int, default=10000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3,
                        help="insert+lookup rounds; the median round is reported")
    args = parser.parse_args()
    command = "cd <repo> && .venv/bin/python bench/bench_mongoemu.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="mongoemu-bench-") as tmp:
        start = measure_start(Path(tmp), args.starts)
        throughput = measure_throughput(Path(tmp), args.inserts, args.lookups, args.rounds)
    throughput["client_ceiling_find_one_per_s"] = measure_client_ceiling(args.lookups)
    import pymongo

    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command.strip(),
        "machine": {"platform": platform.platform(), "cpu": _cpu_model(),
                    "cores": os.cpu_count(), "python": platform.python_version(),
                    "pymongo": pymongo.version},
        "targets": TARGETS,
        "start": start,
        "throughput": throughput,
    }
    result["pass"] = {
        "start": start["foreground_accepting_median_s"] < TARGETS["start_s"]
        and start["fork_parent_return_median_s"] < TARGETS["start_s"],
        "inserts": throughput["inserts_per_s"] >= TARGETS["inserts_per_s"],
        "id_lookups": throughput["id_lookups_per_s"] >= TARGETS["id_lookups_per_s"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mongoemu.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    rows = [
        ("start: `--fork` parent returns (median / max)",
         f"{start['fork_parent_return_median_s']:.3f} s / {start['fork_parent_return_max_s']:.3f} s",
         "< 0.5 s", result["pass"]["start"]),
        ("start: foreground process accepts TCP (median / max)",
         f"{start['foreground_accepting_median_s']:.3f} s / "
         f"{start['foreground_accepting_max_s']:.3f} s", "< 0.5 s", result["pass"]["start"]),
        (f"insert_one w:1, {throughput['inserts']} docs, one client (median of "
         f"{throughput['rounds']} rounds)",
         f"{throughput['inserts_per_s']:,.0f} /s", ">= 3,000 /s", result["pass"]["inserts"]),
        (f"find_one by _id, {throughput['lookups']} lookups, one client (median of "
         f"{throughput['rounds']} rounds)",
         f"{throughput['id_lookups_per_s']:,.0f} /s", ">= 5,000 /s",
         result["pass"]["id_lookups"]),
    ]
    rows.append(("context: find_one against a canned-reply server (pymongo's own limit now)",
                 f"{throughput['client_ceiling_find_one_per_s']:,.0f} /s", "-", True))
    md = ["# mongoemu benchmark", "",
          f"- date: {result['date']}",
          f"- machine: {m['platform']}, {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
          f"pymongo {m['pymongo']}",
          f"- command: `{result['command']}`", "",
          "| measure | result | target | met |", "|---|---|---|---|"]
    md += [f"| {a} | {b} | {c} | {('yes' if d else 'NO') if c != '-' else '-'} |"
           for a, b, c, d in rows]
    (RESULTS / "mongoemu.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0  # a missed target is reported in the table, not as a failure of the run


if __name__ == "__main__":
    raise SystemExit(main())
