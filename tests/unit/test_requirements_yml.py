"""requirements.yml (issue 18) lists every collection the playbooks, roles and molecule scenarios
use beyond ansible-core: a task that names a module of another collection fails here until that
collection is pinned there."""
import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FQCN = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\.[a-z_][a-z0-9_]*$")
ALWAYS_THERE = {"ansible.builtin", "ansible.legacy", "quorum.mongodb"}


def content_files():
    for pattern in ("playbooks/*.yml", "roles/*/tasks/*.yml", "roles/*/handlers/*.yml", "molecule/*/*.yml"):
        yield from glob.glob(os.path.join(ROOT, pattern))


def collections_used(node):
    if isinstance(node, list):
        for item in node:
            yield from collections_used(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            match = FQCN.match(str(key))
            if match and "name" in node:  # a task (every task here is named: ansible-lint's name rule)
                yield "%s.%s" % match.groups()
            yield from collections_used(value)


def test_every_collection_used_is_in_requirements_yml():
    requirements = yaml.safe_load(open(os.path.join(ROOT, "requirements.yml")))
    pinned = {entry["name"] if isinstance(entry, dict) else entry for entry in requirements.get("collections") or []}
    used = {}
    for path in content_files():
        with open(path, encoding="utf-8") as handle:
            for collection in collections_used(yaml.safe_load(handle)):
                used.setdefault(collection, os.path.relpath(path, ROOT))
    assert "quorum.mongodb" in used  # the scan sees tasks at all
    missing = {c: where for c, where in used.items() if c not in ALWAYS_THERE | pinned}
    assert missing == {}, "used but not in requirements.yml: %s" % missing
