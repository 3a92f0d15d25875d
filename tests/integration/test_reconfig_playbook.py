"""playbooks/reconfig.yml and status.yml, the GitOps apply step, on an emulated member."""
import pytest
import yaml


def inventory(path, emu, datacenter):
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"rs_gitops": {
            "vars": {"mongodb_replset_name": "rsg", "mongodb_write_concern_modes": "auto"},
            "hosts": {"member1": {"mongodb_host": emu.host, "mongodb_port": emu.port,
                                  "mongodb_datacenter": datacenter}}}}}}))
    return path


@pytest.mark.playbook
@pytest.mark.emulator
def test_initiate_then_plan_a_change_in_check_mode(playbook, start_member, tmp_path):
    emu = start_member("--replSet", "rsg")
    first = playbook("playbooks/reconfig.yml", inventory(tmp_path / "v1.yml", emu, "a"))
    assert first.returncode == 0, first.stdout
    assert '"msg": [\n        "initiated"\n    ]' in first.stdout
    again = playbook("playbooks/reconfig.yml", inventory(tmp_path / "v1.yml", emu, "a"))
    assert again.returncode == 0, again.stdout
    assert "No change: the live config already matches the desired one." in again.stdout
    assert "changed=0" in again.stdout
    planned = playbook("playbooks/reconfig.yml", inventory(tmp_path / "v2.yml", emu, "b"), "--check", "--diff")
    assert planned.returncode == 0, planned.stdout
    assert "Reconfiguration plan: 1 step(s) (lower bound 1, 0 voting change(s)), 0 election(s) expected" in planned.stdout
    assert "tags {'dc': 'a'} -> {'dc': 'b'}" in planned.stdout
    config = emu.client().admin.command("replSetGetConfig")["config"]
    assert config["version"] == 1 and config["members"][0]["tags"] == {"dc": "a"}
    status = playbook("playbooks/status.yml", inventory(tmp_path / "v1.yml", emu, "a"))
    assert status.returncode == 0, status.stdout
    assert "| %s | a | PRIMARY | 1 | 1 | 0 |" % emu.address in status.stdout
