"""A rolling upgrade (playbooks/upgrade.yml) against a naive one (every member at once), 7.0.14 -> 8.0.4.

Both on three field-lab machines (lab/fieldlab.py: Debian 12 with systemd, SSH, MongoDB's packages from
the lab's signed repository; the set of molecule/upgrade: three data members, auth + keyFile), each from
a fresh lab provisioned with site.yml, with a w:"majority" writer (molecule/upgrade/writer.py) running
through the upgrade:
- rolling: playbooks/upgrade.yml - secondaries one at a time, the primary last after a stepdown, then FCV 8.0;
- naive: the 8.0.4 packages installed and every member restarted at once (the mongod role's install and
  restart tasks on all hosts in parallel), then FCV 8.0 - what a changed mongod_version did before
  upgrade.yml.
Measured: the wall time of the upgrade, the seconds without a writable primary (the time in gaps of more
than a second between the writer's acknowledged writes; it writes every ~20 ms), the longest gap, the
elections (the set's term before and after) and the acknowledged writes missing afterwards. Needs root.

    .venv/bin/python bench/bench_upgrade.py

Writes bench/results/upgrade.json and upgrade.md.
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
SCENARIO = ROOT / "molecule" / "upgrade"
sys.path[:0] = [str(ROOT / "lab")]

import fieldlab  # noqa: E402

STATE = ROOT / ".lab" / "bench-upgrade"
LAB_ARGS = ["--state", str(STATE), "--name", "bupg", "--subnet", "10.78.2"]  # the scenario's addresses
MEMBERS = ["10.78.2.11:27017", "10.78.2.12:27017", "10.78.2.13:27017"]
GAP_SECONDS = 1.0

NAIVE = """
- name: Every member at once - the 8.0.4 packages and a restart (what a changed mongod_version did)
  hosts: rs_upgrade
  gather_facts: false
  tasks:
    - name: Read the platform
      ansible.builtin.include_role: {name: quorum.mongodb.mongod, tasks_from: platform.yml, public: true}
    - name: Install the packages of the inventory's version
      ansible.builtin.include_role: {name: quorum.mongodb.mongod, tasks_from: install.yml}
    - name: Restart
      ansible.builtin.include_role: {name: quorum.mongodb.mongod, tasks_from: restart.yml}
- name: Then the FCV
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/quorum.mongodb.mongodb: {hosts: %(members)s, replica_set: upgrade, login_user: admin,
                                   login_password: "{{ mongodb_login_password }}"}
  tasks:
    - name: Wait until the set is healthy
      quorum.mongodb.rs_status: {wait_for: healthy, timeout: 300, oplog_window: false}
    - name: Raise the FCV
      quorum.mongodb.fcv: {version: "8.0"}
"""


def env() -> dict:
    return dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH="%s:%s" % (BIN, os.environ["PATH"]),
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                QUORUM_FIELD_LAB=str(STATE))


def in_lab(command: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "lab" / "fieldlab.py")] + LAB_ARGS + ["exec", "--"] + command


def playbook(inventory: str, path: str, *extra: str) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(in_lab([str(BIN / "ansible-playbook"), "-i", str(SCENARIO / inventory), path, *extra]),
                          cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1800, check=False)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (path, proc.stdout[-4000:]))
    return seconds, proc.stdout


def password() -> str:
    return yaml.safe_load((SCENARIO / "inventory" / "hosts.yml").read_text())["all"]["vars"]["mongodb_login_password"]


def set_facts() -> dict:
    """The term, each member's version and the FCV, read inside the lab (pymongo from the venv)."""
    script = ("import json, sys; from pymongo import MongoClient\n"
              "c = MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)\n"
              "s = c.admin.command('replSetGetStatus')\n"
              "fcv = c.admin.command('getParameter', 1, featureCompatibilityVersion=1)['featureCompatibilityVersion']\n"
              "print(json.dumps({'term': s['term'], 'fcv': fcv.get('version'), 'stored': sorted(d['_id'] for d in "
              "c.upgrade_check.writes.find({}, {'_id': 1}))}))")
    out = subprocess.run(in_lab([sys.executable, "-c", script, uri()]), cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                         text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def uri() -> str:
    return "mongodb://admin:%s@%s/?replicaSet=upgrade" % (password(), ",".join(MEMBERS))


def gaps(log: Path) -> tuple[list[int], list[float]]:
    acknowledged, times = [], []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if "id" in entry:
            acknowledged.append(entry["id"])
            times.append(entry["t"])
    return acknowledged, [b - a for a, b in zip(times, times[1:])]


def run(kind: str, tmp: Path) -> dict:
    try:
        fieldlab.main(LAB_ARGS + ["start", "--machines", "3"])
        playbook("inventory", "playbooks/site.yml")
        before = set_facts()
        log, stop = tmp / (kind + ".jsonl"), tmp / (kind + ".stop")
        writer = subprocess.Popen(in_lab([sys.executable, str(SCENARIO / "writer.py"), uri(), str(log), str(stop)]),
                                  cwd=ROOT, env=env())
        deadline = time.monotonic() + 60
        while (not log.exists() or len(log.read_text().splitlines()) < 20) and time.monotonic() < deadline:
            time.sleep(0.2)
        if kind == "rolling":
            seconds, _ = playbook("inventory_v2", "playbooks/upgrade.yml")
        else:
            naive = tmp / "naive.yml"
            naive.write_text(NAIVE % {"members": json.dumps(MEMBERS)})
            seconds, _ = playbook("inventory_v2", str(naive))
        time.sleep(2)  # a last stretch of writes after the upgrade
        stop.touch()
        writer.wait(timeout=120)
        after = set_facts()
    finally:
        left = fieldlab.stop(str(STATE))
    if left:
        raise RuntimeError("the lab left: %s" % left)
    acknowledged, intervals = gaps(log)
    lost = sorted(set(acknowledged) - set(after["stored"]))
    return {"upgrade_s": round(seconds, 1), "without_writable_primary_s": round(sum(g for g in intervals if g > GAP_SECONDS), 1),
            "longest_gap_s": round(max(intervals or [0]), 1), "elections": after["term"] - before["term"],
            "acknowledged_writes": len(acknowledged), "acknowledged_lost": len(lost), "fcv_after": after["fcv"]}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-upgrade-") as tmp:
        rolling = run("rolling", Path(tmp))
        naive = run("naive", Path(tmp))
    load = os.getloadavg()
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": ".venv/bin/python bench/bench_upgrade.py", "load_average_1m_at_end": round(load[0], 2),
              "topology": "3 data members on 3 field-lab machines, auth + keyFile, 7.0.14 -> 8.0.4, a w:majority writer",
              "rolling": rolling, "naive": naive}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "upgrade.json").write_text(json.dumps(result, indent=2) + "\n")
    row = "| %s | %s | %s | %s | %s | %s / %s | %s |"
    where = "`%s`, %s (load average %.2f at the end). %s." % (
        result["command"], result["date"], result["load_average_1m_at_end"], result["topology"])
    lines = ["# Rolling upgrade (upgrade.yml) against every member at once", "", where, "",
             "| upgrade | wall time (s) | without a writable primary (s) | longest gap (s) | elections | "
             "acknowledged lost / written | FCV after |", "|---|---|---|---|---|---|---|"]
    for name, label in (("rolling", "upgrade.yml: one member at a time, the primary last after a stepdown"),
                        ("naive", "naive: every member's packages and restart at once")):
        r = result[name]
        lines.append(row % (label, r["upgrade_s"], r["without_writable_primary_s"], r["longest_gap_s"], r["elections"],
                            r["acknowledged_lost"], r["acknowledged_writes"], r["fcv_after"]))
    lines.append("")
    (RESULTS / "upgrade.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
