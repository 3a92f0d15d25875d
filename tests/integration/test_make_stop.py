"""make stop and members started by hand (issue 12 item 12): a member started with a relative -f path
(from the checkout, or from inside its own directory) is stopped; a process whose command line does
not name that member's directory is left alone, even when the member's pid file names it."""
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from emuharness import STARTED_PIDS, pid_alive, stop_pid
from test_rs_smoke import free_addresses

MONGOEMU = os.path.join(os.path.dirname(sys.executable), "mongoemu")


def member_dir(state, name, address, port):
    path = state / name
    (path / "data").mkdir(parents=True)
    text = ("net: {bindIp: %s, port: %d}\nstorage: {dbPath: %s}\nsystemLog: {destination: file, path: %s}\n"
            "processManagement: {pidFilePath: %s}\n")
    path.joinpath("mongod.conf").write_text(
        text % (address, port, path / "data", path / "mongod.log", path / "mongod.pid"))
    return path


def wait_for_pid_file(path, process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().strip())
        assert process.poll() is None, (path.parent / "mongod.log").read_text()
        time.sleep(0.1)
    raise AssertionError("no pid file %s after 30 s" % path)


@pytest.mark.emulator
def test_make_stop_stops_members_started_by_hand_with_a_relative_config_path(tmp_path):
    state = tmp_path / ".demo"
    (address_a, address_b), port = free_addresses(2)
    first = member_dir(state, "dc1-a", address_a, port)
    second = member_dir(state, "dc1-b", address_b, port)
    decoy_dir = state / "dc2-a"
    decoy_dir.mkdir()
    processes = []
    try:
        # from the checkout: mongoemu -f .demo/dc1-a/mongod.conf
        processes.append(subprocess.Popen([MONGOEMU, "-f", os.path.join(".demo", "dc1-a", "mongod.conf")],
                                          cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # from inside the member's directory: mongoemu --config=mongod.conf
        processes.append(subprocess.Popen([MONGOEMU, "--config=mongod.conf"], cwd=second,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # a pid file naming a process that is not that member (its cwd is the member's directory)
        processes.append(subprocess.Popen(["sleep", "120"], cwd=decoy_dir))
        STARTED_PIDS.update(p.pid for p in processes)
        for directory, process in zip((first, second), processes):
            assert wait_for_pid_file(directory / "mongod.pid", process) == process.pid
        decoy_dir.joinpath("mongod.pid").write_text("%d\n" % processes[2].pid)

        stop = subprocess.run(["make", "--no-print-directory", "-f", os.path.join(ROOT, "Makefile"), "stop",
                               "DEMO_STATE=%s" % state], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
        assert stop.returncode == 0, stop.stdout
        assert "stopping %s (pid %d)" % (first, processes[0].pid) in stop.stdout, stop.stdout
        assert "stopping %s (pid %d)" % (second, processes[1].pid) in stop.stdout, stop.stdout
        for process in processes[:2]:
            process.wait(timeout=10)
        assert processes[2].poll() is None and pid_alive(processes[2].pid), "make stop killed a process that " \
            "is not a member: %s" % stop.stdout
    finally:
        for process in processes:
            stop_pid(process.pid)
            process.wait(timeout=30)
