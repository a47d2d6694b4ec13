"""The victim-memory ablation: each feed-forward victim against the GRU variant of its algorithm
(victim name ``<algo>-gru``), its own provenance and paths, the workflow jobs it needs, its figure data."""

import copy
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT
from scipy.stats import trim_mean

from marl_attacks import config as cfgmod
from marl_attacks import paths
from marl_attacks.algos import gru_variant, split_variant
from marl_attacks.io import ArtifactError
from marl_attacks.reporting import ablation_figures, figures
from marl_attacks.reporting.summary import summarise
from marl_attacks.stages import ablations, collect, fit, train
from marl_attacks.victims import load_victim

ENV = "mpe-simple_spread"  # tiny.yaml's victim_memory env


@pytest.fixture
def tiny():
    return yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


def test_variant_names():
    assert gru_variant("mappo") == "mappo-gru" and split_variant("mappo-gru") == ("mappo", "gru")
    assert split_variant("mappo") == ("mappo", None) and split_variant("qmix-gru") == ("qmix", "gru")


def test_the_gru_variant_is_its_algorithm_with_agent_gru_and_its_own_provenance(tiny):
    assert cfgmod.algo_params(tiny, ENV, "mappo-gru") == {**cfgmod.algo_params(tiny, ENV, "mappo"), "agent": "gru"}
    ff, gru = (cfgmod.expected_inputs(tiny, ENV, name, 0) for name in ("mappo", "mappo-gru"))
    # the block names the algorithm; the agent network and the seed (from the victim name) differ
    assert gru["policy"]["config"]["algo"] == ff["policy"]["config"]["algo"] == "mappo"
    ff_hp, gru_hp = ff["policy"]["config"]["algo_cfg"], gru["policy"]["config"]["algo_cfg"]
    assert {k: gru_hp[k] for k in ff_hp} == ff_hp and gru_hp["agent"] == "gru"  # same settings and budget
    assert "agent" not in ff_hp  # feed-forward provenance as before GRU agents (lineage.policy_block)
    assert gru["policy"]["seed"] != ff["policy"]["seed"] and gru["samples"]["seed"] != ff["samples"]["seed"]
    assert gru["samples"]["config"] != ff["samples"]["config"]  # the chain of hashes starts at another policy
    # the feed-forward victims' files are the same with or without the ablation
    without = copy.deepcopy(tiny)
    del without["ablations"]["victim_memory"]
    cfgmod.check(without)
    assert cfgmod.expected_inputs(without, ENV, "mappo", 0) == ff
    assert paths.policy("zoo/x", ENV, "mappo", 0) == f"zoo/x/{ENV}/mappo/seed0/policy.pt"
    assert paths.policy("zoo/x", ENV, "mappo-gru", 0) == f"zoo/x/{ENV}/mappo-gru/seed0/policy.pt"
    # the ablation's job: its block (what it computes, not which victims), for both victims alike
    block = cfgmod.ablation_block(tiny, "victim_memory")
    assert block == {
        **{k: tiny["ablations"]["victim_memory"][k] for k in ("eps", "episodes", "attacks")},
        "max_batch": 64,
    }
    ff_job, gru_job = (cfgmod.ablation_params(tiny, "victim_memory", ENV, n, 0) for n in ("mappo", "mappo-gru"))
    assert ff_job["block"] == gru_job["block"] and ff_job["attacks"] == gru_job["attacks"]
    assert gru_job["expect_policy"] == gru["policy"] and set(gru_job["expect_align"]) == {"mlp"}


def test_the_victims_must_be_feed_forward(tiny):
    bad = copy.deepcopy(tiny)
    bad["algos"]["mappo"]["agent"] = "gru"
    with pytest.raises(cfgmod.ConfigError, match=r"'ablations\.victim_memory\.algos': mappo on mpe-simple_spread"):
        cfgmod.check(bad)
    bad = copy.deepcopy(tiny)
    bad["ablations"]["victim_memory"]["envs"] = ["lbf-8x8-2p-2f-coop"]  # not configured
    with pytest.raises(cfgmod.ConfigError, match=r"'ablations\.victim_memory\.envs'"):
        cfgmod.check(bad)
    bad = copy.deepcopy(tiny)
    bad["ablations"]["victim_memory"]["grid"] = [1]
    with pytest.raises(cfgmod.ConfigError, match=r"'ablations\.victim_memory\.grid': unknown key"):
        cfgmod.check(bad)


def test_a_tiny_gru_victim_runs_the_ablation_with_its_own_files(tiny, tmp_path):
    """Train, collect, fit and evaluate the GRU variant exactly as the workflow's jobs do."""
    cfg = copy.deepcopy(tiny)
    cfg["algos"]["mappo"]["total_steps"] = 320
    cfg["fit"]["mlp"]["epochs"] = 1
    f = {k: str(tmp_path / k) for k in ("policy.pt", "curve.csv", "samples.pt", "mlp.pt", "rows.csv")}
    name = "mappo-gru"
    train.run(
        cfgmod.train_params(cfg, ENV, name, 0), policy_out=f["policy.pt"], curve_out=f["curve.csv"], progress=False
    )
    collect.run(cfgmod.collect_params(cfg, ENV, name, 0), policy=f["policy.pt"], out=f["samples.pt"], progress=False)
    fit.run(cfgmod.fit_params(cfg, ENV, name, 0, "mlp"), samples=f["samples.pt"], out=f["mlp.pt"], progress=False)
    ablations.run(
        cfgmod.ablation_params(cfg, "victim_memory", ENV, name, 0),
        policy=f["policy.pt"],
        align={"mlp": f["mlp.pt"]},
        out=f["rows.csv"],
        progress=False,
    )
    policy, payload = load_victim(f["policy.pt"], expect=cfgmod.expected_inputs(cfg, ENV, name, 0)["policy"])
    assert policy.recurrent and payload["algo"] == "mappo"
    rows = pd.read_csv(f["rows.csv"])
    assert set(rows.algo) == {name} and set(rows.value) == {"gru"}  # the benign rows too: the victim is the setting
    assert set(rows.attack) >= {"benign", *cfg["ablations"]["victim_memory"]["attacks"]}
    assert (rows[rows.attack != "benign"].eps == 0.5).all()
    assert (rows.groupby("attack").episode.nunique() == cfg["ablations"]["victim_memory"]["episodes"]).all()
    # the feed-forward victim's expectations refuse it (its own provenance)
    with pytest.raises(ArtifactError, match="gru agent network"):
        load_victim(f["policy.pt"], expect=cfgmod.expected_inputs(cfg, ENV, "mappo", 0)["policy"])


def memory_eval_rows(seeds=(0, 1), episodes=8) -> pd.DataFrame:
    """Evaluation rows of a feed-forward victim (benign ~10) and its GRU variant (benign ~20), with
    Hadamard, Max-Noise and one of Max-Noise's noises (an input, not a bar)."""
    rng = np.random.default_rng(3)
    means = {
        ("mappo", "benign"): 10.0,
        ("mappo", "hadamard"): 6.0,
        ("mappo", "max-noise"): 9.0,
        ("mappo", "noise-uniform"): 9.0,
        ("mappo-gru", "benign"): 20.0,
        ("mappo-gru", "hadamard"): 19.0,
        ("mappo-gru", "max-noise"): 12.0,
        ("mappo-gru", "noise-uniform"): 12.0,
    }
    rows = []
    for (algo, attack), mean in means.items():
        for seed in seeds:
            for ep in range(episodes):
                benign = attack == "benign"
                rows.append(
                    dict(
                        env=ENV,
                        algo=algo,
                        seed=seed,
                        attack=attack,
                        eps=0.0 if benign else 0.5,
                        n_attacked=0 if benign else 3,
                        episode=ep,
                        length=25,
                        max_abs_delta=0.0 if benign else 0.5,
                        value="gru" if algo.endswith("-gru") else "mlp",
                        ablation="victim_memory",
                        **{"return": mean + rng.normal(0, 2)},
                    )
                )
    return pd.DataFrame(rows)


def test_figure_data_drops_each_victim_against_its_own_benign_team(tmp_path):
    rows = memory_eval_rows()
    summary = summarise(rows, 500, 0.95, 0, keys=["attack", "eps", "n_attacked", "value"])
    data = ablation_figures.memory_rows(summary)
    assert set(data.algo) == {"mappo"} and set(data.network) == {"mlp", "gru"}
    assert set(data.attack) == {"hadamard", "max-noise"}  # the noise is an input of max-noise
    assert len(data) == 4

    def iqm(algo, attack):
        return trim_mean(rows[(rows.algo == algo) & (rows.attack == attack)]["return"], 0.25)

    for name, network in [("mappo", "mlp"), ("mappo-gru", "gru")]:
        for attack in ("hadamard", "max-noise"):
            bar = data[(data.network == network) & (data.attack == attack)].iloc[0]
            want = 100 * (iqm(name, "benign") - iqm(name, attack)) / abs(iqm(name, "benign"))
            assert bar.drop_pct == pytest.approx(want)
            assert bar.drop_ci_low <= bar.drop_pct <= bar.drop_ci_high
            assert bar.benign_iqm == pytest.approx(iqm(name, "benign"))
    # roughly 40% and 5% for Hadamard: the GRU victim's drop is against its own benign ~20, not ~10
    hadamard = data[data.attack == "hadamard"].set_index("network").drop_pct
    assert hadamard["mlp"] > 25 and hadamard["gru"] < 15
    # the workflow's figure job: from the summary CSV (values read back as strings)
    summary.to_csv(tmp_path / "summary.csv", index=False)
    figures.draw_figure("ablation_victim_memory", str(tmp_path / "summary.csv"), str(tmp_path / "fig"))
    assert (tmp_path / "fig.png").stat().st_size > 5000 and (tmp_path / "fig.pdf").exists()


def _dry_run(cwd, target, configfile="config/tiny.yaml"):
    cmd = [sys.executable, "-m", "snakemake", target, "-n", "--cores", "1", "--configfile", configfile]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    return res.returncode, res.stdout + res.stderr


def _jobs(out):
    import re

    stats = out.split("Job stats:")[1].split("Reasons:")[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M) if rule != "total"}


@pytest.fixture
def workflow_copy(tmp_path):
    import shutil

    for item in ["Snakefile", "workflow", "config"]:
        (shutil.copytree if (ROOT / item).is_dir() else shutil.copy)(ROOT / item, tmp_path / item)
    return tmp_path


def test_requesting_the_figure_runs_only_what_it_needs(workflow_copy):
    """tiny.yaml: one feed-forward victim and its GRU variant on mpe-simple_spread; each trained,
    recorded, with the one f_theta its attacks need, evaluated once; nothing of the main evaluation."""
    rc, out = _dry_run(workflow_copy, "figures/tiny/ablation_victim_memory.png")
    assert rc == 0, out[-3000:]
    assert _jobs(out) == {
        "train_victim": 2,
        "collect_samples": 2,
        "fit_align": 2,
        "evaluate_ablation": 2,
        "summarise_ablation": 1,
        "figure_ablation_victim_memory": 1,
    }
    for name in ("mappo", "mappo-gru"):
        assert f"results/tiny/victims/{ENV}/{name}/seed0/policy.pt" in out
        assert f"results/tiny/ablations/victim_memory/{ENV}/{name}/seed0.csv" in out
        assert f"results/tiny/align/{ENV}/{name}/seed0/mlp.pt" in out
    assert "vmas-balance" not in out  # the other env's victim takes no part


def test_with_a_zoo_the_gru_victims_come_from_it(workflow_copy):
    """With ``zoo:`` set, a missing GRU victim stops the run before any job, named with the way to
    make it; present, nothing is trained."""
    zoo = workflow_copy / "zoo/tiny"
    cfg = (workflow_copy / "config/tiny.yaml").read_text() + "zoo: zoo/tiny\n"
    (workflow_copy / "config/tinyzoo.yaml").write_text(cfg)
    for env in ["vmas-balance", ENV]:  # the dry run only checks that the files exist
        (zoo / env / "mappo/seed0").mkdir(parents=True)
        (zoo / env / "mappo/seed0/policy.pt").touch()
    rc, out = _dry_run(workflow_copy, "figures/tiny/ablation_victim_memory.png", "config/tinyzoo.yaml")
    assert rc != 0 and "config key 'zoo': 1 shipped victim(s) missing" in out, out[-3000:]
    assert f"zoo/tiny/{ENV}/mappo-gru/seed0/policy.pt" in out and "snakemake gru_victims --config zoo=null" in out
    (zoo / ENV / "mappo-gru/seed0").mkdir(parents=True)
    (zoo / ENV / "mappo-gru/seed0/policy.pt").touch()
    rc, out = _dry_run(workflow_copy, "figures/tiny/ablation_victim_memory.png", "config/tinyzoo.yaml")
    assert rc == 0, out[-3000:]
    assert "train_victim" not in _jobs(out) and _jobs(out)["evaluate_ablation"] == 2
