"""Gather the benchmark results in bench/results/*.json into bench/RESULTS.md and draw the
figures that read better as pictures (bench/figures/*.png, matplotlib):

* rolling_timeline.png: acknowledged w:"majority" writes over time, and the moments without
  a writable primary, during a rolling resync (playbooks/rolling_resync.yml) and an oplog
  resize (playbooks/oplog.yml), each against its naive procedure (bench/bench_rolling.py);
* provisioning_vs_size.png: provisioning time and plan computation time against the number
  of members (bench/bench_scale.py, bench/bench_replset.py).

    .venv/bin/python bench/report.py

It only reads what the benchmarks wrote; a missing result is listed as not run.
"""
from __future__ import annotations

import datetime
import json
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FIGURES = ROOT / "bench" / "figures"

#: result file -> (title, command that writes it)
SECTIONS = [
    ("validation", "Validation", ".venv/bin/python -m bench.bench_validation"),
    ("planner", "Reconfiguration planner", ".venv/bin/python -m bench.bench_planner"),
    ("mongoemu", "mongoemu, one member", ".venv/bin/python bench/bench_mongoemu.py"),
    ("replset", "mongoemu replica sets", ".venv/bin/python bench/bench_replset.py"),
    ("peer", "Side by side with community.mongodb", ".venv/bin/python bench/bench_peer.py"),
    ("scale", "Scale: plan computation and provisioning", ".venv/bin/python bench/bench_scale.py"),
    ("rolling", "Rolling resync and oplog resize against naive procedures",
     ".venv/bin/python bench/bench_rolling.py"),
    ("provision", "Provisioning the local six-member set", ".venv/bin/python bench/bench_provision.py"),
    ("field", "site.yml on separate machines (field lab) and on forked members", ".venv/bin/python bench/bench_field.py"),
    ("upgrade", "Rolling upgrade against every member at once (field lab)", ".venv/bin/python bench/bench_upgrade.py"),
    ("chaos", "Chaos runs", ".venv/bin/python tests/chaos/chaos_runner.py --runs 5"),
]


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def rolling_figure(plt: Any) -> str | None:
    data = _load("rolling")
    if not data:
        return None
    runs = data["results"]
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 2.6 * len(runs)), squeeze=False)
    for ax, (name, run) in zip(axes[:, 0], runs.items()):
        acked = run["timeline"]["acked_s"]
        ax.plot(acked, range(1, len(acked) + 1), lw=1.2, label="acknowledged w:majority writes")
        primary = run["timeline"]["primary"]
        for (t0, p0), (t1, _p1) in zip(primary, primary[1:]):
            if p0 is None:
                ax.axvspan(t0, t1, color="tab:red", alpha=0.25, lw=0)
        title = (f"{name}\n{run['elections']} elections, longest gap "
                 f"{run['longest_ack_gap_s']} s, {run['lost']} lost, {run['total_s']} s")
        if "oplog" in run:
            reached = "yes" if run["oplog"]["reached_target"] else "no"
            title += f", oplog at {run['oplog']['target_mb']} MB: {reached}"
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("writes")
    axes[-1, 0].set_xlabel("seconds since the writer started (red: no writable primary)")
    fig.tight_layout()
    path = FIGURES / "rolling_timeline.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path.relative_to(ROOT))


def _timeout(result: dict[str, Any]) -> str:
    millis = (result.get("settings") or {}).get("electionTimeoutMillis")
    return f" (election timeout {millis / 1000:g} s)" if millis else ""


def size_figure(plt: Any) -> str | None:
    scale, replset = _load("scale"), _load("replset")
    if not scale and not replset:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    if scale:
        prov = scale.get("provisioning", [])
        left.plot([p["members"] for p in prov], [p["ready_s"] for p in prov], "o-",
                  label="rs_config initiate until all SECONDARY" + _timeout(scale))
        plan = scale.get("plan_computation", [])
        right.plot([p["members"] for p in plan], [p["change"]["median_ms"] for p in plan], "o-",
                   label="plan a change (median)")
        right.plot([p["members"] for p in plan], [p["no_change"]["median_ms"] for p in plan],
                   "s--", label="plan no change (median)")
    if replset:
        rows = replset["results"]
        left.plot([r["members"] for r in rows], [r["cold_start_s"] for r in rows], "^-",
                  label="mongoemu cold start to ready" + _timeout(replset))
    left.set_xlabel("members")
    left.set_ylabel("seconds")
    left.legend(fontsize=8)
    right.set_xlabel("members")
    right.set_ylabel("ms")
    right.legend(fontsize=8)
    fig.tight_layout()
    path = FIGURES / "provisioning_vs_size.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path.relative_to(ROOT))


def main() -> int:
    figures: list[str] = []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
        print("matplotlib is not installed: no figures (pip install matplotlib)", file=sys.stderr)
    if plt is not None:
        FIGURES.mkdir(parents=True, exist_ok=True)
        figures = [f for f in (rolling_figure(plt), size_figure(plt)) if f]
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    lines = ["# Benchmark results", "",
             f"Gathered {date} by `.venv/bin/python bench/report.py` on {platform.machine()}, "
             f"CPython {platform.python_version()} (this project's 2-core machine; its speed "
             "varies by about two times over a session). `make bench` runs every benchmark "
             "below, then this report. Each section is the Markdown its benchmark wrote, with "
             "its own date and command.", ""]
    for name in figures:
        lines += [f"![{Path(name).stem}]({Path(name).relative_to('bench')})", ""]
    for name, title, command in SECTIONS:
        md = RESULTS / f"{name}.md"
        lines += [f"## {title}", "", f"Command: `{command}`", ""]
        if md.exists():
            body = md.read_text().strip().splitlines()
            if body and body[0].startswith("# "):
                body = body[1:]
            lines += [line for line in body] + [""]
        else:
            lines += ["Not run yet.", ""]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines))
    print(f"wrote bench/RESULTS.md and {len(figures)} figure(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
