"""The shipped zoos: every victim a config reads from its zoo is there and carries the provenance
that config expects, checked from the ``policy.pt.meta.json`` files alone (no rollout), so a change
to how a victim's block is built that would make a run refuse a shipped victim fails here, not
minutes into the run's jobs."""

import json

import pytest
from conftest import ROOT

from marl_attacks import config as cfgmod
from marl_attacks.io import config_hash


def _zoo_victims(config: dict) -> list[tuple[str, str, int]]:
    """Every (env, algo, seed) the config reads from its zoo: its victims, and the GRU variants of
    the victim-memory ablation."""
    pairs, _ = cfgmod.victim_pairs(config)
    out = [(e, a, s) for e, a in pairs for s in config["seeds"]]
    block = config.get("ablations", {}).get("victim_memory")
    if block:
        out += [
            (e, cfgmod.gru_variant(a), s)
            for e, a, s in out
            if e in block["envs"]
            and a in block.get("algos", [a])
            and s in block.get("seeds", [s])
            and a in config["evaluate"].get("algos", [a])
        ]
    return out


@pytest.mark.parametrize("config_file", ["config.yaml", "paper.yaml"])
def test_every_shipped_victim_has_the_provenance_its_config_expects(config_file):
    config = cfgmod.load(ROOT / "config" / config_file)
    victims = _zoo_victims(config)
    assert victims, "the config reads no victim from its zoo"
    wrong = []
    for env, algo, seed in victims:
        meta_path = ROOT / cfgmod.policy_path(config, env, algo, seed)
        meta_path = meta_path.with_name(meta_path.name + ".meta.json")
        assert meta_path.exists(), f"{meta_path}: missing"
        meta = json.loads(meta_path.read_text())
        want = cfgmod.expected_inputs(config, env, algo, seed)["policy"]
        if meta["config_hash"] != config_hash(want["config"]) or meta["seed"] != want["seed"]:
            wrong.append(str(meta_path.relative_to(ROOT)))
    assert not wrong, f"{len(wrong)} of {len(victims)} shipped victims would be refused: {wrong[:5]}"
