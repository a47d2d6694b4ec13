"""Environment registry: a name in the config maps to an adapter factory.

Config example (``envs:`` block)::

    vmas-balance:
      max_steps: 100
      kwargs: {n_agents: 3}

Families: VMAS (``vmas_env``, vectorized in torch), MPE (``mpe_env``), Level-Based
Foraging (``lbf_env``), the Multi-Robot Warehouse (``rware_env``) and SMAX (``smax_env``,
JaxMARL's StarCraft micromanagement in JAX, vmapped; the optional extra ``smax``). MPE, LBF and
RWARE are stepped instance by instance in one process. LBF and RWARE also have a ``batched``
backend (``lbf_batched``, ``rware_batched``: all episodes at once on arrays, tested equal to
``lbf_env`` and ``rware_env``), chosen per env with ``backend: batched`` in the config. SMAC itself
is not available: the StarCraft II binary cannot be installed here; SMAX is a re-implementation
with its own dynamics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def _lbf_batched(task: str) -> Callable[..., BatchedEnv]:
    from .lbf_batched import BatchedLbfEnv

    return partial(BatchedLbfEnv, task)


def _rware_batched(task: str) -> Callable[..., BatchedEnv]:
    from .rware_batched import BatchedRwareEnv

    return partial(BatchedRwareEnv, task)


def _rware(task: str) -> Callable[..., BatchedEnv]:
    from .rware_env import RwareEnv

    return partial(RwareEnv, task)


def _smax(map_name: str) -> Callable[..., BatchedEnv]:
    from .smax_env import SmaxEnv

    return partial(SmaxEnv, map_name)


# The paper uses 10 LBF and 6 RWARE tasks without listing them here; these are
# the EPyMARL benchmark's LBF tasks (Papoudakis et al. 2021) plus 8x8-2p-3f, the
# tasks of the authors' code (src/adv.py, per_env_infected: Foraging-2s-8x8-3p-2f(-coop),
# Foraging-2s-10x10-4p-2f(-coop)), and the RWARE tasks in the normal and hard variants.
LBF_TASKS = [
    "8x8-2p-2f-coop",
    "2s-8x8-2p-2f-coop",
    "8x8-2p-3f",
    "10x10-3p-3f",
    "2s-10x10-3p-3f",
    "15x15-3p-5f",
    "15x15-4p-3f",
    "15x15-4p-5f",
    "2s-8x8-3p-2f",
    "2s-8x8-3p-2f-coop",
    "2s-10x10-4p-2f",
    "2s-10x10-4p-2f-coop",
]
RWARE_TASKS = ["tiny-2ag", "tiny-4ag", "small-4ag", "tiny-2ag-hard", "tiny-4ag-hard", "small-4ag-hard"]
# SMAX's maps (jaxmarl 0.2.0, MAP_NAME_TO_SCENARIO; tests/test_smax.py checks the list) -> the
# agents the authors attack on the SMAC map of that name (their src/adv.py, per_env_infected).
# SMAX's smacv2_<n>_units draw the unit types of both teams from all three races at once; the
# authors' SMACv2 maps are one race each (protoss/terran/zerg_<n>_vs_<n>), with the same m for
# every race, which is the m given here. SMAX has no 1c3s5z, MMM, MMM2, bane_vs_bane or
# SMACv2 6_vs_5 (README, "SMAX").
SMAX_MAPS: dict[str, tuple[int, ...]] = {
    "3m": (),
    "8m": (),
    "2s3z": (),
    "3s5z": (5, 6, 2, 3, 4),
    "5m_vs_6m": (),
    "10m_vs_11m": (2, 3, 4, 5),
    "25m": (6, 8, 10, 13),
    "27m_vs_30m": (7, 8, 11, 14),
    "3s5z_vs_3s6z": (),
    "3s_vs_5z": (),
    "6h_vs_8z": (),
    "smacv2_5_units": (2, 3),
    "smacv2_10_units": (2, 3, 4, 5),
    "smacv2_20_units": (5, 6, 8, 10),
}


def discrete(kwargs: dict) -> str:
    return "discrete"


def vmas_action_type(kwargs: dict) -> str:
    """The VMAS adapter's default is discrete actions (``continuous_actions: false``)."""
    return "continuous" if kwargs.get("continuous_actions", False) else "discrete"


@dataclass(frozen=True)
class EnvEntry:
    """Everything the package knows about an env name, without building the env."""

    loader: Callable[[], Callable[..., BatchedEnv]]  # returns the adapter bound to its task (lazy imports)
    label: str  # how the paper writes the env ("VMAS Balance", "LBF 8x8-2p-2f-coop")
    family: str  # benchmark family: vmas, mpe, lbf, rware (claims and marl-eval group by it)
    task: str  # the task within the family
    action_type: Callable[[dict], str] = discrete  # action type from the adapter's kwargs (config checks)
    # an adapter proven equal to ``loader``'s that steps all episodes at once (backend "batched")
    batched: Callable[[], Callable[..., BatchedEnv]] | None = None
    win: bool = False  # whether episodes report a win (evaluation rows' ``win``, the win-rate figure)
    extra: str | None = None  # the optional pyproject extra the adapter needs (``smax``: jaxmarl)
    module: str | None = None  # the module that extra installs (the config check looks for it)
    authors_m: tuple[int, ...] = ()  # the agents the authors attack on this task (src/adv.py per_env_infected)


def _entry(family: str, task: str, loader, label: str | None = None, action_type=discrete, batched=None) -> EnvEntry:
    return EnvEntry(loader, label or f"{family.upper()} {task}", family, task, action_type, batched)


def _smax_entry(map_name: str, authors_m: tuple[int, ...]) -> EnvEntry:
    return EnvEntry(
        lambda: _smax(map_name),
        f"SMAX {map_name}",
        "smax",
        map_name,
        win=True,
        extra="smax",
        module="jaxmarl",
        authors_m=authors_m,
    )


def _vmas_entry(scenario: str) -> EnvEntry:
    return _entry("vmas", scenario, lambda: _vmas(scenario), f"VMAS {scenario.title()}", vmas_action_type)


def _mpe_entry(task: str, label: str) -> EnvEntry:
    return _entry("mpe", task, lambda: _mpe(f"{task}_v3"), label)


ENVS: dict[str, EnvEntry] = {
    "vmas-navigation": _vmas_entry("navigation"),
    "vmas-balance": _vmas_entry("balance"),
    "vmas-transport": _vmas_entry("transport"),
    "vmas-wheel": _vmas_entry("wheel"),
    "mpe-simple_spread": _mpe_entry("simple_spread", "MPE Simple Spread"),
    "mpe-simple_reference": _mpe_entry("simple_reference", "MPE Simple Reference"),
    **{f"lbf-{t}": _entry("lbf", t, lambda t=t: _lbf(t), batched=lambda t=t: _lbf_batched(t)) for t in LBF_TASKS},
    **{
        f"rware-{t}": _entry("rware", t, lambda t=t: _rware(t), batched=lambda t=t: _rware_batched(t))
        for t in RWARE_TASKS
    },
    **{f"smax-{m}": _smax_entry(m, authors_m) for m, authors_m in SMAX_MAPS.items()},
}


def env_label(name: str) -> str:
    """How the paper writes env ``name`` (the name itself if unregistered)."""
    entry = ENVS.get(name)
    return entry.label if entry else name


def env_family(name: str) -> str:
    """The benchmark family of env ``name`` (``lbf``, ``rware``, ``smax``, ``mpe``, ``vmas``); for
    an unregistered name, what precedes its first ``-``."""
    entry = ENVS.get(name)
    return entry.family if entry else name.split("-", 1)[0]


def action_type(name: str, kwargs: dict | None = None) -> str:
    """The action type env ``name`` will have with ``kwargs``, without building it (config checks)."""
    if name not in ENVS:
        raise KeyError(f"unknown env '{name}'; known envs: {', '.join(sorted(ENVS))}")
    return ENVS[name].action_type(kwargs or {})


def missing_extra(name: str) -> str | None:
    """The optional extra env ``name`` needs and this install lacks (``smax``), or None."""
    import importlib.util

    entry = ENVS[name]
    if entry.module is None or importlib.util.find_spec(entry.module) is not None:
        return None
    return entry.extra


def backends(name: str) -> list[str]:
    """The backends env ``name`` can be built with (``make_env``'s ``backend``)."""
    return ["reference", "batched"] if ENVS[name].batched is not None else ["reference"]


def make_env(
    name: str,
    num_envs: int,
    device: str | torch.device = "cpu",
    *,
    max_steps: int,
    seed: int = 0,
    kwargs: dict | None = None,
    backend: str = "reference",
) -> BatchedEnv:
    """Build ``num_envs`` parallel episodes of env ``name`` (a key of :data:`ENVS`).

    ``backend``: ``reference`` (the adapter around the env's own package) or ``batched`` (an
    adapter that steps all episodes at once, proven equal to the reference; LBF only)."""
    if name not in ENVS:
        raise KeyError(f"unknown env '{name}'; known envs: {', '.join(sorted(ENVS))}")
    entry = ENVS[name]
    allowed = backends(name)
    if backend not in allowed:
        raise ValueError(f"env '{name}': backend {backend!r} is not available; allowed: {allowed}")
    extra = missing_extra(name)
    if extra is not None:
        raise ImportError(
            f"env '{name}' needs the optional extra '{extra}' ({entry.module} is not installed): "
            f"pip install -e '.[{extra}]'"
        )
    factory = entry.batched() if backend == "batched" else entry.loader()
    return factory(num_envs, torch.device(device), max_steps=max_steps, seed=seed, **(kwargs or {}))


__all__ = [
    "ENVS",
    "LBF_TASKS",
    "RWARE_TASKS",
    "SMAX_MAPS",
    "BatchedEnv",
    "EnvEntry",
    "EnvSpec",
    "Step",
    "action_type",
    "backends",
    "env_family",
    "env_label",
    "make_env",
    "missing_extra",
]
