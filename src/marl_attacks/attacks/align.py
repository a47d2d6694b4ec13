"""Align: make the attacked agents' observations mutually inconsistent.

Threat model: the adversary has only a fixed set of benign joint observations
(used to fit f_theta, see :mod:`marl_attacks.alignment`) and the live
observations; no actions, rewards, weights or queries. Each step it runs K
steps of sign-gradient ascent (PGD; K = 1 is FGSM) with step size eps/K on

    sum_{i attacked} J_i,   J_i = MSE(f_theta,i(o_{-i} + delta_{-i}), o_i + delta_i),

starting from delta = 0 and projecting onto the feasible set after each step;
with K > 1 each sample keeps its best iterate. delta enters both the model's
input and its target. Choice where the paper is silent: only attacked agents'
J_i enter the objective (with all agents attacked, that is every J_i), and
delta is zero for unattacked agents.

One class serves every f_theta architecture (``align-mlp``, ``align-rnn``,
``align-transformer``, ``robust-align``); the registry names which fitted
model an attack name uses. For a recurrent f_theta the attack keeps the
LSTM state of each episode: the ascent at step t starts from the state after
steps 0..t-1, and once delta_t is chosen the state advances on the
*perturbed* joint observation ``o_t + delta_t``. Choice: the perturbed
sequence is what the agents actually receive, so the attack measures the
inconsistency of the current observation against the history the team has
seen (a state fed clean observations would track the true trajectory
instead; the paper does not say). The state restarts in :meth:`reset` (a
new batch of episodes) and in :meth:`reset_envs` (episodes that restart).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Attack, sign_pgd


@dataclass
class AlignConfig:
    pgd_steps: int = 1  # K; 1 is FGSM (paper: 10, and K = 1 is often enough)
    step_size: float | None = None  # alpha as a fraction of eps; None means 1/K


class FThetaState:
    """The state a recurrent f_theta carries along each episode of the batch (``None`` for a
    feed-forward one), for attacks that run f_theta every step: it restarts with the batch
    (:meth:`reset`) and with each episode that restarts (:meth:`reset_envs`), and advances on
    the *perturbed* joint observation the agents receive (:meth:`advance`)."""

    model: object
    state = None

    def reset(self, num_envs, device):
        self.state = self.model.initial_state(num_envs, device)

    def reset_envs(self, done):
        if self.state is not None:
            keep = (~done).to(self.state[0].dtype).view(1, 1, -1, 1)  # state is [layers, n, B, h]
            self.state = tuple(s * keep for s in self.state)

    def snapshot(self):
        return self.state

    def restore_rows(self, saved, rows):
        if saved is not None and self.state is not None:
            keep = rows.view(1, 1, -1, 1)
            self.state = tuple(torch.where(keep, old, new) for old, new in zip(saved, self.state))

    def ensure_state(self, obs: torch.Tensor) -> None:
        """A fresh state where none matches the batch (perturb called without reset)."""
        if self.model.recurrent and (self.state is None or self.state[0].shape[2] != obs.shape[0]):
            self.state = self.model.initial_state(obs.shape[0], obs.device)

    def advance(self, seen: torch.Tensor) -> None:
        """Step the recurrent state on the joint observation ``seen`` the agents received."""
        if self.model.recurrent:
            with torch.no_grad():
                self.state = self.model.step(seen, self.state)[1]


class AlignAttack(FThetaState, Attack):
    needs = ("align_model",)

    def __init__(self, ctx, pgd_steps: int = 1, step_size: float | None = None):
        super().__init__(ctx)
        if ctx.align_model is None:
            raise ValueError("align attack needs a fitted f_theta (align_model)")
        self.model = ctx.align_model.eval()  # no dropout while attacking
        self.steps = int(pgd_steps)
        self.step_frac = step_size if step_size is not None else 1.0 / self.steps
        self.state = None  # recurrent f_theta: state of every episode of the batch
        for p in self.model.parameters():
            p.requires_grad_(False)

    def objective(self, obs: torch.Tensor, delta: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
        """Per-sample alignment loss ``[B]`` that the attack increases."""
        return (self.model.per_agent_loss(obs + delta, self.state) * attacked).sum(-1)

    def perturb(self, obs, eps, attacked):
        self.ensure_state(obs)
        attacked_f = attacked.to(obs.dtype)
        delta = sign_pgd(
            lambda d: self.objective(obs, d, attacked_f),
            torch.zeros_like(obs),
            eps,
            lambda d: self._project(obs, d, eps, attacked),
            self.steps,
            self.step_frac,
        )
        self.advance(obs + delta)
        return delta
