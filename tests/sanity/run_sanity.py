# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run `ansible-test sanity` on the quorum.mongodb collection (make sanity).

    .venv/bin/python tests/sanity/run_sanity.py [--keep] [-- extra ansible-test arguments]

ansible-test only works on a collection that sits at .../ansible_collections/quorum/mongodb in
a real directory. The checkout is not such a path (the Makefile reaches it through a symlink,
which ansible-test refuses), so this script:

1. copies the collection's files - those git tracks plus untracked files that are not ignored,
   less what is not part of the collection (see EXCLUDED_DIRS) - into a temporary
   ansible_collections/quorum/mongodb and makes that copy a throwaway git repository, so that
   ansible-test lists exactly those files (without git it warns and guesses);
2. serves the pip bootstrap script offline: when ansible-test creates a virtual environment it
   runs get-pip.py, which it downloads from ci-files.testing.ansible.com (not reachable here)
   unless ~/.ansible/test/cache/get_pip_<version>.py exists. This script writes that file: a
   small get-pip equivalent that carries the pip wheel of the version ansible-test pins,
   downloaded once from PyPI with `pip download`;
3. runs `ansible-test sanity --venv --python 3.11` in the copy and exits with its status.

Why --venv and not --local: each sanity test then runs in its own virtual environment with
exactly the tool versions ansible-test pins (pylint, pycodestyle, yamllint, voluptuous, ...),
created once under ~/.ansible/test/venv and reused. --local would have to install those pins
into the project's .venv, where they conflict with ansible-lint's own dependencies and would
make results depend on whatever else is installed there.

Time on the 2-core machine: about 70 s for a first run (it creates the environments, with their
packages from PyPI, and the pip bootstrap script), about 20-30 s once they exist. The environments
and the bootstrap script stay in ~/.ansible/test (delete that folder to start over).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMESPACE, NAME = "quorum", "mongodb"
PYTHON_VERSION = "3.11"

# Top-level paths of the checkout that are not part of the collection. ansible-test would
# otherwise lint them as collection content.
EXCLUDED_DIRS = (
    ".venv",  # the development virtual environment
    ".ci",  # CI driver scripts of this repository
    "emulator",  # mongoemu, the mongod stand-in: a separate Python package used by tests
    "bench",  # benchmarks and their results
    "tests/emulator",  # the emulator's own test suite (imports mongoemu, not the collection)
    "tests/output",  # ansible-test's output directory
)

# Sanity tests that cannot work on this machine. Each entry says why; never add one to hide
# a real failure (fix the finding, or add a justified line to tests/sanity/ignore-2.19.txt).
SKIPPED_TESTS: dict[str, str] = {
    # none: every test ansible-test enables for collections runs here (their tools come from PyPI).
}

GET_PIP_TEMPLATE = '''#!/usr/bin/env python
# Offline stand-in for get-pip.py, written by quorum.mongodb's tests/sanity/run_sanity.py.
# ansible-test runs it (as __main__, with pip install options and packages as arguments) to put
# pip into a new, empty virtual environment. It carries the pip {version} wheel from PyPI.
import argparse
import base64
import os
import shutil
import sys
import tempfile
import zipfile

PIP_VERSION = "{version}"
WHEEL_NAME = "{wheel_name}"


def main():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--no-setuptools", action="store_true")
    parser.add_argument("--no-wheel", action="store_true")
    known, args = parser.parse_known_args()
    args.append("pip")
    if not known.no_setuptools:
        args.append("setuptools")
    if not known.no_wheel:
        args.append("wheel")
    requirements = [arg for arg in args if not arg.startswith("-")]
    tmpdir = tempfile.mkdtemp(prefix="get-pip-")
    try:
        wheel_dir = os.path.join(tmpdir, "wheels")
        os.mkdir(wheel_dir)
        wheel_path = os.path.join(wheel_dir, WHEEL_NAME)
        with open(wheel_path, "wb") as handle:
            handle.write(base64.b85decode(WHEEL_DATA))
        source = os.path.join(tmpdir, "source")
        with zipfile.ZipFile(wheel_path) as wheel:
            wheel.extractall(source)
        sys.path.insert(0, source)
        from pip._internal.cli.main import main as pip_main

        options = ["install", "--upgrade", "--force-reinstall", "--find-links", wheel_dir]
        if all(req == "pip" or req == "pip==" + PIP_VERSION for req in requirements):
            # only pip itself is wanted, and the wheel above is it: no index needed
            options.append("--no-index")
        sys.exit(pip_main(options + args))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


WHEEL_DATA = (
{data}
)

if __name__ == "__main__":
    main()
'''


def log(message: str) -> None:
    print("run_sanity: %s" % message, flush=True)


def ansible_test_pip_version() -> str:
    """The pip version ansible-test installs into the virtual environments it creates."""
    from ansible_test._internal.python_requirements import get_venv_packages

    return get_venv_packages(types.SimpleNamespace(version=PYTHON_VERSION))["pip"]


def ensure_get_pip(pip_version: str) -> None:
    """Write ansible-test's cached pip bootstrap script unless it is already there."""
    cache_path = Path("~/.ansible/test/cache/get_pip_%s.py" % pip_version.replace(".", "_")).expanduser()
    if cache_path.is_file() and cache_path.stat().st_size > 0:
        log("pip %s bootstrap script already cached: %s" % (pip_version, cache_path))
        return
    log("writing the pip %s bootstrap script %s from the pip wheel on PyPI" % (pip_version, cache_path))
    with tempfile.TemporaryDirectory(prefix="get-pip-wheel-") as download_dir:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "--dest", download_dir, "pip==%s" % pip_version],
            check=True,
        )
        wheels = sorted(Path(download_dir).glob("pip-%s-*.whl" % pip_version))
        if not wheels:
            raise SystemExit("run_sanity: pip download did not produce the pip %s wheel" % pip_version)
        wheel = wheels[0]
        encoded = base64.b85encode(wheel.read_bytes()).decode("ascii")
    data = "\n".join("    %r" % encoded[i:i + 100] for i in range(0, len(encoded), 100))
    script = GET_PIP_TEMPLATE.format(version=pip_version, wheel_name=wheel.name, data=data)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    temp_path = cache_path.with_name(cache_path.name + ".tmp%d" % os.getpid())
    temp_path.write_text(script)
    temp_path.replace(cache_path)


def collection_files() -> list[str]:
    """The checkout's files that belong to the collection (tracked, or untracked and not ignored)."""
    process = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    if process.returncode != 0:
        raise SystemExit("run_sanity: cannot list the collection's files with git in %s (a git checkout is needed): %s"
                         % (REPO_ROOT, process.stderr.decode("utf-8", "replace").strip()))
    listing = process.stdout.decode("utf-8")
    files = []
    for path in sorted(set(filter(None, listing.split("\0")))):
        if any(path == d or path.startswith(d + "/") for d in EXCLUDED_DIRS):
            continue
        if not (REPO_ROOT / path).is_file() and not (REPO_ROOT / path).is_symlink():
            continue  # deleted in the work tree but still in the index
        files.append(path)
    return files


def copy_collection(destination_root: Path) -> Path:
    collection = destination_root / "ansible_collections" / NAMESPACE / NAME
    collection.mkdir(parents=True)
    files = collection_files()
    for path in files:
        target = collection / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / path, target, follow_symlinks=False)
    git = ["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"]
    subprocess.run(git + ["init", "--quiet"], cwd=collection, check=True)
    subprocess.run(git + ["add", "--all"], cwd=collection, check=True)
    log("copied %d files into %s" % (len(files), collection))
    return collection


def ansible_test_command(extra: list[str]) -> list[str]:
    ansible_test = Path(sys.executable).parent / "ansible-test"
    command = [str(ansible_test), "sanity", "--venv", "--python", PYTHON_VERSION, "--color", "no"]
    for test in SKIPPED_TESTS:
        command += ["--skip-test", test]
    return command + extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary copy of the collection (its tests/output holds the results)")
    parser.add_argument("ansible_test_args", nargs="*",
                        help="more arguments for ansible-test sanity (after --), e.g. -- --test pep8 -v")
    options = parser.parse_args()

    started = time.monotonic()
    ensure_get_pip(ansible_test_pip_version())
    for test, reason in SKIPPED_TESTS.items():
        log("skipping sanity test %s: %s" % (test, reason))

    workdir = Path(tempfile.mkdtemp(prefix="quorum-mongodb-sanity-"))
    try:
        collection = copy_collection(workdir)
        env = dict(os.environ)
        # ansible-test sets these itself; values from the Makefile would point at the checkout.
        for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_CONFIG"):
            env.pop(name, None)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        command = ansible_test_command(options.ansible_test_args)
        log("running %s" % " ".join(command))
        status = subprocess.run(command, cwd=collection, env=env, check=False).returncode
    finally:
        if options.keep:
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log("ansible-test sanity %s in %.0f s" % ("passed" if status == 0 else "FAILED (exit %d)" % status,
                                              time.monotonic() - started))
    return status


if __name__ == "__main__":
    sys.exit(main())
