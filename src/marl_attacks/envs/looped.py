"""Batching for single-instance multi-agent gymnasium envs (LBF, RWARE): a loop in one process.

Level-Based Foraging and the Multi-Robot Warehouse are plain Python, one
episode per instance (1.5k-7k steps/s each). ``num_envs`` instances are
stepped one after the other, like gymnasium's ``SyncVectorEnv``. A pool of 2
worker processes was measured on the 2-core target machine (B = 16, 64) and
was not reliably faster (the pipe transfers eat the gain, and the learner
shares the cores), so there is no multiprocessing here.

Both envs return a tuple of per-agent observations and a list of per-agent
rewards (the team reward is their sum), and both report the end of their time
limit as *termination* with ``truncated`` always False. The adapter therefore
counts steps itself and enforces the limit: an episode that ends at
``max_steps`` is a truncation (bootstrapped by learners) unless the subclass
says the state is terminal (LBF: all food collected on that very step); an
episode that the env ends before the limit is a termination.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import BatchedEnv, Step, auto_reset_stream, check_discrete_actions, step_from_numpy


class LoopedEnv(BatchedEnv):
    """Common stepping loop; subclasses build ``self._envs`` and ``self.spec``, then call
    :meth:`_init_loop`."""

    _envs: list

    def _init_loop(self, seed: int) -> None:
        self._steps = np.zeros(self.num_envs, np.int64)  # steps of the running episode, per instance
        # Episodes started by auto-reset draw their seeds from this stream (restarted by reset).
        self._reseed = np.random.default_rng(seed)

    def _terminal_state(self, env) -> bool:
        """Whether ``env`` is in a terminal state (decides an end that falls on the time limit)."""
        return False

    def _reset_one(self, b: int, seed: int) -> np.ndarray:
        self._steps[b] = 0
        return np.stack(self._envs[b].reset(seed=seed % 2**32)[0])

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        assert len(seeds) == self.num_envs, "one seed per parallel episode"
        obs = np.stack([self._reset_one(b, int(s)) for b, s in enumerate(seeds)])
        self._reseed = auto_reset_stream(seeds)
        return torch.as_tensor(obs, dtype=torch.float32, device=self.device)

    def step(self, actions: torch.Tensor) -> Step:
        acts = check_discrete_actions(actions, self.num_envs, self.spec.n_agents, self.spec.action_dim, self.spec.name)
        B, limit = self.num_envs, self.spec.max_steps
        obs = np.empty((B, self.spec.n_agents, self.spec.obs_dim), np.float32)
        reward = np.zeros(B, np.float32)
        term, trunc = np.zeros(B, bool), np.zeros(B, bool)
        ended = {}  # b -> observation that ended episode b, before its auto-reset
        for b, env in enumerate(self._envs):
            o, r, done, env_trunc, _ = env.step(acts[b].tolist())
            self._steps[b] += 1
            reward[b] = float(sum(r))
            obs[b] = np.stack(o)
            at_limit = self._steps[b] >= limit
            if done or env_trunc or at_limit:
                trunc[b] = (at_limit or env_trunc) and not self._terminal_state(env)
                term[b] = not trunc[b]
                ended[b] = obs[b].copy()
                obs[b] = self._reset_one(b, int(self._reseed.integers(2**31)))
        return step_from_numpy(obs, reward, term, trunc, ended, self.device)

    def close(self) -> None:
        for env in self._envs:
            env.close()
