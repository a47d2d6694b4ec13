"""IPPO: MAPPO's learner with decentralised critics (de Witt et al. 2020).

Everything but the critic is MAPPO's (:mod:`.mappo`): the shared actor and its
policy class, the clipped PPO update, rollouts, time-limit bootstrapping and
checkpoints. Each agent's critic sees only its own observation, plus the
one-hot agent ID the learner appends (parameters shared across agents, as
EPyMARL does), and predicts the team return: all agents get the same team
reward, so every agent's advantage is computed from its own value estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..envs import BatchedEnv
from .common import Checkpointer, mlp
from .mappo import MappoConfig, MappoPolicy
from .mappo import train as train_ppo


@dataclass
class IppoConfig(MappoConfig):
    """IPPO hyperparameters: MAPPO's fields and defaults (Papoudakis et al. 2021 tune both alike)."""


class IndependentCritic(nn.Module):
    """Per-agent values from own observation + agent ID: ``[B, n, d] -> [B, n]``."""

    def __init__(self, n_agents: int, obs_dim: int, hidden: int):
        super().__init__()
        self.n_values = n_agents  # one value column per agent
        self.net = mlp([obs_dim + n_agents, hidden, hidden, 1])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        B, n, _ = obs.shape
        ids = torch.eye(n, device=obs.device, dtype=obs.dtype).expand(B, n, n)
        return self.net(torch.cat([obs, ids], dim=-1)).squeeze(-1)


def train(
    env: BatchedEnv,
    cfg: IppoConfig,
    seed: int,
    progress: bool = True,
    log_every: int = 1,
    checkpoint: Checkpointer | None = None,
) -> tuple[MappoPolicy, list[dict]]:
    """Train IPPO on ``env``; returns the (MAPPO-type) policy and the training curve rows."""
    return train_ppo(env, cfg, seed, progress, log_every, checkpoint, critic_cls=IndependentCritic, name="ippo")
