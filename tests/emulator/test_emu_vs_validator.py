"""Differential test: mongoemu's replSetReconfig against the collection's validator.

One mongoemu member (``--replSet rsd``) is initiated as a one-member set. Hypothesis
generates reconfig documents that one process can decide on: this member (its real host,
``_id`` 0) is always present, the other members name loopback ports nobody listens on and
are mostly non-voters. Each document is sent as a non-force ``replSetReconfig`` and
checked with ``validate_config(config, current=<replSetGetConfig>, target_version="7.0")``.

The validator does not know which host is "self" nor which hosts answer heartbeats, so a
refusal that mongod only gives *after* validateConfigForReconfig passed (this node not
found / not electable, code 74 / 104, or the quorum check, code 74) counts as "the config
passed validation": the validator must then say valid. Otherwise the emulator must accept
exactly when the validator says valid. Only acceptance is compared, not codes (mongod wraps
parse errors as 93 and validateConfigForReconfig failures as 103; the validator reports the
rule's own code).

Not compared: ``configsvr: true`` (a member started without --configsvr refuses it, which
the validator cannot know), and the 5.0+ refusal of a reconfig that changes the implicit
default write concern (mongoemu does not implement it yet: adding an arbiter to this set
ends at the quorum check instead; the validator only warns, as it cannot know whether a
cluster-wide default was set).

The validator bugs this test found (fixed in plugins/module_utils/validation.py and
replset_model.py): the voter and electable counts now see the newlyAdded mongod adds before
validate(); the buildIndexes/arbiterOnly flip check compares every member with the same _id;
Decimal128 numbers are read as numbers; a priority of NaN is out of range (51024).

Run with more examples locally: DIFF_EXAMPLES=1500 .venv/bin/pytest -q tests/emulator/test_emu_vs_validator.py
"""

from __future__ import annotations

import copy
import os
import sys
import time

import pytest
from bson import Decimal128, Int64, ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.errors import OperationFailure

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "collections"))
sys.path.insert(0, "/work/main/.venv/collections")
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config  # noqa: E402

pytestmark = pytest.mark.emulator

SET = "rsd"
EXAMPLES = int(os.environ.get("DIFF_EXAMPLES", "150"))
DOWN_HOSTS = [f"127.0.0.1:{port}" for port in range(1, 6)]


def _wait(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def primary(module_emu_factory):
    # enableTestCommands: replSetGetConfig $_internalIncludeNewlyAdded shows the newlyAdded flags
    node = module_emu_factory("--replSet", SET, "--setParameter", "enableTestCommands=1", name="diff_rs")
    cli = node.client()
    cli.admin.command({"replSetInitiate": {"_id": SET, "members": [{"_id": 0, "host": node.address}]}})
    _wait(lambda: cli.admin.command("hello").get("isWritablePrimary"))
    return node, cli


def _live(cli) -> dict:
    return cli.admin.command({"replSetGetConfig": 1})["config"]


_BASELINE = {"version": None}


def _reset(cli, address: str) -> None:
    """Back to the one-member baseline with a higher version (replicaSetId is kept), unless
    the live config is still the baseline (every refused reconfig leaves it untouched)."""
    live = _live(cli)
    if live["version"] == _BASELINE["version"]:
        return
    cli.admin.command({"replSetReconfig": {"_id": SET, "version": live["version"] + 1,
                                           "members": [{"_id": 0, "host": address}]},
                       "maxTimeMS": 10000})
    _wait(lambda: cli.admin.command("hello").get("isWritablePrimary"))
    _BASELINE["version"] = live["version"] + 1


# ---------------------------------------------------------------- strategies

# A document is built from mostly valid values, then 0 to 2 "mutations" set one field to a
# value drawn from a wide pool (wrong types, out-of-range numbers, unknown fields), so each
# refusal usually has a single cause and the rules are exercised one at a time.

VALID_MEMBER = {
    "votes": [0, 1, 0.0, 1.0],
    "priority": [0, 0.5, 1, 2, 1000, 0.0],
    "hidden": [True, False],
    "arbiterOnly": [False, False, True],
    "buildIndexes": [True, True, False],
    "secondaryDelaySecs": [0, 10, 3600, 31622400],
    "tags": [{}, {"dc": "a"}, {"dc": "b"}, {"dc": "a", "rack": "r1"}, {"rack": "r2"}, {"zone": "z"}],
}
WIDE_MEMBER = {
    "_id": [0, 1, 2, 3, 7, 255, 256, 1000, -1, 1.0, 1.5, 2.7, -0.5, -1.5, "1", None, True, 2 ** 31, 2 ** 40,
            Int64(3)],
    "host": DOWN_HOSTS[:2] + ["127.0.0.1", "otherhost:27017", "localhost:1", "127.0.0.1:0", "127.0.0.1:65535",
                              "127.0.0.1:65536", "127.0.0.1:x", "", " 127.0.0.1:3 ", 5, None],
    "votes": [0, 1, 2, -1, 0.5, 1.9, 0.9, -0.5, True, False, "1", None, 2 ** 40, Int64(1), Decimal128("1")],
    "priority": [0, 1, 0.5, 1000, 1000.5, 1001, -1, -0.1, "1", True, None, 1e308, Int64(2), float("nan"),
                 Decimal128("2")],
    "hidden": [True, False, 0, 1, 0.5, "x", None],
    "arbiterOnly": [True, False, 0, 1, "x", None],
    "buildIndexes": [True, False, 0, 1, "x", None],
    "secondaryDelaySecs": [0, 10, -1, 31622401, 1.5, "5", None, 2 ** 40],
    "tags": [{}, {"dc": "a"}, {"dc": 1}, {"dc": None}, {"dc": ""}, [], "dc", None],
    "slaveDelay": [0, 5],
    "newlyAdded": [True, False],
    "horizons": [{}, {"h": "h1.example.net:1"}, {"__default": "h.example.net:1"}, {"": "h.example.net:1"},
                 {"h": "10.1.2.3:1"}, {"h": "h1.example.net:1", "g": "h1.example.net:2"}, {"h": 5}],
    "foo": [1],
}
WIDE_TOP = {
    "_id": [SET, "other", "", 1, None],
    "protocolVersion": [1, 0, 2, 1.0, "1", None],
    "writeConcernMajorityJournalDefault": [True, False, 1, "x"],
    "term": [-1, 0, 99, -2, 2 ** 31, 1.5, "1"],
    "foo": [1],
    "repaired": [True, False],
    "configsvr": [False, True],
    "members": [[], {}, "x", [1], None],
    "settings": [{}, [], "x", None],
}
VALID_SETTINGS = {
    "heartbeatIntervalMillis": [1, 2000, 2000.0],
    "heartbeatTimeoutSecs": [1, 10],
    "electionTimeoutMillis": [1, 10000],
    "catchUpTimeoutMillis": [-1, 0, 5],
    "catchUpTakeoverDelayMillis": [-1, 0, 30000],
    "chainingAllowed": [True, False],
    "getLastErrorModes": [{}, {"m": {"dc": 1}}, {"m": {"dc": 2}}, {"m": {"rack": 1}, "n": {"dc": 1, "zone": 1}}],
    "getLastErrorDefaults": [{"w": 1, "wtimeout": 0}, {"w": 1}],
    "replicaSetId": ["CURRENT"],
}
WIDE_SETTINGS = {
    "heartbeatIntervalMillis": [1, 2000, 0, -1, 1.5, 2000.0, "x", None, 2 ** 40],
    "heartbeatTimeoutSecs": [1, 10, 0, -1, 1.5, "x", None],
    "electionTimeoutMillis": [1, 10000, 0, -1, 1.5, "x", None],
    "catchUpTimeoutMillis": [-1, 0, 5, -2, 1.5, "x", None],
    "catchUpTakeoverDelayMillis": [-1, 0, 30000, -2, 1.5, "x"],
    "chainingAllowed": [True, False, 1, "x", None],
    "getLastErrorModes": [{}, [], "x", None, {"m": "x"}, {"m": {}}, {"m": {"dc": 1}}, {"m": {"dc": 3}},
                          {"m": {"dc": 0}}, {"m": {"dc": -1}}, {"m": {"dc": 0.5}}, {"m": {"dc": 1.5}},
                          {"m": {"dc": "1"}}, {"m": {"dc": None}}, {"m": {"nosuchtag": 1}},
                          {"m": {"dc": 1, "rack": 1}}, {"m": {"dc": 1}, "n": {"rack": 2}}],
    "getLastErrorDefaults": [{"w": 1, "wtimeout": 0}, {"w": 1}, {}, {"w": 2}, {"w": 0}, {"w": "majority"},
                             {"w": 1, "j": True}, {"w": 1, "wtimeout": 5}, {"w": "m"}, "x", None],
    "replicaSetId": ["CURRENT", ObjectId("0" * 24), ObjectId("5f0000000000000000000001"), "x", None],
    "someUnknownSetting": [1],
}


@st.composite
def _valid_member(draw, member_id, host: str, voter: bool) -> dict:
    m = {"_id": member_id, "host": host}
    for name, pool in VALID_MEMBER.items():
        if draw(st.integers(0, 3)) == 0:
            m[name] = draw(st.sampled_from(pool))
    if not voter:  # what a down host can be without a quorum check: a non-voter
        m["votes"], m["priority"] = 0, 0
        m.pop("arbiterOnly", None)
    elif m.get("arbiterOnly"):
        m["priority"] = 0
        m.pop("tags", None)
    return m


@st.composite
def _base_doc(draw, address: str) -> dict:
    """A valid document: this member plus 0-4 members on down hosts (non-voters, or data
    voters that the server marks newlyAdded, or arbiters that fail the quorum check)."""
    members = [{"_id": 0, "host": address}]
    ids = draw(st.lists(st.integers(1, 9), unique=True, max_size=4))
    for i, member_id in enumerate(ids):
        voter = draw(st.integers(0, 7)) == 0  # mostly non-voters: nothing to ask a down host
        members.append(draw(_valid_member(member_id, DOWN_HOSTS[i], voter)))
    if draw(st.integers(0, 3)) == 0:
        members = draw(st.permutations(members))
    doc = {"_id": SET, "version": _Rel(1), "members": members}
    if draw(st.integers(0, 2)) == 0:
        s = {}
        for name, pool in VALID_SETTINGS.items():
            if draw(st.integers(0, 3)) == 0:
                s[name] = draw(st.sampled_from(pool))
        doc["settings"] = s
    return doc


def _me(doc: dict, address: str) -> dict:
    return next(m for m in doc["members"] if isinstance(m, dict) and m.get("host") == address and m.get("_id") == 0)


@st.composite
def _transition(draw, doc: dict, address: str) -> None:
    """Changes that matter against a live config with the same members: renumber a host,
    move a host to another _id, flip buildIndexes / arbiterOnly, give or take votes, add or
    remove members."""
    others = [m for m in doc["members"] if m.get("_id") != 0]
    kind = draw(st.sampled_from(["swap_hosts", "renumber", "flip_build", "flip_arbiter", "votes_on",
                                 "votes_off", "remove", "add_voter", "add_two_voters", "add_arbiter",
                                 "replace_with_arbiter"]))
    free = [h for h in DOWN_HOSTS if h not in {m.get("host") for m in doc["members"]}]
    if kind == "swap_hosts" and len(others) >= 2:
        a, b = draw(st.permutations(others))[:2]
        a["host"], b["host"] = b["host"], a["host"]
    elif kind == "renumber" and others:
        target = draw(st.sampled_from(others))
        target["_id"] = draw(st.sampled_from([10, 11] + [m["_id"] for m in others]))
    elif kind == "flip_build" and others:
        target = draw(st.sampled_from(others))
        target["buildIndexes"] = not target.get("buildIndexes", True)
        target["priority"] = 0
    elif kind == "flip_arbiter" and others:
        target = draw(st.sampled_from(others))
        target["arbiterOnly"] = not target.get("arbiterOnly", False)
        target.update({"votes": 1, "priority": 0})
        target.pop("tags", None)
    elif kind == "votes_on" and others:
        target = draw(st.sampled_from(others))
        target["votes"] = 1
        target["priority"] = draw(st.sampled_from([0, 1]))
    elif kind == "votes_off":
        target = draw(st.sampled_from(doc["members"]))
        target.update({"votes": 0, "priority": 0})
    elif kind == "remove" and others:
        doc["members"].remove(draw(st.sampled_from(others)))
    elif kind == "replace_with_arbiter" and others and free:
        doc["members"].remove(draw(st.sampled_from(others)))
        doc["members"].append({"_id": 12, "host": free[0], "arbiterOnly": True})
    elif kind in ("add_voter", "add_two_voters", "add_arbiter") and free:
        count = 2 if kind == "add_two_voters" else 1
        for host, member_id in zip(free[:count], (12, 13)):
            member = {"_id": member_id, "host": host}
            if kind == "add_arbiter":
                member["arbiterOnly"] = True
            doc["members"].append(member)


@st.composite
def _mutate(draw, doc: dict, address: str) -> None:
    """Set 0 to 2 fields to values from the wide pools."""
    members = doc["members"]
    me = _me(doc, address)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 2]))):
        where = draw(st.sampled_from(["member"] * 6 + ["me", "top", "settings"] + ["settings_mode", "version"]))
        if where in ("member", "me"):
            target = me if where == "me" or len(members) == 1 else draw(st.sampled_from(members))
            name = draw(st.sampled_from(sorted(WIDE_MEMBER)))
            if target is me and name in ("_id", "host"):
                continue  # this member keeps its _id and host
            value = draw(st.sampled_from(WIDE_MEMBER[name]))
            if name == "host" and value in (5, None) and draw(st.booleans()):
                del target["host"]
            elif name == "host" and draw(st.integers(0, 3)) == 0:
                target["host"] = address  # a duplicate of this member's host
            else:
                target[name] = value
        elif where == "version":
            version = draw(st.sampled_from([_Rel(2), _Rel(0), _Rel(-1), _Rel(1, float), _Rel(1.5), _Rel(1, str), _Rel(1, Int64),
                                            0, -1, 2 ** 31, 2 ** 40, None]))
            if version is None:
                doc.pop("version", None)
            else:
                doc["version"] = version
        elif where == "top":
            name = draw(st.sampled_from(sorted(WIDE_TOP)))
            doc[name] = draw(st.sampled_from(WIDE_TOP[name]))
        else:
            if not isinstance(doc.get("settings"), dict):
                doc["settings"] = {}
            name = "getLastErrorModes" if where == "settings_mode" else draw(st.sampled_from(sorted(WIDE_SETTINGS)))
            doc["settings"][name] = draw(st.sampled_from(WIDE_SETTINGS[name]))


@st.composite
def scenario(draw, address: str):
    """(setup, config): an optional valid reconfig applied first (so the live config has
    other members), then the config under test, derived from it."""
    setup = None
    if draw(st.integers(0, 2)) == 0:
        setup = draw(_base_doc(address))
        setup["members"] = [m for m in setup["members"] if m.get("_id") == 0 or m.get("votes") == 0
                            or not m.get("arbiterOnly")]  # no arbiter: it would fail the quorum check
        doc = copy.deepcopy(setup)
        draw(_transition(doc, address))
    else:
        doc = draw(_base_doc(address))
    draw(_mutate(doc, address))
    return setup, doc


class _Rel:
    """The live config's version plus `delta`, converted by `kind`."""

    def __init__(self, delta, kind=None) -> None:
        self.delta, self.kind = delta, kind

    def __repr__(self) -> str:
        return f"<current version + {self.delta}{' as ' + self.kind.__name__ if self.kind else ''}>"

    def value(self, current: int):
        v = current + self.delta
        return self.kind(v) if self.kind else v


def _resolve(doc: dict, current: dict) -> dict:
    doc = copy.deepcopy(doc)
    if isinstance(doc.get("version"), _Rel):
        doc["version"] = doc["version"].value(int(current["version"]))
    settings_ = doc.get("settings")
    if isinstance(settings_, dict) and settings_.get("replicaSetId") == "CURRENT":
        settings_["replicaSetId"] = current["settings"]["replicaSetId"]
    return doc


# ---------------------------------------------------------------- the comparison

# Refusals mongod gives only after validateConfigForReconfig passed, which depend on which
# host is this node or which hosts answer: not something a config validator can know.
def _post_validation_refusal(exc: OperationFailure) -> bool:
    msg = exc.details.get("errmsg", "")
    if exc.code == 74 and ("quorum check" in msg.lower() or "maps to this node" in msg):
        return True
    return exc.code == 104  # NodeNotElectable


def _outcome(cli, doc) -> tuple[bool, object]:
    """(passed validation, detail)."""
    try:
        cli.admin.command({"replSetReconfig": doc, "maxTimeMS": 10000})
    except OperationFailure as exc:
        if _post_validation_refusal(exc):
            return True, exc.details
        return False, exc.details
    return True, "accepted"


def test_reconfig_acceptance_matches_validator(primary):
    node, cli = primary
    _reset(cli, node.address)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(scenario(node.address))
    def check(case):
        setup, doc = case
        compare(cli, node.address, setup, doc)

    check()


def compare(cli, address: str, setup, doc) -> None:
    _reset(cli, address)
    if setup is not None:
        try:
            cli.admin.command({"replSetReconfig": _resolve(setup, _live(cli)), "maxTimeMS": 10000})
        except OperationFailure:
            return  # e.g. the quorum check for a new voter: nothing to compare against
    current = _live(cli)
    doc = _resolve(doc, current)
    if doc.get("configsvr") is True:
        # the validator cannot know the node's cluster role; a replica set member started
        # without --configsvr refuses configsvr: true (ReplSetConfig::validate)
        return
    live = cli.admin.command({"replSetGetConfig": 1, "$_internalIncludeNewlyAdded": True})["config"]
    result = validate_config(copy.deepcopy(doc), current=current, target_version="7.0")
    if live != current and validate_config(copy.deepcopy(doc), current=live, target_version="7.0").valid != result.valid:
        # Not a validator bug but a limit of its input: replSetGetConfig (like mongod's) hides
        # newlyAdded, so the validator counts a member still newlyAdded as a voter, e.g. in
        # "remove that member and add an arbiter" (2 voting changes for it, 1 for mongod).
        # Given the config with newlyAdded it agrees; such cases are skipped.
        return
    passed, detail = _outcome(cli, copy.deepcopy(doc))
    assert passed == result.valid, (
        f"emulator {'passed' if passed else 'refused'}: {detail}\n"
        f"validator valid={result.valid}: {[str(e) for e in result.errors]}\n"
        f"current: {current}\nconfig: {doc}")
