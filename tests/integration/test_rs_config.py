"""quorum.mongodb.rs_config against an emulated member: initiate, idempotency, check mode.

Multi-step reconfigurations need replica sets of several members (mongoemu part 2)."""
import pytest


@pytest.fixture
def uninitiated_member(start_member):
    return start_member("--replSet", "rsc")


@pytest.mark.playbook
@pytest.mark.emulator
def test_initiate_rerun_and_check_mode(run_cases, uninitiated_member):
    run_cases("rs_config_cases.yml", uninitiated_member)


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_new_member_listed_first_is_never_initiated_beside_a_live_set(playbook, start_member, tmp_path):
    from conftest import initiate_one_member_set

    live = start_member("--replSet", "rsn")
    initiate_one_member_set(live, "rsn")
    new = start_member("--replSet", "rsn")
    cases = tmp_path / "cases.yml"
    cases.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - quorum.mongodb.rs_config:
        hosts: ["%(new)s", "%(live)s"]
        config: {_id: rsn, version: 1, members: [{_id: 1, host: "%(new)s"}, {_id: 0, host: "%(live)s"}]}
      check_mode: true
      register: planned
    - ansible.builtin.assert:
        that:
          - planned is changed
          - not planned.initiated
          - "planned.plan.steps[0].changes == ['add %(new)s (_id 1) as voter']"
""" % {"new": new.address, "live": live.address})
    result = playbook(str(cases), "localhost,")
    assert result.returncode == 0, result.stdout
    assert new.client().admin.command("hello").get("setName") is None  # still uninitiated


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_down_member_listed_first_does_not_stop_the_plan(playbook, start_member, tmp_path):
    from conftest import initiate_one_member_set

    live = start_member("--replSet", "rsd")
    initiate_one_member_set(live, "rsd")
    cases = tmp_path / "cases.yml"
    cases.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - quorum.mongodb.rs_config:
        hosts: ["127.0.0.1:9", "%(live)s"]
        config: {_id: rsd, version: 1, members: [{_id: 0, host: "%(live)s", priority: 2}]}
        server_selection_timeout: 5
      check_mode: true
      register: planned
    - ansible.builtin.assert:
        that:
          - planned is changed and not planned.initiated
          - planned.plan.steps | length == 1
          - planned.plan.steps[0].config.members[0].priority == 2
""" % {"live": live.address})
    result = playbook(str(cases), "localhost,")
    assert result.returncode == 0, result.stdout
