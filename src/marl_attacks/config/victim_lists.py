"""Which victims a config names: every (env, algo, seed) it trains or reads from its zoo, those
the evaluation attacks, those of each ablation and the victim-memory ablation's GRU variants.
The workflow's rules (``workflow/rules/common.smk``) list their inputs from these."""

from __future__ import annotations

from .params import attacked_algos, gru_variant, victim_pairs


def victims(config: dict) -> list[tuple[str, str, int]]:
    """Every (env, algo, seed) the config asks for, less the env x algo pairs that do not fit."""
    return [(e, a, s) for e, a in victim_pairs(config)[0] for s in config["seeds"]]


def attacked_victims(config: dict) -> list[tuple[str, str, int]]:
    """The victims the evaluation attacks: those of ``evaluate.algos`` (default: all of them)."""
    algos = attacked_algos(config)
    return [(e, a, s) for e, a, s in victims(config) if a in algos]


def ablation_victims(config: dict, ablation: str) -> list[tuple[str, str, int]]:
    """Victims taking part in one ablation: those of its envs (and of its algos and seeds, if set);
    for victim_memory each of them and its GRU variant (victim name <algo>-gru: the same settings
    with agent: gru, trained or taken from the zoo like any victim)."""
    block = config["ablations"][ablation]
    chosen = [
        (e, a, s)
        for e, a, s in attacked_victims(config)
        if e in block["envs"] and a in block.get("algos", [a]) and s in block.get("seeds", [s])
    ]
    if ablation == "victim_memory":
        return [v for e, a, s in chosen for v in [(e, a, s), (e, gru_variant(a), s)]]
    return chosen


def gru_victims(config: dict) -> list[tuple[str, str, int]]:
    """The GRU victims of the victim-memory ablation (none without its block): read beside the
    config's own victims (:func:`victims`) from the zoo, not in the victims table."""
    if "victim_memory" not in config["ablations"]:
        return []
    own = set(victims(config))
    return [v for v in ablation_victims(config, "victim_memory") if v not in own]
