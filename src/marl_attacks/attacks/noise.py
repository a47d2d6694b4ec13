"""Random-noise baselines: no access to anything, fresh noise each step.

* ``noise-uniform``: U(-eps, eps).
* ``noise-gaussian``: eps * N(0, 1), clipped to [-eps, eps].
* ``noise-exponential``: magnitude ~ Exp(lambda), lambda = -ln(0.01)/eps (so
  only 1% of draws exceed eps before clipping), random sign, clipped.
* ``noise-ou``: an Ornstein-Uhlenbeck process per observation entry with mean
  eps, clipped; ``theta`` and ``sigma`` (relative to eps) are config values
  because the paper does not state them.

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


class ExponentialNoise(Attack):
    def perturb(self, obs, eps, attacked):
        g = self.ctx.generator
        u = torch.rand(obs.shape, generator=g).clamp_min(1e-12)
        sign = torch.randint(0, 2, obs.shape, generator=g) * 2 - 1
        # Exp(rate) with rate = ln(100)/eps, written so eps = 0 gives exactly 0
        mag = (-torch.log(u) / math.log(100.0)).to(obs.device) * _e(eps)
        return self._project(obs, sign.to(obs.device) * mag, eps, attacked)


@dataclass
class OUNoiseConfig:
    theta: float = 0.15  # mean reversion per step
    sigma: float = 0.2  # noise scale per step, as a fraction of eps


class OUNoise(Attack):
    def __init__(self, ctx, theta: float = 0.15, sigma: float = 0.2):
        super().__init__(ctx)
        self.theta, self.sigma = theta, sigma
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
        self.state = self.state + self.theta * (e - self.state) + self.sigma * e * z
        return self._project(obs, self.state, eps, attacked)


NOISES = ("noise-uniform", "noise-gaussian", "noise-exponential", "noise-ou")
