"""Batched rollouts of a victim (greedy or sampled), optionally under attack: the one loop
every stage uses.

All ``B`` episodes run side by side; episode ``b`` starts from ``seeds[b]``
and is counted until its first end (the env is asked not to restart ended rows:
``BatchedEnv.auto_reset``; where it still does, the new episodes are ignored).
No gradients are kept except inside attacks that need them (``no_grad`` here,
``enable_grad`` inside the attack), so evaluation stays cheap.

A recurrent victim (``agent: gru``) acts through :func:`victim_actor`, whose ``reset`` the
loop calls at the start and after every step with the rows whose episode ended, so its memory
starts empty in every episode; within an episode it advances on what the victim is shown (the
perturbed observation under attack).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .algos.base import VICTIM_ACTIONS, VictimPolicy
from .attacks import Attack
from .envs import BatchedEnv


@dataclass
class EpisodeBatch:
    returns: torch.Tensor  # [B] team return of each episode
    lengths: torch.Tensor  # [B] steps until the episode ended
    max_abs_delta: torch.Tensor  # [B] largest |delta| applied in the episode
    win: torch.Tensor | None  # [B] bool where the env defines a win
    attack_seconds: float  # time spent computing perturbations
    attacked_steps: int  # number of (episode, step) pairs that were perturbed
    observations: list[torch.Tensor] | None = None  # per step [B, n, d] clean obs (if recorded)
    alive_masks: list[torch.Tensor] | None = None  # per step [B] whether obs belongs to a live episode


@dataclass
class VictimActor:
    """``act(obs, avail)`` of a victim, and ``reset(rows)`` of its memory where episodes start."""

    policy: VictimPolicy
    generators: list[torch.Generator] | None  # one per episode when sampling, None when greedy

    def __call__(self, obs: torch.Tensor, avail: torch.Tensor | None) -> torch.Tensor:
        if self.generators is None:
            return self.policy.act(obs, avail)
        return self.policy.sample(obs, avail, self.generators)

    def reset(self, rows: torch.Tensor) -> None:
        self.policy.reset_memory(rows)


def victim_actor(policy: VictimPolicy, mode: str, stream_seeds: Sequence[int]) -> VictimActor:
    """The ``act(obs, avail)`` of a victim in ``mode`` (config ``envs.<env>.victim_actions``).

    ``greedy``: :meth:`~VictimPolicy.act`. ``sample``: :meth:`~VictimPolicy.sample` with one
    random stream per episode, seeded by ``stream_seeds[b]`` (derived like the episode's env
    seed), so an episode draws the same numbers in every batch and under every attack.
    (value-based victims: epsilon-greedy with their final training epsilon). Make a new actor per
    :func:`run_episodes` call: the streams advance as it runs.
    """
    if mode not in VICTIM_ACTIONS:
        raise ValueError(f"victim_actions '{mode}': allowed: {list(VICTIM_ACTIONS)}")
    if mode == "greedy":
        return VictimActor(policy, None)
    return VictimActor(policy, [torch.Generator().manual_seed(int(s)) for s in stream_seeds])


def run_episodes(
    env: BatchedEnv,
    act: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    seeds: Sequence[int],
    attack: Attack | None = None,
    eps: torch.Tensor | None = None,
    attacked: torch.Tensor | Callable[[], torch.Tensor] | None = None,
    record: bool = False,
) -> EpisodeBatch:
    """Run one episode per seed with policy ``act(obs, avail)`` (a :func:`victim_actor`, or random).

    ``avail`` is the env's action mask (None where every action is valid). It
    comes from the true state, so the attack sees it too but cannot change it.
    An ``act`` with a ``reset(rows)`` method (:class:`VictimActor`) has it called with the rows
    whose episode starts: all of them first, then those that ended at each step.
    ``attacked``: the ``[B, n]`` agents the attack may perturb, or a function drawing them anew
    at every step.
    """
    owner = getattr(act, "__self__", None)
    if isinstance(owner, VictimPolicy) and owner.recurrent:
        raise ValueError("a recurrent victim acts through victim_actor(...), which resets its memory per episode")
    reset = getattr(act, "reset", None)
    # rows are counted until their first end only (an env of another class may lack the flag)
    auto_reset, env.auto_reset = getattr(env, "auto_reset", True), False
    try:
        return _run_first_episodes(env, act, reset, seeds, attack, eps, attacked, record)
    finally:
        env.auto_reset = auto_reset


def _run_first_episodes(env, act, reset, seeds, attack, eps, attacked, record) -> EpisodeBatch:
    B, device = env.num_envs, env.device
    obs = env.reset(seeds)
    if reset is not None:
        reset(torch.ones(B, dtype=torch.bool, device=device))
    returns = torch.zeros(B, device=device)
    lengths = torch.zeros(B, device=device)
    max_delta = torch.zeros(B, device=device)
    alive = torch.ones(B, dtype=torch.bool, device=device)
    win = torch.zeros(B, dtype=torch.bool, device=device) if env.spec.has_win else None
    if attack is not None:
        attack.reset(B, device)
        eps = eps.to(device)
        draw = attacked if callable(attacked) else None
        attacked = None if draw is not None else attacked.to(device)
    attack_seconds, attacked_steps = 0.0, 0
    observations, masks = ([], []) if record else (None, None)
    with torch.no_grad():
        for _ in range(env.spec.max_steps):
            if record:
                observations.append(obs.cpu().clone())
                masks.append(alive.cpu().clone())  # alive is updated in place below
            seen = obs
            avail = env.available_actions() if env.has_action_masks else None
            if attack is not None:
                attack.avail = avail
                if draw is not None:
                    attacked = draw().to(device)
                t0 = time.perf_counter()
                delta = attack.perturb(obs, eps, attacked)
                attack_seconds += time.perf_counter() - t0
                attacked_steps += int(alive.sum())
                max_delta = torch.where(alive, torch.maximum(max_delta, delta.abs().amax((1, 2))), max_delta)
                seen = obs + delta
            step = env.step(act(seen, avail))
            returns += step.reward * alive
            lengths += alive.float()
            if win is not None and step.win is not None:
                win |= step.win & alive
            ended = step.terminated | step.truncated
            if reset is not None:
                reset(ended)  # rows whose episode ended (restarted or not by the env): not counted further
            alive &= ~ended
            obs = step.obs
            if not alive.any():
                break
    return EpisodeBatch(
        returns=returns.cpu(),
        lengths=lengths.cpu(),
        max_abs_delta=max_delta.cpu(),
        win=None if win is None else win.cpu(),
        attack_seconds=attack_seconds,
        attacked_steps=attacked_steps,
        observations=observations,
        alive_masks=masks,
    )
