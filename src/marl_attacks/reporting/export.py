"""The evaluation rows in marl-eval's raw-data layout: ``results/{run}/marl_eval.json``.

marl-eval (Gorsane et al. 2022) aggregates and plots runs from this JSON; :func:`to_marl_eval`
builds it, :func:`export_marl_eval` is the workflow's job (``export_marl_eval``).
"""

from __future__ import annotations

import json

import pandas as pd

from ..envs import ENVS
from ..io import write_text
from .summary import load_eval


def family_task(env: str) -> tuple[str, str]:
    """marl-eval's environment and task of ``env``: its registry entry's family and task; an
    unregistered name is split at its first ``-`` (``vmas-balance`` -> ``vmas`` / ``balance``)."""
    if env in ENVS:
        return ENVS[env].family, ENVS[env].task
    family, task = env.split("-", 1) if "-" in env else (env, env)
    return family, task


def marl_eval_name(algo: str, attack: str, eps: float, m_label) -> str:
    """marl-eval's algorithm name of one configuration: victim algorithm, attack, eps, agents."""
    return algo if attack == "benign" else f"{algo}/{attack}/eps={eps:g}/m={m_label}"


def to_marl_eval(rows: pd.DataFrame) -> dict:
    """Evaluation rows in marl-eval's raw-data layout (Gorsane et al. 2022's tools).

    ``{env family: {task: {algorithm: {run: {"step_0": {"step_count": 0, metric: [per episode]},
    "absolute_metrics": {metric: [...]}}}}}}``: env family and task from the env registry
    (:func:`family_task`: ``vmas-balance`` -> ``vmas`` / ``balance``); an "algorithm" is one victim
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
        family, task = family_task(env)
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
