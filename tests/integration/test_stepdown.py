"""quorum.mongodb.rs_stepdown: idempotent towards the current primary, refuses a non-member.

A real handoff needs several members (mongoemu part 2)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_stepdown_is_idempotent_and_checks_its_target(run_cases, single_member_set):
    run_cases("stepdown_cases.yml", single_member_set)
