"""quorum.mongodb.rs_force_reconfig refuses on a healthy set and changes nothing.

Forcing a reconfig after a real majority loss needs several members (mongoemu part 2)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_guardrails_refuse_and_change_nothing(playbook, single_member_set):
    result = playbook("tests/integration/files/force_reconfig_cases.yml", "localhost,",
                      "-e", "member=%s" % single_member_set.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
