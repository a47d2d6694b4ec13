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
in a Python loop over the *resetting* episodes only (``reset`` and the auto-resets in ``step``);
the generator is :class:`.lbf_rng.Draws`, numpy's draws in plain Python (tested equal), because
numpy's per-call overhead made the placement the larger part of a step. Auto-reset seeds come
from the same ``default_rng(seed)`` stream as ``LbfEnv``'s, drawn ahead in blocks (same values,
same order). Food observations under full sight are kept per episode and rebuilt when food is
eaten or placed.
Food levels must be non-negative (lbforaging's sums over the grid assume it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import BatchedEnv, Step, check_discrete_actions
from .lbf_env import foraging_kwargs, lbf_spec
from .lbf_rng import Draws, seed_states

N_ACTIONS = 6  # NONE, NORTH, SOUTH, WEST, EAST, LOAD
LOAD = 5
_DR = np.array([0, -1, 1, 0, 0, 0], np.int64)  # row change of each action
_DC = np.array([0, 0, 0, -1, 1, 0], np.int64)
_FAR = -(10**6)  # position of absent food slots: never next to or in sight of a player
_ABSENT3 = np.array([-1, -1, 0], np.int64)  # an absent food or player in an observation
_BLOCK = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)] + [(-2, 0), (2, 0), (0, -2), (0, 2)]


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
        self.rows, self.cols = R, C = proto.field.shape
        self.n_food = F = proto.max_num_food
        self.sight = proto.sight
        self.force_coop = proto.force_coop
        self.penalty = proto.penalty
        self.normalize = proto._normalize_reward
        self.with_levels = proto._observe_agent_levels
        self._pl_lo, self._pl_hi = proto.min_player_level.tolist(), proto.max_player_level.tolist()
        self._fl_lo = proto.min_food_level.tolist()
        self._fl_hi = None if proto.max_food_level is None else proto.max_food_level.tolist()
        self._blocks = {  # the cells a food at (y, x) keeps other food off
            (y, x): tuple((y + dy, x + dx) for dy, dx in _BLOCK) for y in range(R) for x in range(C)
        }
        # observer i lists the players in the order [i, the others in order]
        self._perm = np.array([[i] + [j for j in range(n) if j != i] for i in range(n)], np.int64)
        B = num_envs
        self._W = W = C + 2  # the food grid is kept flat with a zero border: cell (r, c) is (r + 1) * W + c + 1
        self._r, self._c, self._level = (np.zeros((B, n), np.int64) for _ in range(3))
        self._fr, self._fc = np.full((B, F), _FAR, np.int64), np.full((B, F), _FAR, np.int64)
        self._fl = np.zeros((B, F), np.int64)  # food levels, 0 where eaten or absent
        self._fcell = np.full((B, F), _FAR, np.int64)
        self._field = np.zeros((B, (R + 2) * W), np.int64)
        self._spawned = np.zeros(B, np.int64)
        self._steps = np.zeros(B, np.int64)
        self._avail = np.ones((B, n, N_ACTIONS), bool)
        self._base = np.arange(B, dtype=np.int64) * (R + 2) * W
        self._at6 = np.arange(B * n, dtype=np.int64) * N_ACTIONS
        self._reseed = np.random.default_rng(seed)  # seeds of auto-reset episodes, as LoopedEnv's
        self._queue, self._next = [], 0
        # a window as large as the grid: every food and player is in sight, in grid coordinates,
        # so the food part of the observation is the same for every player (kept, updated when eaten)
        self._full_sight = self.sight >= max(R, C) - 1
        self._food_obs = np.zeros((B, 3 * F), np.float32)
        width = 3 if self.with_levels else 2
        absent = [-1, -1, 0] * F + ([-1, -1, 0] if self.with_levels else [-1, -1]) * n + [0, 0, 0]
        self._template = None if self._full_sight else np.tile(np.array(absent, np.float32), (B * n, 1))
        assert len(absent) == self.spec.obs_dim + 3 and width in (2, 3)

    # ---- reset: lbforaging's spawn_players and spawn_food, draw for draw ----

    def _draw(self, state: list[int]) -> tuple[list, list, list]:
        """Players ``[(row, col)]``, their levels and the foods ``[(row, col, level)]`` that
        lbforaging's reset places with the seed whose :func:`.lbf_rng.seed_states` entry is ``state``."""
        draws = Draws(state)
        integers = draws.integers
        R, C, F = self.rows, self.cols, self.n_food
        taken: list[tuple[int, int]] = []
        levels = []
        for p in draws.permutation(self.n):  # spawn_players: levels in permuted order
            lo, hi = self._pl_lo[p], self._pl_hi[p] + 1
            for _ in range(1000):
                cell = (integers(0, R), integers(0, C))
                if cell not in taken:
                    taken.append(cell)
                    levels.append(integers(lo, hi))
                    break
            else:
                raise RuntimeError(f"{self.spec.name}: no free cell for a player after 1000 attempts")
        hi_f = self._fl_hi or [sum(sorted(levels)[:3])] * F  # lbforaging: the 3 lowest player levels
        lo_f = hi_f if self.force_coop else self._fl_lo
        fperm = draws.permutation(F)
        lo_f, hi_f = [lo_f[p] for p in fperm], [hi_f[p] for p in fperm]
        # cells where spawn_food refuses food: players, and food's 3x3 square and distance-2 cross
        blocked, blocks = set(taken), self._blocks
        foods: list[tuple[int, int, int]] = []
        placed = attempts = 0
        while placed < F and attempts < 1000:
            attempts += 1
            cell = (integers(1, R - 1), integers(1, C - 1))
            if cell in blocked:
                continue
            lo, hi = lo_f[placed], hi_f[placed]
            lv = lo if lo == hi else integers(lo, hi + 1)
            placed += 1
            if lv > 0:  # a level-0 food is no food (lbforaging's grid stays 0 there)
                foods.append((*cell, lv))
                blocked.update(blocks[cell])
        return taken, levels, foods

    def _states(self, k: int) -> list[list[int]]:
        """Generator states of the next ``k`` auto-reset seeds. The seeds are drawn ahead from the
        same stream as the reference's, in blocks (one vectorised draw equals as many single
        ones), and hashed at once."""
        while len(self._queue) - self._next < k:
            block = max(1024, k)
            self._queue = self._queue[self._next :] + seed_states(self._reseed.integers(2**31, size=block))
            self._next = 0
        out = self._queue[self._next : self._next + k]
        self._next += k
        return out

    def _write(self, idx: np.ndarray, states: list[tuple[list, list, list]]) -> None:
        """Put episodes ``idx`` in ``states`` (players ``[(row, col)]``, levels, foods
        ``[(row, col, level)]``), at step 0."""
        F, W = self.n_food, self._W
        pos = np.array([st[0] for st in states], np.int64).reshape(len(idx), self.n, 2)
        self._r[idx], self._c[idx] = pos[..., 0], pos[..., 1]
        self._level[idx] = [st[1] for st in states]
        pad = [(_FAR, _FAR, 0)] * F
        foods = np.array([(sorted(st[2]) + pad)[:F] for st in states], np.int64).reshape(len(idx), F, 3)
        present = foods[..., 2] > 0
        self._fr[idx], self._fc[idx], self._fl[idx] = foods[..., 0], foods[..., 1], foods[..., 2]
        self._fcell[idx] = np.where(present, (foods[..., 0] + 1) * W + foods[..., 1] + 1, _FAR)
        self._field[idx] = 0
        e, k = np.nonzero(present)
        self._field.reshape(-1)[self._base[idx[e]] + self._fcell[idx[e], k]] = foods[e, k, 2]
        self._spawned[idx] = foods[..., 2].sum(1)
        self._steps[idx] = 0
        if self._full_sight:
            self._food_obs[idx] = _compact(present, foods, _ABSENT3).reshape(len(idx), 3 * F)

    def set_state(self, b: int, players: list, foods: list, step: int = 0) -> None:
        """Put episode ``b`` in a hand-made state (tests): ``players`` and ``foods`` as
        ``(row, col, level)``, ``step`` steps done."""
        idx = np.array([b])
        self._write(idx, [([(y, x) for y, x, _ in players], [lv for *_, lv in players], list(foods))])
        self._steps[b] = step
        self._update_avail()

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        if len(seeds) != self.num_envs:
            raise ValueError(f"{self.spec.name}: reset needs one seed per episode ({self.num_envs}), got {len(seeds)}")
        states = seed_states(np.array([int(s) % 2**32 for s in seeds], np.uint64))
        self._write(np.arange(self.num_envs), [self._draw(st) for st in states])
        self._update_avail()
        return torch.as_tensor(self._observe(slice(None)), device=self.device)

    # ---- state queries ----

    def _update_avail(self) -> None:
        """lbforaging's ``_is_valid_action`` for every player and action."""
        R, C, W = self.rows, self.cols, self._W
        r, c = self._r, self._c
        at = self._base[:, None] + (r + 1) * W + (c + 1)
        f = self._field.reshape(-1)
        up, down, left, right = f[at - W], f[at + W], f[at - 1], f[at + 1]
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
        r, c, level = self._r[idx], self._c[idx], self._level[idx]
        b, n, F, s = r.shape[0], self.n, self.n_food, self.sight
        obs = np.empty((b, n, self.spec.obs_dim), np.float32)
        width = 3 if self.with_levels else 2
        pr, pc = r[:, self._perm], c[:, self._perm]  # [b, n, n]: observer i sees [i, the others in order]
        plv = level[:, self._perm]
        if self._full_sight:  # window = grid: grid coordinates, everyone in sight
            obs[..., : 3 * F] = self._food_obs[idx][:, None]
            players = obs[..., 3 * F :]
            players[..., 0::width], players[..., 1::width] = pr, pc
            if self.with_levels:
                players[..., 2::width] = plv
            return obs
        # partial sight: entries go to their slot in a copy of an all-absent template row; hidden
        # ones to 3 spare columns past the observation
        D = self.spec.obs_dim
        buf = self._template[: b * n].copy()
        flat = buf.reshape(-1)
        row = np.arange(0, b * n * (D + 3), D + 3).reshape(b, n, 1)
        fr, fc, fl = self._fr[idx][:, None], self._fc[idx][:, None], self._fl[idx][:, None]  # [b, 1, F]
        r, c = r[..., None], c[..., None]
        off_r, off_c = np.minimum(r, s), np.minimum(c, s)  # the window is clipped at the grid's edge
        # foods within sight (the clipped window), row-major, in window coordinates
        dy, dx = fr - r, fc - c  # eaten and absent food lie far away (row _FAR)
        vis = (np.abs(dy) <= s) & (np.abs(dx) <= s)  # [b, n, F]
        at = row + _slots(vis, 0, 3, D)
        flat[at] = dy + off_r
        flat[at + 1] = dx + off_c
        flat[at + 2] = np.broadcast_to(fl, at.shape)
        # players whose window coordinates lie in [0, 2 * sight], the observer first
        ty, tx = pr - r + off_r, pc - c + off_c
        pvis = ((ty | tx) >= 0) & (np.maximum(ty, tx) <= 2 * s)
        at = row + _slots(pvis, 3 * F, width, D)
        flat[at], flat[at + 1] = ty, tx
        if self.with_levels:
            flat[at + 2] = plv
        return np.ascontiguousarray(buf[:, :D]).reshape(b, n, D)

    # ---- step ----

    def _check_actions(self, actions) -> np.ndarray:
        return check_discrete_actions(actions, self.num_envs, self.n, N_ACTIONS, self.spec.name)

    def step(self, actions: torch.Tensor) -> Step:
        a = self._check_actions(actions)
        B, n, W = self.num_envs, self.n, self._W
        valid = self._avail.reshape(-1)[self._at6 + a.reshape(-1)].reshape(B, n)
        a = np.where(valid, a, 0)  # lbforaging turns an invalid action into NONE
        # movement: a player moves only if no other player aims at the same cell
        tr, tc = self._r + _DR[a], self._c + _DC[a]
        target = tr * W + tc
        alone = np.ones((B, n), bool)
        for i in range(n):
            for j in range(i + 1, n):
                same = target[:, i] == target[:, j]
                alone[:, i] &= ~same
                alone[:, j] &= ~same
        self._r, self._c = np.where(alone, tr, self._r), np.where(alone, tc, self._c)
        # loading: the loading players next to each food, with their summed levels
        total = np.zeros(B, np.float64)
        loading = a == LOAD
        fl = self._fl
        if loading.any():
            cell = (self._r + 1) * W + self._c + 1
            d = self._fcell[:, None, :] - cell[:, :, None]  # [B, n, F]; absent food is far away
            adj = ((d == 1) | (d == -1) | (d == W) | (d == -W)) & loading[:, :, None]
            group = np.zeros(fl.shape, np.int64)
            for i in range(n):
                group += adj[:, i] * self._level[:, i, None]
            eaten = (group > 0) & (group >= fl)  # group > 0: foods someone next to it tried to load
            # each loading player is next to at most one food (see the module docstring)
            food, gsum = np.zeros((B, n), np.int64), np.zeros((B, n), np.int64)
            ok, tried = np.zeros((B, n), bool), np.zeros((B, n), bool)
            for k in range(fl.shape[1]):
                at = adj[:, :, k]
                tried |= at
                food += at * fl[:, k, None]
                gsum += at * group[:, k, None]
                ok |= at & eaten[:, k, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                r_ok = (self._level * food).astype(np.float64)
                if self.normalize:
                    r_ok = r_ok / (gsum * self._spawned[:, None]).astype(np.float64)
            rew = np.where(tried, np.where(ok, r_ok, 0.0 - self.penalty), 0.0)
            for i in range(n):  # Python's sum, in player order
                total = total + rew[:, i]
            if eaten.any():
                e, k = np.nonzero(eaten)
                self._field.reshape(-1)[self._base[e] + self._fcell[e, k]] = 0
                fl[e, k] = 0
                self._fr[e, k] = _FAR  # out of everyone's sight
                if self._full_sight:
                    ee = np.unique(e)
                    foods = np.stack([self._fr[ee], self._fc[ee], fl[ee]], -1)
                    self._food_obs[ee] = _compact(fl[ee] > 0, foods, _ABSENT3).reshape(len(ee), -1)
        self._steps += 1
        term = ~fl.any(1)  # all food collected
        trunc = (self._steps >= self.spec.max_steps) & ~term
        done = term | trunc
        obs = self._observe(slice(None))
        final = obs
        if done.any():
            final = obs.copy()
            ended = np.flatnonzero(done)
            # the reference draws each new episode's seed from its stream, in episode order
            self._write(ended, [self._draw(st) for st in self._states(len(ended))])
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


def _slots(visible: np.ndarray, start: int, width: int, spare: int) -> np.ndarray:
    """Column of each entry of ``visible`` ``[..., k]`` once the visible ones are moved to the
    front in order (``start + width * rank``), ``spare`` for the hidden ones."""
    count = np.zeros(visible.shape[:-1], np.int64)
    out = np.empty(visible.shape, np.int64)
    for j in range(visible.shape[-1]):
        v = visible[..., j]
        out[..., j] = np.where(v, start + width * count, spare)
        count += v
    return out


def _compact(visible: np.ndarray, values: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """Per row of ``visible`` ``[..., k]``, the visible entries of ``values`` ``[..., k, w]``
    moved to the front in order, the rest ``absent``."""
    *lead, k, w = values.shape
    vis = visible.reshape(-1, k)
    m = vis.shape[0]
    row = np.arange(0, m * (k + 1), k + 1)
    count = np.zeros(m, np.int64)
    slot = np.empty((m, k), np.int64)
    for j in range(k):  # hidden entries go to a spare slot k
        slot[:, j] = np.where(vis[:, j], row + count, row + k)
        count += vis[:, j]
    out = np.empty((m * (k + 1), w), np.int64)
    out[:] = absent
    out[slot.reshape(-1)] = values.reshape(m * k, w)
    return out.reshape(*lead, k + 1, w)[..., :k, :]
