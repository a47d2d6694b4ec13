"""PettingZoo MPE tasks from the ``mpe2`` package, batched over instances.

MPE is not vectorized, so ``num_envs`` independent instances are stepped in
a loop. All agents act in every step and episodes end only at ``max_cycles``
(reported by PettingZoo as truncation), so instances stay in lockstep.
Episodes started by auto-reset draw their seeds from a stream seeded by the
last :meth:`MpeEnv.reset`, so the seeds passed to a reset determine every
episode after it (training relies on this to resume bit for bit).

The loop itself, :class:`ParallelEnvLoop`, takes any PettingZoo ``ParallelEnv``
instances (``marl_attacks.team`` wraps a user's env with it): an agent missing
from an observation dict (dead) is seen as zeros and gets no action, and an
episode ends when the env has no agents left.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import numpy as np
import torch

from .base import (
    BatchedEnv,
    EnvSpec,
    Step,
    auto_reset_stream,
    check_actions,
    step_from_numpy,
    unbounded_spec_tensors,
)


class ParallelEnvLoop(BatchedEnv):
    """PettingZoo ``ParallelEnv`` instances ``self._envs`` stepped one after the other; subclasses
    set them, ``self._agents`` (the order of the joint observation), ``self.spec``, ``num_envs``,
    ``device`` and ``self._reseed`` (the stream auto-reset episodes draw their seeds from)."""

    _envs: list
    _agents: list

    def _stack(self, obs: dict) -> np.ndarray:
        joint = np.zeros((self.spec.n_agents, self.spec.obs_dim), np.float32)
        for i, a in enumerate(self._agents):
            if a in obs:
                joint[i] = np.asarray(obs[a], np.float32).reshape(-1)
        return joint

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        assert len(seeds) == self.num_envs, "one seed per parallel episode"
        obs = [self._stack(env.reset(seed=int(s) % 2**32)[0]) for env, s in zip(self._envs, seeds)]
        self._reseed = auto_reset_stream(seeds)
        return torch.as_tensor(np.stack(obs), dtype=torch.float32, device=self.device)

    def step(self, actions: torch.Tensor) -> Step:
        check_actions(actions, self.spec, self.num_envs)
        acts = actions.detach().cpu().numpy()
        to_env = (lambda x: int(x)) if self.spec.discrete else (lambda x: x.astype(np.float32))
        B = self.num_envs
        obs = np.empty((B, self.spec.n_agents, self.spec.obs_dim), np.float32)
        reward = np.zeros(B, np.float32)
        term, trunc = np.zeros(B, bool), np.zeros(B, bool)
        ended = {}  # b -> observation that ended episode b, before its auto-reset
        for b, env in enumerate(self._envs):
            o, r, te, tr, _ = env.step({a: to_env(acts[b, i]) for i, a in enumerate(self._agents) if a in env.agents})
            reward[b] = sum(r.values())
            obs[b] = self._stack(o)
            if not env.agents:  # every agent terminated or truncated
                term[b] = any(te.values())
                trunc[b] = not term[b]
                ended[b] = obs[b].copy()
                obs[b] = self._stack(env.reset(seed=int(self._reseed.integers(2**31)))[0])
        return step_from_numpy(obs, reward, term, trunc, ended, self.device)

    def close(self) -> None:
        for env in self._envs:
            env.close()


class MpeEnv(ParallelEnvLoop):
    def __init__(
        self, task: str, num_envs: int, device: torch.device, *, max_steps: int = 25, seed: int = 0, **task_kwargs
    ):
        module = importlib.import_module(f"mpe2.{task}")
        self.num_envs, self.device = num_envs, torch.device(device)
        self._envs = [
            module.parallel_env(max_cycles=max_steps, continuous_actions=False, **task_kwargs) for _ in range(num_envs)
        ]
        first = self._envs[0]
        first.reset(seed=seed)
        self._agents = list(first.possible_agents)
        dims = {first.observation_space(a).shape[0] for a in self._agents}
        if len(dims) != 1:
            raise ValueError(
                f"mpe-{task}: agents have different observation sizes {dims}; only homogeneous teams are supported"
            )
        n, d = len(self._agents), dims.pop()
        low, high, perturbable = unbounded_spec_tensors(n, d)
        self.spec = EnvSpec(
            name=f"mpe-{task}",
            n_agents=n,
            obs_dim=d,
            obs_low=low,
            obs_high=high,
            perturbable=perturbable,
            action_type="discrete",
            action_dim=int(first.action_space(self._agents[0]).n),
            max_steps=max_steps,
        )
        # Episodes started by auto-reset draw their seeds from this stream.
        self._reseed = np.random.default_rng(seed)
