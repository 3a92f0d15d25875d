"""quorum.mongodb.rs_bootstrap against mongoemu started with auth and a keyFile: a one-member set and
its first administrator through the localhost exception, idempotent, check mode sending only hello,
and refusals that change nothing. The member's address is a loopback address, so the module connects
to it directly (on a real host it connects to 127.0.0.1)."""
import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

KEY = "bootstrapKey0123456789abcdefghijklmnopqrstuvwxyzABCDEF"


@pytest.fixture
def member(start_member, tmp_path):
    keyfile = tmp_path / "keyfile"
    keyfile.write_text(KEY)
    keyfile.chmod(0o400)
    return start_member("--replSet", "boot", "--keyFile", str(keyfile), "--auth")


def desired(emu, set_name="boot"):
    return {"_id": set_name, "members": [
        {"_id": 3, "host": emu.address, "priority": 2, "tags": {"dc": "dc1"}},
        {"_id": 4, "host": "192.0.2.1:27017", "priority": 1, "tags": {"dc": "dc2"}}],
        "settings": {"getLastErrorModes": {"multiDC": {"dc": 2}}}}


def run(recorded_play, emu, **extra):
    return recorded_play("rs_bootstrap_run", dict({"config": desired(emu), "member": emu.address}, **extra))


@pytest.mark.emulator
@pytest.mark.playbook
def test_check_mode_then_bootstrap_then_nothing_to_do(recorded_play, member):
    admin = {"admin_user": "admin", "admin_password": "Boot-admin-1"}
    checked = run(recorded_play, member, check=True, **admin)
    assert checked["changed"] and checked["initiated"] and checked["admin_created"], checked
    assert "setName" not in member.client().admin.command("hello"), "check mode initiated the set"

    done = run(recorded_play, member, **admin)
    assert done["changed"] and done["initiated"] and done["admin_created"], done
    assert done["config"]["members"] == [{"_id": 3, "host": member.address, "priority": 2, "tags": {"dc": "dc1"},
                                          "votes": 1}]
    assert "Boot-admin-1" not in str(done)
    client = MongoClient(member.address, directConnection=True, username="admin", password="Boot-admin-1")
    config = client.admin.command("replSetGetConfig")["config"]
    assert [m["host"] for m in config["members"]] == [member.address]
    assert "getLastErrorModes" not in config.get("settings", {}) or not config["settings"]["getLastErrorModes"]
    with pytest.raises(OperationFailure):  # the localhost exception is closed now
        member.client().admin.command("createUser", "intruder", pwd="x", roles=["root"])

    again = run(recorded_play, member, **admin)
    assert not again["changed"] and not again["initiated"] and not again["admin_created"], again
    assert any("belongs to boot already" in note for note in again["notes"])
    assert any("a user exists already" in note for note in again["notes"])


@pytest.mark.emulator
@pytest.mark.playbook
def test_another_set_or_no_replica_set_is_refused_unchanged(recorded_play, member, start_member):
    other = recorded_play("rs_bootstrap_run", {"config": desired(member, "elsewhere"), "member": member.address})
    assert other["failed"] and "nothing was changed" in other["msg"]
    assert "setName" not in member.client().admin.command("hello")

    standalone = start_member()
    refused = recorded_play("rs_bootstrap_run", {"config": desired(standalone), "member": standalone.address})
    assert refused["failed"] and "not started with a replica set name" in refused["msg"], refused

    arbiter = desired(member)
    arbiter["members"][0]["arbiterOnly"] = True
    named = recorded_play("rs_bootstrap_run", {"config": arbiter, "member": member.address})
    assert named["failed"] and "an arbiter" in named["msg"] and "nothing was changed" in named["msg"], named
