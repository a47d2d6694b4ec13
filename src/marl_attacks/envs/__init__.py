"""Environment registry: a name in the config maps to an adapter factory.

Config example (``envs:`` block)::

    vmas-balance:
      max_steps: 100
      kwargs: {n_agents: 3}
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch

from .base import BatchedEnv, EnvSpec, Step


def _vmas(scenario: str) -> Callable[..., BatchedEnv]:
    from .vmas_env import VmasEnv

    return partial(VmasEnv, scenario)


def _mpe(task: str) -> Callable[..., BatchedEnv]:
    from .mpe_env import MpeEnv

    return partial(MpeEnv, task)


# name -> zero-argument loader returning the adapter class bound to its task;
# loaders keep heavy imports (vmas, pettingzoo) out of start-up.
ENVS: dict[str, Callable[[], Callable[..., BatchedEnv]]] = {
    "vmas-navigation": lambda: _vmas("navigation"),
    "vmas-balance": lambda: _vmas("balance"),
    "mpe-simple_spread": lambda: _mpe("simple_spread_v3"),
}


# name prefix -> action type from the adapter's kwargs, mirroring the adapters' defaults
# (tests/test_config.py checks it against built envs)
_ACTION_TYPES: dict[str, Callable[[dict], str]] = {
    "vmas-": lambda kw: "continuous" if kw.get("continuous_actions", False) else "discrete",
    "mpe-": lambda kw: "discrete",
}


def action_type(name: str, kwargs: dict | None = None) -> str:
    """The action type env ``name`` will have with ``kwargs``, without building it (config checks)."""
    for prefix, rule in _ACTION_TYPES.items():
        if name.startswith(prefix):
            return rule(kwargs or {})
    raise KeyError(f"no action-type rule for env '{name}'; add one to envs._ACTION_TYPES")


def make_env(name: str, num_envs: int, device: str | torch.device = "cpu", *, max_steps: int,
             seed: int = 0, kwargs: dict | None = None) -> BatchedEnv:
    """Build ``num_envs`` parallel episodes of env ``name`` (a key of :data:`ENVS`)."""
    if name not in ENVS:
        raise KeyError(f"unknown env '{name}'; known envs: {', '.join(sorted(ENVS))}")
    factory = ENVS[name]()
    return factory(num_envs, torch.device(device), max_steps=max_steps, seed=seed, **(kwargs or {}))


__all__ = ["ENVS", "BatchedEnv", "EnvSpec", "Step", "action_type", "make_env"]
