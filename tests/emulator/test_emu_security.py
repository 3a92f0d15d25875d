"""Security like mongod: --auth, the localhost exception, SCRAM-SHA-1/256, wrong passwords,
built-in roles enforced per command, user management, --keyFile, TLS modes."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure, OperationFailure, ServerSelectionTimeoutError

from emuharness import Emu, Wire, assert_fails as _fails, write_pki

pytestmark = pytest.mark.emulator

ADMIN_USER, ADMIN_PWD = "admin", "admin-Secret-1"




def _login(emu: Emu, user: str, pwd: str, source: str = "admin", **kwargs) -> MongoClient:
    return emu.client(username=user, password=pwd, authSource=source, **kwargs)


@pytest.fixture(scope="module")
def auth_emu(module_emu_factory) -> Emu:
    node = module_emu_factory("--auth", name="auth")
    anonymous = node.client()
    anonymous.admin.command("createUser", ADMIN_USER, pwd=ADMIN_PWD, roles=["root"])
    return node


@pytest.fixture(scope="module")
def admin_client(auth_emu) -> MongoClient:
    return _login(auth_emu, ADMIN_USER, ADMIN_PWD)


def _user(admin_client: MongoClient, name: str, roles: list, db: str = "admin", **extra) -> str:
    pwd = f"pw-{name}-{uuid.uuid4().hex[:8]}"
    admin_client[db].command("createUser", name, pwd=pwd, roles=roles, **extra)
    return pwd


# ------------------------------------------------------------------ auth on / off


def test_no_auth_needed_without_auth_flag(client):
    assert "admin" in client.list_database_names()
    assert client.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"] == []


def test_unauthenticated_refused_with_auth(auth_emu):
    anonymous = auth_emu.client()
    # hello and ping never need authentication
    assert anonymous.admin.command("hello")["isWritablePrimary"] is True
    assert anonymous.admin.command("ping")["ok"] == 1.0
    err = _fails(lambda: anonymous.admin.command("listDatabases"), 13, "Unauthorized")
    assert "requires authentication" in str(err)
    _fails(lambda: anonymous.app.c.find_one(), 13, "Unauthorized")
    _fails(lambda: anonymous.app.c.insert_one({}), 13, "Unauthorized")


def test_localhost_exception(emu_factory):
    node = emu_factory("--auth")
    anonymous = node.client()
    # before any user: commands outside the default privileges are still refused ...
    # (test_emu_auth_rules.py has the localhost exception's privileges one by one)
    _fails(lambda: anonymous.admin.command("getCmdLineOpts"), 13, "Unauthorized")
    # ... but the first user may be created from localhost
    reply = anonymous.admin.command("createUser", "first", pwd="first-pw", roles=["root"])
    assert reply["ok"] == 1.0
    # now the exception is closed
    err = _fails(lambda: anonymous.admin.command("createUser", "second", pwd="x", roles=["root"]),
                 13, "Unauthorized")
    assert "createUser" in str(err)
    logged_in = _login(node, "first", "first-pw")
    assert logged_in.admin.command("usersInfo", "first")["users"][0]["user"] == "first"


def test_users_survive_restart(emu_factory):
    node = emu_factory("--auth")
    node.client().admin.command("createUser", "durable", pwd="durable-pw", roles=["root"])
    node.restart()
    anonymous = node.client()
    # the localhost exception does not come back: a user exists on disk
    _fails(lambda: anonymous.admin.command("createUser", "again", pwd="x", roles=["root"]),
           13, "Unauthorized")
    assert _login(node, "durable", "durable-pw").admin.command("listDatabases")["ok"] == 1.0


def test_wrong_password_is_authentication_failed(auth_emu):
    wrong = _login(auth_emu, ADMIN_USER, "not-the-password")
    err = _fails(lambda: wrong.admin.command("ping"), 18, "AuthenticationFailed")
    assert "Authentication failed" in str(err)
    nobody = _login(auth_emu, "no-such-user", "whatever")
    _fails(lambda: nobody.admin.command("ping"), 18, "AuthenticationFailed")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_mechanisms(auth_emu, mechanism):
    cli = _login(auth_emu, ADMIN_USER, ADMIN_PWD, authMechanism=mechanism)
    status = cli.admin.command("connectionStatus")["authInfo"]
    assert status["authenticatedUsers"] == [{"user": ADMIN_USER, "db": "admin"}]
    assert status["authenticatedUserRoles"] == [{"role": "root", "db": "admin"}]
    assert cli.admin.command("listDatabases")["ok"] == 1.0


def test_user_with_only_sha256_refuses_sha1(auth_emu, admin_client):
    pwd = _user(admin_client, "only256", ["readAnyDatabase"], mechanisms=["SCRAM-SHA-256"])
    assert _login(auth_emu, "only256", pwd, authMechanism="SCRAM-SHA-256").admin.command("listDatabases")
    sha1 = _login(auth_emu, "only256", pwd, authMechanism="SCRAM-SHA-1")
    # mongod answers MechanismUnavailable (334), not AuthenticationFailed, here (FerretDB's
    # compatibility tests record the same reply from MongoDB)
    err = _fails(lambda: sha1.admin.command("ping"), 334, "MechanismUnavailable")
    assert ("Unable to use SCRAM-SHA-1 based authentication for user without any SCRAM-SHA-1 "
            "credentials registered") in str(err)


def test_sasl_start_reply_shape(auth_emu):
    # the first SCRAM step: {conversationId, done: false, payload: <server-first-message>}
    from bson import Binary
    with Wire(auth_emu.host, auth_emu.port) as wire:
        reply = wire.command({"saslStart": 1, "mechanism": "SCRAM-SHA-256", "$db": "admin",
                              "payload": Binary(b"n,,n=admin,r=" + b"A" * 24),
                              "options": {"skipEmptyExchange": True}})
    assert reply["ok"] == 1.0
    assert reply["done"] is False
    assert isinstance(reply["conversationId"], int)
    server_first = bytes(reply["payload"])
    assert server_first.startswith(b"r=" + b"A" * 24) and b",s=" in server_first and b",i=" in server_first


# ------------------------------------------------------------------ users and roles


def test_users_info_and_user_management(auth_emu, admin_client):
    pwd = _user(admin_client, "managed", [{"role": "read", "db": "app"}])
    info = admin_client.admin.command("usersInfo", "managed")["users"]
    assert len(info) == 1
    user = info[0]
    assert user["_id"] == "admin.managed" and user["user"] == "managed" and user["db"] == "admin"
    assert user["roles"] == [{"role": "read", "db": "app"}]
    assert sorted(user["mechanisms"]) == ["SCRAM-SHA-1", "SCRAM-SHA-256"]
    assert "credentials" not in user
    stored = admin_client.admin["system.users"].find_one({"_id": "admin.managed"})
    assert stored is not None and "SCRAM-SHA-256" in stored["credentials"]
    # duplicate: Location51003 'User "managed@admin" already exists'
    err = _fails(lambda: admin_client.admin.command("createUser", "managed", pwd="x", roles=[]),
                 51003, "Location51003")
    assert 'User "managed@admin" already exists' in str(err)
    # password change
    admin_client.admin.command("updateUser", "managed", pwd="new-password")
    _fails(lambda: _login(auth_emu, "managed", pwd).admin.command("ping"), 18, "AuthenticationFailed")
    assert _login(auth_emu, "managed", "new-password").app.c.find_one() is None
    # grant
    admin_client.admin.command("grantRolesToUser", "managed", roles=[{"role": "readWrite", "db": "app"}])
    roles = admin_client.admin.command("usersInfo", "managed")["users"][0]["roles"]
    assert {"role": "readWrite", "db": "app"} in roles
    assert _login(auth_emu, "managed", "new-password").app.c.insert_one({"by": "managed"}).inserted_id
    # drop
    assert admin_client.admin.command("dropUser", "managed")["ok"] == 1.0
    assert admin_client.admin.command("usersInfo", "managed")["users"] == []
    err = _fails(lambda: admin_client.admin.command("dropUser", "managed"), 11, "UserNotFound")
    assert "managed" in str(err)


def test_unknown_role_and_users_info_forms(admin_client):
    err = _fails(lambda: admin_client.admin.command("createUser", "norole", pwd="x",
                                                   roles=["noSuchRoleX"]), 31, "RoleNotFound")
    assert "noSuchRoleX" in str(err)
    assert admin_client.admin.command("usersInfo", "norole")["users"] == []
    _user(admin_client, "indb", ["read"], db="usersdb")
    in_db = admin_client.usersdb.command("usersInfo", 1)["users"]
    assert [(u["user"], u["db"]) for u in in_db] == [("indb", "usersdb")]
    everywhere = admin_client.admin.command("usersInfo", {"forAllDBs": True})["users"]
    assert {("indb", "usersdb"), (ADMIN_USER, "admin")} <= {(u["user"], u["db"]) for u in everywhere}
    by_doc = admin_client.admin.command("usersInfo", {"user": "indb", "db": "usersdb"})["users"]
    assert [u["_id"] for u in by_doc] == ["usersdb.indb"]


def test_hello_sasl_supported_mechs(auth_emu):
    with Wire(auth_emu.host, auth_emu.port) as wire:
        reply = wire.command({"hello": 1, "$db": "admin", "saslSupportedMechs": f"admin.{ADMIN_USER}"})
    assert sorted(reply["saslSupportedMechs"]) == ["SCRAM-SHA-1", "SCRAM-SHA-256"]


def test_least_privilege_user_refused_admin_command(auth_emu, admin_client):
    admin_client.app.c.insert_one({"seed": True})
    admin_client.other.c.insert_one({"seed": True})
    pwd = _user(admin_client, "reader", [{"role": "read", "db": "app"}])
    reader = _login(auth_emu, "reader", pwd)
    assert reader.app.c.find_one({"seed": True}) is not None
    err = _fails(lambda: reader.admin.command("serverStatus"), 13, "Unauthorized")
    assert "not authorized on admin to execute command" in str(err)
    _fails(lambda: reader.admin.command("getCmdLineOpts"), 13, "Unauthorized")
    _fails(lambda: reader.admin.command("createUser", "sneaky", pwd="x", roles=["root"]),
           13, "Unauthorized")
    _fails(lambda: reader.admin.command("shutdown"), 13, "Unauthorized")
    err = _fails(lambda: reader.app.c.insert_one({"x": 1}), 13, "Unauthorized")
    assert "not authorized on app to execute command" in str(err)
    _fails(lambda: reader.other.c.find_one(), 13, "Unauthorized")
    # listDatabases without the listDatabases action lists only the databases the user can read
    assert [d["name"] for d in reader.admin.command("listDatabases")["databases"]] == ["app"]
    assert admin_client.admin.command("ping")["ok"] == 1.0


def test_builtin_roles(auth_emu, admin_client):
    monitor = _login(auth_emu, "monitor", _user(admin_client, "monitor", ["clusterMonitor"]))
    assert monitor.admin.command("serverStatus")["ok"] == 1.0
    assert monitor.admin.command("getCmdLineOpts")["ok"] == 1.0
    _fails(lambda: monitor.app.c.insert_one({}), 13, "Unauthorized")
    _fails(lambda: monitor.admin.command("createUser", "m2", pwd="x", roles=[]), 13, "Unauthorized")

    useradmin = _login(auth_emu, "useradmin", _user(admin_client, "useradmin", ["userAdminAnyDatabase"]))
    assert useradmin.admin.command("createUser", "made_by_useradmin", pwd="x", roles=[])["ok"] == 1.0
    _fails(lambda: useradmin.app.c.find_one(), 13, "Unauthorized")

    rwany = _login(auth_emu, "rwany", _user(admin_client, "rwany", ["readWriteAnyDatabase"]))
    rwany.somewhere.c.insert_one({"x": 1})
    assert rwany.somewhere.c.count_documents({}) == 1
    _fails(lambda: rwany.admin.command("serverStatus"), 13, "Unauthorized")

    readany = _login(auth_emu, "readany", _user(admin_client, "readany", ["readAnyDatabase"]))
    assert readany.somewhere.c.count_documents({}) == 1
    _fails(lambda: readany.somewhere.c.insert_one({}), 13, "Unauthorized")

    manager = _login(auth_emu, "manager", _user(admin_client, "manager", ["clusterManager"]))
    _fails(lambda: manager.app.c.find_one(), 13, "Unauthorized")

    local_rw = _login(auth_emu, "apprw", _user(admin_client, "apprw", ["readWrite"], db="app"),
                      source="app")
    local_rw.app.c.insert_one({"by": "apprw"})
    _fails(lambda: local_rw.other.c.find_one(), 13, "Unauthorized")


# ------------------------------------------------------------------ keyFile


def test_keyfile_implies_auth_and_is_system_password(emu_factory, tmp_path):
    key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw"
    keyfile = tmp_path / "keyfile"
    keyfile.write_text(key + "\n")
    keyfile.chmod(0o600)
    node = emu_factory("--keyFile", str(keyfile))
    anonymous = node.client()
    _fails(lambda: anonymous.admin.command("getCmdLineOpts"), 13, "Unauthorized")
    opts_user = anonymous.admin.command("createUser", "kf", pwd="kf-pw", roles=["root"])
    assert opts_user["ok"] == 1.0  # localhost exception applies here too
    assert _login(node, "kf", "kf-pw").admin.command("listDatabases")["ok"] == 1.0
    for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        system = _login(node, "__system", key, source="local", authMechanism=mechanism)
        users = system.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"]
        assert users == [{"user": "__system", "db": "local"}]
    wrong = _login(node, "__system", key[:-4] + "AAAA", source="local")
    _fails(lambda: wrong.admin.command("ping"), 18, "AuthenticationFailed")


def test_localhost_exception_allows_repl_set_initiate(emu_factory, tmp_path):
    """The keyFile tutorial: start with --keyFile --replSet, rs.initiate() over the
    localhost exception, then create the first user on the primary."""
    keyfile = tmp_path / "rskey"
    keyfile.write_text("cnNrZXlmaWxlLWZvci10ZXN0cy0xMjM0NTY3ODkwYWJj\n")
    keyfile.chmod(0o400)
    node = emu_factory("--keyFile", str(keyfile), "--replSet", "rsk")
    anonymous = node.client()
    reply = anonymous.admin.command({"replSetInitiate": {"_id": "rsk", "members": [
        {"_id": 0, "host": node.address}]}})
    assert reply["ok"] == 1.0
    deadline = time.monotonic() + 30
    while not anonymous.admin.command("hello").get("isWritablePrimary"):
        assert time.monotonic() < deadline, "no primary after replSetInitiate"
        time.sleep(0.2)
    anonymous.admin.command("createUser", "rsadmin", pwd="rsadmin-pw", roles=["root"])
    _fails(lambda: anonymous.admin.command("replSetGetStatus"), 13, "Unauthorized")
    status = _login(node, "rsadmin", "rsadmin-pw").admin.command("replSetGetStatus")
    assert status["set"] == "rsk" and status["myState"] == 1


def test_authentication_is_logged_under_access(auth_emu):
    _login(auth_emu, ADMIN_USER, ADMIN_PWD).admin.command("ping")
    with pytest.raises(OperationFailure):
        _login(auth_emu, ADMIN_USER, "bad-password").admin.command("ping")
    entries = [json.loads(line) for line in auth_emu.log_lines() if line.strip()]
    access = [e for e in entries if e["c"] == "ACCESS" and "uthenticat" in e["msg"]]
    # authentication_session.cpp: 5286306 "Successfully authenticated", 5286307 on failure
    # (message wording differs between releases; the component and outcome do not)
    succeeded = [e for e in access if "fail" not in e["msg"].lower()]
    failed = [e for e in access if "fail" in e["msg"].lower()]
    assert succeeded and failed, access[-5:]
    assert any(e.get("attr", {}).get("user") == ADMIN_USER for e in failed), failed[-3:]


# ------------------------------------------------------------------ TLS


def _tls_node(emu_factory, tmp_path: Path, mode: str) -> tuple[Emu, dict[str, Path]]:
    node = emu_factory(start=False)
    pki = write_pki(tmp_path, [node.host])
    node.extra_args = ["--tlsMode", mode, "--tlsCertificateKeyFile", str(pki["server"]),
                       "--tlsCAFile", str(pki["ca"])]
    node.start()
    return node, pki


def test_tls_required(emu_factory, tmp_path):
    node, pki = _tls_node(emu_factory, tmp_path, "requireTLS")
    secure = node.client(tls=True, tlsCAFile=str(pki["ca"]),
                         tlsCertificateKeyFile=str(pki["client"]))
    assert secure.admin.command("ping")["ok"] == 1.0
    secure.tlsdb.c.insert_one({"over": "tls"})
    assert secure.tlsdb.c.find_one()["over"] == "tls"
    # a plain client is refused
    plain = node.client(serverSelectionTimeoutMS=1500)
    with pytest.raises((ServerSelectionTimeoutError, ConnectionFailure)):
        plain.admin.command("ping")
    with Wire(node.host, node.port, timeout=5) as wire:
        wire.send_msg({"hello": 1, "$db": "admin"})
        try:
            reply = wire.recv()[2]
        except Exception:  # noqa: BLE001 - closed, timed out, or not a wire reply at all
            reply = None
    assert reply is None or reply.get("ok") != 1.0, "a plaintext hello was answered under requireTLS"
    # with --tlsCAFile and without --tlsAllowConnectionsWithoutCertificates, mongod requires
    # a client certificate (manual: net.tls.CAFile / allowConnectionsWithoutCertificates)
    no_cert = node.client(tls=True, tlsCAFile=str(pki["ca"]), serverSelectionTimeoutMS=1500)
    with pytest.raises((ServerSelectionTimeoutError, ConnectionFailure)):
        no_cert.admin.command("ping")
    # and a client that does not trust the server's CA refuses the server
    untrusting = node.client(tls=True, serverSelectionTimeoutMS=1500,
                             tlsCertificateKeyFile=str(pki["client"]))
    with pytest.raises((ServerSelectionTimeoutError, ConnectionFailure)):
        untrusting.admin.command("ping")
    opts = secure.admin.command("getCmdLineOpts")["parsed"]["net"]["tls"]
    assert opts["mode"] == "requireTLS"
    assert opts["certificateKeyFile"] == str(pki["server"])
    assert opts["CAFile"] == str(pki["ca"])


def test_tls_prefer_accepts_both(emu_factory, tmp_path):
    node, pki = _tls_node(emu_factory, tmp_path, "preferTLS")
    secure = node.client(tls=True, tlsCAFile=str(pki["ca"]),
                         tlsCertificateKeyFile=str(pki["client"]))
    assert secure.admin.command("ping")["ok"] == 1.0
    assert node.client().admin.command("ping")["ok"] == 1.0
