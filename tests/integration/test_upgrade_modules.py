"""quorum.mongodb.upgrade_plan and quorum.mongodb.fcv against an emulated set whose members play
mongod 7.0.14 and 8.0.4 (MONGOEMU_VERSION, as the field lab's packages set it): the plan reads each
member's release (an arbiter's too), orders the secondary, the arbiter and the primary, skips a
member already upgraded (resume), and leaves only the FCV once every binary is new; fcv refuses
while a member runs the older release, sends nothing in check mode, raises the FCV and waits until
every data-bearing member reports it, then has nothing to do. The whole upgrade (packages, systemd,
the stepdown) is the field lab's molecule scenario `upgrade`."""
import json

import pytest
from pymongo import MongoClient

from conftest import LOCAL_PLAY

pytestmark = [pytest.mark.playbook, pytest.mark.emulator]

V70, V80 = "7.0.14", "8.0.4"

PLAY = LOCAL_PLAY + """  module_defaults:
    group/quorum.mongodb.mongodb:
      hosts: %(hosts)s
      replica_set: upg
      server_selection_timeout: 10
  tasks:
%(tasks)s
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ {%(names)s} | to_json }}"
        dest: "%(out)s"
        mode: "0600"
"""


@pytest.fixture
def run_tasks(playbook, tmp_path):
    """run_tasks(hosts, {name: task text}) -> {name: registered result}."""
    def run(hosts, tasks):
        out = tmp_path / ("out-%d.json" % len(list(tmp_path.iterdir())))
        body = "".join("    - name: %s\n%s      register: %s\n      ignore_errors: true\n" % (name, text, name)
                       for name, text in tasks.items())
        play = tmp_path / ("play-%d.yml" % len(list(tmp_path.iterdir())))
        play.write_text(PLAY % {"hosts": json.dumps(hosts), "tasks": body, "out": out,
                                "names": ", ".join("'%s': %s" % (n, n) for n in tasks)})
        result = playbook(str(play), "localhost,")
        assert out.exists(), result.stdout
        return json.loads(out.read_text())
    return run


def plan_task(target):
    return "      quorum.mongodb.upgrade_plan:\n        target: \"%s\"\n" % target


def fcv_task(version, check=False):
    return "      quorum.mongodb.fcv:\n        version: \"%s\"\n        timeout: 20\n%s" % (
        version, "      check_mode: true\n" if check else "")


def test_plan_resume_and_fcv(replica_set, run_tasks, monkeypatch):
    from mongoemu.cluster import MemberSpec
    monkeypatch.setenv("MONGOEMU_VERSION", V70)  # the release the members play (the lab's packages set it)
    rs = replica_set([MemberSpec(), MemberSpec(priority=0.5), MemberSpec(arbiter_only=True)], "upg", primary=0)
    first, second, arbiter = rs.members
    hosts = [m.address for m in rs.members]

    seen = run_tasks(hosts, {"plan": plan_task(V80), "early_fcv": fcv_task("8.0")})
    plan = seen["plan"]
    assert plan["fcv"] == "7.0" and plan["refusals"] == [], plan
    assert {m["host"]: m["version"] for m in plan["members"]} == {h: V70 for h in hosts}
    (step,) = plan["steps"]
    assert [(m["host"], m["role"]) for m in step["members"]] == \
        [(second.address, "secondary"), (arbiter.address, "arbiter"), (first.address, "primary")]
    assert step["version"] == V80 and step["fcv_after"] == "8.0" and "| 3 |" in plan["markdown"]
    assert seen["early_fcv"]["failed"] and "Nothing was sent" in seen["early_fcv"]["msg"]

    monkeypatch.setenv("MONGOEMU_VERSION", V80)
    rs.restart(second)
    rs.wait_ready(timeout=30)
    seen = run_tasks(hosts, {"plan": plan_task(V80), "newer": plan_task("7.0.14")})
    assert [m["host"] for m in seen["plan"]["steps"][0]["members"]] == [arbiter.address, first.address]
    assert seen["newer"]["refusals"] and seen["newer"]["steps"] == []  # 8.0.4 runs on a member: a downgrade

    rs.restart(arbiter)
    with MongoClient(first.address, directConnection=True) as client:
        client.admin.command({"replSetStepDown": 30, "secondaryCatchUpPeriodSecs": 10})
    rs.restart(first)
    rs.wait_ready(timeout=30)
    seen = run_tasks(hosts, {"plan": plan_task(V80), "check": fcv_task("8.0", check=True), "raised": fcv_task("8.0"),
                             "again": fcv_task("8.0"), "done": plan_task(V80), "lowered": fcv_task("7.0")})
    assert [s["kind"] for s in seen["plan"]["steps"]] == ["fcv"], seen["plan"]
    assert seen["check"]["changed"] and seen["check"]["command"] == {"setFeatureCompatibilityVersion": "8.0",
                                                                     "confirm": True}
    raised = seen["raised"]
    assert raised["changed"] and raised["before"] == {"version": "7.0"}, raised
    assert raised["members"] == {first.address: {"version": "8.0"}, second.address: {"version": "8.0"}}
    assert not seen["again"]["changed"] and seen["again"]["command"] is None
    assert seen["done"]["done"] and seen["done"]["fcv"] == "8.0"
    # lowering is a downgrade's first step: only with lower: true
    assert seen["lowered"]["failed"] and "lower: true" in seen["lowered"]["msg"], seen["lowered"]
    assert "Nothing was sent" in seen["lowered"]["msg"]
