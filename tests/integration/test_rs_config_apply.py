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
def test_apply_tags_and_settings_then_a_bounded_wait(run_cases, initiated_member, start_member):
    stranger = start_member("--replSet", "elsewhere")  # answers hello uninitialised, never joins rsa
    run_cases("rs_config_apply_cases.yml", initiated_member, "-e", "stranger=%s" % stranger.address)
    config = initiated_member.client().admin.command("replSetGetConfig")["config"]
    assert [m["host"] for m in config["members"]] == [initiated_member.address, stranger.address]
    assert config["version"] == 3
