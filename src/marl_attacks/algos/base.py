"""What every victim exposes to the evaluation and the white-box baseline."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

#: how a victim acts in every rollout (config key ``envs.<env>.victim_actions``): ``greedy``
#: (argmax or mean, as EPyMARL's test_greedy) or ``sample`` (draw from its stochastic policy, or
#: epsilon-greedy with the final training epsilon for value-based victims)
VICTIM_ACTIONS = ("greedy", "sample")

#: one generator for the whole batch, or one per batch row (one random stream per episode)
Generators = torch.Generator | Sequence[torch.Generator]


def draw(shape: Sequence[int], generator: Generators, normal: bool = False) -> torch.Tensor:
    """``torch.rand`` (or ``torch.randn``) of ``shape = [B, ...]`` in float64 on the CPU.

    With one generator per row, row ``b`` comes from ``generator[b]`` alone, so an
    episode's draws do not depend on which other episodes share its batch.
    """
    fn = torch.randn if normal else torch.rand
    if isinstance(generator, torch.Generator):
        return fn(tuple(shape), generator=generator, dtype=torch.float64)
    if len(generator) != shape[0]:
        raise ValueError(f"{len(generator)} generators for a batch of {shape[0]}")
    return torch.stack([fn(tuple(shape[1:]), generator=g, dtype=torch.float64) for g in generator])


class VictimPolicy(nn.Module):
    """A trained joint policy, evaluated greedily (:meth:`act`) or by sampling (:meth:`sample`).

    Subclasses implement :meth:`act` (the greedy joint action) and
    :meth:`attack_loss`, the quantity a white-box attacker *increases* to hurt
    the victim (e.g. minus the log-probability of the clean greedy action).
    Policies with a stochastic policy (MAPPO, IPPO) sample it in :meth:`sample`;
    value-based ones (QMIX, VDN) act epsilon-greedily there, as they explored at the end
    of training.

    A recurrent victim (``agent: gru``, :mod:`.recurrent`) remembers what it was shown:
    :meth:`act` and :meth:`sample` advance its memory on the observation they are given,
    :meth:`attack_loss` and :meth:`action_scores` read the current memory without advancing it,
    and :meth:`reset_memory` forgets the rows whose episode starts anew. For a feed-forward
    victim (the default) memory methods do nothing.
    """

    #: keyword arguments that rebuild the network, saved with its weights
    init_kwargs: dict
    #: whether the victim carries a memory from step to step (a GRU agent)
    recurrent: bool = False

    def reset_memory(self, rows: torch.Tensor) -> None:
        """Forget what rows ``rows`` (``[B]`` bool) remember: their episodes start now. A batch of
        another size starts afresh. Called by :func:`marl_attacks.rollout.run_episodes`."""

    @contextmanager
    def hold_memory(self) -> Iterator[None]:
        """Calls inside leave the memory as it was (a white-box attacker's look at the victim)."""
        yield

    def act(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        """Greedy joint action for observations ``[B, n, d]``, among the ``avail`` actions
        (``[B, n, actions]`` bool from :meth:`BatchedEnv.available_actions`) when given."""
        raise NotImplementedError

    def sample(self, obs: torch.Tensor, avail: torch.Tensor | None, generator: Generators) -> torch.Tensor:
        """A joint action drawn from the victim's stochastic policy with ``generator`` (one, or one
        per batch row: see :func:`draw`), among the ``avail`` actions. The default is :meth:`act`
        (a victim with nothing to draw from stays greedy)."""
        return self.act(obs, avail)

    def attack_loss(
        self, obs: torch.Tensor, clean_action: torch.Tensor, avail: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-sample loss ``[B]`` that grows as the victim moves away from ``clean_action``."""
        raise NotImplementedError

    def action_scores(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        """``[B, n, actions]``: what the authors' white-box attack takes the maximum of
        (``src/attack/whitebox.py``): the masked softmax probabilities of a policy victim, the
        Q-values of a value victim, with unavailable actions set to 0 after. Discrete actions only."""
        raise NotImplementedError(f"{type(self).__name__} has no action scores")

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
