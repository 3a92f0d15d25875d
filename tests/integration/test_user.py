"""quorum.mongodb.user against an emulated member with authorization on."""
import pytest


@pytest.fixture
def auth_member(start_member):
    return start_member("--auth")


@pytest.mark.playbook
@pytest.mark.emulator
def test_user_lifecycle_with_the_localhost_exception(run_cases, auth_member):
    result = run_cases("user_cases.yml", auth_member, "-v")
    for secret in ("Adm1n-secret", "0rders-first", "0rders-second"):
        assert secret not in result.stdout
