"""The MPE tasks of the ``mpe2`` package for EPyMARL, as ``epymarl_mpe2:pz-mpe2-<module>``.

EPyMARL's gymma registers PettingZoo's MPE tasks as ``pz-mpe-<task>`` from ``pettingzoo.mpe``, which
PettingZoo 1.25 moved out into the ``mpe2`` package (the one our MPE adapter steps). This module
registers EPyMARL's own PettingZoo wrapper (``src/envs/pz_wrapper.py``) on mpe2's modules instead, so
EPyMARL runs the same tasks as ours without a change to its code: gymnasium imports it for an env key
``epymarl_mpe2:<id>`` (bench/epymarl_side_by_side.py puts bench/ on EPyMARL's PYTHONPATH; EPyMARL's
``src/`` is on its path as the script's directory).

PettingZoo ends MPE episodes itself after ``max_cycles`` steps, emptying its agent list, and the
wrapper then returns no observations; the script passes ``env_args.max_cycles`` = ``time_limit`` + 1,
so that EPyMARL's own ``TimeLimit`` (``env_args.time_limit``, = our ``max_steps``) ends every episode.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import gymnasium as gym
from gymnasium.spaces import Tuple


def _wrapper_class():
    from envs.pz_wrapper import PettingZooWrapper  # EPyMARL's, importable inside its process only

    class Mpe2Wrapper(PettingZooWrapper):
        """EPyMARL's PettingZoo wrapper over ``mpe2.<env_name>`` (its ``__init__`` imports
        ``pettingzoo.<lib>.<env>``; everything after construction is EPyMARL's)."""

        def __init__(self, env_name: str, **kwargs):
            env = importlib.import_module(f"mpe2.{env_name}")
            self._env = env.parallel_env(continuous_actions=False, **kwargs)
            self._env.reset()
            self.n_agents = self._env.num_agents
            self.last_obs = None
            self.action_space = Tuple(tuple(self._env.action_spaces[k] for k in self._env.agents))
            self.observation_space = Tuple(tuple(self._env.observation_spaces[k] for k in self._env.agents))

    return Mpe2Wrapper


def make(env_name: str, **kwargs):
    return _wrapper_class()(env_name, **kwargs)


def gym_id(module: str) -> str:
    """``simple_spread_v3`` -> ``pz-mpe2-simple-spread-v3`` (EPyMARL's naming of PettingZoo tasks)."""
    return "pz-mpe2-" + module.replace("_", "-")


def register() -> None:
    import mpe2

    for path in sorted(Path(mpe2.__path__[0]).glob("*_v?.py")):
        if gym_id(path.stem) not in gym.registry:
            gym.register(gym_id(path.stem), entry_point=make, kwargs={"env_name": path.stem})


try:  # on import, as gymnasium imports it for the env key
    register()
except ImportError:  # no mpe2 in this python: nothing to register
    pass
