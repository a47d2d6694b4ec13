"""Attack your own team: any registered attack on the observations your agents receive.

Wrap the env your team already runs in, pick an attack by name (the keys of
``marl_attacks.attacks.ATTACKS``), a budget eps and the attacked agents, and
every observation that ``reset``/``step`` return is perturbed, under the same
constraints as in the evaluation (``|delta|_inf <= eps``, observation-space
bounds, non-perturbable dimensions untouched). Rewards, actions and the env
itself are left alone.

* :class:`AttackedParallelEnv`: a PettingZoo ``ParallelEnv`` wrapper.
* :class:`AttackedVmasEnv`: a VMAS ``Environment`` wrapper (batched; follows
  ``reset_at`` so each sub-env's episode restarts the attack's state).

Attacks that use f_theta (Align and its variants, targeted attacks) need it
fitted on benign joint observations of your team first, as in the paper's
threat model: ``collect(policy, episodes)`` runs benign episodes (attack off)
and records every joint observation the agents act on; or record your own
loop with ``with env.recording(): ...``; or pass samples you already have
(``[N, n, d]``, or the samples file of ``python -m marl_attacks collect``) to
``fit_alignment``, or a fitted model to ``set_align_model``. Example:
``examples/attack_pettingzoo.py``. On the command line:
``python -m marl_attacks attack --help``.

Choices: all agents must have observations of one size (as everywhere in
this package); a PettingZoo agent missing from an observation dict (dead) is
seen by the attack as zeros and dropped again from the output; targeted
attacks choose ``len(attacked)`` agents themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .attacker import TeamAttacker, spec_from_spaces

try:  # PettingZoo is a dependency; keep the module importable for VMAS-only users regardless
    from pettingzoo.utils.wrappers import BaseParallelWrapper
except ImportError:  # pragma: no cover
    BaseParallelWrapper = object

__all__ = ["AttackedParallelEnv", "AttackedVmasEnv", "TeamAttacker", "spec_from_spaces"]


class _AttackerMethods:
    """What both wrappers forward to their :class:`TeamAttacker` unchanged."""

    attacker: TeamAttacker

    def recording(self, attack: bool = False):
        return self.attacker.recording(attack)

    def samples(self) -> dict:
        return self.attacker.samples()

    def fit_alignment(self, arch=None, samples=None, **kwargs) -> dict:
        return self.attacker.fit_alignment(arch, samples, **kwargs)

    def set_align_model(self, model, arch=None) -> None:
        self.attacker.set_align_model(model, arch)


class AttackedParallelEnv(_AttackerMethods, BaseParallelWrapper):
    """PettingZoo ``ParallelEnv`` whose observations are perturbed by a registered attack.

    ``attacked``: agent names (``None``: all agents). ``perturbable``: optional ``[n, d]``
    bool mask of dimensions the attack may touch (e.g. ``False`` on ID one-hots).
    """

    def __init__(
        self,
        env,
        attack: str = "benign",
        eps: float = 0.0,
        attacked: Sequence[str] | None = None,
        *,
        params: dict | None = None,
        victim=None,
        perturbable: torch.Tensor | None = None,
        seed: int = 0,
    ):
        super().__init__(env)
        self.agent_order = list(env.possible_agents)
        spec = spec_from_spaces(
            f"pettingzoo-{getattr(env, 'metadata', {}).get('name', 'env')}",
            [env.observation_space(a) for a in self.agent_order],
            env.action_space(self.agent_order[0]),
            perturbable,
        )
        self.attacker = TeamAttacker(spec, attack, eps, self._indices(attacked), params, victim, seed)

    def _indices(self, names):
        return None if names is None else [self.agent_order.index(a) for a in names]

    def set_attack(self, attack=None, eps=None, attacked=..., params=None):
        self.attacker.set_attack(attack, eps, attacked if attacked is ... else self._indices(attacked), params)

    def collect(self, policy: Callable[[dict], dict] | None = None, episodes: int = 10, seed: int = 0) -> int:
        """Run benign episodes (attack off), recording joint observations; returns the count.

        ``policy`` maps an observation dict to an action dict (default: uniform random).
        """
        before = self.attacker.n_recorded
        with self.recording():
            for e in range(episodes):
                obs, _ = self.reset(seed=seed + e)
                while self.env.agents:
                    random_ = {a: self.action_space(a).sample() for a in self.env.agents}
                    acts = policy(obs) if policy else random_
                    obs, *_ = self.step(acts)
        return self.attacker.n_recorded - before

    def _perturb(self, obs: dict, act_on: bool) -> dict:
        first = next(iter(obs.values()), None)
        if first is None:
            return obs
        d = self.attacker.spec.obs_dim
        joint = np.zeros((1, len(self.agent_order), d), dtype=np.float32)
        for i, a in enumerate(self.agent_order):
            if a in obs:
                joint[0, i] = np.asarray(obs[a], dtype=np.float32).reshape(-1)
        complete = act_on and all(a in obs for a in self.agent_order)
        out = self.attacker(torch.from_numpy(joint), record=torch.tensor([complete]))[0].cpu().numpy()
        return {
            a: out[i].reshape(np.shape(obs[a])).astype(np.asarray(obs[a]).dtype)
            for i, a in enumerate(self.agent_order)
            if a in obs
        }

    def reset(self, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.attacker.begin_episodes(1)
        return self._perturb(obs, act_on=True), infos

    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        # after the last step nobody acts on the returned observation: do not record it
        return self._perturb(obs, act_on=bool(self.env.agents)), rewards, terminations, truncations, infos


class AttackedVmasEnv(_AttackerMethods):
    """A VMAS ``Environment`` whose observations are perturbed by a registered attack.

    Forwards everything else to the wrapped env. ``reset`` starts new episodes everywhere,
    ``reset_at(i)`` only in sub-env ``i`` (its attack state restarts; the others keep theirs).
    ``attacked``: agent indices (``None``: all agents).
    """

    def __init__(
        self,
        env,
        attack: str = "benign",
        eps: float = 0.0,
        attacked: Sequence[int] | None = None,
        *,
        params: dict | None = None,
        victim=None,
        perturbable: torch.Tensor | None = None,
        seed: int = 0,
    ):
        self.env = env
        self.dict_spaces = bool(getattr(env, "dict_spaces", False))
        self.agent_names = [a.name for a in env.agents]
        space = env.observation_space
        spaces = [space[a] for a in self.agent_names] if self.dict_spaces else list(space)
        aspace = env.action_space
        first_action = aspace[self.agent_names[0]] if self.dict_spaces else aspace[0]
        spec = spec_from_spaces(
            f"vmas-{type(env.scenario).__module__.rsplit('.', 1)[-1]}", spaces, first_action, perturbable
        )
        self.attacker = TeamAttacker(spec, attack, eps, attacked, params, victim, seed, env.device)

    def __getattr__(self, name):
        if name == "env":  # not set yet (during unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.env, name)

    def set_attack(self, *args, **kwargs):
        self.attacker.set_attack(*args, **kwargs)

    def collect(self, policy: Callable | None = None, steps: int = 100) -> int:
        """``steps`` benign steps of every sub-env (attack off, done sub-envs reset), recorded.

        ``policy`` maps the observation list/dict to actions (default: random actions).
        """
        before = self.attacker.n_recorded
        with self.recording():
            obs = self.reset()
            for _ in range(steps):
                acts = policy(obs) if policy else self.env.get_random_actions()
                out = self.step(acts)
                obs, done = out[0], self._done(out)
                for i in done.nonzero().flatten().tolist():
                    obs = self.reset_at(i)
        return self.attacker.n_recorded - before

    # ---- observation plumbing ------------------------------------------------------------
    def _stack(self, obs) -> torch.Tensor:
        per_agent = [obs[a] for a in self.agent_names] if self.dict_spaces else list(obs)
        return torch.stack(per_agent, dim=1)

    def _unstack(self, joint: torch.Tensor, like):
        if self.dict_spaces:
            return {a: joint[:, i] for i, a in enumerate(self.agent_names)}
        return [joint[:, i] for i in range(len(self.agent_names))]

    def _done(self, out) -> torch.Tensor:
        if getattr(self.env, "terminated_truncated", False):
            return (out[2] | out[3]).bool()
        return out[2].bool()

    def _replace_obs(self, result, only_obs: bool, rows=None, record=None):
        obs = result if only_obs else result[0]
        new = self._unstack(self.attacker(self._stack(obs), rows=rows, record=record), obs)
        return new if only_obs else [new, *result[1:]]

    def reset(self, *args, **kwargs):
        result = self.env.reset(*args, **kwargs)
        if not kwargs.get("return_observations", True):
            return result
        self.attacker.begin_episodes(self.env.num_envs)
        return self._replace_obs(result, not (kwargs.get("return_info") or kwargs.get("return_dones")))

    def reset_at(self, index: int, *args, **kwargs):
        result = self.env.reset_at(index, *args, **kwargs)
        rows = torch.zeros(self.env.num_envs, dtype=torch.bool)
        rows[index] = True
        self.attacker.begin_episodes(self.env.num_envs, rows)
        if not kwargs.get("return_observations", True):
            return result
        return self._replace_obs(result, not (kwargs.get("return_info") or kwargs.get("return_dones")), rows=rows)

    def step(self, actions):
        out = self.env.step(actions)
        # observations of sub-envs that just ended are terminal: nobody acts on them
        return tuple(self._replace_obs(list(out), False, record=~self._done(out).cpu()))
