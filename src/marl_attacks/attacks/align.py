"""Align: make the attacked agents' observations mutually inconsistent.

Threat model: the adversary has only a fixed set of benign joint observations
(used to fit f_theta, see :mod:`marl_attacks.alignment`) and the live
observations; no actions, rewards, weights or queries. Each step it runs K
steps of sign-gradient ascent (PGD; K = 1 is FGSM) with step size eps/K on

    sum_{i attacked} J_i,   J_i = MSE(f_theta,i(o_{-i} + delta_{-i}), o_i + delta_i),

starting from delta = 0 and projecting onto the feasible set after each step;
with K > 1 each sample keeps its best iterate. delta enters both the model's
input and its target. Choice where the paper is
silent: only attacked agents' J_i enter the objective (with all agents
attacked, that is every J_i), and delta is zero for unattacked agents.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Attack


@dataclass
class AlignConfig:
    pgd_steps: int = 1  # K; 1 is FGSM (paper: 10, and K = 1 is often enough)
    step_size: float | None = None  # alpha as a fraction of eps; None means 1/K


class AlignAttack(Attack):
    needs = ("align_model",)

    def __init__(self, ctx, pgd_steps: int = 1, step_size: float | None = None):
        super().__init__(ctx)
        if ctx.align_model is None:
            raise ValueError("align attack needs a fitted f_theta (align_model)")
        self.model = ctx.align_model
        self.steps = int(pgd_steps)
        self.step_frac = step_size if step_size is not None else 1.0 / self.steps
        for p in self.model.parameters():
            p.requires_grad_(False)

    def objective(self, obs: torch.Tensor, delta: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
        """Per-sample alignment loss ``[B]`` that the attack increases."""
        return (self.model.per_agent_loss(obs + delta) * attacked).sum(-1)

    def perturb(self, obs, eps, attacked):
        alpha = (eps * self.step_frac).view(-1, 1, 1)
        attacked_f = attacked.to(obs.dtype)
        delta = torch.zeros_like(obs)
        best, best_loss = delta, None
        for k in range(self.steps):
            with torch.enable_grad():
                delta.requires_grad_(True)
                loss = self.objective(obs, delta, attacked_f)
                (grad,) = torch.autograd.grad(loss.sum(), delta)
            if k > 0:  # loss of the previous iterate, computed in this step's forward pass
                best, best_loss = self._keep_best(best, best_loss, delta.detach(), loss.detach())
            delta = self._project(obs, delta.detach() + alpha * grad.sign(), eps, attacked)
        if self.steps == 1:
            return delta
        with torch.no_grad():
            best, _ = self._keep_best(best, best_loss, delta, self.objective(obs, delta, attacked_f))
        return best

    @staticmethod
    def _keep_best(best, best_loss, delta, loss):
        """Per sample, the iterate with the highest alignment loss so far (standard PGD practice)."""
        if best_loss is None:
            return delta, loss
        better = loss > best_loss
        return torch.where(better.view(-1, 1, 1), delta, best), torch.where(better, loss, best_loss)
