"""Attack registry: every attack name the config may list, and everything known about it.

``ATTACKS[name]`` is one :class:`AttackEntry`: how to build the attack (its
class, the hyperparameter dataclass whose values come from the config's
``attacks:`` block under the same name, and fixed arguments that define the
variant), the f_theta architecture it is given (``align_arch``, a key of the
config's ``fit:`` block: how the workflow knows which f_theta to fit), and how
the report shows it (label, figures, colour and marker, the row of the access
table, the attack a targeted one is compared with). Reporting, figures and config
checks read these entries only, so adding an attack is one module plus one entry
here. The dict's order is the order of the tables' columns.

Derived attacks have no class: ``max-noise`` is computed in the evaluation from
the rows of the four noises (``derived_from``: the most damaging one per env and eps).

Paper method of each name: ``align-mlp`` / ``align-rnn`` / ``align-transformer`` =
Align with each f_theta variant; ``robust-align`` = RobustAlign (Align on an
adversarially trained f_theta); ``targeted-align`` / ``targeted-hadamard`` =
Targeted Align / Targeted Hadamard (f_theta's validation MSE picks the m agents);
``hadamard``; the four noises and ``max-noise``; ``white-box-fgsm`` /
``white-box-pgd`` = the white-box baseline; ``align-mlp-tuned`` = Align (MLP) with alpha and K
tuned on the victim's return, as the authors' code does (query access, see its access row).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from .align import AlignAttack, AlignConfig
from .base import Attack, AttackContext, Benign, lowest_error_targets, lowest_mse_targets, project_delta, sign_pgd
from .hadamard import HadamardAttack, HadamardConfig, hadamard_directions, sylvester_hadamard
from .noise import (
    NOISES,
    ExponentialNoise,
    ExponentialNoiseConfig,
    GaussianNoise,
    OUNoise,
    OUNoiseConfig,
    UniformNoise,
)
from .targeted import TargetedAlignAttack, TargetedAlignConfig, TargetedHadamardAttack, TargetedHadamardConfig
from .tuned import TunedAlignAttack, TunedAlignConfig
from .whitebox import WhiteBoxAttack, WhiteBoxConfig, WhiteBoxFgsmConfig


@dataclass(frozen=True)
class Access:
    """One row of the access-assumptions table (``tables/{run}/access_assumptions.*``): what an
    attack needs beyond the live observations it perturbs. Attacks sharing a row share the object."""

    attack: str  # how the table names the attack (family)
    reference: str
    setting: str  # c-MARL, single agent, any
    observations: str  # observations recorded before the attack
    actions: str
    rewards: str
    victim_model: str  # weights or gradients of the victims
    queries: str  # interaction with the victim or env to build the attack
    samples: str  # samples needed
    perturbation: str  # how the perturbation is made
    source: str = ""  # where in the cited paper each cell was checked (prior attacks)


@dataclass(frozen=True)
class Style:
    """How figures draw an attack, the same in every figure."""

    palette: int | None  # index into seaborn's colour-blind palette; None = black
    marker: str
    line: str  # matplotlib line style


@dataclass(frozen=True)
class AttackEntry:
    label: str  # how the paper names the attack
    cls: type[Attack] | None = None  # None: derived from other attacks' rows
    config: type | None = None  # dataclass of tunable hyperparameters
    fixed: dict = field(default_factory=dict)  # arguments that define this variant
    align_arch: str | None = None  # f_theta architecture the attack needs, if any
    derived_from: tuple[str, ...] = ()  # derived attacks: the attacks whose rows they are picked from
    access: Access | None = None  # its row of the access table (None: benign)
    style: Style = Style(7, "o", "-")
    figures: frozenset[str] = frozenset()  # figures that draw it beside the others (see FIGURE_GROUPS)
    random_choice_of: str | None = None  # targeted attacks: the same attack on randomly chosen agents

    @property
    def runnable(self) -> bool:
        """Whether the evaluation runs it (derived attacks are computed from other rows)."""
        return self.cls is not None


#: figure groups an attack can belong to (``AttackEntry.figures``)
FIGURE_GROUPS = {
    "eps_curves": "return_vs_eps and episode_length: the attacks of the paper's Figure 1",
    "architecture": "ablation_architecture: Align with each f_theta",
}

PAPER = "Andam et al. (this paper)"
ALIGN = Access(
    "Align",
    PAPER,
    "c-MARL",
    "yes: recorded benign joint observations",
    "no",
    "no",
    "no",
    "no",
    "~1,000 joint observations (pool 5,000)",
    "online: PGD on the alignment loss of f_theta",
)
TARGETED_ALIGN = Access(
    "Targeted Align",
    PAPER,
    "c-MARL",
    "yes: as Align",
    "no",
    "no",
    "no",
    "no",
    "~1,000 joint observations",
    "online, on the m agents f_theta finds most aligned",
)
ALIGN_TUNED = Access(
    "Align, tuned step",
    "Andam et al. (their code: grid_search.py)",
    "c-MARL",
    "yes: recorded benign joint observations",
    "no",
    "yes: episode returns of the attacked team",
    "no",
    "yes: |alphas| x |K| x episodes attacked episodes per eps",
    "~1,000 joint observations + the tuning episodes",
    "online: PGD on the alignment loss; alpha, K of lowest victim return",
)
HADAMARD = Access(
    "Hadamard", PAPER, "c-MARL", "no", "no", "no", "no", "no", "0", "fixed: eps x a Hadamard row per agent"
)
TARGETED_HADAMARD = Access(
    "Targeted Hadamard",
    PAPER,
    "c-MARL",
    "yes: to fit f_theta, which picks the agents",
    "no",
    "no",
    "no",
    "no",
    "~1,000 joint observations",
    "fixed, on the m agents f_theta picks",
)
NOISE = Access(
    "Random noise (Max-Noise)",
    "baseline",
    "any",
    "no",
    "no",
    "no",
    "no",
    "no",
    "0",
    "online: uniform, Gaussian, exponential or OU noise",
)
WHITE_BOX = Access(
    "White-box FGSM / PGD",
    "baseline (upper bound)",
    "any",
    "no",
    "no",
    "no",
    "yes: gradients of the policy / Q-network",
    "no",
    "0",
    "online: sign-gradient steps",
)

CURVES, ARCH = frozenset({"eps_curves"}), frozenset({"eps_curves", "architecture"})

ATTACKS: dict[str, AttackEntry] = {
    "benign": AttackEntry("Benign", Benign, style=Style(None, "", "--"), figures=CURVES),
    "align-mlp": AttackEntry(
        "Align (MLP)", AlignAttack, AlignConfig, align_arch="mlp", access=ALIGN, style=Style(0, "o", "-"), figures=ARCH
    ),
    "align-rnn": AttackEntry(
        "Align (RNN)", AlignAttack, AlignConfig, align_arch="rnn", access=ALIGN, style=Style(9, "v", "-"), figures=ARCH
    ),
    "align-transformer": AttackEntry(
        "Align (Transformer)",
        AlignAttack,
        AlignConfig,
        align_arch="transformer",
        access=ALIGN,
        style=Style(2, "^", "-"),
        figures=ARCH,
    ),
    "robust-align": AttackEntry(
        "RobustAlign",
        AlignAttack,
        AlignConfig,
        align_arch="mlp-robust",
        access=ALIGN,
        style=Style(4, "D", "-"),
        figures=ARCH,
    ),
    "align-mlp-tuned": AttackEntry(
        "Align (MLP, tuned step)",
        TunedAlignAttack,
        TunedAlignConfig,
        align_arch="mlp",
        access=ALIGN_TUNED,
        style=Style(0, "o", "--"),
    ),
    "targeted-align": AttackEntry(
        "Targeted Align",
        TargetedAlignAttack,
        TargetedAlignConfig,
        align_arch="mlp",
        access=TARGETED_ALIGN,
        style=Style(0, "o", ":"),
        random_choice_of="align-mlp",
    ),
    "hadamard": AttackEntry(
        "Hadamard", HadamardAttack, HadamardConfig, access=HADAMARD, style=Style(1, "s", "-"), figures=CURVES
    ),
    "targeted-hadamard": AttackEntry(
        "Targeted Hadamard",
        TargetedHadamardAttack,
        TargetedHadamardConfig,
        align_arch="mlp",
        access=TARGETED_HADAMARD,
        style=Style(1, "s", ":"),
        random_choice_of="hadamard",
    ),
    "max-noise": AttackEntry("Max-Noise", derived_from=NOISES, access=NOISE, style=Style(7, "X", "-"), figures=CURVES),
    "white-box-fgsm": AttackEntry(
        "White-box FGSM",
        WhiteBoxAttack,
        WhiteBoxFgsmConfig,
        fixed={"pgd_steps": 1},
        access=WHITE_BOX,
        style=Style(3, "p", "-"),
        figures=CURVES,
    ),
    "white-box-pgd": AttackEntry(
        "White-box PGD", WhiteBoxAttack, WhiteBoxConfig, access=WHITE_BOX, style=Style(3, "d", "-."), figures=CURVES
    ),
    "noise-uniform": AttackEntry("Uniform noise", UniformNoise, access=NOISE, style=Style(7, "x", ":")),
    "noise-gaussian": AttackEntry("Gaussian noise", GaussianNoise, access=NOISE, style=Style(8, "P", ":")),
    "noise-exponential": AttackEntry(
        "Exponential noise", ExponentialNoise, ExponentialNoiseConfig, access=NOISE, style=Style(5, "*", ":")
    ),
    "noise-ou": AttackEntry("OU noise", OUNoise, OUNoiseConfig, access=NOISE, style=Style(6, "h", ":")),
}


def runnable_names() -> list[str]:
    """Attacks the evaluation runs (every registered one but the derived ones)."""
    return [name for name, entry in ATTACKS.items() if entry.runnable]


def derived() -> dict[str, tuple[str, ...]]:
    """Derived attack -> the attacks whose rows it is picked from."""
    return {name: entry.derived_from for name, entry in ATTACKS.items() if entry.derived_from}


def label(name: str) -> str:
    """How the paper names attack ``name`` (the name itself if unregistered)."""
    entry = ATTACKS.get(name)
    return entry.label if entry else name


def in_figure(group: str) -> list[str]:
    """Attacks of figure group ``group`` (a key of :data:`FIGURE_GROUPS`), in registry order."""
    if group not in FIGURE_GROUPS:
        raise KeyError(f"unknown figure group '{group}'; known: {list(FIGURE_GROUPS)}")
    return [name for name, entry in ATTACKS.items() if group in entry.figures]


def selection_pairs() -> list[tuple[str, str]]:
    """(attack on random agents, the same attack on the agents f_theta picks), per targeted attack."""
    return [(entry.random_choice_of, name) for name, entry in ATTACKS.items() if entry.random_choice_of]


def access_rows() -> list[Access]:
    """The access-table rows of the registered attacks, each once, in registry order."""
    rows: list[Access] = []
    for entry in ATTACKS.values():
        if entry.access is not None and entry.access not in rows:
            rows.append(entry.access)
    return rows


def align_arch(name: str, overrides: dict | None = None) -> str | None:
    """The f_theta architecture attack ``name`` uses: ``overrides`` (attack -> arch, what the config's
    protocol chooses, see ``marl_attacks.protocol.align_archs``), else its registry entry's."""
    return (overrides or {}).get(name, ATTACKS[name].align_arch if name in ATTACKS else None)


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
        raise KeyError(f"unknown attack '{name}'; known: {', '.join(ATTACKS)}")
    entry = ATTACKS[name]
    if not entry.runnable:
        raise KeyError(f"attack '{name}' is derived from the rows of {list(entry.derived_from)}; it is not run")
    return entry.cls(ctx, **attack_kwargs(name, params))


__all__ = [
    "ATTACKS",
    "FIGURE_GROUPS",
    "NOISES",
    "Access",
    "Attack",
    "AttackContext",
    "AttackEntry",
    "Style",
    "access_rows",
    "align_arch",
    "derived",
    "hadamard_directions",
    "in_figure",
    "label",
    "lowest_error_targets",
    "lowest_mse_targets",
    "make_attack",
    "project_delta",
    "runnable_names",
    "selection_pairs",
    "sign_pgd",
    "sylvester_hadamard",
    "takes_pgd_steps",
]
