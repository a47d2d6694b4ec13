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
(``[N, n, d]``, or the samples file of ``marl_attacks.collect``) to
``fit_alignment``, or a fitted model to ``set_align_model``. Example:
``examples/attack_pettingzoo.py``. On the command line:
``python -m marl_attacks attack --help``.

Choices: all agents must have observations of one size (as everywhere in
this package); a PettingZoo agent missing from an observation dict (dead) is
seen by the attack as zeros and dropped again from the output; targeted
attacks choose ``len(attacked)`` agents themselves.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from .alignment import AlignmentModel, FitConfig, fit
from .attacks import ATTACKS, AttackContext, make_attack
from .attacks import attack_kwargs as _check_params
from .envs import EnvSpec

try:  # PettingZoo is a dependency; keep the module importable for VMAS-only users regardless
    from pettingzoo.utils.wrappers import BaseParallelWrapper
except ImportError:  # pragma: no cover
    BaseParallelWrapper = object


def spec_from_spaces(
    name: str, obs_spaces: Sequence, action_space=None, perturbable: torch.Tensor | None = None
) -> EnvSpec:
    """An :class:`EnvSpec` from per-agent Box observation spaces (bounds taken from them)."""
    dims = {int(np.prod(s.shape)) for s in obs_spaces}
    if len(dims) != 1:
        raise ValueError(
            f"{name}: agents have different observation sizes {sorted(dims)}; "
            "only teams with one observation size are supported"
        )
    n, d = len(obs_spaces), dims.pop()
    low = torch.as_tensor(
        np.stack([np.broadcast_to(s.low, s.shape).reshape(-1) for s in obs_spaces]), dtype=torch.float32
    )
    high = torch.as_tensor(
        np.stack([np.broadcast_to(s.high, s.shape).reshape(-1) for s in obs_spaces]), dtype=torch.float32
    )
    perturbable = torch.ones(n, d, dtype=torch.bool) if perturbable is None else perturbable.bool()
    if action_space is not None and not hasattr(action_space, "n"):
        kind, adim = "continuous", int(np.prod(action_space.shape))
    else:
        kind, adim = "discrete", int(getattr(action_space, "n", 0))
    return EnvSpec(
        name=name,
        n_agents=n,
        obs_dim=d,
        obs_low=low,
        obs_high=high,
        perturbable=perturbable,
        action_type=kind,
        action_dim=adim,
    )


class TeamAttacker:
    """Applies one registered attack to joint observations ``[B, n, d]``; records and fits f_theta.

    ``attacked``: agent indices (``None``: every agent). ``victim``: a
    :class:`~marl_attacks.algos.VictimPolicy`, needed only by white-box attacks.
    """

    def __init__(
        self,
        spec: EnvSpec,
        attack: str = "benign",
        eps: float = 0.0,
        attacked: Sequence[int] | None = None,
        params: dict | None = None,
        victim=None,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ):
        self.spec, self.device, self.victim, self.seed = spec, torch.device(device), victim, seed
        self.generator = torch.Generator().manual_seed(seed)
        self.align_models: dict[str, AlignmentModel] = {}
        self.enabled, self._recording = True, False
        self._records: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._attack = None
        self._episode = self._step = None  # [B] episode id and step of each parallel episode
        self._next_episode = 0
        self._last = self.last_clean = None  # last perturbed and clean observations
        self.set_attack(attack, eps, attacked, params)

    # ---- configuration -------------------------------------------------------------------
    def set_attack(
        self,
        attack: str | None = None,
        eps: float | None = None,
        attacked: Sequence[int] | None = ...,
        params: dict | None = None,
    ) -> None:
        """Change the attack, its budget, the attacked agents or its hyperparameters."""
        if attack is not None:
            if attack not in ATTACKS:
                raise KeyError(f"unknown attack '{attack}'; known: {', '.join(ATTACKS)}")
            self.attack_name, self.params = attack, {}
        if params is not None:
            self.params = dict(params)
        _check_params(self.attack_name, self.params)
        if eps is not None:
            if eps < 0:
                raise ValueError(f"eps must be >= 0, got {eps}")
            self.eps = float(eps)
        if attacked is not ...:
            mask = torch.zeros(self.spec.n_agents, dtype=torch.bool)
            mask[list(range(self.spec.n_agents)) if attacked is None else list(attacked)] = True
            if not mask.any():
                raise ValueError("attacked: at least one agent")
            self.attacked = mask
        self._attack = None  # rebuilt on next use

    @property
    def align_arch(self) -> str | None:
        """The f_theta architecture the current attack needs (None if it needs none)."""
        return ATTACKS[self.attack_name].align_arch

    def set_align_model(self, model: AlignmentModel | str, arch: str | None = None) -> None:
        """Use a fitted f_theta (a model, or a file written by ``marl_attacks.fit``)."""
        if isinstance(model, str):
            from .alignment import load_align_model

            model, payload = load_align_model(model)
            arch = arch or payload["arch"]
        if (model.n_agents, model.obs_dim) != (self.spec.n_agents, self.spec.obs_dim):
            raise ValueError(
                f"f_theta is for {model.n_agents} agents x {model.obs_dim} dims; the env "
                f"has {self.spec.n_agents} x {self.spec.obs_dim}"
            )
        self.align_models[arch or self.align_arch or "mlp"] = model.to(self.device).eval()
        self._attack = None

    # ---- episodes and recording ----------------------------------------------------------
    def begin_episodes(self, num_envs: int, rows: torch.Tensor | None = None) -> None:
        """New episodes in every parallel env (``rows=None``) or in ``rows`` (``[B]`` bool)."""
        if rows is None or self._episode is None or len(self._episode) != num_envs:
            self._episode = torch.arange(num_envs) + self._next_episode
            self._step = torch.zeros(num_envs, dtype=torch.long)
            self._next_episode += num_envs
            if self._attack is not None:
                self._attack.reset(num_envs, self.device)
            return
        rows = rows.cpu()
        k = int(rows.sum())
        self._episode[rows] = torch.arange(k) + self._next_episode
        self._step[rows] = 0
        self._next_episode += k
        if self._attack is not None:
            self._attack.reset_envs(rows.to(self.device))

    @contextmanager
    def recording(self, attack: bool = False):
        """Record the clean joint observations agents act on; the attack is off unless ``attack``."""
        before = self._recording, self.enabled
        self._recording, self.enabled = True, attack
        try:
            yield self
        finally:
            self._recording, self.enabled = before

    def samples(self) -> dict:
        """Recorded samples, as ``marl_attacks.collect`` writes them (sorted by episode, step)."""
        if not self._records:
            raise RuntimeError("no samples recorded; use collect() or `with env.recording(): ...`")
        obs, episode, step = (torch.cat(x) for x in zip(*self._records))
        order = torch.argsort(episode * (int(step.max()) + 1) + step)
        return {"obs": obs[order], "episode": episode[order], "step": step[order]}

    def fit_alignment(
        self, arch: str | None = None, samples=None, seed: int | None = None, progress: bool = False, **fit_kwargs
    ) -> dict:
        """Fit f_theta (``arch``: the current attack's, else ``mlp``) and use it; returns fit stats.

        ``samples``: ``[N, n, d]`` joint observations or a dict with ``obs`` (and ``episode``,
        needed by the RNN); default: what was recorded. ``fit_kwargs``: fields of
        :class:`~marl_attacks.alignment.FitConfig` (defaults are the paper's sizes).
        """
        arch = arch or self.align_arch or "mlp"
        samples = self.samples() if samples is None else samples
        if not isinstance(samples, dict):
            samples = {"obs": torch.as_tensor(samples, dtype=torch.float32)}
        cfg = FitConfig(arch=arch, **fit_kwargs)
        model, stats = fit(
            samples["obs"].float(),
            cfg,
            self.seed if seed is None else seed,
            self.device,
            progress,
            episode=samples.get("episode"),
        )
        self.set_align_model(model, arch)
        return stats

    # ---- perturbing ----------------------------------------------------------------------
    @property
    def last_delta(self) -> torch.Tensor | None:
        """Perturbation of the last observations returned (``[B, n, d]``)."""
        return None if self._last is None else self._last - self.last_clean

    def _build(self):
        arch = self.align_arch
        if arch and arch not in self.align_models:
            raise RuntimeError(
                f"attack '{self.attack_name}' needs a fitted f_theta ({arch}): record "
                "benign samples (collect() or recording()) and call fit_alignment(), "
                "or set_align_model()"
            )
        if "victim" in ATTACKS[self.attack_name].cls.needs and self.victim is None:
            raise RuntimeError(f"attack '{self.attack_name}' is white-box: pass victim=<your policy>")
        ctx = AttackContext(
            spec=self.spec, generator=self.generator, align_model=self.align_models.get(arch), victim=self.victim
        )
        self._attack = make_attack(self.attack_name, ctx, self.params)
        self._attack.reset(len(self._episode), self.device)

    def __call__(
        self, obs: torch.Tensor, rows: torch.Tensor | None = None, record: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Perturbed ``obs`` ``[B, n, d]``: the next observation of every episode, or of ``rows``.

        Episodes outside ``rows`` keep their last perturbed observation and attack state.
        ``record`` (``[B]`` bool, default ``rows``) marks the observations agents will act on.
        """
        B = obs.shape[0]
        if self._episode is None or len(self._episode) != B:
            self.begin_episodes(B)
        rows_ = torch.ones(B, dtype=torch.bool) if rows is None else rows.cpu().bool()
        rec = rows_ if record is None else record.cpu().bool() & rows_
        if self._recording and rec.any():
            self._records.append((obs.detach().cpu()[rec].float(), self._episode[rec].clone(), self._step[rec].clone()))
        self._step[rows_] += 1
        if not self.enabled or self.attack_name == "benign" or self.eps == 0.0:
            out = obs
        else:
            if self._attack is None:
                self._build()
            x = obs.to(self.device, torch.float32)
            saved = self._attack.snapshot() if rows is not None else None
            attacked = self.attacked.to(self.device).expand(B, -1)
            delta = self._attack.perturb(x, torch.full((B,), self.eps, device=self.device), attacked)
            if rows is not None:
                self._attack.restore_rows(saved, ~rows_.to(self.device))
            out = (x + delta).to(obs.dtype)
        if rows is not None and self._last is not None and self._last.shape == out.shape:
            out = torch.where(rows_.to(out.device).view(-1, 1, 1), out, self._last.to(out.device))
        self._last = out
        self.last_clean = (
            obs
            if rows is None or self.last_clean is None
            else torch.where(rows_.to(obs.device).view(-1, 1, 1), obs, self.last_clean)
        )
        return out


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
        before = len(self.attacker._records)
        with self.recording():
            for e in range(episodes):
                obs, _ = self.reset(seed=seed + e)
                while self.env.agents:
                    random_ = {a: self.action_space(a).sample() for a in self.env.agents}
                    acts = policy(obs) if policy else random_
                    obs, *_ = self.step(acts)
        return sum(len(r[0]) for r in self.attacker._records[before:])

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
        before = len(self.attacker._records)
        with self.recording():
            obs = self.reset()
            for _ in range(steps):
                acts = policy(obs) if policy else self.env.get_random_actions()
                out = self.step(acts)
                obs, done = out[0], self._done(out)
                for i in done.nonzero().flatten().tolist():
                    obs = self.reset_at(i)
        return sum(len(r[0]) for r in self.attacker._records[before:])

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


# ---- command line -------------------------------------------------------------------------


def _make_env(name: str, kwargs: dict, seed: int):
    """``vmas:<scenario>`` or a module with ``parallel_env`` (e.g. ``mpe2.simple_spread_v3``)."""
    if name.startswith("vmas:"):
        import vmas

        kw = {"num_envs": 8, "max_steps": 100, "continuous_actions": False, **kwargs}
        return "vmas", vmas.make_env(name[5:], seed=seed, **kw)
    return "pettingzoo", importlib.import_module(name).parallel_env(**kwargs)


def _episodes(kind: str, env, act: Callable, episodes: int, seed: int) -> tuple[float, float]:
    """Mean team return over ``episodes`` episodes and the largest |delta| applied."""
    returns, biggest = [], 0.0
    if kind == "pettingzoo":
        agents = env.agent_order
        for e in range(episodes):
            obs, _ = env.reset(seed=seed + e)
            ret = 0.0
            while env.env.agents:
                biggest = max(biggest, float(env.attacker.last_delta.abs().max()))
                joint = torch.as_tensor(np.stack([obs[a] for a in agents]), dtype=torch.float32)
                actions = act(joint.unsqueeze(0))[0]
                to_env = (lambda x: int(x)) if env.attacker.spec.discrete else (lambda x: x.cpu().numpy())
                obs, r, *_ = env.step({a: to_env(actions[i]) for i, a in enumerate(agents) if a in env.env.agents})
                ret += sum(r.values())
            returns.append(ret)
        return float(np.mean(returns)), biggest
    for e in range(max(1, episodes // env.num_envs)):
        env.env.seed(seed + e)
        obs = env.reset()
        ret = torch.zeros(env.num_envs)
        alive = torch.ones(env.num_envs, dtype=torch.bool)
        while alive.any():
            biggest = max(biggest, float(env.attacker.last_delta.abs().max()))
            actions = act(env._stack(obs))
            out = env.step([actions[:, i] for i in range(actions.shape[1])])
            obs = out[0]
            rew = out[1].values() if isinstance(out[1], dict) else out[1]
            ret += torch.stack(list(rew), 1).sum(1).cpu() * alive
            alive &= ~env._done(out).cpu()
        returns.extend(ret.tolist())
    return float(np.mean(returns)), biggest


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m marl_attacks attack",
        description="Attack your own team: run a team on a PettingZoo or VMAS env, benign and "
        "under a registered attack, and print both mean returns. Attacks that need "
        "f_theta fit it first on benign samples (recorded here, or --samples/--align). "
        "For a policy of your own, use the Python API (marl_attacks.wrappers).",
    )
    p.add_argument(
        "--env", required=True, help="module with parallel_env() (e.g. mpe2.simple_spread_v3) or vmas:<scenario>"
    )
    p.add_argument("--env-kwargs", default="{}", type=json.loads, help="JSON keyword arguments of the env")
    p.add_argument(
        "--policy",
        default=None,
        help="victim trained by `python -m marl_attacks train` on this env; default: "
        "uniform-random agents (which ignore observations, so returns do not move)",
    )
    p.add_argument("--attack", default="align-mlp", choices=sorted(ATTACKS))
    p.add_argument("--eps", type=float, default=0.1, help="L-inf budget")
    p.add_argument(
        "--attacked", nargs="*", default=None, help="attacked agents (PettingZoo names or VMAS indices); default all"
    )
    p.add_argument("--params", default="{}", type=json.loads, help="JSON attack hyperparameters")
    p.add_argument(
        "--fit", default="{}", type=json.loads, help="JSON FitConfig fields for f_theta (default: the paper's sizes)"
    )
    p.add_argument("--samples", default=None, help="samples file (marl_attacks.collect) instead of collecting")
    p.add_argument("--align", default=None, help="fitted f_theta file (marl_attacks.fit) instead of fitting")
    p.add_argument("--collect-episodes", type=int, default=20, help="benign episodes recorded for f_theta")
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    kind, base = _make_env(a.env, a.env_kwargs, a.seed)
    victim = None
    if a.policy:
        from .victims import load_victim

        victim = load_victim(a.policy)[0]
    if kind == "pettingzoo":
        env = AttackedParallelEnv(base, a.attack, a.eps, a.attacked, params=a.params, victim=victim, seed=a.seed)
    else:
        attacked = None if a.attacked is None else [int(x) for x in a.attacked]
        env = AttackedVmasEnv(base, a.attack, a.eps, attacked, params=a.params, victim=victim, seed=a.seed)
    spec = env.attacker.spec
    if victim is not None:
        act = victim.act  # the wrappers carry no action masks (None: every action valid)
    elif spec.discrete:
        act = lambda obs: torch.randint(spec.action_dim, obs.shape[:2])
    else:
        act = lambda obs: torch.rand(*obs.shape[:2], spec.action_dim) * 2 - 1
    if env.attacker.align_arch:
        if a.align:
            env.set_align_model(a.align, env.attacker.align_arch)
        else:
            if a.samples:
                from .io import load_artifact

                samples = load_artifact(a.samples)
            else:
                with env.recording():
                    _episodes(kind, env, act, a.collect_episodes, a.seed + 10_000)
                samples = env.samples()
            stats = env.fit_alignment(samples=samples, **a.fit)
            print(
                f"f_theta ({env.attacker.align_arch}) fitted on {stats['n_train'] + stats['n_val']} "
                f"samples; validation MSE per agent: {', '.join(f'{v:.4g}' for v in stats['val_mse'])}"
            )
    env.attacker.enabled = False
    torch.manual_seed(a.seed)  # the same random actions in both runs, for random agents
    benign, _ = _episodes(kind, env, act, a.episodes, a.seed)
    env.attacker.enabled = True
    torch.manual_seed(a.seed)
    attacked_ret, biggest = _episodes(kind, env, act, a.episodes, a.seed)
    print(
        f"mean team return: benign {benign:.3f}, under {a.attack} (eps={a.eps}) {attacked_ret:.3f}; "
        f"largest |delta| applied {biggest:.4g}"
    )


if __name__ == "__main__":
    main()
