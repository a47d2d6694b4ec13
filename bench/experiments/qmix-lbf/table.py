"""bench/experiments/qmix-lbf/results.jsonl as a table."""

import json
from pathlib import Path

import pandas as pd

rows = [json.loads(line) for line in (Path(__file__).resolve().parent / "results.jsonl").read_text().splitlines()]
d = pd.DataFrame(rows)
d["seed"] = d["seed"].fillna(0).astype(int) if "seed" in d else 0
d["change"] = [
    " ".join(
        [
            *(["tl-terminal"] if r["tl_terminal"] else []),
            *(["no-masks"] if r["no_masks"] else []),
            *(f"{k}={v}" for k, v in r["overrides"].items()),
        ]
    )
    or "-"
    for r in rows
]
cols = [
    "name",
    "change",
    "seed",
    "steps",
    "train_return_last10pct",
    "sample_iqm",
    "sample_mean",
    "greedy_iqm",
    "greedy_mean",
    "q_tot_last",
    "td_loss_last",
    "wall_s",
]
print(d[cols].to_markdown(index=False))
