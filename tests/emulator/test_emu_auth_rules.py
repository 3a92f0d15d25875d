"""Authorization as mongod 7.0 decides it (issue 16): the localhost exception's exact
privileges, arbiters included.

* AuthorizationSessionImpl::_getDefaultPrivileges (src/mongo/db/auth/authorization_session_impl.cpp):
  while the exception holds, an unauthenticated loopback connection has createUser and grantRole
  on admin, createUser on $external, and addShard, replSetConfigure and replSetGetStatus on the
  cluster; on an arbiter (serverIsArbiter, SERVER-5479) also getCmdLineOpts, getParameter,
  serverStatus and shutdown.
* commands.cpp (the command authorization hook): with the bypass the command's own check runs
  against those privileges; without it an unauthenticated client gets "Command X requires
  authentication".
* AuthzSessionExternalStateServerCommon::shouldAllowLocalhost / hasAnyPrivilegeDocuments: the
  exception ends with the first user or the first role.
* user_management_commands.cpp: createUser needs createUser on its database and grantRole on the
  database of every role it grants.
* list_databases.cpp: without the listDatabases action only databases the session holds a
  privilege in are listed.
"""
from __future__ import annotations

import pytest
from pymongo import MongoClient

from emuharness import STARTED_PIDS, assert_fails
from mongoemu.cluster import MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator


def test_localhost_exception_privileges_on_a_standalone(emu_factory):
    node = emu_factory("--auth")
    anonymous = node.client()
    # replSetGetStatus is authorized: a standalone answers NoReplicationEnabled, not Unauthorized
    assert_fails(lambda: anonymous.admin.command("replSetGetStatus"), 76, "NoReplicationEnabled")
    # listDatabases runs and lists only what the default privileges touch
    names = [d["name"] for d in anonymous.admin.command("listDatabases")["databases"]]
    assert set(names) <= {"admin"}, names
    # outside the default privileges: refused
    for command in ("getCmdLineOpts", "serverStatus", "getParameter", "replSetGetConfig"):
        cmd = {command: 1, "featureCompatibilityVersion": 1} if command == "getParameter" \
            else {command: 1}
        assert_fails(lambda c=cmd: anonymous.admin.command(c), 13, "Unauthorized")
    assert_fails(lambda: anonymous.app.c.find_one(), 13, "Unauthorized")
    # createUser only on admin (or $external), and only granting roles of admin
    assert_fails(lambda: anonymous.app.command("createUser", "u", pwd="pw-u", roles=[]),
                 13, "Unauthorized")
    assert_fails(lambda: anonymous.admin.command(
        "createUser", "u", pwd="pw-u", roles=[{"role": "readWrite", "db": "app"}]),
        13, "Unauthorized")
    assert anonymous.admin.command("createUser", "first", pwd="first-pw",
                                   roles=["root"])["ok"] == 1.0
    # the first user closes the exception: no privileges, "requires authentication"
    err = assert_fails(lambda: anonymous.admin.command("replSetGetStatus"), 13, "Unauthorized")
    assert "requires authentication" in str(err)
    err = assert_fails(lambda: anonymous.admin.command("listDatabases"), 13, "Unauthorized")
    assert "requires authentication" in str(err)


def test_localhost_exception_on_an_arbiter(tmp_path):
    """An arbiter keeps no users: the exception stays open on it (with the four arbiter
    actions), while nobody can log in to it - not even the set's administrator."""
    cluster = ReplicaSetCluster([MemberSpec(), MemberSpec(arbiter_only=True)], set_name="arb",
                                root=tmp_path / "arb", key_file="YXJiaXRlci1sb2NhbGhvc3QtZXhjZXB0aW9u",
                                settings={"electionTimeoutMillis": 1000,
                                          "heartbeatIntervalMillis": 200},
                                credentials=("boss", "boss-pw-1"),
                                on_start=lambda m: STARTED_PIDS.add(m.pid))
    try:
        cluster.start()
        primary, arbiter = cluster.members
        host, port = arbiter.address.rsplit(":", 1)
        anonymous = MongoClient(host, int(port), directConnection=True,
                                serverSelectionTimeoutMS=5000)
        for command in ("getCmdLineOpts", "serverStatus", "replSetGetStatus"):
            assert anonymous.admin.command(command)["ok"] == 1.0
        assert anonymous.admin.command("getParameter", 1, featureCompatibilityVersion=1)["ok"]
        assert_fails(lambda: anonymous.admin.command("replSetGetConfig"), 13, "Unauthorized")
        # the same anonymous command on the data-bearing primary, which has the user: refused
        phost, pport = primary.address.rsplit(":", 1)
        on_primary = MongoClient(phost, int(pport), directConnection=True,
                                 serverSelectionTimeoutMS=5000)
        err = assert_fails(lambda: on_primary.admin.command("serverStatus"), 13, "Unauthorized")
        assert "requires authentication" in str(err)
        # the administrator exists on the primary only: the arbiter refuses the login
        login = MongoClient(host, int(port), directConnection=True, username="boss",
                            password="boss-pw-1", authSource="admin",
                            serverSelectionTimeoutMS=5000)
        assert_fails(lambda: login.admin.command("ping"), 18, "AuthenticationFailed")
        for client in (anonymous, on_primary, login):
            client.close()
    finally:
        cluster.stop()
