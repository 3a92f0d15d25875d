"""quorum.mongodb.rs_status and the connection layer against an emulated one-member set."""
import time

import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionOptions,
    ReplicaSetConnection,
)
from conftest import initiate_one_member_set
from emuharness import pick_address


@pytest.mark.playbook
@pytest.mark.emulator
def test_rs_status_reads_waits_and_explains_failures(run_cases, single_member_set):
    run_cases("rs_status_cases.yml", single_member_set)


@pytest.fixture
def auth_set(start_member, tmp_path):
    """A one-member set with --auth (and the keyFile mongod 5.0+ requires with it): initiated
    and its first user created through the localhost exception, as an operator bootstraps a
    new set."""
    keyfile = tmp_path / "rsauth.key"
    keyfile.write_text("cnNhdXRoLWtleWZpbGUtZm9yLXRoZS10ZXN0cw")
    keyfile.chmod(0o400)
    emu = start_member("--replSet", "rsauth", "--auth", "--keyFile", str(keyfile))
    initiate_one_member_set(emu, "rsauth").admin.command("createUser", "admin", pwd="s3cret-pass", roles=["root"])
    return emu


@pytest.mark.playbook
@pytest.mark.emulator
def test_authentication_failures_are_explained_and_never_leak_the_password(playbook, auth_set, tmp_path):
    cases = tmp_path / "auth.yml"
    cases.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - quorum.mongodb.rs_status:
        hosts: ["%(member)s"]
        replica_set: rsauth
        login_user: admin
        login_password: not-the-password
        server_selection_timeout: 5
      register: wrong
      ignore_errors: true
    - quorum.mongodb.rs_status:
        hosts: ["%(member)s"]
        replica_set: rsauth
        login_user: admin
        login_password: s3cret-pass
        wait_for: primary
        timeout: 20
      register: right
    - ansible.builtin.assert:
        that:
          - wrong is failed
          - "wrong.msg is search('authentication failed for user admin on database admin')"
          - right.primary == '%(member)s'
""" % {"member": auth_set.address})
    result = playbook(str(cases), "localhost,", "-v")
    assert result.returncode == 0, result.stdout
    assert "not-the-password" not in result.stdout
    assert "s3cret-pass" not in result.stdout


@pytest.mark.emulator
def test_a_probe_of_a_set_no_seed_belongs_to_returns_at_once_and_one_of_a_live_set_proceeds(start_member):
    """uninitialised_seeds (rs_status without wait_for): an uninitialised seed (pymongo's RSGhost) and
    an unreachable one cannot yield a primary or secondary until someone initiates the set, so the
    probe says so within the first hellos instead of waiting its selection timeout. Seeds that all
    fail to answer go on to the selection error (it says why: TLS, refused); without a set name a
    single seed is selectable whatever it is; once a seed is a member, the probe proceeds."""
    fresh = start_member("--replSet", "fresh")
    gone_host, gone_port = pick_address()  # nothing listens there: refused at once
    gone = "%s:%d" % (gone_host, gone_port)
    options = ConnectionOptions(hosts=[fresh.address, gone], replica_set="fresh", server_selection_timeout=20)
    started = time.monotonic()
    with ReplicaSetConnection(options) as conn:
        seeds = conn.uninitialised_seeds(20)
    assert time.monotonic() - started < 5, "waited for a primary that cannot exist"
    assert seeds[fresh.address] == "uninitialised" and seeds[gone].startswith("no answer ("), seeds
    with ReplicaSetConnection(ConnectionOptions(hosts=[gone], replica_set="fresh")) as conn:
        assert conn.uninitialised_seeds(20) is None
    with ReplicaSetConnection(ConnectionOptions(hosts=[fresh.address], server_selection_timeout=20)) as conn:
        assert conn.uninitialised_seeds(20) is None

    initiate_one_member_set(fresh, "fresh")
    with ReplicaSetConnection(options) as conn:
        assert conn.uninitialised_seeds(20) is None
        assert conn.status()["set"] == "fresh"


@pytest.mark.emulator
def test_find_all_reads_every_batch_of_a_collection(auth_set):
    """find_all returns a collection that spans several batches (its getMores go to the member
    and in the session of the find, as mongod requires: Cannot run getMore ... in session),
    with the projection applied, and names the read in its errors."""
    auth_set.client(username="admin", password="s3cret-pass").rsauth_test.items.insert_many([{"_id": i, "x": i, "y": "drop"} for i in range(2500)])
    options = ConnectionOptions(hosts=[auth_set.address], replica_set="rsauth", login_user="admin",
                                login_password="s3cret-pass", server_selection_timeout=20)
    with ReplicaSetConnection(options) as conn:
        found = conn.find_all("rsauth_test", "items", projection={"y": 0})
        assert sorted(doc["_id"] for doc in found) == list(range(2500))
        assert all(set(doc) == {"_id", "x"} for doc in found)
    wrong = ConnectionOptions(hosts=[auth_set.address], replica_set="rsauth", login_user="admin",
                              login_password="not-the-password", server_selection_timeout=20)
    with ReplicaSetConnection(wrong) as conn, pytest.raises(Exception, match="authentication failed"):
        conn.find_all("rsauth_test", "items")
