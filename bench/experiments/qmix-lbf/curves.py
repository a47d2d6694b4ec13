"""Training return (episode_return) of runs in bench/experiments/qmix-lbf/runs/, in 100k-step windows
(250k past 600k steps), side by side."""

import sys
from pathlib import Path

import pandas as pd

EXP = Path(__file__).resolve().parent
runs = sys.argv[1:] or sorted(p.name for p in (EXP / "runs").iterdir() if (p / "curve.csv").exists())
width = (
    100_000
    if len(sys.argv) < 2 or max(pd.read_csv(EXP / "runs" / r / "curve.csv").env_steps.max() for r in runs) <= 600_000
    else 250_000
)
cols = {}
for r in runs:
    c = pd.read_csv(EXP / "runs" / r / "curve.csv")
    c["w"] = (((c.env_steps - 1) // width + 1).clip(upper=max(1, c.env_steps.max() // width))) * width // 1000
    cols[r] = c.groupby("w").episode_return.mean().round(2)
print(f"training return (mean of curve rows) per {width // 1000}k-step window, k steps:")
print(pd.DataFrame(cols).to_string())
