"""The shipped zoos: every victim a config reads from its zoo is there and carries the provenance
that config expects, checked from the ``policy.pt.meta.json`` files alone (no rollout), so a change
to how a victim's block is built that would make a run refuse a shipped victim fails here, not
minutes into the run's jobs."""

import json

import pytest
from conftest import ROOT

from marl_attacks import config as cfgmod
from marl_attacks.io import config_hash


@pytest.mark.parametrize("config_file", ["config.yaml", "paper.yaml"])
def test_every_shipped_victim_has_the_provenance_its_config_expects(config_file):
    config = cfgmod.load(ROOT / "config" / config_file)
    victims = cfgmod.victims(config) + cfgmod.gru_victims(config)  # what the workflow reads from the zoo
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
