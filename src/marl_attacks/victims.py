"""Loading saved victims (any registered algorithm) from their artifacts, and exporting
trained victims to a model zoo (``python -m marl_attacks.victims export``)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from . import paths
from .algos import VictimPolicy, network_kind, rebuild_policy
from .io import load_artifact

#: what a shipped victim keeps: the policy, its provenance and its training curve
ZOO_FILES = ("policy.pt", "policy.pt.meta.json", "curve.csv")


def load_victim(path: str, device="cpu", expect: dict | None = None) -> tuple[VictimPolicy, dict]:
    """``expect`` (``{"config", "seed"}``, from :func:`marl_attacks.config.expected_inputs`): refuse a
    policy made by another config or for another victim, first of all one whose agent network
    (feed-forward or GRU) is not the one the config asks for."""
    expect = expect or {}
    config = expect.get("config")
    inspect = None if config is None else lambda payload: kind_mismatch(payload, config)
    payload = load_artifact(path, expect_config=config, expect_seed=expect.get("seed"), inspect=inspect)
    policy = rebuild_policy(payload["algo"], payload["init_kwargs"], payload["state_dict"])
    for p in policy.parameters():
        p.requires_grad_(False)
    return policy.to(device), payload


def kind_mismatch(payload: dict, block: dict) -> str | None:
    """What is wrong when a saved policy's agent network differs from the one of provenance
    ``block`` (:func:`marl_attacks.lineage.policy_block`), or None."""
    have = network_kind(payload.get("init_kwargs", {}))
    want = network_kind(block.get("algo_cfg", {}))
    if have == want:
        return None
    algo = block.get("algo", "<algo>")
    return (
        f"a policy with a {have} agent network, but the config asks for {want} (algos.{algo}.agent: {want}); "
        f"use victims trained with agent: {want} (zoo) or train them (zoo: null)"
    )


def export_zoo(src: str, dst: str) -> list[Path]:
    """Copy every finished victim under ``src`` (``{env}/{algo}/seed{k}/policy.pt``) to ``dst``.

    Only :data:`ZOO_FILES` travel (no resume checkpoints, scores or logs); each policy is
    loaded first, so a truncated or corrupted one is refused by name instead of shipped.
    """
    copied = []
    for policy in sorted(Path(src).glob(paths.policy(".", "*", "*", "*"))):
        load_artifact(str(policy))
        rel = policy.parent.relative_to(src)
        (Path(dst) / rel).mkdir(parents=True, exist_ok=True)
        for name in ZOO_FILES:
            if (policy.parent / name).exists():
                shutil.copy2(policy.parent / name, Path(dst) / rel / name)
        copied.append(Path(dst) / rel / "policy.pt")
    return copied


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("export", help="copy trained victims into a model zoo")
    e.add_argument("src", help="e.g. results/paper/victims")
    e.add_argument("dst", help="e.g. zoo/paper")
    a = p.parse_args(argv)
    copied = export_zoo(a.src, a.dst)
    print(f"exported {len(copied)} victims to {a.dst}")


if __name__ == "__main__":
    main()
