"""plugins/module_utils/member_security.py: the checks the mongod role runs before it writes
mongod.conf (issue 13 items 2 and 3). Certificates come from a throwaway CA (tests/emulator/tls_pki.py)."""

import datetime
import os
import sys

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulator"))

from ansible_collections.quorum.mongodb.plugins.module_utils.member_security import (  # noqa: E402
    exposure_problems,
    keyfile_mode_problem,
    keyfile_problems,
    network_addresses,
    tls_problems,
)
from tls_pki import TestPKI  # noqa: E402

HOST = "db1.example.net"


# -- authorization on by default -----------------------------------------------------------------

@pytest.mark.parametrize("bind_ip, exposed", [
    ("127.0.0.1", []),
    ("127.0.0.21", []),                       # the emulated "hosts" of make demo: loopback
    ("localhost,::1", []),
    ("/tmp/mongodb-27017.sock", []),
    ("10.0.0.5,127.0.0.1", ["10.0.0.5"]),
    ("db1.example.net,127.0.0.1", ["db1.example.net"]),
    ("0.0.0.0", ["0.0.0.0"]),
    (["::", "127.0.0.1"], ["::"]),
])
def test_network_addresses(bind_ip, exposed):
    assert network_addresses(bind_ip) == exposed


def test_bind_ip_all_is_exposed():
    assert network_addresses("127.0.0.1", bind_ip_all=True) == ["0.0.0.0 (bindIpAll)"]


def test_open_member_on_the_network_is_refused():
    problems = exposure_problems("10.0.0.5,127.0.0.1", False, False, "keyFile", "rs0")
    assert len(problems) == 2
    assert "authorization is off while mongod listens on 10.0.0.5" in problems[0]
    assert "without member authentication" in problems[1] and "mongod_keyfile_content" in problems[1]


def test_secured_or_loopback_members_pass():
    assert exposure_problems("10.0.0.5", True, True, "keyFile", "rs0") == []
    assert exposure_problems("10.0.0.5", True, False, "x509", "rs0") == []
    assert exposure_problems("10.0.0.5", True, False, "keyFile", "") == []   # a standalone needs no member auth
    assert exposure_problems("127.0.0.1", False, False, "keyFile", "rs0") == []


# -- keyFile ---------------------------------------------------------------------------------------

def test_keyfile_content_as_mongod_reads_it():
    assert keyfile_problems("abc123+/=\n", "/k") == []
    assert keyfile_problems("", "/k") == []
    assert "only base64 characters" in keyfile_problems("abc-def!", "/etc/k")[0]
    assert "'!'" in keyfile_problems("abc-def!", "/etc/k")[0] and "/etc/k" in keyfile_problems("abc-def!", "/etc/k")[0]
    assert "5 characters, mongod needs 6 to 1024" in keyfile_problems("ab cd e", "/k")[0]
    assert "1025 characters" in keyfile_problems("a" * 1025, "/k")[0]


def test_keyfile_mode():
    assert keyfile_mode_problem("/k", 0o400) is None and keyfile_mode_problem("/k", 0o600) is None
    assert keyfile_mode_problem("/k", 0o644) == (
        "keyFile /k: mode 0644, mongod refuses a keyFile that group or others can access (use 0400 or 0600)")


# -- TLS -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki():
    return TestPKI()


def settings(pki, **changes):
    base = dict(tls_mode="requireTLS", cluster_auth_mode="keyFile", host=HOST,
                certificate_key=pki.pem(HOST, hosts=[HOST, "127.0.0.1"]), certificate_key_password="",
                ca=pki.ca_pem, cluster_certificate_key="", cluster_password="", disabled_protocols="TLS1_0,TLS1_1",
                certificate_key_file="/m/tls/member.pem", ca_file="/m/tls/ca.pem", cluster_file="/m/tls/cluster.pem")
    base.update(changes)
    return base


def test_good_material_passes(pki):
    assert tls_problems(settings(pki)) == []
    assert tls_problems(settings(pki, cluster_auth_mode="x509")) == []
    encrypted = pki.pem(HOST, hosts=[HOST], password="s3cret")
    assert tls_problems(settings(pki, certificate_key=encrypted, certificate_key_password="s3cret")) == []


def test_tls_disabled_needs_nothing_but_x509_needs_tls(pki):
    assert tls_problems(dict(tls_mode="disabled")) == []
    assert "clusterAuthMode x509 needs TLS" in tls_problems(dict(tls_mode="disabled", cluster_auth_mode="x509"))[0]


def test_missing_material_and_bad_choices(pki):
    problems = tls_problems(settings(pki, certificate_key="", ca=""))
    assert "mongod_tls_certificate_key_content" in problems[0] and "mongod_tls_ca_content" in problems[1]
    assert "mongod accepts disabled, allowTLS" in tls_problems(settings(pki, tls_mode="on"))[0]
    assert "'SSL3'" in tls_problems(settings(pki, disabled_protocols="TLS1_0,SSL3"))[0]


def test_certificate_not_matching_the_host(pki):
    (problem,) = tls_problems(settings(pki, certificate_key=pki.pem("db2", hosts=["db2.example.net", "10.0.0.2"])))
    assert problem.startswith("mongod_tls_certificate_key_content (/m/tls/member.pem): the certificate ")
    assert "does not match the host db1.example.net (it names db2.example.net, 10.0.0.2)" in problem
    assert tls_problems(settings(pki, host="10.0.0.2",
                                 certificate_key=pki.pem("db2", hosts=["db2.example.net", "10.0.0.2"]))) == []
    assert tls_problems(settings(pki, certificate_key=pki.pem("any", hosts=["*.example.net"]))) == []


def test_unreadable_key(pki):
    encrypted = pki.pem(HOST, hosts=[HOST], password="s3cret")
    (no_pass,) = tls_problems(settings(pki, certificate_key=encrypted))
    assert no_pass == ("mongod_tls_certificate_key_content (/m/tls/member.pem): the private key is unreadable: "
                       "it is encrypted and no passphrase is set")
    (wrong,) = tls_problems(settings(pki, certificate_key=encrypted, certificate_key_password="nope"))
    assert "the private key is unreadable (wrong passphrase or damaged key)" in wrong
    cert = pki.issue(HOST, hosts=[HOST])[0]
    damaged = cert + "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    assert "/m/tls/member.pem): the private key is unreadable" in tls_problems(settings(pki, certificate_key=damaged))[0]
    assert "no private key in the PEM" in tls_problems(settings(pki, certificate_key=cert))[0]


def test_key_of_another_certificate(pki):
    cert = pki.issue(HOST, hosts=[HOST])[0]
    other_key = pki.issue(HOST, hosts=[HOST])[1]
    (problem,) = tls_problems(settings(pki, certificate_key=cert + other_key))
    assert "the private key does not belong to the certificate CN=db1.example.net,OU=rs,O=quorum members" in problem


def test_ca_that_did_not_sign_the_certificate(pki):
    stranger = TestPKI("another CA")
    (problem,) = tls_problems(settings(pki, certificate_key=stranger.pem(HOST, hosts=[HOST])))
    assert "(/m/tls/member.pem): the certificate CN=db1.example.net,OU=rs,O=quorum members is not signed by the " \
           "CA file's certificates (its issuer is CN=another CA,O=quorum tests, the CA file holds " \
           "CN=quorum test CA,O=quorum tests)" in problem
    # a CA bundle holding both signs it
    assert tls_problems(settings(pki, certificate_key=stranger.pem(HOST, hosts=[HOST]),
                                 ca=pki.ca_pem + stranger.ca_pem)) == []
    assert "CA file /m/tls/ca.pem: no certificate" in tls_problems(settings(pki, ca="not a pem"))[0]


def test_expired_or_future_certificate(pki):
    old = pki.pem(HOST, hosts=[HOST], starts_in_days=-3, valid_days=1)
    (expired,) = tls_problems(settings(pki, certificate_key=old))
    assert "the certificate CN=db1.example.net,OU=rs,O=quorum members expired on" in expired
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
    assert "expired on" in tls_problems(settings(pki), now=later)[0]
    (future,) = tls_problems(settings(pki, certificate_key=pki.pem(HOST, hosts=[HOST], starts_in_days=1)))
    assert "is not valid before" in future


def test_x509_member_certificate_needs_client_auth_and_org(pki):
    server_only = pki.pem(HOST, hosts=[HOST], usages=("server",))
    assert tls_problems(settings(pki, certificate_key=server_only)) == []   # keyFile member auth: fine
    (problem,) = tls_problems(settings(pki, certificate_key=server_only, cluster_auth_mode="x509"))
    assert "extendedKeyUsage without clientAuth" in problem and "authenticate to the other members (x509)" in problem
    (problem,) = tls_problems(settings(pki, certificate_key=pki.pem(HOST, hosts=[HOST], org=None, unit=None),
                                       cluster_auth_mode="x509"))
    assert "has no O, OU or DC in its subject" in problem
    # a separate cluster certificate carries the member identity; the server certificate may be server-only
    assert tls_problems(settings(pki, certificate_key=server_only, cluster_auth_mode="x509",
                                 cluster_certificate_key=pki.pem("member", usages=("client",)))) == []
    (problem,) = tls_problems(settings(pki, cluster_auth_mode="x509",
                                       cluster_certificate_key=pki.pem("member", usages=("server",))))
    assert problem.startswith("mongod_tls_cluster_certificate_key_content (/m/tls/cluster.pem): ")


# -- any input: a list of sentences, never a traceback --------------------------------------------

TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                                                       "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----"]))


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["disabled", "requireTLS", "preferTLS", "bogus", ""]),
       auth=st.sampled_from(["keyFile", "x509", "sendX509", "nope", ""]), cert=TEXT, ca=TEXT, cluster=TEXT,
       password=st.text(max_size=5), host=st.text(max_size=10),
       bind=st.one_of(st.text(max_size=20), st.lists(st.text(max_size=8))))
def test_random_settings_give_sentences(pki, mode, auth, cert, ca, cluster, password, host, bind):
    problems = tls_problems(dict(tls_mode=mode, cluster_auth_mode=auth, host=host, certificate_key=cert,
                                 certificate_key_password=password, ca=ca or pki.ca_pem, cluster_certificate_key=cluster,
                                 cluster_password=password, disabled_protocols=host))
    problems += exposure_problems(bind, False, False, auth, "rs", False) + keyfile_problems(cert, "/k")
    assert all(isinstance(p, str) and p for p in problems)
