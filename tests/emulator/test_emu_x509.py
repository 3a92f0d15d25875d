"""x.509 like mongod (issue 13 item 3): MONGODB-X509 makes a TLS client the $external user its
certificate names; a certificate with the members' O/OU/DC is a member (refused for clients under
clusterAuthMode keyFile); with clusterAuthMode x509 members authenticate to each other with their
certificates and replicate without a keyFile. mongod's rules: mongodb/mongo
src/mongo/db/commands/authentication_commands.cpp (_authenticateX509)."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
from pymongo import WriteConcern
from pymongo.errors import OperationFailure

from tls_pki import TestPKI

pytestmark = pytest.mark.emulator


def _tls_args(pki, tmp_path, node, name, *extra):
    member = pki.write(tmp_path, f"{name}.pem", pki.pem(node.host, hosts=[node.host]))
    ca = pki.write(tmp_path, "ca.pem", pki.ca_pem)
    return ["--tlsMode", "requireTLS", "--tlsCertificateKeyFile", str(member), "--tlsCAFile", str(ca), *extra], ca


def test_x509_client_is_its_external_user(emu_factory, tmp_path):
    pki = TestPKI()
    node = emu_factory(start=False)
    node.extra_args, ca = _tls_args(pki, tmp_path, node, "member", "--auth")
    node.start()
    admin_pem = pki.write(tmp_path, "admin.pem", pki.pem("admin", unit="clients", usages=("client",)))
    app_pem = pki.write(tmp_path, "app.pem", pki.pem("app", unit="clients", usages=("client",)))
    stranger_pem = pki.write(tmp_path, "stranger.pem", pki.pem("stranger", unit="clients", usages=("client",)))
    tls = dict(tls=True, tlsCAFile=str(ca))

    first = node.client(tlsCertificateKeyFile=str(admin_pem), **tls)   # the localhost exception
    first.admin.command("createUser", "root", pwd="Root-pw-1", roles=["root"])
    root = node.client(tlsCertificateKeyFile=str(admin_pem), username="root", password="Root-pw-1", **tls)
    app_subject = pki.subject(app_pem.read_text())
    assert app_subject == "CN=app,OU=clients,O=quorum members"
    root["$external"].command("createUser", app_subject, roles=[{"role": "readWrite", "db": "app"}])

    app = node.client(tlsCertificateKeyFile=str(app_pem), authMechanism="MONGODB-X509", **tls)
    app.app.items.insert_one({"by": "x509"})
    status = app.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"]
    assert status == [{"user": app_subject, "db": "$external"}]
    with pytest.raises(OperationFailure) as denied:
        app.other.items.find_one()     # readWrite on app only
    assert denied.value.code == 13

    stranger = node.client(tlsCertificateKeyFile=str(stranger_pem), authMechanism="MONGODB-X509", **tls)
    with pytest.raises(OperationFailure) as unknown:
        stranger.app.items.find_one()
    assert unknown.value.code == 11
    assert 'Could not find user "CN=stranger,OU=clients,O=quorum members" for db "$external"' in str(unknown.value)

    wrong_name = node.client(tlsCertificateKeyFile=str(app_pem), authMechanism="MONGODB-X509",
                             username="CN=someone else", **tls)
    with pytest.raises(OperationFailure, match="There is no x.509 client certificate matching the user"):
        wrong_name.app.items.find_one()

    # the members' identity (same O and OU as the member's certificate) is not a client identity
    # while members authenticate with a keyFile
    member_like = pki.write(tmp_path, "memberlike.pem", pki.pem("other member", usages=("client",)))
    impostor = node.client(tlsCertificateKeyFile=str(member_like), authMechanism="MONGODB-X509", **tls)
    with pytest.raises(OperationFailure, match="can only be used for cluster authentication"):
        impostor.app.items.find_one()


def test_members_authenticate_with_x509_and_replicate(emu_factory, tmp_path):
    pki = TestPKI()
    nodes = [emu_factory(start=False, name=f"m{i}") for i in range(2)]
    for i, node in enumerate(nodes):
        node.extra_args, ca = _tls_args(pki, tmp_path, node, f"m{i}", "--replSet", "x5", "--clusterAuthMode", "x509")
        node.start()
    tls = dict(tls=True, tlsCAFile=str(ca))
    # A client presenting a member certificate is the internal user under clusterAuthMode x509.
    member_pem = pki.write(tmp_path, "ops-member.pem", pki.pem("ops", usages=("client",)))
    client = nodes[0].client(tlsCertificateKeyFile=str(member_pem), authMechanism="MONGODB-X509", **tls)
    client.admin.command("replSetInitiate", {"_id": "x5", "members": [
        {"_id": i, "host": node.address, "priority": 2 - i} for i, node in enumerate(nodes)]})
    deadline = time.monotonic() + 30
    while not client.admin.command("hello").get("isWritablePrimary"):
        assert time.monotonic() < deadline, "no primary"
        time.sleep(0.2)
    items = client.app.get_collection("items", write_concern=WriteConcern(w=2, wtimeout=20000))
    items.insert_one({"replicated": True})   # acknowledged by the secondary: it fetched over x509
    second = nodes[1].client(tlsCertificateKeyFile=str(member_pem), authMechanism="MONGODB-X509", **tls)
    assert second.app.items.find_one({}, {"_id": 0}) == {"replicated": True}
    log = nodes[1].logpath.read_text()
    assert '"mechanism":"MONGODB-X509"' in log.replace(" ", "")


def _roundtrip(sock, request_id, doc):
    from mongoemu import wire
    sock.sendall(wire.encode_op_msg(request_id, 0, doc))

    def read(size):
        data = b""
        while len(data) < size:
            data += sock.recv(size - len(data))
        return data
    length, _rid, _to, op_code = wire.parse_header(read(16))
    return wire.parse_message(0, op_code, read(length - 16)).body


def test_speculative_x509_in_hello(emu_factory, tmp_path):
    """Drivers send MONGODB-X509 inside hello (speculativeAuthenticate); mongod answers with the user
    it authenticated (doSpeculativeAuthenticate), and the connection is logged in without an
    authenticate command."""
    pki = TestPKI()
    node = emu_factory(start=False)
    node.extra_args, ca = _tls_args(pki, tmp_path, node, "member", "--auth")
    node.start()
    app_pem = pki.write(tmp_path, "app.pem", pki.pem("app", unit="clients", usages=("client",)))
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    context.load_cert_chain(str(app_pem))
    with context.wrap_socket(socket.create_connection((node.host, node.port), timeout=10)) as sock:
        hello = _roundtrip(sock, 1, {"hello": 1, "$db": "admin", "speculativeAuthenticate": {
            "authenticate": 1, "mechanism": "MONGODB-X509", "db": "$external"}})
        assert "speculativeAuthenticate" not in hello   # no such $external user yet: the client falls back
    tls = dict(tls=True, tlsCAFile=str(ca), tlsCertificateKeyFile=str(app_pem))
    node.client(**tls).admin.command("createUser", "root", pwd="Root-pw-1", roles=["root"])  # localhost exception
    subject = "CN=app,OU=clients,O=quorum members"
    node.client(username="root", password="Root-pw-1", **tls)["$external"].command(
        "createUser", subject, roles=[{"role": "readWrite", "db": "app"}])
    with context.wrap_socket(socket.create_connection((node.host, node.port), timeout=10)) as sock:
        hello = _roundtrip(sock, 1, {"hello": 1, "$db": "admin", "speculativeAuthenticate": {
            "authenticate": 1, "mechanism": "MONGODB-X509", "db": "$external"}})
        assert hello["speculativeAuthenticate"] == {"dbname": "$external", "user": subject}
        status = _roundtrip(sock, 2, {"connectionStatus": 1, "$db": "admin"})
        assert status["authInfo"]["authenticatedUsers"] == [{"user": subject, "db": "$external"}]
