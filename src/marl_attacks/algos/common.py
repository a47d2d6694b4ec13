"""Pieces shared by victim learners: GAE with time-limit bootstrapping, MLPs, episode stats,
hyperparameters added after victims were shipped, and resumable checkpoints.

Resuming: a training run is cut into segments of ``checkpoint_every`` updates.
Every segment starts all parallel episodes afresh from seeds derived from
``(seed, segment)`` (:func:`segment_seeds`), whether or not the run is
checkpointed, because an env's internal state (VMAS tensors, PettingZoo
objects) cannot be saved. A run resumed from the checkpoint written at a
segment boundary therefore continues exactly as the uninterrupted run would
(bit for bit on the CPU): the checkpoint holds the networks, optimiser, global
RNG states, update counter, curve and, for replay learners, the buffer. The
episodes in flight at a boundary are cut like the end of a rollout (their
last transition bootstraps), never treated as terminal.
"""

from __future__ import annotations

import io
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..io import atomic_write


def later_field(default, *, after_gru: bool = False):
    """A hyperparameter added after victims were shipped (e.g. ``agent``): left out of a policy's
    provenance while it is at ``default`` (:func:`marl_attacks.lineage.policy_block`), so the
    shipped victims, made before it existed, keep their config hash and are still accepted.
    Feed-forward victims only, since the shipped GRU victims' blocks name every field that existed
    when the GRU agent came; ``after_gru``: added after those were shipped too (their blocks lack
    it), so left out at its default for every victim."""
    return field(default=default, metadata={"omit_at_default": "every victim" if after_gru else "feed-forward"})


class _NumpyTanh(torch.autograd.Function):
    """tanh by numpy's vectorised kernel; the backward is torch's own rule, grad * (1 - y^2)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = torch.from_numpy(np.tanh(x.detach().numpy()))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


class Tanh(nn.Module):
    """``nn.Tanh``, computed by numpy on the CPU. torch 2.13's CPU tanh kernel takes 4-8 ms for a
    12,800 x 128 batch on this project's machines (one thread), numpy's 0.3-0.4 ms (same float32
    tanh to an ulp); PPO on RWARE trains 1.1-1.15x the env steps per CPU second (``bench/tanh_kernel.py``).
    Elsewhere (CUDA, other dtypes) it is ``torch.tanh``. No parameters: state dicts are unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not x.is_sparse:
            return _NumpyTanh.apply(x)
        return torch.tanh(x)


def mlp(sizes: list[int], activation=Tanh, out_gain: float = 1.0) -> nn.Sequential:
    """Orthogonally initialised MLP (the PPO default); no activation after the last layer."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        nn.init.orthogonal_(lin.weight, out_gain if last else 2**0.5)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


def bootstrap_truncated(
    reward: torch.Tensor, truncated: torch.Tensor, final_value: torch.Tensor, gamma: float
) -> torch.Tensor:
    """Fold ``gamma * V(final_obs)`` into the reward of time-limit ends.

    A time limit is not a terminal state: the return continues past it, so the
    value of the observation that ended the episode is bootstrapped. Combined
    with ``done = terminated | truncated`` in :func:`gae`, this gives the
    correct target for both kinds of episode end.
    """
    return reward + gamma * final_value * truncated.float()


def gae(
    rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_value: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over ``[T, N]`` (or ``[T, N, k]``) rollouts.

    ``rewards`` and ``dones`` broadcast against ``values`` (e.g. ``[T, N, 1]``
    against one value per agent, ``[T, N, n]``).

    ``dones[t]`` is True when the episode ended at step ``t`` (terminated or
    truncated); the value after an ended step is never bootstrapped here
    (truncation is handled by :func:`bootstrap_truncated`). Returns
    ``(advantages, returns)``.
    """
    T = rewards.shape[0]
    adv = torch.zeros_like(values)
    running = torch.zeros_like(last_value)
    next_value = last_value
    for t in reversed(range(T)):
        live = 1.0 - dones[t].float()
        delta = rewards[t] + gamma * next_value * live - values[t]
        running = delta + gamma * lam * live * running
        adv[t] = running
        next_value = values[t]
    return adv, adv + values


class EpisodeTracker:
    """Accumulates team returns of the parallel episodes and reports finished ones (and their win
    rate where the env reports wins: ``update``'s ``win``)."""

    def __init__(self, num_envs: int, device: torch.device):
        self.ret = torch.zeros(num_envs, device=device)
        self.len = torch.zeros(num_envs, device=device)
        self.finished_returns: list[float] = []
        self.finished_lengths: list[float] = []
        self.finished_wins: list[bool] | None = None  # a list once a step reports wins

    def restart(self) -> None:
        """Forget the episodes in flight (all envs were reset at a segment boundary)."""
        self.ret.zero_()
        self.len.zero_()

    def update(self, reward: torch.Tensor, done: torch.Tensor, win: torch.Tensor | None = None) -> None:
        self.ret += reward
        self.len += 1
        if win is not None and self.finished_wins is None:
            self.finished_wins = []
        if done.any():
            self.finished_returns += self.ret[done].tolist()
            self.finished_lengths += self.len[done].tolist()
            if win is not None:  # a win is decided on the episode's last step
                self.finished_wins += win[done].tolist()
            self.ret[done] = 0
            self.len[done] = 0

    def curve_row(self, update: int, env_steps: int, start: float, **stats) -> dict:
        """One training-curve row: the episodes finished since the last row, plus ``stats``."""
        wins = self.finished_wins
        win_rate = {} if wins is None else {"win_rate": sum(wins) / len(wins) if wins else float("nan")}
        if wins is not None:
            self.finished_wins = []
        ep_ret, ep_len, n_eps = self.pop()
        return dict(
            update=update,
            env_steps=env_steps,
            wall_s=round(time.time() - start, 3),
            episodes=n_eps,
            episode_return=ep_ret,
            episode_length=ep_len,
            **win_rate,
            **stats,
        )

    def pop(self) -> tuple[float, float, int]:
        """Mean return and length of the episodes finished since the last call."""
        n = len(self.finished_returns)
        if n == 0:
            return float("nan"), float("nan"), 0
        r = sum(self.finished_returns) / n
        ln = sum(self.finished_lengths) / n
        self.finished_returns, self.finished_lengths = [], []
        return r, ln, n


# ---- resumable checkpoints ----------------------------------------------------------------


def segment_seeds(seed: int, segment: int, num_envs: int) -> list[int]:
    """Seeds of the parallel episodes that start segment ``segment`` of a training run."""
    return [int(s) for s in np.random.SeedSequence([seed, segment]).generate_state(num_envs)]


def rng_state() -> dict:
    """The global torch, numpy and python RNG states as tensors and plain lists.

    Plain types load with ``torch.load(..., weights_only=True)``.
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


@dataclass
class Checkpointer:
    """Where a training run keeps its resume point, and the key of what made it.

    ``key`` is a hash of everything that determines the run (config block and
    seed); a stored checkpoint with another key is ignored with a warning.
    """

    path: str | Path
    key: str

    def load(self) -> dict | None:
        """The stored state, or None (no file, unreadable, or another config's)."""
        path = Path(self.path)
        if not path.exists():
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a torn file cannot happen (atomic writes) but a foreign one can
            warnings.warn(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc}); starting fresh", stacklevel=2)
            return None
        if not isinstance(state, dict) or state.get("key") != self.key:
            got = state.get("key") if isinstance(state, dict) else None
            warnings.warn(
                f"{path}: checkpoint of another config (key {got}, expected {self.key}); starting fresh", stacklevel=2
            )
            return None
        print(f"{path}: resuming from the checkpoint written after update {state.get('update')}")
        return state

    def save(self, state: dict) -> None:
        buffer = io.BytesIO()
        torch.save({"key": self.key, **state}, buffer)
        atomic_write(self.path, lambda fh: fh.write(buffer.getvalue()))

    def remove(self) -> None:
        Path(self.path).unlink(missing_ok=True)


def is_checkpoint_update(update: int, every: int, n_updates: int) -> bool:
    """Whether a resume point is written after ``update`` (never after the last one)."""
    return (update + 1) % every == 0 and update + 1 < n_updates
