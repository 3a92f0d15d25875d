"""quorum.mongodb.user against an emulated member with authorization on."""
import pytest


@pytest.fixture
def auth_member(start_member):
    return start_member("--auth")


@pytest.mark.playbook
@pytest.mark.emulator
def test_user_lifecycle_with_the_localhost_exception(playbook, auth_member):
    result = playbook("tests/integration/files/user_cases.yml", "localhost,", "-v",
                      "-e", "member=%s" % auth_member.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
    for secret in ("Adm1n-secret", "0rders-first", "0rders-second"):
        assert secret not in result.stdout
