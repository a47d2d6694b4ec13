"""Align (MLP) with its step size alpha and steps K tuned on the victim's return.

The authors tune Align's PGD per env and eps by the victim's IQM return
(``src/grid_search.py``: alpha in {0, 0.003, ..., 0.25}, 0 meaning eps/K, and
K in {10, 15, 20}, 10 episodes per point, the point of lowest IQM kept;
``src/adv_optuna.py`` searches the same alphas with Optuna). Tuning queries the
victim: every point of the grid is a batch of attacked episodes whose returns
the adversary reads, so this attack's threat model is Align's *plus* query
access to episode returns (its row of the access table says so).

``align-mlp-tuned`` is that attack: the grid (``alphas``, absolute step sizes,
0 = eps/K; ``ks``) and the episodes per point (``tune_episodes``) are its
hyperparameters. The evaluation (:func:`marl_attacks.stages.evaluate.tune`) runs
the search per eps and number of attacked agents, on episodes of their own
seeds (never the evaluation's), then evaluates with the chosen point
(:meth:`TunedAlignAttack.use`); ties go to the first point in grid order
(alphas outer, K inner). Otherwise it is Align with an absolute step size: K
sign-gradient steps of ``alpha``, projected, the best iterate kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .align import AlignAttack


@dataclass
class TunedAlignConfig:
    alphas: list[float] = field(default_factory=lambda: [0.0, 0.01, 0.05, 0.25])  # 0 = eps/K
    ks: list[int] = field(default_factory=lambda: [10, 20])  # the authors': 10, 15, 20
    tune_episodes: int = 4  # per grid point (the authors': 10)

    def __post_init__(self):
        if not self.alphas or not self.ks or min(self.alphas) < 0 or min(self.ks) < 1 or self.tune_episodes < 1:
            raise ValueError(
                f"alphas {self.alphas} must be >= 0, ks {self.ks} >= 1 (neither empty) and tune_episodes "
                f"{self.tune_episodes} >= 1"
            )


class TunedAlignAttack(AlignAttack):
    #: returns: the evaluation tunes (alpha, K) on the victim's returns first (stages.evaluate.tune)
    needs = ("align_model", "returns")

    def __init__(self, ctx, **grid):
        super().__init__(ctx)
        cfg = TunedAlignConfig(**grid)  # alphas, ks, tune_episodes (checked there)
        self.alphas, self.ks = [float(a) for a in cfg.alphas], [int(k) for k in cfg.ks]
        self.tune_episodes = int(cfg.tune_episodes)
        self.use(*self.grid()[0])  # until the evaluation tunes it: the grid's first point

    def grid(self) -> list[tuple[float, int]]:
        """Every (alpha, K), alphas outer."""
        return [(a, k) for a in self.alphas for k in self.ks]

    def use(self, alpha: float, k: int) -> TunedAlignAttack:
        """Attack with step size ``alpha`` (0: eps/K) and ``k`` steps from now on."""
        self.alpha, self.steps = float(alpha), int(k)
        return self

    def perturb(self, obs, eps, attacked):
        # Align steps step_frac x eps: an absolute alpha is alpha / eps of each sample's budget
        self.step_frac = 1.0 / self.steps if self.alpha == 0 else self.alpha / eps.clamp_min(1e-12)
        return super().perturb(obs, eps, attacked)


def lowest_return_point(scores: dict) -> tuple[float, int]:
    """The (alpha, K) of lowest score (the victim's IQM return); the first in grid order on ties."""
    return min(scores, key=scores.get)
