"""Members to be added must answer hello and be uninitialised or of the same set (issue 12 item 5)."""
from ansible_collections.quorum.mongodb.plugins.module_utils.joining_members import (
    joining_hosts,
    joining_refusal,
    joining_verdict,
)

CURRENT = {"_id": "rs0", "version": 3, "members": [{"_id": 0, "host": "db1:27017"}, {"_id": 1, "host": "db2"}]}


def test_joining_hosts_are_the_desired_hosts_not_in_the_live_config():
    desired = {"_id": "rs0", "members": [{"_id": 0, "host": "db1"}, {"_id": 2, "host": "db3:27017"},
                                         {"_id": 3, "host": "db4:27018"}]}
    assert joining_hosts(CURRENT, desired) == ["db3:27017", "db4:27018"]
    assert joining_hosts(CURRENT, CURRENT) == []


def test_a_host_without_mongod_is_refused_naming_it_and_the_fix():
    verdict = joining_verdict("db3:27017", "rs0", error="connection refused")
    assert not verdict["ready"]
    message = joining_refusal([verdict, joining_verdict("db4:27017", "rs0", hello={"isreplicaset": True})])
    assert message.startswith("refusing to reconfigure, nothing was changed: 1 member(s) to be added cannot join")
    assert "db3:27017 does not answer hello (connection refused): start mongod there with " \
           "replication.replSetName: rs0" in message


def test_an_uninitialised_or_returning_member_may_join():
    assert joining_verdict("db3:27017", "rs0", hello={"isWritablePrimary": False, "isreplicaset": True})["ready"]
    returning = joining_verdict("db3:27017", "rs0", hello={"setName": "rs0", "secondary": True})
    assert returning["ready"] and "returning" in returning["found"]
    assert joining_refusal([returning]) is None


def test_another_sets_member_or_a_standalone_is_refused():
    other = joining_verdict("db3:27017", "rs0", hello={"setName": "rs9"})
    assert not other["ready"] and other["found"] == "belongs to replica set 'rs9'"
    standalone = joining_verdict("db3:27017", "rs0", hello={"isWritablePrimary": True})
    assert not standalone["ready"] and "without --replSet" in standalone["found"]
    assert "replication.replSetName: rs0" in standalone["fix"]
