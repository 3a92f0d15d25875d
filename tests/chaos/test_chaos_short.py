"""The short form of the chaos suite (make chaos runs many seeds of each operation): one
recorded seed per operation, each one a fault that hits the primary or the member the
operation needs, and every invariant must hold (see chaos_runner.py)."""
import pytest

from chaos_runner import one_run

CASES = [
    # rs_config moves the set to a new topology; its primary is killed (SIGKILL) after 0.97 s
    ("rs_config", 2, ("kill9", 0)),
    # rolling_resync.yml on three members; the primary (db1, priority 2, resynced last) is killed
    # 6.75 s in, while the first secondary is being resynced
    ("rolling_resync", 1, ("kill9", 0)),
    # rs_force_reconfig after losing four of seven voters; the priority-2 survivor is killed 6.68 s
    # in: on this machine just after the forced config made it primary (on a slower one, before)
    ("force_reconfig", 18, ("kill9", 0)),
]


@pytest.mark.parametrize("scenario,seed,fault", CASES, ids=[c[0] for c in CASES])
def test_invariants_hold_when_a_member_fails_mid_operation(scenario, seed, fault, tmp_path):
    result = one_run(scenario, seed, tmp_path)
    assert (result.fault, result.target_index) == fault
    assert result.violations == [], result
    assert result.converged and result.lost == 0 and not result.terms_with_two_primaries
    assert result.acknowledged > 0


def test_drill_lagging_survivors_the_loss_report_covers_every_lost_write(tmp_path):
    """The one drill make test runs (make chaos runs every drill with many seeds): seed 5 freezes
    all three dc1 survivors for 3.52 s while dc2 and dc3 acknowledge w:"majority" writes, then dc2
    and dc3 are lost. Those writes are on no survivor; the forced reconfig's report must cover each
    of them (chaos_runner.LaggingSurvivors)."""
    result = one_run("lagging_survivors", 5, tmp_path)
    assert result.checks["frozen"] == 3 and result.checks["frozen_s"] == 3.52, result
    assert result.checks["acked_while_frozen"] > 0, result  # writes were acknowledged, then lost
    assert result.violations == [], result
    assert result.lost > 0 and result.checks["margin_s"] >= 0 and result.converged, result
