"""quorum.mongodb.rs_config against an emulated member: initiate, idempotency, check mode.

Multi-step reconfigurations need replica sets of several members (mongoemu part 2)."""
import pytest


@pytest.fixture
def uninitiated_member(start_member):
    return start_member("--replSet", "rsc")


@pytest.mark.playbook
@pytest.mark.emulator
def test_initiate_rerun_and_check_mode(playbook, uninitiated_member):
    result = playbook("tests/integration/files/rs_config_cases.yml", "localhost,",
                      "-e", "member=%s" % uninitiated_member.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
