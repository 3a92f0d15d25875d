"""site.yml on separate machines against the same topology on forked members (issue 19's benchmark).

The same four-member topology (3 data members and an arbiter over three datacenters, auth and a
keyFile, the smoke check), provisioned twice with playbooks/site.yml:
- field: on four field-lab machines (lab/fieldlab.py: systemd-nspawn, systemd as PID 1, SSH as a sudo
  user, MongoDB's packages from the lab's signed repository, one systemd unit per member), the
  controller inside the lab's network namespace (inventories/lab);
- forked: on four mongoemu processes forked on this machine's 127.0.0.x (ansible_connection local).
Each: cold (from nothing: for the field, the machines are booted first and their boot is timed
apart) and an idempotent rerun (changed=0 is required). Needs root.

    .venv/bin/python bench/bench_field.py

Writes bench/results/field.json and field.md.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT / "lab"), str(ROOT / "tests" / "emulator")]

import fieldlab  # noqa: E402
from emuharness import pick_address  # noqa: E402


def ansible_env(**extra: str) -> dict:
    return dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH="%s:%s" % (BIN, os.environ["PATH"]),
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                **extra)


def timed_playbook(command: list[str], env: dict) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1200, check=False)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(command), proc.stdout[-4000:]))
    return seconds, proc.stdout


def changed_total(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def field_run(state: Path) -> dict:
    lab_args = ["--state", str(state), "--name", "bench", "--subnet", "10.78.0"]
    env = ansible_env(QUORUM_LAB_STATE=str(state))
    command = [sys.executable, str(ROOT / "lab" / "fieldlab.py")] + lab_args + [
        "exec", "--", str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/site.yml"]
    try:
        started = time.monotonic()
        fieldlab.main(lab_args + ["start", "--machines", "4"])
        boot = time.monotonic() - started
        cold, _ = timed_playbook(command, env)
        rerun, out = timed_playbook(command, env)
    finally:
        left = fieldlab.stop(str(state))
    if left:
        raise RuntimeError("the lab left: %s" % left)
    return {"boot_4_machines_s": round(boot, 1), "cold_s": round(cold, 1), "rerun_s": round(rerun, 1),
            "rerun_changed": changed_total(out)}


def forked_inventory(path: Path) -> list[str]:
    """inventories/lab's topology and secrets policy on forked members (127.0.0.x, one port)."""
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "hosts.yml").read_text())["all"]
    host, port = pick_address()
    first = int(host.rsplit(".", 1)[1])
    hosts, addresses = {}, []
    for index, (name, member) in enumerate(lab["children"]["rs_lab"]["hosts"].items()):
        address = "127.0.%d.%d" % (int(host.split(".")[2]), first + index)
        addresses.append(address)
        keep = {k: v for k, v in member.items() if k.startswith("mongodb_") and k != "mongodb_host"}
        hosts[name] = dict(keep, mongodb_host=address, mongodb_port=port,
                           mongod_base_dir=str(path.parent / name))
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "mongodb_login_user": "admin", "mongodb_login_password": "Bench-forked-1"},
        "children": {"rs_lab": {"vars": {
            "mongodb_replset_name": "lab", "mongodb_write_concern_modes": "auto", "mongod_install": False,
            "mongod_service_manager": "fork", "mongod_binary": str(BIN / "mongoemu"),
            "mongod_keyfile_content": "k" * 64}, "hosts": hosts}}}}))
    return addresses


def forked_run(tmp: Path) -> dict:
    inventory = tmp / "forked" / "hosts.yml"
    inventory.parent.mkdir(parents=True)
    forked_inventory(inventory)
    command = [str(BIN / "ansible-playbook"), "--forks", "8", "-i", str(inventory), "playbooks/site.yml"]
    try:
        cold, _ = timed_playbook(command, ansible_env())
        rerun, out = timed_playbook(command, ansible_env())
    finally:  # every member stopped by the pid in its pid file (the mongod role's stop)
        stop = tmp / "stop.yml"
        stop.write_text(yaml.safe_dump([{"name": "Stop the members", "hosts": "all", "gather_facts": False,
                                         "roles": [{"role": "quorum.mongodb.mongod", "mongod_state": "stopped"}]}]))
        subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(stop)], cwd=ROOT,
                       env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return {"cold_s": round(cold, 1), "rerun_s": round(rerun, 1), "rerun_changed": changed_total(out)}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-field-") as tmp:
        field = field_run(ROOT / ".lab" / "bench")
        forked = forked_run(Path(tmp))
    load = os.getloadavg()
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": ".venv/bin/python bench/bench_field.py", "load_average_1m_at_end": round(load[0], 2),
              "topology": "3 data members + 1 arbiter over 3 datacenters, auth + keyFile, smoke check",
              "field": field, "forked": forked}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "field.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# site.yml on separate machines (field lab) and on forked members", "",
             "`%s`, %s (load average %.2f at the end). %s." % (result["command"], result["date"],
                                                            result["load_average_1m_at_end"], result["topology"]), "",
             "| where | boot 4 machines (s) | cold site.yml (s) | rerun (s) | rerun changed |", "|---|---|---|---|---|",
             "| field lab: 4 machines over SSH, packages, systemd | %s | %s | %s | %s |" % (
                 field["boot_4_machines_s"], field["cold_s"], field["rerun_s"], field["rerun_changed"]),
             "| forked: 4 mongoemu processes on 127.0.0.x | - | %s | %s | %s |" % (
                 forked["cold_s"], forked["rerun_s"], forked["rerun_changed"]), ""]
    (RESULTS / "field.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
