"""Verify the default scenario: three members provisioned by playbooks/site.yml.

Expectations come from the scenario's inventory (plain values, read through testinfra's Ansible
backend), never from the collection's own code: the live set is compared with what the inventory
asks for, field by field.
"""
import os

import pytest
import testinfra.utils.ansible_runner
import yaml
from pymongo import MongoClient, WriteConcern
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]))
MEMBERS = sorted(RUNNER.get_hosts("rs_molecule_default"))
testinfra_hosts = MEMBERS

MEMBERS_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "members")
PKI_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki")  # written by create.yml (pki.py)
# Every member requires TLS; this client certificate is the one the playbooks' modules present.
TLS = dict(tls=True, tlsCAFile=os.path.join(PKI_DIR, "ca.pem"),
           tlsCertificateKeyFile=os.path.join(PKI_DIR, "client.pem"))


def inventory(name):
    """The member's inventory variables (literal values in this scenario's hosts.yml)."""
    return RUNNER.get_variables(name)


def address(name):
    variables = inventory(name)
    return "%s:%d" % (variables["mongodb_host"], variables["mongodb_port"])


def admin_client(**kwargs):
    variables = inventory(MEMBERS[0])
    return MongoClient([address(m) for m in MEMBERS], replicaSet=variables["mongodb_replset_name"],
                       username=variables["mongodb_login_user"], password=variables["mongodb_login_password"],
                       serverSelectionTimeoutMS=10000, **TLS, **kwargs)


@pytest.fixture(scope="module")
def live_config():
    client = admin_client()
    try:
        return client.admin.command("replSetGetConfig")["config"]
    finally:
        client.close()


def test_member_listens_on_its_address(host):
    variables = inventory(host.backend.get_hostname())
    socket = host.socket("tcp://%s:%d" % (variables["mongodb_host"], variables["mongodb_port"]))
    assert socket.is_listening


def test_member_process_runs_from_its_pid_file(host):
    base = os.path.join(MEMBERS_DIR, host.backend.get_hostname())
    pid = int(host.file(os.path.join(base, "mongod.pid")).content_string.strip())
    process = host.process.get(pid=pid)
    assert os.path.join(base, "mongod.conf") in process.args


def test_mongod_conf_content_and_mode(host):
    name = host.backend.get_hostname()
    variables = inventory(name)
    base = os.path.join(MEMBERS_DIR, name)
    conf = host.file(os.path.join(base, "mongod.conf"))
    assert conf.is_file
    assert conf.mode == 0o640
    parsed = yaml.safe_load(conf.content_string)
    tls_dir = os.path.join(base, "tls")
    assert parsed["net"] == {"port": variables["mongodb_port"], "bindIp": variables["mongodb_host"], "tls": {
        "mode": "requireTLS", "certificateKeyFile": os.path.join(tls_dir, "member.pem"),
        "CAFile": os.path.join(tls_dir, "ca.pem"), "allowConnectionsWithoutCertificates": False}}
    assert parsed["storage"]["dbPath"] == os.path.join(base, "data")
    assert parsed["replication"]["replSetName"] == variables["mongodb_replset_name"]
    assert parsed["security"] == {"keyFile": os.path.join(base, "keyfile"), "authorization": "enabled"}
    assert parsed["processManagement"] == {"fork": True, "pidFilePath": os.path.join(base, "mongod.pid")}
    assert parsed["systemLog"]["path"] == os.path.join(base, "mongod.log")
    for directory in (base, os.path.join(base, "data")):
        assert host.file(directory).is_directory
        assert host.file(directory).mode == 0o750


def test_keyfile_is_owner_read_only(host):
    keyfile = host.file(os.path.join(MEMBERS_DIR, host.backend.get_hostname(), "keyfile"))
    assert keyfile.is_file
    assert keyfile.mode == 0o400
    assert keyfile.user == host.user().name
    assert keyfile.content_string == inventory(MEMBERS[0])["mongod_keyfile_content"]


def test_live_config_equals_the_inventory(live_config):
    variables = inventory(MEMBERS[0])
    assert live_config["_id"] == variables["mongodb_replset_name"]
    live = {m["host"]: m for m in live_config["members"]}
    assert sorted(live) == sorted(address(m) for m in MEMBERS)
    for name in MEMBERS:
        member, wanted = live[address(name)], inventory(name)
        assert member["tags"] == {"dc": wanted["mongodb_datacenter"]}, name
        assert member["priority"] == wanted.get("mongodb_priority", 1), name
        assert member["votes"] == wanted.get("mongodb_votes", 1), name
        assert member["arbiterOnly"] is False and member["hidden"] is False, name
    settings = live_config["settings"]
    assert settings["getLastErrorModes"] == variables["mongodb_write_concern_modes"]
    for key, value in variables["mongodb_replset_settings"].items():
        assert settings[key] == value, key


def test_preferred_member_is_primary_and_all_are_healthy():
    client = admin_client()
    try:
        status = client.admin.command("replSetGetStatus")
    finally:
        client.close()
    states = {m["name"]: m["stateStr"] for m in status["members"]}
    preferred = max(MEMBERS, key=lambda m: inventory(m).get("mongodb_priority", 1))
    assert states.pop(address(preferred)) == "PRIMARY"
    assert set(states.values()) == {"SECONDARY"}
    assert all(m["health"] == 1 for m in status["members"])


def test_write_concern_mode_is_usable():
    client = admin_client()
    try:
        modes = client.molecule.get_collection("modes", write_concern=WriteConcern(w="multiDC", wtimeout=10000))
        modes.insert_one({"ok": 1})
    finally:
        client.close()


def test_auth_is_enforced(host):
    """Without credentials every member refuses a command that needs a privilege (Unauthorized, 13)."""
    client = MongoClient(address(host.backend.get_hostname()), directConnection=True, serverSelectionTimeoutMS=5000,
                         **TLS)
    try:
        with pytest.raises(OperationFailure) as refused:
            client.admin.command("replSetGetConfig")
        assert refused.value.code == 13, refused.value.details
        with pytest.raises(OperationFailure) as refused:
            client.molecule.modes.find_one()
        assert refused.value.code == 13, refused.value.details
    finally:
        client.close()


def test_tls_files_are_owner_only(host):
    tls_dir = os.path.join(MEMBERS_DIR, host.backend.get_hostname(), "tls")
    assert host.file(tls_dir).mode == 0o700
    for name in ("member.pem", "ca.pem"):
        pem = host.file(os.path.join(tls_dir, name))
        assert pem.mode == 0o600 and pem.user == host.user().name, name


def test_plain_and_unverified_connections_are_refused(host):
    """requireTLS: no plain connection; and a client without the CA cannot verify the member."""
    name = address(host.backend.get_hostname())
    for options in ({}, dict(tls=True, tlsCertificateKeyFile=TLS["tlsCertificateKeyFile"])):
        client = MongoClient(name, directConnection=True, serverSelectionTimeoutMS=1500, **options)
        try:
            with pytest.raises(ServerSelectionTimeoutError):
                client.admin.command("ping")
        finally:
            client.close()
