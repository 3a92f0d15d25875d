"""quorum.mongodb.oplog on a three-member emulated set: check mode changes nothing, then every
data-bearing member is resized, the secondaries before the primary, and a rerun keeps them."""
import json
import time

import pytest

from emuharness import STARTED_PIDS
from mongoemu.cluster import MemberSpec, ReplicaSetCluster


@pytest.fixture
def cluster(tmp_path):
    specs = [MemberSpec(priority=2), MemberSpec(), MemberSpec(arbiter_only=True)]
    rs = ReplicaSetCluster(specs, set_name="oplog", root=tmp_path / "rs", oplog_size_mb=100,
                           settings={"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 200},
                           on_start=lambda m: STARTED_PIDS.add(m.pid))
    try:
        rs.start()
        rs.wait_ready(timeout=30)
        deadline = time.monotonic() + 20  # the priority-2 member takes over once caught up
        while rs.primary() != rs.members[0].address and time.monotonic() < deadline:
            time.sleep(0.2)
        rs.client(rs.primary_member()).app.items.insert_many([{"i": i} for i in range(100)])
        yield rs
    finally:
        rs.stop()


def _run(playbook, tmp_path, cluster, check=False):
    out = tmp_path / f"oplog-{time.monotonic_ns()}.json"
    path = tmp_path / "vars.json"
    path.write_text(json.dumps({"seeds": [cluster.members[1].address], "set_name": "oplog",
                                "size_mb": 2048, "check": check, "out": str(out)}))
    result = playbook("tests/integration/files/oplog_run.yml", "localhost,", "-e", f"@{path}")
    assert result.returncode == 0, result.stdout
    return json.loads(out.read_text())


def _resized_at(member):
    """When the member logged its replSetResizeOplog success (the log's own clock)."""
    times = [entry["t"]["$date"] for entry in member.log_entries()
             if entry.get("msg") == "replSetResizeOplog success"]
    assert len(times) == 1, times
    return times[0]


@pytest.mark.playbook
@pytest.mark.emulator
def test_resize_secondaries_first_then_primary(playbook, tmp_path, cluster):
    primary = cluster.primary_member()
    assert primary is cluster.members[0], "the priority-2 member should be primary"
    secondary = cluster.members[1]
    planned = _run(playbook, tmp_path, cluster, check=True)
    assert planned["changed"]
    assert [m["host"] for m in planned["members"]] == [secondary.address, primary.address]
    for member in cluster.members[:2]:
        stats = cluster.client(member).local.command("collStats", "oplog.rs")
        assert stats["maxSize"] == 100 * 1024 * 1024

    applied = _run(playbook, tmp_path, cluster)
    assert applied["changed"] and all(m["set_mb"] == 2048 for m in applied["members"])
    for member in cluster.members[:2]:
        stats = cluster.client(member).local.command("collStats", "oplog.rs")
        assert stats["maxSize"] == 2048 * 1024 * 1024
    assert _resized_at(secondary) <= _resized_at(primary)

    rerun = _run(playbook, tmp_path, cluster)
    assert not rerun["changed"]
