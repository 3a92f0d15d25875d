"""The mongod role's systemd unit (mongod_service_manager: systemd) as the role renders it:
systemd-analyze verify accepts it, and it runs this member's mongod.conf as a forking service
with its pid file. (No systemd runs here: the unit is checked, not started.)"""
import os
import shutil
import subprocess
import sys

import pytest


@pytest.mark.playbook
def test_rendered_unit_passes_systemd_analyze(playbook, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    binary = os.path.join(os.path.dirname(sys.executable), "mongoemu")
    result = playbook("tests/integration/files/render_unit.yml", "localhost,",
                      "-e", f"out_dir={tmp_path}", "-e", f"binary={binary}")
    assert result.returncode == 0, result.stdout
    unit = tmp_path / "mongod-27999.service"
    text = unit.read_text()
    assert f"ExecStart={binary} --config {tmp_path}/member/mongod.conf" in text
    assert f"PIDFile={tmp_path}/member/mongod.pid" in text and "Type=forking" in text
    check = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                           check=False)
    problems = [line for line in (check.stdout + check.stderr).splitlines()
                if str(unit) in line or "Failed" in line]
    assert check.returncode == 0 and not problems, check.stdout + check.stderr
