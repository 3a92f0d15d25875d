"""quorum.mongodb.backup_staleness against an emulated one-member set with writes in its oplog."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_fresh_and_stale_backups(run_cases, single_member_set):
    oplog = single_member_set.client().local["oplog.rs"]
    oldest = oplog.find_one({}, sort=[("$natural", 1)])["ts"].time
    newest = oplog.find_one({}, sort=[("$natural", -1)])["ts"].time
    run_cases("backup_staleness_cases.yml", single_member_set, "-e", "oldest=%d" % oldest, "-e", "newest=%d" % newest)
