"""Pieces shared by victim learners: GAE with time-limit bootstrapping, MLPs, episode stats."""

from __future__ import annotations

import torch
from torch import nn


def mlp(sizes: list[int], activation=nn.Tanh, out_gain: float = 1.0) -> nn.Sequential:
    """Orthogonally initialised MLP (the PPO default); no activation after the last layer."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        nn.init.orthogonal_(lin.weight, out_gain if last else 2**0.5)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


def bootstrap_truncated(reward: torch.Tensor, truncated: torch.Tensor, final_value: torch.Tensor,
                        gamma: float) -> torch.Tensor:
    """Fold ``gamma * V(final_obs)`` into the reward of time-limit ends.

    A time limit is not a terminal state: the return continues past it, so the
    value of the observation that ended the episode is bootstrapped. Combined
    with ``done = terminated | truncated`` in :func:`gae`, this gives the
    correct target for both kinds of episode end.
    """
    return reward + gamma * final_value * truncated.float()


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_value: torch.Tensor,
        gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over ``[T, N]`` rollouts.

    ``dones[t]`` is True when the episode ended at step ``t`` (terminated or
    truncated); the value after an ended step is never bootstrapped here
    (truncation is handled by :func:`bootstrap_truncated`). Returns
    ``(advantages, returns)``.
    """
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(last_value)
    next_value = last_value
    for t in reversed(range(T)):
        live = 1.0 - dones[t].float()
        delta = rewards[t] + gamma * next_value * live - values[t]
        running = delta + gamma * lam * live * running
        adv[t] = running
        next_value = values[t]
    return adv, adv + values


class EpisodeTracker:
    """Accumulates team returns of the parallel episodes and reports finished ones."""

    def __init__(self, num_envs: int, device: torch.device):
        self.ret = torch.zeros(num_envs, device=device)
        self.len = torch.zeros(num_envs, device=device)
        self.finished_returns: list[float] = []
        self.finished_lengths: list[float] = []

    def update(self, reward: torch.Tensor, done: torch.Tensor) -> None:
        self.ret += reward
        self.len += 1
        if done.any():
            self.finished_returns += self.ret[done].tolist()
            self.finished_lengths += self.len[done].tolist()
            self.ret[done] = 0
            self.len[done] = 0

    def pop(self) -> tuple[float, float, int]:
        """Mean return and length of the episodes finished since the last call."""
        n = len(self.finished_returns)
        if n == 0:
            return float("nan"), float("nan"), 0
        r = sum(self.finished_returns) / n
        ln = sum(self.finished_lengths) / n
        self.finished_returns, self.finished_lengths = [], []
        return r, ln, n
