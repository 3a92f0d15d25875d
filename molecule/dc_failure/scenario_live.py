"""A scenario's replica set as its testinfra tests see it: the members of one inventory group, their
literal inventory variables (through testinfra's Ansible backend), clients to the live set or one
member, and the JSON files side_effect.yml recorded in molecule's ephemeral directory.

Shared by the dc_failure, rolling_resync, oplog and backup_restore verifiers, which put this folder
on sys.path. Expectations come from the inventory and the recordings, never from the collection.
"""
import json
import os

import testinfra.utils.ansible_runner
from pymongo import MongoClient


class ScenarioSet:
    def __init__(self, group):
        self.runner = testinfra.utils.ansible_runner.AnsibleRunner(
            os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]))
        self.members = sorted(self.runner.get_hosts(group))
        self.vars = self.runner.get_variables(self.members[0])
        self.members_dir = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "members")

    def hosts(self, group):
        return sorted(self.runner.get_hosts(group))

    def variables(self, name):
        return self.runner.get_variables(name)

    def address(self, name):
        variables = self.variables(name)
        return "%s:%d" % (variables["mongodb_host"], variables["mongodb_port"])

    def connect(self, names, **kwargs):
        """One member directly (one name), else the set by its name; as the scenario's administrator."""
        if len(names) == 1:
            options = {"directConnection": True}
        else:
            options = {"replicaSet": self.vars["scenario_replset_name"]}
        options.update(kwargs)
        return MongoClient([self.address(n) for n in names], username=self.vars["mongodb_login_user"],
                           password=self.vars["mongodb_login_password"], serverSelectionTimeoutMS=10000, **options)

    def path(self, *parts):
        return os.path.join(self.members_dir, *parts)

    def recorded(self, name):
        with open(self.path(name), encoding="utf-8") as result:
            return json.load(result)
