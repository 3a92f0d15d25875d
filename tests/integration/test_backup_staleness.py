"""quorum.mongodb.backup_staleness against an emulated one-member set with writes in its oplog."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_fresh_and_stale_backups(playbook, single_member_set):
    oplog = single_member_set.client().local["oplog.rs"]
    oldest = oplog.find_one({}, sort=[("$natural", 1)])["ts"].time
    newest = oplog.find_one({}, sort=[("$natural", -1)])["ts"].time
    result = playbook("tests/integration/files/backup_staleness_cases.yml", "localhost,",
                      "-e", "member=%s" % single_member_set.address, "-e", "oldest=%d" % oldest,
                      "-e", "newest=%d" % newest)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
