"""The collection artifact ships no local state, cache or secret (issue 13, item 1).

`ansible-galaxy collection build` does not read .gitignore: only galaxy.yml's build_ignore keeps
make demo's state (.demo holds the admin password, the keyFile, member data, pid files and logs),
test caches and development-only files out of the tarball, where they would be installed 0644.
The test copies this checkout's files (git's view: tracked plus new, not ignored) into a temporary
tree, plants the state and caches a developer's tree holds after make demo and make test, builds
the collection there and reads the tarball.
"""

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GALAXY = Path(sys.executable).with_name("ansible-galaxy")

# Secret values planted in the tree; none may appear in any shipped file.
PLANTED_SECRETS = ("planted-admin-password-Zq81", "planted-keyfile-content-Xw55")

# Local state and caches as a developer's tree holds them (path -> content).
PLANTED_STATE = {
    ".demo/secrets/admin_password": PLANTED_SECRETS[0],
    ".demo/secrets/keyfile": PLANTED_SECRETS[1],
    ".demo/dc1-a/keyfile": PLANTED_SECRETS[1],
    ".demo/dc1-a/mongod.conf": "security:\n  keyFile: keyfile\n",
    ".demo/dc1-a/mongod.pid": "4242\n",
    ".demo/dc1-a/mongod.log": "log line\n",
    ".demo/dc1-a/data/collection-0.wt": "data",
    ".demo/site.log": "ok\n",
    ".hypothesis/examples/0a1b/2c3d": "example",
    ".pytest_cache/v/cache/lastfailed": "{}",
    ".ansible/roles/x": "cache",
    "bench/.peer/community/mongodb/x.py": "peer",
    "lab/.cache/rootfs/etc/hostname": "member1",
    "lab/certs/ca.key": "-----BEGIN PRIVATE KEY-----\nplanted\n-----END PRIVATE KEY-----\n",
    "molecule/default/.molecule/state.yml": "created: true\n",
    "plugins/modules/__pycache__/rs_config.cpython-311.pyc": "bytecode",
    "tests/output/junit/x.xml": "<x/>",
    "quorum_mongodb_dev.egg-info/PKG-INFO": "info",
    "quorum-mongodb-0.0.1.tar.gz": "an older build",
}

# Development-only top-level entries a user of the collection does not need.
DEVELOPMENT_ONLY = {".venv", ".ci", ".demo", ".hypothesis", ".pytest_cache", ".ansible", ".gitignore",
                    ".ansible-lint", "ansible.cfg", "Makefile", "pyproject.toml", "bench", "emulator", "lab",
                    "molecule", "tests", "build"}

# File names that hold key material or passwords, wherever they are.
SECRET_NAME = re.compile(r"(^|/)(keyfile|admin_password|[^/]*password[^/]*|[^/]*\.(pem|key|p12|pfx|vault_pass)|"
                         r"id_(rsa|ecdsa|ed25519)|secrets)(/|$)", re.IGNORECASE)
SECRET_CONTENT = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _checkout_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def build_artifact(tree, out_dir):
    """Build the collection in tree; return {member name: bytes} of the tarball's files."""
    result = subprocess.run([str(GALAXY), "collection", "build", "--output-path", str(out_dir), str(tree)],
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (tarball,) = Path(out_dir).glob("quorum-mongodb-*.tar.gz")
    with tarfile.open(tarball) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


def artifact_problems(members):
    """What in the artifact should not be there, as readable lines."""
    problems = []
    for name, content in sorted(members.items()):
        top = name.split("/", 1)[0]
        if top in DEVELOPMENT_ONLY or top.endswith(".egg-info") or "__pycache__" in name or name.endswith((".pyc", ".pid", ".log", ".tar.gz")):
            problems.append("%s: local state, cache or development-only file" % name)
        if SECRET_NAME.search(name):
            problems.append("%s: a file name that holds key material or a password" % name)
        if content is not None:
            if SECRET_CONTENT.search(content):
                problems.append("%s: holds a private key" % name)
            for secret in PLANTED_SECRETS:
                if secret.encode() in content:
                    problems.append("%s: holds the planted secret %s" % (name, secret))
    return problems


@pytest.fixture(scope="module")
def developer_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("checkout") / "quorum-mongodb"
    for name in _checkout_files():
        source = ROOT / name
        if source.is_file():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for name, content in PLANTED_STATE.items():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        if "secrets/" in name or name.endswith(("keyfile", ".key")):
            target.chmod(0o600)
    return tree


@pytest.fixture(scope="module")
def artifact(developer_tree, tmp_path_factory):
    return build_artifact(developer_tree, tmp_path_factory.mktemp("dist"))


def test_artifact_ships_no_state_cache_or_secret(artifact):
    assert artifact_problems(artifact) == []


def test_artifact_ships_license_and_content(artifact):
    assert artifact["LICENSE"].startswith(b" " * 20 + b"GNU GENERAL PUBLIC LICENSE\n" + b" " * 23 + b"Version 3")
    for name in ("README.md", "plugins/modules/rs_config.py", "plugins/module_utils/mongo_client.py",
                 "roles/mongod/tasks/main.yml", "playbooks/site.yml", "meta/runtime.yml"):
        assert artifact.get(name), "%s is missing from the artifact" % name


def test_problem_detection_sees_planted_state():
    """The check itself: every planted file, as it would be packed, is reported."""
    members = {name: content.encode() for name, content in PLANTED_STATE.items()}
    reported = {line.split(":", 1)[0] for line in artifact_problems(members)}
    assert reported == set(PLANTED_STATE)
