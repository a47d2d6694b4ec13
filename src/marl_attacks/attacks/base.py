"""The attack interface and the constraints every perturbation obeys.

An attack returns a perturbation ``delta`` of the observations the agents are
about to receive. Whatever the attack computes, :func:`project_delta` makes it
valid before it is applied:

* ``|delta|_inf <= eps`` for every sample (``eps`` may differ per sample, so
  several budgets are evaluated in one batch);
* zero on dimensions the env marks as non-perturbable (agent-ID one-hots) and
  on agents that are not attacked;
* ``obs + delta`` inside the observation-space bounds.

Which agents are attacked comes from the evaluation as a mask. Targeted
attacks (``chooses_targets = True``) replace it with their own choice of as
many agents (:meth:`Attack.choose_targets`); the evaluation asks them first,
so its rows report the agents really attacked. :func:`sign_pgd` is the
sign-gradient ascent shared by Align and the white-box baselines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..envs import EnvSpec


def project_delta(
    obs: torch.Tensor, delta: torch.Tensor, eps: torch.Tensor, attacked: torch.Tensor, spec: EnvSpec
) -> torch.Tensor:
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


def sign_pgd(
    objective: Callable[[torch.Tensor], torch.Tensor],
    delta: torch.Tensor,
    eps: torch.Tensor,
    project: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    step_frac: float,
) -> torch.Tensor:
    """``steps`` sign-gradient ascent steps of size ``step_frac * eps`` on ``objective``.

    ``objective(delta)`` returns a per-sample loss ``[B]``; ``project`` maps any delta onto
    the feasible set. With one step (FGSM) the projected step is returned; with more, each
    sample keeps its best iterate after the first step (standard PGD practice), which costs
    one more forward pass.
    """
    alpha = (eps * step_frac).view(-1, 1, 1)
    best, best_loss = None, None
    for k in range(steps):
        with torch.enable_grad():
            delta = delta.detach().requires_grad_(True)
            loss = objective(delta)
            (grad,) = torch.autograd.grad(loss.sum(), delta)
        if k > 0:  # loss of the previous iterate, computed in this step's forward pass
            best, best_loss = _keep_best(best, best_loss, delta.detach(), loss.detach())
        delta = project(delta.detach() + alpha * grad.sign())
    if steps <= 1:
        return delta
    with torch.no_grad():
        best, _ = _keep_best(best, best_loss, delta, objective(delta))
    return best


def _keep_best(best, best_loss, delta, loss):
    """Per sample, the iterate with the highest loss so far."""
    if best_loss is None:
        return delta, loss
    better = loss > best_loss
    return torch.where(better.view(-1, 1, 1), delta, best), torch.where(better, loss, best_loss)


def lowest_mse_targets(val_mse: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
    """Mask of the ``attacked.sum(-1)`` agents with the lowest ``val_mse``, per sample.

    Ties go to the lower agent index (stable sort), so the choice is deterministic.
    """
    if torch.isnan(val_mse).any():
        raise ValueError(
            "targeting needs f_theta's validation MSE per agent; fit f_theta with "
            "marl_attacks.alignment.fit (it stores val_mse in the model)"
        )
    order = torch.argsort(val_mse.cpu(), stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    m = attacked.sum(-1, keepdim=True)
    return rank.to(attacked.device).unsqueeze(0) < m


def lowest_error_targets(error: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
    """Mask of the ``attacked.sum(-1)`` agents with the lowest ``error`` ``[B, n]``, per sample
    (the authors' ``torch.topk(error, m, largest=False)``; ties go to the lower agent index)."""
    order = torch.argsort(error, dim=-1, stable=True)
    rank = torch.empty_like(order).scatter_(
        -1, order, torch.arange(error.shape[-1], device=order.device).expand_as(order)
    )
    return rank.to(attacked.device) < attacked.sum(-1, keepdim=True)


@dataclass
class AttackContext:
    """Everything an attack may be given; each attack takes only what its threat model allows."""

    spec: EnvSpec
    generator: torch.Generator  # the attack's own random stream (CPU), seeded per evaluation
    align_model: object | None = None  # f_theta (with its val_mse buffer), for Align and targeting
    victim: object | None = None  # the victim policy, for white-box baselines only


class Attack:
    """Base class. ``needs`` names what the threat model grants beyond live observations."""

    needs: tuple[str, ...] = ()
    #: True when the attack picks its own targets instead of the evaluation's mask
    chooses_targets: bool = False
    #: the env's current action mask ``[B, n, actions]`` (None: all valid), set by the rollout
    #: before each :meth:`perturb`; the white-box baseline needs the victim's masked greedy action
    avail: torch.Tensor | None = None

    def __init__(self, ctx: AttackContext):
        self.ctx, self.spec = ctx, ctx.spec

    def reset(self, num_envs: int, device: torch.device) -> None:
        """Called at the start of a batch of episodes."""

    def reset_envs(self, done: torch.Tensor) -> None:
        """Episodes where ``done`` (``[B]`` bool) restart; stateful attacks forget them."""

    def snapshot(self):
        """The per-episode state (None for stateless attacks), for :meth:`restore_rows`."""
        return None

    def restore_rows(self, saved, rows: torch.Tensor) -> None:
        """Put back the ``saved`` state of the episodes where ``rows`` (``[B]`` bool).

        Lets a caller perturb a new observation of some episodes only (e.g. after VMAS's
        ``reset_at``) without advancing the others' state.
        """

    def choose_targets(self, attacked: torch.Tensor) -> torch.Tensor:
        """The agents this attack perturbs given the evaluation's mask ``[B, n]``.

        Untargeted attacks keep the mask; targeted ones return their own choice of
        ``attacked.sum(-1)`` agents per sample.
        """
        return attacked

    def perturb(self, obs: torch.Tensor, eps: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
        """Return a projected perturbation ``[B, n, d]``."""
        raise NotImplementedError

    def _project(self, obs, delta, eps, attacked):
        return project_delta(obs, delta, eps, attacked, self.spec)


class Benign(Attack):
    """No perturbation: the reference every attack is compared against."""

    def perturb(self, obs, eps, attacked):
        return torch.zeros_like(obs)
