"""Every playbook and role that validates a desired config built from the inventory gives the
fault-domain analysis the members' datacenters, arbiters included (issue 12 item 4: reconfig.yml
validated without them, so an arbiter in dc3 was reported untagged and counted outside dc3)."""
import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALIDATE = ("quorum.mongodb.rs_validate", "rs_validate")


def tasks_of(node):
    if isinstance(node, list):
        for item in node:
            yield from tasks_of(item)
    elif isinstance(node, dict):
        if any(key in node for key in VALIDATE):
            yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if key in node:
                yield from tasks_of(node[key])


def validating_tasks():
    files = sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) +
                   glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")))
    for path in files:
        with open(path) as handle:
            text = handle.read()
        for task in tasks_of(yaml.safe_load(text)):
            yield os.path.relpath(path, ROOT), text, task


def test_there_are_entry_points_to_check():
    names = set(found[0] for found in validating_tasks())
    assert {"playbooks/validate.yml", "playbooks/reconfig.yml", "roles/replset/tasks/main.yml"} <= names


def test_every_validation_of_an_inventory_set_passes_member_domains():
    for path, text, task in validating_tasks():
        if "rs_desired_config" not in text:
            continue  # a config given as a file or variable: no inventory to take domains from
        args = next(task[key] for key in VALIDATE if key in task)
        assert "member_domains" in args and "rs_member_domains" in text, (path, task.get("name"))


def test_the_domain_key_that_tags_the_members_is_the_one_the_analysis_groups_by():
    for path, text, task in validating_tasks():
        if "rs_desired_config" not in text:
            continue
        args = next(task[key] for key in VALIDATE if key in task)
        tagged_by_key = "domain_key=" in text
        assert tagged_by_key == ("domain_key" in args), (
            "%s: rs_desired_config and rs_validate must both take domain_key, or neither" % path)


def test_every_entry_point_checks_the_inventory_hosts_before_building_the_config():
    """Issue 12 item 10: a bad inventory (two hosts with one address) fails as a task naming the
    inventory hosts and the fix, before rs_desired_config would fail inside another task's args."""
    for path in sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) +
                       glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))):
        with open(path) as handle:
            text = handle.read()
        if "rs_desired_config(" not in text:
            continue
        assert "rs_inventory_errors" in text, path
        assert text.index("rs_inventory_errors") < text.index("rs_desired_config("), path
