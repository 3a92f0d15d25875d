"""The connection layer's rule for arbiters: hello is sent without credentials (mongod answers it
before authentication: src/mongo/db/repl/replication_info.cpp, CmdHello::requiresAuth() returns
false), and nothing else is sent to an arbiter, which holds no users to log in as (MongoDB
manual, Replica Set Arbiter: "the only way to log on to an arbiter with authorization active is
to use the localhost exception"). A fake client records what would have been sent, and how."""
import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils import mongo_client
from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionOptions,
    ConnectionProblem,
    MemberIsArbiter,
    ReplicaSetConnection,
)

pytest.importorskip("pymongo")

HELLOS = {"arb:27017": {"setName": "rs0", "arbiterOnly": True},
          "data:27017": {"setName": "rs0", "secondary": True},
          "new:27017": {"isreplicaset": True}}


class FakeDatabase:
    def __init__(self, sent, host, kwargs):
        self.sent, self.host, self.kwargs = sent, host, kwargs

    def command(self, command, **_options):
        name = command if isinstance(command, str) else next(iter(command))
        self.sent.append((self.host, name, "username" in self.kwargs))
        return dict(HELLOS[self.host]) if name == "hello" else {"ok": 1}


class FakeClient:
    def __init__(self, sent, hosts, **kwargs):
        self.sent, self.host, self.kwargs = sent, hosts[0], kwargs

    def __getitem__(self, _name):
        return FakeDatabase(self.sent, self.host, self.kwargs)

    def close(self):
        pass


@pytest.fixture
def conn(monkeypatch):
    sent = []
    monkeypatch.setattr(mongo_client, "MongoClient", lambda hosts, **kwargs: FakeClient(sent, hosts, **kwargs))
    options = ConnectionOptions(hosts=["data:27017"], replica_set="rs0", login_user="admin", login_password="pw")
    connection = ReplicaSetConnection(options)
    connection.sent = sent
    return connection


def test_hello_is_sent_without_credentials(conn):
    assert conn.hello("data:27017")["secondary"]
    assert conn.sent == [("data:27017", "hello", False)]


def test_a_command_for_an_arbiter_is_refused_unsent_and_names_it(conn):
    with pytest.raises(MemberIsArbiter) as refused:
        conn.status(direct_host="arb:27017")
    assert isinstance(refused.value, ConnectionProblem)
    assert "arb:27017 is an arbiter" in str(refused.value) and "replSetGetStatus" in str(refused.value)
    with pytest.raises(MemberIsArbiter, match="reading local.oplog.rs"):
        conn.oplog_stats("arb")
    assert conn.sent == [("arb:27017", "hello", False)]  # one hello, remembered; never a login
    assert conn.is_arbiter("arb:27017")


def test_a_data_member_gets_its_command_with_credentials_after_one_hello(conn):
    conn.admin("replSetGetStatus", direct_host="data:27017")
    conn.admin("replSetGetStatus", direct_host="data:27017")
    assert conn.sent == [("data:27017", "hello", False), ("data:27017", "replSetGetStatus", True),
                         ("data:27017", "replSetGetStatus", True)]


def test_a_member_outside_a_set_is_asked_again_next_time(conn):
    conn.admin({"replSetInitiate": {}}, direct_host="new:27017")
    conn.admin("hello", direct_host="new:27017", authenticate=False)
    conn.admin("buildInfo", direct_host="new:27017")
    assert [s[1] for s in conn.sent] == ["hello", "replSetInitiate", "hello", "hello", "buildInfo"]


def test_client_options_without_credentials_keep_tls():
    options = ConnectionOptions(hosts=["a"], login_user="admin", login_password="pw", tls=True, tls_ca_file="/ca.pem")
    anonymous = options.client_kwargs(direct_host="a:27017", authenticate=False)
    assert "username" not in anonymous and "password" not in anonymous
    assert anonymous["tls"] is True and anonymous["tlsCAFile"] == "/ca.pem" and anonymous["directConnection"]
    assert options.client_kwargs()["username"] == "admin"


def test_a_refused_login_names_the_member_it_was_refused_on(conn, monkeypatch):
    from pymongo.errors import OperationFailure

    def refuse(self, command, **_options):
        if command != "hello":
            raise OperationFailure("Authentication failed.", 18, {"ok": 0, "code": 18, "codeName": "AuthenticationFailed"})
        return dict(HELLOS[self.host])
    monkeypatch.setattr(FakeDatabase, "command", refuse)
    conn.options.hosts = ["data:27017", "other:27017"]
    with pytest.raises(mongo_client.AuthenticationProblem) as refused:
        conn.admin("replSetGetStatus", direct_host="data:27017")
    assert "at data:27017:" in str(refused.value) and "other:27017" not in str(refused.value)
