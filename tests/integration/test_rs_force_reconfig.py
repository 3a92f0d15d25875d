"""quorum.mongodb.rs_force_reconfig refuses on a healthy set and changes nothing.

Forcing a reconfig after a real majority loss needs several members (mongoemu part 2)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_guardrails_refuse_and_change_nothing(run_cases, single_member_set):
    run_cases("force_reconfig_cases.yml", single_member_set)
