"""The paper's figures, drawn from summary tables (:func:`.summary.summarise`).

One function per figure, each writing ``<stem>.pdf`` and ``<stem>.png``:

* :func:`plot_return_vs_eps` -> ``return_vs_eps``: IQM return vs eps (the paper's Figure 1)
* :func:`plot_episode_length` -> ``episode_length``: % change in episode length vs eps
* :func:`plot_win_rate_vs_eps` -> ``win_rate_vs_eps``: win rate vs eps, envs that report wins (SMAX)
* :func:`~.ablation_figures.plot_architecture` -> ``ablation_architecture``: % drop of Align per f_theta
* :func:`~.ablation_figures.plot_selection` -> ``ablation_selection``: f_theta-targeted vs random agents
* :func:`~.ablation_figures.plot_ablation` -> ``ablation_samples``, ``ablation_pgd_steps``, ``ablation_n_attacked``
* :func:`~.ablation_figures.plot_victim_memory` -> ``ablation_victim_memory``: feed-forward vs GRU victims

:data:`FIGURES` names them all; :func:`draw_figure` draws one from a summary CSV (the workflow's
``figure_*`` jobs, ``python -m marl_attacks report figure ...``). Every figure has one panel per
env x victim algorithm (env names as the env registry writes them), 95% CIs as bands or error
bars, one legend for all panels below them, and the attacks the registry puts in its figure
group, each in its registry style (:mod:`.plotting`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..attacks import in_figure, label
from .ablation_figures import ABLATION_AXES, plot_ablation, plot_architecture, plot_selection, plot_victim_memory
from .plotting import (
    color,
    draw_line,
    env_algo_panels,
    env_title,
    eps_axis,
    eps_span,
    finish_figure,
    panel_grid,
    pyplot,
)
from .summary import full_team
from .tables import competence


def plot_return_vs_eps(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """IQM return vs eps, one panel per env x algo, all agents attacked, 95% CI bands.

    Benign is the dashed line with its CI band; the other attacks of figure group ``eps_curves``
    (the registry's: Align with each f_theta, Hadamard, Max-Noise and the white-box upper bound)
    are lines.
    """
    plt, _ = pyplot()
    full = full_team(summary)
    attacks = [a for a in in_figure("eps_curves") if a in set(summary.attack)]
    panels = env_algo_panels(summary)
    fig, axes, cols = panel_grid(plt, panels)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        eps_all = draw_eps_curves(ax, here, attacks, ("iqm", "ci_low", "ci_high"))
        if len(here) and np.allclose(here[["iqm", "ci_low", "ci_high"]].fillna(0), 0):
            ax.text(0.5, 0.75, "every episode returns 0", ha="center", transform=ax.transAxes, fontsize=9, color="0.3")
        ax.set_title(env_title(env, algo, competence))
        eps_axis(ax, eps_all)
        if k % cols == 0:
            ax.set_ylabel("IQM episodic return")
    finish_figure(fig, axes, stem, caption)


def plot_episode_length(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """% change in mean episode length vs benign, vs eps (all agents attacked), 95% CI bands.

    Envs with a fixed horizon (MPE, VMAS without early termination) show a flat zero line,
    marked in the panel.
    """
    plt, _ = pyplot()
    full = full_team(summary)
    full = full[full.attack != "benign"]
    attacks = [a for a in in_figure("eps_curves") if a in set(full.attack)]
    panels = env_algo_panels(full)
    fig, axes, cols = panel_grid(plt, panels)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        for attack in attacks:
            d = here[here.attack == attack].sort_values("eps")
            if not d.empty:
                draw_line(ax, d, "eps", "length_change_pct", "length_change_ci_low", "length_change_ci_high", attack)
        ax.axhline(0, color="black", lw=0.8)
        if np.allclose(here.length_change_pct.fillna(0), 0) and np.allclose(
            here[["length_change_ci_low", "length_change_ci_high"]].fillna(0), 0
        ):
            ax.text(
                0.5, 0.9, "episode length never changes", ha="center", transform=ax.transAxes, fontsize=9, color="0.3"
            )
            ax.set_ylim(-1, 1)
        ax.set_title(env_title(env, algo, competence))
        eps_axis(ax, sorted(here.eps.unique()))
        if k % cols == 0:
            ax.set_ylabel("% change in episode length\nvs benign")
    finish_figure(fig, axes, stem, caption)


def plot_win_rate_vs_eps(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """Win rate vs eps, one panel per env x algo whose env reports wins (SMAX), all agents
    attacked, 95% CI bands; the attacks of :func:`plot_return_vs_eps`, benign dashed. A run
    without such envs gets a figure saying so."""
    plt, _ = pyplot()
    full = full_team(summary)
    if "win_rate" in full:
        full = full[full.env.isin(set(full.env[full.win_rate.notna()]))]
    else:
        full = full.iloc[0:0]
    attacks = [a for a in in_figure("eps_curves") if a in set(full.attack)]
    panels = env_algo_panels(full)
    fig, axes, cols = panel_grid(plt, panels)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        eps_all = draw_eps_curves(ax, here, attacks, ("win_rate", "win_ci_low", "win_ci_high"))
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(env_title(env, algo, competence))
        eps_axis(ax, eps_all)
        if k % cols == 0:
            ax.set_ylabel("win rate")
    finish_figure(fig, axes, stem, caption, empty="" if panels else "no env of this run reports wins")


#: figure name -> the function drawing it (the ablations' take the ablation's name, see draw_figure)
FIGURES: dict[str, Callable] = {
    "return_vs_eps": plot_return_vs_eps,
    "episode_length": plot_episode_length,
    "win_rate_vs_eps": plot_win_rate_vs_eps,
    "ablation_architecture": plot_architecture,
    "ablation_selection": plot_selection,
    "ablation_samples": plot_ablation,
    "ablation_pgd_steps": plot_ablation,
    "ablation_n_attacked": plot_ablation,
    "ablation_victim_memory": plot_victim_memory,
}


def draw_figure(kind: str, summary_path: str, stem: str, victims_path: str | None = None) -> None:
    """Figure ``kind`` (a key of :data:`FIGURES`) from a summary CSV; with ``victims_path``
    (``tables/{run}/victims.csv``) panel titles say where victims fail their threshold."""
    summary = pd.read_csv(summary_path)
    ablation = kind[len("ablation_") :] if kind.startswith("ablation_") else None
    if ablation in ABLATION_AXES:
        plot_ablation(summary, ablation, stem)
    else:
        comp = competence(pd.read_csv(victims_path)) if victims_path else None
        FIGURES[kind](summary, stem, competence=comp)


def draw_eps_curves(ax, here, attacks, columns) -> list:
    """One panel's curves vs eps: each attack's ``columns`` (value, CI low, CI high) as a line with
    its CI band, benign (one value for every eps) as a dashed level across the eps span. Returns the
    panel's eps grid (attacks' eps)."""
    value, low, high = columns
    eps_all = sorted(here[here.attack != "benign"].eps.unique())
    for attack in attacks:
        d = here[here.attack == attack].sort_values("eps")
        if d.empty or not eps_all:
            continue
        if attack == "benign":
            x = eps_span(eps_all)
            ax.plot(x, [d[value].iloc[0]] * 2, color=color(attack), ls="--", lw=1.6, label=label(attack))
            ax.fill_between(x, d[low].iloc[0], d[high].iloc[0], color=color(attack), alpha=0.1, lw=0)
            continue
        draw_line(ax, d, "eps", value, low, high, attack)
    return eps_all
