"""Environment registry: a name in the config maps to an adapter factory.

Config example (``envs:`` block)::

    vmas-balance:
      max_steps: 100
      kwargs: {n_agents: 3}

Families: VMAS (``vmas_env``, vectorized in torch), MPE (``mpe_env``), Level-Based
Foraging (``lbf_env``) and the Multi-Robot Warehouse (``rware_env``); the last
three are stepped instance by instance in one process. SMAC is not available:
the StarCraft II binary cannot be installed here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from .base import BatchedEnv, EnvSpec, Step


def _vmas(scenario: str) -> Callable[..., BatchedEnv]:
    from .vmas_env import VmasEnv

    return partial(VmasEnv, scenario)


def _mpe(task: str) -> Callable[..., BatchedEnv]:
    from .mpe_env import MpeEnv

    return partial(MpeEnv, task)


def _lbf(task: str) -> Callable[..., BatchedEnv]:
    from .lbf_env import LbfEnv

    return partial(LbfEnv, task)


def _rware(task: str) -> Callable[..., BatchedEnv]:
    from .rware_env import RwareEnv

    return partial(RwareEnv, task)


# The paper uses 10 LBF and 6 RWARE tasks without listing them here; these are
# the EPyMARL benchmark's LBF tasks (Papoudakis et al. 2021) plus 8x8-2p-3f,
# and its RWARE tasks in the normal and hard variants.
LBF_TASKS = [
    "8x8-2p-2f-coop",
    "2s-8x8-2p-2f-coop",
    "8x8-2p-3f",
    "10x10-3p-3f",
    "2s-10x10-3p-3f",
    "15x15-3p-5f",
    "15x15-4p-3f",
    "15x15-4p-5f",
]
RWARE_TASKS = ["tiny-2ag", "tiny-4ag", "small-4ag", "tiny-2ag-hard", "tiny-4ag-hard", "small-4ag-hard"]

# name -> zero-argument loader returning the adapter class bound to its task;
# loaders keep heavy imports (vmas, pettingzoo) out of start-up.
ENVS: dict[str, Callable[[], Callable[..., BatchedEnv]]] = {
    "vmas-navigation": lambda: _vmas("navigation"),
    "vmas-balance": lambda: _vmas("balance"),
    "vmas-transport": lambda: _vmas("transport"),
    "vmas-wheel": lambda: _vmas("wheel"),
    "mpe-simple_spread": lambda: _mpe("simple_spread_v3"),
    "mpe-simple_reference": lambda: _mpe("simple_reference_v3"),
    **{f"lbf-{t}": (lambda t=t: _lbf(t)) for t in LBF_TASKS},
    **{f"rware-{t}": (lambda t=t: _rware(t)) for t in RWARE_TASKS},
}


# name prefix -> action type from the adapter's kwargs, mirroring the adapters' defaults
# (tests/test_config.py checks it against built envs)
_ACTION_TYPES: dict[str, Callable[[dict], str]] = {
    "vmas-": lambda kw: "continuous" if kw.get("continuous_actions", False) else "discrete",
    "mpe-": lambda kw: "discrete",
    "lbf-": lambda kw: "discrete",
    "rware-": lambda kw: "discrete",
}


def action_type(name: str, kwargs: dict | None = None) -> str:
    """The action type env ``name`` will have with ``kwargs``, without building it (config checks)."""
    for prefix, rule in _ACTION_TYPES.items():
        if name.startswith(prefix):
            return rule(kwargs or {})
    raise KeyError(f"no action-type rule for env '{name}'; add one to envs._ACTION_TYPES")


def make_env(
    name: str,
    num_envs: int,
    device: str | torch.device = "cpu",
    *,
    max_steps: int,
    seed: int = 0,
    kwargs: dict | None = None,
) -> BatchedEnv:
    """Build ``num_envs`` parallel episodes of env ``name`` (a key of :data:`ENVS`)."""
    if name not in ENVS:
        raise KeyError(f"unknown env '{name}'; known envs: {', '.join(sorted(ENVS))}")
    factory = ENVS[name]()
    return factory(num_envs, torch.device(device), max_steps=max_steps, seed=seed, **(kwargs or {}))


__all__ = ["ENVS", "LBF_TASKS", "RWARE_TASKS", "BatchedEnv", "EnvSpec", "Step", "action_type", "make_env"]
