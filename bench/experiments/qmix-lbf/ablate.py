"""QMIX ablations on lbf-2s-8x8-3p-2f (issue 16): one variant = base.yaml's algos.qmix plus overrides.

    PYTHONPATH=src python bench/experiments/qmix-lbf/ablate.py NAME [--steps N] [--set key=value ...]
        [--tl-terminal] [--no-masks]

Writes bench/experiments/qmix-lbf/runs/NAME/{config.yaml, config_greedy.yaml, policy.pt, curve.csv,
score_sample.json, score_greedy.json} and appends a summary line to bench/experiments/qmix-lbf/results.jsonl.
--tl-terminal and --no-masks are env wrappers (EPyMARL's handling of LBF: lbforaging reports the time limit
as done=True, which its runner stores as terminated; gymma marks every action available); the rest are
QmixConfig fields.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import time
from pathlib import Path

import yaml

from marl_attacks import config as cfgmod
from marl_attacks.stages import score as score_stage
from marl_attacks.stages import train as train_stage

ENV, ALGO, SEED = "lbf-2s-8x8-3p-2f", "qmix", 0
EXP = Path(__file__).resolve().parent


class EnvWrapper:
    """Delegates to the env; optionally time limit -> termination, and no action masks."""

    def __init__(self, env, tl_terminal: bool, no_masks: bool):
        self._env, self._tl, self._nm = env, tl_terminal, no_masks
        if no_masks:
            self.has_action_masks = False

    def __getattr__(self, name):
        return getattr(self._env, name)

    def step(self, action):
        s = self._env.step(action)
        if self._tl:
            s = dataclasses.replace(s, terminated=s.terminated | s.truncated, truncated=s.truncated & False)
        return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--steps", type=int, default=500_000)
    p.add_argument("--set", nargs="*", default=[])
    p.add_argument("--tl-terminal", action="store_true")
    p.add_argument("--no-masks", action="store_true")
    p.add_argument("--seed", type=int, default=SEED)
    a = p.parse_args()
    out = EXP / "runs" / a.name
    out.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((EXP / "base.yaml").read_text())
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in a.set)}
    cfg["algos"]["qmix"].update(overrides)
    cfg["envs"][ENV]["train"]["qmix"] = {"total_steps": a.steps}
    (out / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    greedy = copy.deepcopy(cfg)
    greedy["envs"][ENV]["victim_actions"] = "greedy"
    (out / "config_greedy.yaml").write_text(yaml.safe_dump(greedy, sort_keys=False))

    make_env = train_stage.make_env
    if a.tl_terminal or a.no_masks:
        train_stage.make_env = lambda *x, **k: EnvWrapper(make_env(*x, **k), a.tl_terminal, a.no_masks)
    t0 = time.time()
    config = cfgmod.load(str(out / "config.yaml"))
    train_stage.run(
        cfgmod.train_params(config, ENV, ALGO, a.seed),
        policy_out=str(out / "policy.pt"),
        curve_out=str(out / "curve.csv"),
        threads=1,
        progress=False,
    )
    train_s = time.time() - t0
    train_stage.make_env = make_env
    scores = {}
    for mode, path in [("sample", "config.yaml"), ("greedy", "config_greedy.yaml")]:
        c = cfgmod.load(str(out / path))
        score_stage.run(
            cfgmod.score_params(c, ENV, ALGO, a.seed),
            policy=str(out / "policy.pt"),
            out=str(out / f"score_{mode}.json"),
            threads=1,
        )
        scores[mode] = json.loads((out / f"score_{mode}.json").read_text())
    import pandas as pd

    curve = pd.read_csv(out / "curve.csv")
    last = curve[curve.env_steps > curve.env_steps.max() * 0.9]
    row = {
        "name": a.name,
        "seed": a.seed,
        "steps": int(curve.env_steps.max()),
        "overrides": overrides,
        "tl_terminal": a.tl_terminal,
        "no_masks": a.no_masks,
        "train_return_last10pct": round(float(last.episode_return.mean()), 3),
        "sample_iqm": round(scores["sample"]["return_iqm"], 3),
        "sample_mean": round(scores["sample"]["return_mean"], 3),
        "greedy_iqm": round(scores["greedy"]["return_iqm"], 3),
        "greedy_mean": round(scores["greedy"]["return_mean"], 3),
        "random_mean": round(scores["sample"]["random_return_mean"], 3),
        "wall_s": round(train_s),
        "q_tot_last": round(float(last.q_tot.mean()), 2),
        "td_loss_last": round(float(last.td_loss.mean()), 2),
    }
    with open(EXP / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
