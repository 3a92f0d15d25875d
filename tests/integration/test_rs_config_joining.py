"""rs_config checks every member it is about to add before any change (issue 12 item 5): a new
inventory host that runs no mongod used to be added anyway (the live config changed, then the
step waited step_timeout for a DOWN member). Now check mode reports it and apply refuses,
naming the host and what to do, with the live config unchanged."""
import pytest
import yaml

from emuharness import pick_address
from mongoemu.cluster import MemberSpec


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_member_without_mongod_is_refused_by_apply_with_nothing_changed(recorded_play, replica_set):
    cluster = replica_set([MemberSpec(), MemberSpec(), MemberSpec()], "joining")
    seeds = [m.address for m in cluster.members]
    before = cluster.client(cluster.members[0]).admin.command("replSetGetConfig")["config"]
    host, port = pick_address()  # nothing listens there
    absent = "%s:%d" % (host, port)
    settings = {k: before["settings"][k] for k in ("electionTimeoutMillis", "heartbeatIntervalMillis")}
    desired = {"_id": "joining", "version": 1, "settings": settings,
               "members": [{"_id": m["_id"], "host": m["host"]} for m in before["members"]] + [
                   {"_id": 3, "host": absent}]}

    result = recorded_play("rs_config_run", {"seeds": seeds, "desired": desired, "check": False})
    assert result.get("failed"), result
    assert "nothing was changed" in result["msg"] and absent in result["msg"], result["msg"]
    assert "%s does not answer hello" % absent in result["msg"], result["msg"]
    assert "replication.replSetName: joining" in result["msg"], result["msg"]
    assert [(v["host"], v["ready"]) for v in result["joining"]] == [(absent, False)]
    assert result["steps_applied"] == 0 and not result.get("changed")
    after = cluster.client(cluster.primary_member()).admin.command("replSetGetConfig")["config"]
    assert (after["version"], [m["host"] for m in after["members"]]) == \
        (before["version"], [m["host"] for m in before["members"]])


@pytest.mark.playbook
@pytest.mark.emulator
def test_reconfig_playbook_with_an_inventory_host_that_runs_no_mongod(playbook, start_member, tmp_path):
    """The drill: a new inventory host that runs no mongod. reconfig.yml --check says so (and changes
    nothing); apply refuses the same way (the test above)."""
    from conftest import initiate_one_member_set  # tests/integration/conftest.py

    emu = start_member("--replSet", "rsj")
    initiate_one_member_set(emu, "rsj", {"dc": "a"})
    before = emu.client().admin.command("replSetGetConfig")["config"]
    host, port = pick_address()
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"rs_joining": {
            "vars": {"mongodb_replset_name": "rsj"},
            "hosts": {"member1": {"mongodb_host": emu.host, "mongodb_port": emu.port, "mongodb_datacenter": "a"},
                      "member2": {"mongodb_host": host, "mongodb_port": port, "mongodb_datacenter": "b"}}}}}}))
    run = playbook("playbooks/reconfig.yml", path, "--check")
    assert run.returncode != 0, run.stdout
    assert "refusing to reconfigure, nothing was changed" in run.stdout, run.stdout
    assert "%s:%d does not answer hello" % (host, port) in run.stdout, run.stdout
    after = emu.client().admin.command("replSetGetConfig")["config"]
    assert (after["version"], after["members"]) == (before["version"], before["members"])
