"""The GitOps loop end to end (issue 17): the example pipelines' commands, in their order, against
emulated sets - plan files, drift detection after an out-of-band change, and two applies at once."""
import datetime
import json
import os
import shlex
import stat
import subprocess
import threading
import time

import jsonschema
import pytest
import yaml
from mongoemu.cluster import MemberSpec

from conftest import FAST_ELECTIONS, ROOT, ansible_env, initiate_one_member_set

PIPELINES = os.path.join(ROOT, "docs", "pipelines")


def pipeline_steps(job):
    """The run: steps of a job of the GitHub workflow that the test can run here: all but the
    installation (the checkout's venv has Ansible and the collection)."""
    workflow = yaml.safe_load(open(os.path.join(PIPELINES, "github-actions.yml")))
    return [step for step in workflow["jobs"][job]["steps"]
            if "run" in step and not step.get("name", "").startswith("Install")], workflow.get("env", {})


def ansible_commands_github():
    workflow = yaml.safe_load(open(os.path.join(PIPELINES, "github-actions.yml")))
    return [step["run"] for job in ("plan", "apply", "drift") for step in workflow["jobs"][job]["steps"]
            if "ansible-playbook" in step.get("run", "")]


def ansible_commands_gitlab():
    pipeline = yaml.safe_load(open(os.path.join(PIPELINES, "gitlab-ci.yml")))
    return [line for job in ("plan", "apply", "drift") for line in pipeline[job]["script"]
            if "ansible-playbook" in line]


def normalized(command):
    """A command's words; the lock owner names the CI service, so only its presence counts."""
    return ["mongodb_apply_lock_owner=*" if word.startswith("mongodb_apply_lock_owner=") else word
            for word in shlex.split(command)]


def test_both_pipelines_run_the_same_ansible_commands_in_the_same_order():
    github = [normalized(c) for c in ansible_commands_github()]
    gitlab = [normalized(c) for c in ansible_commands_gitlab()]
    assert len(github) == 6
    assert github == gitlab


class Pipeline:
    """Runs a GitHub workflow job's run: steps the way the runner does (bash -e, the workflow's
    env, a failed step skips the rest but `if: always()` steps), with `gh` replaced by a stub
    that records the comment it would post."""

    def __init__(self, tmp_path, inventory):
        self.work = tmp_path / "checkout"
        self.work.mkdir()
        stubs = tmp_path / "stubs"
        stubs.mkdir()
        self.comments = tmp_path / "comments"
        gh = stubs / "gh"
        gh.write_text("#!/bin/bash\n# records: gh pr comment N ... --body-file FILE\n"
                      "while [ $# -gt 0 ]; do [ \"$1\" = --body-file ] && cp \"$2\" \"%s\"; shift; done\n"
                      % self.comments)
        gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
        self.summary = tmp_path / "summary.md"
        self.env = ansible_env()
        self.env.update(PATH=str(stubs) + os.pathsep + self.env["PATH"], GITHUB_STEP_SUMMARY=str(self.summary),
                        GITHUB_REPOSITORY="example/inventory", GITHUB_RUN_ID="42")
        self.inventory = str(inventory)

    def run(self, job):
        steps, workflow_env = pipeline_steps(job)
        env = dict(self.env)
        for key, value in workflow_env.items():
            env[key] = "" if "${{" in str(value) else str(value)
        env["QUORUM_INVENTORY"] = self.inventory
        outcomes, failed = [], False
        for step in steps:
            if failed and "always()" not in str(step.get("if", "")):
                continue
            step_env = dict(env)
            for key, value in (step.get("env") or {}).items():
                step_env[key] = "7" if "${{" in str(value) else str(value)
            done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=self.work, env=step_env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240, check=False)
            outcomes.append((step["name"], done.returncode, done.stdout))
            failed = failed or done.returncode != 0
        return outcomes

    def plan(self):
        """plan.json, checked against schemas/plan.schema.json."""
        document = json.loads((self.work / "plan" / "plan.json").read_text())
        with open(os.path.join(ROOT, "schemas", "plan.schema.json")) as handle:
            jsonschema.validate(document, json.load(handle))
        return document


def one_member_inventory(path, emu):
    path.write_text(yaml.safe_dump({"all": {"children": {"gitops": {
        "vars": {"mongodb_replset_name": "gitops"},
        "hosts": {"db1": {"mongodb_host": emu.host, "mongodb_port": emu.port, "mongodb_datacenter": "east"}}}}}}))
    return path


def by_name(outcomes):
    return dict((name, (rc, out)) for name, rc, out in outcomes)


@pytest.mark.playbook
@pytest.mark.emulator
def test_the_pipelines_commands_in_order_plan_apply_then_drift_after_an_out_of_band_change(start_member, tmp_path):
    emu = start_member("--replSet", "gitops")
    pipeline = Pipeline(tmp_path, one_member_inventory(tmp_path / "hosts.yml", emu))

    # pull request: validate + plan, posted as one comment
    outcomes = pipeline.run("plan")
    assert [rc for _name, rc, _out in outcomes] == [0, 0, 0], outcomes
    plan = pipeline.plan()
    assert [s["status"] for s in plan["replica_sets"]] == ["would initiate"] and plan["mode"] == "check"
    comment = pipeline.comments.read_text()
    assert comment.startswith("# Replica set validation: valid")
    assert "# Replica set plan (check mode: nothing was changed)" in comment
    assert '    m0["★ primary<br/>%s<br/>priority 1 · votes 1"]' % emu.address in comment
    assert not emu.client().admin.command("hello").get("setName")

    # merge: validate, apply, status, the applied plan in the job summary
    outcomes = pipeline.run("apply")
    assert [rc for _name, rc, _out in outcomes] == [0, 0, 0, 0], outcomes
    assert "| %s | east | PRIMARY |" % emu.address in by_name(outcomes)["Status"][1]
    assert [s["status"] for s in pipeline.plan()["replica_sets"]] == ["initiated"]
    assert "# Replica set applied plan" in pipeline.summary.read_text()

    # schedule: no drift
    outcomes = pipeline.run("drift")
    assert [rc for _name, rc, _out in outcomes] == [0, 0], outcomes[0][2]
    assert "NO DRIFT: gitops match the inventory" in outcomes[0][2]

    # someone changes the live set by hand: the scheduled job fails, naming the set and the change
    client = emu.client()
    config = client.admin.command("replSetGetConfig")["config"]
    config["members"][0]["priority"] = 3
    config["version"] += 1
    client.admin.command("replSetReconfig", config)
    outcomes = pipeline.run("drift")
    assert [rc for _name, rc, _out in outcomes] != [0, 0] and outcomes[0][1] != 0, outcomes
    detect = outcomes[0][2]
    assert "DRIFT: replica set gitops differs from the inventory:" in detect, detect
    assert "  - %s: priority 3 -> 1" % emu.address in detect
    assert outcomes[1][1] == 0  # the summary step runs anyway
    entry = pipeline.plan()["replica_sets"][0]
    assert pipeline.plan()["drift_check"] and entry["differences"] == ["%s: priority 3 -> 1" % emu.address]
    after = client.admin.command("replSetGetConfig")["config"]
    assert after["version"] == config["version"] and after["members"][0]["priority"] == 3  # nothing changed


def cluster_inventory(path, cluster, votes):
    hosts = {}
    for index, member in enumerate(cluster.members):
        host, port = member.address.rsplit(":", 1)
        hosts["db%d" % index] = {"mongodb_host": host, "mongodb_port": int(port), "mongodb_datacenter": "dc%d" % index,
                                 "mongodb_votes": votes[index], "mongodb_priority": 1 if votes[index] else 0}
    path.write_text(yaml.safe_dump({"all": {"children": {"locked": {
        "vars": {"mongodb_replset_name": "locked", "mongodb_replset_settings": FAST_ELECTIONS},
        "hosts": hosts}}}}))
    return path


@pytest.mark.playbook
@pytest.mark.emulator
def test_two_applies_at_once_take_turns_under_the_lock(playbook, replica_set, tmp_path):
    """Two reconfig.yml runs started together against one set: the second waits for the first's
    lock, then reads the config the first left (its plan starts at that version and has nothing
    to do). Two voting changes take two reconfigs in all. Without the lock (-e mongodb_apply_lock=false)
    this test fails whenever the runs overlap: the second plans from a config the first is changing
    and applies its steps on top of configs it did not read (seen: versions 1 -> 4 and 2 -> 3)."""
    cluster = replica_set([MemberSpec(tags={"dc": "dc%d" % i}) for i in range(3)], "locked")
    client = cluster.client()
    start = client.admin.command("replSetGetConfig")["config"]["version"]
    inventory = cluster_inventory(tmp_path / "hosts.yml", cluster, votes=[1, 0, 0])
    results = {}

    def apply(name):
        results[name] = playbook("playbooks/reconfig.yml", inventory, "-e", "mongodb_plan_dir=%s" % (tmp_path / name),
                                 "-e", "mongodb_apply_lock_owner=run-%s" % name, timeout=240)
    threads = [threading.Thread(target=apply, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    for name in ("a", "b"):
        assert results[name].returncode == 0, results[name].stdout
    plans = dict((name, json.loads((tmp_path / name / "plan.json").read_text())["replica_sets"][0])
                 for name in ("a", "b"))
    first, second = sorted(plans.values(), key=lambda p: -p["steps_applied"])
    assert first["steps_applied"] == 2 and first["config_version_before"] == start
    assert second["status"] == "no change" and second["steps_applied"] == 0
    assert second["config_version_before"] == first["config_version_after"]  # it read what the first left
    config = client.admin.command("replSetGetConfig")["config"]
    assert config["version"] == start + 2  # two reconfigs in all
    assert [m["votes"] for m in sorted(config["members"], key=lambda m: m["_id"])] == [1, 0, 0]
    assert list(client.quorum_mongodb.apply_locks.find()) == []  # both released


@pytest.mark.playbook
@pytest.mark.emulator
def test_a_held_lock_is_named_an_expired_one_taken_over_and_a_bad_plan_dir_refused(playbook, start_member, tmp_path):
    emu = start_member("--replSet", "gitops")
    initiate_one_member_set(emu, "gitops", {"dc": "east"})
    locks = emu.client().quorum_mongodb.apply_locks
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
    locks.insert_one({"_id": "reconfig", "owner": "dead-run", "acquired_at": now,
                      "expires_at": now + datetime.timedelta(hours=1)})
    changed = one_member_inventory(tmp_path / "changed.yml", emu)
    changed.write_text(changed.read_text().replace("east", "west"))

    held = playbook("playbooks/reconfig.yml", changed, "-e", "mongodb_apply_lock_wait=1")
    assert held.returncode != 0
    assert "replica set gitops: the reconfig lock is held by 'dead-run' since" in held.stdout
    assert "mongodb_apply_lock_break=true" in held.stdout
    assert emu.client().admin.command("replSetGetConfig")["config"]["members"][0]["tags"] == {"dc": "east"}

    locks.update_one({"_id": "reconfig"}, {"$set": {"expires_at": now - datetime.timedelta(seconds=1)}})
    taken = playbook("playbooks/reconfig.yml", changed)
    assert taken.returncode == 0, taken.stdout
    assert "took over the expired reconfig lock of 'dead-run'" in taken.stdout
    assert emu.client().admin.command("replSetGetConfig")["config"]["members"][0]["tags"] == {"dc": "west"}
    assert locks.count_documents({}) == 0

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    refused = playbook("playbooks/reconfig.yml", changed, "-e", "mongodb_plan_dir=%s/plan" % not_a_dir)
    assert refused.returncode != 0
    assert "cannot write the plan files to %s/plan (mongodb_plan_dir) for replica set(s) gitops" % not_a_dir \
        in " ".join(refused.stdout.split())


@pytest.mark.playbook
def test_validate_writes_the_report_of_a_refused_set_then_fails(playbook, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"bad": {
        "vars": {"mongodb_replset_name": "bad"},
        "hosts": {"db1": {"mongodb_host": "127.0.0.251", "mongodb_datacenter": "east", "mongodb_hidden": True,
                          "mongodb_priority": 1},
                  "db2": {"mongodb_host": "127.0.0.252", "mongodb_datacenter": "west"}}}}}}))
    refused = playbook("playbooks/validate.yml", inventory, "-e", "mongodb_plan_dir=%s" % (tmp_path / "plan"))
    assert refused.returncode != 0
    assert "refused: bad (see the messages above and %s/report.md)" % (tmp_path / "plan") in refused.stdout
    report = json.loads((tmp_path / "plan" / "report.json").read_text())
    assert report["valid"] is False
    assert [e["rule"] for e in report["replica_sets"][0]["errors"]] == ["member.priority_hidden"]
    assert (tmp_path / "plan" / "report.md").read_text().startswith("# Replica set validation: REFUSED\n")
