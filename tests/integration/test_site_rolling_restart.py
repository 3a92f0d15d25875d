"""playbooks/site.yml on a three-member emulated set with auth: a mongod.conf change on a live
set restarts the members one at a time, secondaries first and the primary last after a
stepdown, and the set is healthy at the end."""
import json
import os
import sys

import pytest
import yaml

from emuharness import STARTED_PIDS, pick_address, stop_pid


def _inventory(tmp_path, members, oplog_mb):
    hosts = {}
    for name, (host, port, dc, priority) in members.items():
        hosts[name] = {"mongodb_host": host, "mongodb_port": port, "mongodb_datacenter": dc,
                       "mongodb_priority": priority, "mongod_base_dir": str(tmp_path / name)}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "ansible_connection": "local"},
        "children": {"rs_roll": {
            "vars": {"mongodb_replset_name": "roll", "mongodb_login_user": "admin",
                     "mongodb_login_password": "Roll-admin-1", "mongod_keyfile_content": "r" * 48,
                     "mongod_oplog_size_mb": oplog_mb, "mongodb_smoke_check": False,
                     "mongodb_replset_settings": {"electionTimeoutMillis": 1000,
                                                  "heartbeatIntervalMillis": 200},
                     "mongod_binary": os.path.join(os.path.dirname(sys.executable), "mongoemu"),
                     "mongod_install": False, "mongod_service_manager": "fork"},
            "hosts": hosts}}}}))
    return tmp_path / "hosts.yml"


def _starts(tmp_path, name):
    """When the member's processes started, from its log (mongod's JSON lines)."""
    lines = (tmp_path / name / "mongod.log").read_text().splitlines()
    return [json.loads(line)["t"]["$date"] for line in lines if '"id":4615611' in line]


@pytest.mark.playbook
@pytest.mark.emulator
def test_config_change_restarts_one_member_at_a_time_primary_last(playbook, tmp_path):
    members = {}
    for name, dc, priority in (("m1", "dc1", 2), ("m2", "dc1", 1), ("m3", "dc2", 1)):
        host, port = pick_address()
        members[name] = (host, port, dc, priority)
    pids = {}
    try:
        first = playbook("playbooks/site.yml", _inventory(tmp_path, members, 100))
        for name in members:
            pids[name] = int((tmp_path / name / "mongod.pid").read_text().strip())
            STARTED_PIDS.add(pids[name])
        assert first.returncode == 0, first.stdout
        assert "| %s:%d | dc1 | PRIMARY |" % members["m1"][:2] in first.stdout

        second = playbook("playbooks/site.yml", _inventory(tmp_path, members, 200))
        restarted = {name: int((tmp_path / name / "mongod.pid").read_text().strip())
                     for name in members}
        STARTED_PIDS.update(restarted.values())
        assert second.returncode == 0, second.stdout
        assert all(restarted[name] != pids[name] for name in members), (pids, restarted)
        assert "oplogSizeMB: 200" in (tmp_path / "m1" / "mongod.conf").read_text()
        second_starts = {name: _starts(tmp_path, name)[-1] for name in members}
        assert max(second_starts, key=second_starts.get) == "m1", second_starts  # primary last
        assert "Step this member down first" in second.stdout
        assert second.stdout.count("TASK [quorum.mongodb.mongod : Restart the member]") == 3
        # each restart waited for a healthy set before the next member went down
        assert second.stdout.count("Wait until it is back in the set and the set is healthy") == 3
    finally:
        for name in members:
            pidfile = tmp_path / name / "mongod.pid"
            if pidfile.exists():
                stop_pid(int(pidfile.read_text().strip()))
