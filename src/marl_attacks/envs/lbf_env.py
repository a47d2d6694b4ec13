"""Level-Based Foraging (``lbforaging`` 2.0) behind the batched interface.

Task names are EPyMARL's gymnasium IDs without prefix and version:
``lbf-8x8-2p-2f-coop`` is ``Foraging-8x8-2p-2f-coop-v3`` and ``lbf-2s-10x10-3p-3f``
is ``Foraging-2s-10x10-3p-3f-v3`` (partial observability, sight 2). The env is
built with the arguments of lbforaging's own registration (player levels 1-2,
food levels from the players' levels, vector observations, no penalty), except
the time limit, which is ``max_steps`` from the config (lbforaging: 50). Tasks
with more food than lbforaging registers (it stops at 4; the EPyMARL benchmark
has 15x15-3p-5f) get the same arguments. Keyword arguments override
``ForagingEnv``'s (e.g. ``penalty``); grid observations are not supported.

Observation of each agent (no agent-ID dimensions): ``(y, x, level)`` of every
food, then of every player with the observing agent first; absent entries
(eaten food, players out of sight) are ``(-1, -1, 0)``. The bounds are real and
are read from the env's observation space: positions in ``[-1, size - 1]``,
levels in ``[0, max level]``. Every dimension is perturbable.

:meth:`available_actions` gives lbforaging's valid actions (EPyMARL's
``avail_actions``): NONE always, moves into free cells, LOAD next to food.
A learner that ignores them may learn a policy whose greedy action is invalid
(turned into NONE by the env), which freezes a deterministic victim forever.

An episode terminates when all food is collected and is truncated at the time
limit (which lbforaging reports as a termination; see :mod:`.looped`). The
team reward is the sum of lbforaging's normalised agent rewards, so a team
that collects all food scores 1 in the episode.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from .base import EnvSpec
from .looped import LoopedEnv

_TASK = re.compile(
    r"(?:(?P<sight>\d+)s-)?(?P<rows>\d+)x(?P<cols>\d+)-(?P<players>\d+)p-"
    r"(?P<foods>\d+)f(?P<coop>-coop)?"
)


def task_kwargs(task: str, max_steps: int) -> dict:
    """``ForagingEnv`` arguments of ``task`` (e.g. ``2s-8x8-2p-2f-coop``), as lbforaging registers them."""
    m = _TASK.fullmatch(task)
    if m is None:
        raise ValueError(f"LBF task '{task}' is not of the form [<sight>s-]<rows>x<cols>-<n>p-<f>f[-coop]")
    rows, cols = int(m["rows"]), int(m["cols"])
    return {
        "players": int(m["players"]),
        "min_player_level": 1,
        "max_player_level": 2,
        "field_size": (rows, cols),
        "min_food_level": 1,
        "max_food_level": None,  # lbforaging: sum of the (up to 3) lowest player levels
        "max_num_food": int(m["foods"]),
        "sight": int(m["sight"]) if m["sight"] else rows,
        "max_episode_steps": max_steps,
        "force_coop": bool(m["coop"]),
        "grid_observation": False,
        "penalty": 0.0,
    }


def foraging_kwargs(task: str, max_steps: int, env_kwargs: dict) -> dict:
    """``ForagingEnv`` arguments of ``task`` with the config's overrides (checked)."""
    if env_kwargs.get("grid_observation"):
        raise ValueError("lbf: only vector observations (grid_observation: false) are supported")
    if "max_episode_steps" in env_kwargs:
        raise ValueError("lbf: set the time limit with max_steps, not max_episode_steps")
    return {**task_kwargs(task, max_steps), **env_kwargs}


def lbf_spec(task: str, env, max_steps: int) -> EnvSpec:
    """The :class:`EnvSpec` of ``task``, bounds read from ``ForagingEnv`` ``env``'s observation space."""
    spaces = env.observation_space
    low = torch.as_tensor(np.stack([s.low for s in spaces]), dtype=torch.float32)
    high = torch.as_tensor(np.stack([s.high for s in spaces]), dtype=torch.float32)
    n, d = low.shape
    return EnvSpec(
        name=f"lbf-{task}",
        n_agents=n,
        obs_dim=d,
        obs_low=low,
        obs_high=high,
        perturbable=torch.ones(n, d, dtype=torch.bool),
        action_type="discrete",
        action_dim=int(env.action_space[0].n),
        max_steps=max_steps,
    )


def vector_observations(env) -> tuple[np.ndarray, ...]:
    """lbforaging's vector observations of every player, built directly.

    Equal to ``ForagingEnv._make_gym_obs`` (tests/test_envs.py checks it on every task), which
    builds Python observation objects per player and asserts each array lies in the
    observation space: about two thirds of an LBF step. Per player: foods within ``sight``
    in row-major order as ``(y, x, level)`` in window coordinates, then the players within
    sight, itself first, as ``(y, x[, level])``; absent entries ``(-1, -1, 0)``. Plain Python
    on purpose: the arrays are tiny, and numpy's per-call overhead would dominate.
    """
    sight, n_food = env.sight, env.max_num_food
    with_levels = env._observe_agent_levels
    field = env.field
    foods = [(int(y), int(x), int(field[y, x])) for y, x in zip(*np.nonzero(field))]
    players = [(p.position[0], p.position[1], p.level) for p in env.players]
    template = [-1, -1, 0] * n_food + ([-1, -1, 0] if with_levels else [-1, -1]) * len(players)
    width = 3 if with_levels else 2
    out = []
    for i, (r, c, _) in enumerate(players):
        o = list(template)
        off_r, off_c = min(sight, r), min(sight, c)  # the window is clipped at the grid's edge
        k = 0
        for y, x, level in foods:
            if abs(y - r) <= sight and abs(x - c) <= sight:
                o[3 * k], o[3 * k + 1], o[3 * k + 2] = y - r + off_r, x - c + off_c, level
                k += 1
        at = 3 * n_food
        for j in [i] + [j for j in range(len(players)) if j != i]:
            y, x, level = players[j]
            ty, tx = y - r + off_r, x - c + off_c
            if min(ty, tx) < 0 or max(ty, tx) > 2 * sight:
                continue
            o[at], o[at + 1] = ty, tx
            if with_levels:
                o[at + 2] = level
            at += width
        out.append(o)
    return tuple(np.array(out, np.float32))


class LbfEnv(LoopedEnv):
    has_action_masks = True

    def __init__(
        self, task: str, num_envs: int, device: torch.device, *, max_steps: int = 50, seed: int = 0, **env_kwargs
    ):
        from lbforaging.foraging import ForagingEnv

        kwargs = foraging_kwargs(task, max_steps, env_kwargs)
        self.num_envs, self.device = num_envs, torch.device(device)
        self._envs = [ForagingEnv(**kwargs) for _ in range(num_envs)]
        for env in self._envs:  # same observations, 2-3x faster steps (see vector_observations)
            env._make_gym_obs = lambda e=env: vector_observations(e)
        self.spec = lbf_spec(task, self._envs[0], max_steps)
        self._init_loop(seed)

    def _reset_one(self, b: int, seed: int) -> np.ndarray:
        # lbforaging places each new player on a cell not taken by the others' *previous*
        # positions, so an episode would depend on the one before; forget them first.
        for player in self._envs[b].players:
            player.position = None
        return super()._reset_one(b, seed)

    def available_actions(self) -> torch.Tensor:
        # lbforaging turns an invalid action (a move into a wall, food or the edge; LOAD
        # away from food) into NONE. Greedy policies that pick one stand still for good.
        mask = np.zeros((self.num_envs, self.spec.n_agents, self.spec.action_dim), bool)
        for b, env in enumerate(self._envs):
            for i, player in enumerate(env.players):
                mask[b, i, [a.value for a in env._valid_actions[player]]] = True
        return torch.as_tensor(mask, device=self.device)

    def _terminal_state(self, env) -> bool:
        return bool(env.field.sum() == 0)  # all food collected
