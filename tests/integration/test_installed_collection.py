"""quorum.mongodb as a user's repository gets it: the example in docs/own-repository installs the
locally built tarball with `ansible-galaxy collection install -r requirements.yml` (no network),
runs quorum.mongodb.validate from the installed copy, and its execution-environment.yml gives
ansible-builder a build context whose introspection finds the collection's requirements.txt
and bindep.txt (meta/execution-environment.yml). Building the image needs a container engine,
which is not here: the test stops at the context and runs the context's own introspect step."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "sanity"))
from run_sanity import collection_files  # noqa: E402  the collection's files: tracked, or new and not ignored

BIN = os.path.dirname(sys.executable)
EXAMPLE = os.path.join(ROOT, "docs", "own-repository")


def run(command, cwd, env=None, timeout=300):
    result = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def user_env(repo):
    """Nothing of this checkout: no collections path but the user's, a fresh HOME, no sys.path scan."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=str(repo / "home"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + env.get("PATH", ""))
    return env


@pytest.fixture(scope="module")
def user_repository(tmp_path_factory):
    """A user's repository made of the example's files, the tarball where its requirements.yml
    says, and the collection installed from it into ./collections."""
    repo = tmp_path_factory.mktemp("own-repository")
    shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
    (repo / "home").mkdir()
    requirements = yaml.safe_load((repo / "requirements.yml").read_text())
    tarball = next(c["name"] for c in requirements["collections"] if c.get("type") == "file")
    # built from the collection's files as git lists them, not from the checkout, which also holds
    # local state (make demo's, the field lab's machines) that ansible-galaxy would walk
    source = repo / "source"
    for path in collection_files():
        os.makedirs(source / os.path.dirname(path), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, path), source / path, follow_symlinks=False)
    built = run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(repo / "build"),
                 str(source)], cwd=repo, env=user_env(repo))
    [name] = os.listdir(repo / "build")
    assert os.path.basename(tarball) == name, "requirements.yml names %s, the build made %s: %s" % (tarball, name, built)
    os.makedirs(repo / os.path.dirname(tarball), exist_ok=True)
    shutil.move(str(repo / "build" / name), str(repo / tarball))
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-r", "requirements.yml", "-p", "collections"],
        cwd=repo, env=user_env(repo))
    return repo


@pytest.mark.playbook
def test_the_installed_copy_runs_validate(user_repository):
    env = user_env(user_repository)
    listed = json.loads(run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "quorum.mongodb",
                             "--format", "json"], cwd=user_repository, env=env))
    assert list(listed) == [str(user_repository / "collections" / "ansible_collections")], listed
    out = run([os.path.join(BIN, "ansible-playbook"), "quorum.mongodb.validate"], cwd=user_repository, env=env)
    assert "Fault domains of payments" in out, out
    assert "failed=0" in out


def test_the_collection_declares_its_requirements_for_execution_environments():
    meta = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml")))
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    pyproject = open(os.path.join(ROOT, "pyproject.toml")).read()
    for line in open(os.path.join(ROOT, "requirements.txt")):
        if line.strip() and not line.startswith("#"):
            assert '"%s"' % line.strip() in pyproject, "%s: not what the development venv installs" % line.strip()


def test_ansible_builder_context_introspects_the_collections_requirements(user_repository):
    context = user_repository / "context"
    # ansible-builder is a development tool of this checkout's venv (also when ansible-core comes
    # from another venv: tests/compat/core_range.py)
    builder = shutil.which("ansible-builder", path=os.pathsep.join([BIN, os.path.join(ROOT, ".venv", "bin")]))
    run([builder, "create", "-f", "execution-environment.yml", "-c", str(context)],
        cwd=user_repository, env=user_env(user_repository))
    containerfile = next((context / name).read_text() for name in ("Containerfile", "Dockerfile")
                         if (context / name).exists())
    assert "ansible-galaxy collection install" in containerfile and "introspect" in containerfile
    shipped = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    tarball = shipped["collections"][0]["name"]
    assert (context / "_build" / tarball).is_file(), "the tarball is not in the build context"
    # the builder stage's own step, on the collections as the galaxy stage installs them
    run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
         str(user_repository / "collections"), "--write-pip", str(context / "pip.txt"),
         "--write-bindep", str(context / "bindep.txt")], cwd=user_repository)
    pip = (context / "pip.txt").read_text()
    bindep = (context / "bindep.txt").read_text()
    assert "pymongo>=4.6,<5  # from collection quorum.mongodb" in pip
    assert "jsonschema>=4.18  # from collection quorum.mongodb" in pip
    assert "openssh-client [platform:dpkg]  # from collection quorum.mongodb" in bindep
