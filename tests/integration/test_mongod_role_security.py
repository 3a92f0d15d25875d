"""The mongod role refuses insecure or broken security settings before it writes or restarts
anything (issue 13 items 2 and 3), and runs a member with TLS from Vault-style variables."""
import os
import stat

import pytest
import yaml
from pymongo import MongoClient
from pymongo.errors import ServerSelectionTimeoutError

from emuharness import pick_address, pid_alive, stop_pid
from test_mongod_role import inventory, running_pid
from tls_pki import TestPKI

pytestmark = pytest.mark.playbook
CHECK = "tests/integration/files/mongod_security_check.yml"
ROLE = "tests/integration/files/mongod_role.yml"
KEY = "k" * 40


@pytest.fixture(scope="module")
def pki():
    return TestPKI()


def test_open_member_on_the_network_is_refused_unless_allowed(playbook, tmp_path):
    base = tmp_path / "member"
    hosts = inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, mongod_bind_ip="0.0.0.0")
    refused = playbook(CHECK, hosts)
    assert refused.returncode != 0
    assert "refusing to configure this member, mongod.conf was not changed: authorization is off while mongod " \
           "listens on 0.0.0.0" in refused.stdout
    assert "mongod_allow_insecure: true allows it for a throwaway lab" in refused.stdout
    assert not base.exists()

    allowed = playbook(CHECK, inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, mongod_bind_ip="0.0.0.0",
                                        mongod_allow_insecure=True))
    assert allowed.returncode == 0, allowed.stdout
    assert "[WARNING]: mongod_allow_insecure is on: authorization is off while mongod listens on 0.0.0.0" \
        in allowed.stdout

    keyed = playbook(CHECK, inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, mongod_bind_ip="0.0.0.0",
                                      mongod_keyfile_content=KEY))
    assert keyed.returncode == 0, keyed.stdout
    assert "WARNING" not in keyed.stdout and KEY not in keyed.stdout


def test_external_keyfile_with_a_wrong_mode_is_refused(playbook, tmp_path):
    keyfile = tmp_path / "keyfile"
    keyfile.write_text(KEY)
    keyfile.chmod(0o644)
    hosts = inventory(tmp_path / "hosts.yml", tmp_path / "member", "127.0.0.9", 27017,
                      mongod_keyfile_external=True, mongod_keyfile_path=str(keyfile))
    refused = playbook(CHECK, hosts)
    assert refused.returncode != 0
    assert ("keyFile %s has mode 0644: mongod refuses a keyFile that group or others can access" % keyfile) \
        in refused.stdout
    keyfile.chmod(0o400)
    assert playbook(CHECK, hosts).returncode == 0


def test_bad_tls_material_is_refused_naming_the_file(playbook, pki, tmp_path):
    base = tmp_path / "member"
    tls = dict(mongod_keyfile_content=KEY, mongod_tls_mode="requireTLS", mongod_tls_ca_content=pki.ca_pem)
    wrong_host = playbook(CHECK, inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, **tls,
                                           mongod_tls_certificate_key_content=pki.pem("x", hosts=["127.0.0.8"])))
    assert wrong_host.returncode != 0
    assert "mongod_tls_certificate_key_content (%s/tls/member.pem): the certificate CN=x,OU=rs,O=quorum members " \
           "does not match the host 127.0.0.9 (it names 127.0.0.8)" % base in wrong_host.stdout
    locked = pki.pem("x", hosts=["127.0.0.9"], password="pass-1")
    unreadable = playbook(CHECK, inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, **tls,
                                           mongod_tls_certificate_key_content=locked))
    assert "(%s/tls/member.pem): the private key is unreadable: it is encrypted and no passphrase is set" % base \
        in unreadable.stdout
    assert "BEGIN" not in unreadable.stdout  # no key material in the output
    stranger = TestPKI("another CA")
    unsigned = playbook(CHECK, inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, **tls,
                                         mongod_tls_certificate_key_content=stranger.pem("x", hosts=["127.0.0.9"])))
    assert "is not signed by the CA file's certificates (its issuer is CN=another CA" in unsigned.stdout


@pytest.mark.emulator
def test_member_with_tls_and_a_broken_change_refused_before_restart(playbook, pki, tmp_path):
    host, port = pick_address()
    base = tmp_path / "member"
    client_pem = pki.write(tmp_path, "client.pem", pki.pem("admin client", usages=("client",)))
    ca_file = pki.write(tmp_path, "ca.pem", pki.ca_pem)
    tls = dict(mongod_keyfile_content=KEY, mongod_tls_mode="requireTLS", mongod_tls_ca_content=pki.ca_pem,
               mongod_tls_certificate_key_password="member-pass",
               mongod_tls_certificate_key_content=pki.pem(host, hosts=[host], password="member-pass"),
               mongod_tls_disabled_protocols="TLS1_0,TLS1_1")
    pid = None
    try:
        first = playbook(ROLE, inventory(tmp_path / "hosts.yml", base, host, port, **tls))
        assert first.returncode == 0, first.stdout
        pid = running_pid(base)
        assert "member-pass" not in first.stdout and "PRIVATE KEY" not in first.stdout
        conf = yaml.safe_load((base / "mongod.conf").read_text())
        assert conf["net"]["tls"] == {
            "mode": "requireTLS", "certificateKeyFile": str(base / "tls" / "member.pem"),
            "certificateKeyFilePassword": "member-pass", "CAFile": str(base / "tls" / "ca.pem"),
            "allowConnectionsWithoutCertificates": False, "disabledProtocols": "TLS1_0,TLS1_1"}
        assert stat.S_IMODE((base / "mongod.conf").stat().st_mode) == 0o600  # it holds the passphrase
        assert stat.S_IMODE((base / "tls").stat().st_mode) == 0o700
        for name in ("member.pem", "ca.pem"):
            assert stat.S_IMODE((base / "tls" / name).stat().st_mode) == 0o600
            assert (base / "tls" / name).stat().st_uid == os.getuid()

        # The handshake is refused without the CA (the member's certificate cannot be verified) ...
        with pytest.raises(ServerSelectionTimeoutError, match="CERTIFICATE_VERIFY_FAILED"):
            MongoClient(host, port, directConnection=True, tls=True, tlsCertificateKeyFile=str(client_pem),
                        serverSelectionTimeoutMS=2000).admin.command("ping")
        # ... and it works with the CA and a client certificate.
        ok = MongoClient(host, port, directConnection=True, tls=True, tlsCAFile=str(ca_file),
                         tlsCertificateKeyFile=str(client_pem), serverSelectionTimeoutMS=5000)
        assert ok.admin.command("hello")["ok"] == 1.0
        ok.close()

        conf_before = (base / "mongod.conf").read_text()
        broken = dict(tls)
        broken.update({"mongod_tls_certificate_key_content": pki.pem("other", hosts=["127.0.0.1"]),
                       "mongod_tls_certificate_key_password": ""})
        refused = playbook(ROLE, inventory(tmp_path / "hosts.yml", base, host, port, **broken))
        assert refused.returncode != 0
        assert "does not match the host %s" % host in refused.stdout
        assert (base / "mongod.conf").read_text() == conf_before
        assert running_pid(base) == pid and pid_alive(pid)
    finally:
        if pid is not None:
            stop_pid(pid)


@pytest.mark.emulator
def test_x509_members_and_a_module_authenticating_with_its_certificate(playbook, pki, tmp_path):
    """The role runs a member with clusterAuthMode x509 (no keyFile: authorization comes with x509);
    rs_status connects over TLS as the $external user of its (passphrase-protected) certificate."""
    host, port = pick_address()
    base = tmp_path / "member"
    ca_file = pki.write(tmp_path, "ca.pem", pki.ca_pem)
    ops_pem = pki.write(tmp_path, "ops.pem", pki.pem("ops", unit="operators", usages=("client",), password="ops-pw"))
    member_identity = pki.write(tmp_path, "member-client.pem", pki.pem("bootstrap", usages=("client",)))
    pid = None
    try:
        first = playbook(ROLE, inventory(tmp_path / "hosts.yml", base, host, port, mongodb_replset_name="rsx",
                                         mongod_tls_mode="requireTLS", mongod_cluster_auth_mode="x509",
                                         mongod_tls_ca_content=pki.ca_pem,
                                         mongod_tls_certificate_key_content=pki.pem(host, hosts=[host])))
        assert first.returncode == 0, first.stdout
        pid = running_pid(base)
        conf = yaml.safe_load((base / "mongod.conf").read_text())
        assert conf["security"] == {"clusterAuthMode": "x509", "authorization": "enabled"}
        assert conf["replication"] == {"replSetName": "rsx"}

        # A certificate with the members' O/OU is the internal user: initiate, add the ops user.
        internal = MongoClient(host, port, directConnection=True, tls=True, tlsCAFile=str(ca_file),
                               tlsCertificateKeyFile=str(member_identity), authMechanism="MONGODB-X509",
                               serverSelectionTimeoutMS=5000)
        internal.admin.command("replSetInitiate", {"_id": "rsx", "members": [{"_id": 0, "host": "%s:%d" % (host, port)}]})
        ops_subject = "CN=ops,OU=operators,O=quorum members"
        internal["$external"].command("createUser", ops_subject, roles=[{"role": "clusterMonitor", "db": "admin"}])
        internal.close()

        args = ["-e", "member=%s:%d" % (host, port), "-e", "set_name=rsx", "-e", "client_pem=%s" % ops_pem]
        status = playbook("tests/integration/files/x509_status.yml", "localhost,",
                          *args, "-e", "ca_file=%s" % ca_file, "-e", "client_pem_password=ops-pw")
        assert status.returncode == 0, status.stdout
        assert "primary %s:%d" % (host, port) in status.stdout
        assert "ops-pw" not in status.stdout

        locked = playbook("tests/integration/files/x509_status.yml", "localhost,", *args, "-e", "ca_file=%s" % ca_file)
        assert locked.returncode != 0
        assert "tls_certificate_key_file %s: the private key is encrypted and tls_certificate_key_file_password " \
               "is not set" % ops_pem in locked.stdout
        untrusting = playbook("tests/integration/files/x509_status.yml", "localhost,", *args,
                              "-e", "client_pem_password=ops-pw")
        assert untrusting.returncode != 0
        assert "CERTIFICATE_VERIFY_FAILED" in untrusting.stdout
    finally:
        if pid is not None:
            stop_pid(pid)


def test_a_bad_role_variable_fails_before_any_task(playbook, tmp_path):
    """roles/mongod/meta/argument_specs.yml: Ansible validates the role's variables when it starts."""
    base = tmp_path / "member"
    hosts = inventory(tmp_path / "hosts.yml", base, "127.0.0.9", 27017, mongod_keyfile_content=KEY,
                      mongod_tls_mode="requireTSL", mongod_start_timeout="soon")
    result = playbook(ROLE, hosts)
    assert result.returncode != 0
    assert "Validating arguments against arg spec 'main'" in result.stdout
    assert "value of mongod_tls_mode must be one of: disabled, allowTLS, preferTLS, requireTLS, got: requireTSL" \
        in result.stdout
    assert "mongod_start_timeout" in result.stdout
    assert "ok=0" in result.stdout and not base.exists()
    assert KEY not in result.stdout
