"""Level-Based Foraging stepped on arrays: all ``num_envs`` episodes at once, equal to lbforaging 2.0.

:class:`BatchedLbfEnv` has the constructor, :class:`EnvSpec`, observations, rewards,
terminations, truncations, ``final_obs``, action masks and auto-reset of
:class:`.lbf_env.LbfEnv` (which steps ``lbforaging.foraging.ForagingEnv`` instances one by
one), and tests/test_lbf_batched.py checks that both agree exactly, step by step. The state is
a few numpy arrays over the batch (player positions and levels, food positions and levels, a
zero-padded food grid); ``step`` has no Python loop over episodes, only small array operations
over ``[B, players, foods]``.

lbforaging's rules, as reproduced here (``ForagingEnv.step``):

* An action that is not valid in the current state becomes NONE. Valid: NONE; a move into a
  cell of the grid without food (other players do not block); LOAD next to food.
* Every player aims at a cell (its own for NONE and LOAD); players that aim at a cell no other
  player aims at move there, the others stay. Two players can end up on one cell (a chain).
* Food is loaded when the loading players next to it have, together, at least its level. Each
  of them gets ``level * food / (sum of their levels * food level spawned in the episode)``
  (without normalisation ``level * food``); a failed attempt costs each of them ``penalty``.
  lbforaging forms the groups in set-pop order, but never spawns two foods at Manhattan
  distance 2 or less (the 3x3 and distance-2 cross checks of ``spawn_food``), so a player is
  next to at most one food and the groups do not depend on that order.
* The team reward is the agents' rewards summed in float64 in player order (Python's ``sum``).
* The episode ends when all food is eaten (termination) or at ``max_steps`` (truncation unless
  the last food was eaten on that step), as in :mod:`.looped`.

Random draws: lbforaging draws from its ``np_random`` only in ``reset`` (player level order,
positions and levels; food level order, positions and levels), which ``LbfEnv`` seeds on every
reset with ``seed % 2**32`` (gymnasium: ``Generator(PCG64(SeedSequence(seed)))``). The placement
is therefore done per resetting episode with a fresh generator and the same sequence of draws,
in a Python loop over the *resetting* episodes only (``reset`` and the auto-resets in ``step``),
and auto-reset seeds come from the same ``default_rng(seed)`` stream, drawn in episode order.
Food levels must be non-negative (lbforaging's sums over the grid assume it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import BatchedEnv, Step
from .lbf_env import foraging_kwargs, lbf_spec

N_ACTIONS = 6  # NONE, NORTH, SOUTH, WEST, EAST, LOAD
LOAD = 5
_DELTA = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]], np.int64)
_FAR = -(10**6)  # position of absent food slots: never next to or in sight of a player


class BatchedLbfEnv(BatchedEnv):
    has_action_masks = True

    def __init__(
        self, task: str, num_envs: int, device: torch.device, *, max_steps: int = 50, seed: int = 0, **env_kwargs
    ):
        from lbforaging.foraging import ForagingEnv

        proto = ForagingEnv(**foraging_kwargs(task, max_steps, env_kwargs))  # parses the arguments
        self.num_envs, self.device = num_envs, torch.device(device)
        self.spec = lbf_spec(task, proto, max_steps)
        self.n = n = len(proto.players)
        self.rows, self.cols = proto.field.shape
        self.n_food = proto.max_num_food
        self.sight = proto.sight
        self.force_coop = proto.force_coop
        self.penalty = proto.penalty
        self.normalize = proto._normalize_reward
        self.with_levels = proto._observe_agent_levels
        self._min_pl, self._max_pl = proto.min_player_level, proto.max_player_level
        self._min_fl, self._max_fl = proto.min_food_level, proto.max_food_level
        # observer i lists the players in the order [i, the others in order]
        self._perm = np.array([[i] + [j for j in range(n) if j != i] for i in range(n)], np.int64)
        B, F, R, C = num_envs, self.n_food, self.rows, self.cols
        self._pos = np.zeros((B, n, 2), np.int64)
        self._level = np.zeros((B, n), np.int64)
        self._food_pos = np.full((B, F, 2), _FAR, np.int64)
        self._food_lvl = np.zeros((B, F), np.int64)
        self._field = np.zeros((B, R + 2, C + 2), np.int64)  # food levels, zero border
        self._spawned = np.zeros(B, np.int64)
        self._steps = np.zeros(B, np.int64)
        self._avail = np.ones((B, n, N_ACTIONS), bool)
        self._base = np.arange(B, dtype=np.int64) * (R + 2) * (C + 2)
        self._reseed = np.random.default_rng(seed)

    # ---- reset: lbforaging's spawn_players and spawn_food, draw for draw ----

    def _place(self, b: int, seed: int) -> None:
        rng = np.random.default_rng(seed % 2**32)
        R, C, F = self.rows, self.cols, self.n_food
        perm = rng.permutation(self.n)
        taken: list[tuple[int, int]] = []
        levels = []
        for lo, hi in zip(self._min_pl[perm], self._max_pl[perm]):
            for _ in range(1000):
                cell = (int(rng.integers(0, R)), int(rng.integers(0, C)))
                if cell not in taken:
                    taken.append(cell)
                    levels.append(int(rng.integers(lo, hi + 1)))
                    break
            else:
                raise RuntimeError(f"{self.spec.name}: no free cell for a player after 1000 attempts")
        hi_f = self._max_fl
        if hi_f is None:
            hi_f = np.array([sum(sorted(np.int64(v) for v in levels)[:3])] * F)
        lo_f = hi_f if self.force_coop else self._min_fl
        fperm = rng.permutation(F)
        lo_f, hi_f = lo_f[fperm], hi_f[fperm]
        foods: list[tuple[int, int, int]] = []
        attempts = 0
        while len(foods) < F and attempts < 1000:
            attempts += 1
            row, col = int(rng.integers(1, R - 1)), int(rng.integers(1, C - 1))
            if (row, col) in taken or any(
                lv > 0
                and (
                    (abs(y - row) <= 1 and abs(x - col) <= 1)
                    or (x == col and abs(y - row) <= 2)
                    or (y == row and abs(x - col) <= 2)
                )
                for y, x, lv in foods
            ):
                continue
            k = len(foods)
            lv = lo_f[k] if lo_f[k] == hi_f[k] else rng.integers(lo_f[k], hi_f[k] + 1)
            foods.append((row, col, int(lv)))
        present = sorted((y, x, lv) for y, x, lv in foods if lv > 0)  # row-major, like np.nonzero
        self._pos[b] = taken
        self._level[b] = levels
        self._food_pos[b] = _FAR
        self._food_lvl[b] = 0
        self._field[b] = 0
        for k, (y, x, lv) in enumerate(present):
            self._food_pos[b, k] = (y, x)
            self._food_lvl[b, k] = lv
            self._field[b, y + 1, x + 1] = lv
        self._spawned[b] = sum(lv for _, _, lv in present)
        self._steps[b] = 0

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        if len(seeds) != self.num_envs:
            raise ValueError(f"{self.spec.name}: reset needs one seed per episode ({self.num_envs}), got {len(seeds)}")
        for b, s in enumerate(seeds):
            self._place(b, int(s))
        self._update_avail()
        return torch.as_tensor(self._observe(slice(None)), device=self.device)

    # ---- state queries ----

    def _update_avail(self) -> None:
        """lbforaging's ``_is_valid_action`` for every player and action."""
        R, C = self.rows, self.cols
        r, c = self._pos[..., 0], self._pos[..., 1]
        at = self._base[:, None] + (r + 1) * (C + 2) + (c + 1)
        f = self._field.reshape(-1)
        up, down, left, right = f[at - (C + 2)], f[at + (C + 2)], f[at - 1], f[at + 1]
        avail = self._avail
        avail[..., 0] = True
        avail[..., 1] = (r > 0) & (up == 0)
        avail[..., 2] = (r < R - 1) & (down == 0)
        avail[..., 3] = (c > 0) & (left == 0)
        avail[..., 4] = (c < C - 1) & (right == 0)
        # adjacent_food clamps at the edge to the player's own cell, which never holds food
        avail[..., LOAD] = (up + down + left + right) > 0

    def available_actions(self) -> torch.Tensor:
        return torch.as_tensor(self._avail.copy(), device=self.device)

    def _observe(self, idx) -> np.ndarray:
        """Vector observations ``[b, n, d]`` of episodes ``idx`` (see :func:`.lbf_env.vector_observations`)."""
        pos, level = self._pos[idx], self._level[idx]
        fpos, flvl = self._food_pos[idx], self._food_lvl[idx]
        b, n, F, s = pos.shape[0], self.n, self.n_food, self.sight
        off = np.minimum(pos, s)  # the window is clipped at the grid's edge
        # foods within sight (the clipped window), row-major, in window coordinates
        rel = fpos[:, None] - pos[:, :, None]  # [b, n, F, 2]
        vis = (flvl[:, None] > 0) & (np.abs(rel) <= s).all(-1)
        food_vals = np.concatenate([rel + off[:, :, None], np.broadcast_to(flvl[:, None, :, None], (b, n, F, 1))], -1)
        foods = _compact(vis, food_vals, np.array([-1, -1, 0], np.int64))
        # players whose window coordinates lie in [0, 2 * sight], the observer first
        tp = pos[:, self._perm] - pos[:, :, None] + off[:, :, None]  # [b, n, n, 2]
        pvis = (tp.min(-1) >= 0) & (tp.max(-1) <= 2 * s)
        if self.with_levels:
            pvals = np.concatenate([tp, level[:, self._perm][..., None]], -1)
            absent = np.array([-1, -1, 0], np.int64)
        else:
            pvals, absent = tp, np.array([-1, -1], np.int64)
        players = _compact(pvis, pvals, absent)
        return np.concatenate([foods.reshape(b, n, -1), players.reshape(b, n, -1)], -1).astype(np.float32)

    # ---- step ----

    def _check_actions(self, actions) -> np.ndarray:
        B, n = self.num_envs, self.n
        a = actions.detach().cpu().numpy() if isinstance(actions, torch.Tensor) else np.asarray(actions)
        if a.shape != (B, n):
            raise ValueError(
                f"{self.spec.name}: actions must have shape (num_envs, n_agents) = ({B}, {n}), got {a.shape}"
            )
        if a.dtype.kind not in "iub":
            whole = np.isfinite(a) & (a == np.round(a)) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
            if not whole.all():
                e, i = np.argwhere(~whole)[0]
                raise ValueError(f"{self.spec.name}: agent {i} (episode {e}) got action {a[e, i]!r}, not an integer")
        a = a.astype(np.int64)
        bad = (a < 0) | (a >= N_ACTIONS)
        if bad.any():
            e, i = np.argwhere(bad)[0]
            raise ValueError(
                f"{self.spec.name}: agent {i} (episode {e}) got action {a[e, i]}; actions are 0..{N_ACTIONS - 1}"
            )
        return a

    def step(self, actions: torch.Tensor) -> Step:
        a = self._check_actions(actions)
        B = self.num_envs
        a = np.where(np.take_along_axis(self._avail, a[..., None], 2)[..., 0], a, 0)  # invalid -> NONE
        # movement: a player moves only if no other player aims at the same cell
        target = self._pos + _DELTA[a]
        alone = (target[:, :, None] == target[:, None]).all(-1).sum(2) == 1
        pos = self._pos = np.where(alone[..., None], target, self._pos)
        # loading: the loading players next to each food, with their summed levels
        flvl = self._food_lvl
        adj = (np.abs(pos[:, :, None] - self._food_pos[:, None]).sum(-1) == 1) & (a == LOAD)[..., None]
        adj &= (flvl > 0)[:, None]  # [B, n, F]
        group = (adj * self._level[..., None]).sum(1)  # [B, F]
        eaten = adj.any(1) & (group >= flvl)
        # rewards; each loading player is next to exactly one food (see the module docstring)
        in_group = adj.any(2)
        food = (adj * flvl[:, None]).sum(2)
        with np.errstate(divide="ignore", invalid="ignore"):
            r_ok = (self._level * food).astype(np.float64)
            if self.normalize:
                r_ok = r_ok / ((adj * group[:, None]).sum(2) * self._spawned[:, None]).astype(np.float64)
        ok = (adj & eaten[:, None]).any(2)
        r = np.where(in_group, np.where(ok, r_ok, 0.0 - self.penalty), 0.0)
        total = np.zeros(B, np.float64)
        for i in range(self.n):  # Python's sum, in player order
            total = total + r[:, i]
        if eaten.any():
            e, k = np.nonzero(eaten)
            y, x = self._food_pos[e, k, 0], self._food_pos[e, k, 1]
            self._field.reshape(-1)[self._base[e] + (y + 1) * (self.cols + 2) + (x + 1)] = 0
            flvl[e, k] = 0
        self._steps += 1
        term = flvl.sum(1) == 0  # all food collected
        trunc = (self._steps >= self.spec.max_steps) & ~term
        done = term | trunc
        obs = self._observe(slice(None))
        final = obs
        if done.any():
            final = obs.copy()
            ended = np.flatnonzero(done)
            for b in ended:  # the reference draws the next seeds in episode order
                self._place(int(b), int(self._reseed.integers(2**31)))
            obs[ended] = self._observe(ended)
        self._update_avail()
        t = lambda x, dt=torch.float32: torch.as_tensor(x, dtype=dt, device=self.device)
        return Step(
            obs=t(obs),
            reward=t(total.astype(np.float32)),
            terminated=t(term, torch.bool),
            truncated=t(trunc, torch.bool),
            final_obs=t(final),
        )


def _compact(visible: np.ndarray, values: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """Per row of ``visible`` ``[b, n, k]``, the visible entries of ``values`` ``[b, n, k, w]``
    moved to the front in order, the rest ``absent``."""
    b, n, k, w = values.shape
    slot = np.where(visible, np.cumsum(visible, 2) - 1, k)  # hidden entries go to a spare slot
    out = np.empty((b, n, k + 1, w), np.int64)
    out[:] = absent
    np.put_along_axis(out, np.broadcast_to(slot[..., None], values.shape), values, 2)
    return out[:, :, :k]
