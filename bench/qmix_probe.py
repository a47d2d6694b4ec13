"""QMIX/VDN learning probe: train on one env, print train return per fifth, q_tot, greedy return.

Usage: PYTHONPATH=src OMP_NUM_THREADS=1 python bench/qmix_probe.py ENV STEPS "dict(n_step=5, ...)"
(keys: QmixConfig fields, plus max_steps, env_kwargs, vdn=True, seed).
"""

import math
import sys
import time

import torch

from marl_attacks.algos.qmix import QmixConfig, VdnConfig, train
from marl_attacks.envs import make_env
from marl_attacks.rollout import run_episodes

torch.set_num_threads(1)
env_name = sys.argv[1]
steps = int(sys.argv[2])
kw = eval(sys.argv[3]) if len(sys.argv) > 3 else {}
ms = int(kw.pop("max_steps", 50 if "lbf" in env_name else 25))
ekw = kw.pop("env_kwargs", {})
seed = int(kw.pop("seed", 0))
cls = VdnConfig if kw.pop("vdn", False) else QmixConfig
cfg = cls(total_steps=steps, **kw)
env = make_env(env_name, cfg.num_envs, max_steps=ms, kwargs=ekw)
t = time.time()
pol, curve = train(env, cfg, seed=seed, progress=False)
el = time.time() - t
n = len(curve)
for a, b in [(0, n // 5), (n // 5, 2 * n // 5), (2 * n // 5, 3 * n // 5), (3 * n // 5, 4 * n // 5), (4 * n // 5, n)]:
    rs = [r["episode_return"] for r in curve[a:b] if not math.isnan(r["episode_return"])]
    qs = [r.get("q_tot", float("nan")) for r in curve[a:b]]
    print(curve[b - 1]["env_steps"], "train_ret %.3f" % (sum(rs) / max(1, len(rs))), f"q_tot {qs[-1]:.2f}", flush=True)
eenv = make_env(env_name, 50, max_steps=ms, kwargs=ekw)
g = run_episodes(eenv, pol.act, list(range(1000, 1050))).returns
print(f"greedy mean {g.mean().item():.3f}", f"time {el:.0f}")
