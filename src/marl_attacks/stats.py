"""Interquartile mean and stratified bootstrap confidence intervals.

Follows rliable (Agarwal et al. 2021): IQM is the mean of the middle 50% of
scores (``scipy.stats.trim_mean(x, 0.25)``); the 95% CI is the percentile
interval of the IQM over bootstrap resamples in which episodes are drawn with
replacement *within* each stratum (victim seed), so every seed keeps its weight.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import trim_mean


def iqm(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(trim_mean(x, 0.25)) if x.size else float("nan")


def _iqm_rows(samples: np.ndarray) -> np.ndarray:
    """IQM of each row of ``[R, n]``."""
    return trim_mean(samples, 0.25, axis=1)


def stratified_bootstrap_ci(strata: list[np.ndarray], reps: int = 2000, ci: float = 0.95,
                            seed: int = 0) -> tuple[float, float]:
    """Percentile CI of the IQM of the pooled strata under within-stratum resampling."""
    rng = np.random.default_rng(seed)
    strata = [np.asarray(s, dtype=float) for s in strata if len(s)]
    if not strata:
        return float("nan"), float("nan")
    draws = [s[rng.integers(0, len(s), size=(reps, len(s)))] for s in strata]
    stats = _iqm_rows(np.concatenate(draws, axis=1))
    alpha = (1 - ci) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))
