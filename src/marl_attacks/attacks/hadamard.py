"""Hadamard attack: no access at all, a fixed perturbation per agent.

With ``d`` the observation size and ``H`` the Sylvester Hadamard matrix of
order ``m = 2**floor(log2 d)``, agent ``j`` receives ``eps * row_j(H)``
zero-padded to ``d``, with non-perturbable dimensions zeroed, at every step.
Rows are mutually orthogonal, so agents are pushed in orthogonal directions.
Choice where the paper is silent: agent ``j`` takes row ``j mod m`` (row 0 is
the all-ones row) of H, laid on the first ``m`` dimensions.
"""

from __future__ import annotations

import torch

from .base import Attack


def sylvester_hadamard(order: int) -> torch.Tensor:
    """Sylvester's construction: H_1 = [1], H_2k = [[H, H], [H, -H]]."""
    if order < 1 or order & (order - 1):
        raise ValueError(f"Hadamard order must be a power of two, got {order}")
    h = torch.ones(1, 1)
    while h.shape[0] < order:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def hadamard_directions(n_agents: int, obs_dim: int, perturbable: torch.Tensor | None = None) -> torch.Tensor:
    """``[n_agents, obs_dim]`` of +-1 on the used dimensions, 0 elsewhere."""
    order = 1 << (obs_dim.bit_length() - 1)  # 2**floor(log2 d)
    h = sylvester_hadamard(order)
    dirs = torch.zeros(n_agents, obs_dim)
    for j in range(n_agents):
        dirs[j, :order] = h[j % order]
    if perturbable is not None:
        dirs = dirs * perturbable.to(dirs.dtype)
    return dirs


class HadamardAttack(Attack):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.directions = hadamard_directions(self.spec.n_agents, self.spec.obs_dim, self.spec.perturbable)

    def perturb(self, obs, eps, attacked):
        delta = self.directions.to(obs.device).unsqueeze(0) * eps.view(-1, 1, 1)
        return self._project(obs, delta.expand_as(obs), eps, attacked)
