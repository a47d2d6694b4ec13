"""Seeding, device choice and thread settings shared by every stage."""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np
import torch


def derive_seed(base: int, *parts: object) -> int:
    """A seed from the config's base seed and a job's identity (never from time or order)."""
    text = "/".join([str(base), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` uses CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: '{name}' requested but CUDA is not available; use 'auto' or 'cpu'")
    return device


def set_threads(threads: int | None) -> None:
    """Match torch's intra-op threads to the cores Snakemake gave the job."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
