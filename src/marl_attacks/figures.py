"""The paper's figures, drawn from summary tables (``report.summarise``).

One function per figure, each writing ``<stem>.pdf`` and ``<stem>.png``:

* :func:`plot_return_vs_eps` -> ``return_vs_eps``: IQM return vs eps (the paper's Figure 1)
* :func:`plot_episode_length` -> ``episode_length``: % change in episode length vs eps
* :func:`plot_architecture` -> ``ablation_architecture``: % drop of Align per f_theta architecture
* :func:`plot_selection` -> ``ablation_selection``: f_theta-targeted vs random choice of agents
* :func:`plot_ablation` -> ``ablation_samples``, ``ablation_pgd_steps``, ``ablation_n_attacked``

Every figure has one panel per env x victim algorithm (env names as the paper
writes them), 95% CIs as bands or error bars, one legend for all panels below
them, and the same colour and marker for an attack in every figure (seaborn's
colour-blind palette). Drawn by ``python -m marl_attacks.report figure ...``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .io import atomic_write
from .report import ATTACK_LABELS, FIGURE_ATTACKS, env_label

#: colour-blind palette index, marker and line style of each attack, fixed across figures
STYLE = {
    "benign": (None, "", "--"),
    "align-mlp": (0, "o", "-"),
    "align-rnn": (9, "v", "-"),
    "align-transformer": (2, "^", "-"),
    "robust-align": (4, "D", "-"),
    "targeted-align": (0, "o", ":"),
    "hadamard": (1, "s", "-"),
    "targeted-hadamard": (1, "s", ":"),
    "max-noise": (7, "X", "-"),
    "noise-uniform": (7, "x", ":"),
    "noise-gaussian": (8, "P", ":"),
    "noise-exponential": (5, "*", ":"),
    "noise-ou": (6, "h", ":"),
    "white-box-fgsm": (3, "p", "-"),
    "white-box-pgd": (3, "d", "-."),
}
DROP_LABEL = "% drop in IQM return\nvs benign"
EPS_LABEL = r"perturbation budget $\epsilon$ ($L_\infty$)"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    return plt, sns


def color(attack: str):
    import seaborn as sns

    index = STYLE.get(attack, (7, "o", "-"))[0]
    return "black" if index is None else sns.color_palette("colorblind", 10)[index]


def label(attack: str) -> str:
    return ATTACK_LABELS.get(attack, attack)


def env_title(env: str, algo: str, competence: dict | None = None, suffix: str = "") -> str:
    """Panel title: the env as the paper writes it and the algorithm; with ``competence``
    (:func:`competence`), a second line where some of the panel's victims fail their threshold
    (attacks on a victim that never scores prove nothing)."""
    title = f"{env_label(env)} ({algo.upper()}){suffix}"
    passed, total = (competence or {}).get((env, algo), (0, 0))
    if total and passed < total:
        title += f"\n{passed} of {total} victims competent" if passed else "\nvictims not competent (below threshold)"
    return title


def _save(fig, stem: str) -> None:
    # no creation date in the PDF: the same data gives the same bytes, so a rerun that changes
    # nothing leaves the committed figures unchanged
    for ext in ("pdf", "png"):
        meta = {"CreationDate": None} if ext == "pdf" else None
        atomic_write(
            f"{stem}.{ext}",
            lambda fh, ext=ext, meta=meta: fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight", metadata=meta),
        )


def _grid(plt, panels: list, width: float = 3.6, height: float = 2.9, max_cols: int = 4):
    """A figure with one axes per panel, wrapped after ``max_cols``; unused axes hidden."""
    n = max(1, len(panels))
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n], cols


def _finish(fig, axes, stem: str, caption: str = "", empty: str = "") -> None:
    """One legend below all panels, an optional title, then save and close."""
    import matplotlib.pyplot as plt

    handles = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    if not axes or empty:
        ax = fig.add_subplot(111) if not axes else axes[0]
        ax.text(0.5, 0.5, empty or "no data", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout(rect=(0, 0, 1, 0.95 if caption else 1))
    if handles:
        # below the panels, clear of the x labels; savefig(bbox_inches="tight") keeps it in the file;
        # as many columns as fit under the panels
        cols = len({round(ax.get_position().x0, 3) for ax in axes}) if axes else 1
        fig.legend(
            list(handles.values()),
            list(handles.keys()),
            loc="upper center",
            ncol=min(len(handles), {1: 2, 2: 3}.get(cols, 5)),
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
    if caption:
        fig.suptitle(caption, fontsize=10)
    _save(fig, stem)
    plt.close(fig)


def _full_team(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows with every agent attacked (n_attacked = the env's team size)."""
    attacked = summary[summary.attack != "benign"]
    n = attacked.groupby("env").n_attacked.max()
    return summary[(summary.attack == "benign") | (summary.n_attacked == summary.env.map(n))]


def _panels(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(env, algo) pairs, algorithm-major, as the panels of a figure."""
    pairs = summary[["algo", "env"]].drop_duplicates().sort_values(["algo", "env"])
    return [(e, a) for a, e in pairs.itertuples(index=False)]


def _eps_span(eps: list[float]) -> list[float]:
    """x extent of a benign line: the eps grid, or around its one value."""
    return [min(eps), max(eps)] if len(eps) > 1 else [eps[0] / 1.5, eps[0] * 1.5]


def sparse_log_labels(values: list[float], min_ratio: float = 1.55) -> list[str]:
    """Tick labels for ticks at every value of a log axis (0.02, 0.04, 0.06, 0.08, 0.1 ... would
    overlap): the 1-2-5 values (0.02, 0.1, 0.2, 0.5, 1) where the grid has three or more, else
    each value at least ``min_ratio`` above the last labelled one; the other ticks stay blank."""

    def one_two_five(v: float) -> bool:
        mantissa = v / 10 ** np.floor(np.log10(v))
        return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5))

    if sum(map(one_two_five, values)) >= 3:
        return [f"{v:g}" if one_two_five(v) else "" for v in values]
    labels, last = [], None
    for v in values:
        keep = last is None or v / last >= min_ratio or v == values[-1] and v / last >= 1.2
        labels.append(f"{v:g}" if keep else "")
        last = v if keep else last
    return labels


def _eps_axis(ax, eps: list[float]) -> None:
    """Log x axis when the grid spans a decade or more (the paper's grid 0.02 .. 1), ticks at the grid;
    one eps (an env evaluated at a single budget) sits in the middle of its panel."""
    eps = sorted(e for e in eps if e > 0)
    if not eps:
        return
    if len(eps) == 1:
        ax.set_xscale("log")
        ax.set_xlim(eps[0] / 1.5, eps[0] * 1.5)
        ax.set_xticks(eps)
        ax.set_xticklabels([f"{eps[0]:g}"])
        ax.minorticks_off()
    elif eps[-1] / eps[0] >= 8:
        ax.set_xscale("log")
        ax.set_xticks(eps)
        ax.set_xticklabels(sparse_log_labels(eps))
        ax.minorticks_off()
    ax.set_xlabel(EPS_LABEL)


def _line(ax, d: pd.DataFrame, x: str, y: str, lo: str, hi: str, attack: str) -> None:
    _, marker, ls = STYLE.get(attack, (7, "o", "-"))
    ax.plot(d[x], d[y], marker=marker, ms=5, ls=ls, lw=1.6, color=color(attack), label=label(attack))
    ax.fill_between(d[x], d[lo], d[hi], color=color(attack), alpha=0.12, lw=0)


def plot_return_vs_eps(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """IQM return vs eps, one panel per env x algo, all agents attacked, 95% CI bands.

    Benign is the dashed line with its CI band; Align (each f_theta), Hadamard, Max-Noise
    and the white-box upper bound are lines.
    """
    plt, _ = _plt()
    full = _full_team(summary)
    attacks = [a for a in FIGURE_ATTACKS if a in set(summary.attack)]
    panels = _panels(summary)
    fig, axes, cols = _grid(plt, panels)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        eps_all = sorted(here[here.attack != "benign"].eps.unique())
        for attack in attacks:
            d = here[here.attack == attack].sort_values("eps")
            if d.empty or not eps_all:
                continue
            if attack == "benign":
                x = _eps_span(eps_all)
                ax.plot(x, [d.iqm.iloc[0]] * 2, color=color(attack), ls="--", lw=1.6, label=label(attack))
                ax.fill_between(x, d.ci_low.iloc[0], d.ci_high.iloc[0], color=color(attack), alpha=0.1, lw=0)
                continue
            _line(ax, d, "eps", "iqm", "ci_low", "ci_high", attack)
        if len(here) and np.allclose(here[["iqm", "ci_low", "ci_high"]].fillna(0), 0):
            ax.text(0.5, 0.75, "every episode returns 0", ha="center", transform=ax.transAxes, fontsize=9, color="0.3")
        ax.set_title(env_title(env, algo, competence))
        _eps_axis(ax, eps_all)
        if k % cols == 0:
            ax.set_ylabel("IQM episodic return")
    _finish(fig, axes, stem, caption)


def plot_episode_length(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """% change in mean episode length vs benign, vs eps (all agents attacked), 95% CI bands.

    Envs with a fixed horizon (MPE, VMAS without early termination) show a flat zero line,
    marked in the panel.
    """
    plt, _ = _plt()
    full = _full_team(summary)
    full = full[full.attack != "benign"]
    attacks = [a for a in FIGURE_ATTACKS if a in set(full.attack)]
    panels = _panels(full)
    fig, axes, cols = _grid(plt, panels)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        for attack in attacks:
            d = here[here.attack == attack].sort_values("eps")
            if not d.empty:
                _line(ax, d, "eps", "length_change_pct", "length_change_ci_low", "length_change_ci_high", attack)
        ax.axhline(0, color="black", lw=0.8)
        if np.allclose(here.length_change_pct.fillna(0), 0) and np.allclose(
            here[["length_change_ci_low", "length_change_ci_high"]].fillna(0), 0
        ):
            ax.text(
                0.5, 0.9, "episode length never changes", ha="center", transform=ax.transAxes, fontsize=9, color="0.3"
            )
            ax.set_ylim(-1, 1)
        ax.set_title(env_title(env, algo, competence))
        _eps_axis(ax, sorted(here.eps.unique()))
        if k % cols == 0:
            ax.set_ylabel("% change in episode length\nvs benign")
    _finish(fig, axes, stem, caption)


def _no_drop_note(ax, d: pd.DataFrame) -> None:
    """Say so in a panel where no % drop exists (the benign IQM return is 0, e.g. a failing victim)."""
    if len(d) and d.drop_pct.isna().all():
        ax.text(
            0.5,
            0.75,
            "no % drop: the benign\nIQM return is 0",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=9,
            color="0.3",
        )


def _bars(ax, d: pd.DataFrame, x_values: list, attacks: list[str], x: str, hatch_of=None, labels=None) -> None:
    """Grouped bars of drop_pct with CI error bars: groups = x values, one bar per attack."""
    _no_drop_note(ax, d)
    width = 0.8 / max(1, len(attacks))
    for j, attack in enumerate(attacks):
        a = d[d.attack == attack].set_index(x).reindex(x_values)
        pos = np.arange(len(x_values)) - 0.4 + width * (j + 0.5)
        err = np.vstack([(a.drop_pct - a.drop_ci_low).clip(lower=0), (a.drop_ci_high - a.drop_pct).clip(lower=0)])
        ax.bar(
            pos,
            a.drop_pct,
            width,
            yerr=err,
            capsize=2,
            color=color(attack),
            hatch=(hatch_of or {}).get(attack),
            edgecolor="white" if not hatch_of else "0.2",
            lw=0.5,
            label=(labels or {}).get(attack, label(attack)),
            error_kw={"lw": 0.8},
        )
    ax.set_xticks(np.arange(len(x_values)))
    many = len(x_values) > 6  # e.g. ten eps values: upright labels run into each other
    ax.set_xticklabels(
        [f"{v:g}" for v in x_values],
        rotation=45 if many else 0,
        ha="right" if many else "center",
        rotation_mode="anchor" if many else "default",
    )
    ax.axhline(0, color="black", lw=0.8)


ARCH_ATTACKS = ["align-mlp", "align-rnn", "align-transformer", "robust-align"]


def architecture_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Full-team rows of the Align variants, of the envs that ran two or more of them: where a
    config runs the other architectures on a few envs only (config/paper.yaml), envs with
    Align-MLP alone compare nothing."""
    full = _full_team(summary)
    full = full[full.attack.isin(ARCH_ATTACKS)]
    n_arch = full.groupby(["env", "algo"]).attack.transform("nunique")
    return full[n_arch > 1] if (n_arch > 1).any() else full


def plot_architecture(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """% drop of Align with each f_theta architecture (MLP, RNN, Transformer; and the adversarially
    trained MLP of RobustAlign) at every eps, all agents attacked, 95% CI error bars."""
    plt, _ = _plt()
    full = architecture_rows(summary)
    attacks = [a for a in ARCH_ATTACKS if a in set(full.attack)]
    panels = _panels(full)
    fig, axes, cols = _grid(plt, panels, width=4.0)
    for k, (ax, (env, algo)) in enumerate(zip(axes, panels)):
        here = full[(full.env == env) & (full.algo == algo)]
        _bars(ax, here, sorted(here.eps.unique()), attacks, "eps")
        ax.set_title(env_title(env, algo, competence))
        ax.set_xlabel(EPS_LABEL)
        if k % cols == 0:
            ax.set_ylabel(DROP_LABEL)
    _finish(fig, axes, stem, caption, empty="" if panels else "no Align attacks evaluated")


SELECTION_PAIRS = [("align-mlp", "targeted-align"), ("hadamard", "targeted-hadamard")]
SELECTION_LABELS = {
    "align-mlp": "Align, random agents",
    "targeted-align": r"Align, agents picked by $f_\theta$",
    "hadamard": "Hadamard, random agents",
    "targeted-hadamard": r"Hadamard, agents picked by $f_\theta$",
}


def plot_selection(summary: pd.DataFrame, stem: str, caption: str = "", competence: dict | None = None) -> None:
    """Targeted (f_theta chooses the m agents) vs random choice (m agents at random per episode),
    for Align and Hadamard: % drop at every eps, one panel per env x algo x m (m < team size)."""
    plt, _ = _plt()
    attacks = [a for pair in SELECTION_PAIRS for a in pair if a in set(summary.attack)]
    n = summary[summary.attack != "benign"].groupby("env").n_attacked.max()
    part = summary[summary.attack.isin(attacks) & (summary.n_attacked < summary.env.map(n))]
    panels = [
        (e, a, m)
        for (a, e, m) in part[["algo", "env", "n_attacked"]]
        .drop_duplicates()
        .sort_values(["algo", "env", "n_attacked"])
        .itertuples(index=False)
    ]
    fig, axes, cols = _grid(plt, panels, width=4.0)
    hatch = {"targeted-align": "//", "targeted-hadamard": "//"}
    for k, (ax, (env, algo, m)) in enumerate(zip(axes, panels)):
        here = part[(part.env == env) & (part.algo == algo) & (part.n_attacked == m)]
        _bars(ax, here, sorted(here.eps.unique()), attacks, "eps", hatch_of=hatch, labels=SELECTION_LABELS)
        ax.set_title(env_title(env, algo, competence, f", {m} of {n[env]} attacked"))
        ax.set_xlabel(EPS_LABEL)
        if k % cols == 0:
            ax.set_ylabel(DROP_LABEL)
    _finish(
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
    from .attacks import derived

    plt, _ = _plt()
    x, xlabel, log = ABLATION_AXES[ablation]
    attacked = summary[summary.attack != "benign"]
    # the noises max-noise is picked from are inputs, not part of the ablation
    inputs = {b for name, bases in derived().items() if name in set(attacked.attack) for b in bases}
    attacks = [a for a in ATTACK_LABELS if a in set(attacked.attack) - inputs]
    keys = attacked[["algo", "env", "eps"]].drop_duplicates().sort_values(["algo", "env", "eps"])
    panels = [(e, a, eps) for a, e, eps in keys.itertuples(index=False)]
    with_mse = ablation == "samples" and "val_mse" in attacked
    fig, axes, cols = _grid(plt, panels * (2 if with_mse else 1), height=2.9)
    for k, (env, algo, eps) in enumerate(panels):
        ax = axes[k]
        here = attacked[(attacked.env == env) & (attacked.algo == algo) & (attacked.eps == eps)]
        values = sorted(here[x].unique())
        for attack in attacks:
            d = here[here.attack == attack].sort_values(x)
            if not d.empty:
                _line(ax, d, x, "drop_pct", "drop_ci_low", "drop_ci_high", attack)
        ax.axhline(0, color="black", lw=0.8)
        _no_drop_note(ax, here)
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
    _finish(fig, axes, stem, caption, empty="" if panels else "no ablation rows")
