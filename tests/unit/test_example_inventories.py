"""The example inventories keep their secrets in Ansible Vault (issue 13 item 2): the
administrator's password and the keyFile are `!vault` values in every example, they decrypt with
the published example password, and the placeholder keyFile is one the mongod role refuses."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "inventories" / "examples").iterdir() if p.is_dir())
SECRETS = ("mongodb_login_password", "mongod_keyfile_content")


class _VaultLoader(yaml.SafeLoader):
    pass


_VaultLoader.add_constructor("!vault", lambda loader, node: ("!vault", loader.construct_scalar(node)))


def _all_vars(example):
    found = {}
    for path in sorted(example.rglob("*.yml")):
        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in SECRETS or "password" in str(key) or "_content" in str(key):
                        found.setdefault(key, []).append((path, value))
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)
        walk(yaml.load(path.read_text(), Loader=_VaultLoader))
    return found


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_secrets_are_vault_encrypted(example):
    found = _all_vars(example)
    assert set(SECRETS) <= set(found)
    for name, places in found.items():
        for path, value in places:
            assert isinstance(value, tuple) and value[0] == "!vault" and \
                value[1].startswith("$ANSIBLE_VAULT;1.1;AES256"), "%s in %s is not vault-encrypted" % (name, path)


def test_examples_decrypt_and_the_placeholder_key_is_refused(tmp_path):
    password_file = tmp_path / "vault_pass"
    password_file.write_text("quorum-example-vault-password")
    ansible = Path(sys.executable).with_name("ansible")
    result = subprocess.run(
        [str(ansible), "all", "-i", str(EXAMPLES[0]), "--vault-password-file", str(password_file), "-c", "local",
         "-m", "ansible.builtin.debug", "-a", "msg={{ mongod_keyfile_content is match('^[A-Za-z0-9+/=]+$') }}"],
        capture_output=True, text=True, check=False, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"msg": false' in result.stdout  # the placeholder (with "-") is no key mongod accepts
