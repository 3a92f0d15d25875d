"""The mongod role with mongoemu as the binary: configure, start, idempotent rerun, restart
on a config change, stop by pid."""
import os
import stat
import sys

import pytest
import yaml

from emuharness import STARTED_PIDS, pick_address, pid_alive, stop_pid


def inventory(path, base, host, port, **extra):
    member = {"mongodb_host": host, "mongodb_port": port, "mongodb_replset_name": "rsrole",
              "mongod_binary": os.path.join(os.path.dirname(sys.executable), "mongoemu"),
              "mongod_install": False, "mongod_service_manager": "fork",
              "mongod_base_dir": str(base)}
    member.update(extra)
    path.write_text(yaml.safe_dump({"all": {"children": {"members": {"hosts": {"m1": member}}}}}))
    return path


def running_pid(base):
    pid = int((base / "mongod.pid").read_text().strip())
    STARTED_PIDS.add(pid)  # the session safety net stops it by pid if a test fails midway
    return pid


@pytest.mark.playbook
@pytest.mark.emulator
def test_role_configures_starts_is_idempotent_restarts_and_stops(playbook, tmp_path):
    host, port = pick_address()
    base = tmp_path / "member"
    hosts = inventory(tmp_path / "hosts.yml", base, host, port, mongod_keyfile_content="k" * 40)
    pid = None
    try:
        first = playbook("tests/integration/files/mongod_role.yml", hosts)
        assert first.returncode == 0, first.stdout
        pid = running_pid(base)
        conf = yaml.safe_load((base / "mongod.conf").read_text())
        assert conf["net"] == {"port": port, "bindIp": host}
        assert conf["replication"] == {"replSetName": "rsrole"}
        assert conf["security"] == {"keyFile": str(base / "keyfile"), "authorization": "enabled"}
        assert stat.S_IMODE(os.stat(base / "keyfile").st_mode) == 0o400
        assert "k" * 40 not in first.stdout

        again = playbook("tests/integration/files/mongod_role.yml", hosts)
        assert again.returncode == 0, again.stdout
        assert "changed=0" in again.stdout
        assert running_pid(base) == pid

        # The rerun skips the writes when member_host reads what they would write; what was changed by
        # hand is still put back (content, mode) and restarts the member.
        written = (base / "mongod.conf").read_text()
        (base / "mongod.conf").write_text(written + "# edited by hand\n")
        (base / "keyfile").chmod(0o440)
        (base / "data").chmod(0o755)
        repaired = playbook("tests/integration/files/mongod_role.yml", hosts)
        assert repaired.returncode == 0, repaired.stdout
        assert (base / "mongod.conf").read_text() == written
        assert stat.S_IMODE(os.stat(base / "keyfile").st_mode) == 0o400
        assert stat.S_IMODE(os.stat(base / "data").st_mode) == 0o750
        new_pid = running_pid(base)
        assert new_pid != pid and not pid_alive(pid)
        pid = new_pid

        changed = playbook("tests/integration/files/mongod_role.yml",
                           inventory(tmp_path / "hosts.yml", base, host, port, mongod_keyfile_content="k" * 40,
                                     mongod_oplog_size_mb=100))
        assert changed.returncode == 0, changed.stdout
        new_pid = running_pid(base)
        assert new_pid != pid and not pid_alive(pid)
        pid = new_pid

        stopped = playbook("tests/integration/files/mongod_role.yml", hosts, "-e", "mongod_state=stopped")
        assert stopped.returncode == 0, stopped.stdout
        assert not pid_alive(pid)
    finally:
        if pid is not None:
            stop_pid(pid)
