"""The short form of the chaos suite (make chaos runs many seeds): two recorded seeds that
hit the primary while rs_config moves the set to a new topology - seed 2 kills it (SIGKILL)
after 0.97 s, seed 49 pauses it (SIGSTOP) after 2.77 s - and every invariant must hold."""
import pytest

from chaos_runner import one_run


@pytest.mark.parametrize("seed", [2, 49])
def test_invariants_hold_when_the_primary_fails_mid_plan(seed, tmp_path):
    result = one_run(seed, tmp_path)
    assert result.target_index == 0 and result.fault == {2: "kill9", 49: "pause"}[seed]
    assert result.violations == [], result
    assert result.converged and result.lost == 0 and not result.terms_with_two_primaries
    assert result.acknowledged > 0
