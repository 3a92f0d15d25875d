"""module_defaults: the connection options set once for the action group quorum.mongodb.mongodb
(meta/runtime.yml action_groups), as with the groups of other database collections."""
import os

import pytest
import yaml

from conftest import LOCAL_PLAY, ROOT, initiate_one_member_set

MODULES = os.path.join(ROOT, "plugins", "modules")


def test_the_group_holds_exactly_the_modules_that_take_the_connection_options():
    runtime = yaml.safe_load(open(os.path.join(ROOT, "meta", "runtime.yml")))
    group = set(runtime["action_groups"]["mongodb"])
    takes_connection = set()
    for name in os.listdir(MODULES):
        if name.endswith(".py") and "quorum.mongodb.connection" in open(os.path.join(MODULES, name)).read():
            takes_connection.add(name[:-3])
    assert takes_connection, "no module uses the connection doc fragment"
    assert group == takes_connection


@pytest.fixture
def auth_member(start_member, tmp_path):
    # a replica set member with authorization needs a keyFile (mongod 5.0+ refuses to start)
    keyfile = tmp_path / "rsdefaults.key"
    keyfile.write_text("cnNkZWZhdWx0cy1rZXlmaWxlLWZvci10ZXN0cw")
    keyfile.chmod(0o400)
    emu = start_member("--replSet", "rsdefaults", "--auth", "--keyFile", str(keyfile))
    initiate_one_member_set(emu, "rsdefaults").admin.command("createUser", "admin", pwd="defaults-pass",
                                                             roles=["root"])
    return emu


PLAY = LOCAL_PLAY + """  module_defaults:
    group/quorum.mongodb.mongodb:
      hosts: ["%(member)s"]
      replica_set: rsdefaults
      login_user: admin
      login_password: defaults-pass
      server_selection_timeout: 10
%(extra)s
  tasks:
    - name: Status with no connection option in the task
      quorum.mongodb.rs_status:
        wait_for: primary
        timeout: 20
      register: status
    - name: A user, also without connection options
      quorum.mongodb.user:
        name: reporting
        database: admin
        password: reporting-pass
        roles: [{role: read, db: admin}]
      register: created
    - ansible.builtin.assert:
        that:
          - status.primary == '%(member)s'
          - created is changed
"""


def run_play(playbook, tmp_path, member, extra=""):
    play = tmp_path / "defaults.yml"
    play.write_text(PLAY % {"member": member.address, "extra": extra})
    return playbook(str(play), "localhost,")


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_play_sets_the_connection_only_through_module_defaults(playbook, auth_member, tmp_path):
    result = run_play(playbook, tmp_path, auth_member)
    assert result.returncode == 0, result.stdout
    assert "defaults-pass" not in result.stdout


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_wrong_option_in_the_group_defaults_is_named_by_ansible(playbook, auth_member, tmp_path):
    result = run_play(playbook, tmp_path, auth_member, extra="      login_pasword: typo")
    assert result.returncode != 0
    assert "Unsupported parameters for (quorum.mongodb.rs_status) module: login_pasword" in result.stdout, \
        result.stdout
