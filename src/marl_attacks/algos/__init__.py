"""Victim learners, one module each, registered by name.

``ALGOS[name]`` gives the hyperparameter dataclass, the training function
``train(env, cfg, seed, progress=, checkpoint=) -> (policy, curve)``, the
policy class of each agent network (config ``agent``: ``mlp`` or ``gru``, see
:mod:`.recurrent`) used to rebuild saved victims, and the action types it supports.
QMIX and VDN share one module (:mod:`.qmix`); the config class picks the mixer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import ippo, mappo, qmix
from .base import VictimPolicy
from .recurrent import AGENTS, gru_variant, network_kind, split_variant


@dataclass(frozen=True)
class AlgoEntry:
    config: type
    train: Callable
    policies: dict[str, type[VictimPolicy]]  # agent network (mlp, gru) -> policy class
    action_types: tuple[str, ...]  # action spaces the algorithm supports
    # how EPyMARL acts with it at evaluation (protocol victim_actions: authors): its MAPPO/IPPO
    # configs use the soft_policies selector, which samples whatever test_greedy says; QMIX/VDN
    # use epsilon_greedy with evaluation_epsilon 0
    epymarl_actions: str


PPO_POLICIES = {"mlp": mappo.MappoPolicy, "gru": mappo.GruMappoPolicy}
Q_POLICIES = {"mlp": qmix.QPolicy, "gru": qmix.GruQPolicy}
ALGOS: dict[str, AlgoEntry] = {
    "mappo": AlgoEntry(mappo.MappoConfig, mappo.train, PPO_POLICIES, ("discrete", "continuous"), "sample"),
    "ippo": AlgoEntry(ippo.IppoConfig, ippo.train, PPO_POLICIES, ("discrete", "continuous"), "sample"),
    "qmix": AlgoEntry(qmix.QmixConfig, qmix.train, Q_POLICIES, ("discrete",), "greedy"),
    "vdn": AlgoEntry(qmix.VdnConfig, qmix.train, Q_POLICIES, ("discrete",), "greedy"),
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
    try:
        return cls(**values)
    except ValueError as exc:  # a value the dataclass refuses (e.g. agent)
        raise ValueError(f"algos.{algo}: {exc}") from exc


def rebuild_policy(algo: str, init_kwargs: dict, state_dict: dict) -> VictimPolicy:
    policy = ALGOS[algo].policies[network_kind(init_kwargs)](**init_kwargs)
    policy.load_state_dict(state_dict)
    return policy.eval()


__all__ = [
    "AGENTS",
    "ALGOS",
    "AlgoEntry",
    "VictimPolicy",
    "build_config",
    "gru_variant",
    "network_kind",
    "rebuild_policy",
    "split_variant",
]
