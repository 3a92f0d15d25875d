"""quorum.mongodb.rs_status and the connection layer against an emulated one-member set."""
import pytest

from conftest import initiate_one_member_set


@pytest.mark.playbook
@pytest.mark.emulator
def test_rs_status_reads_waits_and_explains_failures(run_cases, single_member_set):
    run_cases("rs_status_cases.yml", single_member_set)


@pytest.fixture
def auth_set(start_member, tmp_path):
    """A one-member set with --auth (and the keyFile mongod 5.0+ requires with it): initiated
    and its first user created through the localhost exception, as an operator bootstraps a
    new set."""
    keyfile = tmp_path / "rsauth.key"
    keyfile.write_text("cnNhdXRoLWtleWZpbGUtZm9yLXRoZS10ZXN0cw")
    keyfile.chmod(0o400)
    emu = start_member("--replSet", "rsauth", "--auth", "--keyFile", str(keyfile))
    initiate_one_member_set(emu, "rsauth").admin.command("createUser", "admin", pwd="s3cret-pass", roles=["root"])
    return emu


@pytest.mark.playbook
@pytest.mark.emulator
def test_authentication_failures_are_explained_and_never_leak_the_password(playbook, auth_set, tmp_path):
    cases = tmp_path / "auth.yml"
    cases.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - quorum.mongodb.rs_status:
        hosts: ["%(member)s"]
        replica_set: rsauth
        login_user: admin
        login_password: not-the-password
        server_selection_timeout: 5
      register: wrong
      ignore_errors: true
    - quorum.mongodb.rs_status:
        hosts: ["%(member)s"]
        replica_set: rsauth
        login_user: admin
        login_password: s3cret-pass
        wait_for: primary
        timeout: 20
      register: right
    - ansible.builtin.assert:
        that:
          - wrong is failed
          - "wrong.msg is search('authentication failed for user admin on database admin')"
          - right.primary == '%(member)s'
""" % {"member": auth_set.address})
    result = playbook(str(cases), "localhost,", "-v")
    assert result.returncode == 0, result.stdout
    assert "not-the-password" not in result.stdout
    assert "s3cret-pass" not in result.stdout
