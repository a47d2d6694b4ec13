"""The attack interface and the constraints every perturbation obeys.

An attack returns a perturbation ``delta`` of the observations the agents are
about to receive. Whatever the attack computes, :func:`project_delta` makes it
valid before it is applied:

* ``|delta|_inf <= eps`` for every sample (``eps`` may differ per sample, so
  several budgets are evaluated in one batch);
* zero on dimensions the env marks as non-perturbable (agent-ID one-hots) and
  on agents that are not attacked;
* ``obs + delta`` inside the observation-space bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..envs import EnvSpec


def project_delta(obs: torch.Tensor, delta: torch.Tensor, eps: torch.Tensor,
                  attacked: torch.Tensor, spec: EnvSpec) -> torch.Tensor:
    """Project ``delta`` onto the feasible set (see module docstring).

    ``obs``/``delta``: ``[B, n, d]``; ``eps``: ``[B]``; ``attacked``: ``[B, n]`` bool.
    """
    e = eps.to(delta.dtype).view(-1, 1, 1)
    mask = spec.perturbable.to(obs.device).unsqueeze(0) & attacked.unsqueeze(-1)
    low, high = spec.obs_low.to(obs.device), spec.obs_high.to(obs.device)
    # Bound delta itself (not obs + delta) so unbounded dims keep delta bit-exact.
    delta = torch.minimum(torch.maximum(delta, low - obs), high - obs)
    # The budget is applied last: it wins even for a clean observation the env
    # emitted slightly outside its own bounds.
    delta = torch.where(mask, torch.clamp(delta, -e, e), torch.zeros_like(delta))
    return delta


@dataclass
class AttackContext:
    """Everything an attack may be given; each attack takes only what its threat model allows."""

    spec: EnvSpec
    generator: torch.Generator  # the attack's own random stream (CPU), seeded per evaluation
    align_model: object | None = None  # f_theta, for Align and targeted attacks
    victim: object | None = None  # the victim policy, for white-box baselines only


class Attack:
    """Base class. ``needs`` names what the threat model grants beyond live observations."""

    needs: tuple[str, ...] = ()

    def __init__(self, ctx: AttackContext):
        self.ctx, self.spec = ctx, ctx.spec

    def reset(self, num_envs: int, device: torch.device) -> None:
        """Called at the start of a batch of episodes."""

    def perturb(self, obs: torch.Tensor, eps: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
        """Return a projected perturbation ``[B, n, d]``."""
        raise NotImplementedError

    def _project(self, obs, delta, eps, attacked):
        return project_delta(obs, delta, eps, attacked, self.spec)


class Benign(Attack):
    """No perturbation: the reference every attack is compared against."""

    def perturb(self, obs, eps, attacked):
        return torch.zeros_like(obs)
