"""The summary's bootstrap: ``resampled_iqm`` (ranks sorted per resample) against ``trim_mean``.

``summarise`` draws, for every configuration (env x algo x attack x eps x attacked agents),
``report.bootstrap_samples`` resamples of its evaluation episodes and takes the IQM of each.
Until 2026-12-02 that IQM was ``scipy.stats.trim_mean(values[pos], 0.25, axis=1)``, a float
partition of every resample: 8.5 min of the paper run, alone on one core at its end. The package
now replaces each resampled score by its rank among the configuration's scores (16-bit ints),
sorts the ranks row by row and reads the middle half back (``stats.resampled_iqm``).

This script builds synthetic evaluation rows of the paper's shape (3 victim seeds x 30 episodes
per configuration; ``--groups`` configurations per env x algo, 2 envs x 2 algos), runs
``summarise`` on them with 50,000 resamples under each IQM, alternating, and prints the wall
seconds of each, their ratio and the largest difference between the two summaries.

    python bench/summary_bootstrap.py [--quick] [--groups 200] [--reps 50000] [--repeats 1]
"""

from __future__ import annotations

import time

import _common as C
import numpy as np
import pandas as pd
from scipy.stats import trim_mean

from marl_attacks.reporting import stats
from marl_attacks.reporting.summary import summarise

IQMS = {
    "trim_mean (before)": lambda values, pos: trim_mean(values[pos], 0.25, axis=1),
    "resampled_iqm": stats.resampled_iqm,
}


def eval_rows(groups: int, seeds: int = 3, episodes: int = 30, seed: int = 0) -> pd.DataFrame:
    """Benign rows and ``groups`` attacked configurations per env x algo, returns and lengths
    drawn per episode (a shifted mean per configuration, rounded returns: ties as in LBF)."""
    rng = np.random.default_rng(seed)
    frames = []
    for env in ("env-a", "env-b"):
        for algo in ("mappo", "qmix"):
            configs = [("benign", 0.0, 0)] + [(f"attack{g % 10}", 0.01 * (g // 10 + 1), 1) for g in range(groups)]
            for attack, eps, n in configs:
                shift = rng.normal(0, 1)
                frames.append(
                    pd.DataFrame(
                        {
                            "env": env,
                            "algo": algo,
                            "attack": attack,
                            "eps": eps,
                            "n_attacked": n,
                            "seed": np.repeat(np.arange(seeds), episodes),
                            "episode": np.tile(np.arange(episodes), seeds),
                            "return": np.round(rng.normal(10 + shift, 3, seeds * episodes), 1),
                            "length": rng.integers(10, 50, seeds * episodes),
                            "max_abs_delta": eps,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--groups", type=int, default=None, help="attacked configurations per env x algo (200; quick 25)")
    p.add_argument("--reps", type=int, default=50000, help="bootstrap resamples (config/paper.yaml: 50000)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each IQM, alternating")
    a = p.parse_args()
    groups = a.groups or (25 if a.quick else 200)
    rows = eval_rows(groups)
    print(C.machine_line(C.machine()))
    print(f"{4 * (groups + 1)} configurations x 90 episodes, {a.reps} resamples")
    seconds: dict[str, list[float]] = {name: [] for name in IQMS}
    out = {}
    for _ in range(a.repeats):
        for name, fn in IQMS.items():
            stats.resampled_iqm = fn  # PairedBootstrap.replicates looks it up at each call
            start = time.perf_counter()
            out[name] = summarise(rows, a.reps, 0.95, 0)
            seconds[name].append(time.perf_counter() - start)
            print(f"  {name:20s} {seconds[name][-1]:7.1f} s")
    stats.resampled_iqm = IQMS["resampled_iqm"]
    before, after = (out[name] for name in IQMS)
    cols = ["ci_low", "ci_high", "drop_ci_low", "drop_ci_high"]
    diff = float((before[cols] - after[cols]).abs().max().max())
    mean = {name: sum(s) / len(s) for name, s in seconds.items()}
    ratio = mean["trim_mean (before)"] / mean["resampled_iqm"]
    print(f"summarise, trim_mean / resampled_iqm: {ratio:.2f}x; largest CI difference {diff:.1e}")
    C.save(
        "summary_bootstrap",
        {"summary_trim_mean_vs_resampled_iqm": round(ratio, 2)},
        {"groups": groups, "reps": a.reps, "seconds": seconds, "max_ci_difference": diff},
        a.quick,
        a.no_save,
    )


if __name__ == "__main__":
    main()
