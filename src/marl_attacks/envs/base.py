"""One batched interface for every environment.

A :class:`BatchedEnv` runs ``num_envs`` episodes side by side. Observations are
a tensor ``[B, n_agents, obs_dim]``; the reward is the team reward ``[B]``
(the sum of the agents' rewards, EPyMARL's ``reward_scalarisation: sum``).
Episodes reset automatically when they end; the observation that ended an
episode is returned as ``final_obs`` so that learners can bootstrap from it
when the end was a time limit (``truncated``) rather than a terminal state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class EnvSpec:
    """What an attacker and a learner need to know about an environment."""

    name: str
    n_agents: int
    obs_dim: int
    obs_low: torch.Tensor  # [n_agents, obs_dim], -inf where unbounded
    obs_high: torch.Tensor  # [n_agents, obs_dim], +inf where unbounded
    perturbable: torch.Tensor  # [n_agents, obs_dim] bool; False on agent-ID one-hots
    action_type: str  # "discrete" or "continuous"
    action_dim: int  # number of discrete actions, or size of a continuous action
    action_low: float = -1.0  # continuous action bounds (ignored for discrete)
    action_high: float = 1.0
    max_steps: int = 100  # time limit of an episode
    has_win: bool = False  # whether the env defines a win flag

    @property
    def discrete(self) -> bool:
        return self.action_type == "discrete"


@dataclass
class Step:
    obs: torch.Tensor  # [B, n, d] observation to act on next (after auto-reset)
    reward: torch.Tensor  # [B] team reward of this step
    terminated: torch.Tensor  # [B] bool: reached a terminal state
    truncated: torch.Tensor  # [B] bool: hit the time limit without terminating
    final_obs: torch.Tensor  # [B, n, d] observation that ended the episode (== obs where not done)
    win: torch.Tensor | None = None  # [B] bool where the env defines a win


class BatchedEnv(ABC):
    """``num_envs`` parallel episodes of one environment."""

    spec: EnvSpec
    num_envs: int
    device: torch.device
    has_action_masks: bool = False  # whether available_actions() returns masks
    # False: ended episodes are not restarted (their rows keep stepping as they ended). Set by
    # rollouts that count each row's first episode only (rollout.run_episodes), where a restart
    # is wasted work; envs whose restarts cost little may ignore it.
    auto_reset: bool = True

    @abstractmethod
    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        """Start ``num_envs`` episodes, episode ``b`` seeded with ``seeds[b]``."""

    @abstractmethod
    def step(self, actions: torch.Tensor) -> Step:
        """Advance every episode; ``actions`` is ``[B, n]`` (discrete) or ``[B, n, a]``."""

    def close(self) -> None:  # noqa: B027 - optional hook: adapters with resources override it
        pass

    def available_actions(self) -> torch.Tensor | None:
        """``[B, n, action_dim]`` bool: the discrete actions that do something in the current
        state (EPyMARL's ``avail_actions``, computed from the true state, so no observation
        perturbation changes it), or None where every action is always available."""
        return None

    def random_actions(self, generator: torch.Generator | None, avail: torch.Tensor | None = None) -> torch.Tensor:
        """Uniform-random joint actions (among the ``avail`` ones when given), the baseline
        every victim must beat and the learners' exploration (``generator`` None: torch's
        global RNG)."""
        spec, shape = self.spec, (self.num_envs, self.spec.n_agents)
        if spec.discrete and avail is not None:
            probs = avail.flatten(0, 1).float().cpu()
            return torch.multinomial(probs, 1, generator=generator).view(shape).to(self.device)
        if spec.discrete:
            return torch.randint(spec.action_dim, shape, generator=generator).to(self.device)
        u = torch.rand(*shape, spec.action_dim, generator=generator)
        return (spec.action_low + (spec.action_high - spec.action_low) * u).to(self.device)


def auto_reset_stream(seeds: Sequence[int]) -> np.random.Generator:
    """The stream the seeds of auto-reset episodes are drawn from after ``reset(seeds)``: a function of
    those seeds only, so a reset fixes everything after it. Training restarts every segment with a
    reset, so a run resumed at a segment boundary continues exactly as the uninterrupted run (a stream
    kept from the env's construction would have advanced by the earlier segments' auto-resets)."""
    return np.random.default_rng([int(s) % 2**32 for s in seeds])


def step_from_numpy(obs, reward, terminated, truncated, ended: dict, device) -> Step:
    """A :class:`Step` from per-instance numpy results of envs stepped in a loop.

    ``obs`` holds the observations after auto-reset; ``ended`` maps instance ``b``
    to the observation that ended its episode, which becomes ``final_obs[b]``.
    """
    final = obs
    if ended:
        final = obs.copy()
        for b, o in ended.items():
            final[b] = o
    t = lambda x, dt=torch.float32: torch.as_tensor(x, dtype=dt, device=device)
    return Step(
        obs=t(obs),
        reward=t(reward),
        terminated=t(terminated, torch.bool),
        truncated=t(truncated, torch.bool),
        final_obs=t(final),
    )


def unbounded_spec_tensors(n_agents: int, obs_dim: int):
    """Bounds and perturbable mask for envs with unbounded observations and no ID dims."""
    low = torch.full((n_agents, obs_dim), -float("inf"))
    high = torch.full((n_agents, obs_dim), float("inf"))
    perturbable = torch.ones(n_agents, obs_dim, dtype=torch.bool)
    return low, high, perturbable


def check_discrete_actions(actions, num_envs: int, n_agents: int, action_dim: int, env: str) -> np.ndarray:
    """``actions`` (``[num_envs, n_agents]``) as int64 numpy, or a ``ValueError`` naming the env, the
    agent, the episode and the value: a wrong shape, a value that is not a whole number, or one
    outside ``0 .. action_dim - 1`` (an env package would otherwise fail deep inside, or act on it)."""
    a = actions.detach().cpu().numpy() if isinstance(actions, torch.Tensor) else np.asarray(actions)
    if a.shape != (num_envs, n_agents):
        raise ValueError(
            f"{env}: actions must have shape (num_envs, n_agents) = ({num_envs}, {n_agents}), got {a.shape}"
        )
    if a.dtype.kind not in "iub":
        whole = np.isfinite(a) & (a == np.round(a)) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
        if not whole.all():
            e, i = np.argwhere(~whole)[0]
            raise ValueError(f"{env}: agent {i} (episode {e}) got action {a[e, i].item()!r}, not an integer")
    a = a.astype(np.int64)
    bad = (a < 0) | (a >= action_dim)
    if bad.any():
        e, i = np.argwhere(bad)[0]
        raise ValueError(f"{env}: agent {i} (episode {e}) got action {a[e, i]}; actions are 0..{action_dim - 1}")
    return a


def check_continuous_actions(actions: torch.Tensor, num_envs: int, n_agents: int, action_dim: int, env: str) -> None:
    """A ``ValueError`` naming the env, the agent, the episode and the value where ``actions`` is not
    ``[num_envs, n_agents, action_dim]`` or holds a NaN or an infinity. Values beyond the action bounds
    are allowed: the env clamps them (VMAS's ``clamp_actions``; PPO's Gaussian draws exceed them)."""
    if tuple(actions.shape) != (num_envs, n_agents, action_dim):
        raise ValueError(
            f"{env}: actions must have shape (num_envs, n_agents, action_dim) = ({num_envs}, {n_agents}, "
            f"{action_dim}), got {tuple(actions.shape)}"
        )
    bad = ~torch.isfinite(actions)
    if bad.any():
        e, i, k = bad.nonzero()[0].tolist()
        raise ValueError(f"{env}: agent {i} (episode {e}) got action {actions[e, i].tolist()}, not finite")


def check_actions(actions: torch.Tensor, spec: EnvSpec, num_envs: int) -> None:
    """:func:`check_discrete_actions` or :func:`check_continuous_actions`, as ``spec`` says."""
    if spec.discrete:
        check_discrete_actions(actions, num_envs, spec.n_agents, spec.action_dim, spec.name)
    else:
        check_continuous_actions(actions, num_envs, spec.n_agents, spec.action_dim, spec.name)
