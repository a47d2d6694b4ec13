"""IQM, stratified and paired bootstrap CIs, and their agreement with rliable.

rliable (Agarwal et al. 2021) is the field's reference, but it cannot be installed next to
this project's pins (its dependency arch 7.2 fails to import under pandas 3.1). These tests
check our statistics against a port of rliable's published definitions instead:
``metrics.aggregate_iqm`` (``scipy.stats.trim_mean(scores, 0.25, axis=None)``) and
``library.StratifiedBootstrap`` (for a ``[runs, tasks]`` score matrix, every resample draws
``runs`` indices with replacement independently for each task) with arch's percentile interval
(``np.percentile`` of the replicates). A one-off run of rliable 1.2.0 itself (pandas shimmed) on
3 tasks x 40 runs at 50,000 resamples gave the CI [1.352, 2.293]; ours gave [1.351, 2.285].
"""

import numpy as np
import pytest
from scipy.stats import trim_mean

from marl_attacks.reporting.stats import (
    PairedBootstrap,
    iqm,
    p_below,
    percent_change,
    percent_drop,
    percentile_ci,
    resampled_iqm,
    stratified_bootstrap_ci,
)


def rliable_iqm(scores):
    """rliable.metrics.aggregate_iqm."""
    return trim_mean(scores, proportiontocut=0.25, axis=None)


def rliable_indices(n_runs, n_tasks, reps, random_state):
    """The indices rliable's StratifiedBootstrap.update_indices draws, a [runs, tasks] array per
    resample (``np.random.choice(num_runs, args_shape)``), for ``reps`` resamples at once."""
    return random_state.choice(n_runs, (reps, n_runs, n_tasks), replace=True)


def rliable_replicates(scores, indices):
    """IQM of every resample: scores[indices, task] (rliable's stratified indexing), flattened."""
    tasks = np.arange(scores.shape[1])[None, None, :]
    resampled = scores[indices, tasks]  # [reps, runs, tasks]
    return trim_mean(resampled.reshape(len(indices), -1), 0.25, axis=1)


def rliable_ci(scores, reps, size=0.95, seed=0):
    """rliable.library.get_interval_estimates(..., method='percentile') for one score matrix."""
    stats = rliable_replicates(scores, rliable_indices(*scores.shape, reps, np.random.RandomState(seed)))
    alpha = (1 - size) / 2
    return np.percentile(stats, [100 * alpha, 100 * (1 - alpha)])


@pytest.fixture
def scores():
    """40 runs (episodes) x 3 tasks (strata) of unlike distributions."""
    rng = np.random.default_rng(3)
    return np.stack([rng.normal(0, 1, 40), rng.normal(5, 3, 40), rng.exponential(2, 40)], axis=1)


def test_iqm_is_mean_of_middle_half():
    x = np.array([0, 1, 2, 3, 4, 5, 6, 100.0])
    assert iqm(x) == np.mean([2, 3, 4, 5])


def test_iqm_is_rliables_on_the_flattened_scores(scores):
    assert iqm(scores) == rliable_iqm(scores)
    assert iqm([scores[:, j] for j in range(3)]) == pytest.approx(rliable_iqm(scores), rel=1e-15)


def test_same_resamples_give_rliables_replicates_exactly(scores):
    """Given rliable's resampling indices, our replicates are its replicates."""
    indices = rliable_indices(*scores.shape, 300, np.random.RandomState(0))
    boot = PairedBootstrap([40, 40, 40], 300, seed=0)
    # stratum t: the run indices rliable drew for task t, at its place (40 t) in the pooled series
    boot.pos = np.concatenate([indices[:, :, t] + 40 * t for t in range(3)], axis=1)
    ours = boot.replicates([scores[:, t] for t in range(3)])
    np.testing.assert_allclose(ours, rliable_replicates(scores, indices), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 90, 301])
def test_resampled_iqm_is_trim_mean_of_each_resample(n):
    """The rank-sorting IQM equals scipy's trim_mean row by row, ties and odd sizes included."""
    rng = np.random.default_rng(n)
    values = np.round(rng.normal(0, 3, n))  # rounded: many ties
    pos = rng.integers(0, n, size=(500, n))
    np.testing.assert_allclose(resampled_iqm(values, pos), trim_mean(values[pos], 0.25, axis=1), rtol=1e-13, atol=1e-13)


def test_nan_scores_give_nan_replicates_as_trim_mean():
    values = np.array([1.0, 2.0, np.nan, 4.0])
    boot = PairedBootstrap([4], 200, seed=0)
    rep = boot.replicates([values])
    has_nan = np.isnan(values[boot.pos]).any(axis=1)
    assert has_nan.any() and (~has_nan).any()
    assert np.isnan(rep[has_nan]).all() and not np.isnan(rep[~has_nan]).any()


def test_ci_agrees_with_rliable_within_monte_carlo_error(scores):
    lo, hi = stratified_bootstrap_ci([scores[:, t] for t in range(3)], reps=20000, seed=1)
    r_lo, r_hi = rliable_ci(scores, reps=20000, seed=2)
    width = r_hi - r_lo
    assert abs(lo - r_lo) < 0.03 * width and abs(hi - r_hi) < 0.03 * width


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


def test_paired_resampling_cancels_shared_episode_effects():
    """Attack and benign on the same episodes: the drop's CI is far tighter paired than unpaired."""
    rng = np.random.default_rng(0)
    episode = rng.normal(0, 5, 50)  # most of the spread comes from the episode (its env seed)
    benign, attacked = 20 + episode, 18 + episode + rng.normal(0, 0.2, 50)
    boot = PairedBootstrap([50], 2000, seed=0)
    paired = percent_drop(boot.replicates([attacked]), boot.replicates([benign]))
    other = PairedBootstrap([50], 2000, seed=1)
    unpaired = percent_drop(other.replicates([attacked]), boot.replicates([benign]))
    lo, hi = percentile_ci(paired)
    u_lo, u_hi = percentile_ci(unpaired)
    assert lo > 0 and hi - lo < 0.5 * (u_hi - u_lo)


def test_mean_statistic_for_rates():
    lo, hi = stratified_bootstrap_ci([np.array([0, 1, 1, 1.0])], reps=4000, seed=0, statistic="mean")
    assert 0 <= lo < 0.75 < hi <= 1


def test_bootstrap_rejects_strata_of_other_sizes():
    boot = PairedBootstrap([3, 4], 10, seed=0)
    with pytest.raises(ValueError, match="sizes"):
        boot.replicates([np.zeros(3), np.zeros(5)])


def test_percent_drop_and_change():
    assert percent_drop(5.0, 10.0) == 50
    # negative returns (MPE): a more negative return under attack is a positive drop
    assert percent_drop(-15.0, -10.0) == 50
    assert np.isnan(percent_drop(1.0, 0.0))
    assert percent_change(30.0, 25.0) == pytest.approx(20)
    np.testing.assert_allclose(percent_drop(np.array([5.0, 10.0]), np.array([10.0, 10.0])), [50, 0])


def test_p_below_is_welchs_one_sided_test_from_means_spreads_and_counts():
    """Against a hand computation of Welch's t and its Welch-Satterthwaite degrees of freedom."""
    from scipy.stats import t as student_t

    m, s, n, rm, rs, rn = 0.88, 0.25, 100, 0.90, 0.20, 400
    va, vb = s**2 / n, rs**2 / rn
    tstat = (m - rm) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (rn - 1))
    assert p_below(m, s, n, rm, rs, rn) == pytest.approx(student_t.cdf(tstat, df), rel=1e-9)
    assert 0.2 < p_below(m, s, n, rm, rs, rn) < 0.3  # 0.02 below, within the noise of 100 episodes
    assert p_below(0.70, s, n, rm, rs, rn) < 1e-9  # far below
    assert p_below(0.95, s, n, rm, rs, rn) > 0.95  # above
    assert p_below(0.9, 0.0, 100, 1.0, 0.0, 100) == 0.0 and p_below(1.0, 0.0, 100, 0.9, 0.0, 100) == 1.0
    assert np.isnan(p_below(0.9, float("nan"), 100, 1.0, 0.1, 100))  # a score made before return_std
    assert np.isnan(p_below(0.9, 0.1, 100, 1.0, 0.1, float("nan")))  # a threshold without its count
