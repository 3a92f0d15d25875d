"""Every role documents and validates its variables (issue 13 item 4): meta/argument_specs.yml holds
every variable of defaults/main.yml with a description and a type (choices where mongod or the role
accepts only some values), and `ansible-doc -t role` renders each role."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")


def specs(role):
    return yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]


def defaults(role):
    path = ROOT / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_specified_with_a_description_and_a_type(role):
    entry_points = specs(role)
    assert "main" in entry_points and entry_points["main"]["short_description"]
    specified = {}
    for entry in entry_points.values():
        for name, option in entry["options"].items():
            assert option.get("description"), "%s: %s has no description" % (role, name)
            assert option.get("type") in ("str", "int", "float", "bool", "list", "dict", "path", "raw"), (role, name)
            specified[name] = option
    wanted = defaults(role)
    # a variable Ansible cannot template when it validates (replset_members: every member's hostvars,
    # which may refer to hostvars) is described in the entry point's description instead
    described = " ".join(entry_points["main"].get("description", []))
    unvalidated = sorted(n for n in set(wanted) - set(specified) if not described.count(n + ":"))
    assert unvalidated == [], "%s: variables without an argument spec" % role
    for name, value in wanted.items():
        if name not in specified:
            continue
        derived = "{{" in str(value)
        if derived or specified[name].get("no_log"):
            # Ansible templates the spec when the role starts and prints it when validation fails: a
            # derived default (replset_members: every member's hostvars) or a secret's would be printed
            assert "default" not in specified[name], (role, name)
            assert not derived or ("Default: " in specified[name]["description"] and "<" in specified[name]["description"]), (role, name)
            continue
        documented = specified[name].get("default")
        assert documented == (value.strip() if isinstance(value, str) else value), (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_no_template_in_a_spec(role):
    text = (ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text()
    assert "{{" not in text and "{%" not in text


def test_secrets_are_no_log():
    for role in ROLES:
        for entry in specs(role).values():
            for name, option in entry["options"].items():
                if name.endswith(("_password", "_keyfile_content", "_certificate_key_content")):
                    assert option.get("no_log") is True, (role, name)


def test_ansible_doc_renders_every_role():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    result = subprocess.run([str(ANSIBLE_DOC), "-t", "role", "--json"] + ["quorum.mongodb.%s" % r for r in ROLES],
                            capture_output=True, text=True, check=False, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    for role in ROLES:
        main = docs["quorum.mongodb.%s" % role]["entry_points"]["main"]
        assert main["short_description"] and len(main["options"]) == len(specs(role)["main"]["options"]), role
