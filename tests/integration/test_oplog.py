"""quorum.mongodb.oplog against an emulated one-member set (check mode: measure and plan)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_oplog_plan_in_check_mode(run_cases, small_oplog_set):
    run_cases("oplog_cases.yml", small_oplog_set)
