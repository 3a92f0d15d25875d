"""The connection layer's TLS and x509 options (issue 13 item 3): what pymongo is given, and TLS
files that cannot serve are refused before any connection, naming the file and the problem."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulator"))

from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (  # noqa: E402
    ConnectionOptions,
    ConnectionProblem,
    ReplicaSetConnection,
    check_tls_files,
    connection_argument_spec,
)
from tls_pki import TestPKI  # noqa: E402


@pytest.fixture(scope="module")
def pki():
    return TestPKI()


def test_every_module_gets_the_tls_and_x509_options():
    spec = connection_argument_spec()
    assert "MONGODB-X509" in spec["auth_mechanism"]["choices"]
    assert spec["tls_certificate_key_file_password"] == dict(type="str", no_log=True)


def test_x509_login_uses_the_external_database_and_no_password():
    options = ConnectionOptions(hosts=["db1:27017"], auth_mechanism="MONGODB-X509", tls=True, tls_ca_file="/ca.pem",
                                tls_certificate_key_file="/client.pem", tls_certificate_key_file_password="pw")
    kwargs = options.client_kwargs()
    assert kwargs["authMechanism"] == "MONGODB-X509" and kwargs["authSource"] == "$external"
    assert "password" not in kwargs and "username" not in kwargs
    assert kwargs["tlsCertificateKeyFilePassword"] == "pw" and kwargs["tlsCAFile"] == "/ca.pem"
    named = ConnectionOptions(hosts=["db1"], auth_mechanism="MONGODB-X509", login_user="CN=ops,O=acme", tls=True,
                              tls_certificate_key_file="/c.pem").client_kwargs()
    assert named["username"] == "CN=ops,O=acme"
    assert "authMechanism" not in options.client_kwargs(authenticate=False)   # hello goes unauthenticated


def test_scram_unchanged():
    kwargs = ConnectionOptions(hosts=["db1"], login_user="admin", login_password="x").client_kwargs()
    assert kwargs["username"] == "admin" and kwargs["authSource"] == "admin" and "authMechanism" not in kwargs


def test_tls_files_that_cannot_serve(pki, tmp_path):
    ca = pki.write(tmp_path, "ca.pem", pki.ca_pem)
    cert, key = pki.issue("client", usages=("client",))
    good = pki.write(tmp_path, "client.pem", cert + key)
    check_tls_files(ConnectionOptions(["db1"], tls=True, tls_ca_file=str(ca), tls_certificate_key_file=str(good)))

    def refused(**kwargs):
        with pytest.raises(ConnectionProblem) as err:
            check_tls_files(ConnectionOptions(["db1"], **kwargs))
        return str(err.value)

    assert refused(tls=True, tls_ca_file=str(tmp_path / "nope.pem")) == \
        "tls_ca_file %r cannot be read: No such file or directory" % str(tmp_path / "nope.pem")
    no_key = pki.write(tmp_path, "nokey.pem", cert)
    assert "tls_certificate_key_file %s holds no private key" % no_key in \
        refused(tls=True, tls_certificate_key_file=str(no_key))
    not_pem = pki.write(tmp_path, "ca.der", "garbage")
    assert "tls_ca_file %s holds no certificate" % not_pem in refused(tls=True, tls_ca_file=str(not_pem))
    cert, key = pki.issue("client", usages=("client",), password="pw")
    locked = pki.write(tmp_path, "locked.pem", cert + key)
    assert refused(tls=True, tls_certificate_key_file=str(locked)) == (
        "tls_certificate_key_file %s: the private key is encrypted and tls_certificate_key_file_password is not set"
        % locked)
    check_tls_files(ConnectionOptions(["db1"], tls=True, tls_certificate_key_file=str(locked),
                                      tls_certificate_key_file_password="pw"))
    assert "set tls: true and tls_certificate_key_file" in refused(auth_mechanism="MONGODB-X509")


def test_unreadable_key_file_is_named_before_connecting(pki, tmp_path):
    if os.geteuid() == 0:
        unreadable = tmp_path / "missing-dir" / "client.pem"   # root reads any file: use a missing one
    else:
        unreadable = pki.write(tmp_path, "client.pem", pki.pem("client"))
        unreadable.chmod(0)
    connection = ReplicaSetConnection(ConnectionOptions(hosts=["127.0.0.1:9"], tls=True,
                                                        tls_certificate_key_file=str(unreadable)))
    with pytest.raises(ConnectionProblem, match=re.escape("tls_certificate_key_file %r cannot be read" % str(unreadable))):
        connection.client()
