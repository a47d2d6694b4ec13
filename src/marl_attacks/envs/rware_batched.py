"""The Multi-Robot Warehouse stepped on arrays over all instances at once, equal to rware 2.0.0.

:class:`BatchedRwareEnv` takes the arguments of :class:`.rware_env.RwareEnv` (task, kwargs,
``content_bounds``) and gives the same spec, observations, rewards, ends, ``final_obs``
and auto-reset seeds, step for step (``tests/test_rware_batched.py`` compares the two with
exact equality). The state of every instance lives in numpy arrays (agent cells,
directions, carried shelf, shelf cells, requested shelves, agent and shelf grids) and a
step is a fixed number of array operations over all instances: loops run over agents
(the collision resolution of :mod:`.rware_rules`) and over the goal cells, not over
instances, with three exceptions, each over the few instances concerned:

* resets (at ``reset`` and auto-reset), which seed one ``numpy.random.Generator`` per
  instance exactly as rware's ``reset(seed=...)`` does (gymnasium's ``seeding.np_random``)
  and draw agent cells, directions and the request queue with rware's calls;
* request refills: each delivery draws the new requested shelf from that instance's
  generator among the shelves not requested, in shelf order, like rware;
* collision ties (two equally long queues entering one cell), settled by rware's own
  networkx code on that instance (see :mod:`.rware_rules`).

Every layout rware builds (``shelf_columns``, ``shelf_rows``, ``column_height`` or a
``layout`` string), ``sensor_range``, ``request_queue_size``, ``max_inactivity_steps``,
``normalised_coordinates`` and the three reward types are supported.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from .base import BatchedEnv, Step, auto_reset_stream, check_discrete_actions
from .rware_env import rware_spec, warehouse_kwargs
from .rware_rules import DX, DY, FORWARD, TOGGLE_LOAD, networkx_moves, observe, resolve_moves, take, turn

_PER_AGENT = ("ax", "ay", "dir", "carry", "delivered")
_PER_INSTANCE = ("agent_grid", "shelf_grid", "requested", "sx", "sy")


class BatchedRwareEnv(BatchedEnv):
    def __init__(
        self,
        task: str,
        num_envs: int,
        device: torch.device,
        *,
        max_steps: int = 500,
        seed: int = 0,
        content_bounds: bool = False,
        **env_kwargs,
    ):
        from rware.warehouse import RewardType, Warehouse

        kwargs = warehouse_kwargs(task, max_steps, env_kwargs)
        self.num_envs, self.device = num_envs, torch.device(device)
        self.spec = rware_spec(task, kwargs, max_steps, content_bounds)
        layout = Warehouse(**kwargs)
        self._shape = H, W = layout.grid_size
        self._highways = layout.highways.astype(bool)
        self._goals = [int(y) * W + int(x) for x, y in layout.goals]  # rware's goal order
        shelf_y, shelf_x = np.nonzero(~self._highways)  # rware's shelf order (row-major)
        self._shelf_home = (shelf_x.astype(np.int64), shelf_y.astype(np.int64))
        self._n, self._n_shelves = layout.n_agents, len(shelf_x)
        self._queue = layout.request_queue_size
        self._sensor = layout.sensor_range
        self._normalised = layout.normalised_coordinates
        self._reward = {RewardType.GLOBAL: "global", RewardType.INDIVIDUAL: "individual"}.get(
            layout.reward_type, "two_stage"
        )
        self._inactivity = layout.max_inactivity_steps
        self._env_limit = layout.max_steps
        B, n, S = num_envs, self._n, self._n_shelves
        self._s = {k: np.zeros((B, n), np.int64) for k in _PER_AGENT}
        self._s["delivered"] = np.zeros((B, n), bool)
        self._s.update(
            agent_grid=np.zeros((B, H * W), np.int64),
            shelf_grid=np.zeros((B, H * W), np.int64),
            requested=np.zeros((B, S), bool),
            sx=np.zeros((B, S), np.int64),
            sy=np.zeros((B, S), np.int64),
        )
        self._rngs: list[np.random.Generator | None] = [None] * B
        self._steps = np.zeros(B, np.int64)
        self._inactive = np.zeros(B, np.int64)
        # episodes started by auto-reset draw their seeds from this stream, restarted by reset (as LoopedEnv)
        self._reseed = np.random.default_rng(seed)

    # ----- state
    def _reset_one(self, b: int, seed: int) -> None:
        from gymnasium.utils import seeding

        H, W = self._shape
        s, n = self._s, self._n
        rng = self._rngs[b] = seeding.np_random(seed % 2**32)[0]
        locs = rng.choice(np.arange(H * W), size=n, replace=False)
        s["ay"][b], s["ax"][b] = locs // W, locs % W
        s["dir"][b] = rng.choice(4, size=n)  # rware: choice over the 4 Directions
        s["carry"][b], s["delivered"][b] = -1, False
        s["sx"][b], s["sy"][b] = self._shelf_home
        s["requested"][b] = False
        s["requested"][b, rng.choice(self._n_shelves, size=self._queue, replace=False)] = True
        self._steps[b] = self._inactive[b] = 0
        self._recalc(np.array([b]))

    def _recalc(self, rows: np.ndarray) -> None:
        """Rebuild the agent and shelf grids of instances ``rows`` (rware's ``_recalc_grid``)."""
        s, W = self._s, self._shape[1]
        for grid, x, y in (("shelf_grid", "sx", "sy"), ("agent_grid", "ax", "ay")):
            g, k = s[grid], s[x].shape[1]
            g[rows] = 0
            flat = rows[:, None] * g.shape[1] + s[y][rows] * W + s[x][rows]
            g.reshape(-1)[flat] = np.arange(1, k + 1)

    def _observe(self, rows: np.ndarray | slice) -> np.ndarray:
        state = {k: v[rows] for k, v in self._s.items()}
        return observe(state, self._shape, self._highways, self._sensor, self._normalised)

    def load_warehouse(self, b: int, env, steps: int = 0) -> None:
        """Copy the state of a rware ``Warehouse`` into instance ``b`` (its generator too; tests)."""
        s = self._s
        for i, a in enumerate(env.agents):
            s["ax"][b, i], s["ay"][b, i], s["dir"][b, i] = a.x, a.y, a.dir.value
            s["carry"][b, i] = a.carrying_shelf.id - 1 if a.carrying_shelf else -1
            s["delivered"][b, i] = a.has_delivered
        s["sx"][b] = [sh.x for sh in env.shelfs]
        s["sy"][b] = [sh.y for sh in env.shelfs]
        s["requested"][b] = False
        s["requested"][b, [sh.id - 1 for sh in env.request_queue]] = True
        self._rngs[b] = copy.deepcopy(env.np_random)
        self._steps[b], self._inactive[b] = steps, env._cur_inactive_steps
        self._recalc(np.array([b]))
        assert (s["shelf_grid"][b] == env.grid[1].reshape(-1)).all(), "shelves share a cell"

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        assert len(seeds) == self.num_envs, "one seed per parallel episode"
        for b, seed in enumerate(seeds):
            self._reset_one(b, int(seed))
        self._reseed = auto_reset_stream(seeds)  # as LoopedEnv's
        return torch.as_tensor(self._observe(slice(None)), device=self.device)

    # ----- step
    def _check(self, actions: torch.Tensor) -> np.ndarray:
        return check_discrete_actions(actions, self.num_envs, self._n, self.spec.action_dim, self.spec.name)

    def _move(self, a: np.ndarray) -> None:
        """Turning and moving forward with rware's collision resolution."""
        s, (H, W) = self._s, self._shape
        ax, ay, d = s["ax"], s["ay"], s["dir"]
        fwd = a == FORWARD
        tx = np.where(fwd, np.clip(ax + DX[d], 0, W - 1), ax)
        ty = np.where(fwd, np.clip(ay + DY[d], 0, H - 1), ay)
        start, target = ay * W + ax, ty * W + tx
        # a loaded agent cannot drive into a standing shelf (one carried by an agent is no obstacle)
        carrying = s["carry"] >= 0
        occupant = take(s["agent_grid"], target) - 1
        occupant_carries = (occupant >= 0) & take(carrying, occupant)
        blocked = carrying & (target != start) & (take(s["shelf_grid"], target) > 0) & ~occupant_carries
        target = np.where(blocked, start, target)
        moves, tie = resolve_moves(start, target, s["agent_grid"])
        for b in np.flatnonzero(tie):
            cells = lambda c: [(int(v % W), int(v // W)) for v in c]
            moves[b] = networkx_moves(cells(start[b]), cells(target[b]))
        s["dir"] = turn(d, a)
        s["ax"], s["ay"] = np.where(moves, target % W, ax), np.where(moves, target // W, ay)

    def step(self, actions: torch.Tensor) -> Step:
        a = self._check(actions)
        s, W = self._s, self._shape[1]
        B, n = a.shape
        here_before = s["ay"] * W + s["ax"]
        shelf_here = take(s["shelf_grid"], here_before)  # the grid before the step, as rware reads it
        self._move(a)
        rewards = np.zeros((B, n), np.float64)
        carrying, toggle = s["carry"] >= 0, a == TOGGLE_LOAD
        pick = toggle & ~carrying & (shelf_here > 0)
        drop = toggle & carrying & ~self._highways.reshape(-1)[here_before]
        if self._reward == "two_stage":
            rewards += 0.5 * (drop & s["delivered"])
        s["delivered"] &= ~drop
        s["carry"] = np.where(pick, shelf_here - 1, np.where(drop, -1, s["carry"]))
        bi, ai = np.nonzero(s["carry"] >= 0)
        s["sx"][bi, s["carry"][bi, ai]] = s["ax"][bi, ai]
        s["sy"][bi, s["carry"][bi, ai]] = s["ay"][bi, ai]
        rows = np.arange(B)
        self._recalc(rows)
        delivered_any = np.zeros(B, bool)
        for goal in self._goals:
            sid = s["shelf_grid"][:, goal]
            hit = (sid > 0) & take(s["requested"], sid[:, None] - 1)[:, 0]
            for b in np.flatnonzero(hit):  # the refill draws, in rware's order
                candidates = np.flatnonzero(~s["requested"][b])
                new = candidates[self._rngs[b].choice(len(candidates))]
                s["requested"][b, sid[b] - 1], s["requested"][b, new] = False, True
            agent = s["agent_grid"][:, goal] - 1
            if self._reward == "global":
                rewards += hit[:, None]
            else:
                gain = hit[:, None] & (np.arange(n) == agent[:, None])
                rewards += gain * (1.0 if self._reward == "individual" else 0.5)
                if self._reward == "two_stage":
                    s["delivered"] |= gain
            delivered_any |= hit
        self._inactive = np.where(delivered_any, 0, self._inactive + 1)
        self._steps += 1
        at_limit = self._steps >= self.spec.max_steps
        env_done = np.zeros(B, bool)
        if self._inactivity:
            env_done |= self._inactive >= self._inactivity
        if self._env_limit:
            env_done |= self._steps >= self._env_limit
        ended = env_done | at_limit
        final = self._observe(slice(None))
        obs = final
        done_rows = np.flatnonzero(ended)
        if len(done_rows):
            obs = final.copy()
            for b in done_rows:
                self._reset_one(int(b), int(self._reseed.integers(2**31)))
            obs[done_rows] = self._observe(done_rows)
        t = lambda x, dt=torch.float32: torch.as_tensor(x, dtype=dt, device=self.device)
        return Step(
            obs=t(obs),
            reward=t(rewards.sum(1)),
            terminated=t(ended & ~at_limit, torch.bool),
            truncated=t(at_limit, torch.bool),
            final_obs=t(final),
        )
