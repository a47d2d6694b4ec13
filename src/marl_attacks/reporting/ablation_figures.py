"""The ablation figures, drawn from summary tables (:func:`.summary.summarise`):

* :func:`plot_architecture` -> ``ablation_architecture``: % drop of Align per f_theta architecture
  (the attacks of the registry's figure group ``architecture``)
* :func:`plot_selection` -> ``ablation_selection``: f_theta-targeted vs random choice of agents
  (the registry's targeted attacks, :func:`~marl_attacks.attacks.selection_pairs`)
* :func:`plot_ablation` -> ``ablation_samples``, ``ablation_pgd_steps``, ``ablation_n_attacked``
  (an ablation's own summary)
* :func:`plot_victim_memory` -> ``ablation_victim_memory``: feed-forward vs GRU victims under the
  same attacks (the victim_memory ablation's summary; its data: :func:`memory_rows`)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..algos import split_variant
from ..attacks import ATTACKS, derived, in_figure, label, selection_pairs
from .plotting import (
    DROP_LABEL,
    EPS_LABEL,
    color,
    draw_bars,
    draw_line,
    env_algo_panels,
    env_title,
    finish_figure,
    no_drop_note,
    panel_grid,
    pyplot,
)
from .summary import full_team


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


#: the victim-memory figure's two victims: agent network (the ablation rows' ``value``) -> legend, hatch
NETWORKS = {"mlp": ("feed-forward victim (MLP)", None), "gru": ("recurrent victim (GRU)", "///")}


def memory_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The bars of the victim-memory figure from its ablation's summary: one row per env x algorithm x
    eps x attack x ``network`` (the victim's agent network, ``mlp`` or ``gru``: the rows' ``value``),
    every agent attacked, with the % drop of that victim's IQM return vs *its own* benign team and its
    paired CI (the summary's, per victim name: ``mappo`` and ``mappo-gru`` are two victims), and its
    ``benign_iqm``. ``algo`` is the algorithm (``mappo`` for both). The noises Max-Noise is picked
    from are left out (inputs, not compared)."""
    full = full_team(summary)
    attacked = full[full.attack != "benign"]
    inputs = {b for name, bases in derived().items() if name in set(attacked.attack) for b in bases}
    out = attacked[~attacked.attack.isin(inputs)].assign(
        algo=lambda d: d.algo.map(lambda a: split_variant(a)[0]), network=lambda d: d["value"].astype(str)
    )
    cols = ["env", "algo", "eps", "attack", "network", "drop_pct", "drop_ci_low", "drop_ci_high", "benign_iqm"]
    return out[cols].sort_values(["algo", "env", "eps", "attack", "network"]).reset_index(drop=True)


def plot_victim_memory(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """% drop of each attack on the feed-forward victim and on its GRU variant (hatched), side by
    side, 95% CI error bars; one panel per env x algo x eps, its title giving both benign IQMs.
    ``competence`` marks panels whose feed-forward victims fail their threshold (the victims table
    scores those, not the GRU variants)."""
    plt, _ = pyplot()
    rows = memory_rows(summary)
    keys = rows[["algo", "env", "eps"]].drop_duplicates()
    panels = [(e, a, eps) for a, e, eps in keys.itertuples(index=False)]
    fig, axes, cols = panel_grid(plt, panels, width=4.4, height=3.2)
    for k, (ax, (env, algo, eps)) in enumerate(zip(axes, panels)):
        here = rows[(rows.env == env) & (rows.algo == algo) & (rows.eps == eps)]
        attacks = [a for a in ATTACKS if a in set(here.attack)]
        benign = here.groupby("network").benign_iqm.first()
        for j, (network, (_, hatch)) in enumerate(NETWORKS.items()):
            d = here[here.network == network].set_index("attack").reindex(attacks)
            err = np.vstack([(d.drop_pct - d.drop_ci_low).clip(lower=0), (d.drop_ci_high - d.drop_pct).clip(lower=0)])
            ax.bar(
                np.arange(len(attacks)) + (j - 0.5) * 0.4,
                d.drop_pct,
                0.4,
                yerr=err,
                capsize=2,
                color=[color(a) for a in attacks],
                hatch=hatch,
                edgecolor="0.2",
                lw=0.5,
                error_kw={"lw": 0.8},
            )
        ax.set_xticks(np.arange(len(attacks)))
        ax.set_xticklabels([label(a) for a in attacks], rotation=30, ha="right", rotation_mode="anchor")
        ax.axhline(0, color="black", lw=0.8)
        no_drop_note(ax, here)
        iqms = ", ".join(f"{n.upper()} {benign[n]:.3g}" for n in NETWORKS if n in benign)
        ax.set_title(env_title(env, algo, competence, f", $\\epsilon$ = {eps:g}") + f"\nbenign IQM: {iqms}")
        if k % cols == 0:
            ax.set_ylabel(DROP_LABEL)
        for name, hatch in NETWORKS.values():  # the legend: one entry per victim kind (bars' colours are attacks)
            ax.bar([0], [0], 0.4, color="white", edgecolor="0.2", hatch=hatch, lw=0.5, label=name)
    finish_figure(fig, axes, stem, caption, empty="" if panels else "no victim-memory rows")
