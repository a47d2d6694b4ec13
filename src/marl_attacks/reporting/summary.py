"""Summary statistics of the evaluation rows: ``results/{run}/summary.csv`` and each ablation's.

:func:`summarise` gives one row per configuration (IQM return with its stratified bootstrap CI,
% drop and % change of episode length vs benign with paired CIs); :func:`run_summary` and
:func:`run_ablation_summary` are the workflow's jobs (``summarise``, ``summarise_ablation``),
taking the bootstrap's settings as one dict (``config.summary_params``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import write_csv
from .stats import (
    PairedBootstrap,
    aligned,
    bootstrap_seed,
    iqm,
    layout,
    percent_change,
    percent_drop,
    percentile_ci,
    stratified_bootstrap_ci,
)

KEYS = ["env", "algo", "attack", "eps", "n_attacked"]


def load_eval(paths: list[str]) -> pd.DataFrame:
    frames = []
    for p in paths:
        try:
            frames.append(pd.read_csv(p))
        except Exception as exc:
            raise RuntimeError(
                f"{p}: cannot read evaluation rows ({exc}); delete it and rerun the workflow to regenerate it"
            ) from exc
    return pd.concat(frames, ignore_index=True)


def summarise(rows: pd.DataFrame, reps: int, ci: float, seed: int = 0, keys: list[str] | None = None) -> pd.DataFrame:
    """One row per env, algo and ``keys`` (default attack, eps, n_attacked; see the README's
    data contract).

    IQM with a 95% stratified bootstrap CI (strata: victim seeds, resampled: episodes);
    ``drop_pct`` = 100 (benign - attacked) / |benign| of the IQMs and ``length_change_pct``
    (mean episode length vs benign), each with a paired bootstrap CI: every attack runs on
    the benign episodes' env seeds, so the same resampled episodes enter both sides.
    ``win_rate`` (with CI) where the env defines a win. Groups run on other episodes than
    the benign team are compared unpaired (independent resamples of each side).
    """
    keys = keys or KEYS[2:]
    out = []
    for (env, algo), rows_ea in rows.groupby(["env", "algo"], sort=True):
        benign = rows_ea[rows_ea.attack == "benign"]
        pairing = layout(benign) if len(benign) else layout(rows_ea)
        g_seed = bootstrap_seed(seed, env, algo)  # the same resamples as claims()
        boot = PairedBootstrap([len(v) for v in pairing.values()], reps, g_seed)
        b_ret = aligned(benign, "return", pairing) if len(benign) else None
        b_len = aligned(benign, "length", pairing) if len(benign) else None
        b_rep = boot.replicates(b_ret) if b_ret else None
        b_len_rep = boot.replicates(b_len, "mean") if b_len else None
        b_iqm = iqm(benign["return"]) if len(benign) else np.nan
        b_len_mean = benign["length"].mean() if len(benign) else np.nan
        for key, group in rows_ea.groupby(keys, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            ret = aligned(group, "return", pairing)
            if ret is not None:  # paired with the benign episodes
                rep = boot.replicates(ret)
                len_rep = boot.replicates(aligned(group, "length", pairing), "mean")
                drop_rep, blen_rep = (percent_drop(rep, b_rep) if b_rep is not None else None), b_len_rep
            else:  # other episodes: resample each side on its own
                g_layout = layout(group)
                g_boot = PairedBootstrap([len(v) for v in g_layout.values()], reps, g_seed + 1)
                rep = g_boot.replicates(aligned(group, "return", g_layout))
                len_rep = g_boot.replicates(aligned(group, "length", g_layout), "mean")
                drop_rep = percent_drop(rep, b_rep) if b_rep is not None else None
                blen_rep = b_len_rep
            value = iqm(group["return"])
            lo, hi = percentile_ci(rep, ci)
            d_lo, d_hi = percentile_ci(drop_rep, ci) if drop_rep is not None else (np.nan, np.nan)
            l_lo, l_hi = (
                percentile_ci(percent_change(len_rep, blen_rep), ci) if blen_rep is not None else (np.nan, np.nan)
            )
            row = dict(
                env=env,
                algo=algo,
                **dict(zip(keys, key)),
                iqm=value,
                ci_low=lo,
                ci_high=hi,
                mean=group["return"].mean(),
                episodes=len(group),
                seeds=group.seed.nunique(),
                benign_iqm=b_iqm,
                drop_pct=float(percent_drop(value, b_iqm)),
                drop_ci_low=d_lo,
                drop_ci_high=d_hi,
                length_mean=group["length"].mean(),
                length_change_pct=float(percent_change(group["length"].mean(), b_len_mean)),
                length_change_ci_low=l_lo,
                length_change_ci_high=l_hi,
                max_abs_delta=group["max_abs_delta"].max(),
            )
            if "win" in group and group["win"].notna().any():
                wins = group.dropna(subset=["win"])
                row["win_rate"] = wins["win"].astype(float).mean()
                row["win_ci_low"], row["win_ci_high"] = stratified_bootstrap_ci(
                    [g["win"].astype(float).to_numpy() for _, g in wins.groupby("seed")],
                    reps,
                    ci,
                    g_seed,
                    statistic="mean",
                )
            if "val_mse" in group:
                row["val_mse"] = group["val_mse"].mean()
            out.append(row)
    return pd.DataFrame(out)


def run_summary(eval_paths: list[str], out: str, params: dict) -> None:
    """``results/{run}/summary.csv`` from the evaluation's row files; ``params``: ``bootstrap_samples``,
    ``ci`` and ``seed`` (``config.summary_params``)."""
    rows = load_eval(eval_paths)
    write_csv(out, summarise(rows, params["bootstrap_samples"], params["ci"], params["seed"]))


def run_ablation_summary(paths: list[str], out: str, params: dict) -> None:
    """Summary of one ablation's rows: as :func:`run_summary`, one row per ablated ``value`` too."""
    keys = ["attack", "eps", "n_attacked", "value"]
    rows = load_eval(paths)
    write_csv(out, summarise(rows, params["bootstrap_samples"], params["ci"], params["seed"], keys=keys))


def full_team(summary: pd.DataFrame) -> pd.DataFrame:
    """The benign rows and the rows with every agent attacked (n_attacked = the env's team size, the
    largest of its attacked rows)."""
    attacked = summary[summary.attack != "benign"]
    n = attacked.groupby("env").n_attacked.max()
    return summary[(summary.attack == "benign") | (summary.n_attacked == summary.env.map(n))]
