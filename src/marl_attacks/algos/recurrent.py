"""GRU agents (``agent: gru``): EPyMARL's recurrent agent network, the victim's memory, and
training on sequences.

The network is EPyMARL's ``RNNAgent`` (``src/modules/agents/rnn_agent.py``): ``fc1 -> ReLU ->
GRUCell -> fc2`` on the observation with the one-hot agent ID appended, one memory per agent,
PyTorch's default initialisation as there. :class:`RecurrentVictim` gives a victim policy its
memory: the output for observation ``o_t`` comes from the memory after ``o_0 .. o_{t-1}``;
acting (``act``, ``sample``) advances the memory on the observation the victim was *given*
(perturbed or not), while a white-box attacker's losses read it without advancing it. The
memory is zeroed where an episode starts (:meth:`RecurrentVictim.reset_memory`).

Training on sequences, the simplest correct scheme for each learner:

- PPO (MAPPO, IPPO): each rollout chunk of ``rollout_len`` steps of one env is a sequence.
  The memory at the chunk's start is stored, and a minibatch is a set of whole chunks
  (``num_envs / minibatches`` envs), unrolled from that memory and zeroed after every episode
  end inside the chunk (:meth:`RecurrentVictim.unroll`), exactly as during the rollout.
- QMIX, VDN: sequences of ``burn_in + seq_len`` consecutive transitions of one env from the
  replay ring (:meth:`~.replay.ReplayBuffer.sample_sequences`), as R2D2 (Kapturowski et al.
  2019): both the online and the target network start from the memory the acting network had
  at the sequence's first transition (stored with every transition), unroll the ``burn_in``
  transitions without gradient to refresh it, and learn on the ``seq_len`` after them
  (:func:`sequence_td_loss`). The stored memory is that of older weights; the burn-in bounds
  how much that matters. EPyMARL instead replays whole episodes from a zero memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from .base import mask_scores

#: agent networks (config ``algos.<algo>.agent``): feed-forward (the default) or EPyMARL's GRU
AGENTS = ("mlp", "gru")
#: hyperparameters that only a GRU agent reads (QMIX/VDN's replayed sequences)
GRU_ONLY = ("seq_len", "burn_in")
#: suffix of the victim name of an algorithm's GRU variant: ``mappo-gru`` is ``algos.mappo`` with
#: ``agent: gru`` (the victim-memory ablation's second victim). The name, not the algorithm, is what
#: its paths, seeds and evaluation rows carry, so a feed-forward victim's are unchanged
GRU_VARIANT = "-gru"


def gru_variant(algo: str) -> str:
    """The victim name of ``algo``'s GRU variant."""
    return algo + GRU_VARIANT


def split_variant(name: str) -> tuple[str, str | None]:
    """``(algorithm, agent network the name sets or None)`` of a victim name:
    ``mappo-gru`` -> ``("mappo", "gru")``, ``mappo`` -> ``("mappo", None)``."""
    if name.endswith(GRU_VARIANT):
        return name[: -len(GRU_VARIANT)], "gru"
    return name, None


def check_agent(agent: str) -> None:
    if agent not in AGENTS:
        raise ValueError(f"agent {agent!r} is not allowed; allowed: {list(AGENTS)}")


def network_kind(init_kwargs: dict) -> str:
    """The agent network of a saved policy (``mlp`` for policies saved before GRU agents existed)."""
    return init_kwargs.get("agent", "mlp")


class GruNet(nn.Module):
    """``[..., in] x memory [..., hidden] -> (out [..., out], memory after the input)``."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.hidden = hidden
        self.fc1 = nn.Linear(in_dim, hidden)
        self.rnn = nn.GRUCell(hidden, hidden)
        self.fc2 = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lead = x.shape[:-1]
        h = self.rnn(F.relu(self.fc1(x)).reshape(-1, self.hidden), memory.reshape(-1, self.hidden))
        h = h.view(*lead, self.hidden)
        return self.fc2(h), h

    def unroll(self, x: torch.Tensor, memory: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` over ``x`` ``[T, B, ..., in]`` step by step from ``memory`` ``[B, ..., hidden]``,
        zeroing the memory of row ``b`` before step ``t`` where ``starts[t, b]``; the layers around
        the GRU cell run on all steps at once. Returns outputs and memories after each step.

        The steps are taken from the input with ``unbind``, not ``z[t]``: the backward of each index
        writes a zero gradient the size of all ``T`` steps, which made the unroll's backward
        quadratic in ``T`` (2x the forward and backward time at RWARE's 100-step chunks)."""
        T, lead = x.shape[0], memory.shape
        z = F.relu(self.fc1(x)).reshape(T, -1, self.hidden)
        keep = (~starts).reshape(T, -1, *([1] * (memory.dim() - 1))).expand(T, *lead[:-1], 1).reshape(T, -1, 1)
        h, memories = memory.reshape(-1, self.hidden), []
        for z_t, keep_t in zip(z.unbind(0), keep.unbind(0)):
            h = self.rnn(z_t, h * keep_t)
            memories.append(h)
        h = torch.stack(memories).view(T, *lead)
        return self.fc2(h), h


class RecurrentVictim:
    """Memory of a victim whose ``self.net`` is a :class:`GruNet` (mixed in before its policy class).

    ``memory`` (``[B, n, hidden]``, None before the first step) is what the victim remembers
    before its current observation.
    """

    recurrent = True
    memory: torch.Tensor | None = None
    net: GruNet

    def look(self, obs: torch.Tensor, memory: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Output for ``obs`` (``[B, n, d]``) and the memory after it, from ``memory`` (default: the
        current one); advances nothing."""
        if memory is None:
            memory = self.memory_for(obs)
        return self.net(torch.cat([obs, self.agent_ids(obs)], dim=-1), memory)

    def advance(self, obs: torch.Tensor) -> torch.Tensor:
        """Output for ``obs``, the observation the victim acts on: its memory moves past ``obs``."""
        out, memory = self.look(obs)
        self.memory = memory.detach()
        return out

    def memory_for(self, obs: torch.Tensor) -> torch.Tensor:
        """The current memory; zeros shaped for ``obs`` after a reset."""
        B, n = obs.shape[:2]
        if self.memory is None:
            self.memory = obs.new_zeros(B, n, self.net.hidden)
        elif self.memory.shape[:2] != (B, n):
            raise ValueError(
                f"the victim remembers {self.memory.shape[0]} episodes of {self.memory.shape[1]} agents but is shown "
                f"{B} x {n}; call reset_memory at the start of the new episodes"
            )
        return self.memory

    def reset_memory(self, rows: torch.Tensor) -> None:
        B = rows.shape[0]
        if self.memory is None or self.memory.shape[0] != B:
            self.memory = None  # zeros at the next step, shaped like its observation
        else:
            self.memory = self.memory.masked_fill(rows.to(self.memory.device).view(B, 1, 1), 0.0)

    @contextmanager
    def hold_memory(self) -> Iterator[None]:
        saved = self.memory
        try:
            yield
        finally:
            self.memory = saved

    def unroll(
        self, obs: torch.Tensor, memory: torch.Tensor, starts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs ``[T, B, n, out]`` and memories after each step ``[T, B, n, hidden]`` over
        observations ``[T, B, n, d]`` from ``memory`` (``[B, n, hidden]``); ``starts[t]`` (``[T, B]``
        bool) zeroes the memory before step ``t`` (a new episode starts there)."""
        ids = self.agent_ids(obs[0]).expand(obs.shape[0], *obs.shape[1:3], obs.shape[2])
        return self.net.unroll(torch.cat([obs, ids], dim=-1), memory, starts)


def episode_starts(dones: torch.Tensor) -> torch.Tensor:
    """``[T, B]`` bool: whether a new episode starts at step ``t`` of a chunk, from whether each
    step ended one (``dones`` ``[T, B]`` or ``[T, B, 1]``); step 0 continues the stored memory."""
    ended = dones.reshape(dones.shape[0], -1).bool()
    return torch.cat([torch.zeros_like(ended[:1]), ended[:-1]])


def sequence_td_loss(batch: dict, policy, mixer, target_policy, target_mixer, burn_in: int, double_q: bool):
    """QMIX/VDN's TD loss for GRU agents on a batch of :meth:`~.replay.ReplayBuffer.sample_sequences`;
    returns ``(loss, q_tot)``. The target of each learned transition is its n-step return plus the
    discounted ``Q_tot`` of its window's bootstrap observation, evaluated with the target network's
    memory after the window's last observation (double Q: the online network's greedy action there)."""
    obs, next_obs, starts, memory0 = batch["obs"], batch["next_obs"], batch["starts"], batch["memory"]
    L, S = batch["reward"].shape

    def run(net, grad: bool):
        memory = memory0
        if burn_in:
            with torch.no_grad():
                memory = net.unroll(obs[:burn_in], memory0, starts[:burn_in])[1][-1]
        with torch.set_grad_enabled(grad):
            return net.unroll(obs[burn_in:], memory, starts[burn_in:])

    q_all, memory_online = run(policy, True)
    with torch.no_grad():
        memory_target = run(target_policy, False)[1]
        last = batch["last"] - burn_in  # [L, S]: the unrolled step whose memory bootstraps
        seq = torch.arange(S, device=last.device).expand(L, S)
        nxt = next_obs[burn_in:][last, seq].flatten(0, 1)  # [L * S, n, d]
        q_next = target_policy.look(nxt, memory_target[last, seq].flatten(0, 1))[0]
        chooser = policy.look(nxt, memory_online[last, seq].flatten(0, 1))[0] if double_q else q_next
        avail = batch.get("next_avail")
        chooser = mask_scores(chooser, None if avail is None else avail.flatten(0, 1))
        q_next = q_next.gather(-1, chooser.argmax(-1, keepdim=True)).squeeze(-1)
        live = 1.0 - batch["terminated"].flatten().float()
        target = batch["reward"].flatten() + batch["discount"].flatten() * live * target_mixer(q_next, nxt)
    q = q_all[:L].gather(-1, batch["action"].unsqueeze(-1)).squeeze(-1)  # [L, S, n]
    q_tot = mixer(q.flatten(0, 1), obs[burn_in : burn_in + L].flatten(0, 1))
    return (q_tot - target).pow(2).mean(), q_tot
