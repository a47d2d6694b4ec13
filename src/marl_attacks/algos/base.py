"""What every victim exposes to the evaluation and the white-box baseline."""

from __future__ import annotations

import torch
from torch import nn


class VictimPolicy(nn.Module):
    """A trained joint policy, always evaluated greedily.

    Subclasses implement :meth:`act` (the greedy joint action) and
    :meth:`attack_loss`, the quantity a white-box attacker *increases* to hurt
    the victim (e.g. minus the log-probability of the clean greedy action).
    """

    #: keyword arguments that rebuild the network, saved with its weights
    init_kwargs: dict

    def act(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        """Greedy joint action for observations ``[B, n, d]``, among the ``avail`` actions
        (``[B, n, actions]`` bool from :meth:`BatchedEnv.available_actions`) when given."""
        raise NotImplementedError

    def attack_loss(self, obs: torch.Tensor, clean_action: torch.Tensor,
                    avail: torch.Tensor | None = None) -> torch.Tensor:
        """Per-sample loss ``[B]`` that grows as the victim moves away from ``clean_action``."""
        raise NotImplementedError

    def agent_ids(self, obs: torch.Tensor) -> torch.Tensor:
        """One-hot agent IDs the learner appends for parameter sharing (never perturbed)."""
        B, n, _ = obs.shape
        return torch.eye(n, device=obs.device, dtype=obs.dtype).expand(B, n, n)


#: what masked-out logits and Q-values become (finite, so entropies and softmaxes stay defined)
MASKED = -1e8


def mask_scores(scores: torch.Tensor, avail: torch.Tensor | None) -> torch.Tensor:
    """Logits or Q-values ``[..., actions]`` with unavailable actions pushed to :data:`MASKED`.

    Action masks come from the true env state (never from observations), so
    observation attacks cannot change them; the victims always act among valid
    actions, as EPyMARL's do.
    """
    return scores if avail is None else scores.masked_fill(~avail, MASKED)
