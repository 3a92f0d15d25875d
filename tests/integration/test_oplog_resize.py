"""quorum.mongodb.oplog resizing an emulated member's oplog, and the rerun changing nothing."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_oplog_resize_and_rerun(playbook, small_oplog_set):
    result = playbook("tests/integration/files/oplog_apply_cases.yml", "localhost,",
                      "-e", "member=%s" % small_oplog_set.address)
    assert result.returncode == 0, result.stdout
    stats = small_oplog_set.client().local.command("collStats", "oplog.rs")
    assert stats["maxSize"] == 2048 * 1024 * 1024
