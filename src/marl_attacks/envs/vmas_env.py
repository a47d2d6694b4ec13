"""VMAS scenarios (natively vectorized in torch) behind the batched interface.

VMAS has no time limit unless ``max_steps`` is set; we always set it and ask
for separate terminated/truncated flags. VMAS keeps one class-level random
state, so seeding one episode is ``env.seed(s)`` followed by ``reset_at(b)``.
Cooperative scenarios give every agent the same shared reward; the team
reward is their sum, as for every env in this package.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import BatchedEnv, EnvSpec, Step, check_actions, unbounded_spec_tensors


class VmasEnv(BatchedEnv):
    def __init__(
        self,
        scenario: str,
        num_envs: int,
        device: torch.device,
        *,
        max_steps: int = 100,
        continuous_actions: bool = False,
        seed: int = 0,
        **scenario_kwargs,
    ):
        import vmas

        self.num_envs, self.device = num_envs, torch.device(device)
        self._env = vmas.make_env(
            scenario,
            num_envs=num_envs,
            device=self.device,
            continuous_actions=continuous_actions,
            max_steps=max_steps,
            seed=seed,
            terminated_truncated=True,
            clamp_actions=True,
            **scenario_kwargs,
        )
        n = self._env.n_agents
        d = self._env.observation_space[0].shape[0]
        low, high, perturbable = unbounded_spec_tensors(n, d)
        space = self._env.action_space[0]
        if continuous_actions:
            kind, adim = "continuous", int(space.shape[0])
            alow, ahigh = float(space.low.min()), float(space.high.max())
        else:
            kind, adim, alow, ahigh = "discrete", int(space.n), 0.0, 0.0
        self.spec = EnvSpec(
            name=f"vmas-{scenario}",
            n_agents=n,
            obs_dim=d,
            obs_low=low,
            obs_high=high,
            perturbable=perturbable,
            action_type=kind,
            action_dim=adim,
            action_low=alow,
            action_high=ahigh,
            max_steps=max_steps,
        )

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        assert len(seeds) == self.num_envs, "one seed per parallel episode"
        for b, s in enumerate(seeds):
            self._env.seed(int(s) % 2**32)
            self._env.reset_at(b, return_observations=False)
        return self._observe()

    def _observe(self) -> torch.Tensor:
        obs = self._env.get_from_scenario(
            get_observations=True, get_rewards=False, get_infos=False, get_dones=False, dict_agent_names=False
        )[0]
        return torch.stack(obs, dim=1)

    def _env_step(self, per_agent: list) -> tuple:
        """One step of the VMAS env: per-agent observation and reward lists, terminated, truncated
        (``marl_attacks.team`` overrides it for envs made with other ``dict_spaces`` and
        ``terminated_truncated`` settings)."""
        obs, rews, terminated, truncated, _ = self._env.step(per_agent)
        return obs, rews, terminated, truncated

    def step(self, actions: torch.Tensor) -> Step:
        check_actions(actions, self.spec, self.num_envs)
        actions = actions.to(self.device)
        per_agent = [actions[:, i] for i in range(self.spec.n_agents)]
        obs, rews, terminated, truncated = self._env_step(per_agent)
        obs = torch.stack(obs, dim=1)
        # some scenarios (wheel) return rewards of shape [B, 1] instead of [B]
        reward = torch.stack([r.reshape(self.num_envs) for r in rews], dim=1).sum(dim=1)
        truncated = truncated & ~terminated
        done = terminated | truncated
        final_obs = obs
        if done.any() and self.auto_reset:  # VMAS restarts one row at a time (~10 ms each here)
            final_obs = obs.clone()
            if done.all():
                self._env.reset(return_observations=False)
            else:
                for b in done.nonzero().flatten().tolist():
                    self._env.reset_at(b, return_observations=False)
            obs = self._observe()
        return Step(obs=obs, reward=reward, terminated=terminated, truncated=truncated, final_obs=final_obs)
