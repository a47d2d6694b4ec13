"""Attack registry: every name the config may list, and how to build it.

``ATTACKS[name]`` gives the class, its hyperparameter dataclass (values come
from the config's ``attacks:`` block under the same name) and fixed keyword
arguments that define the variant; ``align_arch`` names the fitted f_theta
(a key of the config's ``fit:`` block) the attack is given, which is how the
workflow knows which f_theta to fit. ``max-noise`` is derived in the
evaluation from the four noises (the most damaging one per env and eps).

Paper method of each name: ``align-mlp`` / ``align-rnn`` /
``align-transformer`` = Align with each f_theta variant; ``robust-align`` =
RobustAlign (Align on an adversarially trained f_theta); ``targeted-align``
/ ``targeted-hadamard`` = Targeted Align / Targeted Hadamard (f_theta's
validation MSE picks the m agents); ``hadamard``; the four noises and
``max-noise``; ``white-box-fgsm`` / ``white-box-pgd`` = the white-box baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from .align import AlignAttack, AlignConfig
from .base import Attack, AttackContext, Benign, lowest_mse_targets, project_delta, sign_pgd
from .hadamard import HadamardAttack, hadamard_directions, sylvester_hadamard
from .noise import NOISES, ExponentialNoise, GaussianNoise, OUNoise, OUNoiseConfig, UniformNoise
from .targeted import TargetedAlignAttack, TargetedHadamardAttack
from .whitebox import WhiteBoxAttack, WhiteBoxConfig


@dataclass(frozen=True)
class AttackEntry:
    cls: type[Attack]
    config: type | None = None  # dataclass of tunable hyperparameters
    fixed: dict = field(default_factory=dict)  # arguments that define this variant
    align_arch: str | None = None  # f_theta architecture the attack needs, if any


ATTACKS: dict[str, AttackEntry] = {
    "benign": AttackEntry(Benign),
    "align-mlp": AttackEntry(AlignAttack, AlignConfig, align_arch="mlp"),
    "align-rnn": AttackEntry(AlignAttack, AlignConfig, align_arch="rnn"),
    "align-transformer": AttackEntry(AlignAttack, AlignConfig, align_arch="transformer"),
    "robust-align": AttackEntry(AlignAttack, AlignConfig, align_arch="mlp-robust"),
    "targeted-align": AttackEntry(TargetedAlignAttack, AlignConfig, align_arch="mlp"),
    "hadamard": AttackEntry(HadamardAttack),
    "targeted-hadamard": AttackEntry(TargetedHadamardAttack, align_arch="mlp"),
    "noise-uniform": AttackEntry(UniformNoise),
    "noise-gaussian": AttackEntry(GaussianNoise),
    "noise-exponential": AttackEntry(ExponentialNoise),
    "noise-ou": AttackEntry(OUNoise, OUNoiseConfig),
    "white-box-fgsm": AttackEntry(WhiteBoxAttack, None, fixed={"pgd_steps": 1}),
    "white-box-pgd": AttackEntry(WhiteBoxAttack, WhiteBoxConfig),
}

#: names computed from other attacks' results rather than run
DERIVED: dict[str, tuple[str, ...]] = {"max-noise": NOISES}

ALL_NAMES = tuple(ATTACKS) + tuple(DERIVED)


def takes_pgd_steps(name: str) -> bool:
    """Whether the config sets attack ``name``'s number of gradient steps K (``attacks.<name>.
    pgd_steps``): K-step attacks whose K is not fixed by the variant (white-box-fgsm is K = 1)."""
    entry = ATTACKS.get(name)
    return (
        entry is not None
        and entry.config is not None
        and "pgd_steps" not in entry.fixed
        and "pgd_steps" in {f.name for f in fields(entry.config)}
    )


def attack_kwargs(name: str, params: dict | None) -> dict:
    """Validated keyword arguments for attack ``name`` from its config block."""
    entry = ATTACKS[name]
    params = dict(params or {})
    allowed = {f.name for f in fields(entry.config)} if entry.config else set()
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise KeyError(f"attacks.{name}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return {**params, **entry.fixed}


def make_attack(name: str, ctx: AttackContext, params: dict | None = None) -> Attack:
    if name not in ATTACKS:
        raise KeyError(f"unknown attack '{name}'; known: {', '.join(ALL_NAMES)}")
    return ATTACKS[name].cls(ctx, **attack_kwargs(name, params))


__all__ = [
    "ATTACKS",
    "ALL_NAMES",
    "DERIVED",
    "NOISES",
    "Attack",
    "AttackContext",
    "AttackEntry",
    "make_attack",
    "project_delta",
    "sign_pgd",
    "lowest_mse_targets",
    "hadamard_directions",
    "sylvester_hadamard",
    "takes_pgd_steps",
]
