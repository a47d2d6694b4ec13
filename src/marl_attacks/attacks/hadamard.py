"""Hadamard attack: no access at all, a fixed perturbation per agent.

With ``d`` the observation size and ``H`` the Sylvester Hadamard matrix of
order ``m = 2**floor(log2 d)``, agent ``j`` receives ``eps * row_j(H)``
zero-padded to ``d``, with non-perturbable dimensions zeroed, at every step.
Rows are mutually orthogonal, so agents are pushed in orthogonal directions.
Choice where the paper is silent: agent ``j`` takes row ``j mod m`` (row 0 is
the all-ones row) of H, laid on the first ``m`` dimensions.

``width: victim-input`` (the authors' ``partial_hadamard_approx(n, m)`` in their
``src/attack/align.py``): the order comes from the width of the victim's input,
observation plus agent-ID one-hot, ``w = d + n``: ``M = 2**(bit_length(w - 1) - 1)``
(the largest power of two below ``w``); agent ``j`` takes row ``j`` of ``H_M``,
zero-padded to ``w``; the ID dims are then zeroed, so the observation gets the
row's first ``d`` entries. ``width: observation`` (ours) is the construction above.
Which one runs is the config's ``protocol.hadamard``.
"""

from __future__ import annotations

from dataclasses import dataclass

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


HADAMARD_WIDTHS = ("observation", "victim-input")


def hadamard_order(n_agents: int, obs_dim: int, width: str = "observation") -> int:
    """Order of the Hadamard matrix: ``2**floor(log2 d)`` (ours), or the authors' largest power of
    two below the victim's input width ``d + n`` (``partial_hadamard_approx``)."""
    if width == "observation":
        return 1 << (obs_dim.bit_length() - 1)
    if width == "victim-input":
        return 1 << ((obs_dim + n_agents - 1).bit_length() - 1)
    raise ValueError(f"hadamard: width {width!r}; allowed: {list(HADAMARD_WIDTHS)}")


def hadamard_directions(
    n_agents: int, obs_dim: int, perturbable: torch.Tensor | None = None, width: str = "observation"
) -> torch.Tensor:
    """``[n_agents, obs_dim]`` of +-1 on the used dimensions, 0 elsewhere."""
    order = hadamard_order(n_agents, obs_dim, width)
    h = sylvester_hadamard(order)
    used = min(order, obs_dim)  # victim-input: the row's entries past d fall on ID dims, zeroed
    dirs = torch.zeros(n_agents, obs_dim)
    for j in range(n_agents):
        dirs[j, :used] = h[j % order, :used]
    if perturbable is not None:
        dirs = dirs * perturbable.to(dirs.dtype)
    return dirs


@dataclass
class HadamardConfig:
    width: str = "observation"  # observation (ours) or victim-input (the authors': obs + agent IDs)


class HadamardAttack(Attack):
    def __init__(self, ctx, width: str = "observation"):
        super().__init__(ctx)
        spec = self.spec
        self.directions = hadamard_directions(spec.n_agents, spec.obs_dim, spec.perturbable, width)

    def perturb(self, obs, eps, attacked):
        delta = self.directions.to(obs.device).unsqueeze(0) * eps.view(-1, 1, 1)
        return self._project(obs, delta.expand_as(obs), eps, attacked)
