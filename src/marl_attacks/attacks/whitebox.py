"""White-box baseline (upper bound): sign-gradient steps on the victim itself.

Threat model: full access to the victim's network. Each step it takes K
sign-gradient ascent steps (K = 1: FGSM, Huang et al. 2017) of step size eps/K
on the victim's ``attack_loss``: minus the log-probability of the clean greedy
action for policy-gradient victims, minus the clean greedy Q-value for
value-based ones. For continuous actions the greedy action is the mode of the
policy, where the log-probability has zero gradient; there the loss is the
squared distance of the perturbed mean from the clean action and the ascent
starts from a uniform random point of the eps-ball (FGSM with random start,
Wong et al. 2020), a choice the paper leaves open. ``white-box-fgsm`` fixes
K = 1; ``white-box-pgd`` defaults to K = 10 (the paper's K for Align) and,
like Align, keeps each sample's best iterate (:func:`~.base.sign_pgd`).

``loss: authors-max`` (the authors' ``src/attack/whitebox.py``, config ``protocol.white_box``):
minus the maximum of the victim's masked softmax probabilities (policy victims) or Q-values (value
victims), unavailable actions filled with 0 (:meth:`~marl_attacks.algos.VictimPolicy.action_scores`),
recomputed at each iterate; their attack is one step (white-box-fgsm). For a policy victim its
FGSM sign equals ours (-log p and -p of the same action), for a value victim it differs where
every available Q-value is negative (an unavailable action's 0 is then the maximum). ``loss:
greedy-action`` is ours.

A recurrent victim (``agent: gru``) is attacked at its current memory: the losses read it and
the clean greedy action is taken under :meth:`~marl_attacks.algos.VictimPolicy.hold_memory`,
so only the victim's own step on the perturbed observation advances it, once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Attack, sign_pgd

WHITE_BOX_LOSSES = ("greedy-action", "authors-max")


@dataclass
class WhiteBoxConfig:
    pgd_steps: int = 10  # K (white-box-fgsm fixes K = 1)
    step_size: float | None = None  # alpha as a fraction of eps; None means 1/K
    loss: str = "greedy-action"  # greedy-action (ours) or authors-max (their whitebox.py)


@dataclass
class WhiteBoxFgsmConfig:
    loss: str = "greedy-action"  # greedy-action (ours) or authors-max (their whitebox.py)


class WhiteBoxAttack(Attack):
    needs = ("victim",)

    def __init__(self, ctx, pgd_steps: int = 10, step_size: float | None = None, loss: str = "greedy-action"):
        super().__init__(ctx)
        if ctx.victim is None:
            raise ValueError("white-box attack needs the victim policy")
        if loss not in WHITE_BOX_LOSSES:
            raise ValueError(f"white-box: loss {loss!r}; allowed: {list(WHITE_BOX_LOSSES)}")
        if loss == "authors-max" and not self.spec.discrete:
            raise ValueError("white-box: loss authors-max needs discrete actions (the authors' envs all have them)")
        self.loss = loss
        self.victim, self.steps = ctx.victim, int(pgd_steps)
        self.step_frac = step_size if step_size is not None else 1.0 / self.steps
        self.random_start = not self.spec.discrete

    def perturb(self, obs, eps, attacked):
        e = eps.view(-1, 1, 1)
        with torch.no_grad(), self.victim.hold_memory():
            # the clean greedy action, also for a victim that samples (victim_actions: sample):
            # it is the policy's most likely action, the one to push the victim away from
            clean_action = self.victim.act(obs, self.avail)
        delta = torch.zeros_like(obs)
        if self.random_start:
            u = torch.rand(obs.shape, generator=self.ctx.generator).to(obs.device)
            delta = self._project(obs, (2 * u - 1) * e, eps, attacked)
        if self.loss == "authors-max":
            loss = lambda d: -self.victim.action_scores(obs + d, self.avail).amax(-1).sum(-1)
        else:
            loss = lambda d: self.victim.attack_loss(obs + d, clean_action, self.avail)
        return sign_pgd(
            loss,
            delta,
            eps,
            lambda d: self._project(obs, d, eps, attacked),
            self.steps,
            self.step_frac,
        )
