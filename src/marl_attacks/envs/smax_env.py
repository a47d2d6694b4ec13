"""SMAX (JaxMARL's StarCraft Multi-Agent Challenge in JAX) behind the batched interface.

SMAX is a re-implementation of SMAC's unit micromanagement in JAX with its own, simplified
dynamics (no pathing, no unit abilities, its own unit stats and heuristic enemy AI); it is not
StarCraft II, and win rates on it are not comparable with SMAC's. It needs the optional extra
``smax`` (``pip install -e '.[smax]'``: jaxmarl with CPU jax); :func:`import_smax` says so
when it is missing.

Each map is SMAX's scenario of that name (``MAP_NAME_TO_SCENARIO``) played by the allies
against SMAX's heuristic enemy (``HeuristicEnemySMAX``, as JaxMARL's own baselines train on
it), with SMAX's defaults otherwise: unit-list observations, discrete actions, 8 world steps per
env step, walls kill, enemies' actions observed. The time limit is ``max_steps`` (SMAX's default,
and the configs', is 100 env steps on every map). SMAX compares its step count with its limit
before counting the step, so its own episodes last ``max_steps + 1`` steps; the adapter ends them
after ``max_steps`` steps (a truncation), as every env of this package.

All ``num_envs`` episodes are stepped at once: one jitted ``jax.vmap`` of SMAX's ``step_env``
over the batch, auto-reset inside it, and the results handed to torch through DLPack (no copy
on CPU). Each episode carries its own PRNG key, seeded by ``reset`` and split at every step, so
an episode depends only on its seed and its actions, never on the rest of the batch.

Observation of each ally (SMAX's ``unit_list`` layout, ``SMAX.unit_features`` and
``own_features``): for each other ally, then each enemy, ``health`` (fraction, [0, 1]),
``position_x``/``_y`` (relative, divided by the observer's sight range: [-1, 1]),
``last_movement_x``/``_y`` ([-1, 1]), ``last_targeted`` (the last attack action over the number
of actions, [0, 1]), ``weapon_cooldown`` ([0, 1]) and 6 one-hot unit-type bits; units out of
sight or dead are all zeros. Then the ally's own ``health``, ``position_x``/``_y`` (over the map
size, [0, 1]), ``weapon_cooldown`` and its unit-type bits. The unit-type bits say what kind of
unit fills a slot (fixed by the map, except in the SMACv2 scenarios, where they are drawn per
episode): an identity like the agent-ID one-hot, not a measurement, so they are not perturbable.
Every other dimension is, within the bounds above (tighter than SMAX's declared ``Box(-1, 1)``).
With ``see_enemy_actions: false`` the enemies' movement and target dims are always 0 and are
not perturbable either.

Rewards: SMAX gives every ally the same team reward (the normalised damage dealt plus 1 for a
won battle); the team reward here is their sum over the allies, as for every env of this
package (so n times SMAX's). An episode terminates when one side is wiped out and is truncated
at the time limit; ``win`` is True where every enemy and not every ally is dead (SMAX's
``won_battle_bonus`` condition; both sides dead at once is a draw). The action masks are SMAX's
``get_avail_actions`` (stop always; moves while alive; attacks on enemies in range).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from functools import cache

import numpy as np
import torch

from .base import BatchedEnv, EnvSpec, Step, check_discrete_actions

EXTRA = "smax"  # the pyproject extra that installs jaxmarl

# feature name -> (low, high, perturbable) of SMAX's unit_list observation
_UNIT_FEATURES = {
    "health": (0.0, 1.0, True),
    "position_x": (-1.0, 1.0, True),
    "position_y": (-1.0, 1.0, True),
    "last_movement_x": (-1.0, 1.0, True),
    "last_movement_y": (-1.0, 1.0, True),
    "last_targeted": (0.0, 1.0, True),
    "weapon_cooldown": (0.0, 1.0, True),
}
_OWN_FEATURES = {
    "health": (0.0, 1.0, True),
    "position_x": (0.0, 1.0, True),
    "position_y": (0.0, 1.0, True),
    "weapon_cooldown": (0.0, 1.0, True),
}
_TYPE_BIT = (0.0, 1.0, False)  # unit-type one-hot: an identity, not perturbed
_ENEMY_ACTION_FEATURES = ("last_movement_x", "last_movement_y", "last_targeted")
# SMAX options the adapter's bounds and actions assume
_FIXED = {"observation_type": "unit_list", "action_type": "discrete"}


def import_smax():
    """jax and jaxmarl's SMAX classes, or an ImportError naming the extra to install.

    jaxmarl prints while importing and, importing its MABrax module, resets ``sys.stdout`` and
    ``sys.stderr`` to the process's own; the import runs with fd 1 silenced and both restored."""
    try:
        import jax
    except ImportError as exc:
        raise ImportError(missing_extra_message("SMAX")) from exc
    out, err = sys.stdout, sys.stderr
    with contextlib.suppress(Exception):
        out.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        from jaxmarl.environments.smax import HeuristicEnemySMAX, map_name_to_scenario
    except ImportError as exc:
        raise ImportError(missing_extra_message("SMAX")) from exc
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
        sys.stdout, sys.stderr = out, err
    return jax, HeuristicEnemySMAX, map_name_to_scenario


def missing_extra_message(env: str) -> str:
    return (
        f"env '{env}' needs jaxmarl, which is not installed: install the optional extra "
        f"'{EXTRA}' (pip install -e '.[{EXTRA}]')"
    )


def observation_layout(env) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(low, high, perturbable)`` per observation dim of an ally of SMAX ``env``, from its
    feature lists (an unknown feature name fails: a new SMAX layout must be looked at)."""
    n_allies, n_enemies = env.num_allies, env.num_enemies

    def unit(name: str, enemy: bool):
        if name.startswith("unit_type_bit"):
            return _TYPE_BIT
        low, high, pert = _UNIT_FEATURES[name]
        if enemy and not env.see_enemy_actions and name in _ENEMY_ACTION_FEATURES:
            return low, high, False  # always 0: SMAX hides what enemies did
        return low, high, pert

    dims = [unit(f, False) for _ in range(n_allies - 1) for f in env.unit_features]
    dims += [unit(f, True) for _ in range(n_enemies) for f in env.unit_features]
    dims += [_TYPE_BIT if f.startswith("unit_type_bit") else _OWN_FEATURES[f] for f in env.own_features]
    if len(dims) != env.obs_size:
        raise RuntimeError(f"SMAX layout has {len(dims)} dims, SMAX says {env.obs_size}")
    low, high, pert = (np.array(c) for c in zip(*dims))
    return low.astype(np.float32), high.astype(np.float32), pert.astype(bool)


@cache
def _functions(map_name: str, max_steps: int, kwargs: tuple):
    """SMAX env of ``map_name`` and its jitted, batched ``reset`` and ``step`` (cached per map and
    settings: every adapter of one process shares them, and jax compiles once per batch size)."""
    jax, HeuristicEnemySMAX, map_name_to_scenario = import_smax()
    jnp = jax.numpy
    env = HeuristicEnemySMAX(scenario=map_name_to_scenario(map_name), max_steps=max_steps, **dict(kwargs))
    agents, n = env.agents, env.num_allies

    def strong(tree):  # one dtype for reset's and step's states: no recompilation between them
        return jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype), tree)

    def observe(obs):
        return jnp.stack([obs[a] for a in agents]).astype(jnp.float32)

    def avail(state):
        masks = env.get_avail_actions(state)
        return jnp.stack([masks[a] for a in agents]).astype(bool)

    def reset_one(key):
        key, k_reset = jax.random.split(key)
        obs, state = env.reset(k_reset)
        return key, strong(state), observe(obs), avail(state)

    def step_one(key, state, actions):
        key, k_step, k_reset = jax.random.split(key, 3)
        obs, after, rewards, _, _ = env.step_env(k_step, state, {a: actions[i] for i, a in enumerate(agents)})
        alive = after.state.unit_alive
        allies_out, enemies_out = ~alive[:n].any(), ~alive[n:].any()
        terminated = allies_out | enemies_out
        # SMAX tests its limit on the step count before the step, so its episodes last
        # max_steps + 1 steps; the adapter ends them at max_steps, as every env here
        truncated = (after.state.step >= max_steps) & ~terminated
        done = terminated | truncated
        final = observe(obs)
        obs_new, state_new = env.reset(k_reset)
        state = jax.tree.map(lambda x, y: jax.lax.select(done, x, y), strong(state_new), strong(after))
        team_reward = sum(rewards[a] for a in agents)
        return (
            key,
            state,
            jnp.where(done, observe(obs_new), final),
            final,
            jnp.asarray(team_reward, jnp.float32),
            terminated,
            truncated,
            enemies_out & ~allies_out,
            avail(state),
        )

    return env, jax.jit(jax.vmap(reset_one)), jax.jit(jax.vmap(step_one))


def _torch(x, device: torch.device) -> torch.Tensor:
    """A jax array as a torch tensor: DLPack, sharing the buffer on CPU."""
    return torch.from_dlpack(x).to(device)


class SmaxEnv(BatchedEnv):
    has_action_masks = True

    def __init__(
        self, map_name: str, num_envs: int, device: torch.device, *, max_steps: int = 100, seed: int = 0, **env_kwargs
    ):
        for key, value in _FIXED.items():
            if env_kwargs.get(key, value) != value:
                raise ValueError(f"smax-{map_name}: only {key}={value!r} is supported, got {env_kwargs[key]!r}")
        if "scenario" in env_kwargs or "max_steps" in env_kwargs:
            raise ValueError(f"smax-{map_name}: the map sets the scenario and max_steps the time limit")
        self.num_envs, self.device = num_envs, torch.device(device)
        self._env, self._reset, self._step = _functions(map_name, max_steps, tuple(sorted(env_kwargs.items())))
        self._jax = sys.modules["jax"]
        env = self._env
        low, high, pert = observation_layout(env)
        n = env.num_allies
        self.spec = EnvSpec(
            name=f"smax-{map_name}",
            n_agents=n,
            obs_dim=env.obs_size,
            obs_low=torch.as_tensor(np.tile(low, (n, 1))),
            obs_high=torch.as_tensor(np.tile(high, (n, 1))),
            perturbable=torch.as_tensor(np.tile(pert, (n, 1))),
            action_type="discrete",
            action_dim=int(env.action_space(env.agents[0]).n),
            max_steps=max_steps,
            has_win=True,
        )
        self._state = self._keys = self._avail = None

    def reset(self, seeds: Sequence[int]) -> torch.Tensor:
        if len(seeds) != self.num_envs:
            raise ValueError(f"{self.spec.name}: reset needs one seed per episode ({self.num_envs}), got {len(seeds)}")
        jax = self._jax
        seeds = jax.numpy.asarray(np.array([int(s) % 2**32 for s in seeds], np.uint32))
        self._keys, self._state, obs, self._avail = self._reset(jax.vmap(jax.random.PRNGKey)(seeds))
        return _torch(obs, self.device)

    def step(self, actions: torch.Tensor) -> Step:
        if self._state is None:
            raise RuntimeError(f"{self.spec.name}: reset before step")
        acts = check_discrete_actions(actions, self.num_envs, self.spec.n_agents, self.spec.action_dim, self.spec.name)
        out = self._step(self._keys, self._state, self._jax.numpy.asarray(acts, dtype=np.int32))
        self._keys, self._state, obs, final, reward, terminated, truncated, win, self._avail = out
        t = lambda x: _torch(x, self.device)
        return Step(
            obs=t(obs),
            reward=t(reward),
            terminated=t(terminated),
            truncated=t(truncated),
            final_obs=t(final),
            win=t(win),
        )

    def available_actions(self) -> torch.Tensor:
        return _torch(self._avail, self.device)
