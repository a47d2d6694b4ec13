"""The victim-vs-random check behind ``tables/{run}/victims.csv``.

The victim (acting as in the evaluation: ``victim_actions``) and a uniform-random
policy play the evaluation's benign episodes (the same env seeds and action
streams), so a victim's score is its benign evaluation; ``envs.<env>.score_episodes``
scores it on more (the evaluation's episodes first, then more seeds of the same stream).
By hand::

    python -m marl_attacks score --config config/config.yaml --env vmas-navigation --algo mappo \\
        --seed 0 --policy zoo/paper/vmas-navigation/mappo/seed0/policy.pt --out score.json
"""

from __future__ import annotations

import torch

from .. import config as cfgmod
from ..envs import make_env
from ..io import write_json
from ..reporting.stats import iqm
from ..rollout import run_episodes, victim_actor
from ..utils import derive_seed, resolve_device, set_threads
from ..victims import load_victim
from . import victim_parser
from .evaluate import action_seeds, episode_seeds


def score_victim(env: dict, policy, episodes: int, base_seed: int, device) -> dict:
    """IQM return of the victim (acting as ``env["victim_actions"]`` says) and of a uniform-random
    policy on the eval seeds, and both win rates where the env reports wins: the victim's
    episodes are the evaluation's benign ones. The victim's per-episode returns are kept too
    (``returns``; their standard deviation ``return_std``), for a test against a threshold that is
    itself a mean over episodes (``report.competence``)."""
    victim_actions = env["victim_actions"]
    e = make_env(
        env["name"],
        episodes,
        device,
        max_steps=env["max_steps"],
        kwargs=env["kwargs"],
        backend=env.get("backend", "reference"),
    )
    seeds = episode_seeds(base_seed, env["name"], episodes)
    victim = run_episodes(
        e, victim_actor(policy, victim_actions, action_seeds(base_seed, env["name"], episodes)), seeds
    )
    gen = torch.Generator().manual_seed(derive_seed(base_seed, "random-policy", env["name"]))
    rand = run_episodes(e, lambda obs, avail: e.random_actions(gen, avail), seeds)
    wins = {}
    if victim.win is not None:  # envs that report wins (SMAX): the win rates too
        wins = {"win_rate": float(victim.win.float().mean()), "random_win_rate": float(rand.win.float().mean())}
    return {
        "return_iqm": iqm(victim.returns.numpy()),
        "return_mean": float(victim.returns.mean()),
        "return_std": float(victim.returns.double().std()) if episodes > 1 else 0.0,  # ddof 1
        "returns": [round(float(r), 6) for r in victim.returns],
        "random_return": iqm(rand.returns.numpy()),
        "random_return_mean": float(rand.returns.mean()),
        **wins,
        "episodes": episodes,
        "victim_actions": victim_actions,
    }


def run(params: dict, *, policy: str, out: str, threads: int | None = None) -> None:
    """``params``: :func:`marl_attacks.config.score_params` (env with how the victim acts, victim,
    episodes, base_seed, device, expect_policy)."""
    set_threads(threads)
    dev = resolve_device(params["device"])
    victim_policy, payload = load_victim(policy, dev, expect=params["expect_policy"])
    score = score_victim(params["env_block"], victim_policy, params["episodes"], params["base_seed"], dev)
    train = {"train_steps": payload["train_steps"], "train_seconds": payload["wall_seconds"]}
    write_json(out, {**params["victim"], **train, **score})
    print(score)


def main(argv=None) -> None:
    p = victim_parser(__doc__)
    p.add_argument("--policy", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    config = cfgmod.load(a.config)
    run(cfgmod.score_params(config, a.env, a.algo, a.seed), policy=a.policy, out=a.out, threads=a.threads)


if __name__ == "__main__":
    main()
