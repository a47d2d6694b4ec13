"""Victim learners, one module each, registered by name.

``ALGOS[name]`` gives the hyperparameter dataclass, the training function
``train(env, cfg, seed, progress=, checkpoint=) -> (policy, curve)``, the
policy class used to rebuild saved victims, and the action types it supports.
QMIX and VDN share one module (:mod:`.qmix`); the config class picks the mixer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import ippo, mappo, qmix
from .base import VictimPolicy


@dataclass(frozen=True)
class AlgoEntry:
    config: type
    train: Callable
    policy: type[VictimPolicy]
    action_types: tuple[str, ...]  # action spaces the algorithm supports


ALGOS: dict[str, AlgoEntry] = {
    "mappo": AlgoEntry(mappo.MappoConfig, mappo.train, mappo.MappoPolicy, ("discrete", "continuous")),
    "ippo": AlgoEntry(ippo.IppoConfig, ippo.train, mappo.MappoPolicy, ("discrete", "continuous")),
    "qmix": AlgoEntry(qmix.QmixConfig, qmix.train, qmix.QPolicy, ("discrete",)),
    "vdn": AlgoEntry(qmix.VdnConfig, qmix.train, qmix.QPolicy, ("discrete",)),
}


def build_config(algo: str, values: dict):
    """The algorithm's dataclass from a config dict; unknown keys are errors naming the key."""
    if algo not in ALGOS:
        raise KeyError(f"unknown algorithm '{algo}'; known: {', '.join(sorted(ALGOS))}")
    cls = ALGOS[algo].config
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(values) - fields)
    if unknown:
        raise KeyError(f"algos.{algo}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    return cls(**values)


def rebuild_policy(algo: str, init_kwargs: dict, state_dict: dict) -> VictimPolicy:
    policy = ALGOS[algo].policy(**init_kwargs)
    policy.load_state_dict(state_dict)
    return policy.eval()


__all__ = ["ALGOS", "AlgoEntry", "VictimPolicy", "build_config", "rebuild_policy"]
