"""Continue a training run past its budget from one of its resume points (issue 16 probe).

EPyMARL's RWARE thresholds are the best evaluation of 40M steps; the zoo trains 20.05M. With a
constant learning rate (``anneal_lr: false``, as rware-small-4ag's MAPPO/IPPO) nothing in a run
depends on its budget but where it stops, so a run of ``--total-steps`` continued from a resume
point of the 20.05M run is that longer run: this script writes the resume point under the longer
run's key (``stages.train.training_run``'s, with the new ``total_steps``) beside ``--policy`` and
trains it there as ``python -m marl_attacks train`` would. Run again with ``<policy>.ckpt`` in place,
it continues from that (the longer run's own resume point).

    python bench/experiments/rware-small-mappo/continue_run.py --ckpt KEPT.ckpt --env rware-small-4ag \
        --algo mappo --seed 2 --total-steps 40050000 --policy /work/probe/m2_40m/policy.pt \
        --curve /work/probe/m2_40m/curve.csv
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "src"))

from marl_attacks import config as cfgmod  # noqa: E402
from marl_attacks.algos.common import Checkpointer  # noqa: E402
from marl_attacks.stages import train  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", help="a resume point of the shorter run (not needed where <policy>.ckpt exists)")
    p.add_argument("--config", default=str(ROOT / "config" / "paper.yaml"))
    p.add_argument("--env", required=True)
    p.add_argument("--algo", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--total-steps", type=int, required=True)
    p.add_argument("--policy", required=True)
    p.add_argument("--curve", required=True)
    a = p.parse_args()

    config = copy.deepcopy(cfgmod.load(a.config))
    short = cfgmod.train_params(config, a.env, a.algo, a.seed)
    if short["algo_cfg"].get("anneal_lr", True):
        sys.exit(f"{a.env}/{a.algo}: the learning rate anneals over the budget; a longer run is not a continuation")
    longer = copy.deepcopy(short)
    longer["algo_cfg"]["total_steps"] = a.total_steps

    ckpt = Checkpointer(f"{a.policy}.ckpt", train.training_run(longer).resume_key)
    if Path(ckpt.path).exists():  # the longer run's own resume point (a session ended before it did)
        state = torch.load(ckpt.path, map_location="cpu", weights_only=True)
        if state.get("key") != ckpt.key:
            sys.exit(f"{ckpt.path}: a resume point of another config; refusing to start the longer run afresh")
    elif not a.ckpt:
        sys.exit(f"no {ckpt.path} yet: --ckpt (a resume point of the shorter run) is needed")
    else:
        state = torch.load(a.ckpt, map_location="cpu", weights_only=True)
        if state.get("key") != train.training_run(short).resume_key:
            sys.exit(f"{a.ckpt}: not a resume point of {a.env}/{a.algo}/seed{a.seed} under {a.config}")
        Path(a.policy).parent.mkdir(parents=True, exist_ok=True)
        ckpt.save({k: v for k, v in state.items() if k != "key"})
    print(f"continuing {a.env}/{a.algo}/seed{a.seed} from update {state['update']} to {a.total_steps:,} steps")
    train.run(longer, policy_out=a.policy, curve_out=a.curve, threads=1)


if __name__ == "__main__":
    main()
