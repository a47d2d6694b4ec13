"""Stage 5: summary statistics, figures and tables from the evaluation rows.

Each output is its own entry point, so Snakemake can rebuild one file alone:

* :func:`summarise` -> ``results/{run}/summary.csv`` (and ``results/{run}/ablations/{a}/summary.csv``)
* figures (:mod:`marl_attacks.figures`, via :func:`draw_figure`) -> ``figures/{run}/*.{pdf,png}``
* :func:`table_main_drop` -> ``tables/{run}/main_drop.{csv,md,tex}``
* :func:`table_victims` -> ``tables/{run}/victims.{csv,md,tex}``
* :func:`table_attack_cost` -> ``tables/{run}/attack_cost.{csv,md,tex}``
* :func:`table_access_assumptions` -> ``tables/{run}/access_assumptions.{csv,md,tex}``
* :func:`table_claims` -> ``tables/{run}/claims.{csv,md,tex}`` and ``claims_by_eps.csv``
* :func:`export_marl_eval` -> ``results/{run}/marl_eval.json`` (marl-eval's raw-data layout)

Statistics (:mod:`marl_attacks.stats`): IQM with 95% stratified bootstrap CIs as
rliable computes them; comparisons between attacks are paired over episodes.

By hand: ``python -m marl_attacks.report summary --eval a.csv b.csv --out s.csv``,
``... figure --kind ablation_selection --summary s.csv --stem figures/x/ablation_selection``, etc.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .io import write_csv, write_text
from .stats import PairedBootstrap, iqm, percent_change, percent_drop, percentile_ci, stratified_bootstrap_ci

KEYS = ["env", "algo", "attack", "eps", "n_attacked"]

#: how the paper writes env names (LBF and RWARE tasks: see env_label); ``ENV_LABELS`` (every
#: registered env) is built on first use, so the report jobs need not import the env registry
_ENV_NAMES = {
    "vmas-navigation": "VMAS Navigation",
    "vmas-balance": "VMAS Balance",
    "vmas-transport": "VMAS Transport",
    "vmas-wheel": "VMAS Wheel",
    "mpe-simple_spread": "MPE Simple Spread",
    "mpe-simple_reference": "MPE Simple Reference",
}


def env_label(env: str) -> str:
    """The paper's name of an env: "VMAS Balance", and LBF / RWARE tasks as "LBF 8x8-2p-2f-coop"."""
    family, _, task = env.partition("-")
    if env in _ENV_NAMES:
        return _ENV_NAMES[env]
    return f"{family.upper()} {task}" if family in ("lbf", "rware") and task else env


def __getattr__(name: str):
    if name == "ENV_LABELS":
        from .envs import ENVS

        return {env: env_label(env) for env in ENVS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: how the paper names each attack; also the column order of the tables
ATTACK_LABELS = {
    "benign": "Benign",
    "align-mlp": "Align (MLP)",
    "align-rnn": "Align (RNN)",
    "align-transformer": "Align (Transformer)",
    "robust-align": "RobustAlign",
    "targeted-align": "Targeted Align",
    "hadamard": "Hadamard",
    "targeted-hadamard": "Targeted Hadamard",
    "max-noise": "Max-Noise",
    "white-box-fgsm": "White-box FGSM",
    "white-box-pgd": "White-box PGD",
    "noise-uniform": "Uniform noise",
    "noise-gaussian": "Gaussian noise",
    "noise-exponential": "Exponential noise",
    "noise-ou": "OU noise",
}
FIGURE_ATTACKS = [
    "benign",
    "align-mlp",
    "align-rnn",
    "align-transformer",
    "robust-align",
    "hadamard",
    "max-noise",
    "white-box-fgsm",
    "white-box-pgd",
]


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


def bootstrap_seed(seed: int, env: str, algo: str) -> int:
    """Seed of the resamples of one env x algo: independent between envs (as rliable's strata),
    shared by every attack of that victim (paired)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/bootstrap/{env}/{algo}".encode()).digest()[:4], "little")


def _aligned(group: pd.DataFrame, column: str, layout: dict) -> list[np.ndarray] | None:
    """``column`` of ``group`` stratum by stratum in ``layout``'s episode order, or None when
    ``group`` was not run on exactly those (seed, episode) pairs (then it cannot be paired)."""
    seeds, episodes = group["seed"].to_numpy(), group["episode"].to_numpy()
    order = np.lexsort((episodes, seeds))
    want_seeds = np.concatenate([np.full(len(v), k) for k, v in layout.items()]) if layout else np.array([])
    want_episodes = np.concatenate(list(layout.values())) if layout else np.array([])
    if not (np.array_equal(seeds[order], want_seeds) and np.array_equal(episodes[order], want_episodes)):
        return None
    values = group[column].to_numpy(dtype=float)[order]
    return np.split(values, np.cumsum([len(v) for v in layout.values()])[:-1])


def _layout(group: pd.DataFrame) -> dict:
    """Seed -> sorted episode ids (seeds in increasing order): the strata and pairing of a group."""
    return {seed: np.sort(g.episode.to_numpy()) for seed, g in group.groupby("seed", sort=True)}


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
        layout = _layout(benign) if len(benign) else _layout(rows_ea)
        g_seed = bootstrap_seed(seed, env, algo)  # the same resamples as claims()
        boot = PairedBootstrap([len(v) for v in layout.values()], reps, g_seed)
        b_ret = _aligned(benign, "return", layout) if len(benign) else None
        b_len = _aligned(benign, "length", layout) if len(benign) else None
        b_rep = boot.replicates(b_ret) if b_ret else None
        b_len_rep = boot.replicates(b_len, "mean") if b_len else None
        b_iqm = iqm(benign["return"]) if len(benign) else np.nan
        b_len_mean = benign["length"].mean() if len(benign) else np.nan
        for key, group in rows_ea.groupby(keys, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            ret = _aligned(group, "return", layout)
            if ret is not None:  # paired with the benign episodes
                rep = boot.replicates(ret)
                len_rep = boot.replicates(_aligned(group, "length", layout), "mean")
                drop_rep, blen_rep = (percent_drop(rep, b_rep) if b_rep is not None else None), b_len_rep
            else:  # other episodes: resample each side on its own
                g_layout = _layout(group)
                g_boot = PairedBootstrap([len(v) for v in g_layout.values()], reps, g_seed + 1)
                rep = g_boot.replicates(_aligned(group, "return", g_layout))
                len_rep = g_boot.replicates(_aligned(group, "length", g_layout), "mean")
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


def write_table(frame: pd.DataFrame, stem: str, caption: str, display: pd.DataFrame | None = None) -> None:
    """CSV, Markdown and LaTeX versions of one table; ``display`` (e.g. values with their CIs as
    text) replaces ``frame`` in the Markdown and LaTeX versions."""
    write_csv(f"{stem}.csv", frame)
    shown = frame if display is None else display
    write_text(f"{stem}.md", f"{caption}\n\n{shown.to_markdown(index=False, floatfmt='.3g')}\n")
    latex = shown.to_latex(index=False, float_format="%.3g", caption=caption, escape=True)
    write_text(f"{stem}.tex", latex)


def table_main_drop(summary: pd.DataFrame, eps: float, stem: str) -> pd.DataFrame:
    """% drop in IQM return vs benign for each env x algo x attack at ``eps`` (all agents attacked)."""
    full = summary[summary.n_attacked == summary.groupby("env").n_attacked.transform("max")]
    at = full[np.isclose(full.eps, eps) & (full.attack != "benign")]
    cells = at.assign(
        cell=[
            f"{d:.1f} [{lo:.1f}, {hi:.1f}]" if np.isfinite(d) else "n/a (benign IQM 0)"
            for d, lo, hi in zip(at.drop_pct, at.drop_ci_low, at.drop_ci_high)
        ]
    )
    table = cells.pivot_table(index=["env", "algo"], columns="attack", values="cell", aggfunc="first")
    order = [a for a in ATTACK_LABELS if a in table.columns and a != "benign"]
    # an env's own attack list (envs.<env>.evaluate.attacks) can leave attacks out there
    table = table[order].fillna("not run").reset_index()
    write_table(table, stem, f"% drop in IQM return vs benign at eps = {eps} (95% bootstrap CI), all agents attacked")
    return table


def table_victims(scores: list[str], stem: str, thresholds: dict | None = None) -> pd.DataFrame:
    """Each victim's IQM return (acting greedily or by sampling: ``victim_actions``) vs a
    uniform-random policy and its env's competence threshold (``passed`` is empty where the
    config sets none), with its training cost."""
    rows = [json.loads(Path(p).read_text()) for p in scores]
    cols = [
        "env",
        "algo",
        "seed",
        "victim_actions",
        "train_steps",
        "train_seconds",
        "return_iqm",
        "random_return",
        "return_mean",
        "random_return_mean",
        "episodes",
    ]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    frame["victim_actions"] = frame.victim_actions.astype(object).fillna("greedy")  # scores made before the key
    frame.insert(6, "steps_per_s", (frame.train_steps / frame.train_seconds.clip(lower=1e-9)).round(0))
    frame["beats_random"] = frame.return_iqm > frame.random_return
    thresholds = thresholds or {}
    frame["threshold"] = [thresholds.get(e, np.nan) for e in frame.env]
    frame["passed"] = [bool(r >= t) if t == t else pd.NA for r, t in zip(frame.return_iqm, frame.threshold)]
    # whole seconds and steps/s in Markdown/LaTeX: 3 significant digits would print 1.67e+03
    display = frame.assign(**{c: frame[c].round(0).astype("Int64") for c in ("train_seconds", "steps_per_s")})
    write_table(
        frame,
        stem,
        "Victims: IQM return (greedy or sampled actions: victim_actions, config "
        "envs.<env>.victim_actions) vs a uniform-random policy on the same "
        "episodes, and vs the env's competence threshold (config envs.<env>.threshold); "
        "training steps, wall time (s) and env-steps/s",
        display=display,
    )
    return frame


def competence(victims: pd.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    """(env, algo) -> (victims passing their competence threshold, victims scored), from
    ``tables/{run}/victims.csv``; envs without a threshold are left out."""
    v = victims[victims.passed.notna()]
    ok = v.passed.astype(str).str.lower().isin(["true", "1", "1.0"])
    return {(e, a): (int(ok[g.index].sum()), len(g)) for (e, a), g in v.groupby(["env", "algo"])}


def attack_access(name: str) -> str:
    """What the attack's threat model grants beyond live observations (cf. the paper's Table 4)."""
    from .attacks import ATTACKS

    entry = ATTACKS[name]
    granted = []
    if entry.align_arch:
        granted.append(f"benign samples (f_theta {entry.align_arch})")
    if "victim" in entry.cls.needs:
        granted.append("victim weights (gradients)")
    return ", ".join(granted) or "none"


def table_attack_cost(cost_paths: list[str], stem: str) -> pd.DataFrame:
    """What each attack costs, per env: samples, f_theta fit time and time per attacked step.

    Means over victims (algorithms, seeds) and numbers of attacked agents; ``fit_seconds``
    is the fit of the f_theta the attack uses (shared by attacks using the same one).
    """
    frame = load_eval(cost_paths)
    frame = frame[frame.attack != "benign"]
    table = (
        frame.groupby(["env", "attack"], sort=False)
        .agg(
            samples_used=("samples_used", "max"),
            fit_seconds=("fit_seconds", "mean"),
            ms_per_attacked_step=("ms_per_attacked_step", "mean"),
            attacked_steps=("attacked_steps", "sum"),
        )
        .reset_index()
    )
    order = {a: k for k, a in enumerate(ATTACK_LABELS)}
    table = table.sort_values(["env", "attack"], key=lambda c: c.map(order) if c.name == "attack" else c)
    table.insert(2, "access", [attack_access(a) for a in table.attack])
    table = table.reset_index(drop=True)
    write_table(
        table,
        stem,
        "Cost of each attack: benign samples used, f_theta fit time (s) and "
        "time per attacked step (ms), means over victims",
    )
    return table


def run_summary(eval_paths: list[str], out: str, reps: int, ci: float, seed: int) -> None:
    write_csv(out, summarise(load_eval(eval_paths), reps, ci, seed))


def run_ablation_summary(paths: list[str], out: str, reps: int, ci: float, seed: int) -> None:
    """Summary of one ablation's rows: as :func:`summarise`, one row per ablated ``value`` too."""
    write_csv(out, summarise(load_eval(paths), reps, ci, seed, keys=["attack", "eps", "n_attacked", "value"]))


def fmt_ci(value: float, lo: float, hi: float, digits: int = 1) -> str:
    """``12.3 [4.5, 20.1]``; ``n/a`` for a missing value."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


# ---- access assumptions (the paper's table of threat models) -------------------------------

#: what each attack needs, this paper's and prior ones. Prior attacks as we read their papers:
#: the paper's own table is not shipped with this reproduction (see paper-method.md).
ACCESS_COLUMNS = [
    "attack",
    "reference",
    "setting",
    "observations before the attack",
    "actions",
    "rewards",
    "victim model",
    "queries",
    "samples needed",
    "perturbation",
]
ACCESS_ROWS = [
    [
        "Align",
        "Andam et al. (this paper)",
        "c-MARL",
        "yes: recorded benign joint observations",
        "no",
        "no",
        "no",
        "no",
        "~1,000 joint observations (pool 5,000)",
        "online: PGD on the alignment loss of f_theta",
    ],
    [
        "Targeted Align",
        "Andam et al. (this paper)",
        "c-MARL",
        "yes: as Align",
        "no",
        "no",
        "no",
        "no",
        "~1,000 joint observations",
        "online, on the m agents f_theta finds most aligned",
    ],
    [
        "Hadamard",
        "Andam et al. (this paper)",
        "c-MARL",
        "no",
        "no",
        "no",
        "no",
        "no",
        "0",
        "fixed: eps x a Hadamard row per agent",
    ],
    [
        "Targeted Hadamard",
        "Andam et al. (this paper)",
        "c-MARL",
        "yes: to fit f_theta, which picks the agents",
        "no",
        "no",
        "no",
        "no",
        "~1,000 joint observations",
        "fixed, on the m agents f_theta picks",
    ],
    [
        "Random noise (Max-Noise)",
        "baseline",
        "any",
        "no",
        "no",
        "no",
        "no",
        "no",
        "0",
        "online: uniform, Gaussian, exponential or OU noise",
    ],
    [
        "White-box FGSM / PGD",
        "baseline (upper bound)",
        "any",
        "no",
        "no",
        "no",
        "yes: gradients of the policy / Q-network",
        "no",
        "0",
        "online: sign-gradient steps",
    ],
    [
        "FGSM on policies",
        "Huang et al. 2017",
        "single agent",
        "no",
        "no",
        "no",
        "yes: gradients (black-box variant: a substitute policy the attacker trains)",
        "no",
        "0",
        "online: one sign-gradient step",
    ],
    [
        "SA-MDP optimal attack / PA-AD",
        "Zhang et al. 2020; Sun et al. 2022",
        "single agent",
        "no",
        "no",
        "yes: the victim's reward, negated, trains the adversary",
        "PA-AD: yes (gradients); SA-MDP: no",
        "yes: RL training runs against the victim",
        "an RL training run (~1e6 steps)",
        "online: a learned adversary policy",
    ],
    [
        "Adversarial policy + targeted perturbation",
        "Lin et al. 2020",
        "c-MARL",
        "no",
        "yes: learns the failure actions to force on one agent",
        "yes: the team reward trains that policy",
        "yes: gradients of the attacked agent's policy",
        "yes: RL training runs",
        "an RL training run",
        "online: targeted perturbation of one agent",
    ],
    [
        "AMI (Adversarial Minority Influence)",
        "Li et al. 2023",
        "c-MARL",
        "no",
        "yes: controls one agent's actions",
        "yes: trains the adversarial agent by RL",
        "no (black-box)",
        "yes: RL training runs with the victims",
        "an RL training run",
        "actions of a controlled agent, not observations",
    ],
    [
        "c-MBA (model-based attack)",
        "Pham et al. 2022",
        "c-MARL",
        "yes: transitions to fit a dynamics model",
        "yes: joint actions in those transitions",
        "no: aims at a failure state",
        "yes: gradients of the agents' policies",
        "yes: collecting transitions",
        "a transition data set",
        "online: through the learned dynamics model",
    ],
]


def table_access_assumptions(stem: str) -> pd.DataFrame:
    """What each attack needs (this paper's and prior ones): a static table, cf. the paper's."""
    table = pd.DataFrame(ACCESS_ROWS, columns=ACCESS_COLUMNS)
    write_table(
        table,
        stem,
        "Access each attack needs: observations recorded before the attack, the "
        "victims' actions, rewards, the victim model (weights or gradients), queries "
        "(interaction with the victim or env to build the attack) and samples. Prior "
        "attacks as summarised by this reproduction from their papers.",
    )
    return table


# ---- claims ---------------------------------------------------------------------------------

#: the pooled rows of the claims table (``env`` column): every env x algo, or only those whose
#: victims all pass their competence threshold; and how the table names them
OVERALL, OVERALL_COMPETENT = "overall", "overall-competent"
POOLED_LABELS = {OVERALL: "all envs (mean)", OVERALL_COMPETENT: "competent victims (mean)"}


@dataclass(frozen=True)
class Claim:
    """An attack expected to lower the return more than a baseline, on the same episodes."""

    number: str
    name: str  # short, for the table
    statement: str  # the paper's claim
    attack: str
    baseline: str
    team: str  # "all": every agent attacked; "part": m < n agents (the targeting claims)


CLAIMS = [
    Claim(
        "1",
        "Align > Max-Noise",
        "With only observations, Align degrades cooperative teams far more than any random noise of the same eps",
        "align-mlp",
        "max-noise",
        "all",
    ),
    Claim(
        "2",
        "Hadamard > Max-Noise",
        "Hadamard, with no access at all, beats random noise of the same eps",
        "hadamard",
        "max-noise",
        "all",
    ),
    Claim(
        "3",
        "Targeted Align > Align (random agents)",
        "Targeting with f_theta beats random choice of the attacked agents",
        "targeted-align",
        "align-mlp",
        "part",
    ),
    Claim(
        "3",
        "Targeted Hadamard > Hadamard (random agents)",
        "Targeting with f_theta beats random choice of the attacked agents",
        "targeted-hadamard",
        "hadamard",
        "part",
    ),
]
CLAIM_RULE = (
    "the claim holds where the {ci:.0%} paired stratified bootstrap CI of the difference in % "
    "drop (attack minus baseline, percentage points of the benign IQM return) lies above 0, is "
    "reversed where it lies below 0, and is inconclusive where it contains 0 (claim 1 says 'far "
    "more'; the verdict tests 'more')"
)


def verdict(lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "n/a"
    return "holds" if lo > 0 else "reversed" if hi < 0 else "inconclusive"


def _series(group: pd.DataFrame, layout: dict, boot: PairedBootstrap, reps: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of the IQM return of ``group``: paired with ``layout`` when it ran on
    those episodes, else resampled on its own."""
    paired = _aligned(group, "return", layout)
    if paired is not None:
        return boot.replicates(paired)
    own = _layout(group)
    return PairedBootstrap([len(v) for v in own.values()], reps, seed).replicates(_aligned(group, "return", own))


def claims(rows: pd.DataFrame, reps: int, ci: float, seed: int = 0, competence: dict | None = None) -> pd.DataFrame:
    """Each claim of :data:`CLAIMS` per env x algo x eps x m, and overall (mean over env x algo).

    % drop of attack and baseline vs benign and their difference, with paired stratified
    bootstrap CIs (the same resampled episodes for benign, attack and baseline; strata:
    victim seeds). Overall: the mean over env x algo of each quantity, its CI from the
    per-env resamples (independent between envs), as rliable stratifies over tasks.
    With ``competence`` (:func:`competence`), rows say how many of their victims pass their
    threshold, and a second pooled row (:data:`OVERALL_COMPETENT`) averages only the env x algo
    whose victims all pass: attacks on victims that never learned the task say little.
    """
    out, pooled = [], {}
    for (env, algo), rows_ea in rows.groupby(["env", "algo"], sort=True):
        benign = rows_ea[rows_ea.attack == "benign"]
        if benign.empty:
            continue
        layout = _layout(benign)
        g_seed = bootstrap_seed(seed, env, algo)
        boot = PairedBootstrap([len(v) for v in layout.values()], reps, g_seed)
        b_rep, b_iqm = boot.replicates(_aligned(benign, "return", layout)), iqm(benign["return"])
        team = rows_ea[rows_ea.attack != "benign"].n_attacked.max()
        for k, claim in enumerate(CLAIMS):
            att = rows_ea[rows_ea.attack == claim.attack]
            for (eps, m), g_att in att.groupby(["eps", "n_attacked"], sort=True):
                if (claim.team == "all") != (m == team):
                    continue
                g_base = rows_ea[(rows_ea.attack == claim.baseline) & (rows_ea.eps == eps) & (rows_ea.n_attacked == m)]
                if g_base.empty:
                    continue
                drop_a = percent_drop(_series(g_att, layout, boot, reps, g_seed + 1), b_rep)
                drop_b = percent_drop(_series(g_base, layout, boot, reps, g_seed + 2), b_rep)
                point_a = float(percent_drop(iqm(g_att["return"]), b_iqm))
                point_b = float(percent_drop(iqm(g_base["return"]), b_iqm))
                m_label = "all" if m == team else int(m)
                reps_by = {"attack": drop_a, "baseline": drop_b, "diff": drop_a - drop_b}
                points = {"attack": point_a, "baseline": point_b, "diff": point_a - point_b}
                row = _claim_row(claim, env, algo, eps, m_label, points, reps_by, ci)
                passed, total = (competence or {}).get((env, algo), (0, 0))
                if competence is not None:
                    row.update(victims_competent=passed, victims=total)
                out.append(row)
                pooled.setdefault((k, eps, m_label), []).append((points, reps_by, total > 0 and passed == total))
    for (k, eps, m_label), items in sorted(pooled.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        items = [it for it in items if np.isfinite(it[0]["diff"])]  # benign IQM 0: no % drop
        groups = {OVERALL: items}
        if competence is not None:
            groups[OVERALL_COMPETENT] = [it for it in items if it[2]]
        for name, group in groups.items():
            if not group:
                continue
            points = {q: float(np.mean([p[q] for p, _, _ in group])) for q in ("attack", "baseline", "diff")}
            reps_by = {q: np.mean([r[q] for _, r, _ in group], axis=0) for q in ("attack", "baseline", "diff")}
            row = _claim_row(CLAIMS[k], name, "all", eps, m_label, points, reps_by, ci)
            row["n_envs"] = len(group)
            out.append(row)
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
    frame["n_envs"] = frame.get("n_envs", pd.Series(dtype=float)).fillna(1).astype(int)
    return frame


def _claim_row(claim: Claim, env, algo, eps, m_label, points, reps_by, ci) -> dict:
    row = dict(
        claim=claim.number,
        name=claim.name,
        env=env,
        algo=algo,
        eps=float(eps),
        n_attacked=str(m_label),
        attack=claim.attack,
        baseline=claim.baseline,
    )
    for q in ("attack", "baseline", "diff"):
        # benign IQM 0 (a victim that never scores): no % drop, and no CI from the resamples
        # that happen to score
        lo, hi = percentile_ci(reps_by[q], ci) if np.isfinite(points[q]) else (np.nan, np.nan)
        col = "diff_pp" if q == "diff" else f"{q}_drop_pct"
        row.update({col: points[q], f"{col}_ci_low": lo, f"{col}_ci_high": hi})
    row["verdict"] = verdict(row["diff_pp_ci_low"], row["diff_pp_ci_high"])
    return row


def table_claims(
    rows: pd.DataFrame,
    eps: float,
    reps: int,
    ci: float,
    seed: int,
    stem: str,
    by_eps_out: str | None = None,
    victims: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's claims on our data at ``eps`` (the report eps), per env x algo and overall,
    with how often each holds over the whole eps grid. ``by_eps_out``: every eps, as CSV.
    ``victims`` (``tables/{run}/victims.csv``): also pool over competent victims only."""
    comp = competence(victims) if victims is not None else None
    full = claims(rows, reps, ci, seed, comp)
    if by_eps_out:
        write_csv(by_eps_out, full)
    if full.empty:
        table = pd.DataFrame(columns=["claim", "name", "env", "algo", "n_attacked", "eps", "verdict"])
        write_table(table, stem, "No claim could be evaluated: the evaluation lacks its attacks.")
        return table
    keys = ["claim", "name", "env", "algo", "n_attacked"]
    counts = (
        full.groupby(keys, sort=False)
        .verdict.agg(
            lambda v: ", ".join(
                f"{x} {int((v == x).sum())}/{len(v)}" for x in ("holds", "inconclusive", "reversed") if (v == x).any()
            )
        )
        .rename("over_eps_grid")
        .reset_index()
    )
    table = full[np.isclose(full.eps, eps)].merge(counts, on=keys, how="left")
    order = {OVERALL: "~", OVERALL_COMPETENT: "~~"}  # pooled rows last within each claim
    table = table.sort_values(["claim", "name", "n_attacked"], kind="stable")
    table = (
        table.assign(_env=table.env.map(lambda e: order.get(e, e)))
        .sort_values(["claim", "name", "n_attacked", "_env", "algo"], kind="stable")
        .drop(columns="_env")
        .reset_index(drop=True)
    )
    display = pd.DataFrame(
        {
            "claim": table.claim + ": " + table.name,
            "env": [POOLED_LABELS[e] if e in POOLED_LABELS else env_label(e) for e in table.env],
            "algo": table.algo.str.upper(),
            **(
                {
                    "victims competent": [
                        f"{p:.0f}/{t:.0f}" if np.isfinite(t) and t else ""
                        for p, t in table[["victims_competent", "victims"]].to_numpy(float)
                    ]
                }
                if comp is not None
                else {}
            ),
            "agents attacked": table.n_attacked,
            "attack drop %": [
                fmt_ci(*v)
                for v in table[["attack_drop_pct", "attack_drop_pct_ci_low", "attack_drop_pct_ci_high"]].to_numpy()
            ],
            "baseline drop %": [
                fmt_ci(*v)
                for v in table[
                    ["baseline_drop_pct", "baseline_drop_pct_ci_low", "baseline_drop_pct_ci_high"]
                ].to_numpy()
            ],
            "difference (pp)": [fmt_ci(*v) for v in table[["diff_pp", "diff_pp_ci_low", "diff_pp_ci_high"]].to_numpy()],
            f"at eps = {eps:g}": table.verdict,
            "over the eps grid": table.over_eps_grid,
        }
    )
    statements = "; ".join(f"({c.number}) {c.statement}" for c in {c.number: c for c in CLAIMS}.values())
    caption = (
        f"The paper's claims on this run at eps = {eps:g}: {statements}. Max-Noise is the most "
        f"damaging of four random noises, picked per env, eps and m on the evaluation itself. "
        f"Verdict: {CLAIM_RULE.format(ci=ci)}. 'over the eps grid' counts the verdicts at every "
        "evaluated eps. "
        "All envs (mean) = mean over env x algorithm"
        + (
            "; competent victims (mean) = mean over the env x algorithm whose victims all pass their "
            "competence threshold (the victims table), the rows to read: attacks on victims that never "
            "learned the task say little."
            if comp is not None
            else "."
        )
    )
    write_table(table, stem, caption, display)
    return table


# ---- marl-eval export -----------------------------------------------------------------------


def marl_eval_name(algo: str, attack: str, eps: float, m_label) -> str:
    """marl-eval's algorithm name of one configuration: victim algorithm, attack, eps, agents."""
    return algo if attack == "benign" else f"{algo}/{attack}/eps={eps:g}/m={m_label}"


def to_marl_eval(rows: pd.DataFrame) -> dict:
    """Evaluation rows in marl-eval's raw-data layout (Gorsane et al. 2022's tools).

    ``{env family: {task: {algorithm: {run: {"step_0": {"step_count": 0, metric: [per episode]},
    "absolute_metrics": {metric: [...]}}}}}}``: env family and task split the env name at the
    first ``-`` (``vmas-balance`` -> ``vmas`` / ``balance``); an "algorithm" is one victim
    algorithm under one attack configuration (``mappo/align-mlp/eps=0.1/m=all``; benign is
    ``mappo``); a run is a victim seed (``seed_0``). The evaluation of a trained victim is one
    logging step (``step_count`` 0); its absolute metrics are the same episodes. Metrics:
    ``return`` and ``episode_length`` per episode, ``win_rate`` (one value) where the env has a win.
    """
    data: dict = {}
    team = rows[rows.attack != "benign"].groupby("env").n_attacked.max()
    for (env, algo, attack, eps, m, seed), g in rows.groupby(
        ["env", "algo", "attack", "eps", "n_attacked", "seed"], sort=True
    ):
        family, task = env.split("-", 1) if "-" in env else (env, env)
        m_label = "all" if m == team.get(env) else int(m)
        g = g.sort_values("episode")
        metrics = {"return": [float(x) for x in g["return"]], "episode_length": [int(x) for x in g["length"]]}
        if "win" in g and g["win"].notna().any():
            metrics["win_rate"] = [float(g["win"].dropna().astype(float).mean())]
        run = {"step_0": {"step_count": 0, **metrics}, "absolute_metrics": metrics}
        (data.setdefault(family, {}).setdefault(task, {}).setdefault(marl_eval_name(algo, attack, eps, m_label), {}))[
            f"seed_{seed}"
        ] = run
    return data


def export_marl_eval_rows(rows: pd.DataFrame, out: str) -> dict:
    data = to_marl_eval(rows)
    # key order kept: marl-eval reads a run's last key as its absolute metrics
    write_text(out, json.dumps(data, indent=1) + "\n")
    return data


def export_marl_eval(eval_paths: list[str], out: str) -> dict:
    """``results/{run}/marl_eval.json`` from the evaluation's row files."""
    return export_marl_eval_rows(load_eval(eval_paths), out)


def draw_figure(kind: str, summary_path: str, stem: str, victims_path: str | None = None) -> None:
    """Figure ``kind`` (a key of :data:`FIGURES`) from a summary CSV; with ``victims_path``
    (``tables/{run}/victims.csv``) panel titles say where victims fail their threshold."""
    from . import figures

    summary = pd.read_csv(summary_path)
    if kind.startswith("ablation_") and kind[len("ablation_") :] in figures.ABLATION_AXES:
        figures.plot_ablation(summary, kind[len("ablation_") :], stem)
    else:
        comp = competence(pd.read_csv(victims_path)) if victims_path else None
        getattr(figures, FIGURES[kind])(summary, stem, competence=comp)


#: figure name -> the function of marl_attacks.figures drawing it
FIGURES = {
    "return_vs_eps": "plot_return_vs_eps",
    "episode_length": "plot_episode_length",
    "ablation_architecture": "plot_architecture",
    "ablation_selection": "plot_selection",
    "ablation_samples": "plot_ablation",
    "ablation_pgd_steps": "plot_ablation",
    "ablation_n_attacked": "plot_ablation",
}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("summary", help="summary.csv from evaluation rows (or one ablation's rows)")
    s.add_argument("--eval", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--reps", type=int, default=2000)
    s.add_argument("--ci", type=float, default=0.95)
    s.add_argument("--ablation", action="store_true", help="the rows are an ablation's (one row per value)")
    f = sub.add_parser("figure")
    f.add_argument(
        "--summary",
        required=True,
        help="summary.csv (an ablation's for ablation_samples, ablation_pgd_steps, ablation_n_attacked)",
    )
    f.add_argument("--kind", default="return_vs_eps", choices=list(FIGURES))
    f.add_argument("--stem", required=True, help="output path without extension")
    f.add_argument("--victims", default=None, help="tables/{run}/victims.csv: mark panels whose victims fail")
    t = sub.add_parser("main-drop")
    t.add_argument("--summary", required=True)
    t.add_argument("--eps", type=float, required=True)
    t.add_argument("--stem", required=True)
    v = sub.add_parser("victims")
    v.add_argument("--scores", nargs="+", required=True)
    v.add_argument("--stem", required=True)
    v.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="ENV=RETURN",
        help="competence threshold of an env (repeatable)",
    )
    c = sub.add_parser("attack-cost")
    c.add_argument("--cost", nargs="+", required=True, help="the evaluation's *.cost.csv files")
    c.add_argument("--stem", required=True)
    acc = sub.add_parser("access", help="the access-assumptions table (static)")
    acc.add_argument("--stem", required=True)
    cl = sub.add_parser("claims", help="the paper's claims on the evaluation rows")
    cl.add_argument("--eval", nargs="+", required=True)
    cl.add_argument("--eps", type=float, required=True, help="eps of the table (report.drop_eps)")
    cl.add_argument("--reps", type=int, default=2000)
    cl.add_argument("--ci", type=float, default=0.95)
    cl.add_argument("--stem", required=True)
    cl.add_argument("--by-eps", default=None, help="also write every eps to this CSV")
    cl.add_argument("--victims", default=None, help="tables/{run}/victims.csv: also pool over competent victims only")
    me = sub.add_parser("marl-eval", help="evaluation rows as marl-eval's JSON")
    me.add_argument("--eval", nargs="+", required=True)
    me.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.what == "summary":
        (run_ablation_summary if a.ablation else run_summary)(a.eval, a.out, a.reps, a.ci, 0)
    elif a.what == "figure":
        draw_figure(a.kind, a.summary, a.stem, a.victims)
    elif a.what == "main-drop":
        table_main_drop(pd.read_csv(a.summary), a.eps, a.stem)
    elif a.what == "attack-cost":
        table_attack_cost(a.cost, a.stem)
    elif a.what == "access":
        table_access_assumptions(a.stem)
    elif a.what == "claims":
        table_claims(
            load_eval(a.eval), a.eps, a.reps, a.ci, 0, a.stem, a.by_eps, pd.read_csv(a.victims) if a.victims else None
        )
    elif a.what == "marl-eval":
        export_marl_eval(a.eval, a.out)
    else:
        table_victims(a.scores, a.stem, {k: float(v) for k, v in (x.split("=", 1) for x in a.threshold)})


if __name__ == "__main__":
    main()
