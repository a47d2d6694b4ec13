"""Targeted Align and Targeted Hadamard: f_theta chooses which agents to perturb.

The paper attacks the m agents that are most mutually aligned with their
team. m comes from the evaluation (its ``n_attacked``); the evaluation's own
(random) choice of agents is replaced. How the m agents are found is the
``targets`` hyperparameter, set by the config's ``protocol.targeting``:

* ``validation-mse`` (ours): the lowest clean validation MSE of f_theta,i
  (stored in the fitted model, see :mod:`marl_attacks.alignment`), so the
  targets are fixed for the whole evaluation (validation MSE is a property of
  f_theta, not of a step);
* ``per-step`` (the authors' ``src/attack/align.py``, its ``to_attack > 0``
  branches): at every step, the m agents whose f_theta error on the *clean*
  joint observation of that step is lowest (``torch.topk(..., largest=False)``
  of each agent's MSE over its predicted dimensions); a recurrent f_theta
  predicts from the state its earlier, perturbed steps left (their
  ``perturbation_hidden``).

Ties go to the lower agent index.

* ``targeted-align``: Align (same PGD) on those m agents.
* ``targeted-hadamard``: Hadamard directions on those m agents. Its threat
  model grows from "no access" to "the benign samples f_theta was fitted on";
  the perturbation itself still ignores the live observations (with
  ``per-step`` the choice of agents does not). Its f_theta is the MLP (registry
  ``align_arch``); ``protocol.targeting: authors`` gives it the RNN, as their
  ``RNNperturbation_`` / ``LBFRNNperturbation_`` do, its state advancing on the
  perturbed observations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .align import AlignAttack, AlignConfig, FThetaState
from .base import lowest_error_targets, lowest_mse_targets
from .hadamard import HadamardAttack, HadamardConfig

TARGETS = ("validation-mse", "per-step")


def _per_step(targets: str) -> bool:
    if targets not in TARGETS:
        raise ValueError(f"targets {targets!r}; allowed: {list(TARGETS)}")
    return targets == "per-step"


@dataclass
class TargetedAlignConfig(AlignConfig):
    targets: str = "validation-mse"  # or per-step (the authors'); set by protocol.targeting


@dataclass
class TargetedHadamardConfig(HadamardConfig):
    targets: str = "validation-mse"  # or per-step (the authors'); set by protocol.targeting


def current_targets(attack: FThetaState, obs: torch.Tensor, attacked: torch.Tensor) -> torch.Tensor:
    """The agents of lowest f_theta error on this step's clean ``obs`` (as many as ``attacked``)."""
    attack.ensure_state(obs)
    with torch.no_grad():
        error = attack.model.per_agent_loss(obs, attack.state)
    return lowest_error_targets(error, attacked)


class TargetedAlignAttack(AlignAttack):
    chooses_targets = True

    def __init__(self, ctx, pgd_steps: int = 1, step_size: float | None = None, targets: str = "validation-mse"):
        super().__init__(ctx, pgd_steps, step_size)
        self.per_step = _per_step(targets)

    def choose_targets(self, attacked):
        # per step: chosen in perturb from the live observation; only their number is fixed here
        return attacked if self.per_step else lowest_mse_targets(self.model.val_mse, attacked)

    def perturb(self, obs, eps, attacked):
        targets = current_targets(self, obs, attacked) if self.per_step else self.choose_targets(attacked)
        return super().perturb(obs, eps, targets)


class TargetedHadamardAttack(FThetaState, HadamardAttack):
    needs = ("align_model",)
    chooses_targets = True

    def __init__(self, ctx, width: str = "observation", targets: str = "validation-mse"):
        super().__init__(ctx, width)
        if ctx.align_model is None:
            raise ValueError("targeted Hadamard needs a fitted f_theta (align_model) to choose targets")
        self.per_step = _per_step(targets)
        self.model, self.val_mse = ctx.align_model.eval(), ctx.align_model.val_mse  # eval: no dropout

    def choose_targets(self, attacked):
        return attacked if self.per_step else lowest_mse_targets(self.val_mse, attacked)

    def perturb(self, obs, eps, attacked):
        if not self.per_step:
            return super().perturb(obs, eps, self.choose_targets(attacked))
        delta = super().perturb(obs, eps, current_targets(self, obs, attacked))
        self.advance(obs + delta)
        return delta
