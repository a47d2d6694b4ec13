"""The paper's claims on a run's evaluation rows: ``tables/{run}/claims.*`` and ``claims_by_eps.csv``.

Each claim of :data:`CLAIMS` says an attack lowers the return more than a baseline on the same
episodes; :func:`claims` tests it per env x algo x eps x m and pooled over envs (and per benchmark family), with paired
stratified bootstrap CIs (the summary's resamples, :mod:`.stats`); :func:`verdict` reads the CI
(:data:`CLAIM_RULE`). :func:`table_claims` is the workflow's job (``config.claims_params``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..envs import env_family, env_label
from ..io import write_csv
from .stats import PairedBootstrap, aligned, bootstrap_seed, iqm, layout, percent_drop, percentile_ci
from .tables import competence, fmt_ci, write_table

#: the pooled rows of the claims table (``env`` column): every env x algo, or only those whose
#: victims all pass their competence threshold; and how the table names them. Runs with envs of
#: more than one benchmark family also pool each family (:func:`family_pool`).
OVERALL, OVERALL_COMPETENT = "overall", "overall-competent"
POOLED_LABELS = {OVERALL: "all envs (mean)", OVERALL_COMPETENT: "competent victims (mean)"}
FAMILY = "family:"


def family_pool(family: str, competent: bool = False) -> str:
    """The ``env`` of the pooled rows of one benchmark family: ``family:lbf``, ``family:lbf-competent``."""
    return f"{FAMILY}{family}{'-competent' if competent else ''}"


def pooled_label(env: str) -> str:
    """How the table names a row's env: the paper's label, or the pool's (``LBF envs (mean)``)."""
    if env in POOLED_LABELS:
        return POOLED_LABELS[env]
    if env.startswith(FAMILY):
        family, competent = env[len(FAMILY) :].removesuffix("-competent"), env.endswith("-competent")
        return f"{family.upper()} {'competent victims' if competent else 'envs'} (mean)"
    return env_label(env)


def _row_order(env: str) -> str:
    """Sort key of a row's env: envs, then the family pools, then the overall pools."""
    if env.startswith(FAMILY):
        return "~0" + env
    return {OVERALL: "~1", OVERALL_COMPETENT: "~2"}.get(env, env)


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


def _series(group: pd.DataFrame, pairing: dict, boot: PairedBootstrap, reps: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of the IQM return of ``group``: paired with ``pairing`` (a
    :func:`~.stats.layout`) when it ran on those episodes, else resampled on its own."""
    paired = aligned(group, "return", pairing)
    if paired is not None:
        return boot.replicates(paired)
    own = layout(group)
    return PairedBootstrap([len(v) for v in own.values()], reps, seed).replicates(aligned(group, "return", own))


def claims(rows: pd.DataFrame, reps: int, ci: float, seed: int = 0, competence: dict | None = None) -> pd.DataFrame:
    """Each claim of :data:`CLAIMS` per env x algo x eps x m, overall (mean over env x algo) and,
    where the run spans several benchmark families (:func:`~marl_attacks.envs.env_family`), per
    family (rows ``family:<family>``, :func:`family_pool`).

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
        pairing = layout(benign)
        g_seed = bootstrap_seed(seed, env, algo)
        boot = PairedBootstrap([len(v) for v in pairing.values()], reps, g_seed)
        b_rep, b_iqm = boot.replicates(aligned(benign, "return", pairing)), iqm(benign["return"])
        team = rows_ea[rows_ea.attack != "benign"].n_attacked.max()
        for k, claim in enumerate(CLAIMS):
            att = rows_ea[rows_ea.attack == claim.attack]
            for (eps, m), g_att in att.groupby(["eps", "n_attacked"], sort=True):
                if (claim.team == "all") != (m == team):
                    continue
                g_base = rows_ea[(rows_ea.attack == claim.baseline) & (rows_ea.eps == eps) & (rows_ea.n_attacked == m)]
                if g_base.empty:
                    continue
                drop_a = percent_drop(_series(g_att, pairing, boot, reps, g_seed + 1), b_rep)
                drop_b = percent_drop(_series(g_base, pairing, boot, reps, g_seed + 2), b_rep)
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
                competent = total > 0 and passed == total
                pooled.setdefault((k, eps, m_label), []).append((points, reps_by, competent, env_family(env)))
    for (k, eps, m_label), items in sorted(pooled.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        items = [it for it in items if np.isfinite(it[0]["diff"])]  # benign IQM 0: no % drop
        groups = {OVERALL: items}
        if competence is not None:
            groups[OVERALL_COMPETENT] = [it for it in items if it[2]]
        families = sorted({it[3] for it in items})
        for family in families if len(families) > 1 else []:  # one family: its pool is the overall one
            of_family = [it for it in items if it[3] == family]
            groups[family_pool(family)] = of_family
            if competence is not None:
                groups[family_pool(family, True)] = [it for it in of_family if it[2]]
        for name, group in groups.items():
            if not group:
                continue
            points = {q: float(np.mean([it[0][q] for it in group])) for q in ("attack", "baseline", "diff")}
            reps_by = {q: np.mean([it[1][q] for it in group], axis=0) for q in ("attack", "baseline", "diff")}
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
    rows: pd.DataFrame, victims: pd.DataFrame | None, stem: str, by_eps_out: str | None, params: dict
) -> pd.DataFrame:
    """The paper's claims on our data at ``params["eps"]`` (the report eps), per env x algo and
    overall, with how often each holds over the whole eps grid; ``params``: ``eps``,
    ``bootstrap_samples``, ``ci`` and ``seed`` (``config.claims_params``). ``by_eps_out``: every
    eps, as CSV. ``victims`` (``tables/{run}/victims.csv``): also pool over competent victims only."""
    eps, reps, ci, seed = params["eps"], params["bootstrap_samples"], params["ci"], params["seed"]
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
    table = table.sort_values(["claim", "name", "n_attacked"], kind="stable")
    table = (  # pooled rows last within each claim: the families', then the overall ones
        table.assign(_env=table.env.map(_row_order))
        .sort_values(["claim", "name", "n_attacked", "_env", "algo"], kind="stable")
        .drop(columns="_env")
        .reset_index(drop=True)
    )
    display = pd.DataFrame(
        {
            "claim": table.claim + ": " + table.name,
            "env": [pooled_label(e) for e in table.env],
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
        "All envs (mean) = mean over env x algorithm; <family> envs (mean) = the same over one benchmark "
        "family's envs, where the run has more than one family"
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
