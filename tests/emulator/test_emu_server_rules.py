"""Catalog and startup behaviour as mongod 7.0 (issue 16 items 6 and 7).

* CollectionOptions::appendBSON (src/mongo/db/catalog/collection_options.cpp) writes
  "validator" only when it is not empty: collMod {validator: {}} removes it from
  listCollections, and create with an empty validator never shows one.
* logCommonStartupWarnings (src/mongo/db/startup_warnings_common.cpp) and
  logMongodStartupWarnings (src/mongo/db/startup_warnings_mongod.cpp): access control off
  (22120), running as root (22138), bound to localhost because no bindIp was given (22140),
  open files soft limit below 64000 (22184), vm.max_map_count below twice the connection limit
  (5123300), transparent huge pages 'always' (22178/22181) ... each logged with the
  startupWarnings tag and returned by getLog "startupWarnings".
"""
from __future__ import annotations

import json
import os
import resource

import pytest

from emuharness import pick_address

pytestmark = pytest.mark.emulator


def test_coll_mod_with_an_empty_validator_removes_it(client):
    db = client["validators"]
    db.create_collection("v", validator={"x": {"$type": "int"}})
    assert db.command("listCollections", filter={"name": "v"})["cursor"]["firstBatch"][0][
        "options"]["validator"] == {"x": {"$type": "int"}}
    db.command("collMod", "v", validator={})
    options = db.command("listCollections", filter={"name": "v"})["cursor"]["firstBatch"][0][
        "options"]
    assert "validator" not in options, options
    db.create_collection("w", validator={})
    options = db.command("listCollections", filter={"name": "w"})["cursor"]["firstBatch"][0][
        "options"]
    assert "validator" not in options, options


def _warnings(node) -> dict[int, dict]:
    lines = node.client().admin.command("getLog", "startupWarnings")["log"]
    entries = [json.loads(line) for line in lines]
    assert all(e.get("tags") == ["startupWarnings"] for e in entries), entries
    return {e["id"]: e for e in entries}


def test_startup_warnings_follow_the_configuration_and_the_host(emu_factory, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 4096 if hard == resource.RLIM_INFINITY or hard >= 4096 else hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        plain = emu_factory()  # no --auth, --bind_ip given, soft open files limit `low`
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    seen = _warnings(plain)
    assert seen[22120]["msg"].startswith("Access control is not enabled for the database")
    assert seen[22184]["attr"] == {"currentValue": low, "recommendedMinimum": 64000}
    assert (22138 in seen) == (os.getuid() == 0)
    assert 22140 not in seen  # the harness always gives --bind_ip
    max_map = int(open("/proc/sys/vm/max_map_count").read())
    assert (5123300 in seen) == (max_map < 2 * int(low * 0.8))
    thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read() \
        if os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled") else ""
    assert (22178 in seen) == ("[always]" in thp)

    secured = emu_factory("--auth")
    assert 22120 not in _warnings_anonymous(secured)


def _warnings_anonymous(node) -> dict[int, dict]:
    # with --auth and no user, getLog is outside the localhost exception: read the log file
    entries = [json.loads(line) for line in node.log_lines() if "startupWarnings" in line]
    return {e["id"]: e for e in entries}


def test_no_bind_ip_warns_that_the_server_is_bound_to_localhost(emu_factory, tmp_path):
    host, port = pick_address()
    node = emu_factory(start=False, host="127.0.0.1", port=port)
    conf = tmp_path / "mongod.conf"
    conf.write_text(f"net:\n  port: {port}\nstorage:\n  dbPath: {node.dbpath}\n"
                    f"systemLog:\n  destination: file\n  path: {node.logpath}\n"
                    f"processManagement:\n  fork: true\n  pidFilePath: {node.pidfile}\n")
    node.config_file = conf
    node.start()
    assert 22140 in _warnings(node)
    del host


class _Recorder:
    """Stands in for mongoemu's logger: keeps the ids of what is logged."""

    def __init__(self):
        self.ids: list[int] = []

    def log(self, severity, component, log_id, ctx, msg, attr=None, warning_at_startup=False):
        self.ids.append(log_id)


@pytest.mark.parametrize("security, warned", [
    ("", True),
    ("security:\n  authorization: enabled\n", False),
    ("security:\n  authorization: disabled\n", False),
    # the validator takes any case (mongod_options_general.h), storeServerOptions compares
    # exactly: AuthState stays kUndefined, authorization stays off, and mongod warns
    ("security:\n  authorization: Enabled\n", True),
    ("security:\n  authorization: DISABLED\n", True),
])
def test_access_control_warning_follows_the_auth_state(tmp_path, security, warned):
    """logCommonStartupWarnings (startup_warnings_common.cpp) logs 22120 while
    serverGlobalParams.authState is kUndefined, which storeServerOptions
    (server_options_server_helpers.cpp) changes only for "enabled"/"disabled" or a keyFile."""
    from mongoemu.config import parse_config
    from mongoemu.startup_warnings import log_startup_warnings

    conf = tmp_path / "mongod.conf"
    conf.write_text(f"storage:\n  dbPath: {tmp_path}\n{security}")
    cfg = parse_config(["-f", str(conf)])
    logger = _Recorder()
    log_startup_warnings(cfg, logger)
    assert (22120 in logger.ids) == warned
    assert cfg.auth == ("authorization: enabled" in security)
