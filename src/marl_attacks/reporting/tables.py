"""The tables of a run, each as ``<stem>.csv``, ``<stem>.md`` and ``<stem>.tex`` (:func:`write_table`):

* :func:`table_main_drop` -> ``tables/{run}/main_drop``: % drop per env x algo x attack, each env at the
  eps ``report.eps_rule`` picks (:mod:`.eps_rule`); ``main_drop_fixed_eps``: every env at ``report.drop_eps``
* :func:`table_victims` -> ``tables/{run}/victims``: victims vs a random policy and their threshold
* :func:`table_attack_cost` -> ``tables/{run}/attack_cost``: samples, fit time, time per attacked step
* :func:`table_access_assumptions` -> ``tables/{run}/access_assumptions``: what each attack needs

Attacks are ordered, and their access rows taken, as the attack registry
(:mod:`marl_attacks.attacks`) lists them; the claims table is :mod:`.claims`'.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..algos.recurrent import split_variant
from ..attacks import ATTACKS, Access, access_rows
from ..io import write_csv, write_text
from ..protocol import CHOICES
from .eps_rule import describe, eps_by_env, eps_label
from .stats import p_below
from .summary import full_team, load_eval


def write_table(frame: pd.DataFrame, stem: str, caption: str, display: pd.DataFrame | None = None) -> None:
    """CSV, Markdown and LaTeX versions of one table; ``display`` (e.g. values with their CIs as
    text) replaces ``frame`` in the Markdown and LaTeX versions."""
    write_csv(f"{stem}.csv", frame)
    shown = frame if display is None else display
    write_text(f"{stem}.md", f"{caption}\n\n{shown.to_markdown(index=False, floatfmt='.3g')}\n")
    latex = shown.to_latex(index=False, float_format="%.3g", caption=caption, escape=True)
    write_text(f"{stem}.tex", latex)


def fmt_ci(value: float, lo: float, hi: float, digits: int = 1) -> str:
    """``12.3 [4.5, 20.1]``; ``n/a`` for a missing value."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def table_main_drop(summary: pd.DataFrame, stem: str, params: dict) -> pd.DataFrame:
    """% drop in IQM return vs benign for each env x algo x attack (all agents attacked; one column
    per attack in the registry's order; ``config.main_drop_params``): at each env's eps under
    ``params["eps_rule"]`` (:mod:`.eps_rule`), in an ``eps`` column, to ``stem``; at ``params["eps"]``
    for every env to ``<stem>_fixed_eps``. Where an env reports wins (SMAX), a ``benign win rate``
    column and each cell's win rate. Returns the first."""
    picked = eps_by_env(summary, params["eps_rule"])
    table, wins = _drop_table(summary, picked)
    table.insert(2, "eps", [eps_label(picked[e]) for e in table.env])
    write_table(
        table,
        stem,
        f"% drop in IQM return vs benign (95% bootstrap CI), all agents attacked, {describe(params['eps_rule'])}"
        f"{wins}. Every env at eps = {params['eps']:g}: main_drop_fixed_eps",
    )
    table_main_drop_at(summary, f"{stem}_fixed_eps", params["eps"])
    return table


def table_main_drop_at(summary: pd.DataFrame, stem: str, eps: float) -> pd.DataFrame:
    """The % drop table with every env at one ``eps`` (``report.drop_eps``)."""
    table, wins = _drop_table(summary, {e: eps for e in summary.env.unique()})
    write_table(
        table, stem, f"% drop in IQM return vs benign at eps = {eps} (95% bootstrap CI), all agents attacked{wins}"
    )
    return table


def _drop_table(summary: pd.DataFrame, eps_of: dict) -> tuple[pd.DataFrame, str]:
    """env x algo rows, one column per attack: the % drop at ``eps_of[env]`` (an env whose eps is None
    keeps its rows with empty cells), with the win rates where an env reports wins; and what the
    caption adds then."""
    full = full_team(summary)
    at = full[[eps_of.get(e) is not None and np.isclose(x, eps_of[e]) for e, x in zip(full.env, full.eps)]]
    at = at[at.attack != "benign"]
    wins = "win_rate" in at and at.win_rate.notna().any()
    cells = at.assign(
        cell=[
            (f"{d:.1f} [{lo:.1f}, {hi:.1f}]" if np.isfinite(d) else "n/a (benign IQM 0)") + _win_cell(row)
            for d, lo, hi, row in zip(at.drop_pct, at.drop_ci_low, at.drop_ci_high, at.itertuples())
        ]
    )
    table = cells.pivot_table(index=["env", "algo"], columns="attack", values="cell", aggfunc="first")
    order = [a for a in ATTACKS if a in set(full.attack) and a != "benign"]
    # an env's own attack list (envs.<env>.evaluate.attacks) can leave attacks out there
    victims = pd.MultiIndex.from_frame(full[["env", "algo"]].drop_duplicates().sort_values(["env", "algo"]))
    table = table.reindex(index=victims, columns=order).astype(object).fillna("not run")
    table.loc[[eps_of.get(e) is None for e in table.index.get_level_values("env")]] = ""  # no eps: no numbers
    table = table.reset_index().rename_axis(columns=None)
    if not wins:
        return table, ""
    benign = summary[summary.attack == "benign"].groupby(["env", "algo"]).first()  # the benign team's win rate
    rates = [_win_cell(benign.loc[k], "") if k in benign.index else "" for k in zip(table.env, table.algo)]
    table.insert(2, "benign win rate", rates)
    return table, "; where the env reports wins, the win rate (95% bootstrap CI) benign and under each attack"


def _win_cell(row, prefix: str = "; win ") -> str:
    """``; win 0.45 [0.30, 0.60]`` for a summary row with a win rate, else empty."""
    rate = getattr(row, "win_rate", np.nan)
    if rate is None or not np.isfinite(rate):
        return ""
    return f"{prefix}{rate:.2f} [{row.win_ci_low:.2f}, {row.win_ci_high:.2f}]"


def _competence_caption(rule: dict) -> str:
    """What ``passed`` means under ``report.competence``, for the victims table's caption."""
    if rule["rule"] == "at_least":
        return "passed: the statistic reaches the threshold; "
    return (
        f"passed: where the threshold is a mean over episodes with its spread and count "
        f"(threshold_sd, threshold_episodes), the victim's mean return is not credibly below it (Welch's "
        f"one-sided test, p_below >= {rule['alpha']}), elsewhere the statistic reaches the threshold; "
        "passed_at_least: the statistic reaches the threshold; "
    )


def table_victims(scores: list[str], stem: str, params: dict | None = None) -> pd.DataFrame:
    """Each victim's IQM return (acting greedily or by sampling: ``victim_actions``, from its score)
    vs a uniform-random policy and its env's competence threshold (``params["thresholds"]``:
    ``config.victims_table_params``, env -> number or algorithm -> number; ``passed`` is empty where
    the config sets none; held by the IQM, or by the mean where ``params["threshold_on"]`` says so), with its
    training cost. ``params["competence"]`` (``report.competence``) says what passing means:
    ``at_least`` (the statistic reaches the threshold) or ``not_below`` (where the threshold is a mean
    over episodes whose spread and count the config gives, ``threshold_sd``/``threshold_episodes``: the
    victim's mean return is not credibly below it, Welch's one-sided test at ``alpha``: ``p_below``;
    elsewhere as ``at_least``); ``passed_at_least`` is there under either rule; ``win_rate`` and
    ``random_win_rate`` where an env reports wins (empty elsewhere; the columns appear only then).
    ``params["actions_rule"]`` (protocol ``victim_actions``) says in the caption what set how they act."""
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
        "return_std",
        "random_return_mean",
        "episodes",
    ]
    if any("win_rate" in r for r in rows):  # envs that report wins (SMAX): the win rates too
        at = cols.index("random_return_mean") + 1
        cols = cols[:at] + ["win_rate", "random_win_rate"] + cols[at:]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    frame["victim_actions"] = frame.victim_actions.astype(object).fillna("greedy")  # scores made before the key
    frame.insert(6, "steps_per_s", (frame.train_steps / frame.train_seconds.clip(lower=1e-9)).round(0))
    frame["beats_random"] = frame.return_iqm > frame.random_return
    params = params or {}
    thresholds, sources = params.get("thresholds") or {}, params.get("threshold_sources") or {}
    actions_rule = params.get("actions_rule", "per-env")

    def per_victim(mapping: dict) -> list[float]:
        """An env's value (one number) or its algorithm's (algorithm -> number) for each victim; a GRU
        variant (mappo-gru) takes its algorithm's."""
        out = []
        for env, algo in zip(frame.env, frame.algo):
            t = mapping.get(env, np.nan)
            out.append(t.get(algo, t.get(split_variant(algo)[0], np.nan)) if isinstance(t, dict) else t)
        return out

    frame["threshold"] = per_victim(thresholds)
    # the statistic the threshold holds: the IQM, or the mean where it was taken from a mean (EPyMARL's test return)
    frame["threshold_on"] = [(params.get("threshold_on") or {}).get(e, "iqm") for e in frame.env]
    held = np.where(frame.threshold_on == "mean", frame.return_mean, frame.return_iqm)
    frame["passed_at_least"] = [bool(r >= t) if t == t else pd.NA for r, t in zip(held, frame.threshold)]
    # a threshold that is a mean over episodes (EPyMARL's test return) carries their spread and count: the
    # victim's own mean over its episodes is tested against it (both are noisy: one test of 100 LBF
    # episodes has a standard error of ~0.025)
    frame["threshold_sd"] = per_victim(params.get("threshold_sd") or {})
    frame["threshold_episodes"] = per_victim(params.get("threshold_episodes") or {})
    frame["p_below"] = [
        p_below(m, s, n, t, ts, tn) if on == "mean" else np.nan
        for m, s, n, t, ts, tn, on in zip(
            frame.return_mean,
            frame.return_std,
            frame.episodes,
            frame.threshold,
            frame.threshold_sd,
            frame.threshold_episodes,
            frame.threshold_on,
        )
    ]
    competence_rule = params.get("competence") or {"rule": "at_least"}
    frame["passed"] = frame.passed_at_least
    if competence_rule["rule"] == "not_below":
        tested = frame.p_below.notna()
        frame.loc[tested, "passed"] = frame.p_below[tested] >= competence_rule["alpha"]
    frame["threshold_source"] = [sources.get(e, "") for e in frame.env]
    # where EPyMARL's own learner fails the task, ours is not held to the threshold: listed, with
    # EPyMARL's result beside it, but out of the pass rate and the competent-victim claims
    failing = params.get("not_comparable") or {}
    frame["comparable"] = [a not in failing.get(e, {}) for e, a in zip(frame.env, frame.algo)]
    frame["epymarl_result"] = [failing.get(e, {}).get(a, "") for e, a in zip(frame.env, frame.algo)]
    # whole seconds and steps/s in Markdown/LaTeX: 3 significant digits would print 1.67e+03
    display = frame.assign(**{c: frame[c].round(0).astype("Int64") for c in ("train_seconds", "steps_per_s")})
    write_table(
        frame,
        stem,
        "Victims: IQM return (greedy or sampled actions: victim_actions, set "
        f"{CHOICES['victim_actions'][actions_rule]}: protocol victim_actions = {actions_rule}) "
        "vs a uniform-random policy on the same "
        "episodes, and vs the env's competence threshold (config envs.<env>.threshold, per algorithm where "
        "it sets one; held by the IQM or the mean return: threshold_on; its source: threshold_source); "
        + _competence_caption(competence_rule)
        + "comparable = false where EPyMARL's own learner fails the task "
        "(epymarl_result; config envs.<env>.not_comparable): kept out of the pass rate and the claims; "
        "training steps, wall time (s) and env-steps/s"
        + ("; win rates (fraction of episodes won) of the victim and the random policy" if "win_rate" in frame else ""),
        display=display,
    )
    return frame


def competence(victims: pd.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    """(env, algo) -> (victims passing their competence threshold, victims scored), from
    ``tables/{run}/victims.csv``; envs without a threshold and victims marked not comparable
    (EPyMARL's own learner fails the task) are left out."""
    v = victims[victims.passed.notna()]
    if "comparable" in v:  # tables made before the column: every victim comparable
        v = v[~v.comparable.astype(str).str.lower().isin(["false", "0", "0.0"])]
    ok = v.passed.astype(str).str.lower().isin(["true", "1", "1.0"])
    return {(e, a): (int(ok[g.index].sum()), len(g)) for (e, a), g in v.groupby(["env", "algo"])}


def attack_access(name: str) -> str:
    """What the attack's threat model grants beyond live observations (cf. the paper's Table 4)."""
    entry = ATTACKS[name]
    granted = []
    if entry.align_arch:
        granted.append(f"benign samples (f_theta {entry.align_arch})")
    if entry.cls is not None and "victim" in entry.cls.needs:
        granted.append("victim weights (gradients)")
    if entry.cls is not None and "returns" in entry.cls.needs:
        granted.append("victim returns (queries, to tune the attack)")
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
    order = {a: k for k, a in enumerate(ATTACKS)}
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


# ---- access assumptions (the paper's table of threat models) -------------------------------

#: field of :class:`~marl_attacks.attacks.Access` -> its column in the table
ACCESS_COLUMNS = {
    "attack": "attack",
    "reference": "reference",
    "setting": "setting",
    "observations": "observations before the attack",
    "actions": "actions",
    "rewards": "rewards",
    "victim_model": "victim model",
    "queries": "queries",
    "samples": "samples needed",
    "perturbation": "perturbation",
    "source": "checked against",
}

#: the source of this paper's rows (the attack registry)
THIS_PAPER = "arXiv:2508.09275 (this paper), as implemented in marl_attacks.attacks"

#: prior attacks, each cell checked against the paper it cites, where in it in ``source`` (the stored
#: copies searched held their abstracts and introductions); this paper's rows come from the attack registry
PRIOR_ACCESS = [
    Access(
        "FGSM on policies",
        "Huang et al. 2017",
        "single agent",
        "no",
        "no",
        "white-box: no; black-box: the env's reward trains the attacker's own policy",
        "white-box: yes (gradients); black-box: no, a policy the attacker trains on the same task stands in",
        "white-box: no; black-box: no queries to the victim, the attacker's own training run in the env",
        "white-box: 0; black-box: the attacker's training run",
        "online: one fast-gradient-sign step, with an l_inf, l_2 or l_1 budget",
        "arXiv:1702.02284, abstract and Sec. 1 (test-time perturbation of the policy's raw input; white-box and "
        "black-box settings). Not stated there: how the black-box attacker gets its policy, the l_2/l_1 budgets",
    ),
    Access(
        "SA-MDP optimal attack / PA-AD",
        "Zhang et al. 2020 (SA-MDP); Zhang et al. 2021 (optimal attack); Sun et al. 2022 (PA-AD)",
        "single agent",
        "no",
        "no",
        "yes: the victim's reward, negated, trains the adversary",
        "optimal attack: no (the victim is part of the adversary's env); PA-AD: yes (gradients)",
        "yes: RL training runs against the victim",
        "an RL training run against the victim",
        "online: a learned adversary policy",
        "Zhang et al. 2021 (ICLR, ATLA) abstract: an optimal adversary learned by RL on the agent's reward; "
        "arXiv:2106.05087 (PA-AD) abstract: an RL director proposes policy-perturbation directions, an actor "
        "crafts the state perturbation (the victim's gradients implied, not stated); the SA-MDP (NeurIPS 2020) "
        "abstract: the framework",
    ),
    Access(
        "Adversarial policy + targeted perturbation",
        "Lin et al. 2020",
        "c-MARL",
        "no",
        "yes: learns the wrong action to force on the attacked agent",
        "yes: the team reward trains that policy",
        "yes: gradients of the attacked agent's policy (targeted adversarial examples)",
        "yes: RL training runs",
        "an RL training run",
        "online: targeted perturbation of one agent's observations",
        "arXiv:2003.03722 abstract: one agent's observations; an RL policy finds the wrong action, targeted "
        "adversarial examples force it, lowering the team reward. Not stated there: that the examples use the "
        "agent's gradients",
    ),
    Access(
        "AMI (Adversarial Minority Influence)",
        "Li et al. 2023",
        "c-MARL",
        "no",
        "yes: controls one agent's actions",
        "yes: trains the adversarial agent by RL",
        "no (black-box: no victim parameters)",
        "yes: RL training runs with the victims",
        "an RL training run",
        "actions of a controlled agent, not observations",
        "arXiv:2302.03322 abstract: black-box, launched without the victims' parameters; one adversarial agent "
        "misleads the victims; its targets found by an RL agent's trial and error. Not stated there: which reward",
    ),
    Access(
        "c-MBA (model-based attack)",
        "Pham et al. 2022",
        "c-MARL",
        "yes: transitions to fit a dynamics model",
        "yes: joint actions in those transitions",
        "no: the attack aims at a failure state",
        "yes: gradients of the agents' policies",
        "yes: collecting transitions",
        "a transition data set",
        "online: state perturbations of selected victim agents, through the learned dynamics model",
        "arXiv:2202.03558 abstract and its ICLR 2023 version: a learned dynamics model, a victim-agent selection, "
        "failure states defined from data; IBM's patent application 20240119298 abstract: dynamics model, "
        "perturbation optimiser, agent selection. Not stated there: the policies' gradients, the reward cell",
    ),
]


def table_access_assumptions(stem: str) -> pd.DataFrame:
    """What each attack needs: the registered attacks' rows (:func:`~marl_attacks.attacks.access_rows`),
    then the prior attacks' (:data:`PRIOR_ACCESS`), cf. the paper's table."""
    rows = [[getattr(row, field) for field in ACCESS_COLUMNS] for row in access_rows() + PRIOR_ACCESS]
    rows = [[*row[:-1], row[-1] or THIS_PAPER] for row in rows]
    table = pd.DataFrame(rows, columns=list(ACCESS_COLUMNS.values()))
    write_table(
        table,
        stem,
        "Access each attack needs: observations recorded before the attack, the "
        "victims' actions, rewards, the victim model (weights or gradients), queries "
        "(interaction with the victim or env to build the attack) and samples. Prior "
        "attacks as this reproduction reads their papers; the last column says where each row was checked.",
    )
    return table
