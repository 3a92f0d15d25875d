"""quorum.mongodb.oplog against an emulated one-member set (check mode: measure and plan)."""
import pytest


@pytest.fixture
def small_oplog_set(start_member):
    """A one-member set with a 50 MB oplog and some writes in it."""
    import time

    emu = start_member("--replSet", "rs0", "--oplogSize", "50")
    client = emu.client()
    client.admin.command("replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": emu.address}]})
    deadline = time.monotonic() + 30
    while not client.admin.command("hello").get("isWritablePrimary"):
        assert time.monotonic() < deadline, "the member never became primary"
        time.sleep(0.1)
    client.app.items.insert_one({"first": True})
    time.sleep(1.1)  # a second of history, so the rate has a time span
    client.app.items.insert_many([{"i": i, "pad": "x" * 500} for i in range(200)])
    return emu


@pytest.mark.playbook
@pytest.mark.emulator
def test_oplog_plan_in_check_mode(playbook, small_oplog_set):
    result = playbook("tests/integration/files/oplog_cases.yml", "localhost,", "-e", "member=%s" % small_oplog_set.address)
    assert result.returncode == 0, result.stdout
    assert "failed=0" in result.stdout
