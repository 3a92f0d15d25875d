"""rs_status wait_for=durable_without, the resync role's last check before a member's data is
deleted: a w:"majority" write that the stopped member helped acknowledge while the other
secondary lagged is on the primary alone; the wait must not end until the other secondary has
it (else losing the primary next would elect a member without it)."""
import pytest
from pymongo import WriteConcern

from mongoemu.cluster import MemberSpec


@pytest.fixture
def cluster(replica_set):
    return replica_set([MemberSpec(priority=2), MemberSpec(), MemberSpec()], "durable", primary=0,
                       extra_args=["--setParameter", "enableTestCommands=1"])  # fail points


def _fail_point(cluster, member, mode):
    cluster.client(member).admin.command({"configureFailPoint": "rsSyncApplyStop", "mode": mode})


@pytest.mark.playbook
@pytest.mark.emulator
def test_the_wait_ends_only_when_the_others_hold_every_committed_write(recorded_play, cluster):
    primary, stopped, lagging = cluster.members
    _fail_point(cluster, lagging, "alwaysOn")
    try:
        cluster.client(primary).app.get_collection(
            "w", write_concern=WriteConcern(w="majority", wtimeout=10000)).insert_one({"_id": 1})
        cluster.kill9(stopped)  # the member to resync: stopped, its data still there
        seeds = [primary.address, lagging.address]
        waited = recorded_play("rs_status_run", {"seeds": seeds, "wait_for": "durable_without",
                                                 "member": stopped.address, "timeout": 3})
        assert waited.get("failed"), waited
        assert "every majority-committed write on voters other than " + stopped.address in waited["msg"]
    finally:
        _fail_point(cluster, lagging, "off")
    waited = recorded_play("rs_status_run", {"seeds": seeds, "wait_for": "durable_without",
                                             "member": stopped.address, "timeout": 30})
    assert not waited.get("failed"), waited
    lagging_row = next(r for r in waited["members"] if r["host"] == lagging.address)
    assert lagging_row["optime"] >= waited["commit_point"]
