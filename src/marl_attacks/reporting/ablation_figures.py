"""The ablation figures, drawn from summary tables (:func:`.summary.summarise`):

* :func:`plot_architecture` -> ``ablation_architecture``: % drop of Align per f_theta architecture
  (the attacks of the registry's figure group ``architecture``)
* :func:`plot_selection` -> ``ablation_selection``: f_theta-targeted vs random choice of agents
  (the registry's targeted attacks, :func:`~marl_attacks.attacks.selection_pairs`)
* :func:`plot_ablation` -> ``ablation_samples``, ``ablation_pgd_steps``, ``ablation_n_attacked``
  (an ablation's own summary)
"""

from __future__ import annotations

import pandas as pd

from ..attacks import ATTACKS, derived, in_figure, selection_pairs
from .plotting import (
    DROP_LABEL,
    EPS_LABEL,
    draw_bars,
    draw_line,
    env_algo_panels,
    env_title,
    finish_figure,
    full_team,
    no_drop_note,
    panel_grid,
    pyplot,
)


def architecture_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Full-team rows of the Align variants, of the envs that ran two or more of them: where a
    config runs the other architectures on a few envs only (config/paper.yaml), envs with
    Align-MLP alone compare nothing."""
    full = full_team(summary)
    full = full[full.attack.isin(in_figure("architecture"))]
    n_arch = full.groupby(["env", "algo"]).attack.transform("nunique")
    return full[n_arch > 1] if (n_arch > 1).any() else full


def plot_architecture(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """% drop of Align with each f_theta architecture (MLP, RNN, Transformer; and the adversarially
    trained MLP of RobustAlign) at every eps, all agents attacked, 95% CI error bars."""
    plt, _ = pyplot()
    full = architecture_rows(summary)
    attacks = [a for a in in_figure("architecture") if a in set(full.attack)]
    panels = env_algo_panels(full)
    fig, axes, cols = panel_grid(plt, panels, width=4.0)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        draw_bars(ax, here, sorted(here.eps.unique()), attacks, "eps")
        ax.set_title(env_title(env, algo, competence))
        ax.set_xlabel(EPS_LABEL)
        if k % cols == 0:
            ax.set_ylabel(DROP_LABEL)
    finish_figure(fig, axes, stem, caption, empty="" if panels else "no Align attacks evaluated")


def selection_labels() -> dict[str, str]:
    """Legend of the selection figure: each targeted attack and the attack it is compared with,
    named by the base attack's access-table name ("Align, random agents", "Align, agents picked
    by f_theta")."""
    labels = {}
    for base, targeted in selection_pairs():
        name = ATTACKS[base].access.attack
        labels[base] = f"{name}, random agents"
        labels[targeted] = name + r", agents picked by $f_\theta$"
    return labels


def plot_selection(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """Targeted (f_theta chooses the m agents) vs random choice (m agents at random per episode),
    for each targeted attack of the registry (Align and Hadamard): % drop at every eps, one panel
    per env x algo x m (m < team size)."""
    plt, _ = pyplot()
    pairs = selection_pairs()
    attacks = [a for pair in pairs for a in pair if a in set(summary.attack)]
    n = summary[summary.attack != "benign"].groupby("env").n_attacked.max()
    part = summary[summary.attack.isin(attacks) & (summary.n_attacked < summary.env.map(n))]
    panels = [
        (e, a, m)
        for (a, e, m) in part[["algo", "env", "n_attacked"]]
        .drop_duplicates()
        .sort_values(["algo", "env", "n_attacked"])
        .itertuples(index=False)
    ]
    fig, axes, cols = panel_grid(plt, panels, width=4.0)
    hatch = {targeted: "//" for _, targeted in pairs}
    for k, (ax, (env, algo, m)) in enumerate(zip(axes, panels)):
        here = part[(part.env == env) & (part.algo == algo) & (part.n_attacked == m)]
        draw_bars(ax, here, sorted(here.eps.unique()), attacks, "eps", hatch_of=hatch, labels=selection_labels())
        ax.set_title(env_title(env, algo, competence, f", {m} of {n[env]} attacked"))
        ax.set_xlabel(EPS_LABEL)
        if k % cols == 0:
            ax.set_ylabel(DROP_LABEL)
    finish_figure(
        fig,
        axes,
        stem,
        caption,
        empty="" if panels else "no targeted attacks with fewer agents than the team evaluated",
    )


#: x axis of each ablation: the summary column, its label and whether it is log-scaled
ABLATION_AXES = {
    "samples": ("value", r"benign samples used to fit $f_\theta$", True),
    "pgd_steps": ("value", "PGD steps K (K = 1 is FGSM)", True),
    "n_attacked": ("n_attacked", "number of attacked agents m", False),
}


def plot_ablation(summary: pd.DataFrame, ablation: str, stem: str, caption: str = "") -> None:
    """% drop vs the ablated setting (``ABLATION_AXES``), one line per attack, 95% CI bands;
    one panel per env x algo x eps. ``samples`` adds a row with f_theta's validation MSE."""
    plt, _ = pyplot()
    x, xlabel, log = ABLATION_AXES[ablation]
    attacked = summary[summary.attack != "benign"]
    # the noises max-noise is picked from are inputs, not part of the ablation
    inputs = {b for name, bases in derived().items() if name in set(attacked.attack) for b in bases}
    attacks = [a for a in ATTACKS if a in set(attacked.attack) - inputs]
    keys = attacked[["algo", "env", "eps"]].drop_duplicates().sort_values(["algo", "env", "eps"])
    panels = [(e, a, eps) for a, e, eps in keys.itertuples(index=False)]
    with_mse = ablation == "samples" and "val_mse" in attacked
    fig, axes, cols = panel_grid(plt, panels * (2 if with_mse else 1), height=2.9)
    for k, (env, algo, eps) in enumerate(panels):
        ax = axes[k]
        here = attacked[(attacked.env == env) & (attacked.algo == algo) & (attacked.eps == eps)]
        values = sorted(here[x].unique())
        for attack in attacks:
            d = here[here.attack == attack].sort_values(x)
            if not d.empty:
                draw_line(ax, d, x, "drop_pct", "drop_ci_low", "drop_ci_high", attack)
        ax.axhline(0, color="black", lw=0.8)
        no_drop_note(ax, here)
        ax.set_title(f"{env_title(env, algo)}, $\\epsilon$ = {eps:g}")
        for a in [ax] + ([axes[k + len(panels)]] if with_mse else []):
            if log:
                a.set_xscale("log")
                a.minorticks_off()
            a.set_xticks(values)
            a.set_xticklabels([f"{v:g}" for v in values])
            a.set_xlabel(xlabel)
        if k % cols == 0:
            ax.set_ylabel(DROP_LABEL)
        if with_mse:
            mse_ax = axes[k + len(panels)]
            d = here.groupby(x, as_index=False).val_mse.mean()
            mse_ax.plot(d[x], d.val_mse, marker="o", color="0.3", lw=1.6)
            mse_ax.set_title(f"{env_title(env, algo)}: " + r"$f_\theta$ fit")
            if k % cols == 0:
                mse_ax.set_ylabel(r"$f_\theta$ validation MSE" + "\n(mean over agents)")
    finish_figure(fig, axes, stem, caption, empty="" if panels else "no ablation rows")
