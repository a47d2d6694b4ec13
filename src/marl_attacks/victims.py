"""Loading saved victims (any registered algorithm) from their artifacts, and exporting
trained victims to a model zoo (``python -m marl_attacks.victims export``)."""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import pandas as pd

from . import paths
from .algos import VictimPolicy, network_kind, rebuild_policy
from .io import load_artifact, write_text

#: what a shipped victim keeps: the policy, its provenance and its training curve
ZOO_FILES = ("policy.pt", "policy.pt.meta.json", "curve.csv")

#: a shipped curve's most rows: QMIX/VDN log a row per 64 env steps (32k rows, 3 MB at 2M steps),
#: which would take the zoo past 100 MB; 500 bins still draw every learning curve
ZOO_CURVE_ROWS = 500

#: curve columns that count (summed over a bin) and that say where a bin ends (its last value);
#: returns, lengths and win rates are episode-weighted means, every other column a plain mean
_COUNTS = ("episodes",)
_ENDS = ("update", "env_steps", "wall_s")
_PER_EPISODE = ("episode_return", "episode_length", "win_rate")


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


def thin_curve(curve: pd.DataFrame, max_rows: int = ZOO_CURVE_ROWS) -> pd.DataFrame:
    """``curve`` (a victim's ``curve.csv``) in at most ``max_rows`` bins of consecutive rows.

    A bin ends where its last row does (update, env steps, wall time); it holds the episodes
    of all its rows, their mean return, length and win rate weighted by each row's episodes
    (NaN where none finished), and the plain mean of every other column (losses, epsilon);
    ``merged_rows`` says how many rows it holds. A curve of at most ``max_rows`` rows is returned
    as it is."""
    if len(curve) <= max_rows:
        return curve
    size = math.ceil(len(curve) / max_rows)
    bins = pd.Series(range(len(curve)), index=curve.index) // size
    episodes = curve["episodes"]  # every curve row has it (EpisodeTracker.curve_row)
    out = {}
    for col in curve.columns:
        group = curve[col].groupby(bins)
        if col in _ENDS:
            out[col] = group.last()
        elif col in _COUNTS:
            out[col] = group.sum()
        elif col in _PER_EPISODE:
            weight = episodes.where(curve[col].notna(), 0)
            total = (curve[col].fillna(0) * weight).groupby(bins).sum()
            count = weight.groupby(bins).sum()
            out[col] = (total / count).where(count > 0)
        else:
            out[col] = group.mean()
    thinned = pd.DataFrame(out)
    thinned["merged_rows"] = bins.groupby(bins).size()
    return thinned.reset_index(drop=True)


def export_zoo(src: str, dst: str, curve_rows: int = ZOO_CURVE_ROWS) -> list[Path]:
    """Copy every finished victim under ``src`` (``{env}/{algo}/seed{k}/policy.pt``) to ``dst``.

    Only :data:`ZOO_FILES` travel (no resume checkpoints, scores or logs), the curve thinned
    to ``curve_rows`` bins (:func:`thin_curve`); each policy is loaded first, so a truncated or
    corrupted one is refused by name instead of shipped.
    """
    copied = []
    for policy in sorted(Path(src).glob(paths.policy(".", "*", "*", "*"))):
        load_artifact(str(policy))
        rel = policy.parent.relative_to(src)
        (Path(dst) / rel).mkdir(parents=True, exist_ok=True)
        for name in ZOO_FILES:
            if not (policy.parent / name).exists():
                continue
            if name == "curve.csv":
                thinned = thin_curve(pd.read_csv(policy.parent / name), curve_rows)
                write_text(Path(dst) / rel / name, thinned.to_csv(index=False, float_format="%.6g"))
            else:
                shutil.copy2(policy.parent / name, Path(dst) / rel / name)
        copied.append(Path(dst) / rel / "policy.pt")
    return copied


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("export", help="copy trained victims into a model zoo")
    e.add_argument("src", help="e.g. results/paper/victims")
    e.add_argument("dst", help="e.g. zoo/paper")
    e.add_argument("--curve-rows", type=int, default=ZOO_CURVE_ROWS, help="most rows of a shipped curve.csv")
    a = p.parse_args(argv)
    copied = export_zoo(a.src, a.dst, a.curve_rows)
    print(f"exported {len(copied)} victims to {a.dst}")


if __name__ == "__main__":
    main()
