"""replSetInitiate with several members, replSetReconfig (non-force and force),
replSetGetConfig commitmentStatus, replSetStepDown and replSetResizeOplog on a replica set
whose only reachable member is the process under test.

Expected codes and messages come from the MongoDB 7.0 sources: repl_set_commands.cpp,
replication_coordinator_impl.cpp (processReplSetInitiate, processReplSetReconfig,
_doReplSetReconfig, stepDown), repl_set_config_checks.cpp, check_quorum_for_config_change.cpp,
repl_set_config.idl / member_config.idl / member_config.cpp / repl_set_config.cpp,
topology_coordinator (tryToStartStepDown), resize_oplog.cpp / resize_oplog.idl.
Other members named in configs are free loopback ports nobody listens on.
"""

from __future__ import annotations

import copy
import socket
import threading
import time

import pytest
from bson import ObjectId
from pymongo.errors import NotPrimaryError, OperationFailure

from emuharness import Emu, Wire, assert_fails

pytestmark = pytest.mark.emulator

SET = "rsreconf"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _down(node: Emu) -> str:
    """host:port of a member that is not running (connection refused)."""
    return f"{node.host}:{_free_port(node.host)}"


def _wait(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _restart(node: Emu) -> None:
    """Stop by pid and start again on the same address (mongoemu binds with SO_REUSEADDR,
    so the harness's wait for the port to look free is not needed)."""
    node.stop()
    node.start()


def _not_primary(call, text: str) -> None:
    """pymongo raises NotPrimaryError (not an OperationFailure) for NotWritablePrimary."""
    with pytest.raises(NotPrimaryError) as err:
        call()
    assert err.value.details["code"] == 10107, err.value.details
    assert err.value.details["codeName"] == "NotWritablePrimary"
    assert text in err.value.details["errmsg"], err.value.details


def _write_refused(cli) -> None:
    """A write on a member that is not a writable primary: NotWritablePrimary (10107)."""
    with pytest.raises(NotPrimaryError) as err:
        cli.db.c.insert_one({"x": 1})
    assert err.value.details["code"] == 10107
    assert err.value.details["codeName"] == "NotWritablePrimary"


def _is_primary(cli) -> bool:
    return bool(cli.admin.command("hello").get("isWritablePrimary"))


def _initiate(node: Emu, settings: dict | None = None):
    cli = node.client()
    config = {"_id": SET, "members": [{"_id": 0, "host": node.address}]}
    if settings:
        config["settings"] = settings
    cli.admin.command({"replSetInitiate": config})
    _wait(lambda: _is_primary(cli), what="primary after initiate")
    return cli


def _config(cli, **opts) -> dict:
    return cli.admin.command({"replSetGetConfig": 1, **opts})["config"]


def _reconfig(cli, config: dict, **opts) -> dict:
    return cli.admin.command({"replSetReconfig": config, **opts})


def _next(cli) -> dict:
    """The current config with version + 1, as a user would prepare a reconfig."""
    cfg = copy.deepcopy(_config(cli))
    cfg["version"] += 1
    return cfg


@pytest.fixture
def rs(emu_factory):
    node = emu_factory("--replSet", SET, "--setParameter", "enableTestCommands=1")
    return node, _initiate(node)


@pytest.fixture(scope="module")
def shared_rs(module_emu_factory):
    """One primary for the refusal tests: a refused reconfig changes nothing."""
    node = module_emu_factory("--replSet", SET, name="shared_rs")
    return node, _initiate(node)


# ------------------------------------------------------------------ replSetInitiate


def test_initiate_with_unreachable_members_refused(emu_factory):
    node = emu_factory("--replSet", SET)
    cli = node.client()
    other = _down(node)
    # check_quorum_for_config_change.cpp: every member must answer the heartbeat (NodeNotFound)
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "members": [{"_id": 0, "host": node.address}, {"_id": 1, "host": other}]}}),
        74, "NodeNotFound")
    assert "replSetInitiate quorum check failed because not all proposed set members " \
           "responded affirmatively" in str(err) and other in str(err)
    # processReplSetInitiate turns every validateConfigForInitiate failure into
    # InvalidReplicaSetConfig, keeping the reason
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "members": [{"_id": 1, "host": other}]}}), 93, "InvalidReplicaSetConfig")
    assert "maps to this node" in str(err)
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "version": 2, "members": [{"_id": 0, "host": node.address}]}}),
        93, "InvalidReplicaSetConfig")
    assert "must  have version 1" in str(err)
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "members": [{"_id": 0, "host": node.address, "priority": 0},
                                {"_id": 1, "host": other}]}}), 93, "InvalidReplicaSetConfig")
    assert "is not electable" in str(err)
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "members": [{"_id": 0, "host": node.address}],
        "settings": {"replicaSetId": ObjectId()}}}), 93, "InvalidReplicaSetConfig")
    assert "replicaSetId" in str(err)
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "members": [{"_id": 0, "host": node.address},
                                {"_id": 1, "host": other, "newlyAdded": True}]}}),
        93, "InvalidReplicaSetConfig")
    assert "has a newlyAdded field" in str(err)
    err = assert_fails(lambda: cli.admin.command({"replSetInitiate": {
        "_id": SET, "members": [{"_id": 0, "host": node.address, "slaveDelay": 0}]}}),
        93, "InvalidReplicaSetConfig")
    assert "unknown field" in str(err)
    # nothing was installed
    assert_fails(lambda: cli.admin.command("replSetGetConfig"), 94, "NotYetInitialized")
    assert cli.admin.command("hello").get("setName") is None


# ------------------------------------------------------------------ refused reconfigs


def _with(fn):
    def mutate(cfg: dict, node: Emu) -> dict:
        fn(cfg, node)
        return cfg
    return mutate


REFUSED = [
    # (name, mutation, code, codeName, text in errmsg)
    ("same_version", _with(lambda c, n: c.__setitem__("version", c["version"] - 1)),
     103, "NewReplicaSetConfigurationIncompatible", "must be greater than old"),
    ("lower_version", _with(lambda c, n: c.__setitem__("version", 1)),
     103, "NewReplicaSetConfigurationIncompatible", "is not greater than"),
    ("set_name", _with(lambda c, n: c.__setitem__("_id", "other")),
     93, "InvalidReplicaSetConfig", "set name differs"),
    ("replica_set_id", _with(lambda c, n: c["settings"].__setitem__("replicaSetId", ObjectId())),
     103, "NewReplicaSetConfigurationIncompatible", "differ in replica set ID"),
    ("unknown_field", _with(lambda c, n: c.__setitem__("foo", 1)),
     93, "InvalidReplicaSetConfig", "is an unknown field"),
    ("version_zero", _with(lambda c, n: c.__setitem__("version", 0)),
     93, "InvalidReplicaSetConfig", "value must be > 0"),
    ("version_fraction", _with(lambda c, n: c.__setitem__("version", 2.5)),
     93, "InvalidReplicaSetConfig", "integer"),
    ("version_string", _with(lambda c, n: c.__setitem__("version", "3")),
     93, "InvalidReplicaSetConfig", "wrong type"),
    ("protocol_version", _with(lambda c, n: c.__setitem__("protocolVersion", 0)),
     93, "InvalidReplicaSetConfig", "protocolVersion"),
    ("heartbeat_interval", _with(lambda c, n: c["settings"].__setitem__(
        "heartbeatIntervalMillis", 0)), 93, "InvalidReplicaSetConfig", "heartbeatIntervalMillis"),
    ("catch_up_timeout", _with(lambda c, n: c["settings"].__setitem__(
        "catchUpTimeoutMillis", -2)), 93, "InvalidReplicaSetConfig", "catchUpTimeoutMillis"),
    ("repaired", _with(lambda c, n: c.__setitem__("repaired", True)),
     93, "InvalidReplicaSetConfig", "repaired"),
    ("votes_two", _with(lambda c, n: c["members"][0].__setitem__("votes", 2)),
     93, "InvalidReplicaSetConfig", "votes"),
    ("priority_range", _with(lambda c, n: c["members"][0].__setitem__("priority", 1001)),
     93, "InvalidReplicaSetConfig", "priority"),
    ("member_unknown_field", _with(lambda c, n: c["members"][0].__setitem__("slaveDelay", 0)),
     93, "InvalidReplicaSetConfig", "unknown field"),
    ("member_negative_id", _with(lambda c, n: c["members"][0].__setitem__("_id", -1)),
     93, "InvalidReplicaSetConfig", "non-negative"),
    ("bad_host", _with(lambda c, n: c["members"].append({"_id": 1, "host": ""})),
     93, "InvalidReplicaSetConfig", "Empty host"),
    ("tag_not_string", _with(lambda c, n: c["members"][0].__setitem__("tags", {"dc": 1})),
     93, "InvalidReplicaSetConfig", "non-string"),
    ("user_newly_added", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "newlyAdded": True})),
     93, "InvalidReplicaSetConfig", "newlyAdded"),
    ("arbiter_no_vote", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "arbiterOnly": True, "votes": 0})),
     93, "InvalidReplicaSetConfig", "Arbiter must vote"),
    ("arbiter_tags", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "arbiterOnly": True, "tags": {"dc": "a"}})),
     93, "InvalidReplicaSetConfig", "Cannot set tags on arbiters"),
    ("priority_needs_vote", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "votes": 0})),
     93, "InvalidReplicaSetConfig", "priority must be 0 when non-voting"),
    ("priority_hidden", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "hidden": True})),
     93, "InvalidReplicaSetConfig", "priority must be 0 when hidden"),
    ("unknown_tag_in_mode", _with(lambda c, n: c["settings"].__setitem__(
        "getLastErrorModes", {"multiDC": {"dc": 2}})), 93, "InvalidReplicaSetConfig", "dc"),
    ("arbiter_priority", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "arbiterOnly": True, "priority": 2})),
     103, "NewReplicaSetConfigurationIncompatible", "Arbiter priority must be 0"),
    ("duplicate_id", _with(lambda c, n: c["members"].append({"_id": 0, "host": _down(n)})),
     103, "NewReplicaSetConfigurationIncompatible", "same _id"),
    ("duplicate_host", _with(lambda c, n: c["members"].append({"_id": 1, "host": n.address})),
     103, "NewReplicaSetConfigurationIncompatible", "same host"),
    ("localhost_mix", _with(lambda c, n: c["members"].append({"_id": 1, "host": "10.9.8.7:27017"})),
     103, "NewReplicaSetConfigurationIncompatible", "localhost"),
    ("horizon_ip", _with(lambda c, n: c["members"][0].__setitem__(
        "horizons", {"outside": "10.1.2.3:27017"})),
     103, "NewReplicaSetConfigurationIncompatible", "split horizon configuration using IP"),
    ("horizon_default", _with(lambda c, n: c["members"][0].__setitem__(
        "horizons", {"__default": "outside.example.net:27017"})),
     93, "InvalidReplicaSetConfig", "reserved"),
    ("two_arbiters", _with(lambda c, n: c["members"].extend(
        [{"_id": 1, "host": _down(n), "arbiterOnly": True},
         {"_id": 2, "host": _down(n), "arbiterOnly": True}])),
     103, "NewReplicaSetConfigurationIncompatible", "Multiple arbiters"),
    ("self_removed", _with(lambda c, n: c["members"][0].__setitem__("host", _down(n))),
     74, "NodeNotFound", "maps to this node"),
    ("self_twice", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": f"localhost:{n.port}"})),
     93, "InvalidReplicaSetConfig", "all map to this node"),
    ("arbiter_vote_quorum", _with(lambda c, n: c["members"].append(
        {"_id": 1, "host": _down(n), "arbiterOnly": True})),
     74, "NodeNotFound", "Quorum check failed because not enough voting nodes responded"),
]


@pytest.mark.parametrize("name,mutate,code,code_name,text", REFUSED, ids=[r[0] for r in REFUSED])
def test_reconfig_refused(shared_rs, name, mutate, code, code_name, text):
    node, cli = shared_rs
    before = _config(cli)
    cfg = mutate(_next(cli), node)
    err = assert_fails(lambda: _reconfig(cli, cfg), code, code_name)
    assert text in err.details["errmsg"], err.details
    assert _config(cli) == before


def test_reconfig_customized_get_last_error_defaults(shared_rs):
    _node, cli = shared_rs
    cfg = _next(cli)
    cfg["settings"]["getLastErrorDefaults"] = {"w": "majority", "wtimeout": 0}
    # validateConfigForReconfig: uassert 5624102, even with force
    for opts in ({}, {"force": True}):
        err = assert_fails(lambda: _reconfig(cli, cfg, **opts), 5624102, "Location5624102")
        assert "getLastErrorDefaults" in str(err)


def test_reconfig_without_config_document(shared_rs):
    _node, cli = shared_rs
    with pytest.raises(OperationFailure) as err:
        cli.admin.command({"replSetReconfig": 1})
    assert err.value.details["errmsg"] == "no configuration specified"
    assert "code" not in err.value.details  # CmdReplSetReconfig returns false, no status


def test_reconfig_not_initiated_and_standalone(emu_factory):
    node = emu_factory("--replSet", SET)
    cli = node.client()
    assert_fails(lambda: cli.admin.command({"replSetReconfig": {"_id": SET}}), 94,
                 "NotYetInitialized")
    standalone = emu_factory().client()
    assert_fails(lambda: standalone.admin.command({"replSetReconfig": {"_id": SET}}), 76,
                 "NoReplicationEnabled")


# ------------------------------------------------------------------ accepted reconfigs


def test_reconfig_version_term_hello_and_awaiting_clients(rs):
    node, cli = rs
    hello = cli.admin.command("hello")
    assert hello["setVersion"] == 1
    cfg = _config(cli)
    assert cfg["version"] == 1 and cfg["term"] == 1

    woke: dict = {}

    def awaiting():
        with Wire(node.host, node.port, timeout=20) as wire:
            started = time.monotonic()
            woke["reply"] = wire.command({"hello": 1, "$db": "admin",
                                          "topologyVersion": hello["topologyVersion"],
                                          "maxAwaitTimeMS": 15000})
            woke["after"] = time.monotonic() - started

    thread = threading.Thread(target=awaiting)
    thread.start()
    time.sleep(0.3)
    new = _next(cli)
    new["term"] = 77  # the document's term is ignored: the node's term is used
    new["settings"]["electionTimeoutMillis"] = 5000
    assert _reconfig(cli, new)["ok"] == 1.0
    thread.join(10)
    assert not thread.is_alive()
    assert woke["after"] < 5, "an awaiting hello was not woken by the reconfig"
    assert woke["reply"]["setVersion"] == 2
    assert woke["reply"]["topologyVersion"]["counter"] > hello["topologyVersion"]["counter"]
    cfg = _config(cli)
    assert (cfg["version"], cfg["term"]) == (2, 1)
    assert cfg["settings"]["electionTimeoutMillis"] == 5000
    assert cfg["settings"]["replicaSetId"] == _config(cli)["settings"]["replicaSetId"]
    reply = cli.admin.command({"replSetGetConfig": 1, "commitmentStatus": True})
    assert reply["commitmentStatus"] is True
    # a reconfig writes a no-op to the oplog
    entry = cli.local.oplog.rs.find_one({"op": "n", "o.msg": "Reconfig set"})
    assert entry is not None and entry["o"]["version"] == 2


def test_reconfig_without_replica_set_id_keeps_it(rs):
    _node, cli = rs
    rsid = _config(cli)["settings"]["replicaSetId"]
    new = _next(cli)
    del new["settings"]["replicaSetId"]
    _reconfig(cli, new)
    assert _config(cli)["settings"]["replicaSetId"] == rsid


def test_new_members_are_newly_added_and_persist(rs):
    node, cli = rs
    first, second, third = _down(node), _down(node), _down(node)
    new = _next(cli)
    new["members"].append({"_id": 1, "host": first})
    _reconfig(cli, new)  # a down data-bearing voter: newlyAdded, so no quorum needed
    shown = _config(cli)
    assert [m["host"] for m in shown["members"]] == [node.address, first]
    assert "newlyAdded" not in shown["members"][1] and shown["members"][1]["votes"] == 1
    internal = _config(cli, **{"$_internalIncludeNewlyAdded": True})
    assert internal["members"][1]["newlyAdded"] is True
    assert "newlyAdded" not in internal["members"][0]
    hello = cli.admin.command("hello")
    assert hello["hosts"] == [node.address] and hello["passives"] == [first]
    status = cli.admin.command("replSetGetStatus")
    assert status["votingMembersCount"] == 1 and status["majorityVoteCount"] == 1
    # two new voters at once: both newlyAdded, so only non-voters are added
    new = _next(cli)
    new["members"] += [{"_id": 2, "host": second}, {"_id": 3, "host": third}]
    _reconfig(cli, new)
    internal = _config(cli, **{"$_internalIncludeNewlyAdded": True})
    assert [m.get("newlyAdded") for m in internal["members"]] == [None, True, True, True]
    assert cli.admin.command({"replSetGetConfig": 1, "commitmentStatus": True})[
        "commitmentStatus"] is True
    # a member that cannot sync stays newlyAdded through later reconfigs
    new = _next(cli)
    new["members"][1]["priority"] = 2
    _reconfig(cli, new)
    internal = _config(cli, **{"$_internalIncludeNewlyAdded": True})
    assert internal["members"][1]["newlyAdded"] is True
    assert internal["members"][1]["priority"] == 2
    version = internal["version"]
    # a host that stays keeps its _id
    new = _next(cli)
    new["members"][1]["_id"] = 9
    err = assert_fails(lambda: _reconfig(cli, new), 103, "NewReplicaSetConfigurationIncompatible")
    assert "_id field is 9 and in the old configuration it is 1" in str(err)
    # flipping buildIndexes of an existing member is refused
    new = _next(cli)
    new["members"][2].update({"buildIndexes": False, "priority": 0})
    err = assert_fails(lambda: _reconfig(cli, new), 103, "NewReplicaSetConfigurationIncompatible")
    assert "buildIndexes" in str(err)

    _restart(node)
    cli = node.client()
    _wait(lambda: _is_primary(cli), what="primary after restart")
    internal = _config(cli, **{"$_internalIncludeNewlyAdded": True})
    assert internal["version"] == version
    assert internal["term"] == 2  # the restarted member won an election in term 2
    assert [m.get("newlyAdded") for m in internal["members"]] == [None, True, True, True]
    assert cli.admin.command("hello")["setVersion"] == version


def test_at_most_one_voting_change(rs):
    node, cli = rs
    a, b = _down(node), _down(node)
    new = _next(cli)
    new["members"] += [{"_id": 1, "host": a, "votes": 0, "priority": 0},
                       {"_id": 2, "host": b, "votes": 0, "priority": 0}]
    _reconfig(cli, new)  # non-voters: no voting change, no quorum needed
    new = _next(cli)
    for member in new["members"][1:]:
        member["votes"] = 1
    err = assert_fails(lambda: _reconfig(cli, new), 103, "NewReplicaSetConfigurationIncompatible")
    assert "at most 1 voting member" in str(err)
    # one voting change passes validation, then the quorum check needs the (down) new voter
    new["members"][2]["votes"] = 0
    err = assert_fails(lambda: _reconfig(cli, new), 74, "NodeNotFound")
    assert "required 2 but only the following 1 voting nodes responded" in str(err)
    assert _config(cli)["members"][1]["votes"] == 0
    # non-force: this node must stay electable (findSelfInConfigIfElectable)
    new["members"][1].update({"votes": 1, "priority": 1})
    new["members"][0]["priority"] = 0
    err = assert_fails(lambda: _reconfig(cli, new), 104, "NodeNotElectable")
    assert f"This node, {node.address}, with _id 0 is not electable" in str(err)


def test_force_reconfig_version_jump_and_term(rs):
    _node, cli = rs
    before = _config(cli)
    new = _next(cli)
    new["version"] = 3
    assert _reconfig(cli, new, force=True)["ok"] == 1.0
    cfg = _config(cli)
    # version = max(old, new) + 10000 + random[0, 100000); term -1 is not serialized
    assert 3 + 10_000 <= cfg["version"] < 3 + 110_000
    assert "term" not in cfg
    assert cfg["settings"]["replicaSetId"] == before["settings"]["replicaSetId"]
    assert cli.admin.command("hello")["setVersion"] == cfg["version"]
    # only versions are compared against a forced config
    stale = copy.deepcopy(cfg)
    stale["version"] = 5
    err = assert_fails(lambda: _reconfig(cli, stale), 103,
                       "NewReplicaSetConfigurationIncompatible")
    assert "term: -1" in str(err)
    nxt = copy.deepcopy(cfg)
    nxt["version"] += 1
    _reconfig(cli, nxt)
    after = _config(cli)
    assert (after["version"], after["term"]) == (cfg["version"] + 1, 1)
    # a forced config still refuses user-supplied newlyAdded and a set name change
    bad = copy.deepcopy(after)
    bad["version"] += 1
    bad["members"].append({"_id": 1, "host": _down(_node), "newlyAdded": True})
    assert_fails(lambda: _reconfig(cli, bad, force=True), 93, "InvalidReplicaSetConfig")
    bad = copy.deepcopy(after)
    bad["_id"] = "renamed"
    assert_fails(lambda: _reconfig(cli, bad, force=True), 93, "InvalidReplicaSetConfig")


def test_force_reconfig_making_self_unelectable_steps_down(rs):
    node, cli = rs
    term = cli.admin.command("replSetGetStatus")["term"]
    other = _down(node)
    new = _next(cli)
    new["members"][0]["priority"] = 0
    new["members"].append({"_id": 1, "host": other})
    # non-force: this node must stay electable
    err = assert_fails(lambda: _reconfig(cli, new), 103, "NewReplicaSetConfigurationIncompatible")
    assert "at least one non-arbiter member with priority > 0" in str(err)
    _reconfig(cli, new, force=True)  # force: no newlyAdded, no quorum check
    hello = cli.admin.command("hello")
    assert hello["isWritablePrimary"] is False and hello["secondary"] is True
    assert hello["hosts"] == [other] and hello["passives"] == [node.address]
    internal = _config(cli, **{"$_internalIncludeNewlyAdded": True})
    assert "newlyAdded" not in internal["members"][1]
    _write_refused(cli)
    # non-force on a secondary
    back = copy.deepcopy(_config(cli))
    back["version"] += 1
    back["members"] = [dict(back["members"][0], priority=1)]
    _not_primary(lambda: _reconfig(cli, back), "should only be run on a writable PRIMARY")
    _not_primary(lambda: cli.admin.command({"replSetGetConfig": 1, "commitmentStatus": True}),
                 "commitmentStatus is only supported on primary")
    # force on the secondary: it is the only voter again and elects itself
    _reconfig(cli, back, force=True)
    _wait(lambda: _is_primary(cli), what="primary after force reconfig")
    assert cli.admin.command("replSetGetStatus")["term"] > term
    cli.db.c.insert_one({"x": 1})


def test_force_added_voter_that_is_down_costs_the_primary(rs):
    node, cli = rs
    new = _next(cli)
    new["settings"]["electionTimeoutMillis"] = 1500
    _reconfig(cli, new)
    new = _next(cli)
    new["members"].append({"_id": 1, "host": _down(node), "arbiterOnly": True})
    _reconfig(cli, new, force=True)
    # two voters, one down: the config is not committed, a safe reconfig waits for it
    assert cli.admin.command({"replSetGetConfig": 1, "commitmentStatus": True})[
        "commitmentStatus"] is False
    nxt = _next(cli)
    err = assert_fails(lambda: _reconfig(cli, nxt, maxTimeMS=100), 308,
                       "CurrentConfigNotCommittedYet")
    assert "has not yet propagated to a majority" in str(err)
    # it cannot see a majority: it steps down after electionTimeoutMillis
    _wait(lambda: cli.admin.command("hello")["secondary"], timeout=5, what="stepdown")
    assert cli.admin.command("replSetGetStatus")["myState"] == 2
    only = _next(cli)
    only["members"] = only["members"][:1]
    _reconfig(cli, only, force=True)
    _wait(lambda: _is_primary(cli), what="primary again")


# ------------------------------------------------------------------ replSetStepDown


def test_stepdown_without_electable_secondary(rs):
    _node, cli = rs
    for bad, code, name in (({"replSetStepDown": -1}, 2, "BadValue"),
                            ({"replSetStepDown": 1, "secondaryCatchUpPeriodSecs": 5}, 2,
                             "BadValue"),
                            ({"replSetStepDown": 5, "secondaryCatchUpPeriodSecs": -1}, 2,
                             "BadValue")):
        assert_fails(lambda: cli.admin.command(bad), code, name)
    err = assert_fails(lambda: cli.admin.command({"replSetStepDown": 5,
                                                  "secondaryCatchUpPeriodSecs": 0}),
                       262, "ExceededTimeLimit")
    assert "No electable secondaries caught up" in str(err)
    outcome: dict = {}

    def step_down():
        started = time.monotonic()
        try:
            cli.admin.command({"replSetStepDown": 4, "secondaryCatchUpPeriodSecs": 2})
        except OperationFailure as exc:
            outcome["code"] = exc.code
        outcome["after"] = time.monotonic() - started

    thread = threading.Thread(target=step_down)
    thread.start()
    # while it waits for a secondary to catch up, the primary accepts no writes
    _wait(lambda: not cli.admin.command("hello")["isWritablePrimary"], timeout=1.5,
          what="writes refused during the stepdown attempt")
    _write_refused(cli)
    thread.join(10)
    assert outcome["code"] == 262 and 1.9 <= outcome["after"] < 6, outcome
    assert _is_primary(cli)
    cli.db.c.insert_one({"still": "primary"})


def test_forced_stepdown_of_single_node_set(rs):
    _node, cli = rs
    before = cli.admin.command("hello")
    term = cli.admin.command("replSetGetStatus")["term"]
    assert cli.admin.command({"replSetStepDown": 1, "force": True})["ok"] == 1.0
    hello = cli.admin.command("hello")
    assert hello["isWritablePrimary"] is False and hello["secondary"] is True
    assert "electionId" not in hello
    _write_refused(cli)
    _not_primary(lambda: cli.admin.command({"replSetStepDown": 1, "force": True}),
                 "not primary so can't step down")
    # the stepdown period ends and the only member elects itself again
    _wait(lambda: _is_primary(cli), timeout=5, what="primary after stepdown period")
    after = cli.admin.command("hello")
    assert after["electionId"] != before["electionId"]
    assert cli.admin.command("replSetGetStatus")["term"] == term + 1
    assert _config(cli)["term"] == term + 1
    cli.db.c.insert_one({"x": 1})


# ------------------------------------------------------------------ replSetResizeOplog


def test_resize_oplog_requires_an_oplog(emu_factory):
    standalone = emu_factory().client()
    assert_fails(lambda: standalone.admin.command({"replSetResizeOplog": 1, "size": 990.0}),
                 26, "NamespaceNotFound")


def test_resize_oplog_arguments(shared_rs):
    _node, cli = shared_rs
    for bad, code, name in (({"size": 989.0}, 51024, "Location51024"),
                            ({"size": 1073741825.0}, 51024, "Location51024"),
                            ({"size": 1000}, 14, "TypeMismatch"),
                            ({"minRetentionHours": -1.0}, 51024, "Location51024"),
                            ({"minRetentionHours": "1"}, 14, "TypeMismatch")):
        assert_fails(lambda: cli.admin.command({"replSetResizeOplog": 1, **bad}), code, name)


def test_resize_oplog_size_and_retention(emu_factory):
    node = emu_factory("--replSet", SET, "--oplogSize", "1")
    cli = _initiate(node)
    one_mb = 1024 * 1024
    assert cli.local.command("collStats", "oplog.rs")["maxSize"] == one_mb
    assert "oplogMinRetentionHours" not in cli.admin.command("serverStatus")["oplogTruncation"]
    cli.admin.command({"replSetResizeOplog": 1, "minRetentionHours": 1.0})
    assert cli.admin.command("serverStatus")["oplogTruncation"]["oplogMinRetentionHours"] == 1.0
    first = cli.local.oplog.rs.find_one(sort=[("$natural", 1)])
    blob = "x" * 60_000
    cli.big.c.insert_many([{"i": i, "blob": blob} for i in range(30)])
    stats = cli.local.command("collStats", "oplog.rs")
    assert stats["size"] > one_mb, "minRetentionHours did not keep the oplog past its size"
    assert cli.local.oplog.rs.find_one(sort=[("$natural", 1)]) == first
    # retention off: the oldest entries beyond the size go at once
    cli.admin.command({"replSetResizeOplog": 1, "minRetentionHours": 0.0})
    stats = cli.local.command("collStats", "oplog.rs")
    assert stats["size"] <= one_mb
    assert cli.local.oplog.rs.find_one(sort=[("$natural", 1)]) != first
    assert cli.local.oplog.rs.count_documents({"ns": "big.c"}) < 30
    assert "oplogMinRetentionHours" not in cli.admin.command("serverStatus")["oplogTruncation"]
    # size: MB, a double; it persists with the collection
    cli.admin.command({"replSetResizeOplog": 1, "size": 990.0})
    assert cli.local.command("collStats", "oplog.rs")["maxSize"] == 990 * one_mb
    _restart(node)
    cli = node.client()
    _wait(lambda: _is_primary(cli), what="primary after restart")
    assert cli.local.command("collStats", "oplog.rs")["maxSize"] == 990 * one_mb
