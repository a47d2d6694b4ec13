"""Multi-Robot Warehouse (``rware`` 2.0) behind the batched interface.

Task names are rware's gymnasium IDs without the version: ``rware-tiny-2ag`` is
``rware-tiny-2ag-v2`` and ``rware-small-4ag-hard`` is ``rware-small-4ag-hard-v2``.
The env is built with the arguments of rware's own registration (column height
8, sensor range 1, request queue of n_agents x difficulty with easy 2, normal 1,
hard 0.5, individual rewards, flattened observations), except the time limit,
which is ``max_steps`` from the config (rware: 500). Keyword arguments override
``Warehouse``'s (``reward_type`` by name: individual, global or two_stage).
Communication bits are not supported (they make the action space MultiDiscrete).

Observation of each agent (71 dims at sensor range 1; no agent-ID dimensions):
own x, y, carrying flag, direction one-hot (4), on-highway flag; then, for each
cell of the (2r+1)^2 window around the agent: agent present, that agent's
direction one-hot (4; ``[1, 0, 0, 0]`` when empty), shelf present, shelf
requested. Every dimension is perturbable.

Bounds (a choice): rware declares its flattened observations unbounded, and
that is what the paper clips to ("infinite on RWARE"), so that is the default.
With ``content_bounds: true`` the spec carries instead the bounds of rware's own
dictionary observation space, flattened in the same order: coordinates in
``[0, max(grid size)]``, every flag and one-hot in ``[0, 1]``.

No state is terminal (``max_inactivity_steps`` is None, as registered), so every
end is a time-limit truncation, which rware reports as a termination (see
:mod:`.looped`). The team reward is the sum of the agents' rewards (1 per
requested shelf delivered, individual reward type).
"""

from __future__ import annotations

import re

import numpy as np
import torch

from .base import EnvSpec
from .looped import LoopedEnv

_TASK = re.compile(r"(?P<size>tiny|small|medium|large)-(?P<agents>\d+)ag(?P<diff>-easy|-hard)?")
_SIZES = {"tiny": (1, 3), "small": (2, 3), "medium": (2, 5), "large": (3, 5)}  # (shelf rows, columns)
_DIFFICULTY = {"-easy": 2, None: 1, "-hard": 0.5}  # request queue size per agent


def task_kwargs(task: str, max_steps: int) -> dict:
    """``Warehouse`` arguments of ``task`` (e.g. ``tiny-2ag-hard``), as rware registers them."""
    from rware.warehouse import RewardType

    m = _TASK.fullmatch(task)
    if m is None:
        raise ValueError(f"RWARE task '{task}' is not of the form <tiny|small|medium|large>-<n>ag[-easy|-hard]")
    agents = int(m["agents"])
    rows, cols = _SIZES[m["size"]]
    return {
        "column_height": 8,
        "shelf_rows": rows,
        "shelf_columns": cols,
        "n_agents": agents,
        "msg_bits": 0,
        "sensor_range": 1,
        "request_queue_size": int(agents * _DIFFICULTY[m["diff"]]),
        "max_inactivity_steps": None,
        "max_steps": max_steps,
        "reward_type": RewardType.INDIVIDUAL,
    }


def warehouse_kwargs(task: str, max_steps: int, env_kwargs: dict) -> dict:
    """``Warehouse`` arguments of ``task`` with the adapter's keyword overrides (checked)."""
    from rware.warehouse import RewardType

    env_kwargs = dict(env_kwargs)
    if env_kwargs.get("msg_bits", 0):
        raise ValueError("rware: communication bits (msg_bits > 0) are not supported")
    if "observation_type" in env_kwargs:
        raise ValueError("rware: only flattened observations are supported")
    if isinstance(env_kwargs.get("reward_type"), str):
        env_kwargs["reward_type"] = RewardType[env_kwargs["reward_type"].upper()]
    return {**task_kwargs(task, max_steps), **env_kwargs}


def rware_spec(task: str, kwargs: dict, max_steps: int, content_bounds: bool) -> EnvSpec:
    """The :class:`EnvSpec` of a warehouse built with ``kwargs`` (see the module docstring)."""
    import gymnasium as gym
    from rware.warehouse import ObservationType, Warehouse

    first = Warehouse(**kwargs)
    n, d = first.n_agents, int(first.observation_space[0].shape[0])
    if content_bounds:
        spaces = Warehouse(**kwargs, observation_type=ObservationType.DICT).observation_space
        flat = [gym.spaces.flatten_space(s) for s in spaces]
        low = np.stack([f.low for f in flat])
        high = np.stack([f.high for f in flat])
    else:
        low = np.stack([s.low for s in first.observation_space])
        high = np.stack([s.high for s in first.observation_space])
    assert low.shape == (n, d), "rware's dictionary and flattened observations disagree"
    return EnvSpec(
        name=f"rware-{task}",
        n_agents=n,
        obs_dim=d,
        obs_low=torch.as_tensor(low, dtype=torch.float32),
        obs_high=torch.as_tensor(high, dtype=torch.float32),
        perturbable=torch.ones(n, d, dtype=torch.bool),
        action_type="discrete",
        action_dim=int(first.action_space[0].n),
        max_steps=max_steps,
    )


class RwareEnv(LoopedEnv):
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
        from rware.warehouse import Warehouse

        kwargs = warehouse_kwargs(task, max_steps, env_kwargs)
        self.num_envs, self.device = num_envs, torch.device(device)
        self._envs = [Warehouse(**kwargs) for _ in range(num_envs)]
        self.spec = rware_spec(task, kwargs, max_steps, content_bounds)
        self._init_loop(seed)
