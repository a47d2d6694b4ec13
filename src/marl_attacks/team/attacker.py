"""The attack behind the wrappers: :class:`TeamAttacker` perturbs joint observations ``[B, n, d]``
with a registered attack, records benign ones and fits f_theta on them; :func:`spec_from_spaces`
describes a team from its observation spaces."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch

from ..alignment import AlignmentModel, FitConfig, fit, load_align_model
from ..attacks import ATTACKS, AttackContext, make_attack, runnable_names
from ..attacks import attack_kwargs as _check_params
from ..envs import EnvSpec


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
    :class:`~marl_attacks.algos.VictimPolicy`, needed only by white-box attacks. A recurrent
    victim (``agent: gru``) is attacked at its current memory, which the attack leaves as it is:
    your loop advances it by acting on the perturbed observation and resets it where episodes
    start (``victim.reset_memory(rows)``), as :func:`marl_attacks.rollout.run_episodes` does.
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
            if attack not in ATTACKS or not ATTACKS[attack].runnable:
                raise KeyError(f"unknown attack '{attack}'; known: {', '.join(runnable_names())}")
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
        """Use a fitted f_theta (a model, or a file written by ``python -m marl_attacks fit``)."""
        if isinstance(model, str):
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

    @property
    def n_recorded(self) -> int:
        """How many joint observations have been recorded so far."""
        return sum(len(r[0]) for r in self._records)

    def samples(self) -> dict:
        """Recorded samples, as ``python -m marl_attacks collect`` writes them (sorted by episode, step)."""
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
