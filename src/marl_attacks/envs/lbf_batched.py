"""Level-Based Foraging stepped on arrays: all ``num_envs`` episodes at once, equal to lbforaging 2.0.

:class:`BatchedLbfEnv` has the constructor, :class:`EnvSpec`, observations, rewards,
terminations, truncations, ``final_obs``, action masks and auto-reset of
:class:`.lbf_env.LbfEnv` (which steps ``lbforaging.foraging.ForagingEnv`` instances one by
one), and tests/test_lbf_batched.py checks that both agree exactly, step by step. The state is
a few numpy arrays over the batch (player positions and levels, food positions and levels, a
zero-padded food grid); ``step`` has no Python loop over episodes, only small array operations
over ``[players, foods, B]``, on int32. The batch is the last (contiguous) axis of every array:
numpy loops over the innermost axis, and with ``[B, n, F]`` arrays it looped over 2-4 elements
at a time, so broadcasting ops cost ~10x more. Observations are built as ``[n, d, B]`` with each
entry ``(y, x, level)`` packed into one integer (so the visible ones are moved to the front with
a third of the operations), and transposed once into the ``[B, n, d]`` handed out; the masks too.

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
(:class:`.lbf_spawn.Spawner`) makes the same sequence of draws for every resetting episode, on
arrays over those episodes, from :class:`.lbf_rng.Streams` (numpy's generator, bit for bit, many
seeds at once). Auto-reset seeds come from the same stream as ``LbfEnv``'s (restarted from the seeds of each ``reset``),
drawn ahead in blocks (same values, same order) and placed a block at a time, so ``step`` only
copies ready start states into the episodes that ended.
Levels must be in 0..32767 (lbforaging's sums over the grid assume food levels >= 0; the packed
observation entries need the rest) and the grid under 255 cells a side.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .base import BatchedEnv, Step, auto_reset_stream, check_discrete_actions
from .lbf_env import foraging_kwargs, lbf_spec
from .lbf_spawn import FAR as _FAR
from .lbf_spawn import Placement, Spawner

N_ACTIONS = 6  # NONE, NORTH, SOUTH, WEST, EAST, LOAD
LOAD = 5
_INT = np.int32  # the state's integers: half of int64's memory traffic
_DR = np.array([0, -1, 1, 0, 0, 0], _INT)  # row change of each action
_DC = np.array([0, 0, 0, -1, 1, 0], _INT)


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
        self.penalty = proto.penalty
        self.normalize = proto._normalize_reward
        self.with_levels = proto._observe_agent_levels
        self._spawn = Spawner(proto, self.spec.name)
        # observation entries are packed into int32s (_encode)
        levels = [*proto.min_player_level, *proto.min_food_level]
        food_hi = [] if proto.max_food_level is None else list(proto.max_food_level)
        top = max(3 * max(proto.max_player_level), *levels, *food_hi)
        if min(levels) < 0 or top >= 1 << (31 - 2 * _BITS) or max(R, C) >= _MASK:
            raise ValueError(f"{self.spec.name}: levels must be in 0..32767 and the grid under 255 cells a side")
        # observer i lists the players in the order [i, the others in order]
        self._perm = np.array([[i] + [j for j in range(n) if j != i] for i in range(n)], np.int64)
        B = num_envs
        self._W = W = C + 2  # the food grid is kept flat with a zero border: cell (r, c) is (r + 1) * W + c + 1
        self._r, self._c, self._level = (np.zeros((n, B), _INT) for _ in range(3))
        self._fr, self._fc = np.full((F, B), _FAR, _INT), np.full((F, B), _FAR, _INT)
        self._fl = np.zeros((F, B), _INT)  # food levels, 0 where eaten or absent
        self._fcell = np.full((F, B), _FAR, _INT)
        self._field = np.zeros((B, (R + 2) * W), _INT)
        self._spawned = np.zeros(B, np.int64)
        self._steps = np.zeros(B, np.int64)
        self._avail = np.ones((n, N_ACTIONS, B), bool)
        self._base = np.arange(B, dtype=np.int64) * (R + 2) * W
        # flat index of (player, action 0, episode) in _avail
        self._at_avail = np.arange(n)[:, None] * N_ACTIONS * B + np.arange(B)
        self._reseed = np.random.default_rng(seed)  # seeds of auto-reset episodes, as LoopedEnv's
        self._queue, self._next = self._spawn(np.zeros(0, np.uint64)), 0
        # a window as large as the grid: every food and player is in sight, in grid coordinates
        self._full_sight = self.sight >= max(R, C) - 1
        self._width = 3 if self.with_levels else 2
        assert self.spec.obs_dim == 3 * F + self._width * n

    # ---- reset: lbforaging's spawn_players and spawn_food, for many seeds at once ----

    def _queued(self, k: int) -> Placement:
        """Start states of the next ``k`` auto-reset episodes. Their seeds are drawn ahead from
        the same stream as the reference's, in blocks (one vectorised draw equals as many single
        ones), and placed a block at a time."""
        while len(self._queue.r) - self._next < k:
            block = self._spawn(self._reseed.integers(2**31, size=max(1024, k)).astype(np.uint64))
            self._queue = Placement(*(np.concatenate([q[self._next :], x]) for q, x in zip(self._queue, block)))
            self._next = 0
        out = self._queue.take(slice(self._next, self._next + k))
        self._next += k
        return out

    def _write(self, idx: np.ndarray, p: Placement) -> None:
        """Put episodes ``idx`` in the start states ``p``, at step 0."""
        W = self._W
        self._r[:, idx], self._c[:, idx], self._level[:, idx] = p.r.T, p.c.T, p.level.T
        self._fr[:, idx], self._fc[:, idx], self._fl[:, idx] = p.fr.T, p.fc.T, p.fl.T
        present = p.fl > 0
        fcell = np.where(present, (p.fr + 1) * W + p.fc + 1, _FAR)
        self._fcell[:, idx] = fcell.T
        self._field[idx] = 0
        e, k = np.nonzero(present)
        self._field.reshape(-1)[self._base[idx[e]] + fcell[e, k]] = p.fl[e, k]
        self._spawned[idx] = p.fl.sum(1)
        self._steps[idx] = 0

    def set_state(self, b: int, players: list, foods: list, step: int = 0) -> None:
        """Put episode ``b`` in a hand-made state (tests): ``players`` and ``foods`` as
        ``(row, col, level)``, ``step`` steps done."""
        pl = np.array(players, np.int64).reshape(1, self.n, 3)
        fo = np.array(sorted(foods) + [(_FAR, _FAR, 0)] * (self.n_food - len(foods)), np.int64).reshape(1, -1, 3)
        self._write(np.array([b]), Placement(pl[..., 0], pl[..., 1], pl[..., 2], fo[..., 0], fo[..., 1], fo[..., 2]))
        self._steps[b] = step
        self._update_avail()

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        if len(seeds) != self.num_envs:
            raise ValueError(f"{self.spec.name}: reset needs one seed per episode ({self.num_envs}), got {len(seeds)}")
        self._write(np.arange(self.num_envs), self._spawn(np.array([int(s) % 2**32 for s in seeds], np.uint64)))
        # auto-reset episodes from here on: seeds from a stream of these seeds (as LoopedEnv's), none queued ahead
        self._reseed, self._queue, self._next = auto_reset_stream(seeds), self._spawn(np.zeros(0, np.uint64)), 0
        self._update_avail()
        return torch.as_tensor(self._observe(slice(None)), device=self.device)

    # ---- state queries ----

    def _update_avail(self) -> None:
        """lbforaging's ``_is_valid_action`` for every player and action."""
        R, C, W = self.rows, self.cols, self._W
        r, c = self._r, self._c
        at = self._base + (r + 1) * W + (c + 1)  # [n, B]
        f = self._field.reshape(-1)
        up, down, left, right = f[at - W], f[at + W], f[at - 1], f[at + 1]
        avail = self._avail
        avail[:, 0] = True
        avail[:, 1] = (r > 0) & (up == 0)
        avail[:, 2] = (r < R - 1) & (down == 0)
        avail[:, 3] = (c > 0) & (left == 0)
        avail[:, 4] = (c < C - 1) & (right == 0)
        # adjacent_food clamps at the edge to the player's own cell, which never holds food
        avail[:, LOAD] = (up + down + left + right) > 0

    def available_actions(self) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(self._avail.transpose(2, 0, 1)), device=self.device)

    def _observe(self, idx) -> np.ndarray:
        """Vector observations ``[b, n, d]`` of episodes ``idx`` (see :func:`.lbf_env.vector_observations`).
        Built as ``[n, d, b]`` (the batch contiguous) and transposed once at the end."""
        r, c, level = self._r[:, idx], self._c[:, idx], self._level[:, idx]  # [n, b]
        fr, fc, fl = self._fr[:, idx], self._fc[:, idx], self._fl[:, idx]  # [F, b]
        n, F, s, w = self.n, self.n_food, self.sight, self._width
        out = np.empty((n, self.spec.obs_dim, r.shape[1]), np.float32)  # observer, entry, episode
        pr, pc, plv = r[self._perm], c[self._perm], level[self._perm]  # [n, n, b]: observer i sees [i, the others]
        if self._full_sight:  # window = grid: grid coordinates, every food and player in sight
            _decode(_compact(_encode(fr, fc, fl) * (fl > 0))[None], out[:, : 3 * F])
            for j, v in enumerate((pr, pc, plv)[:w]):
                out[:, 3 * F + j :: w] = v
        else:
            lo_r, lo_c = np.maximum(r - s, 0)[:, None], np.maximum(c - s, 0)[:, None]  # the window's corner
            # foods within sight, row-major, in window coordinates; eaten and absent food lie far away
            fy, fx = fr - lo_r, fc - lo_c  # [n, F, b]
            seen = (np.abs(fy + lo_r - r[:, None]) <= s) & (np.abs(fx + lo_c - c[:, None]) <= s)
            _decode(_compact(_encode(fy, fx, fl) * seen), out[:, : 3 * F])
            # players whose window coordinates lie in [0, 2 * sight]: the observer (always), then the others
            ty, tx = pr - lo_r, pc - lo_c
            seen = np.maximum(ty.view(np.uint32), tx.view(np.uint32)) <= 2 * s  # negatives wrap to huge
            code = _encode(ty, tx, plv) * seen
            code[:, 1:] = _compact(code[:, 1:])
            _decode(code, out[:, 3 * F :], w)
        return np.ascontiguousarray(out.transpose(2, 0, 1))

    # ---- step ----

    def _check_actions(self, actions) -> np.ndarray:
        return check_discrete_actions(actions, self.num_envs, self.n, N_ACTIONS, self.spec.name)

    def step(self, actions: torch.Tensor) -> Step:
        a = np.ascontiguousarray(self._check_actions(actions).T)  # [n, B]
        n, W = self.n, self._W
        valid = self._avail.reshape(-1)[self._at_avail + a * self.num_envs]
        a *= valid  # lbforaging turns an invalid action into NONE (0)
        # movement: a player moves only if no other player aims at the same cell
        tr, tc = self._r + _DR[a], self._c + _DC[a]
        target = tr * W + tc
        alone = (target[:, None] == target[None]).sum(1) == 1
        self._r, self._c = np.where(alone, tr, self._r), np.where(alone, tc, self._c)
        # loading: the loading players next to each food, with their summed levels
        total = np.zeros(self.num_envs, np.float64)
        loading = a == LOAD
        fl, level = self._fl, self._level
        if loading.any():
            cell = (self._r + 1) * W + self._c + 1
            d = np.abs(self._fcell[None] - cell[:, None])  # [n, F, B]; absent food is far away
            adj = ((d == 1) | (d == W)) & loading[:, None]
            group = (adj * level[:, None]).sum(0)  # [F, B]
            eaten = (group > 0) & (group >= fl)  # group > 0: foods someone next to it tried to load
            # each loading player is next to at most one food (see the module docstring)
            food, gsum = (adj * fl).sum(1), (adj * group).sum(1)  # [n, B]
            tried, ok = adj.any(1), (adj & eaten).any(1)
            with np.errstate(divide="ignore", invalid="ignore"):
                r_ok = (level * food).astype(np.float64)
                if self.normalize:
                    r_ok = r_ok / (gsum * self._spawned).astype(np.float64)
            rew = np.where(tried, np.where(ok, r_ok, 0.0 - self.penalty), 0.0)
            for i in range(n):  # Python's sum, in player order
                total = total + rew[i]
            if eaten.any():
                k, e = np.nonzero(eaten)
                self._field.reshape(-1)[self._base[e] + self._fcell[k, e]] = 0
                fl[k, e] = 0
                self._fr[k, e] = _FAR  # out of everyone's sight
        self._steps += 1
        term = ~fl.any(0)  # all food collected
        trunc = (self._steps >= self.spec.max_steps) & ~term
        done = term | trunc
        obs = self._observe(slice(None))
        final = obs
        if done.any():
            final = obs.copy()
            ended = np.flatnonzero(done)
            # the reference draws each new episode's seed from its stream, in episode order
            self._write(ended, self._queued(len(ended)))
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


# an observation entry (y, x, level) as one integer, 0 for the absent (-1, -1, 0), so that moving
# entries around is one array operation instead of three
_BITS = 8
_MASK = (1 << _BITS) - 1


def _encode(y: np.ndarray, x: np.ndarray, level: np.ndarray) -> np.ndarray:
    return (y + 1) | ((x + 1) << _BITS) | (level << (2 * _BITS))


def _decode(code: np.ndarray, out: np.ndarray, width: int = 3) -> None:
    """Entries ``code`` ``[m, k, b]`` into ``out`` ``[n, width * k, b]`` (``m`` is 1 or ``n``)."""
    np.subtract(code & _MASK, 1, out=out[:, 0::width], casting="unsafe")
    np.subtract((code >> _BITS) & _MASK, 1, out=out[:, 1::width], casting="unsafe")
    if width == 3:
        np.right_shift(code, 2 * _BITS, out=out[:, 2::width], casting="unsafe")


def _compact(code: np.ndarray) -> np.ndarray:
    """The non-zero (visible) entries of ``code`` ``[..., k, b]`` moved to the front in order, zeros
    (absent) after them: a bubble sort of the zeros to the back, which never swaps two visible
    entries. Few entries (k is a food or player count), so k (k - 1) / 2 compare-and-swaps of
    whole ``[..., b]`` rows beat sorting or fancy indexing."""
    out = code.copy()
    k = code.shape[-2]
    for p in range(k - 1):
        for j in range(k - 1 - p):
            left, right = out[..., j, :], out[..., j + 1, :]
            full = left != 0
            left[...] = np.where(full, left, right)
            right *= full
    return out
