"""The deviations table: each protocol choice flipped reruns only what it changes
(marl_attacks.config.deviations), and the table puts the claims under the authors' value beside ours."""

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT
from test_reporting import EPS_RULE, make_rows

from marl_attacks import config as cfgmod
from marl_attacks import protocol
from marl_attacks.reporting.deviations import flipped_rows, table_deviations

NOISES = ["max-noise", "noise-uniform", "noise-gaussian", "noise-exponential", "noise-ou"]


@pytest.fixture
def tiny():
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["algos"]["qmix"] = {"total_steps": 2000, "num_envs": 8, "hidden": 16}
    cfg["deviations"]["victims"] = {"vmas-balance": ["mappo", "qmix"]}
    cfgmod.check(cfg)
    return cfg


def test_a_flip_reruns_only_the_attacks_it_changes(tiny):
    needs = cfgmod.deviation_needs(tiny)
    assert set(needs) == {
        "benign",
        "align-mlp",
        "hadamard",
        "targeted-align",
        "targeted-hadamard",
        "white-box-pgd",
    } | set(NOISES)
    mappo = {c: cfgmod.deviation_attacks(tiny, c, "vmas-balance", "mappo", 0) for c in protocol.CHOICES}
    assert sorted(mappo["noise"]) == sorted(NOISES)  # two noises change, max-noise is made of all four
    assert mappo["hadamard"] == ["hadamard", "targeted-hadamard"]
    assert mappo["white_box"] == ["white-box-pgd"]  # white-box-fgsm changes too, but no claim reads it
    assert mappo["f_theta"] == ["align-mlp", "targeted-align", "targeted-hadamard"]  # those reading the MLP f_theta
    assert mappo["targeting"] == needs  # random agents drawn per step: every attack on m < n agents changes
    assert mappo["victim_actions"] == needs  # MAPPO acts otherwise (greedy here, sampled as EPyMARL): all
    assert cfgmod.deviation_inputs(tiny, "f_theta", "vmas-balance", "mappo", 0) == {
        "samples": False,  # refitted on the main run's samples
        "align": {"mlp": True},
    }
    assert cfgmod.deviation_inputs(tiny, "victim_actions", "vmas-balance", "mappo", 0) == {
        "samples": True,
        "align": {"mlp": True},
    }
    assert cfgmod.deviation_inputs(tiny, "hadamard", "vmas-balance", "mappo", 0) == {
        "samples": False,
        "align": {"mlp": False},  # targeted-hadamard chooses agents with the main run's f_theta
    }
    # QMIX is greedy both ways here: nothing to rerun, the main rows are the flipped side
    assert cfgmod.deviation_attacks(tiny, "victim_actions", "vmas-balance", "qmix", 0) == []
    job = cfgmod.deviation_eval_params(tiny, "noise", "vmas-balance", "mappo", 0)
    assert job["evaluate"]["attacks"] == mappo["noise"] and job["expect_align"] == {}
    assert job["evaluate"]["episodes"] == tiny["deviations"]["episodes"] == 3  # the main evaluation's first 3
    assert job["attacks"]["noise-exponential"] == {"sides": "positive"} and "align-mlp" not in job["attacks"]
    main = cfgmod.evaluate_params(tiny, "vmas-balance", "mappo", 0)
    tiny["deviations"]["episodes"] = 5
    with pytest.raises(cfgmod.ConfigError, match=r"'deviations.episodes': 5 is more than the 4 episodes vmas-balance"):
        cfgmod.check(tiny)
    assert {k: v for k, v in job.items() if k not in ("evaluate", "attacks", "expect_align")} == {
        k: v for k, v in main.items() if k not in ("evaluate", "attacks", "expect_align")
    }


def test_flipping_starts_from_the_configs_own_values(tiny):
    assert cfgmod.flipped(tiny, "noise")["protocol"] == {**protocol.resolve("ours"), "noise": "authors"}
    theirs = {**tiny, "protocol": "authors"}
    assert cfgmod.flipped(theirs, "victim_actions")["protocol"] == {
        **protocol.resolve("authors"),
        "victim_actions": "per-env",
    }
    # under the authors' protocol, flipping noise to ours drops their settings from the noises
    job = cfgmod.deviation_eval_params(theirs, "noise", "vmas-balance", "mappo", 0)
    assert "sides" not in job["attacks"].get("noise-exponential", {})


def test_config_refuses_a_flip_whose_f_theta_is_not_configured(tiny):
    """Targeting flipped to the authors' gives Targeted Hadamard the RNN f_theta: fit.rnn must be there,
    even where the main evaluation needs no RNN."""
    tiny["evaluate"]["attacks"].remove("align-rnn")
    del tiny["fit"]["rnn"]
    with pytest.raises(
        cfgmod.ConfigError, match=r"protocol.targeting flipped, 'targeted-hadamard' needs f_theta 'rnn'"
    ):
        cfgmod.check(tiny)
    tiny.pop("deviations")
    cfgmod.check(tiny)  # without the table, nothing needs it


def test_config_refuses_a_deviation_victim_the_evaluation_cannot_serve(tiny):
    tiny["deviations"]["victims"] = {"lbf-8x8-2p-2f-coop": ["mappo"]}
    with pytest.raises(cfgmod.ConfigError, match=r"'deviations.victims': env 'lbf-8x8-2p-2f-coop' is not in envs"):
        cfgmod.check(tiny)
    tiny["deviations"]["victims"] = {"vmas-balance": ["mappo"]}
    tiny["envs"]["vmas-balance"]["evaluate"] = {"attacks": ["benign", "align-mlp", "max-noise", *NOISES[1:]]}
    with pytest.raises(
        cfgmod.ConfigError, match=r"'deviations.victims.vmas-balance': the evaluation of vmas-balance lacks"
    ):
        cfgmod.check(tiny)


EFFECT = {"align-mlp": 30.0, "hadamard": 20.0, "max-noise": 10.0, "targeted-align": 20.0, "targeted-hadamard": 2.0}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Main rows of one victim (two seeds) where white-box PGD picks eps 0.5, and the rows a noise flip
    reran: a much stronger Max-Noise."""
    d = tmp_path_factory.mktemp("dev")
    main = make_rows({**EFFECT, "white-box-pgd": 30.0}, envs=("vmas-balance",))
    rerun = make_rows({"max-noise": 40.0}, envs=("vmas-balance",), seed=5)
    rerun = rerun[rerun.attack != "benign"]
    main.to_csv(d / "main.csv", index=False)
    rerun.to_csv(d / "noise.csv", index=False)
    return d


def params(run_protocol, episodes=30):
    attacks = ["benign", *EFFECT, "white-box-pgd"]
    return {"bootstrap_samples": 200, "ci": 0.95, "seed": 0, "eps": 0.1, "eps_rule": EPS_RULE, "attacks": attacks} | {
        "protocol": protocol.resolve(run_protocol),
        "episodes": {"vmas-balance": episodes},
    }


def test_flipped_rows_replace_only_what_was_rerun(files):
    main, rerun = pd.read_csv(files / "main.csv"), pd.read_csv(files / "noise.csv")
    rows = flipped_rows(main, rerun[rerun.seed == 0], ["benign", "align-mlp", "max-noise"])
    assert set(rows.attack) == {"benign", "align-mlp", "max-noise"}
    noise = rows[rows.attack == "max-noise"]
    assert (
        noise[noise.seed == 0]["return"].tolist()
        == rerun[(rerun.seed == 0) & (rerun.attack == "max-noise")]["return"].tolist()
    )
    assert (
        noise[noise.seed == 1]["return"].tolist()
        == main[(main.seed == 1) & (main.attack == "max-noise")]["return"].tolist()
    )
    assert len(rows) == len(main[main.attack.isin(["benign", "align-mlp", "max-noise"])])


@pytest.mark.parametrize("run_protocol", ["ours", "authors"])
def test_one_row_per_choice_with_each_side_from_its_evaluation(files, tmp_path, run_protocol):
    table = table_deviations(
        [str(files / "main.csv")], {"noise": [str(files / "noise.csv")]}, str(tmp_path / "dev"), params(run_protocol)
    )
    assert table.choice.tolist() == list(protocol.CHOICES) + list(protocol.BOTH_WAYS)
    t = table.set_index("choice")
    claim1 = "align-mlp_vs_max-noise"
    flipped_side = "ours" if run_protocol == "authors" else "authors"
    main_side = "authors" if run_protocol == "authors" else "ours"
    # the flipped noise is far stronger: Align's lead over Max-Noise shrinks on that side only
    assert t.loc["noise", f"{claim1}_{flipped_side}"] < t.loc["noise", f"{claim1}_{main_side}"] - 10
    assert t.loc["noise", "run_value"] == protocol.resolve(run_protocol)["noise"]
    # choices whose flip changed nothing (no rows): both sides are the main evaluation
    for choice in ["hadamard", "white_box", "victim_actions"]:
        assert t.loc[choice, f"{claim1}_authors"] == t.loc[choice, f"{claim1}_ours"]
        assert t.loc[choice, f"{claim1}_authors"] == t.loc["noise", f"{claim1}_{main_side}"]
    # eps: each env at the rule's eps (0.5 here: white-box PGD lowers the return by 15% at 0.1, 75% at 0.5)
    # against every env at report.drop_eps (0.1)
    assert t.loc["eps", "eps_authors"] == "0.5 (every env)" and t.loc["eps", "eps_ours"] == "0.1 (every env)"
    assert t.loc["eps", f"{claim1}_authors"] == t.loc["hadamard", f"{claim1}_ours"]
    assert not np.isclose(t.loc["eps", f"{claim1}_ours"], t.loc["eps", f"{claim1}_authors"])
    md = (tmp_path / "dev.md").read_text()
    assert "| victim_actions " in md and "1: Align > Max-Noise (authors)" in md and "VMAS Balance MAPPO" in md
    # deviations.episodes: the main rows' first episodes only, so the numbers change
    fewer = table_deviations(
        [str(files / "main.csv")], {}, str(tmp_path / "few"), params(run_protocol, episodes=10)
    ).set_index("choice")
    assert not np.isclose(fewer.loc["hadamard", f"{claim1}_ours"], t.loc["hadamard", f"{claim1}_ours"])
