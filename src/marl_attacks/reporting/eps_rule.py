"""The eps each env is reported at (config ``report.eps_rule``), picked from the evaluation summary.

The paper reports each env at one eps chosen from the white-box curve, by a rule it does not state.
Ours is fixed in the config before any result is read: the smallest eps of the env's grid at which
``attack`` (all agents attacked) lowers the benign IQM return by at least ``min_drop`` (a
fraction), in the mean of the % drops over the env's attacked algorithms (one eps per env, as
the paper). An env where no eps meets it (the attack never bites that much, was not run there, or
the benign IQM is 0 so there is no % drop) gets none, and its tables say so instead of leaving it out.
:func:`chosen_eps` reads a summary (:func:`.summary.summarise`); ``main_drop`` (:mod:`.tables`) and
``claims`` (:mod:`.claims`) report each env at its eps, their ``*_fixed_eps`` versions at
``report.drop_eps``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .summary import full_team, summarise

#: the eps column of an env where no eps meets the rule
NO_EPS = "none"


def chosen_eps(summary: pd.DataFrame, rule: dict) -> pd.DataFrame:
    """One row per env of ``summary``: ``eps`` (NaN where none meets ``rule``), ``rule_drop_pct`` (the
    mean % drop under the rule's attack there) and ``note`` (why there is none)."""
    full = full_team(summary)
    out = []
    for env in sorted(summary.env.unique()):
        curve = full[(full.env == env) & (full.attack == rule["attack"])]
        drops = curve.groupby("eps").drop_pct.mean().dropna().sort_index()  # mean over algorithms
        reached = drops[drops >= 100 * rule["min_drop"]]
        if len(reached):
            eps = float(reached.index[0])
            out.append({"env": env, "eps": eps, "rule_drop_pct": float(reached.iloc[0]), "note": ""})
            continue
        if curve.empty:
            note = f"{rule['attack']} not run"
        elif drops.empty:
            note = "benign IQM 0: no % drop"
        else:
            note = f"{rule['attack']} lowers the return by at most {drops.max():.1f}%"
        out.append({"env": env, "eps": np.nan, "rule_drop_pct": np.nan, "note": note})
    return pd.DataFrame(out, columns=["env", "eps", "rule_drop_pct", "note"])


def rule_summary(rows: pd.DataFrame, rule: dict, params: dict) -> pd.DataFrame:
    """The summary rows :func:`chosen_eps` reads (benign and the rule's attack) of evaluation rows, with
    the bootstrap of ``params`` (``bootstrap_samples``, ``ci``, ``seed``), where no summary file is at hand."""
    picked = rows[rows.attack.isin(["benign", rule["attack"]])]
    return summarise(picked, params["bootstrap_samples"], params["ci"], params["seed"])


def eps_by_env(summary: pd.DataFrame, rule: dict) -> dict[str, float | None]:
    """env -> its eps under ``rule``, None where there is none."""
    picked = chosen_eps(summary, rule)
    return {e: (float(x) if np.isfinite(x) else None) for e, x in zip(picked.env, picked.eps)}


def eps_label(eps: float | None) -> str:
    """The eps column of a table: the value, or :data:`NO_EPS`."""
    return NO_EPS if eps is None or not np.isfinite(eps) else f"{eps:g}"


def describe(rule: dict) -> str:
    """The rule in words, for captions."""
    return (
        f"each env at the smallest eps of its grid where {rule['attack']} (all agents) lowers the benign "
        f"IQM return by at least {100 * rule['min_drop']:g}% (mean over the env's algorithms; "
        f"config report.eps_rule); '{NO_EPS}' where no eps does"
    )
