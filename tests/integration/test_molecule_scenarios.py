"""Every molecule scenario under molecule/ (molecule test -s <name>, from the repository root,
with the Makefile's environment) must pass: molecule's own exit status is the verdict, and its
output is shown when it fails; no password or key of the scenario's inventory may appear in that
output. The scenarios start emulated members on fixed 127.0.0.x addresses of their own and stop
them by pid in their destroy step, which molecule test runs also after a failure; they run two
at a time (MOLECULE_JOBS), the first test waiting for its own."""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(ROOT, "molecule")
SCENARIOS = sorted(name for name in os.listdir(MOLECULE_DIR)
                   if os.path.isfile(os.path.join(MOLECULE_DIR, name, "molecule.yml"))) \
    if os.path.isdir(MOLECULE_DIR) else []
BIN = os.path.dirname(sys.executable)


def molecule_env():
    """The environment make test gives: the checkout as the collection, the repository's
    ansible.cfg, the venv first on PATH; no colours, so that a failure reads well."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".venv", "collections"),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    })
    env.pop("MOLECULE_EPHEMERAL_DIRECTORY", None)
    return env


def test_every_scenario_is_found():
    assert {"default", "reconfig", "dc_failure", "rolling_resync", "oplog", "backup_restore", "field", "upgrade"} <= \
        set(SCENARIOS), \
        SCENARIOS


# Scenarios whose controller runs inside a field lab's network namespace (lab/fieldlab.py exec): their
# machines are reached only there, by their own addresses over SSH.
FIELD_LABS = {"field": ["--state", os.path.join(ROOT, ".lab", "field"), "--name", "field", "--subnet", "10.78.1"],
              "upgrade": ["--state", os.path.join(ROOT, ".lab", "upgrade"), "--name", "upgr", "--subnet", "10.78.2"]}


def run_scenario(scenario):
    command = [os.path.join(BIN, "molecule"), "test", "-s", scenario]
    if scenario in FIELD_LABS:
        command = [sys.executable, os.path.join(ROOT, "lab", "fieldlab.py")] + FIELD_LABS[scenario] + ["exec", "--"] \
            + command
    return subprocess.run(command, cwd=ROOT, env=molecule_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=1800 if scenario in FIELD_LABS else 900, check=False)


@pytest.fixture(scope="module")
def molecule_runs():
    """scenario -> the future of its molecule test run; all are started at the first use."""
    with ThreadPoolExecutor(max_workers=int(os.environ.get("MOLECULE_JOBS", "2"))) as pool:
        # the field lab's scenario first: it is the longest
        yield {scenario: pool.submit(run_scenario, scenario)
               for scenario in sorted(SCENARIOS, key=lambda name: name not in FIELD_LABS)}


def secrets_of(scenario):
    """The values of the scenario inventory's password and key variables."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and ("password" in key or "keyfile_content" in key):
                    found.append(value)
                walk(value)
    with open(os.path.join(MOLECULE_DIR, scenario, "inventory", "hosts.yml")) as inventory:
        walk(yaml.safe_load(inventory))
    return found


@pytest.mark.playbook
@pytest.mark.emulator
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_passes(scenario, molecule_runs):
    result = molecule_runs[scenario].result()
    tail = "\n".join(result.stdout.splitlines()[-300:])
    assert result.returncode == 0, "molecule test -s %s exited %d:\n%s" % (scenario, result.returncode, tail)
    assert secrets_of(scenario), "the scenario's inventory has a password or key to look for"
    leaked = [secret for secret in secrets_of(scenario) if secret in result.stdout]
    assert not leaked, "molecule test -s %s printed secrets of its inventory" % scenario
