"""quorum.mongodb.oplog on a three-member emulated set: check mode changes nothing, then every
data-bearing member is resized, the secondaries before the primary, and a rerun keeps them."""

import pytest

from mongoemu.cluster import MemberSpec


@pytest.fixture
def cluster(replica_set):
    specs = [MemberSpec(priority=2), MemberSpec(), MemberSpec(arbiter_only=True)]
    rs = replica_set(specs, "oplog", primary=0, oplog_size_mb=100)
    rs.client(rs.primary_member()).app.items.insert_many([{"i": i} for i in range(100)])
    return rs


def _run(recorded_play, cluster, check=False):
    return recorded_play("oplog_run", {"seeds": [cluster.members[1].address], "set_name": "oplog",
                                       "size_mb": 2048, "check": check})


def _resized_at(member):
    """When the member logged its replSetResizeOplog success (the log's own clock)."""
    times = [entry["t"]["$date"] for entry in member.log_entries()
             if entry.get("msg") == "replSetResizeOplog success"]
    assert len(times) == 1, times
    return times[0]


@pytest.mark.playbook
@pytest.mark.emulator
def test_resize_secondaries_first_then_primary(recorded_play, cluster):
    primary = cluster.primary_member()
    assert primary is cluster.members[0], "the priority-2 member should be primary"
    secondary = cluster.members[1]
    planned = _run(recorded_play, cluster, check=True)
    assert planned["changed"]
    assert [m["host"] for m in planned["members"]] == [secondary.address, primary.address]
    for member in cluster.members[:2]:
        stats = cluster.client(member).local.command("collStats", "oplog.rs")
        assert stats["maxSize"] == 100 * 1024 * 1024

    applied = _run(recorded_play, cluster)
    assert applied["changed"] and all(m["set_mb"] == 2048 for m in applied["members"])
    for member in cluster.members[:2]:
        stats = cluster.client(member).local.command("collStats", "oplog.rs")
        assert stats["maxSize"] == 2048 * 1024 * 1024
    assert _resized_at(secondary) <= _resized_at(primary)

    rerun = _run(recorded_play, cluster)
    assert not rerun["changed"]
