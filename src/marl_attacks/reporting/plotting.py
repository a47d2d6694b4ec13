"""Drawing helpers shared by the figures (:mod:`.figures`, :mod:`.ablation_figures`).

An attack looks the same in every figure: its colour (seaborn's colour-blind palette), marker
and line style are its registry entry's ``style``, its legend name the entry's ``label``
(:mod:`marl_attacks.attacks`); a panel's title names the env as its registry entry does
(:func:`marl_attacks.envs.env_label`). Panels are laid out on a grid, one legend below them
all, and saved as PDF (without a creation date, so unchanged data gives unchanged bytes) and PNG.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..attacks import ATTACKS, Style, label
from ..envs import env_label
from ..io import atomic_write

#: how figures draw an attack the registry does not know
DEFAULT_STYLE = Style(7, "o", "-")
DROP_LABEL = "% drop in IQM return\nvs benign"
EPS_LABEL = r"perturbation budget $\epsilon$ ($L_\infty$)"


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)
    return plt, sns


def style(attack: str) -> Style:
    """Colour, marker and line style of ``attack``, the same in every figure."""
    entry = ATTACKS.get(attack)
    return entry.style if entry else DEFAULT_STYLE


def color(attack: str):
    import seaborn as sns

    index = style(attack).palette
    return "black" if index is None else sns.color_palette("colorblind", 10)[index]


def env_title(env: str, algo: str, competence: dict | None = None, suffix: str = "") -> str:
    """Panel title: the env as the paper writes it and the algorithm; with ``competence``
    (:func:`.tables.competence`), a second line where some of the panel's victims fail their threshold
    (attacks on a victim that never scores prove nothing)."""
    title = f"{env_label(env)} ({algo.upper()}){suffix}"
    passed, total = (competence or {}).get((env, algo), (0, 0))
    if total and passed < total:
        title += f"\n{passed} of {total} victims competent" if passed else "\nvictims not competent (below threshold)"
    return title


def save_figure(fig, stem: str) -> None:
    # no creation date in the PDF: the same data gives the same bytes, so a rerun that changes
    # nothing leaves the committed figures unchanged
    for ext in ("pdf", "png"):
        meta = {"CreationDate": None} if ext == "pdf" else None
        atomic_write(
            f"{stem}.{ext}",
            lambda fh, ext=ext, meta=meta: fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight", metadata=meta),
        )


def panel_grid(plt, panels: list, width: float = 3.6, height: float = 2.9, max_cols: int = 4):
    """A figure with one axes per panel, wrapped after ``max_cols``; unused axes hidden."""
    n = max(1, len(panels))
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n], cols


def finish_figure(fig, axes, stem: str, caption: str = "", empty: str = "") -> None:
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
    save_figure(fig, stem)
    plt.close(fig)


def env_algo_panels(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(env, algo) pairs, algorithm-major, as the panels of a figure."""
    pairs = summary[["algo", "env"]].drop_duplicates().sort_values(["algo", "env"])
    return [(e, a) for a, e in pairs.itertuples(index=False)]


def eps_span(eps: list[float]) -> list[float]:
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


def eps_axis(ax, eps: list[float]) -> None:
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


def draw_line(ax, d: pd.DataFrame, x: str, y: str, lo: str, hi: str, attack: str) -> None:
    s = style(attack)
    ax.plot(d[x], d[y], marker=s.marker, ms=5, ls=s.line, lw=1.6, color=color(attack), label=label(attack))
    ax.fill_between(d[x], d[lo], d[hi], color=color(attack), alpha=0.12, lw=0)


def no_drop_note(ax, d: pd.DataFrame) -> None:
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


def draw_bars(ax, d: pd.DataFrame, x_values: list, attacks: list[str], x: str, hatch_of=None, labels=None) -> None:
    """Grouped bars of drop_pct with CI error bars: groups = x values, one bar per attack."""
    no_drop_note(ax, d)
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
