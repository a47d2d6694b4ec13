"""Stage 1: train a victim (one env x algorithm x seed).

Writes the policy (``policy.pt`` with its provenance beside it) and the
training curve CSV. Long runs keep a resume point in ``<policy>.ckpt``
(outside the declared outputs, so a failed job leaves it for the rerun); a
rerun with the same config continues from it, and it is deleted once the
policy is written. By hand::

    python -m marl_attacks train --config config/config.yaml --env vmas-navigation \\
        --algo mappo --seed 0 --policy out/policy.pt --curve out/curve.csv
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, NamedTuple

import pandas as pd

from .. import config as cfgmod
from ..algos import ALGOS, build_config, split_variant
from ..algos.common import Checkpointer
from ..envs import make_env
from ..io import config_hash, save_artifact, write_csv
from ..lineage import policy_block, policy_seed
from ..utils import resolve_device, seed_everything, set_threads
from . import victim_parser


class TrainingRun(NamedTuple):
    """What determines a training run: its learner, seed, job seed, hyperparameters, provenance block
    and the key of its resume point (a hash of the block and the job seed)."""

    algo: str
    seed: int
    job_seed: int
    hp: Any
    block: dict
    resume_key: str


def training_run(params: dict) -> TrainingRun:
    """``params``: :func:`marl_attacks.config.train_params`."""
    victim = params["victim"]
    # a GRU variant (``mappo-gru``) is its algorithm with agent: gru (in algo_cfg); its seed comes from its name
    algo, seed = split_variant(victim["algo"])[0], victim["seed"]
    job_seed = policy_seed(params["base_seed"], victim["env"], victim["algo"], seed)
    hp = build_config(algo, params["algo_cfg"])
    block = policy_block(params["env_block"], algo, asdict(hp), seed)
    return TrainingRun(algo, seed, job_seed, hp, block, config_hash({**block, "job_seed": job_seed}))


def run(params: dict, *, policy_out: str, curve_out: str, threads: int | None = None, progress: bool = True) -> None:
    """``params``: :func:`marl_attacks.config.train_params` (env_block, victim, algo_cfg, base_seed, device)."""
    set_threads(threads)
    dev = resolve_device(params["device"])
    env, victim = params["env_block"], params["victim"]
    algo, seed, job_seed, hp, block, key = training_run(params)
    seed_everything(job_seed)
    e = make_env(
        env["name"],
        hp.num_envs,
        dev,
        max_steps=env["max_steps"],
        seed=job_seed,
        kwargs=env["kwargs"],
        backend=env.get("backend", "reference"),
    )
    if e.spec.action_type not in ALGOS[algo].action_types:
        raise ValueError(
            f"{algo} supports {' and '.join(ALGOS[algo].action_types)} actions only; "
            f"{env['name']} has {e.spec.action_type} actions"
        )
    ckpt = Checkpointer(f"{policy_out}.ckpt", key)
    policy, curve = ALGOS[algo].train(e, hp, job_seed, progress=progress, checkpoint=ckpt)
    wall = curve[-1]["wall_s"]  # training time, summed over resumed runs
    save_artifact(
        policy_out,
        {
            "algo": algo,
            "env": env["name"],
            "init_kwargs": policy.init_kwargs,
            "state_dict": policy.state_dict(),
            "train_steps": curve[-1]["env_steps"],
            "wall_seconds": wall,
        },
        block,
        job_seed,
    )
    write_csv(curve_out, pd.DataFrame(curve))
    ckpt.remove()
    print(
        f"trained {victim['algo']} on {env['name']} seed {seed}: {curve[-1]['env_steps']} steps in {wall:.1f}s "
        f"({curve[-1]['env_steps'] / max(wall, 1e-9):.0f} steps/s)"
    )


def main(argv=None) -> None:
    p = victim_parser(__doc__)
    p.add_argument("--policy", required=True, help="output policy file (.pt)")
    p.add_argument("--curve", required=True, help="output training curve (.csv)")
    a = p.parse_args(argv)
    config = cfgmod.load(a.config)
    run(cfgmod.train_params(config, a.env, a.algo, a.seed), policy_out=a.policy, curve_out=a.curve, threads=a.threads)


if __name__ == "__main__":
    main()
