"""The parameters of the deviations jobs: each protocol choice flipped on a few victims.

``tables/{run}/deviations.*`` compares the paper's claims under the authors' value of every
protocol choice (:mod:`marl_attacks.protocol`) and under ours, on the victims of
``deviations.victims``. The config's own value is the main evaluation; the other one is
:func:`flipped`. Evaluating it reruns only what the flip changes (:func:`deviation_attacks`,
:func:`deviation_inputs`): the samples and f_theta where the victim acts otherwise, the attacks
whose hyperparameters change, nothing where the flip changes nothing for a victim; on the first
``deviations.episodes`` episodes of the main evaluation (the same env seeds). Each builder
returns the dict its rule passes as ``params: job=``, like those of :mod:`.params`.
"""

from __future__ import annotations

from .. import protocol
from .params import (
    attack_arch,
    claims_params,
    collect_params,
    eval_params,
    evaluate_params,
    expected_inputs,
    fit_params,
)


def deviation_victims(config: dict) -> list[tuple[str, str, int]]:
    """The victims of ``deviations.victims`` (env -> algorithms; every seed); none without the block."""
    block = config.get("deviations") or {"victims": {}}
    return [(e, a, s) for e, algos in block["victims"].items() for a in algos for s in config["seeds"]]


def deviation_episodes(config: dict) -> dict[str, int]:
    """env -> episodes the deviations table reads there: ``deviations.episodes`` (the main evaluation's
    first ones, the same env seeds), by default all that env's evaluation runs."""
    block = config.get("deviations") or {"victims": {}}
    return {env: block.get("episodes", eval_params(config, env)["episodes"]) for env in block["victims"]}


def flipped(config: dict, choice: str) -> dict:
    """``config`` with protocol choice ``choice`` set to its other value, every other choice kept."""
    values = protocol.resolve(config.get("protocol"))
    other = next(v for v in protocol.CHOICES[choice] if v != values[choice])
    return {**config, "protocol": {**values, choice: other}}


def deviation_needs(config: dict) -> list[str]:
    """The attacks the deviations table reads, in the evaluation's order: benign, the claims' attacks
    and baselines, the eps rule's attack, and those a derived attack (max-noise) is made of."""
    from ..attacks import ATTACKS, derived
    from ..reporting.claims import claim_attacks

    names = {"benign", config["report"]["eps_rule"]["attack"], *claim_attacks()}
    names |= {b for name in names for b in derived().get(name, ())}
    return [a for a in ATTACKS if a in names]


def deviation_attacks(config: dict, choice: str, env: str, algo: str, seed) -> list[str]:
    """What the evaluation with ``choice`` flipped must rerun for this victim: every needed attack if
    the victim acts otherwise (or its grid differs); else those whose hyperparameters or f_theta
    change, with the rest of a derived attack's bases; [] where the flip changes nothing here.
    The rest of the flipped side is the main evaluation's rows (same episodes, same seeds)."""
    from ..attacks import derived

    needs, other = deviation_needs(config), flipped(config, choice)
    main, flip = evaluate_params(config, env, algo, seed), evaluate_params(other, env, algo, seed)
    if any(main[k] != flip[k] for k in ("env_block", "evaluate", "expect_policy")):
        return needs  # the victim acts otherwise, or the grid (e.g. how random agents are drawn) changes

    def align(job: dict, cfg: dict, attack: str):  # the f_theta the attack reads (which, made how)
        arch = attack_arch(cfg, attack)
        return arch, job["expect_align"].get(arch) if arch else None

    changed = {
        a
        for a in needs
        if main["attacks"].get(a) != flip["attacks"].get(a) or align(main, config, a) != align(flip, other, a)
    }
    for name, bases in derived().items():
        if name in needs and changed & {name, *bases}:
            changed |= {name, *bases}
    return [a for a in needs if a in changed]


def deviation_collect_params(config: dict, choice: str, env: str, algo: str, seed) -> dict:
    """``collect_samples_deviation``: the collection under the flipped choice."""
    return collect_params(flipped(config, choice), env, algo, seed)


def deviation_fit_params(config: dict, choice: str, env: str, algo: str, seed, arch: str) -> dict:
    """``fit_align_deviation``: f_theta ``arch`` under the flipped choice."""
    return fit_params(flipped(config, choice), env, algo, seed, arch)


def deviation_eval_params(config: dict, choice: str, env: str, algo: str, seed) -> dict:
    """``evaluate_deviation``: the evaluation under the flipped choice, of :func:`deviation_attacks` only."""
    attacks, other = deviation_attacks(config, choice, env, algo, seed), flipped(config, choice)
    job = evaluate_params(other, env, algo, seed)
    archs = {attack_arch(other, a) for a in attacks} - {None}
    job["evaluate"]["attacks"] = attacks
    job["evaluate"]["episodes"] = deviation_episodes(config)[env]
    job["attacks"] = {k: v for k, v in job["attacks"].items() if k in attacks}
    job["expect_align"] = {k: v for k, v in job["expect_align"].items() if k in archs}
    return job


def deviation_inputs(config: dict, choice: str, env: str, algo: str, seed) -> dict:
    """Which of this victim's samples and f_theta the flipped choice changes: ``{"samples": bool,
    "align": {arch: bool}}`` (False: the main run's file is reused)."""
    other = flipped(config, choice)
    main, flip = expected_inputs(config, env, algo, int(seed)), expected_inputs(other, env, algo, int(seed))
    archs = {attack_arch(other, a) for a in deviation_attacks(config, choice, env, algo, seed)} - {None}
    return {
        "samples": main["samples"] != flip["samples"],
        "align": {arch: main["align"].get(arch) != flip["align"][arch] for arch in sorted(archs)},
    }


def deviations_table_params(config: dict) -> dict:
    """``table_deviations``: the claims' settings, the attacks and episodes it reads (:func:`deviation_needs`,
    :func:`deviation_episodes`) and each protocol choice's value in this config (the side the main
    evaluation stands for)."""
    return {
        **claims_params(config),
        "attacks": deviation_needs(config),
        "episodes": deviation_episodes(config),
        "protocol": protocol.resolve(config.get("protocol")),
    }
