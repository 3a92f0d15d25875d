"""Run ansible-playbook from the project's venv against this checkout of the collection."""
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))  # emuharness: start/stop mongoemu by pid

from emuharness import STARTED_PIDS, Emu, pick_address, stop_all_started  # noqa: E402
import conf_members  # noqa: E402
from mongoemu.cluster import ReplicaSetCluster  # noqa: E402

conf_member = conf_members.conf_member  # a fixture: members started from a mongod.conf

# The start of a play that runs modules on the controller with the venv's Python (and its pymongo);
# a test's play text goes on with its own vars, module_defaults, environment or tasks.
LOCAL_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def ansible_env():
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".venv", "collections"),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    })
    return env


@pytest.fixture
def playbook():
    """playbook(path, inventory, *extra) -> CompletedProcess with stdout+stderr in .stdout."""
    def run(path, inventory, *extra, timeout=180):
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                   os.path.join(ROOT, path)] + list(extra)
        return subprocess.run(command, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    return run


FAST_ELECTIONS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200}


@pytest.fixture
def replica_set(tmp_path):
    """replica_set(specs, set_name, primary=None, **options) -> a started ReplicaSetCluster with
    a primary and every member ready (settings FAST_ELECTIONS unless given); with primary=i, also
    until member i is primary (a priority takeover once it caught up). Stopped by pid after the
    test."""
    started = []

    def start(specs, set_name, primary=None, **options):
        options.setdefault("settings", FAST_ELECTIONS)
        rs = ReplicaSetCluster(specs, set_name=set_name, root=tmp_path / set_name,
                               on_start=lambda m: STARTED_PIDS.add(m.pid), **options)
        started.append(rs)
        rs.start()
        rs.wait_ready(timeout=30)
        deadline = time.monotonic() + 20
        while primary is not None and rs.primary() != rs.members[primary].address:
            assert time.monotonic() < deadline, "member %d did not become primary" % primary
            time.sleep(0.2)
        return rs
    yield start
    for rs in started:
        rs.stop()


@pytest.fixture
def recorded_play(playbook, tmp_path):
    """recorded_play(name, variables) runs tests/integration/files/<name>.yml (a play that writes
    its registered module result to `out`) with -e @vars.json; returns that result."""
    def run(name, variables, timeout=300):
        stamp = time.monotonic_ns()
        out, path = tmp_path / f"{name}-{stamp}.json", tmp_path / f"{name}-{stamp}-vars.json"
        path.write_text(json.dumps({**variables, "out": str(out)}))
        result = playbook(f"tests/integration/files/{name}.yml", "localhost,", "-e", f"@{path}",
                          timeout=timeout)
        assert result.returncode == 0, result.stdout
        return json.loads(out.read_text())
    return run


@pytest.fixture
def run_cases(playbook):
    """run_cases(file, member, *extra) runs tests/integration/files/<file> (a play of tasks
    ending in assertions) against an emulated member; every task must pass."""
    def run(name, member, *extra):
        result = playbook(os.path.join("tests", "integration", "files", name), "localhost,",
                          "-e", "member=%s" % member.address, *extra)
        assert result.returncode == 0, result.stdout
        assert "failed=0" in result.stdout
        return result
    return run


@pytest.fixture
def start_member(tmp_path):
    """start_member(*mongod_args) -> a running mongoemu member on a free 127.0.0.x address;
    every member started is stopped by pid after the test."""
    started = []

    def start(*args):
        host, port = pick_address()
        emu = Emu(root=tmp_path / ("member%d" % len(started)), host=host, port=port, extra_args=list(args))
        started.append(emu)
        emu.start()
        return emu
    yield start
    for emu in started:
        emu.stop()


def initiate_one_member_set(emu, set_name, tags=None):
    """replSetInitiate a one-member set on `emu` and wait (bounded) until it is primary."""
    member = {"_id": 0, "host": emu.address}
    if tags:
        member["tags"] = tags
    client = emu.client()
    client.admin.command("replSetInitiate", {"_id": set_name, "version": 1, "members": [member]})
    deadline = time.monotonic() + 30
    while not client.admin.command("hello").get("isWritablePrimary"):
        assert time.monotonic() < deadline, "the member never became primary"
        time.sleep(0.1)
    return client


@pytest.fixture(scope="module")
def single_member_set(tmp_path_factory):
    """A one-member replica set rs0 on mongoemu (tag dc: a), initiated and primary; stopped by pid."""
    host, port = pick_address()
    emu = Emu(root=tmp_path_factory.mktemp("rs0"), host=host, port=port, extra_args=["--replSet", "rs0"])
    emu.start()
    try:
        initiate_one_member_set(emu, "rs0", {"dc": "a"}).rs0test.items.insert_one({"x": 1})
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session", autouse=True)
def _stop_leftover_members():
    """Safety net: whatever a test started and did not stop is stopped here, by pid."""
    yield
    assert not stop_all_started(), "mongoemu processes left running"


@pytest.fixture
def small_oplog_set(start_member):
    """A one-member set with a 50 MB oplog and some writes in it."""
    emu = start_member("--replSet", "rs0", "--oplogSize", "50")
    client = initiate_one_member_set(emu, "rs0")
    client.app.items.insert_one({"first": True})
    time.sleep(1.1)  # a second of history, so the rate has a time span
    client.app.items.insert_many([{"i": i, "pad": "x" * 500} for i in range(200)])
    return emu
