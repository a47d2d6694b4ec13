"""bench/experiments/qmix-lbf/runs/*/curve.csv -> bench/experiments/qmix-lbf/curves_25k.csv: per run, the mean
training return, q_tot and td_loss of each 25k-step window (the committed record; the full curves stay in
bench/experiments/qmix-lbf/runs/, not committed)."""

from pathlib import Path

import pandas as pd

EXP = Path(__file__).resolve().parent
WIDTH = 25_000
parts = []
for curve in sorted(EXP.glob("runs/*/curve.csv")):
    c = pd.read_csv(curve)
    c["window_end"] = ((c.env_steps - 1) // WIDTH + 1).clip(upper=max(1, c.env_steps.max() // WIDTH)) * WIDTH
    g = c.groupby("window_end")[["episode_return", "q_tot", "td_loss"]].mean().round(4).reset_index()
    g.insert(0, "run", curve.parent.name)
    parts.append(g)
pd.concat(parts).to_csv(EXP / "curves_25k.csv", index=False)
print(f"{len(parts)} runs -> {EXP / 'curves_25k.csv'}")
