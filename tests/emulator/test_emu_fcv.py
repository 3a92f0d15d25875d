"""mongoemu plays more than one release: the release comes from MONGOEMU_VERSION (as the field
lab's packages set it in /usr/bin/mongod), the feature compatibility version (FCV) lives in
admin.system.version, and setFeatureCompatibilityVersion, startup and mixed-version sets follow
mongod 7.0 / 8.0. Driven only through the command line, the environment and pymongo.

Sources per rule (mongodb/mongo unless noted):
* release and wire version: src/mongo/db/wire_version.h (7.0 -> 21, 8.0 -> 25);
* a new standalone / a new set gets the latest FCV, an FCV change replicates:
  jstests/multiVersion/genericSetFCVUsage/set_feature_compatibility_version.js;
* setFeatureCompatibilityVersion: set_feature_compatibility_version_command.cpp (confirm,
  7369100; never on a secondary), feature_compatibility_version.cpp FCVTransitions (5147403),
  feature_compatibility_version_parser.cpp (4926900);
* startup: FeatureCompatibilityVersion::initializeForStartup ("UPGRADE PROBLEM", 20573,
  exit 62 = EXIT_NEED_UPGRADE);
* an older binary is cut off once the FCV moves past it: wire_version.cpp validateWireVersion,
  FeatureCompatibilityVersion::updateMinWireVersion, and
  jstests/multiVersion/genericSetFCVUsage/feature_compatibility_version_lagging_secondary.js
  ("the downgrade secondary will no longer be able to communicate with the rest of the set").
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import WriteConcern
from pymongo.errors import NotPrimaryError, OperationFailure, WriteError

from emuharness import STARTED_PIDS, poll_until, run_cli
from mongoemu.cluster import Member, MemberSpec, ReplicaSetCluster

pytestmark = pytest.mark.emulator

V70, V80 = "7.0.14", "8.0.4"
#: fast heartbeats and elections (test_emu_replset_multi.py's settings)
SETTINGS = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200,
            "chainingAllowed": False}


@contextlib.contextmanager
def playing(version: str) -> Iterator[None]:
    """Processes started inside run as this release (the lab's /usr/bin/mongod exports it)."""
    before = os.environ.get("MONGOEMU_VERSION")
    os.environ["MONGOEMU_VERSION"] = version
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MONGOEMU_VERSION", None)
        else:
            os.environ["MONGOEMU_VERSION"] = before


def _record_pid(member: Member) -> None:
    STARTED_PIDS.add(member.pid)


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator:
    made: list[ReplicaSetCluster] = []

    def make(specs: list[MemberSpec], name: str) -> ReplicaSetCluster:
        cluster = ReplicaSetCluster(specs, set_name=name, root=tmp_path / name,
                                    settings=SETTINGS, on_start=_record_pid)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def _fcv(client) -> dict:
    return client.admin.command("getParameter", 1, featureCompatibilityVersion=1)[
        "featureCompatibilityVersion"]


def _fails(call, code: int) -> str:
    with pytest.raises(OperationFailure) as err:
        call()
    assert err.value.code == code, err.value.details
    return err.value.details["errmsg"]


# -- the release --------------------------------------------------------------------------------


@pytest.mark.parametrize("version,wire", [(V70, 21), (V80, 25)])
def test_the_release_comes_from_the_environment(emu_factory, version, wire):
    with playing(version):
        out = run_cli("--version")
        emu = emu_factory()
    assert out.stdout.startswith(f"db version v{version}\n")
    admin = emu.client().admin
    info = admin.command("buildInfo")
    assert info["version"] == version
    assert info["versionArray"] == [int(p) for p in version.split(".")] + [0]
    assert admin.command("serverStatus")["version"] == version
    assert admin.command("hello")["maxWireVersion"] == wire
    # a new standalone starts at its binary's latest FCV (set_feature_compatibility_version.js)
    assert _fcv(emu.client()) == {"version": version[:3]}


def test_an_unsupported_release_is_refused(emu_factory):
    with playing("9.9.1"):
        out = run_cli("--version")
        emu = emu_factory(start=False)
        proc = emu.start(check=False)
    assert out.returncode == 2 and "MONGOEMU_VERSION='9.9.1'" in out.stderr
    assert proc.returncode != 0 and "is not a release mongoemu can play" in \
        proc.stdout + proc.stderr + emu.logpath.read_text()


# -- setFeatureCompatibilityVersion -------------------------------------------------------------


def test_set_fcv_rules_of_an_8_0_binary(emu_factory):
    with playing(V80):
        emu = emu_factory()
    admin = emu.client().admin
    # 'confirm: true' is required from 7.0 on, for an upgrade, a downgrade, even a no-op
    msg = _fails(lambda: admin.command({"setFeatureCompatibilityVersion": "7.0"}), 7369100)
    assert msg.startswith("Once you have downgraded the FCV, if you choose to downgrade the "
                          "binary version, it will require support assistance.")
    _fails(lambda: admin.command({"setFeatureCompatibilityVersion": "8.0"}), 7369100)
    # only the binary's FCVs: last-LTS, last-continuous, latest
    msg = _fails(lambda: admin.command({"setFeatureCompatibilityVersion": "6.0",
                                        "confirm": True}), 4926900)
    assert msg == ("Invalid feature compatibility version value '6.0'; expected '7.0' or '7.3' "
                   "or '8.0'. See https://docs.mongodb.com/master/release-notes/"
                   "7.0-compatibility/#feature-compatibility.")
    # last-continuous is for config servers only (FCVTransitions)
    msg = _fails(lambda: admin.command({"setFeatureCompatibilityVersion": "7.3",
                                        "confirm": True}), 5147403)
    assert msg == "cannot set featureCompatibilityVersion to '7.3' while " \
                  "featureCompatibilityVersion is '8.0'"
    _fails(lambda: admin.command({"setFeatureCompatibilityVersion": "8.0", "confirm": True,
                                  "unknown": 1}), 40415)
    _fails(lambda: admin.command({"setFeatureCompatibilityVersion": 8, "confirm": True}), 14)
    # downgrade to last-LTS and back up, each acknowledged
    assert admin.command({"setFeatureCompatibilityVersion": "7.0", "confirm": True})["ok"] == 1
    assert _fcv(emu.client()) == {"version": "7.0"}
    msg = _fails(lambda: admin.command({"setFeatureCompatibilityVersion": "8.0"}), 7369100)
    assert msg.startswith("Once you have upgraded to 8.0, you will not be able to downgrade FCV "
                          "and binary version without support assistance.")
    assert admin.command({"setFeatureCompatibilityVersion": "8.0", "confirm": True})["ok"] == 1
    assert admin["system.version"].find_one({"_id": "featureCompatibilityVersion"}) == \
        {"_id": "featureCompatibilityVersion", "version": "8.0"}
    # FcvOpObserver::onDelete: the document cannot be removed
    with pytest.raises(WriteError) as err:
        admin["system.version"].delete_one({"_id": "featureCompatibilityVersion"})
    assert err.value.code == 40670


# -- startup ------------------------------------------------------------------------------------


def _refused(emu, version: str) -> str:
    with playing(version):
        proc = emu.start(check=False)
    assert proc.returncode == 62, emu.describe(proc)  # EXIT_NEED_UPGRADE
    fatal = [line for line in emu.log_lines() if '"id":20573' in line]
    assert fatal and '"msg":"Wrong mongod version"' in fatal[-1]
    return fatal[-1]


def test_startup_refused_on_an_fcv_too_old_or_too_new(emu_factory):
    with playing(V70):
        emu = emu_factory()
    admin = emu.client().admin
    admin.command({"setFeatureCompatibilityVersion": "6.0", "confirm": True})
    emu.client().test.docs.insert_one({"kept": True})
    emu.stop()
    # an 8.0 binary on data at FCV 6.0: two releases back
    line = _refused(emu, V80)
    assert ("UPGRADE PROBLEM: Found an invalid featureCompatibilityVersion document (ERROR: "
            "Location4926900: Invalid featureCompatibilityVersion document in "
            'admin.system.version: { _id: \\"featureCompatibilityVersion\\", version: '
            '\\"6.0\\" }. See https://docs.mongodb.com/master/release-notes/7.0-compatibility/'
            "#feature-compatibility. :: caused by :: Invalid feature compatibility version value "
            "'6.0'; expected '7.0' or '7.3' or '8.0'. See https://docs.mongodb.com/master/"
            "release-notes/7.0-compatibility/#feature-compatibility.). If the current "
            "featureCompatibilityVersion is below 7.0, see the documentation on upgrading at "
            "https://docs.mongodb.com/master/release-notes/7.0/#upgrade-procedures.") in line
    # back on 7.0, up to 7.0, then 8.0 starts and the FCV stays 7.0 until raised
    with playing(V70):
        emu.start()
    emu.client().admin.command({"setFeatureCompatibilityVersion": "7.0", "confirm": True})
    emu.stop()
    with playing(V80):
        emu.start()
    assert _fcv(emu.client()) == {"version": "7.0"}
    emu.client().admin.command({"setFeatureCompatibilityVersion": "8.0", "confirm": True})
    emu.stop()
    # a 7.0 binary on data at FCV 8.0
    line = _refused(emu, V70)
    assert "Invalid feature compatibility version value '8.0'; expected '6.0' or '6.3' or " \
           "'7.0'" in line
    with playing(V80):
        emu.start()
    assert emu.client().test.docs.find_one({}, {"_id": 0}) == {"kept": True}


# -- replica sets -------------------------------------------------------------------------------


def test_rolling_upgrade_of_a_mixed_set_then_fcv(cluster_factory):
    """7.0 set -> secondary on 8.0 (mixed, FCV 7.0: replication, reconfig, election) ->
    the old primary on 8.0 -> FCV 8.0 on both."""
    cluster = cluster_factory([MemberSpec(), MemberSpec()], "mixed")
    with playing(V70):
        cluster.start()
    first, second = cluster.members
    primary = cluster.wait_for_primary()
    assert primary is first
    with cluster.client(first) as cli:
        assert _fcv(cli) == {"version": "7.0"}  # a new set: the latest FCV of its binary
        cli.test.docs.insert_one({"n": 1})
    with playing(V80):
        cluster.restart(second)
    cluster.wait_member_state(second, ["SECONDARY", "PRIMARY"], 20)
    # a two-member set loses its primary while one member restarts: find it again
    primary = cluster.wait_for_primary()
    with cluster.client(primary) as cli:
        cli.get_database("test", write_concern=WriteConcern(w=2, wtimeout=10000)).docs \
            .insert_one({"n": 2})
        # a reconfig while the set is mixed
        config = cli.admin.command("replSetGetConfig")["config"]
        config["version"] += 1
        config["members"][1]["tags"] = {"release": "8.0"}
        cli.admin.command({"replSetReconfig": config})
        if primary is first:
            # the planned stepdown: the 8.0 member wins the election (handoff across releases)
            cli.admin.command({"replSetStepDown": 60, "secondaryCatchUpPeriodSecs": 10})
    poll_until(lambda: cluster.primary() == second.address, 20, "the 8.0 member to be primary")
    with cluster.client(second) as cli:
        assert cli.admin.command("buildInfo")["version"] == V80
        assert _fcv(cli) == {"version": "7.0"}
        assert cli.test.docs.count_documents({}) == 2
    with playing(V80):
        cluster.restart(first)
    cluster.wait_member_state(first, ["SECONDARY", "PRIMARY"], 20)
    primary = cluster.wait_for_primary()
    other = second if primary is first else first
    with cluster.client(primary) as cli:
        reply = cli.admin.command({"setFeatureCompatibilityVersion": "8.0", "confirm": True})
        assert reply["ok"] == 1
        assert _fcv(cli) == {"version": "8.0"}
    # the FCV document replicates (it is a write to admin.system.version in the oplog)
    with cluster.client(other) as cli:
        poll_until(lambda: _fcv(cli) == {"version": "8.0"}, 10, "FCV 8.0 on the secondary")
        with pytest.raises(NotPrimaryError) as err:  # never on a secondary
            cli.admin.command({"setFeatureCompatibilityVersion": "7.0", "confirm": True})
        assert err.value.details["code"] == 10107


def test_fcv_upgrade_cuts_off_an_older_member(cluster_factory):
    """An 8.0 primary raising the FCV while its secondary still runs 7.0: the FCV enters the
    upgrading state, the 7.0 member can no longer talk to the set (wire versions), the
    majority write times out (64) and leaves the FCV upgrading; once that member runs 8.0 the
    same command completes the upgrade (set_feature_compatibility_version.js, "Because the
    failed upgrade command left the primary in an intermediary state, complete the upgrade")."""
    cluster = cluster_factory([MemberSpec(), MemberSpec(priority=2)], "cutoff")
    old, new = cluster.members
    with playing(V70):
        cluster.start_members([old])
    with playing(V80):
        cluster.start_members([new])
    with cluster.client(new) as cli:  # FCV unknown until initiate (getParameter's uassert)
        _fails(lambda: _fcv(cli), 258)
    cluster.initiate()  # on the 7.0 member: the set starts at FCV 7.0
    poll_until(lambda: cluster.primary() == new.address, 20, "the 8.0 member to be primary")
    with cluster.client(new) as cli:
        assert _fcv(cli) == {"version": "7.0"}
        cli.test.docs.insert_one({"before": True})
        # a long election timeout, so that the primary, which loses sight of the 7.0 member,
        # does not step down while the test looks at it
        config = cli.admin.command("replSetGetConfig")["config"]
        config["version"] += 1
        config["settings"]["electionTimeoutMillis"] = 60000
        cli.admin.command({"replSetReconfig": config})
        upgrade = {"setFeatureCompatibilityVersion": "8.0", "confirm": True,
                   "writeConcern": {"wtimeout": 1000}}
        _fails(lambda: cli.admin.command(upgrade), 64)
        assert _fcv(cli) == {"version": "7.0", "targetVersion": "8.0"}

        def cut_off() -> str:
            member = cli.admin.command("replSetGetStatus")["members"][0]
            message = member.get("lastHeartbeatMessage", "")
            return member["health"] == 0 and "IncompatibleServerVersion" in message and message
        poll_until(cut_off, 10, "the primary to lose the 7.0 member")
    with cluster.client(old) as cli:
        assert _fcv(cli) == {"version": "7.0"}  # it never received the transition
    with playing(V80):
        cluster.restart(old)
    cluster.wait_member_state(old, ["SECONDARY"], 20)
    with cluster.client(new) as cli:
        assert cli.admin.command(upgrade)["ok"] == 1
        assert _fcv(cli) == {"version": "8.0"}
    with cluster.client(old) as cli:
        poll_until(lambda: _fcv(cli) == {"version": "8.0"}, 10, "FCV 8.0 on the secondary")
    # a downgrade that does not reach the majority stays "downgrading"; from there only the
    # downgrade's target or latest are allowed (FCVTransitions)
    cluster.stop_member(old)
    with cluster.client(new) as cli:
        _fails(lambda: cli.admin.command({"setFeatureCompatibilityVersion": "7.0",
                                          "confirm": True, "writeConcern": {"wtimeout": 500}}),
               64)
        assert _fcv(cli) == {"version": "7.0", "targetVersion": "7.0", "previousVersion": "8.0"}
        msg = _fails(lambda: cli.admin.command({"setFeatureCompatibilityVersion": "7.3",
                                                "confirm": True}), 5147403)
        assert msg.endswith("while featureCompatibilityVersion is 'downgrading from 8.0 to 7.0'")
