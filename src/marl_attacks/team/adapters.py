"""A team's own env behind the package's batched interface (:class:`~marl_attacks.envs.base.BatchedEnv`).

With these, the rollout loop of the pipeline's evaluation (:func:`marl_attacks.rollout.run_episodes`:
collection, benign and attacked episodes) runs on any PettingZoo ``ParallelEnv`` or VMAS
``Environment``, as the command line ``python -m marl_attacks attack`` does.

* :class:`ParallelEnvAdapter`: PettingZoo ``ParallelEnv`` instances, one per parallel episode,
  stepped in a loop (the loop of the MPE adapter, :class:`~marl_attacks.envs.mpe_env.ParallelEnvLoop`).
* :class:`VmasEnvAdapter`: an existing VMAS ``Environment`` (``num_envs`` episodes side by side; the
  seeding and auto-reset of the VMAS adapter, :class:`~marl_attacks.envs.vmas_env.VmasEnv`), whatever
  its ``dict_spaces`` and ``terminated_truncated`` settings.

Both take the observation bounds from the observation spaces and accept a ``perturbable`` mask, as
the wrappers of :mod:`.wrappers` do (the spec is :func:`~.attacker.spec_from_spaces`'), so an attack
sees the same constraints through either. ``spec.max_steps`` is the env's own time limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from ..envs.base import EnvSpec
from ..envs.mpe_env import ParallelEnvLoop
from ..envs.vmas_env import VmasEnv
from .attacker import spec_from_spaces


def _with_limits(spec: EnvSpec, action_space, max_steps: int) -> EnvSpec:
    """``spec`` with the episode limit and, for Box actions, the action bounds of ``action_space``."""
    if spec.discrete:
        return replace(spec, max_steps=int(max_steps))
    low, high = float(np.min(action_space.low)), float(np.max(action_space.high))
    return replace(spec, max_steps=int(max_steps), action_low=low, action_high=high)


class ParallelEnvAdapter(ParallelEnvLoop):
    """PettingZoo ``ParallelEnv`` instances of one env as a :class:`BatchedEnv` of ``len(envs)`` episodes.

    ``envs``: one env, or several instances of the same env (one per parallel episode).
    ``max_steps``: the longest episode (default: the env's ``max_cycles``). Episodes started by
    auto-reset draw their seeds from a stream seeded by ``seed``, then by each :meth:`reset`.
    The joint observation follows ``possible_agents`` (:attr:`agent_names`).
    """

    def __init__(
        self,
        envs,
        *,
        max_steps: int | None = None,
        perturbable: torch.Tensor | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ):
        envs = list(envs) if isinstance(envs, list | tuple) else [envs]
        first = envs[0]
        self._envs, self.num_envs, self.device = envs, len(envs), torch.device(device)
        self._agents = list(first.possible_agents)
        if any(list(e.possible_agents) != self._agents for e in envs[1:]):
            raise ValueError("ParallelEnvAdapter: the instances have different agents; pass instances of one env")
        max_steps = max_steps or getattr(first.unwrapped, "max_cycles", None)
        if not max_steps:
            raise ValueError("ParallelEnvAdapter: the env has no max_cycles; pass max_steps (the longest episode)")
        name = getattr(first, "metadata", {}).get("name", "env")
        spec = spec_from_spaces(
            f"pettingzoo-{name}",
            [first.observation_space(a) for a in self._agents],
            first.action_space(self._agents[0]),
            perturbable,
        )
        self.spec = _with_limits(spec, first.action_space(self._agents[0]), max_steps)
        self._reseed = np.random.default_rng(seed)

    @property
    def agent_names(self) -> list[str]:
        """Agent of each row of the joint observation."""
        return list(self._agents)


class VmasEnvAdapter(VmasEnv):
    """An existing VMAS ``Environment`` as a :class:`BatchedEnv` of its ``num_envs`` episodes.

    The env needs a time limit (``max_steps``, passed to ``vmas.make_env``). Episode ``b`` of a
    :meth:`reset` is seeded as in the pipeline (``env.seed(seeds[b])``, then ``reset_at(b)``);
    ended episodes restart by themselves. Without ``terminated_truncated``, an end at the time
    limit counts as truncated.
    """

    def __init__(self, env, *, perturbable: torch.Tensor | None = None):
        if env.max_steps is None:
            raise ValueError("VmasEnvAdapter: the VMAS env has no time limit; make it with max_steps=...")
        self._env, self.num_envs, self.device = env, env.num_envs, torch.device(env.device)
        self.agent_names = [a.name for a in env.agents]
        dict_spaces = bool(getattr(env, "dict_spaces", False))
        obs_spaces = (
            [env.observation_space[a] for a in self.agent_names] if dict_spaces else list(env.observation_space)
        )
        action_space = env.action_space[self.agent_names[0]] if dict_spaces else env.action_space[0]
        scenario = type(env.scenario).__module__.rsplit(".", 1)[-1]
        spec = spec_from_spaces(f"vmas-{scenario}", obs_spaces, action_space, perturbable)
        self.spec = _with_limits(spec, action_space, env.max_steps)

    def _listed(self, per_agent) -> list:
        return [per_agent[a] for a in self.agent_names] if isinstance(per_agent, dict) else list(per_agent)

    def _env_step(self, per_agent: Sequence[torch.Tensor]) -> tuple:
        out = self._env.step(list(per_agent))
        obs, rews = self._listed(out[0]), self._listed(out[1])
        if self._env.terminated_truncated:
            return obs, rews, out[2], out[3]
        at_limit = self._env.steps >= self._env.max_steps  # one done flag: split it at the time limit
        return obs, rews, out[2] & ~at_limit, out[2] & at_limit
