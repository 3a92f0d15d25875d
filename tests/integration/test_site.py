"""playbooks/site.yml on one emulated member with authorization: provision, initiate, bootstrap
the first administrator, and a rerun that changes nothing."""
import os
import sys

import pytest
import yaml
from emuharness import STARTED_PIDS, pick_address, stop_pid


@pytest.mark.playbook
@pytest.mark.emulator
def test_site_provisions_an_authenticated_set_and_is_idempotent(playbook, tmp_path):
    host, port = pick_address()
    base = tmp_path / "m1"
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}", "ansible_connection": "local"},
        "children": {"rs_site": {
            "vars": {"mongodb_replset_name": "rssite", "mongodb_login_user": "admin",
                     "mongodb_login_password": "Site-admin-1", "mongod_keyfile_content": "s" * 48,
                     "mongod_binary": os.path.join(os.path.dirname(sys.executable), "mongoemu")},
            "hosts": {"m1": {"mongodb_host": host, "mongodb_port": port, "mongodb_datacenter": "dc1",
                             "mongod_base_dir": str(base)}}}}}}))
    try:
        first = playbook("playbooks/site.yml", tmp_path / "hosts.yml")
        assert first.returncode == 0, first.stdout
        STARTED_PIDS.add(int((base / "mongod.pid").read_text().strip()))
        assert "| %s:%d | dc1 | PRIMARY |" % (host, port) in first.stdout
        assert "Site-admin-1" not in first.stdout and "s" * 48 not in first.stdout
        second = playbook("playbooks/site.yml", tmp_path / "hosts.yml")
        assert second.returncode == 0, second.stdout
        assert "changed=0" in second.stdout and "changed=1" not in second.stdout
    finally:
        if (base / "mongod.pid").exists():
            stop_pid(int((base / "mongod.pid").read_text().strip()))
