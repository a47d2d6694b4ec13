"""lbforaging's reset placement (``spawn_players``, ``spawn_food``) for many seeds at once.

``ForagingEnv.reset(seed)`` draws from ``default_rng(seed)``, in this order: the permutation of
the players' level ranges; per player, cells ``(integers(0, rows), integers(0, cols))`` until
one is free (no player placed before it there), then its level ``integers(lo, hi + 1)``; the
permutation of the food level ranges; then, until all food is placed or after 1000 attempts,
cells ``(integers(1, rows - 1), integers(1, cols - 1))``, skipped where a player stands or a
placed food lies within Manhattan distance 2 (its 3x3 square and distance-2 cross), else the
food's level (``integers(lo, hi + 1)``, no draw when ``lo == hi``). The food level range is the
sum of the (up to) 3 lowest player levels unless ``max_food_level`` is given.

:class:`Spawner` runs that program on every seed of a batch at once: each seed is a row of
:class:`.lbf_rng.Streams` (numpy's draws, bit for bit), and every step applies to the rows that
are still at it (a retry draws only for the rows that retry), so each row makes exactly its
generator's calls in its generator's order. tests/test_lbf_spawn.py compares it with lbforaging's
own reset over many seeds and settings.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .lbf_rng import Streams, seed_words

FAR = -(10**6)  # position of absent food slots: never next to or in sight of a player


class Placement(NamedTuple):
    """Start states of ``E`` episodes: players ``[E, n]``, foods ``[E, F]`` in row-major order,
    absent food (not placed, or level 0) last as ``(FAR, FAR, 0)``."""

    r: np.ndarray
    c: np.ndarray
    level: np.ndarray
    fr: np.ndarray
    fc: np.ndarray
    fl: np.ndarray

    def take(self, at) -> Placement:
        return Placement(*(x[at] for x in self))


class Spawner:
    """Placements of lbforaging's reset for a batch of seeds; settings from a ``ForagingEnv``."""

    def __init__(self, env, name: str):
        self.name = name
        self.n, (self.rows, self.cols), self.n_food = len(env.players), env.field.shape, env.max_num_food
        self.force_coop = env.force_coop
        self.pl_lo = np.asarray(env.min_player_level, np.int64).reshape(-1)
        self.pl_hi = np.asarray(env.max_player_level, np.int64).reshape(-1)
        self.fl_lo = np.broadcast_to(np.asarray(env.min_food_level, np.int64), (self.n_food,))
        fl_hi = env.max_food_level
        self.fl_hi = None if fl_hi is None else np.broadcast_to(np.asarray(fl_hi, np.int64), (self.n_food,))

    def __call__(self, seeds: np.ndarray) -> Placement:
        """The start states of the episodes seeded ``seeds`` (each below 2**32)."""
        st = Streams(seed_words(seeds))
        rows = np.arange(len(st.cur))
        r, c, level = self._players(st, rows)
        return self._food(st, rows, r, c, level)

    def _players(self, st: Streams, rows: np.ndarray):
        E, n = len(rows), self.n
        perm = st.permutation(rows, n)  # player t gets the level range of player perm[t]
        lo, hi = self.pl_lo[perm], self.pl_hi[perm] + 1
        r, c, level = np.full((E, n), -1, np.int64), np.full((E, n), -1, np.int64), np.zeros((E, n), np.int64)
        for t in range(n):
            todo = rows
            for _ in range(1000):
                y, x = st.integers(todo, 0, self.rows), st.integers(todo, 0, self.cols)
                free = ~((r[todo, :t] == y[:, None]) & (c[todo, :t] == x[:, None])).any(1)
                done = todo[free]
                r[done, t], c[done, t] = y[free], x[free]
                level[done, t] = st.integers(done, lo[done, t], hi[done, t])
                todo = todo[~free]
                if not todo.size:
                    break
            else:
                raise RuntimeError(f"{self.name}: no free cell for a player after 1000 attempts")
        return r, c, level

    def _food(self, st: Streams, rows: np.ndarray, r, c, level) -> Placement:
        E, F = len(rows), self.n_food
        if self.fl_hi is None:  # lbforaging: the sum of the (up to) 3 lowest player levels
            hi = np.repeat(np.sort(level, 1)[:, :3].sum(1, keepdims=True), F, 1)
        else:
            hi = np.tile(self.fl_hi, (E, 1))
        lo = hi if self.force_coop else np.tile(self.fl_lo, (E, 1))
        perm = st.permutation(rows, F)
        lo, hi = np.take_along_axis(lo, perm, 1), np.take_along_axis(hi, perm, 1)
        fr, fc, fl = np.full((E, F), FAR, np.int64), np.full((E, F), FAR, np.int64), np.zeros((E, F), np.int64)
        placed, attempts = np.zeros(E, np.int64), np.zeros(E, np.int64)
        todo = rows if F else rows[:0]
        while todo.size:
            attempts[todo] += 1
            y, x = st.integers(todo, 1, self.rows - 1), st.integers(todo, 1, self.cols - 1)
            # absent food lies far away: it blocks nothing
            near = (np.abs(fr[todo] - y[:, None]) + np.abs(fc[todo] - x[:, None]) <= 2).any(1)
            on_player = ((r[todo] == y[:, None]) & (c[todo] == x[:, None])).any(1)
            free = ~(near | on_player)
            go, k = todo[free], placed[todo[free]]
            lv = st.integers(go, lo[go, k], hi[go, k] + 1)
            present = lv > 0  # a level-0 food is no food (lbforaging's grid stays 0 there)
            fr[go, k] = np.where(present, y[free], FAR)
            fc[go, k] = np.where(present, x[free], FAR)
            fl[go, k] = lv
            placed[go] += 1
            todo = todo[(placed[todo] < F) & (attempts[todo] < 1000)]
        order = np.argsort(np.where(fl > 0, fr * self.cols + fc, np.iinfo(np.int64).max), 1, kind="stable")
        fr, fc, fl = (np.take_along_axis(a, order, 1) for a in (fr, fc, fl))
        return Placement(r, c, level, fr, fc, fl)
