"""quorum.mongodb.fsync_lock in check mode reads the member's lock state (currentOp's fsyncLock)
instead of always reporting a change, and sends no lock or unlock."""
import pytest

from conftest import LOCAL_PLAY

PLAY = LOCAL_PLAY + """  module_defaults:
    quorum.mongodb.fsync_lock:
      hosts: ["%(member)s"]
      member: "%(member)s"
  tasks:
    - name: Unlock an unlocked member, in check mode
      quorum.mongodb.fsync_lock:
        state: unlocked
      check_mode: true
      register: unlock_unlocked
    - name: Lock it, in check mode
      quorum.mongodb.fsync_lock:
      check_mode: true
      register: lock_check
    - name: Still unlocked - check mode sent nothing
      quorum.mongodb.fsync_lock:
        state: unlocked
      check_mode: true
      register: still_unlocked
    - name: Lock it
      quorum.mongodb.fsync_lock:
      register: locked
    - name: Unlock the locked member, in check mode
      quorum.mongodb.fsync_lock:
        state: unlocked
      check_mode: true
      register: unlock_locked
    - name: Unlock it
      quorum.mongodb.fsync_lock:
        state: unlocked
      register: unlocked
    - ansible.builtin.assert:
        that:
          - unlock_unlocked is not changed and not unlock_unlocked.locked_before
          - lock_check is changed and not lock_check.locked_before
          - still_unlocked is not changed
          - locked is changed and locked.lock_count == 1
          - unlock_locked is changed and unlock_locked.locked_before
          - unlocked is changed and unlocked.lock_count == 0
"""


@pytest.mark.playbook
@pytest.mark.emulator
def test_check_mode_reads_the_lock_state(playbook, single_member_set, tmp_path):
    play = tmp_path / "fsync.yml"
    play.write_text(PLAY % {"member": single_member_set.address})
    result = playbook(str(play), "localhost,")
    assert result.returncode == 0, result.stdout
