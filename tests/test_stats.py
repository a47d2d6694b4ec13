"""IQM and stratified bootstrap CIs."""

import numpy as np

from marl_attacks.stats import iqm, stratified_bootstrap_ci


def test_iqm_is_mean_of_middle_half():
    x = np.array([0, 1, 2, 3, 4, 5, 6, 100.0])
    assert iqm(x) == np.mean([2, 3, 4, 5])


def test_bootstrap_ci_brackets_iqm_and_shrinks_with_data():
    rng = np.random.default_rng(0)
    small = [rng.normal(5, 1, 10) for _ in range(3)]
    large = [rng.normal(5, 1, 400) for _ in range(3)]
    lo_s, hi_s = stratified_bootstrap_ci(small, reps=2000, seed=1)
    lo_l, hi_l = stratified_bootstrap_ci(large, reps=2000, seed=1)
    assert lo_s <= iqm(np.concatenate(small)) <= hi_s
    assert lo_l < 5 < hi_l
    assert hi_l - lo_l < hi_s - lo_s


def test_bootstrap_is_stratified():
    # two strata with very different scores: every resample keeps both, so the CI stays tight
    strata = [np.zeros(20), np.full(20, 10.0)]
    lo, hi = stratified_bootstrap_ci(strata, reps=500, seed=0)
    assert lo == hi == iqm(np.concatenate(strata))
