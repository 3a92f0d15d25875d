"""quorum.mongodb.oplog against an emulated one-member set (check mode: measure and plan)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_oplog_plan_in_check_mode(playbook, small_oplog_set):
    result = playbook("tests/integration/files/oplog_cases.yml", "localhost,", "-e", "member=%s" % small_oplog_set.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
