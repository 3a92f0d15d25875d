"""make demo's generated secrets are owner-only and never printed (issue 13, item 5).

inventories/local generates the administrator's password and the keyFile with the
ansible.builtin.password lookup into <checkout>/.demo/secrets/. The test copies the inventory into
a temporary "checkout" (the inventory finds its root as inventory_dir/../..), makes Ansible
template both variables, and reads the files' modes; the real .demo is never touched.
"""

import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = Path(sys.executable).with_name("ansible")


def test_demo_secrets_are_owner_only_and_not_printed(tmp_path):
    inventory = tmp_path / "inventories" / "local"
    inventory.mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / "local" / "hosts.yml", inventory / "hosts.yml")
    result = subprocess.run(
        [str(ANSIBLE), "dc1-a", "-i", str(inventory / "hosts.yml"), "-m", "ansible.builtin.assert",
         "-a", "that='mongodb_login_password | length == 24 and mongod_keyfile_content | length == 64' quiet=true"],
        capture_output=True, text=True, check=False, timeout=120, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
             "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".venv" / "collections"), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    secrets = tmp_path / ".demo" / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    files = sorted(secrets.iterdir())
    assert [f.name for f in files] == ["admin_password", "keyfile"]
    for secret in files:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
        value = secret.read_text().split()[0]
        assert value not in result.stdout + result.stderr
