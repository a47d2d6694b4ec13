"""The paper's claims on a run's evaluation rows: ``tables/{run}/claims.*`` and ``claims_by_eps.csv``.

Each claim of :data:`CLAIMS` says an attack lowers the return more than a baseline on the same
episodes; :func:`claims` tests it per env x algo x eps x m and pooled over envs (and per benchmark family), with paired
stratified bootstrap CIs (the summary's resamples, :mod:`.stats`); :func:`verdict` reads the CI
(:data:`CLAIM_RULE`). :func:`table_claims` is the workflow's job (``config.claims_params``): each env
at the eps ``report.eps_rule`` picks (``claims.*``), and every env at ``report.drop_eps``
(``claims_fixed_eps.*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..envs import env_family, env_label
from ..io import write_csv
from .eps_rule import describe, eps_by_env, eps_label, rule_summary
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


def claim_attacks() -> list[str]:
    """The attacks the claims read: each claim's attack and baseline."""
    return list(dict.fromkeys(a for c in CLAIMS for a in (c.attack, c.baseline)))


def claims(
    rows: pd.DataFrame,
    reps: int,
    ci: float,
    seed: int = 0,
    competence: dict | None = None,
    eps_by_env: dict | None = None,
) -> pd.DataFrame:
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
    With ``eps_by_env`` (env -> eps or None, :func:`.eps_rule.eps_by_env`): each env at its eps
    only, pooled over them (``eps`` NaN on pooled rows), and an env without one keeps its rows
    with no numbers (verdict :data:`NO_EPS_VERDICT`).
    """
    return pool(claim_items(rows, reps, ci, seed, competence), ci, competence is not None, eps_by_env)


#: the verdict of an env where the eps rule picks no eps
NO_EPS_VERDICT = "no eps"


def claim_items(rows: pd.DataFrame, reps: int, ci: float, seed: int = 0, competence: dict | None = None) -> list:
    """Per env x algo x claim x eps x m: ``(claim index, row, points, replicates, competent)``, the
    table row and what :func:`pool` averages (the bootstrap runs here, once for both views)."""
    items = []
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
                items.append((k, row, points, reps_by, total > 0 and passed == total, env_family(env)))
    return items


def pool(items: list, ci: float, with_competence: bool, eps_by_env: dict | None = None) -> pd.DataFrame:
    """The rows of :func:`claim_items` and their pooled rows: per eps, or with ``eps_by_env`` each env
    at its eps (see :func:`claims`)."""
    per_env = eps_by_env is not None
    out, pooled = [], {}
    for k, row, points, reps_by, competent, family in items:
        if per_env:
            eps = eps_by_env.get(row["env"])
            if eps is None or not np.isclose(row["eps"], eps):
                continue
        out.append(row)
        key = (k, np.nan if per_env else row["eps"], row["n_attacked"])
        pooled.setdefault(key, []).append((points, reps_by, competent, family))
    if per_env:  # an env without an eps keeps one row per claim and m, with no numbers
        missing = {
            (k, r["env"], r["algo"], r["n_attacked"]): r for k, r, *_ in items if eps_by_env.get(r["env"]) is None
        }
        for _, r in sorted(missing.items(), key=lambda kv: tuple(map(str, kv[0]))):
            blank = {c: (np.nan if isinstance(v, float) else v) for c, v in r.items()}
            out.append({**blank, "verdict": NO_EPS_VERDICT})
    for (k, eps, m_label), group in sorted(
        pooled.items(), key=lambda kv: (kv[0][0], np.nan_to_num(kv[0][1]), kv[0][2])
    ):
        group = [g for g in group if np.isfinite(g[0]["diff"])]  # benign IQM 0: no % drop
        groups = {OVERALL: group}
        if with_competence:
            groups[OVERALL_COMPETENT] = [g for g in group if g[2]]
        families = sorted({g[3] for g in group})
        for family in families if len(families) > 1 else []:  # one family: its pool is the overall one
            of_family = [g for g in group if g[3] == family]
            groups[family_pool(family)] = of_family
            if with_competence:
                groups[family_pool(family, True)] = [g for g in of_family if g[2]]
        for name, members in groups.items():
            if not members:
                continue
            points = {q: float(np.mean([g[0][q] for g in members])) for q in ("attack", "baseline", "diff")}
            reps_by = {q: np.mean([g[1][q] for g in members], axis=0) for q in ("attack", "baseline", "diff")}
            row = _claim_row(CLAIMS[k], name, "all", eps, m_label, points, reps_by, ci)
            row["n_envs"] = len(members)
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
    victims: pd.DataFrame | None,
    stem: str,
    by_eps_out: str | None,
    params: dict,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's claims on our data, per env x algo and overall, with how often each holds over the
    whole eps grid: each env at the eps ``params["eps_rule"]`` picks (:mod:`.eps_rule`, read from
    ``summary``, by default the rows' own) to ``stem``; every env at ``params["eps"]`` to
    ``<stem>_fixed_eps``; every eps to ``by_eps_out`` (CSV). ``params``: ``config.claims_params``.
    ``victims`` (``tables/{run}/victims.csv``): also pool over competent victims only. Returns the
    first table."""
    reps, ci, seed = params["bootstrap_samples"], params["ci"], params["seed"]
    comp = competence(victims) if victims is not None else None
    items = claim_items(rows, reps, ci, seed, comp)
    full = pool(items, ci, comp is not None)
    if by_eps_out:
        write_csv(by_eps_out, full)
    if full.empty:
        table = pd.DataFrame(columns=["claim", "name", "env", "algo", "n_attacked", "eps", "verdict"])
        for path in (stem, f"{stem}_fixed_eps"):
            write_table(table, path, "No claim could be evaluated: the evaluation lacks its attacks.")
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
    fixed = _ordered(full[np.isclose(full.eps, params["eps"])].merge(counts, on=keys, how="left"))
    _write_view(fixed, f"{stem}_fixed_eps", comp is not None, ci, f"at eps = {params['eps']:g}")
    rule = params["eps_rule"]
    picked = eps_by_env(rule_summary(rows, rule, params) if summary is None else summary, rule)
    table = _ordered(pool(items, ci, comp is not None, picked).merge(counts, on=keys, how="left"))
    _write_view(table, stem, comp is not None, ci, describe(rule))
    return table


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    table = table.sort_values(["claim", "name", "n_attacked"], kind="stable")
    return (  # pooled rows last within each claim: the families', then the overall ones
        table.assign(_env=table.env.map(_row_order))
        .sort_values(["claim", "name", "n_attacked", "_env", "algo"], kind="stable")
        .drop(columns="_env")
        .reset_index(drop=True)
    )


def _eps_cell(env: str, eps: float) -> str:
    """The eps column of the per-env view: the row's eps, ``none``, or ``per env`` on a pooled row."""
    return "per env" if env in POOLED_LABELS or env.startswith(FAMILY) else eps_label(eps)


def _write_view(table: pd.DataFrame, stem: str, with_competence: bool, ci: float, at: str) -> None:
    """One claims table; ``at`` says at which eps (one for all: ``at eps = ...``; else the rule,
    and an ``eps`` column gives each row's)."""
    per_env = not at.startswith("at eps")

    def text(col: str) -> list[str]:
        return [fmt_ci(*v) for v in table[[col, f"{col}_ci_low", f"{col}_ci_high"]].to_numpy()]

    competent = [
        f"{p:.0f}/{t:.0f}" if np.isfinite(t) and t else ""
        for p, t in table.reindex(columns=["victims_competent", "victims"]).to_numpy(float)
    ]
    display = pd.DataFrame(
        {
            "claim": table.claim + ": " + table.name,
            "env": [pooled_label(e) for e in table.env],
            "algo": table.algo.str.upper(),
            **({"victims competent": competent} if with_competence else {}),
            **({"eps": [_eps_cell(e, x) for e, x in zip(table.env, table.eps)]} if per_env else {}),
            "agents attacked": table.n_attacked,
            "attack drop %": text("attack_drop_pct"),
            "baseline drop %": text("baseline_drop_pct"),
            "difference (pp)": text("diff_pp"),
            ("at its eps" if per_env else at): table.verdict,
            "over the eps grid": table.over_eps_grid,
        }
    )
    statements = "; ".join(f"({c.number}) {c.statement}" for c in {c.number: c for c in CLAIMS}.values())
    caption = (
        f"The paper's claims on this run, {at}: {statements}. Max-Noise is the most "
        f"damaging of four random noises, picked per env, eps and m on the evaluation itself. "
        f"Verdict: {CLAIM_RULE.format(ci=ci)}. 'over the eps grid' counts the verdicts at every "
        "evaluated eps. "
        "All envs (mean) = mean over env x algorithm"
        + (" (each at its eps)" if per_env else "")
        + "; <family> envs (mean) = the same over one benchmark family's envs, where the run has more than one family"
        + (
            "; competent victims (mean) = mean over the env x algorithm whose victims all pass their "
            "competence threshold (the victims table), the rows to read: attacks on victims that never "
            "learned the task say little."
            if with_competence
            else "."
        )
    )
    write_table(table, stem, caption, display)
