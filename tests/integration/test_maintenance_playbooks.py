"""playbooks/oplog.yml (check mode) and playbooks/force_reconfig.yml (its refusal) on an emulated set."""
import pytest
import yaml


def inventory(path, emu):
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"rs_zero": {"vars": {"mongodb_replset_name": "rs0"},
                                 "hosts": {"member1": {"mongodb_host": emu.host, "mongodb_port": emu.port}}}}}}))
    return path


@pytest.mark.playbook
@pytest.mark.emulator
def test_oplog_playbook_plans_in_check_mode(playbook, small_oplog_set, tmp_path):
    result = playbook("playbooks/oplog.yml", inventory(tmp_path / "hosts.yml", small_oplog_set), "--check")
    assert result.returncode == 0, result.stdout
    assert "rs0: " in result.stdout and "%s 50 MB -> " % small_oplog_set.address in result.stdout
    assert "(resize, grow: " in result.stdout and "MB needed now is more than 50 MB + 25%" in result.stdout


@pytest.mark.playbook
@pytest.mark.emulator
def test_force_reconfig_playbook_refuses_on_a_healthy_set(playbook, single_member_set, tmp_path):
    result = playbook("playbooks/force_reconfig.yml", inventory(tmp_path / "hosts.yml", single_member_set),
                      "-e", "replset=rs0", "-e", '{"survivors": ["%s"]}' % single_member_set.address)
    assert result.returncode != 0
    assert "refusing to force a reconfig, nothing was changed" in result.stdout
    assert "answers as PRIMARY" in result.stdout
    missing = playbook("playbooks/force_reconfig.yml", inventory(tmp_path / "hosts.yml", single_member_set))
    assert missing.returncode != 0
    assert "pass -e replset=<name>" in missing.stdout
