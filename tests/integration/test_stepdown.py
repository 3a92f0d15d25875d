"""quorum.mongodb.rs_stepdown: idempotent towards the current primary, refuses a non-member.

A real handoff needs several members (mongoemu part 2)."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_stepdown_is_idempotent_and_checks_its_target(playbook, single_member_set):
    result = playbook("tests/integration/files/stepdown_cases.yml", "localhost,",
                      "-e", "member=%s" % single_member_set.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
