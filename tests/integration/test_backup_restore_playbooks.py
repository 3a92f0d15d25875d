"""playbooks/backup.yml and playbooks/restore.yml on emulated one-member sets: the lock is
released (also when the copy fails), the metadata describes the archive, a stale backup is
refused without touching the member, a fresh one is restored."""
import datetime
import hashlib
import json
import re
import stat
import tarfile
import time

import pytest
from pymongo.errors import OperationFailure

from conf_members import current_pid, write_inventory
from conftest import initiate_one_member_set

pytestmark = [pytest.mark.playbook, pytest.mark.emulator]


def assert_unlocked(emu):
    """fsyncUnlock answers "not locked", and a write completes (it would block under the lock)."""
    client = emu.client(socketTimeoutMS=10000)
    with pytest.raises(OperationFailure) as err:
        client.admin.command("fsyncUnlock")
    assert err.value.code == 20 and "not locked" in str(err.value)
    client.app.after_backup.insert_one({"written": True})


def newest_ts(emu):
    return emu.client().local["oplog.rs"].find_one({}, sort=[("$natural", -1)])["ts"]


def backup(playbook, hosts, backup_dir, *extra):
    return playbook("playbooks/backup.yml", hosts, "-e", "replset=rs0", "-e", "backup_dir=%s" % backup_dir, *extra)


def only_metadata(backup_dir):
    files = sorted(backup_dir.glob("*.json"))
    assert len(files) == 1, files
    return files[0], json.loads(files[0].read_text())


def test_backup_of_a_one_member_set(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    client = initiate_one_member_set(emu, "rs0")
    client.app.items.insert_many([{"i": i} for i in range(50)])
    written = newest_ts(emu)
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    backup_dir = tmp_path / "backups"

    refused = backup(playbook, hosts, backup_dir)
    assert refused.returncode != 0
    assert "no secondary of rs0 to back up (%s PRIMARY); nothing was locked" % emu.address in refused.stdout
    assert "backup_allow_primary=true" in refused.stdout
    assert not backup_dir.exists()
    named = backup(playbook, hosts, backup_dir, "-e", "backup_member=member1")
    assert named.returncode != 0
    assert "member1 is the primary of rs0; nothing was locked" in named.stdout

    result = backup(playbook, hosts, backup_dir, "-e", "backup_allow_primary=true")
    assert result.returncode == 0, result.stdout
    assert_unlocked(emu)
    path, meta = only_metadata(backup_dir)
    archive = backup_dir / meta["archive"]
    assert meta["set_name"] == "rs0" and meta["member"] == emu.address and meta["member_state"] == "PRIMARY"
    assert meta["config_version"] == client.admin.command("replSetGetConfig")["config"]["version"]
    assert (written.time, written.inc) <= (meta["newest_oplog"]["t"], meta["newest_oplog"]["i"])
    newest_now = newest_ts(emu)
    assert (meta["newest_oplog"]["t"], meta["newest_oplog"]["i"]) < (newest_now.time, newest_now.inc)  # the write after
    assert meta["newest_oplog"]["date"] == datetime.datetime.fromtimestamp(
        meta["newest_oplog"]["t"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert meta["size_bytes"] == archive.stat().st_size > 0
    assert meta["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    names = tarfile.open(archive).getnames()
    assert "./mongoemu.sqlite3" in names and "./mongod.lock" not in names
    assert path.name == meta["archive"].replace(".tar.gz", ".json")
    # The archive holds admin.system.users (credentials): owner-only, whatever the umask (issue 13).
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700


def test_a_failing_copy_still_unlocks(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    initiate_one_member_set(emu, "rs0")
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    backup_dir = tmp_path / "backups"
    result = backup(playbook, hosts, backup_dir, "-e", "backup_allow_primary=true",
                    "-e", "mongod_dbpath=%s" % (tmp_path / "no-such-dbpath"))
    assert result.returncode != 0
    assert "the copy of %s on %s failed, no backup was written (the member is unlocked)" % (
        tmp_path / "no-such-dbpath", emu.address) in result.stdout
    assert "Unlock the member (also when the copy failed)" in result.stdout
    assert_unlocked(emu)
    assert list(backup_dir.iterdir()) == []


def restore(playbook, hosts, metadata, *extra):
    return playbook("playbooks/restore.yml", hosts, "-e", "restore_member=member1",
                    "-e", "backup_metadata=%s" % metadata, *extra)


def test_a_stale_backup_is_refused_and_nothing_is_touched(playbook, small_oplog_set, tmp_path):
    emu = small_oplog_set
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    backup_dir = tmp_path / "backups"
    result = backup(playbook, hosts, backup_dir, "-e", "backup_allow_primary=true")
    assert result.returncode == 0, result.stdout
    metadata, meta = only_metadata(backup_dir)
    backup_newest = (meta["newest_oplog"]["t"], meta["newest_oplog"]["i"])

    client = emu.client()
    oplog = client.local["oplog.rs"]
    deadline = time.monotonic() + 120
    while True:  # roll the 50 MB oplog over until the backup's newest entry is gone
        client.app.filler.insert_many([{"pad": "y" * 250000, "n": n} for n in range(40)])
        oldest = oplog.find_one({}, sort=[("$natural", 1)])["ts"]
        if (oldest.time, oldest.inc) > backup_newest:
            break
        assert time.monotonic() < deadline, "the oplog never rolled over"
    pid, files = emu.pid, sorted(p.name for p in emu.dbpath.iterdir())

    # --check runs the staleness check too (it only reads) and says the restore would be refused
    # (issue 12 item 8: check mode skipped it).
    checked = restore(playbook, hosts, metadata, "-e", "backup_restore_safety_seconds=0", "--check")
    assert checked.returncode != 0, checked.stdout
    assert "onto %s, nothing was touched: the backup is stale" % emu.address in checked.stdout
    assert re.search(r"margin -\d+ s", checked.stdout), checked.stdout
    assert "Stop the member" not in checked.stdout

    refused = restore(playbook, hosts, metadata, "-e", "backup_restore_safety_seconds=0")
    assert refused.returncode != 0
    assert "onto %s, nothing was touched: the backup is stale" % emu.address in refused.stdout
    assert "do not restore it" in refused.stdout
    assert "Stop the member" not in refused.stdout
    assert current_pid(emu) == pid
    assert sorted(p.name for p in emu.dbpath.iterdir()) == files
    assert list(emu.root.glob("*before-restore*")) == []
    client.app.items.insert_one({"still": "writable"})


def test_a_fresh_backup_is_restored(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    client = initiate_one_member_set(emu, "rs0")
    client.app.items.insert_one({"_id": "in the backup"})
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    backup_dir = tmp_path / "backups"
    result = backup(playbook, hosts, backup_dir, "-e", "backup_allow_primary=true")
    assert result.returncode == 0, result.stdout
    metadata, _meta = only_metadata(backup_dir)
    client.app.items.insert_one({"_id": "after the backup"})
    pid = emu.pid
    emu.close_clients()

    checked = restore(playbook, hosts, metadata, "--check")  # issue 12 item 8: check mode skipped the check
    assert checked.returncode == 0, checked.stdout
    assert re.search(r"the backup is fresh: \d+ s to spare after a restore of \d+ s", checked.stdout), checked.stdout
    assert current_pid(emu) == pid and not list(emu.root.glob("db.before-restore-*"))

    restored = restore(playbook, hosts, metadata)  # the default safety margin (300 s) on a young set
    assert restored.returncode == 0, restored.stdout
    assert "the backup is fresh" in restored.stdout
    new_pid = current_pid(emu)
    assert new_pid is not None and new_pid != pid
    client = emu.client()
    assert client.admin.command("hello")["isWritablePrimary"]
    assert sorted(d["_id"] for d in client.app.items.find()) == ["in the backup"]
    aside = list(emu.root.glob("db.before-restore-*"))
    assert len(aside) == 1 and (aside[0] / "mongoemu.sqlite3").exists()


def test_an_altered_archive_is_refused(playbook, conf_member, tmp_path):
    emu = conf_member("member1", "rs0")
    initiate_one_member_set(emu, "rs0")
    hosts = write_inventory(tmp_path / "hosts.yml", "rs0", {"member1": emu})
    backup_dir = tmp_path / "backups"
    assert backup(playbook, hosts, backup_dir, "-e", "backup_allow_primary=true").returncode == 0
    metadata, meta = only_metadata(backup_dir)
    with open(backup_dir / meta["archive"], "ab") as archive:
        archive.write(b"tampered")
    refused = restore(playbook, hosts, metadata)
    assert refused.returncode != 0
    assert "nothing was touched: its sha256" in refused.stdout
    assert current_pid(emu) == emu.pid
