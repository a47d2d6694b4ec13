"""Stage 2: record benign joint observations of a trained victim.

Rollouts of the unattacked team, acting as in the evaluation (greedy, or sampled
with ``victim_actions: sample``); one sample is all agents'
observations at one step (``[n_agents, obs_dim]``). The file keeps the
episode index and step of each sample so recurrent f_theta can use episodes.
By hand::

    python -m marl_attacks collect --config config/config.yaml --env vmas-navigation --algo mappo \\
        --seed 0 --policy zoo/paper/vmas-navigation/mappo/seed0/policy.pt --out out/samples.pt
"""

from __future__ import annotations

import torch
from tqdm import tqdm

from .. import config as cfgmod
from .. import lineage
from ..envs import make_env
from ..io import save_artifact
from ..rollout import run_episodes, victim_actor
from ..utils import derive_seed, resolve_device, seed_everything, set_threads
from ..victims import load_victim
from . import victim_parser


def collect(env, policy, n_samples: int, seed: int, progress: bool = True, victim_actions: str = "greedy") -> dict:
    """Run batches of episodes until ``n_samples`` live steps are recorded."""
    obs, episode, step = [], [], []
    got, batch_index = 0, 0
    bar = tqdm(total=n_samples, desc="collect", unit="sample", disable=not progress)
    while got < n_samples:
        B = env.num_envs
        seeds = [derive_seed(seed, "collect", batch_index, b) for b in range(B)]
        streams = [derive_seed(seed, "collect-actions", batch_index, b) for b in range(B)]
        res = run_episodes(env, victim_actor(policy, victim_actions, streams), seeds, record=True)
        for t, (o, alive) in enumerate(zip(res.observations, res.alive_masks)):
            idx = alive.nonzero().flatten()
            obs.append(o[idx])
            episode.append(idx + batch_index * B)
            step.append(torch.full((len(idx),), t))
        got = sum(len(x) for x in obs)
        bar.n = min(got, n_samples)
        bar.refresh()
        batch_index += 1
    bar.close()
    # order by episode then step, then keep the first n_samples
    obs, episode, step = torch.cat(obs), torch.cat(episode), torch.cat(step)
    order = torch.argsort(episode * (env.spec.max_steps + 1) + step)[:n_samples]
    return {"obs": obs[order].float(), "episode": episode[order], "step": step[order]}


def run(params: dict, *, policy: str, out: str, threads: int | None = None, progress: bool = True) -> None:
    """``params``: :func:`marl_attacks.config.collect_params`: the env (with ``victim_actions``:
    ``greedy`` or ``sample``, see :func:`marl_attacks.rollout.victim_actor`), the victim (its
    env, algo and seed name the job; seeds derive from them, never from paths), ``collect``
    (n_samples, num_envs), and ``expect_policy``: refuse a policy made by another config or for
    another victim."""
    set_threads(threads)
    dev = resolve_device(params["device"])
    env, victim, settings = params["env_block"], params["victim"], params["collect"]
    victim_policy, meta = load_victim(policy, dev, expect=params["expect_policy"])
    seed = lineage.samples_seed(params["base_seed"], victim["env"], victim["algo"], victim["seed"])
    seed_everything(seed)
    e = make_env(
        env["name"],
        settings["num_envs"],
        dev,
        max_steps=env["max_steps"],
        seed=seed,
        kwargs=env["kwargs"],
        backend=env.get("backend", "reference"),
    )
    samples = collect(e, victim_policy, settings["n_samples"], seed, progress, env["victim_actions"])
    block = lineage.samples_block(env, settings, meta["meta"]["config_hash"])
    save_artifact(out, samples, block, seed)
    print(f"collected {len(samples['obs'])} samples from {int(samples['episode'].unique().numel())} episodes")


def main(argv=None) -> None:
    p = victim_parser(__doc__)
    p.add_argument("--policy", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    config = cfgmod.load(a.config)
    run(cfgmod.collect_params(config, a.env, a.algo, a.seed), policy=a.policy, out=a.out, threads=a.threads)


if __name__ == "__main__":
    main()
