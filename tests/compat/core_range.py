# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ansible-core range meta/runtime.yml claims (requires_ansible), tested.

1. For each older ansible-core minor release (2.16, 2.17, 2.18 - the development venv is 2.19):
   a virtual environment with only that ansible-core from PyPI (cached under
   ~/.cache/quorum-mongodb/, created once per machine); the development venv's other packages
   (pymongo, jsonschema, pytest, mongoemu) are reached through a .pth file, behind that
   ansible-core. With it, the tests where ansible-core itself decides: ansible-doc renders every
   module (tests/unit/test_docs.py), and end to end against mongoemu a play that connects only
   through module_defaults (the action group), then the built tarball installed with
   ansible-galaxy and run as quorum.mongodb.validate; --full adds the artifact build, the
   missing-library messages and every case of the validate gate.
2. ansible-test's compile check of the modules and module_utils for the Pythons the modules
   support on the host that runs them (3.8 to 3.13), with each interpreter that exists here.

make core-range runs all of it (about 2 minutes, plus a minute per venv the first time);
make test runs --quick: ansible-core 2.16 (the lower bound; 2.19 is every other test's) and the
compile check on Python 3.8 and 3.13 (the bounds).

    .venv/bin/python tests/compat/core_range.py [--quick] [--full] [--core 2.16 ...] [--python 3.8 ...]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORES = ("2.16", "2.17", "2.18")
MODULE_PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
EXAMPLE_VAULT_PASSWORD = "quorum-example-vault-password"  # published with inventories/examples
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "quorum-mongodb"
TESTS = [
    "tests/unit/test_docs.py",
    "tests/integration/test_module_defaults.py",
    "tests/integration/test_installed_collection.py",
]
FULL_TESTS = TESTS + [
    "tests/unit/test_artifact.py",
    "tests/integration/test_missing_libraries.py",
    "tests/integration/test_validate_playbook.py",
]


def log(message):
    print("core_range: %s" % message, flush=True)


def core_venv(version):
    """A venv with ansible-core `version`.* only; the development venv's packages behind it."""
    venv = CACHE / ("ansible-core-%s" % version)
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        log("creating %s (ansible-core %s.* from PyPI)" % (venv, version))
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "ansible-core==%s.*" % version], check=True)
        stamp.write_text(version)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # site.addsitedir also runs the development venv's own .pth files (mongoemu is installed editable)
    Path(purelib, "quorum_mongodb_dev_venv.pth").write_text(
        "import site; site.addsitedir(%r)\n" % sysconfig.get_paths()["purelib"])
    return python


def run_tests(version, tests):
    python = core_venv(version)
    reported = subprocess.run([str(python), "-c", "import ansible; print(ansible.__version__)"], check=True,
                              capture_output=True, text=True).stdout.strip()
    if not reported.startswith(version + "."):
        log("the venv for %s runs ansible-core %s" % (version, reported))
        return 1
    log("ansible-core %s: %s" % (reported, " ".join(tests)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
    with tempfile.TemporaryDirectory(prefix="core-range-") as tmp:
        # Before 2.19, ansible-core decrypts every vaulted variable of the hosts a play templates
        # (validate.yml reads all hostvars), so the example inventories' Vault values need their
        # published example password; 2.19 decrypts only the values a task uses.
        password = Path(tmp, "vault_pass")
        password.write_text(EXAMPLE_VAULT_PASSWORD + "\n")
        password.chmod(0o600)
        env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(password)
        return subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=ROOT,
                              env=env, check=False).returncode


def interpreter(version):
    """A working pythonX.Y: on PATH, or one of pyenv's installed versions (its shims only run the
    versions pyenv has enabled)."""
    candidates = [shutil.which("python%s" % version)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (version, version))))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def compile_check(versions):
    status = 0
    for version in versions:
        found = interpreter(version)
        if found is None:
            log("no working python%s on this machine: compile check skipped for it" % version)
            continue
        log("ansible-test sanity --test compile --python %s (%s)" % (version, found))
        env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(found), os.environ.get("PATH", "")]))
        status |= subprocess.run([sys.executable, str(ROOT / "tests" / "sanity" / "run_sanity.py"), "--",
                                  "--test", "compile", "--python", version], cwd=ROOT, env=env,
                                 check=False).returncode
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--quick", action="store_true", help="ansible-core 2.16 and Python 3.8 and 3.13 only")
    parser.add_argument("--full", action="store_true", help="the longer list of tests for each ansible-core")
    parser.add_argument("--core", action="append", choices=CORES, help="only this ansible-core (repeatable)")
    parser.add_argument("--python", action="append", choices=MODULE_PYTHONS, help="only this Python (repeatable)")
    options = parser.parse_args()
    cores = options.core or (("2.16",) if options.quick else CORES)
    pythons = options.python or (("3.8", "3.13") if options.quick else MODULE_PYTHONS)
    started = time.monotonic()
    failed = []
    for version in cores:
        if run_tests(version, FULL_TESTS if options.full else TESTS) != 0:
            failed.append("ansible-core %s" % version)
    if compile_check(pythons) != 0:
        failed.append("compile")
    log("%s in %.0f s" % ("FAILED: " + ", ".join(failed) if failed else "passed", time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
