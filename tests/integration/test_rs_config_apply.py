"""quorum.mongodb.rs_config applying reconfigurations to an emulated one-member set."""
import pytest

from conftest import initiate_one_member_set


@pytest.fixture
def initiated_member(start_member):
    emu = start_member("--replSet", "rsa")
    initiate_one_member_set(emu, "rsa", {"dc": "a"})
    return emu


@pytest.mark.playbook
@pytest.mark.emulator
def test_apply_tags_and_settings_then_a_bounded_wait(run_cases, initiated_member):
    run_cases("rs_config_apply_cases.yml", initiated_member)
    config = initiated_member.client().admin.command("replSetGetConfig")["config"]
    assert [m["host"] for m in config["members"]] == [initiated_member.address, "127.0.0.1:9"]
    assert config["version"] == 3
