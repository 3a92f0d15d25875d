"""The field lab's package repository: a signed apt repository laid out like MongoDB's
(dists/bookworm/mongodb-org/<series>/main), whose packages carry MongoDB's names and install
mongoemu as /usr/bin/mongod.

- mongodb-org-server <version>: /usr/bin/mongod (a wrapper that runs mongoemu, announcing
  <version> in MONGOEMU_VERSION), mongoemu and its Python dependencies under /usr/lib/mongoemu
  (isolated from the system's Python packages), /etc/mongod.conf and the packaged single-instance
  mongod.service (not enabled, as MongoDB's package leaves it), and the `mongodb` system user that
  MongoDB's Debian packages create. Nothing else.
- mongodb-org-shell <version>: empty (the real one pulls in mongosh, which the lab does not have).
- mongodb-org <version>: the metapackage, depending on both at exactly its version.

The repository is signed with a key made for the lab (kept in the cache with the repository);
its public half is served as server-<series>.asc, like pgp.mongodb.com's, so that the mongod role's
apt path (keyring, signed-by, pinned version, held packages) runs unchanged against it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EMULATOR = ROOT / "emulator" / "mongoemu"
# The series and versions the lab serves (two of 7.0, to pin one and upgrade to the other; one of 8.0).
VERSIONS = {"7.0": ["7.0.14", "7.0.15"], "8.0": ["8.0.4"]}
SUITE = "bookworm"
ARCH = "amd64"
# The lab's sudo password (a test fixture: the lab is a throwaway on this host, never a real host).
LAB_BECOME_PASSWORD = "quorum-lab-become"
# mongoemu's Python dependencies, copied from the project's venv (CPython 3.11, as Debian 12's).
PYTHON_REQUIREMENTS = ["pymongo", "PyYAML", "dnspython", "cryptography", "cffi", "pycparser"]  # cryptography: x.509


def cache_dir() -> Path:
    return Path(os.environ.get("QUORUM_LAB_CACHE", "/var/cache/quorum-lab"))


def _installed_version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def source_hash() -> str:
    """The repository's cache key: this recipe, the emulator's code and the dependency versions."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(EMULATOR.rglob("*.py")):
        digest.update(str(path.relative_to(EMULATOR)).encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps({d: _installed_version(d) for d in PYTHON_REQUIREMENTS}).encode())
    return digest.hexdigest()[:12]


def repository() -> Path:
    """The repository directory (built when the emulator or this recipe changed)."""
    target = cache_dir() / ("repo-" + source_hash())
    if (target / ".complete").exists():
        return target
    cache_dir().mkdir(parents=True, exist_ok=True)
    import fcntl
    with open(cache_dir() / "repo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        print("fieldlab: building the package repository %s" % target.name, flush=True)
        building = Path(tempfile.mkdtemp(prefix="repo-build-", dir=cache_dir()))
        build_repository(building)
        (building / ".complete").write_text("ok\n")
        for old in cache_dir().glob("repo-*"):  # a running lab may still serve one of the last hour's
            if old.is_dir() and old != building and time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        building.rename(target)
    return target


def copy_installed(dists: list[str], target: Path) -> None:
    """The files of installed distributions (this interpreter's: CPython 3.11 like Debian 12's),
    copied into `target` so that nothing is downloaded: the lab may be built where only this
    venv has them."""
    from importlib.metadata import distribution
    if sys.version_info[:2] != (3, 11):
        raise SystemExit("the lab's packages carry compiled modules for CPython 3.11 (Debian 12's Python); "
                         "build them with Python 3.11 (this is %d.%d)" % sys.version_info[:2])
    for name in dists:
        for file in distribution(name).files or []:
            if file.parts[0] == ".." or file.suffix == ".pyc":
                continue
            dest = target / file
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file.locate(), dest)


def build_repository(repo: Path) -> None:
    work = repo / ".build"
    python_lib = work / "python"
    copy_installed(PYTHON_REQUIREMENTS, python_lib)
    shutil.copytree(EMULATOR, python_lib / "mongoemu", ignore=shutil.ignore_patterns("__pycache__"))
    gnupg = repo / ".gnupg"
    gnupg.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(gnupg)]
    subprocess.run(gpg + ["--passphrase", "", "--quick-gen-key", "quorum field lab repository <lab@quorum.invalid>",
                          "rsa3072", "sign", "never"], check=True)
    public = subprocess.run(gpg + ["--armor", "--export"], check=True, capture_output=True).stdout
    for series, versions in VERSIONS.items():
        (repo / ("server-%s.asc" % series)).write_bytes(public)
        pool = repo / "apt" / "debian" / "pool" / series
        pool.mkdir(parents=True)
        for version in versions:
            for name, builder in (("mongodb-org-server", _server_package), ("mongodb-org-shell", _empty_package),
                                  ("mongodb-org", _meta_package)):
                tree = work / ("%s_%s" % (name, version))
                builder(tree, name, version, python_lib)
                subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree),
                                str(pool / ("%s_%s_%s.deb" % (name, version, ARCH)))],
                               check=True, stdout=subprocess.DEVNULL)
        _index(repo / "apt" / "debian", series, gpg)
    shutil.rmtree(work)


def _control(tree: Path, name: str, version: str, depends: str = "", description: str = "") -> Path:
    debian = tree / "DEBIAN"
    debian.mkdir(parents=True)
    lines = ["Package: %s" % name, "Version: %s" % version, "Architecture: %s" % ARCH,
             "Maintainer: quorum field lab <lab@quorum.invalid>", "Section: database", "Priority: optional"]
    if depends:
        lines.append("Depends: %s" % depends)
    lines.append("Description: %s (field lab stand-in)\n %s" % (name, description or "Part of the lab's MongoDB stand-in."))
    (debian / "control").write_text("\n".join(lines) + "\n")
    return debian


def _empty_package(tree: Path, name: str, version: str, _python_lib: Path) -> None:
    _control(tree, name, version, description="Empty: the lab has no mongosh.")


def _meta_package(tree: Path, name: str, version: str, _python_lib: Path) -> None:
    _control(tree, name, version, depends="mongodb-org-server (= %s), mongodb-org-shell (= %s)" % (version, version),
             description="The metapackage, as MongoDB's.")


def _server_package(tree: Path, name: str, version: str, python_lib: Path) -> None:
    debian = _control(tree, name, version, depends="python3 (>= 3.11), adduser | passwd",
                      description="mongoemu, a mongod stand-in, as /usr/bin/mongod (version %s)." % version)
    (debian / "conffiles").write_text("/etc/mongod.conf\n")
    (debian / "postinst").write_text(
        "#!/bin/sh\nset -e\n"
        "if [ \"$1\" = configure ]; then\n"
        "  getent group mongodb >/dev/null || groupadd --system mongodb\n"
        "  getent passwd mongodb >/dev/null || useradd --system --gid mongodb --home-dir /var/lib/mongodb "
        "--shell /usr/sbin/nologin mongodb\n"
        "  install -d -o mongodb -g mongodb -m 0755 /var/lib/mongodb /var/log/mongodb\n"
        "fi\n")
    (debian / "postinst").chmod(0o755)
    lib = tree / "usr" / "lib" / "mongoemu"
    shutil.copytree(python_lib, lib / "python")
    (lib / "VERSION").write_text(version + "\n")
    mongod = tree / "usr" / "bin" / "mongod"
    mongod.parent.mkdir(parents=True)
    mongod.write_text("#!/bin/sh\n# mongoemu playing mongod %s (quorum field lab package)\n"
                      "export PYTHONPATH=/usr/lib/mongoemu/python MONGOEMU_VERSION=%s\n"
                      "exec /usr/bin/python3 -m mongoemu \"$@\"\n" % (version, version))
    mongod.chmod(0o755)
    etc = tree / "etc"
    etc.mkdir()
    (etc / "mongod.conf").write_text(
        "# mongod.conf of the package (the quorum.mongodb role writes one per member elsewhere)\n"
        "storage:\n  dbPath: /var/lib/mongodb\nsystemLog:\n  destination: file\n  logAppend: true\n"
        "  path: /var/log/mongodb/mongod.log\nnet:\n  port: 27017\n  bindIp: 127.0.0.1\n")
    unit = tree / "lib" / "systemd" / "system" / "mongod.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(
        "[Unit]\nDescription=MongoDB Database Server (field lab stand-in)\nAfter=network-online.target\n"
        "Wants=network-online.target\n\n[Service]\nUser=mongodb\nGroup=mongodb\n"
        "ExecStart=/usr/bin/mongod --config /etc/mongod.conf\nLimitNOFILE=64000\n\n"
        "[Install]\nWantedBy=multi-user.target\n")


def _index(apt_root: Path, series: str, gpg: list[str]) -> None:
    """Packages and a signed Release (InRelease and Release.gpg) for one series."""
    suite = "%s/mongodb-org/%s" % (SUITE, series)
    dist = apt_root / "dists" / suite
    binary = dist / "main" / ("binary-%s" % ARCH)
    binary.mkdir(parents=True)
    packages = subprocess.run(["apt-ftparchive", "packages", "pool/%s" % series], cwd=apt_root, check=True,
                              capture_output=True, text=True).stdout
    (binary / "Packages").write_text(packages)
    release = subprocess.run(
        ["apt-ftparchive", "-o", "APT::FTPArchive::Release::Suite=%s" % suite,
         "-o", "APT::FTPArchive::Release::Codename=%s" % suite,
         "-o", "APT::FTPArchive::Release::Origin=quorum-field-lab",
         "-o", "APT::FTPArchive::Release::Components=main",
         "-o", "APT::FTPArchive::Release::Architectures=%s" % ARCH, "release", "."],
        cwd=dist, check=True, capture_output=True, text=True).stdout
    (dist / "Release").write_text(release)
    subprocess.run(gpg + ["--clearsign", "-o", str(dist / "InRelease"), str(dist / "Release")], check=True)
    subprocess.run(gpg + ["-abs", "-o", str(dist / "Release.gpg"), str(dist / "Release")], check=True)
