"""quorum.mongodb.user against an emulated member with authorization on."""
import pytest

from conftest import Emu, pick_address


@pytest.fixture
def auth_member(tmp_path):
    host, port = pick_address()
    emu = Emu(root=tmp_path / "auth", host=host, port=port, extra_args=["--auth"])
    emu.start()
    yield emu
    emu.stop()


@pytest.mark.playbook
@pytest.mark.emulator
def test_user_lifecycle_with_the_localhost_exception(playbook, auth_member):
    result = playbook("tests/integration/files/user_cases.yml", "localhost,", "-v",
                      "-e", "member=%s" % auth_member.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
    for secret in ("Adm1n-secret", "0rders-first", "0rders-second"):
        assert secret not in result.stdout
