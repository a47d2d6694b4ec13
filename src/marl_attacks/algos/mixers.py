"""The mixers of value decomposition: VDN sums the agents' Q-values (Sunehag et al. 2018), QMIX
mixes them monotonically with weights from hypernetworks of the state (Rashid et al. 2018)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class VdnMixer(nn.Module):
    """Q_tot = sum of the agents' Q-values."""

    def forward(self, q: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return q.sum(-1)


class QMixer(nn.Module):
    """Monotonic mixing: hypernetworks map the state to non-negative mixing weights."""

    def __init__(self, n_agents: int, state_dim: int, embed: int, hypernet_embed: int):
        super().__init__()
        self.n_agents, self.embed = n_agents, embed
        self.w1 = nn.Sequential(
            nn.Linear(state_dim, hypernet_embed), nn.ReLU(), nn.Linear(hypernet_embed, n_agents * embed)
        )
        self.b1 = nn.Linear(state_dim, embed)
        self.w2 = nn.Sequential(nn.Linear(state_dim, hypernet_embed), nn.ReLU(), nn.Linear(hypernet_embed, embed))
        self.v = nn.Sequential(nn.Linear(state_dim, embed), nn.ReLU(), nn.Linear(embed, 1))
        self.norm = None  # optional state standardisation, set by the learner (not a parameter)

    def forward(self, q: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Agent Q-values ``[B, n]`` and observations ``[B, n, d]`` -> ``Q_tot [B]``."""
        s = obs.flatten(-2)
        if self.norm is not None:
            s = self.norm(s)
        w1 = self.w1(s).abs().view(-1, self.n_agents, self.embed)  # |w| keeps dQ_tot/dQ_i >= 0
        hidden = F.elu(torch.bmm(q.unsqueeze(1), w1) + self.b1(s).unsqueeze(1))  # [B, 1, E]
        w2 = self.w2(s).abs().unsqueeze(-1)  # [B, E, 1]
        return torch.bmm(hidden, w2).flatten() + self.v(s).flatten()
