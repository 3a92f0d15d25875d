"""quorum.mongodb.oplog resizing an emulated member's oplog, and the rerun changing nothing."""
import pytest


@pytest.mark.playbook
@pytest.mark.emulator
def test_oplog_resize_and_rerun(run_cases, small_oplog_set):
    run_cases("oplog_apply_cases.yml", small_oplog_set)
    stats = small_oplog_set.client().local.command("collStats", "oplog.rs")
    assert stats["maxSize"] == 2048 * 1024 * 1024
