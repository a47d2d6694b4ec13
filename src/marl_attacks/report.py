"""Stage 5: summary statistics, figures and tables from the evaluation rows.

Each output is its own entry point, so Snakemake can rebuild one file alone:

* :func:`summarise` -> ``results/{run}/summary.csv``
* :func:`plot_return_vs_eps` -> ``figures/{run}/return_vs_eps.{pdf,png}``
* :func:`table_main_drop` -> ``tables/{run}/main_drop.{csv,md,tex}``
* :func:`table_victims` -> ``tables/{run}/victims.{csv,md,tex}``
* :func:`table_attack_cost` -> ``tables/{run}/attack_cost.{csv,md,tex}``

By hand: ``python -m marl_attacks.report summary --eval a.csv b.csv --out s.csv`` etc.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .envs import LBF_TASKS, RWARE_TASKS
from .io import atomic_write, write_csv, write_text
from .stats import iqm, stratified_bootstrap_ci

KEYS = ["env", "algo", "attack", "eps", "n_attacked"]

#: how the paper writes env names
ENV_LABELS = {
    "vmas-navigation": "VMAS Navigation",
    "vmas-balance": "VMAS Balance",
    "vmas-transport": "VMAS Transport",
    "vmas-wheel": "VMAS Wheel",
    "mpe-simple_spread": "MPE Simple Spread",
    "mpe-simple_reference": "MPE Simple Reference",
    # LBF and RWARE as the paper names tasks: "LBF 8x8-2p-2f-coop", "RWARE tiny-2ag"
    **{f"lbf-{t}": f"LBF {t}" for t in LBF_TASKS},
    **{f"rware-{t}": f"RWARE {t}" for t in RWARE_TASKS},
}
#: how the paper names each attack; also the column order of the tables
ATTACK_LABELS = {
    "benign": "Benign", "align-mlp": "Align (MLP)", "align-rnn": "Align (RNN)",
    "align-transformer": "Align (Transformer)", "robust-align": "RobustAlign",
    "targeted-align": "Targeted Align", "hadamard": "Hadamard",
    "targeted-hadamard": "Targeted Hadamard", "max-noise": "Max-Noise",
    "white-box-fgsm": "White-box FGSM", "white-box-pgd": "White-box PGD",
    "noise-uniform": "Uniform noise", "noise-gaussian": "Gaussian noise",
    "noise-exponential": "Exponential noise", "noise-ou": "OU noise",
}
FIGURE_ATTACKS = ["benign", "align-mlp", "align-rnn", "align-transformer", "robust-align", "hadamard",
                  "max-noise", "white-box-fgsm", "white-box-pgd"]


def load_eval(paths: list[str]) -> pd.DataFrame:
    frames = []
    for p in paths:
        try:
            frames.append(pd.read_csv(p))
        except Exception as exc:
            raise RuntimeError(f"{p}: cannot read evaluation rows ({exc}); delete it and rerun "
                               "the workflow to regenerate it") from exc
    return pd.concat(frames, ignore_index=True)


def summarise(rows: pd.DataFrame, reps: int, ci: float, seed: int = 0) -> pd.DataFrame:
    """One row per env, algo, attack, eps, n_attacked (see the README's data contract)."""
    out = []
    benign = {k: g for k, g in rows[rows.attack == "benign"].groupby(["env", "algo"])}
    for key, group in rows.groupby(KEYS, sort=True):
        env, algo = key[0], key[1]
        strata = [g["return"].to_numpy() for _, g in group.groupby("seed")]
        lo, hi = stratified_bootstrap_ci(strata, reps, ci, seed)
        value = iqm(group["return"])
        b = benign.get((env, algo))
        b_iqm = iqm(b["return"]) if b is not None else np.nan
        b_len = b["length"].mean() if b is not None else np.nan
        row = dict(zip(KEYS, key), iqm=value, ci_low=lo, ci_high=hi, mean=group["return"].mean(),
                   episodes=len(group), seeds=group.seed.nunique(), benign_iqm=b_iqm,
                   drop_pct=100 * (b_iqm - value) / abs(b_iqm) if b_iqm else np.nan,
                   drop_ci_low=100 * (b_iqm - hi) / abs(b_iqm) if b_iqm else np.nan,
                   drop_ci_high=100 * (b_iqm - lo) / abs(b_iqm) if b_iqm else np.nan,
                   length_mean=group["length"].mean(),
                   length_change_pct=100 * (group["length"].mean() - b_len) / b_len,
                   max_abs_delta=group["max_abs_delta"].max())
        if "win" in group and group["win"].notna().any():
            row["win_rate"] = group["win"].mean()
        out.append(row)
    return pd.DataFrame(out)


def _save_figure(fig, stem: str) -> None:
    for ext in ("pdf", "png"):
        path = f"{stem}.{ext}"
        atomic_write(path, lambda fh, ext=ext: fig.savefig(fh, format=ext, dpi=150, bbox_inches="tight"))


def plot_return_vs_eps(summary: pd.DataFrame, stem: str, caption: str = "") -> None:
    """IQM return vs eps, one panel per env (rows: algorithms), CI bands, all agents attacked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    full = summary[summary.n_attacked == summary.groupby("env").n_attacked.transform("max")]
    benign = summary[summary.attack == "benign"]
    envs, algos = sorted(summary.env.unique()), sorted(summary.algo.unique())
    attacks = [a for a in FIGURE_ATTACKS if a in set(summary.attack)]
    palette = dict(zip(attacks, sns.color_palette("colorblind", len(attacks))))
    fig, axes = plt.subplots(len(algos), len(envs), figsize=(3.4 * len(envs), 2.8 * len(algos)),
                             squeeze=False, sharex=True)
    for r, algo in enumerate(algos):
        for c, env in enumerate(envs):
            ax = axes[r][c]
            eps_all = sorted(full[(full.env == env) & (full.attack != "benign")].eps.unique())
            for attack in attacks:
                if attack == "benign":
                    b = benign[(benign.env == env) & (benign.algo == algo)]
                    if b.empty or not eps_all:
                        continue
                    x = [min(eps_all), max(eps_all)]
                    ax.plot(x, [b.iqm.iloc[0]] * 2, color=palette[attack], ls="--", label="Benign")
                    ax.fill_between(x, b.ci_low.iloc[0], b.ci_high.iloc[0], color=palette[attack], alpha=0.15)
                    continue
                d = full[(full.env == env) & (full.algo == algo) & (full.attack == attack)].sort_values("eps")
                if d.empty:
                    continue
                ax.plot(d.eps, d.iqm, marker="o", ms=3, color=palette[attack],
                        label=ATTACK_LABELS.get(attack, attack))
                ax.fill_between(d.eps, d.ci_low, d.ci_high, color=palette[attack], alpha=0.2)
            ax.set_title(f"{ENV_LABELS.get(env, env)} ({algo.upper()})", fontsize=9)
            if r == len(algos) - 1:
                ax.set_xlabel(r"perturbation budget $\epsilon$ ($L_\infty$)")
            if c == 0:
                ax.set_ylabel("IQM episodic return")
    handles, labels = {}, {}
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(l, h)
    fig.tight_layout(rect=(0, 0, 1, 0.97 if caption else 1))
    # below the panels, clear of the x labels; savefig(bbox_inches="tight") keeps it in the file
    fig.legend(list(handles.values()), list(handles.keys()), loc="upper center",
               ncol=min(len(handles), 6), frameon=False, bbox_to_anchor=(0.5, 0.0))
    if caption:
        fig.suptitle(caption, fontsize=8)
    _save_figure(fig, stem)
    plt.close(fig)


def write_table(frame: pd.DataFrame, stem: str, caption: str) -> None:
    """CSV, Markdown and LaTeX versions of one table."""
    write_csv(f"{stem}.csv", frame)
    write_text(f"{stem}.md", f"{caption}\n\n{frame.to_markdown(index=False, floatfmt='.3g')}\n")
    latex = frame.to_latex(index=False, float_format="%.3g", caption=caption, escape=True)
    write_text(f"{stem}.tex", latex)


def table_main_drop(summary: pd.DataFrame, eps: float, stem: str) -> pd.DataFrame:
    """% drop in IQM return vs benign for each env x algo x attack at ``eps`` (all agents attacked)."""
    full = summary[summary.n_attacked == summary.groupby("env").n_attacked.transform("max")]
    at = full[np.isclose(full.eps, eps) & (full.attack != "benign")]
    cells = at.assign(cell=[f"{d:.1f} [{lo:.1f}, {hi:.1f}]" for d, lo, hi in
                            zip(at.drop_pct, at.drop_ci_low, at.drop_ci_high)])
    table = cells.pivot_table(index=["env", "algo"], columns="attack", values="cell", aggfunc="first")
    order = [a for a in ATTACK_LABELS if a in table.columns and a != "benign"]
    table = table[order].reset_index()
    write_table(table, stem, f"% drop in IQM return vs benign at eps = {eps} (95% bootstrap CI), "
                             "all agents attacked")
    return table


def table_victims(scores: list[str], stem: str, thresholds: dict | None = None) -> pd.DataFrame:
    """Each victim's greedy IQM return vs a uniform-random policy and its env's competence
    threshold (``passed`` is empty where the config sets none), with its training cost."""
    rows = [json.loads(Path(p).read_text()) for p in scores]
    cols = ["env", "algo", "seed", "train_steps", "train_seconds", "return_iqm", "random_return",
            "return_mean", "random_return_mean", "episodes"]
    frame = pd.DataFrame(rows)[cols]
    frame.insert(5, "steps_per_s", (frame.train_steps / frame.train_seconds.clip(lower=1e-9)).round(0))
    frame["beats_random"] = frame.return_iqm > frame.random_return
    thresholds = thresholds or {}
    frame["threshold"] = [thresholds.get(e, np.nan) for e in frame.env]
    frame["passed"] = [bool(r >= t) if t == t else pd.NA for r, t in zip(frame.return_iqm, frame.threshold)]
    write_table(frame, stem, "Victims: greedy IQM return vs a uniform-random policy on the same "
                "episodes, and vs the env's competence threshold (config envs.<env>.threshold); "
                "training steps, wall time (s) and env-steps/s")
    return frame


def attack_access(name: str) -> str:
    """What the attack's threat model grants beyond live observations (cf. the paper's Table 4)."""
    from .attacks import ATTACKS

    entry = ATTACKS[name]
    granted = []
    if entry.align_arch:
        granted.append(f"benign samples (f_theta {entry.align_arch})")
    if "victim" in entry.cls.needs:
        granted.append("victim weights (gradients)")
    return ", ".join(granted) or "none"


def table_attack_cost(cost_paths: list[str], stem: str) -> pd.DataFrame:
    """What each attack costs, per env: samples, f_theta fit time and time per attacked step.

    Means over victims (algorithms, seeds) and numbers of attacked agents; ``fit_seconds``
    is the fit of the f_theta the attack uses (shared by attacks using the same one).
    """
    frame = load_eval(cost_paths)
    frame = frame[frame.attack != "benign"]
    table = (frame.groupby(["env", "attack"], sort=False)
             .agg(samples_used=("samples_used", "max"), fit_seconds=("fit_seconds", "mean"),
                  ms_per_attacked_step=("ms_per_attacked_step", "mean"),
                  attacked_steps=("attacked_steps", "sum"))
             .reset_index())
    order = {a: k for k, a in enumerate(ATTACK_LABELS)}
    table = table.sort_values(["env", "attack"], key=lambda c: c.map(order) if c.name == "attack" else c)
    table.insert(2, "access", [attack_access(a) for a in table.attack])
    table = table.reset_index(drop=True)
    write_table(table, stem, "Cost of each attack: benign samples used, f_theta fit time (s) and "
                             "time per attacked step (ms), means over victims")
    return table


def run_summary(eval_paths: list[str], out: str, reps: int, ci: float, seed: int) -> None:
    write_csv(out, summarise(load_eval(eval_paths), reps, ci, seed))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("summary")
    s.add_argument("--eval", nargs="+", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--reps", type=int, default=2000)
    s.add_argument("--ci", type=float, default=0.95)
    f = sub.add_parser("figure")
    f.add_argument("--summary", required=True)
    f.add_argument("--stem", required=True, help="output path without extension")
    t = sub.add_parser("main-drop")
    t.add_argument("--summary", required=True)
    t.add_argument("--eps", type=float, required=True)
    t.add_argument("--stem", required=True)
    v = sub.add_parser("victims")
    v.add_argument("--scores", nargs="+", required=True)
    v.add_argument("--stem", required=True)
    v.add_argument("--threshold", action="append", default=[], metavar="ENV=RETURN",
                   help="competence threshold of an env (repeatable)")
    c = sub.add_parser("attack-cost")
    c.add_argument("--cost", nargs="+", required=True, help="the evaluation's *.cost.csv files")
    c.add_argument("--stem", required=True)
    a = p.parse_args(argv)
    if a.what == "summary":
        run_summary(a.eval, a.out, a.reps, a.ci, 0)
    elif a.what == "figure":
        plot_return_vs_eps(pd.read_csv(a.summary), a.stem)
    elif a.what == "main-drop":
        table_main_drop(pd.read_csv(a.summary), a.eps, a.stem)
    elif a.what == "attack-cost":
        table_attack_cost(a.cost, a.stem)
    else:
        table_victims(a.scores, a.stem, {k: float(v) for k, v in
                                         (x.split("=", 1) for x in a.threshold)})


if __name__ == "__main__":
    main()
