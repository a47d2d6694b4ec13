"""The ablation evaluations, called the way the workflow calls them, on a tiny victim."""

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from marl_attacks import config as cfgmod
from marl_attacks.alignment import load_align_model
from marl_attacks.io import ArtifactError
from marl_attacks.stages import ablations, collect, evaluate, fit, train
from marl_attacks.victims import load_victim

ENV = {"name": "vmas-balance", "max_steps": 10, "kwargs": {"n_agents": 3, "continuous_actions": False}}
ROLLOUT = {**ENV, "victim_actions": "greedy"}  # the env as jobs that run a victim get it
BLOCK = {"envs": [ENV["name"]], "eps": [0.3], "episodes": 3, "max_batch": 8}


def make_config() -> dict:
    """config/tiny.yaml cut to this victim: the config its files are checked against."""
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["envs"] = {ENV["name"]: {"max_steps": ENV["max_steps"], "kwargs": ENV["kwargs"]}}
    cfg.pop("deviations")  # the cut attack list lacks what its table reads
    cfg["algos"] = {
        "mappo": {"total_steps": 480, "num_envs": 8, "rollout_len": 6, "epochs": 1, "minibatches": 2, "hidden": 16}
    }
    cfg["collect"] = {"n_samples": 40, "num_envs": 4}
    cfg["fit"] = {
        "mlp": {"hidden": 16, "layers": 2, "lr": 1e-3, "batch_size": 16, "epochs": 2, "val_frac": 0.2, "n_samples": 40}
    }
    cfg["evaluate"]["attacks"] = ["benign", "align-mlp", "hadamard"]
    cfg["evaluate"]["max_batch"] = 8
    cfg["attacks"] = {}  # default hyperparameters, as main_rows uses
    cfg["ablations"] = {
        "samples": dict(BLOCK, attacks=["align-mlp"], n_samples=[20, 40]),
        "pgd_steps": dict(BLOCK, attacks=["align-mlp"], pgd_steps=[1, 4]),
        "n_attacked": dict(BLOCK, attacks=["hadamard", "targeted-hadamard", "max-noise"]),
    }
    for block in cfg["ablations"].values():
        block.pop("max_batch")
    cfgmod.check(cfg)
    return cfg


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    d = tmp_path_factory.mktemp("ablations")
    cfg = make_config()
    p = {k: str(d / k) for k in ["policy.pt", "curve.csv", "samples.pt", "mlp.pt", "mlp_n20.pt"]}
    name = ENV["name"]
    policy, samples = p["policy.pt"], p["samples.pt"]
    train.run(cfgmod.train_params(cfg, name, "mappo", 0), policy_out=policy, curve_out=p["curve.csv"], progress=False)
    collect.run(cfgmod.collect_params(cfg, name, "mappo", 0), policy=policy, out=samples, progress=False)
    for n, out in [(None, p["mlp.pt"]), (20, p["mlp_n20.pt"])]:
        fit.run(cfgmod.fit_params(cfg, name, "mappo", 0, "mlp", n), samples=samples, out=out, progress=False)
    p["config"] = cfg
    return p


def run(victim, ablation, block, align, tmp_path):
    """The ablation job, checking its inputs as the workflow does."""
    cfg, out = victim["config"], str(tmp_path / f"{ablation}.csv")
    params = cfgmod.ablation_params(cfg, ablation, ENV["name"], "mappo", 0)
    assert params["block"] == dict((k, v) for k, v in block.items() if k != "envs") | {"max_batch": 8}
    ablations.run(params, policy=victim["policy.pt"], align=align, out=out, progress=False)
    return pd.read_csv(out)


def main_rows(victim, attacks, eps, attack_params=None):
    """The main evaluation of the same victim on the ablation's episodes."""
    policy, _ = load_victim(victim["policy.pt"])
    model, _ = load_align_model(victim["mlp.pt"])
    cfg = dict(BLOCK, attacks=attacks, n_attacked=["all"], eps=eps)
    rows, _ = evaluate.evaluate(ROLLOUT, policy, {"mlp": model}, cfg, attack_params or {}, 0, "cpu", progress=False)
    return rows


def test_samples_ablation_refits_per_n(victim, tmp_path):
    block = victim["config"]["ablations"]["samples"]
    rows = run(victim, "samples", block, {"mlp_n20": victim["mlp_n20.pt"], "mlp_n40": victim["mlp.pt"]}, tmp_path)
    assert set(rows.ablation) == {"samples"} and set(rows.env) == {ENV["name"]}
    benign = rows[rows.attack == "benign"]
    assert len(benign) == 3 and benign.value.isna().all()  # run once, not per n
    attacked = rows[rows.attack == "align-mlp"]
    assert sorted(attacked.value.unique()) == [20, 40] and (attacked.n_attacked == 3).all()
    mse = attacked.groupby("value").val_mse.first()
    assert mse[20] != mse[40]
    # with the main f_theta (n = fit.mlp.n_samples) the rows are the main evaluation's
    main = main_rows(victim, ["align-mlp"], [0.3])
    np.testing.assert_allclose(attacked[attacked.value == 40]["return"], main["return"])


def test_pgd_steps_ablation_sets_k(victim, tmp_path):
    block = victim["config"]["ablations"]["pgd_steps"]
    rows = run(victim, "pgd_steps", block, {"mlp": victim["mlp.pt"]}, tmp_path)
    attacked = rows[rows.attack == "align-mlp"]
    assert sorted(attacked.value.unique()) == [1, 4]
    assert (attacked.max_abs_delta <= 0.3 + 1e-6).all()
    for k in (1, 4):
        main = main_rows(victim, ["align-mlp"], [0.3], {"align-mlp": {"pgd_steps": k}})
        np.testing.assert_allclose(attacked[attacked.value == k]["return"], main["return"])


def test_n_attacked_ablation_covers_one_to_all(victim, tmp_path):
    block = victim["config"]["ablations"]["n_attacked"]
    rows = run(victim, "n_attacked", block, {"mlp": victim["mlp.pt"]}, tmp_path)
    for attack in ["hadamard", "targeted-hadamard", "max-noise"]:
        assert sorted(rows[rows.attack == attack].value.unique()) == [1, 2, 3]
    attacked = rows[rows.attack != "benign"]
    assert (attacked.value == attacked.n_attacked).all()
    assert rows[rows.attack == "max-noise"].source.notna().all()


def test_unknown_ablation_is_named(victim):
    with pytest.raises(KeyError, match="unknown ablation 'colour'"):
        ablations.evaluate_ablation("colour", ROLLOUT, None, {}, dict(BLOCK, attacks=[]), {}, 0, "cpu", False)


def test_ablation_inputs_are_checked(victim, tmp_path):
    """An f_theta fitted on other samples than the ablation expects is refused by name."""
    block = victim["config"]["ablations"]["samples"]
    with pytest.raises(ArtifactError, match="mlp.pt.*n_samples"):
        run(victim, "samples", block, {"mlp_n20": victim["mlp.pt"], "mlp_n40": victim["mlp.pt"]}, tmp_path)
