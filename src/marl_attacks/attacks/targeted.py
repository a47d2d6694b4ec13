"""Targeted Align and Targeted Hadamard: f_theta chooses which agents to perturb.

The paper attacks the m agents that are most mutually aligned with their
team: the lowest clean validation MSE of f_theta,i (stored in the fitted
model, see :mod:`marl_attacks.alignment`). m comes from the evaluation (its
``n_attacked``); the evaluation's own (random) choice of agents is replaced.

* ``targeted-align``: Align (same PGD) on those m agents.
* ``targeted-hadamard``: Hadamard directions on those m agents. Its threat
  model grows from "no access" to "the benign samples f_theta was fitted on";
  the perturbation itself still ignores the live observations.

Choices where the paper is silent: the targets are fixed for the whole
evaluation (validation MSE is a property of f_theta, not of a step); ties go
to the lower agent index; both use the MLP f_theta (registry ``align_arch``).
"""

from __future__ import annotations

from .align import AlignAttack
from .base import lowest_mse_targets
from .hadamard import HadamardAttack


class TargetedAlignAttack(AlignAttack):
    chooses_targets = True

    def choose_targets(self, attacked):
        return lowest_mse_targets(self.model.val_mse, attacked)

    def perturb(self, obs, eps, attacked):
        return super().perturb(obs, eps, self.choose_targets(attacked))


class TargetedHadamardAttack(HadamardAttack):
    needs = ("align_model",)
    chooses_targets = True

    def __init__(self, ctx, width: str = "observation"):
        super().__init__(ctx, width)
        if ctx.align_model is None:
            raise ValueError("targeted Hadamard needs a fitted f_theta (align_model) to choose targets")
        self.val_mse = ctx.align_model.val_mse

    def choose_targets(self, attacked):
        return lowest_mse_targets(self.val_mse, attacked)

    def perturb(self, obs, eps, attacked):
        return super().perturb(obs, eps, self.choose_targets(attacked))
