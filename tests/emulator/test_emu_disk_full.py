"""A full dbPath stops the member as it stops mongod: WiredTiger cannot write its log or a data
file, panics, and mongod aborts (src/mongo/db/storage/wiredtiger/wiredtiger_util.cpp,
mdb_handle_error_with_startup_suppression: fassert(50853, errorCode != WT_PANIC)). mongoemu
used to answer the write with an error and go on running, a member no real set ever has.

The dbPath is a 4 MB tmpfs mounted for the test and unmounted by its path (root only)."""
import os
import time

import pytest
from pymongo.errors import PyMongoError

from emuharness import fill_filesystem, mount_tmpfs, pid_alive, unmount

pytestmark = pytest.mark.emulator


@pytest.fixture
def small_dbpath(tmp_path):
    path = tmp_path / "full"
    try:
        mount_tmpfs(path, 4, "quorum-test-full")
    except OSError as exc:
        pytest.skip(str(exc))
    try:
        yield path
    finally:
        unmount(path)  # after emu_factory stopped the member


def test_a_write_that_finds_the_dbpath_full_aborts_the_member_as_mongod_does(small_dbpath, emu_factory):
    emu = emu_factory(dbpath=small_dbpath)
    coll = emu.client().app.w
    coll.insert_one({"_id": 0})
    fill_filesystem(small_dbpath)  # whatever is left, taken
    with pytest.raises(PyMongoError):
        for n in range(1, 200):  # the WAL has room left in its pages; a few writes reach the end
            coll.insert_one({"_id": n, "pad": "x" * 20000})
    deadline = time.monotonic() + 10
    while pid_alive(emu.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(emu.pid), "the member still runs with its dbPath full"
    lines = emu.log_lines()
    assert any('"id":23089' in line and '"msgid":50853' in line for line in lines), lines[-5:]
    assert any("No space left on device" in line for line in lines), lines[-5:]
    emu.pid = None  # gone by itself; nothing to stop
    os.unlink(small_dbpath / "filler")


def test_a_dbpath_full_before_the_start_ends_it_as_mongod_ends_it(small_dbpath, tmp_path):
    """wiredtiger_open finds no room: mongod logs the WiredTiger error, fassert 28595 and exits 14
    (quickExit(EXIT_ABRUPT), src/mongo/util/assert_util.cpp, fassertFailedNoTraceWithLocation);
    mongoemu stopped with a Python OSError and exit code 1."""
    import subprocess
    import sys

    from emuharness import pick_address

    fill_filesystem(small_dbpath)
    host, port = pick_address()
    log = tmp_path / "mongod.log"
    started = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "mongoemu"), "--dbpath", str(small_dbpath),
         "--bind_ip", host, "--port", str(port), "--logpath", str(log), "--fork"],
        capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode == 14, started
    assert "ERROR: child process failed, exited with error number 14" in started.stdout, started.stdout
    lines = log.read_text().splitlines()
    assert any('"id":28595' in line and "28: No space left on device" in line for line in lines), lines[-6:]
    assert any('"id":23091' in line and '"msgid":28595' in line for line in lines), lines[-6:]
    assert not any('"id":20575' in line for line in lines), lines[-6:]  # quickExit: no orderly shutdown
    os.unlink(small_dbpath / "filler")
