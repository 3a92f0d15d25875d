"""quorum.mongodb.rs_resync_check against an emulated one-member set (every check refuses)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_the_only_member_may_not_go(playbook, single_member_set):
    result = playbook("tests/integration/files/resync_check_cases.yml", "localhost,",
                      "-e", "member=%s" % single_member_set.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
