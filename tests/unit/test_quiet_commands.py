"""The commands the README prints and make demo runs are quiet: ansible-core's imports make
cryptography warn that DSA is deprecated on every command, which make venv silences for this
venv (a .pth file with a warnings filter for that message only)."""
import os
import subprocess
import sys

import pytest

BIN = os.path.dirname(sys.executable)


@pytest.mark.parametrize("command", [["ansible-playbook", "--version"], ["ansible-galaxy", "--version"],
                                     ["ansible-doc", "-t", "module", "-l", "quorum.mongodb"]])
def test_no_dsa_deprecation_warning(command):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    result = subprocess.run([os.path.join(BIN, command[0])] + command[1:], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "DSA" not in result.stderr, result.stderr
