"""A module whose Python library is missing on the host that runs it names the package to install
(Ansible's missing_required_lib message), instead of failing with a traceback."""
import pytest

from conftest import LOCAL_PLAY

STUB = 'raise ImportError("No module named %r (hidden by the test)")\n'

PLAY = LOCAL_PLAY + """    doc: {_id: rs0, members: [{_id: 0, host: "127.0.0.1:1"}]}
  environment:
    PYTHONPATH: "%(stubs)s"
  tasks:
    - quorum.mongodb.rs_validate:
        config: "{{ doc }}"
      register: validate
      ignore_errors: true
    - quorum.mongodb.rs_config:
        hosts: ["127.0.0.1:1"]
        config: "{{ doc }}"
      register: config
      ignore_errors: true
    - quorum.mongodb.rs_force_reconfig:
        hosts: ["127.0.0.1:1"]
        discover: true
      register: force
      ignore_errors: true
    - ansible.builtin.assert:
        that:
          - item is failed
          - "item.msg is search('Failed to import the required Python library \\\\(%(library)s\\\\)')"
        fail_msg: "{{ item.msg }}"
      loop: "{{ [validate, config, force] if '%(library)s' == 'jsonschema' else [config, force] }}"
"""


@pytest.mark.playbook
@pytest.mark.parametrize("library", ["jsonschema", "pymongo"])
def test_a_missing_library_is_named(playbook, tmp_path, library):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / ("%s.py" % library)).write_text(STUB % library)
    play = tmp_path / "play.yml"
    play.write_text(PLAY % {"stubs": stubs, "library": library})
    result = playbook(str(play), "localhost,")
    assert result.returncode == 0, result.stdout
    assert "Traceback" not in result.stdout
