"""Random-noise baselines: no access to anything, fresh noise each step.

* ``noise-uniform``: U(-eps, eps).
* ``noise-gaussian``: eps * N(0, 1), clipped to [-eps, eps].
* ``noise-exponential``: magnitude ~ Exp(lambda), lambda = -ln(0.01)/eps (so
  only 1% of draws exceed eps before clipping), clipped; with a random sign
  (``sides: both``, ours) or positive only (``sides: positive``, the authors'
  ``src/attack/noise.py``: ``torch.distributions.Exponential(lambda).sample``).
* ``noise-ou``: an Ornstein-Uhlenbeck process per observation entry from 0 with
  mean eps, dt = 1, clipped. ``table: relative`` (ours): ``theta`` and ``sigma``
  (a fraction of eps) are config values because the paper does not state them.
  ``table: authors``: the per-eps table of the authors' ``noise.py``, applied as
  their code applies it: its ``theta`` column is used as sigma and its ``sigma``
  column as theta, in raw observation units (an eps outside the table is refused).

Which variant runs is the config's ``protocol.noise`` (:mod:`marl_attacks.protocol`).

``max-noise`` is not an attack of its own: the evaluation picks, per env and
eps, the most damaging of these four on the evaluation episodes themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import Attack


def _e(eps: torch.Tensor) -> torch.Tensor:
    return eps.view(-1, 1, 1)


class UniformNoise(Attack):
    def perturb(self, obs, eps, attacked):
        u = torch.rand(obs.shape, generator=self.ctx.generator).to(obs.device)
        return self._project(obs, (2 * u - 1) * _e(eps), eps, attacked)


class GaussianNoise(Attack):
    def perturb(self, obs, eps, attacked):
        z = torch.randn(obs.shape, generator=self.ctx.generator).to(obs.device)
        return self._project(obs, z * _e(eps), eps, attacked)


EXPONENTIAL_SIDES = ("both", "positive")


@dataclass
class ExponentialNoiseConfig:
    sides: str = "both"  # both: random sign (ours); positive: one-sided, as the authors' noise.py


class ExponentialNoise(Attack):
    def __init__(self, ctx, sides: str = "both"):
        super().__init__(ctx)
        if sides not in EXPONENTIAL_SIDES:
            raise ValueError(f"noise-exponential: sides {sides!r}; allowed: {list(EXPONENTIAL_SIDES)}")
        self.sides = sides

    def perturb(self, obs, eps, attacked):
        g = self.ctx.generator
        u = torch.rand(obs.shape, generator=g).clamp_min(1e-12)
        # Exp(rate) with rate = ln(100)/eps, written so eps = 0 gives exactly 0
        mag = (-torch.log(u) / math.log(100.0)).to(obs.device) * _e(eps)
        if self.sides == "positive":
            return self._project(obs, mag, eps, attacked)
        sign = torch.randint(0, 2, obs.shape, generator=g) * 2 - 1
        return self._project(obs, sign.to(obs.device) * mag, eps, attacked)


#: the authors' OU parameters per eps (``ou_params`` in their ``src/attack/noise.py``), as written;
#: their code takes ``theta`` from the ``sigma`` column and ``sigma`` from the ``theta`` column
AUTHORS_OU_TABLE = {
    0.02: {"theta": 0.05, "sigma": 0.005},
    0.03: {"theta": 0.05, "sigma": 0.005},
    0.04: {"theta": 0.05, "sigma": 0.005},
    0.05: {"theta": 0.05, "sigma": 0.007},
    0.06: {"theta": 0.06, "sigma": 0.007},
    0.07: {"theta": 0.07, "sigma": 0.009},
    0.08: {"theta": 0.08, "sigma": 0.010},
    0.09: {"theta": 0.09, "sigma": 0.011},
    0.1: {"theta": 0.1, "sigma": 0.012},
    0.15: {"theta": 0.15, "sigma": 0.015},
    0.2: {"theta": 0.2, "sigma": 0.02},
    0.25: {"theta": 0.25, "sigma": 0.025},
    0.5: {"theta": 0.5, "sigma": 0.05},
    0.75: {"theta": 0.75, "sigma": 0.08},
    1: {"theta": 5, "sigma": 0.1},
}
OU_TABLES = ("relative", "authors")


def authors_ou_parameters(eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-episode (theta, sigma) of the authors' OU noise, as their code applies its table (the
    columns swapped); eps = 0 (no attack) gets zeros. Refuses an eps that is not in the table."""
    keys = torch.tensor(sorted(AUTHORS_OU_TABLE), dtype=torch.float64)
    e = eps.detach().cpu().double()
    idx = (e.view(-1, 1) - keys.view(1, -1)).abs().argmin(1)
    found = (e - keys[idx]).abs() < 1e-6  # eps arrives as float32
    if not bool((found | (e == 0)).all()):
        bad = sorted({round(float(x), 6) for x in e[~found & (e != 0)]})
        raise ValueError(f"noise-ou (table: authors): eps {bad} not in the authors' table {sorted(AUTHORS_OU_TABLE)}")
    rows = [AUTHORS_OU_TABLE[k] for k in sorted(AUTHORS_OU_TABLE)]
    theta = torch.tensor([r["sigma"] for r in rows], dtype=torch.float32)[idx] * found
    sigma = torch.tensor([r["theta"] for r in rows], dtype=torch.float32)[idx] * found
    return theta.to(eps.device), sigma.to(eps.device)


@dataclass
class OUNoiseConfig:
    theta: float = 0.15  # mean reversion per step (table: relative)
    sigma: float = 0.2  # noise scale per step, as a fraction of eps (table: relative)
    table: str = "relative"  # relative: theta, sigma above (ours); authors: their per-eps table


class OUNoise(Attack):
    def __init__(self, ctx, theta: float = 0.15, sigma: float = 0.2, table: str = "relative"):
        super().__init__(ctx)
        if table not in OU_TABLES:
            raise ValueError(f"noise-ou: table {table!r}; allowed: {list(OU_TABLES)}")
        self.theta, self.sigma, self.table = theta, sigma, table
        self.state: torch.Tensor | None = None

    def reset(self, num_envs, device):
        self.state = None  # starts at 0 for every entry

    def reset_envs(self, done):
        if self.state is not None:
            self.state = self.state * (~done).to(self.state.dtype).view(-1, 1, 1)

    def snapshot(self):
        return self.state

    def restore_rows(self, saved, rows):
        if saved is not None and self.state is not None:
            self.state = torch.where(rows.view(-1, 1, 1), saved, self.state)

    def perturb(self, obs, eps, attacked):
        e = _e(eps)
        if self.state is None or self.state.shape != obs.shape:
            self.state = torch.zeros_like(obs)
        z = torch.randn(obs.shape, generator=self.ctx.generator).to(obs.device)
        if self.table == "authors":
            theta, sigma = (_e(x) for x in authors_ou_parameters(eps))
            self.state = self.state + theta * (e - self.state) + sigma * z  # raw units, dt = 1
        else:
            self.state = self.state + self.theta * (e - self.state) + self.sigma * e * z
        return self._project(obs, self.state, eps, attacked)


NOISES = ("noise-uniform", "noise-gaussian", "noise-exponential", "noise-ou")
