"""Run ansible-playbook from the project's venv against this checkout of the collection."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ansible_env():
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".venv", "collections"),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    })
    return env


@pytest.fixture
def playbook():
    """playbook(path, inventory, *extra) -> CompletedProcess with stdout+stderr in .stdout."""
    def run(path, inventory, *extra, timeout=180):
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                   os.path.join(ROOT, path)] + list(extra)
        return subprocess.run(command, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    return run
