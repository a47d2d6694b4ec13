"""Loading saved victims (any registered algorithm) from their artifacts."""

from __future__ import annotations

from .algos import VictimPolicy, rebuild_policy
from .io import load_artifact


def load_victim(path: str, device="cpu", expect: dict | None = None) -> tuple[VictimPolicy, dict]:
    """``expect`` (``{"config", "seed"}``, from :func:`marl_attacks.lineage.expected`): refuse a
    policy made by another config or for another victim."""
    expect = expect or {}
    payload = load_artifact(path, expect_config=expect.get("config"), expect_seed=expect.get("seed"))
    policy = rebuild_policy(payload["algo"], payload["init_kwargs"], payload["state_dict"])
    for p in policy.parameters():
        p.requires_grad_(False)
    return policy.to(device), payload
