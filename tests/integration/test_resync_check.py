"""quorum.mongodb.rs_resync_check against an emulated one-member set (every check refuses)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_the_only_member_may_not_go(run_cases, single_member_set):
    run_cases("resync_check_cases.yml", single_member_set)
