"""quorum.mongodb.rs_smoke against emulated sets, and make demo / make stop end to end."""
import json
import os
import random
import re
import shutil
import socket
import subprocess
import time

import pytest
import yaml
from conftest import ROOT
from emuharness import STARTED_PIDS, pid_alive, stop_pid


def run_tasks(playbook, tmp_path, name, tasks, *extra):
    """Run `tasks` in a play on localhost (the modules talk to the emulated members from there)."""
    play = {"hosts": "localhost", "connection": "local", "gather_facts": False,
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}
    path = tmp_path / name
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return playbook(str(path), "localhost,", *extra)


def smoke_task(name, register, ignore_errors=False, **options):
    task = {"name": name, "quorum.mongodb.rs_smoke": options, "register": register}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def registered(output, variable):
    """The value a `debug: var=<variable>` task printed."""
    start = output.index('"%s": {' % variable)
    return json.JSONDecoder().raw_decode(output[output.index("{", start):])[0]


@pytest.fixture
def tagged_set(start_member):
    """A one-member set rssmoke: tags dc=a, rack=r1; modes oneDC {dc: 1} (satisfiable by the one member)."""
    emu = start_member("--replSet", "rssmoke")
    client = emu.client()
    client.admin.command("replSetInitiate", {
        "_id": "rssmoke", "version": 1, "members": [{"_id": 0, "host": emu.address, "tags": {"dc": "a", "rack": "r1"}}],
        "settings": {"getLastErrorModes": {"oneDC": {"dc": 1}}}})
    deadline = time.monotonic() + 30
    while not client.admin.command("hello").get("isWritablePrimary"):
        assert time.monotonic() < deadline, "the member never became primary"
        time.sleep(0.1)
    return emu


@pytest.mark.playbook
@pytest.mark.emulator
def test_check_mode_plans_the_checks_and_writes_nothing(playbook, tagged_set, tmp_path):
    tasks = [smoke_task("plan", "plan", hosts=[tagged_set.address], replica_set="rssmoke"),
             {"name": "show", "ansible.builtin.debug": {"var": "plan"}}]
    result = run_tasks(playbook, tmp_path, "check.yml", tasks, "--check")
    assert result.returncode == 0, result.stdout
    plan = registered(result.stdout, "plan")
    assert [(w["w"], w["ok"]) for w in plan["writes"]] == [("majority", None), ("oneDC", None)]
    assert [(r["dc"], r["read_preference"], r["ok"], r["served_by"]) for r in plan["reads"]] == [
        ("a", "nearest", None, None)]
    assert plan["members"][0]["host"] == tagged_set.address and plan["members"][0]["type"] == "RSPrimary"
    assert plan["removed"] == 0
    assert "quorum_smoke" not in tagged_set.client().list_database_names()


@pytest.mark.playbook
@pytest.mark.emulator
def test_smoke_writes_under_each_mode_reads_in_each_datacenter_and_cleans_up(playbook, tagged_set, tmp_path):
    member = tagged_set.address
    tasks = [
        smoke_task("prove the set", "smoke", hosts=[member], replica_set="rssmoke", write_timeout=5),
        smoke_task("a mode the config does not define, and no fallback for a dc without a secondary", "failing",
                   ignore_errors=True, hosts=[member], replica_set="rssmoke", write_concern_modes=["majority", "noSuchMode"],
                   dc_read_fallback="none"),
        smoke_task("a seed where nothing listens", "unreachable", ignore_errors=True, hosts=["127.0.0.1:9"],
                   replica_set="rssmoke", server_selection_timeout=1),
        {"name": "show", "ansible.builtin.debug": {"var": "smoke"}},
        {"name": "assert", "ansible.builtin.assert": {"that": [
            "failing is failed",
            "failing.msg is search('write concern noSuchMode: not acknowledged')",
            "failing.msg is search('UnknownReplWriteConcern, code 79')",
            "failing.msg is search('dc a: no member is a secondary the driver can read from')",
            "failing.msg is not search('write concern majority')",
            "failing.writes | map(attribute='ok') | list == [true, false]",
            "failing.removed == 1",
            "unreachable is failed",
            "unreachable.msg is search('cannot read the replica set config through seed 127.0.0.1:9')",
        ]}},
    ]
    result = run_tasks(playbook, tmp_path, "smoke.yml", tasks)
    assert result.returncode == 0, result.stdout
    smoke = registered(result.stdout, "smoke")
    assert smoke["problems"] == [] and smoke["seed"] == member and smoke["set"] == "rssmoke"
    assert [(m["host"], m["type"], m["tags"]) for m in smoke["members"]] == [(member, "RSPrimary", {"dc": "a", "rack": "r1"})]
    assert smoke["members"][0]["rtt_ms"] > 0
    assert [(w["w"], w["ok"]) for w in smoke["writes"]] == [("majority", True), ("oneDC", True)]
    assert all(0 <= w["seconds"] < 5 for w in smoke["writes"])
    read = smoke["reads"][0]
    assert (read["dc"], read["read_preference"], read["served_by"], read["ok"]) == ("a", "nearest", member, True)
    assert read["found_written_document"] is True
    assert smoke["removed"] == 2
    assert "| %s | RSPrimary | a |" % member in "\n".join(smoke["report"])
    assert tagged_set.client().quorum_smoke.checks.count_documents({}) == 0  # the failing run cleaned up too


@pytest.fixture
def two_dc_set(start_member):
    """Three members: dc a holds two (the first preferred as primary), dc b one; mode multiDC {dc: 2}."""
    members = [start_member("--replSet", "rs2dc") for member in range(3)]
    config = {"_id": "rs2dc", "version": 1, "members": [
        {"_id": i, "host": m.address, "priority": 2 if i == 0 else 1, "tags": {"dc": "a" if i < 2 else "b"}}
        for i, m in enumerate(members)],
        "settings": {"heartbeatIntervalMillis": 200, "electionTimeoutMillis": 1000,
                     "getLastErrorModes": {"multiDC": {"dc": 2}}}}
    members[0].client().admin.command("replSetInitiate", config)
    deadline = time.monotonic() + 60
    while True:
        states = [m["stateStr"] for m in members[0].client().admin.command("replSetGetStatus")["members"]]
        if states == ["PRIMARY", "SECONDARY", "SECONDARY"]:
            return members
        assert time.monotonic() < deadline, "the set never settled: %s" % states
        time.sleep(0.2)


@pytest.mark.playbook
@pytest.mark.emulator
def test_smoke_reads_in_each_of_two_datacenters_and_names_what_losing_one_breaks(playbook, two_dc_set, tmp_path):
    primary, dc_a_secondary, dc_b = two_dc_set
    tasks = [smoke_task("prove the set", "whole", hosts=[dc_b.address], replica_set="rs2dc", write_timeout=10),
             {"name": "show", "ansible.builtin.debug": {"var": "whole"}}]
    result = run_tasks(playbook, tmp_path, "whole.yml", tasks)
    assert result.returncode == 0, result.stdout
    whole = registered(result.stdout, "whole")
    assert sorted((m["host"], m["type"]) for m in whole["members"]) == sorted([
        (primary.address, "RSPrimary"), (dc_a_secondary.address, "RSSecondary"), (dc_b.address, "RSSecondary")])
    assert all(m["rtt_ms"] is not None for m in whole["members"])
    assert [(w["w"], w["ok"]) for w in whole["writes"]] == [("majority", True), ("multiDC", True)]
    assert [(r["dc"], r["read_preference"], r["served_by"], r["served_by_type"], r["ok"]) for r in whole["reads"]] == [
        ("a", "secondary", dc_a_secondary.address, "RSSecondary", True),
        ("b", "secondary", dc_b.address, "RSSecondary", True)]

    dc_b.stop()  # datacenter b is lost
    tasks = [smoke_task("prove the set without dc b", "broken", ignore_errors=True, hosts=[primary.address],
                        replica_set="rs2dc", write_timeout=2, discovery_timeout=3, read_timeout=2),
             {"name": "show", "ansible.builtin.debug": {"var": "broken"}}]
    result = run_tasks(playbook, tmp_path, "broken.yml", tasks)
    assert result.returncode == 0, result.stdout
    broken = registered(result.stdout, "broken")
    assert broken["failed"]
    assert [(w["w"], w["ok"]) for w in broken["writes"]] == [("majority", True), ("multiDC", False)]
    assert "write concern multiDC: not acknowledged" in broken["msg"]
    assert "member %s was discovered but the driver sees it as Unknown" % dc_b.address in broken["msg"]
    assert [(r["dc"], r["ok"]) for r in broken["reads"]] == [("a", True), ("b", False)]
    assert "dc b: no read with read preference nearest" in broken["msg"]
    assert "write concern majority" not in broken["msg"] and "dc a:" not in broken["msg"]
    assert primary.client().quorum_smoke.checks.count_documents({}) == 0


# -- end to end: make demo on the local inventory, make stop ------------------------------------


def copy_checkout(target):
    """The parts of this checkout make demo uses, with the venv linked, so the demo runs in its own .demo/
    (copy2 keeps pyproject.toml older than the venv's stamp: make does not reinstall)."""
    for name in ("Makefile", "ansible.cfg", "galaxy.yml", "pyproject.toml"):
        shutil.copy2(os.path.join(ROOT, name), target / name)
    for name in ("inventories", "playbooks", "plugins", "roles", "meta"):
        shutil.copytree(os.path.join(ROOT, name), target / name)
    os.symlink(os.path.join(ROOT, ".venv"), target / ".venv")


def rewrite_addresses(inventory, addresses, port):
    data = yaml.safe_load(inventory.read_text())
    group = data["all"]["children"]["rs_demo"]
    group["vars"]["mongodb_port"] = port
    for host, address in zip(group["hosts"].values(), addresses):
        host["mongodb_host"] = address
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))


def free_addresses(count):
    """`count` consecutive loopback addresses (127.0.0.2-254) and one port free on all of them."""
    rng = random.SystemRandom()
    for attempt in range(200):  # pylint: disable=unused-variable
        first, port = rng.randint(2, 254 - count), rng.randint(20000, 59999)
        addresses = ["127.0.0.%d" % (first + i) for i in range(count)]
        try:
            for address in addresses:
                with socket.socket() as probe:
                    probe.bind((address, port))
        except OSError:
            continue
        return addresses, port
    raise RuntimeError("no free loopback addresses found")


@pytest.mark.playbook
@pytest.mark.emulator
def test_make_demo_provisions_the_local_inventory_and_make_stop_leaves_no_process(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    copy_checkout(checkout)
    addresses, port = free_addresses(6)
    rewrite_addresses(checkout / "inventories" / "local" / "hosts.yml", addresses, port)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    pid_files, pids, stop = [], [], None
    try:
        started = time.monotonic()
        demo = subprocess.run(["make", "--no-print-directory", "demo"], cwd=checkout, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
        elapsed = time.monotonic() - started
        pid_files = sorted((checkout / ".demo").glob("*/mongod.pid"))
        STARTED_PIDS.update(int(p.read_text().strip()) for p in pid_files)
        assert demo.returncode == 0, demo.stdout + (checkout / ".demo" / "site.log").read_text()
        assert len(pid_files) == 6
        out = demo.stdout
        assert "| %s:%d | dc1 | PRIMARY |" % (addresses[0], port) in out or \
            "| %s:%d | dc1 | PRIMARY |" % (addresses[1], port) in out, out
        assert out.count("| SECONDARY |") == 4 and "| ARBITER |" in out, out
        assert "Smoke check of demo from seed" in out and ": passed" in out, out
        assert "| multiDC | yes |" in out and "| majority | yes |" in out, out
        for dc in ("dc1", "dc2", "dc3"):
            assert "| %s | secondary |" % dc in out, out
        assert "| lose dc | members | votes left | primary | w:majority | w:multiDC |" in out, out
        # issue 12 item 9: the plan the replset role applied (one member initiated, the others added),
        # the same Markdown as --check
        assert re.search(r"Reconfiguration plan: \d+ step\(s\) \(lower bound \d+, \d+ voting change\(s\)\)", out), out
        assert "| # | action | version | changes |" in out and "| reconfig step 1 |" in out, out
        assert "make stop" in out
        password = (checkout / ".demo" / "secrets" / "admin_password").read_text().strip()
        assert password not in (checkout / ".demo" / "site.log").read_text()
        print("make demo took %.1f s" % elapsed)
    finally:
        stop = subprocess.run(["make", "--no-print-directory", "stop"], cwd=checkout, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
        pids = [int(p.read_text().strip()) for p in pid_files]
        alive = [pid for pid in pids if pid_alive(pid)]
        for pid in pids:
            stop_pid(pid)  # the safety net, so a failing make stop leaves nothing behind either
    assert stop.returncode == 0, stop.stdout
    assert pids and not alive, "make stop left %s running:\n%s" % (alive, stop.stdout)
