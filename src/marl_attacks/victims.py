"""Loading saved victims (any registered algorithm) from their artifacts."""

from __future__ import annotations

from .algos import VictimPolicy, rebuild_policy
from .io import load_artifact


def load_victim(path: str, device="cpu") -> tuple[VictimPolicy, dict]:
    payload = load_artifact(path, regenerate_hint="snakemake <that file> --forcerun train_victim")
    policy = rebuild_policy(payload["algo"], payload["init_kwargs"], payload["state_dict"])
    for p in policy.parameters():
        p.requires_grad_(False)
    return policy.to(device), payload
