"""Atomic writes, provenance sidecars and safe loading of intermediates.

Every artifact is written to a temporary file in the same folder and renamed
into place, so a crash never leaves a half-written file under the final name.
Beside each artifact ``<file>.meta.json`` records the config block that made
it, its hash, the seed, the git commit and the package versions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "numpy", "pandas", "vmas", "pettingzoo", "mpe2", "snakemake")


class ArtifactError(RuntimeError):
    """An intermediate file is missing, truncated or made by another config."""


def config_hash(block: Any) -> str:
    """Stable short hash of a JSON-serialisable config block."""
    text = json.dumps(block, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def provenance(config: Any, seed: int | None) -> dict:
    """The record written beside every artifact."""
    return {
        "config": config,
        "config_hash": config_hash(config),
        "seed": seed,
        "git_commit": _git_commit(),
        "versions": _versions(),
        "host": platform.node(),
    }


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: read once at import (reading it means setting it); outputs get the mode open() would give them
_UMASK = _read_umask()


def atomic_write(path: str | Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600): a shared results folder (a cluster's group) could
        # not read it; give it what a plain open() would
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text), mode="w")


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | Path, frame) -> None:
    write_text(path, frame.to_csv(index=False))


def save_artifact(path: str | Path, payload: dict, config: Any, seed: int | None) -> None:
    """Save a torch payload atomically, with its provenance inside and beside it."""
    import torch  # here, not at the top: report jobs write only CSV/text and skip torch's import

    meta = provenance(config, seed)
    buffer = io.BytesIO()
    torch.save({"meta": meta, **payload}, buffer)
    atomic_write(path, lambda fh: fh.write(buffer.getvalue()))
    write_json(f"{path}.meta.json", meta)


def differences(stored: Any, expected: Any, prefix: str = "") -> list[str]:
    """Where two config blocks differ, as ``key = stored in the file, expected`` lines."""
    stored, expected = (json.loads(json.dumps(x, sort_keys=True, default=str)) for x in (stored, expected))
    if isinstance(stored, dict) and isinstance(expected, dict):
        out = []
        for k in sorted(set(stored) | set(expected)):
            key = f"{prefix}.{k}" if prefix else k
            if k not in stored:
                out.append(f"{key} missing in the file ({expected[k]!r} expected)")
            elif k not in expected:
                out.append(f"{key} = {stored[k]!r} in the file, absent from the config")
            else:
                out += differences(stored[k], expected[k], key)
        return out
    if stored == expected:
        return []
    return [f"{prefix or 'block'} = {stored!r} in the file, {expected!r} expected"]


def load_artifact(
    path: str | Path,
    regenerate_hint: str = "",
    expect_config: Any = None,
    expect_seed: int | None = None,
    inspect: Callable[[dict], str | None] | None = None,
) -> dict:
    """Load a torch artifact with ``weights_only=True`` and check where it came from.

    Raises :class:`ArtifactError` naming the file, and how to regenerate it, when
    it is missing, unreadable (truncated or corrupted), or was made from another
    config block (``expect_config``) or with another seed (``expect_seed``): see
    :mod:`marl_attacks.lineage` for what each stage expects of its inputs.
    ``inspect(payload)`` runs before the provenance checks and returns what is wrong with the
    payload, if anything (e.g. a policy of another network kind), for a plainer error.
    """
    import torch

    path = Path(path)
    hint = (
        f" Regenerate it with: {regenerate_hint}"
        if regenerate_hint
        else f" To regenerate it, delete it and rerun snakemake (or: snakemake --cores 2 --forcerun "
        f"{path}, with the run's --configfile)."
    )
    if not path.exists():
        raise ArtifactError(f"{path}: file not found.{hint}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated zips
        raise ArtifactError(
            f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file is truncated or corrupted.{hint}"
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("meta"), dict):
        raise ArtifactError(f"{path}: not an artifact of this package (no provenance).{hint}")
    meta = payload["meta"]
    problem = inspect(payload) if inspect is not None else None
    if problem:
        raise ArtifactError(f"{path}: {problem}.{hint}")
    if expect_config is not None:
        want = config_hash(expect_config)
        got = meta.get("config_hash")
        if got != want or config_hash(meta.get("config")) != got:
            diff = differences(meta.get("config"), expect_config)
            chained = any("config_hash" in d.split(" ")[0] for d in diff)
            raise ArtifactError(
                f"{path}: made by a different config (stored hash {got}, expected {want}): "
                + "; ".join(diff[:6] or ["the stored block does not match its hash"])
                + (" (the file was made from an input of another config)" if chained else "")
                + f".{hint}"
            )
    if expect_seed is not None and meta.get("seed") != expect_seed:
        raise ArtifactError(
            f"{path}: made with seed {meta.get('seed')}, expected {expect_seed} (made "
            f"for another victim or with another base seed).{hint}"
        )
    return payload
