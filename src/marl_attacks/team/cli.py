"""Command line of the attack-your-own-team API: ``python -m marl_attacks attack --help``.

Runs a team (a victim trained by ``python -m marl_attacks train``, or uniform-random agents) on a
PettingZoo or VMAS env, benign and under a registered attack, and prints both mean returns. Every
episode (benign samples for f_theta, benign and attacked evaluation) runs through
:func:`marl_attacks.rollout.run_episodes`, the loop of the pipeline's evaluation, on the adapters of
:mod:`marl_attacks.team.adapters`. Episode ``e`` of the evaluation starts from seed ``--seed + e``
under both runs, and random agents draw the same actions in both, so only the attack differs.
"""

from __future__ import annotations

import argparse
import importlib
import json

import torch

from ..alignment import FitConfig, fit, load_align_model
from ..attacks import ATTACKS, AttackContext, make_attack, runnable_names
from ..attacks import attack_kwargs as _check_params
from ..envs.base import BatchedEnv
from ..io import load_artifact
from ..rollout import run_episodes, victim_actor
from ..victims import load_victim
from .adapters import ParallelEnvAdapter, VmasEnvAdapter

#: most PettingZoo instances stepped side by side (one per episode)
MAX_INSTANCES = 32


class EnvPool:
    """Adapters of ``--env``: VMAS, one env of its ``num_envs``; PettingZoo, ``size`` instances."""

    def __init__(self, name: str, kwargs: dict, seed: int):
        self.name, self.kwargs, self.seed, self.cache = name, kwargs, seed, {}
        if name.startswith("vmas:"):
            import vmas

            kw = {"num_envs": 8, "max_steps": 100, "continuous_actions": False, **kwargs}
            self.vmas = VmasEnvAdapter(vmas.make_env(name[5:], seed=seed, **kw))
        else:
            self.vmas, self.module = None, importlib.import_module(name)

    def batch_size(self, episodes: int) -> int:
        return self.vmas.num_envs if self.vmas else min(episodes, MAX_INSTANCES)

    def get(self, size: int) -> BatchedEnv:
        if self.vmas:
            return self.vmas
        if size not in self.cache:
            instances = [self.module.parallel_env(**self.kwargs) for _ in range(size)]
            self.cache[size] = ParallelEnvAdapter(instances, seed=self.seed)
        return self.cache[size]


def rollouts(pool: EnvPool, victim, episodes: int, seed: int, attack=None, eps=0.0, attacked=None, record=False):
    """``episodes`` episodes (seeds ``seed + e``) in batches; returns per-episode returns, max |delta|
    and (``record``) the recorded samples ``{obs, episode, step}`` as the collect stage writes them."""
    returns, deltas, obs, episode, step = [], [], [], [], []
    B = pool.batch_size(episodes)
    for start in range(0, episodes, B):
        env = pool.get(B if pool.vmas else min(B, episodes - start))
        seeds = [seed + start + b for b in range(env.num_envs)]
        if victim is not None:
            act = victim_actor(victim, "greedy", seeds)
        else:  # the same random actions in every run of these episodes
            gen = torch.Generator().manual_seed(seed + start)
            act = lambda o, avail, env=env, gen=gen: env.random_actions(gen, avail)
        kw = {}
        if attack is not None:
            mask = attacked.expand(env.num_envs, -1)
            kw = dict(attack=attack, eps=torch.full((env.num_envs,), float(eps)), attacked=attack.choose_targets(mask))
        res = run_episodes(env, act, seeds, record=record, **kw)
        keep = min(env.num_envs, episodes - start)  # VMAS runs whole batches; extra episodes are dropped
        returns.append(res.returns[:keep])
        deltas.append(res.max_abs_delta[:keep])
        for t, (o, alive) in enumerate(zip(res.observations or [], res.alive_masks or [])):
            idx = alive[:keep].nonzero().flatten()
            obs.append(o[idx])
            episode.append(idx + start)
            step.append(torch.full((len(idx),), t))
    samples = None
    if record:
        obs, episode, step = torch.cat(obs), torch.cat(episode), torch.cat(step)
        order = torch.argsort(episode * (int(step.max()) + 1) + step)
        samples = {"obs": obs[order].float(), "episode": episode[order], "step": step[order]}
    return torch.cat(returns), torch.cat(deltas), samples


def agent_indices(tokens: list[str] | None, names: list[str], p: argparse.ArgumentParser) -> torch.Tensor:
    """``[n]`` bool mask of the attacked agents (names, or indices; None: all)."""
    mask = torch.zeros(len(names), dtype=torch.bool)
    if tokens is None:
        return ~mask
    for tok in tokens:
        if tok in names:
            mask[names.index(tok)] = True
        elif tok.isdigit() and int(tok) < len(names):
            mask[int(tok)] = True
        else:
            p.error(f"--attacked: unknown agent '{tok}'; agents: {', '.join(names)} (or indices 0..{len(names) - 1})")
    if not mask.any():
        p.error("--attacked: at least one agent")
    return mask


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m marl_attacks attack",
        description="Attack your own team: run a team on a PettingZoo or VMAS env, benign and "
        "under a registered attack, and print both mean returns. Attacks that need "
        "f_theta fit it first on benign samples (recorded here, or --samples/--align). "
        "For a policy of your own, use the Python API (marl_attacks.team).",
    )
    p.add_argument(
        "--env", required=True, help="module with parallel_env() (e.g. mpe2.simple_spread_v3) or vmas:<scenario>"
    )
    p.add_argument("--env-kwargs", default="{}", type=json.loads, help="JSON keyword arguments of the env")
    p.add_argument(
        "--policy",
        default=None,
        help="victim trained by `python -m marl_attacks train` on this env; default: "
        "uniform-random agents (which ignore observations, so returns do not move)",
    )
    p.add_argument("--attack", default="align-mlp", choices=sorted(runnable_names()))
    p.add_argument("--eps", type=float, default=0.1, help="L-inf budget")
    p.add_argument(
        "--attacked", nargs="*", default=None, help="attacked agents (names such as agent_0, or indices); default all"
    )
    p.add_argument("--params", default="{}", type=json.loads, help="JSON attack hyperparameters")
    p.add_argument(
        "--fit", default="{}", type=json.loads, help="JSON FitConfig fields for f_theta (default: the paper's sizes)"
    )
    p.add_argument(
        "--samples", default=None, help="samples file (python -m marl_attacks collect) instead of collecting"
    )
    p.add_argument("--align", default=None, help="fitted f_theta file (python -m marl_attacks fit) instead of fitting")
    p.add_argument("--collect-episodes", type=int, default=20, help="benign episodes recorded for f_theta")
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    p.add_argument("--seed", type=int, default=0)
    return p


def align_model(a, pool: EnvPool, victim, arch: str, spec, device):
    """f_theta for ``arch``: read from ``--align``, or fitted on ``--samples`` or on benign episodes."""
    if a.align:
        model = load_align_model(a.align)[0]
    else:
        if a.samples:
            samples = load_artifact(a.samples)
        else:
            samples = rollouts(pool, victim, a.collect_episodes, a.seed + 10_000, record=True)[2]
        cfg = FitConfig(arch=arch, **a.fit)
        model, stats = fit(samples["obs"].float(), cfg, a.seed, device, False, episode=samples.get("episode"))
        print(
            f"f_theta ({arch}) fitted on {stats['n_train'] + stats['n_val']} "
            f"samples; validation MSE per agent: {', '.join(f'{v:.4g}' for v in stats['val_mse'])}"
        )
    if (model.n_agents, model.obs_dim) != (spec.n_agents, spec.obs_dim):
        raise ValueError(
            f"f_theta is for {model.n_agents} agents x {model.obs_dim} dims; the env "
            f"has {spec.n_agents} x {spec.obs_dim}"
        )
    return model.to(device).eval()


def main(argv=None) -> None:
    p = parser()
    a = p.parse_args(argv)
    _check_params(a.attack, a.params)
    if a.eps < 0:
        p.error(f"--eps must be >= 0, got {a.eps}")
    if min(a.episodes, a.collect_episodes) < 1:
        p.error("--episodes and --collect-episodes: at least 1")
    entry = ATTACKS[a.attack]
    if "victim" in entry.cls.needs and not a.policy:
        p.error(f"attack '{a.attack}' is white-box: pass --policy")
    pool = EnvPool(a.env, a.env_kwargs, a.seed)
    env = pool.get(pool.batch_size(a.episodes))
    victim = load_victim(a.policy, env.device)[0] if a.policy else None
    attacked = agent_indices(a.attacked, env.agent_names, p)
    attack = None  # benign: no perturbation at all
    if a.attack != "benign":
        arch = entry.align_arch
        model = align_model(a, pool, victim, arch, env.spec, env.device) if arch else None
        ctx = AttackContext(
            spec=env.spec, generator=torch.Generator().manual_seed(a.seed), align_model=model, victim=victim
        )
        attack = make_attack(a.attack, ctx, a.params)
    benign = rollouts(pool, victim, a.episodes, a.seed)[0]
    attacked_ret, deltas, _ = rollouts(pool, victim, a.episodes, a.seed, attack, a.eps, attacked)
    print(
        f"mean team return: benign {benign.double().mean():.3f}, under {a.attack} (eps={a.eps}) "
        f"{attacked_ret.double().mean():.3f}; largest |delta| applied {float(deltas.max()):.4g}"
    )


if __name__ == "__main__":
    main()
