"""Same config and seed -> identical intermediates and results on CPU."""

import hashlib

import torch
from conftest import tiny_pipeline

from marl_attacks.io import load_artifact

ENV = {"name": "mpe-simple_spread", "max_steps": 8, "kwargs": {"N": 3}}
MAPPO = {"total_steps": 640, "num_envs": 8, "rollout_len": 8, "epochs": 1, "minibatches": 2, "hidden": 16}
FIT = {
    "arch": "mlp",
    "hidden": 16,
    "layers": 2,
    "lr": 1e-3,
    "batch_size": 16,
    "epochs": 2,
    "val_frac": 0.2,
    "n_samples": 30,
}
EVAL = {
    "episodes": 3,
    "eps": [0.2],
    "max_batch": 8,
    "n_attacked": ["all", 1],
    "attacks": [
        "benign",
        "align-mlp",
        "hadamard",
        "noise-uniform",
        "noise-gaussian",
        "noise-exponential",
        "noise-ou",
        "max-noise",
        "white-box-fgsm",
    ],
}


def _run(d):
    return tiny_pipeline(d, ENV, MAPPO, {"n_samples": 30, "num_envs": 4}, FIT, EVAL)


def _tensor_digest(path):
    payload = load_artifact(path)
    h = hashlib.sha256()
    state = payload.get("state_dict") or {k: v for k, v in payload.items() if isinstance(v, torch.Tensor)}
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].numpy().tobytes())
    return h.hexdigest()


def test_two_runs_give_identical_outputs(tmp_path):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    for key in ["policy", "samples", "model"]:
        assert _tensor_digest(a[key]) == _tensor_digest(b[key]), key
        # the stored provenance (config hash, seed) agrees too
        assert load_artifact(a[key])["meta"]["config_hash"] == load_artifact(b[key])["meta"]["config_hash"]
    for key in ["curve", "rows", "summary"]:
        text_a, text_b = open(a[key]).read(), open(b[key]).read()
        if key == "curve":  # wall time differs between runs; everything else must not
            drop = lambda t: [",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in t.splitlines()]
            assert drop(text_a) == drop(text_b)
        else:
            assert text_a == text_b, key
