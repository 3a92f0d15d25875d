"""playbooks/rolling_resync.yml: refused on a one-member set (the only member cannot be
resynced) with nothing touched, and for unknown members. The end-to-end run on three members
with a w:"majority" writer is the molecule scenario rolling_resync (molecule/rolling_resync)."""

import pytest

from conf_members import current_pid, write_inventory
from conftest import initiate_one_member_set

pytestmark = [pytest.mark.playbook, pytest.mark.emulator]


def test_the_only_member_is_refused_and_nothing_is_touched(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    client = initiate_one_member_set(emu, "rs0")
    client.app.items.insert_one({"_id": 1})
    pid, files = emu.pid, sorted(p.name for p in emu.dbpath.iterdir())
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})

    result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=rs0", "-e", "resync_members=all")
    assert result.returncode != 0
    assert "rolling resync halted: %s may not go down for a resync now" % emu.address in result.stdout
    assert "holds the only up-to-date copy" in result.stdout
    assert "Nothing was stopped or changed." in result.stdout
    assert "Step %s down" % emu.address not in result.stdout
    assert "Stop the member" not in result.stdout
    assert current_pid(emu) == pid
    assert sorted(p.name for p in emu.dbpath.iterdir()) == files
    assert list(emu.root.glob("*before-resync*")) == []
    assert client.admin.command("hello")["isWritablePrimary"]
    assert client.app.items.find_one({"_id": 1}) is not None


def test_unknown_members_are_refused(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    initiate_one_member_set(emu, "rs0")
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=rs0", "-e", "resync_members=db9")
    assert result.returncode != 0
    assert "not members of rs0 in this inventory: db9; its members are member1" in result.stdout
    assert current_pid(emu) == emu.pid


def test_a_set_that_cannot_be_read_stops_it_before_anything_is_stopped(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")  # started with --replSet, never initiated: no status to read
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    result = playbook("playbooks/rolling_resync.yml", hosts, "-e", "replset=rs0", "-e", "resync_members=all")
    assert result.returncode != 0
    assert "rolling resync of rs0: the set's status could not be read, nothing was stopped: " in result.stdout
    assert "is not initiated" in result.stdout
    assert "Stop the member" not in result.stdout
    assert current_pid(emu) == emu.pid
