"""A member that does not start fails the mongod role with what mongod logged: here its dbPath
is full (a 16 MB tmpfs, root only, unmounted by its path). mongod stops at the first write
that fails (WiredTiger panics: src/mongo/db/storage/wiredtiger/wiredtiger_util.cpp,
mdb_handle_error_with_startup_suppression, fassert 50853), before or after it listens; the role
said only "non-zero return code" or, after waiting for the port, "Timeout when waiting for
host:port" (found by the chaos drill disk_full). It now shows the start's last lines and the
error and fatal lines at the end of mongod's log."""
import os
import sys

import pytest
import yaml

from emuharness import STARTED_PIDS, fill_filesystem, mount_tmpfs, pick_address, pid_alive, stop_pid, unmount


@pytest.fixture
def member_on_tmpfs(tmp_path):
    base = tmp_path / "member"
    try:
        mount_tmpfs(base / "data", 16, "quorum-test-role-full")
    except OSError as exc:
        pytest.skip(str(exc))
    try:
        yield base
    finally:
        for pid_file in (base / "mongod.pid", tmp_path / "m2" / "mongod.pid"):  # m2: the healthy member
            if pid_file.exists() and pid_file.read_text().strip().isdigit():
                pid = int(pid_file.read_text().strip())
                if pid_alive(pid):
                    STARTED_PIDS.add(pid)
                    stop_pid(pid)
        unmount(base / "data")


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_member_that_does_not_start_fails_with_mongods_own_error(playbook, tmp_path, member_on_tmpfs):
    host, port = pick_address()
    other_host, other_port = pick_address()
    hosts = tmp_path / "hosts.yml"
    common = {"mongodb_replset_name": "rsfull", "mongod_install": False, "mongod_service_manager": "fork",
              "mongod_binary": os.path.join(os.path.dirname(sys.executable), "mongoemu"),
              "mongod_start_timeout": 20, "mongod_keyfile_content": "k" * 40}
    hosts.write_text(yaml.safe_dump({"all": {"children": {"members": {"hosts": {
        "m1": {"mongodb_host": host, "mongodb_port": port, "mongod_base_dir": str(member_on_tmpfs), **common},
        "m2": {"mongodb_host": other_host, "mongodb_port": other_port, "mongod_base_dir": str(tmp_path / "m2"),
               **common}}}}}}))
    fill_filesystem(member_on_tmpfs / "data")  # the dbPath's filesystem, full
    failed = playbook("tests/integration/files/mongod_role_fatal.yml", hosts)
    assert failed.returncode != 0, failed.stdout
    fatal = "\n".join(line for line in failed.stdout.splitlines() if line.startswith("fatal:"))
    assert "mongod on m1 (%s:%d) did not start" % (host, port) in fatal, failed.stdout[-3000:]
    # what mongod said: its --fork parent's last lines, and its log's error and fatal lines
    assert "No space left on device" in fatal.split("did not start", 1)[1], fatal
    # m2 is not said to have failed to start: the play stops every host at m1's failure
    # (any_errors_fatal, as site.yml does), which runs m2's rescue too
    assert "mongod on m2" not in fatal, fatal
