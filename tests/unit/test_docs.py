"""The documentation as ansible-doc renders it, for every module and role of the collection:
a missing section, attribute, sample or example fails here, not on Galaxy or the docs site."""
import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_"))
GROUP = yaml.safe_load(open(os.path.join(ROOT, "meta", "runtime.yml")))["action_groups"]["mongodb"]
# Modules whose work mongod ties to one member, or that run where the set is: their examples say where.
NEEDS_DELEGATE_TO = {"rs_stepdown", "rs_force_reconfig", "rs_config", "fsync_lock", "rs_smoke", "oplog", "user"}


def run_ansible_doc(plugin_type, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PYTHONWARNINGS="ignore")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", plugin_type, "--json"]
    return subprocess.run(command + ["quorum.mongodb.%s" % n for n in names], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300, check=False)


def ansible_doc(plugin_type, names):
    """{fqcn: rendered doc}; a plugin whose docs do not render maps to ansible-doc's error."""
    result = run_ansible_doc(plugin_type, names)
    if result.returncode == 0:
        return json.loads(result.stdout)
    rendered = {}
    for name in names:  # one at a time, so that one broken plugin fails only its own tests
        alone = run_ansible_doc(plugin_type, [name])
        rendered.update(json.loads(alone.stdout) if alone.returncode == 0
                        else {"quorum.mongodb.%s" % name: {"error": alone.stderr}})
    return rendered


@pytest.fixture(scope="module")
def module_docs():
    return ansible_doc("module", MODULES)


def returns_without_sample(returns, prefix=""):
    missing = []
    for key, value in (returns or {}).items():
        if "contains" in value:
            missing += returns_without_sample(value["contains"], prefix + key + ".")
        elif "sample" not in value:
            missing.append(prefix + key)
    return missing


@pytest.mark.parametrize("name", MODULES)
def test_every_module_renders_every_section(module_docs, name):
    rendered = module_docs.get("quorum.mongodb.%s" % name)
    assert rendered, "ansible-doc renders nothing for %s" % name
    assert "error" not in rendered, rendered.get("error")
    doc = rendered["doc"]
    for section in ("short_description", "description", "author", "options", "attributes"):
        assert doc.get(section), "%s: no %s" % (name, section)
    if name in GROUP:  # they import pymongo (rs_bootstrap, for one, needs only the standard library)
        assert any(r.startswith("pymongo") for r in doc.get("requirements", [])), "%s: no requirements" % name
    for attribute in ("check_mode", "diff_mode", "platform"):
        assert doc["attributes"].get(attribute, {}).get("support"), "%s: attribute %s" % (name, attribute)
        assert doc["attributes"][attribute].get("description"), "%s: attribute %s" % (name, attribute)
    if name in GROUP:
        assert doc["attributes"]["action_group"]["membership"] == ["quorum.mongodb.mongodb"]
    assert rendered.get("return"), "%s: no RETURN" % name
    assert returns_without_sample(rendered["return"]) == [], "%s: RETURN keys without sample or contains" % name


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_two_realistic_examples(module_docs, name):
    rendered = module_docs["quorum.mongodb.%s" % name]
    assert "error" not in rendered, rendered.get("error")
    tasks = yaml.safe_load(rendered["examples"])
    uses = [t for t in tasks if "quorum.mongodb.%s" % name in t]
    uses += [b for t in tasks for b in t.get("block", []) + t.get("always", []) if "quorum.mongodb.%s" % name in b]
    assert len(uses) >= 2, "%s: %d examples use it" % (name, len(uses))
    assert all(t.get("name") for t in tasks), "%s: an example without a name" % name
    if name in NEEDS_DELEGATE_TO:
        assert all("delegate_to" in t for t in uses), "%s: an example without delegate_to" % name


def test_modules_that_need_jsonschema_declare_it(module_docs):
    for name in ("rs_validate", "rs_config", "rs_force_reconfig"):
        requirements = module_docs["quorum.mongodb.%s" % name]["doc"]["requirements"]
        assert any(r.startswith("jsonschema") for r in requirements), name


def test_the_connection_fragment_says_modules_run_where_the_task_runs(module_docs):
    requirements = " ".join(module_docs["quorum.mongodb.rs_status"]["doc"]["requirements"])
    assert "by default the controller" not in requirements
    assert "host that runs the task" in requirements
