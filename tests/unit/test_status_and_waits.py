"""The status summary (pure) and the bounded wait of the connection layer."""
import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import (
    ConnectionOptions,
    ConnectionProblem,
    WaitTimeout,
    wait_until,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import (
    condition_met,
    describe_summary,
    render_status_table,
    summarize_status,
)


class Ts:
    def __init__(self, time):
        self.time = time


def member(i, state, seconds, **extra):
    doc = {"_id": i, "name": "h%d:27017" % i, "state": state, "health": 1,
           # mongod names an unreachable member "(not reachable/healthy)" (state 8; topology_coordinator.cpp
           # prepareStatusResponse), never "DOWN"
           "stateStr": {1: "PRIMARY", 2: "SECONDARY", 7: "ARBITER", 8: "(not reachable/healthy)"}[state],
           "optime": {"ts": Ts(seconds), "t": 1}, "configVersion": 3}
    doc.update(extra)
    return doc


CONFIG = {"_id": "rs0", "version": 3, "members": [
    {"_id": 0, "host": "h0:27017", "priority": 2, "tags": {"dc": "ny"}},
    {"_id": 1, "host": "h1", "tags": {"dc": "fr"}},
    {"_id": 2, "host": "h2:27017", "arbiterOnly": True},
]}


def test_summary_computes_lag_and_reads_the_config():
    status = {"set": "rs0", "term": 4, "members": [
        member(0, 1, 1000), member(1, 2, 990, syncSourceHost="h0:27017"), member(2, 7, 0)]}
    summary = summarize_status(status, CONFIG, {"h0:27017": 26.5})
    assert summary["primary"] == "h0:27017" and summary["healthy"] and summary["config_version"] == 3
    h0, h1, h2 = summary["members"]
    assert (h0["lag_seconds"], h1["lag_seconds"], h2["lag_seconds"]) == (0, 10, None)
    assert (h1["domain"], h1["priority"], h1["sync_source"]) == ("fr", 1.0, "h0:27017")
    assert h0["oplog_window_hours"] == 26.5 and h2["votes"] == 1
    assert condition_met(summary, "lag", max_lag_seconds=10)
    assert not condition_met(summary, "lag", max_lag_seconds=9.5)
    assert condition_met(summary, "member_state", member="h1", state="SECONDARY")
    assert condition_met(summary, "member_state", member="h1", state=["SECONDARY", "PRIMARY"])
    assert not condition_met(summary, "member_state", member="h1", state=["PRIMARY", "ARBITER"])
    assert render_status_table(summary).splitlines()[4] == "| h0:27017 | ny | PRIMARY | 2 | 1 | 0 | - | 26.5 |"


def test_a_down_member_or_no_primary_is_not_healthy():
    down = summarize_status({"set": "rs0", "members": [member(0, 1, 5), member(1, 8, 0)]}, CONFIG)
    assert not down["healthy"] and condition_met(down, "primary")
    # wait_for member_state DOWN matches the unreachable member by its state, whatever mongod calls it
    assert condition_met(down, "member_state", member="h1", state="DOWN")
    assert not condition_met(down, "member_state", member="h0", state=["DOWN"])
    leaderless = summarize_status({"set": "rs0", "members": [member(0, 2, 5), member(1, 2, 5)]}, CONFIG)
    assert leaderless["primary"] is None and not leaderless["healthy"]
    assert not condition_met(leaderless, "primary") and not condition_met(leaderless, "lag", max_lag_seconds=100)
    assert describe_summary(down) == "h0:27017 PRIMARY; h1:27017 (not reachable/healthy)"


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_backs_off_and_returns_the_value():
    fake = FakeClock()
    values = iter([1, 2, 3, 4])
    value, polls = wait_until(lambda: next(values), lambda v: v == 3, timeout=60, what="three",
                              clock=fake.clock, sleep=fake.sleep)
    assert (value, polls) == (3, 3)
    assert fake.sleeps == [0.25, 0.375]


def test_wait_until_times_out_naming_what_and_the_last_state():
    fake = FakeClock()
    with pytest.raises(WaitTimeout, match=r"timed out after 5 s waiting for a primary; last seen: <2>"):
        wait_until(lambda: 2, lambda v: False, timeout=5, what="a primary", describe=lambda v: "<%s>" % v,
                   clock=fake.clock, sleep=fake.sleep)
    assert fake.now == pytest.approx(5)
    assert max(fake.sleeps) <= 2.0


def test_wait_until_reports_the_last_error():
    fake = FakeClock()

    def probe():
        raise ConnectionProblem("h1:27017 refused the connection")

    with pytest.raises(WaitTimeout, match="last error: h1:27017 refused the connection"):
        wait_until(probe, lambda v: True, timeout=1, what="x", clock=fake.clock, sleep=fake.sleep)


def test_connection_options_build_pymongo_arguments():
    params = {"hosts": ["a", "b:27018"], "replica_set": "rs0", "login_user": "admin", "login_password": "pw",
              "login_database": "admin", "auth_mechanism": "SCRAM-SHA-256", "tls": True, "tls_ca_file": "/ca.pem",
              "tls_certificate_key_file": None, "tls_allow_invalid_hostnames": False, "connect_timeout": 2.5,
              "server_selection_timeout": 7.0}
    options = ConnectionOptions.from_params(params)
    assert options.seeds == ["a:27017", "b:27018"]
    kwargs = options.client_kwargs()
    assert kwargs["replicaSet"] == "rs0" and kwargs["authMechanism"] == "SCRAM-SHA-256"
    assert kwargs["tlsCAFile"] == "/ca.pem" and kwargs["serverSelectionTimeoutMS"] == 7000
    direct = options.client_kwargs(direct_host="a:27017")
    assert direct["directConnection"] is True and "replicaSet" not in direct


def test_lag_wait_needs_every_data_member_to_be_a_secondary():
    recovering = summarize_status({"set": "rs0", "members": [member(0, 1, 5), member(1, 2, 5),
                                                             dict(member(2, 2, 5), state=3, stateStr="RECOVERING")]},
                                  CONFIG)
    assert not condition_met(recovering, "lag", max_lag_seconds=100)
    with_arbiter = summarize_status({"set": "rs0", "members": [member(0, 1, 5), member(1, 2, 4), member(2, 7, 0)]},
                                    CONFIG)
    assert condition_met(with_arbiter, "lag", max_lag_seconds=1)


def test_extended_json_object_ids_are_sent_as_bson():
    bson = pytest.importorskip("bson")
    from ansible_collections.quorum.mongodb.plugins.module_utils.mongo_client import to_bson

    command = {"replSetReconfig": {"_id": "rs0", "settings": {"replicaSetId": {"$oid": "65a1b2c3d4e5f60718293a4b"}},
                                   "members": [{"_id": 0, "tags": {"$oid": 5}}]}}
    converted = to_bson(command)
    assert list(converted) == ["replSetReconfig"]
    assert converted["replSetReconfig"]["settings"]["replicaSetId"] == bson.ObjectId("65a1b2c3d4e5f60718293a4b")
    assert converted["replSetReconfig"]["members"][0]["tags"] == {"$oid": 5}


class TsInc(Ts):
    def __init__(self, time, inc):
        super().__init__(time)
        self.inc = inc


PSS = {"_id": "rs0", "version": 3, "members": [
    {"_id": 0, "host": "h0:27017"}, {"_id": 1, "host": "h1:27017"}, {"_id": 2, "host": "h2:27017"}]}


def primary_view(applied, commit, states=(1, 8, 2), config=None):
    """replSetGetStatus as the primary h0 answers it: applied[i] = (seconds, inc) of member i."""
    config = config or PSS
    members = [member(i, state, 0, optime={"ts": TsInc(*applied[i]), "t": 2}, self=(i == 0))
               for i, state in enumerate(states)]
    return summarize_status({"set": "rs0", "members": members,
                             "optimes": {"lastCommittedOpTime": {"ts": TsInc(*commit), "t": 2}}},
                            config)


def test_durable_without_waits_for_the_other_voters_to_hold_every_committed_write():
    # h1 is being resynced (stopped: DOWN); a write at (100, 3) was acknowledged by h0 and h1
    lagging = primary_view([(100, 3), (100, 3), (100, 2)], commit=(100, 3))
    assert not condition_met(lagging, "durable_without", member="h1:27017")
    caught_up = primary_view([(100, 3), (100, 3), (100, 3)], commit=(100, 3))
    assert condition_met(caught_up, "durable_without", member="h1:27017")
    # the increment decides within one second, the term before the timestamp
    assert primary_view([(100, 3), (0, 0), (100, 4)], (100, 3))["members"][2]["optime"] == [2, 100, 4]
    # the other secondary down (paused, partitioned): it may lack the write; wait for it
    assert not condition_met(primary_view([(100, 3), (100, 3), (100, 3)], (100, 3), states=(1, 8, 8)),
                             "durable_without", member="h1:27017")


def test_durable_without_needs_the_primary_itself_to_answer():
    # the same optimes, but the answering member (self) is a secondary: its commit point may lag
    summary = primary_view([(100, 3), (100, 3), (100, 3)], commit=(100, 3), states=(2, 1, 8))
    assert not condition_met(summary, "durable_without", member="h2:27017")
    no_commit = primary_view([(100, 3), (100, 3), (100, 3)], commit=(100, 3))
    no_commit["commit_point"] = None
    assert not condition_met(no_commit, "durable_without", member="h1:27017")


def test_durable_without_in_a_psa_set_asks_only_the_primary():
    psa = {"_id": "rs0", "version": 3, "members": [
        {"_id": 0, "host": "h0:27017"}, {"_id": 1, "host": "h1:27017"},
        {"_id": 2, "host": "h2:27017", "arbiterOnly": True}]}
    summary = primary_view([(100, 3), (100, 3), (0, 0)], commit=(100, 3), states=(1, 8, 7), config=psa)
    assert condition_met(summary, "durable_without", member="h1:27017")
    # five voters: with one member stopped, three of the other four must hold the commit point
    five = {"_id": "rs0", "version": 3, "members": [{"_id": i, "host": "h%d:27017" % i} for i in range(5)]}
    applied = [(100, 3), (100, 3), (100, 3), (99, 0), (99, 0)]
    summary = primary_view(applied, (100, 3), states=(1, 8, 2, 2, 2), config=five)
    assert not condition_met(summary, "durable_without", member="h1:27017")
    applied[3] = (100, 3)
    summary = primary_view(applied, (100, 3), states=(1, 8, 2, 2, 2), config=five)
    assert condition_met(summary, "durable_without", member="h1:27017")


def test_primary_host_and_healthy_data_members_read_a_status_reply():
    from ansible_collections.quorum.mongodb.plugins.module_utils.replset_status import (
        healthy_data_members, primary_host)
    status = {"members": [{"name": "a", "state": 2, "health": 1}, {"name": "b:27018", "state": 1, "health": 1},
                          {"name": "c", "state": 7, "health": 1}, {"name": "d", "state": 2, "health": 0},
                          {"name": "e", "state": 8, "health": 0}]}
    assert primary_host(status) == "b:27018"
    assert primary_host({"members": [{"name": "a", "state": 2, "health": 1}]}) is None
    assert primary_host({}) is None
    assert [m["name"] for m in healthy_data_members(status)] == ["a", "b:27018"]
