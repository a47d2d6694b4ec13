"""Bad configs are rejected before any job runs, with the key and the allowed values named."""

import copy
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

from marl_attacks import config as cfgmod


@pytest.fixture
def good():
    return yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())


@pytest.mark.parametrize("path", ["config.yaml", "tiny.yaml", "paper.yaml", "paper-full.yaml"])
def test_shipped_configs_are_valid(path):
    cfgmod.load(ROOT / "config" / path)


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(ROOT)) for p in [*ROOT.glob("config/*.yaml"), *ROOT.glob("bench/*.yaml")])
)
def test_every_shipped_config_passes_the_schema(path):
    """Every config in the repository (SMAX ones too, whose full check needs the optional extra) still
    follows the schema: a key made required later reaches all of them."""
    from marl_attacks.config.checks import check_schema

    check_schema(yaml.safe_load((ROOT / path).read_text()))


def _set(config, dotted, value):
    *head, last = dotted.split(".")
    node = config
    for k in head:
        node = node[k]
    node[last] = value


# one case per class of mistake: (key, bad value, what the message must name: the key, the bad
# value and what is allowed)
BAD = [
    # unknown keys, at the top and nested
    ("unknown_top", 1, ["'unknown_top'", "unknown key", "allowed: ['ablations', 'algos'"]),
    ("evaluate.extra", 1, ["'evaluate.extra'", "unknown key", "'n_attacked'"]),
    ("algos.mappo.learning_rate", 1.0, ["algos.mappo", "'learning_rate'", "allowed: ["]),
    ("attacks.align-mlp.steps", 3, ["attacks.align-mlp", "'steps'", "'pgd_steps'"]),
    # wrong types: schema-typed keys and algorithm/attack hyperparameters (dataclass fields)
    ("evaluate.episodes", "fifty", ["'evaluate.episodes'", "'fifty'", "type 'integer'"]),
    ("algos.mappo.lr", "1e-3", ["'algos.mappo.lr'", "'1e-3'", "type 'float'"]),  # YAML: 1e-3 is a string
    ("algos.mappo.total_steps", 2.5, ["'algos.mappo.total_steps'", "2.5", "type 'int'"]),
    ("attacks.align-mlp.pgd_steps", "3", ["'attacks.align-mlp.pgd_steps'", "'3'", "type 'int'"]),
    # the agent network: mlp or gru, also in an env's overrides; GRU-only keys need agent: gru
    ("algos.mappo.agent", "lstm", ["'algos.mappo.agent'", "'lstm'", "'mlp', 'gru'"]),
    ("envs.vmas-balance.train", {"mappo": {"agent": "rnn"}}, ["'algos.mappo'", "'rnn'", "allowed: ['mlp', 'gru']"]),
    ("algos.qmix", {"seq_len": 4}, ["'algos.qmix.seq_len'", "agent: gru only"]),
    # unknown env, algorithm, attack, f_theta names
    ("envs.vmas-flying", {"max_steps": 10}, ["'envs'", "'vmas-flying'", "allowed: ["]),
    ("algos.maddpg", {}, ["'algos'", "'maddpg'", "allowed: ["]),
    ("evaluate.attacks", ["benign", "align-cnn"], ["'evaluate.attacks'", "'align-cnn'", "allowed: ['benign'"]),
    ("attacks.align-cnn", {}, ["'attacks.align-cnn'", "unknown attack", "allowed: ['benign'"]),
    ("fit.cnn", {"hidden": 8}, ["'fit.cnn'", "unknown f_theta", "allowed: ["]),
    # values out of range
    ("evaluate.eps", [0.1, -0.2], ["'evaluate.eps.1'", "-0.2", "minimum of 0"]),
    ("evaluate.n_attacked", [0], ["'evaluate.n_attacked.0'", "0 is not allowed", '"const": "all"']),
    (
        "envs.vmas-balance.evaluate",
        {"n_attacked": ["some"]},
        ["'envs.vmas-balance.evaluate.n_attacked.0'", "'some'", '"const": "all"'],
    ),
    ("envs.vmas-balance.evaluate", {"eps": [-1]}, ["'envs.vmas-balance.evaluate.eps.0'", "-1", "minimum of 0"]),
    ("evaluate.algos", ["qmix"], ["'evaluate.algos'", "'qmix'", "allowed: ['mappo']"]),
    ("evaluate.algos", [], ["'evaluate.algos'", "[]", "non-empty"]),
    ("report.drop_eps", 0.3, ["'report.drop_eps'", "0.3", "[0.1, 0.5]"]),
    (
        "envs.vmas-balance.victim_actions",
        "sampled",
        ["'envs.vmas-balance.victim_actions'", "'sampled'", "'greedy'", "'sample'"],
    ),
    ("envs.vmas-balance.backend", "fast", ["'envs.vmas-balance.backend'", "'fast'", "'reference', 'batched'"]),
    # only LBF has a batched adapter
    ("envs.vmas-balance.backend", "batched", ["'envs.vmas-balance.backend'", "'batched'", "allowed: ['reference']"]),
    # empty grids
    ("evaluate.eps", [], ["'evaluate.eps'", "[]", "non-empty"]),
    ("evaluate.attacks", [], ["'evaluate.attacks'", "[]", "non-empty"]),
    ("evaluate.n_attacked", [], ["'evaluate.n_attacked'", "[]", "non-empty"]),
    ("seeds", [], ["'seeds'", "[]", "non-empty"]),
    ("envs", {}, ["'envs'", "{}", "non-empty"]),
]


@pytest.mark.parametrize("key,value,names", BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_values_are_rejected(good, key, value, names):
    bad = copy.deepcopy(good)
    _set(bad, key, value)
    with pytest.raises(cfgmod.ConfigError) as info:
        cfgmod.check(bad)
    for part in names:
        assert part in str(info.value), (part, str(info.value))


ABLATION_BAD = [
    ("ablations.samples.n_samples", [20, 5000], "ablations.samples.n_samples"),  # more than the pool
    ("ablations.samples.attacks", ["hadamard"], "ablations.samples.attacks"),  # uses no f_theta
    ("ablations.pgd_steps.attacks", ["white-box-fgsm"], "ablations.pgd_steps.attacks"),  # K fixed at 1
    ("ablations.pgd_steps.pgd_steps", [0, 1], "ablations.pgd_steps.pgd_steps"),  # K < 1
    ("ablations.n_attacked.envs", ["lbf-8x8-2p-2f-coop"], "ablations.n_attacked.envs"),  # not trained
    ("ablations.n_attacked.attacks", ["benign"], "ablations.n_attacked.attacks"),
    ("ablations.n_attacked.episodes", 0, "ablations.n_attacked.episodes"),
    ("ablations.victim_memory.attacks", ["align-cnn"], "ablations.victim_memory.attacks"),
    ("ablations.victim_memory.seeds", [7], "ablations.victim_memory.seeds"),  # not a victim seed
]


@pytest.mark.parametrize("key,value,expect", ABLATION_BAD)
def test_bad_ablation_values_are_rejected(good, key, value, expect):
    bad = copy.deepcopy(good)
    _set(bad, key, value)
    with pytest.raises(cfgmod.ConfigError, match=expect.replace(".", r"\.")):
        cfgmod.check(bad)


def test_per_env_overrides_are_checked_too(good):
    good["envs"]["vmas-balance"]["train"] = {"mappo": {"hidden": "big"}}
    with pytest.raises(cfgmod.ConfigError, match=r"'envs\.vmas-balance\.train\.mappo\.hidden': 'big'"):
        cfgmod.check(good)


def test_unknown_env_and_algo_and_hyperparameter(good):
    bad = copy.deepcopy(good)
    bad["envs"]["vmas-flying"] = {"max_steps": 10}
    with pytest.raises(cfgmod.ConfigError, match="unknown env 'vmas-flying'"):
        cfgmod.check(bad)
    bad = copy.deepcopy(good)
    bad["algos"]["maddpg"] = {}
    with pytest.raises(cfgmod.ConfigError, match="unknown algorithm 'maddpg'"):
        cfgmod.check(bad)
    bad = copy.deepcopy(good)
    bad["algos"]["mappo"]["learning_rate"] = 1.0
    with pytest.raises(cfgmod.ConfigError, match="learning_rate"):
        cfgmod.check(bad)
    bad = copy.deepcopy(good)
    bad["attacks"]["align-mlp"]["steps"] = 3
    with pytest.raises(cfgmod.ConfigError, match="attacks.align-mlp"):
        cfgmod.check(bad)


def test_max_noise_needs_its_noises(good):
    bad = copy.deepcopy(good)
    bad["evaluate"]["attacks"] = ["benign", "max-noise", "noise-uniform"]
    with pytest.raises(cfgmod.ConfigError, match="max-noise"):
        cfgmod.check(bad)


def test_env_overrides_reach_only_that_env(good):
    merged = cfgmod.algo_params(good, "vmas-balance", "mappo")
    assert merged == good["algos"]["mappo"]
    good["envs"]["vmas-balance"]["train"] = {"mappo": {"total_steps": 7}}
    assert cfgmod.algo_params(good, "vmas-balance", "mappo")["total_steps"] == 7
    assert cfgmod.algo_params(good, "mpe-simple_spread", "mappo")["total_steps"] == 2000


def test_value_learners_skip_continuous_envs(good):
    good["algos"]["qmix"] = {"total_steps": 100}
    good["envs"]["vmas-balance"]["kwargs"]["continuous_actions"] = True
    cfgmod.check(good)
    pairs, notes = cfgmod.victim_pairs(good)
    assert ("vmas-balance", "qmix") not in pairs and ("mpe-simple_spread", "qmix") in pairs
    assert ("vmas-balance", "mappo") in pairs
    assert len(notes) == 1 and "qmix" in notes[0] and "continuous" in notes[0]


def test_algorithm_that_fits_no_env_is_rejected(good):
    good["algos"]["vdn"] = {}
    del good["envs"]["mpe-simple_spread"]
    good["envs"]["vmas-balance"]["kwargs"]["continuous_actions"] = True
    with pytest.raises(cfgmod.ConfigError, match=r"algos\.vdn.*discrete actions only"):
        cfgmod.check(good)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("vmas-balance", {"n_agents": 3, "continuous_actions": True}),
        ("vmas-balance", {"n_agents": 3, "continuous_actions": False}),
        ("vmas-navigation", {"n_agents": 2}),
        ("mpe-simple_spread", {"N": 2}),
    ],
)
def test_static_action_type_matches_the_built_env(name, kwargs):
    from marl_attacks.envs import ENVS, action_type, make_env

    assert name in ENVS
    assert action_type(name, kwargs) == make_env(name, 1, max_steps=2, kwargs=kwargs).spec.action_type


@pytest.mark.parametrize("path", ["config.yaml", "tiny.yaml"])
def test_configs_exercise_every_attack(path):
    from marl_attacks.attacks import ATTACKS

    config = cfgmod.load(ROOT / "config" / path)
    # the quick config leaves out the attacks that tune themselves on the victim's returns (query
    # access, many extra episodes; config.yaml shows how to add one); the tiny config has them all
    tuned = {a for a, e in ATTACKS.items() if e.cls and "returns" in e.cls.needs} if path == "config.yaml" else set()
    assert set(config["evaluate"]["attacks"]) == set(list(ATTACKS)) - tuned
    assert any(m != "all" for m in config["evaluate"]["n_attacked"])  # targeted attacks need an m
    assert set(cfgmod.needed_archs(config)) == {"mlp", "rnn", "transformer", "mlp-robust"}


def test_fit_blocks_are_strict(good):
    bad = copy.deepcopy(good)
    bad["fit"]["rnn"]["lstm_size"] = 8
    with pytest.raises(cfgmod.ConfigError, match="fit.rnn"):
        cfgmod.check(bad)
    bad = copy.deepcopy(good)
    bad["fit"]["cnn"] = {"hidden": 8}
    with pytest.raises(cfgmod.ConfigError, match="cnn"):
        cfgmod.check(bad)
    bad = copy.deepcopy(good)
    del bad["fit"]["transformer"]
    with pytest.raises(cfgmod.ConfigError, match="transformer"):
        cfgmod.check(bad)


def test_targeted_attacks_need_an_integer_m(good):
    bad = copy.deepcopy(good)
    bad["evaluate"]["n_attacked"] = ["all"]
    with pytest.raises(cfgmod.ConfigError, match="targeted"):
        cfgmod.check(bad)


def test_env_evaluate_overrides_merge_and_are_checked(good):
    cfg = good
    env = next(iter(cfg["envs"]))
    cfg["envs"][env]["evaluate"] = {"episodes": 7, "eps": [cfg["report"]["drop_eps"]]}
    cfgmod.check(cfg)
    merged = cfgmod.eval_params(cfg, env)
    runs_here = [a for a in cfg["evaluate"]["attacks"] if env in cfg["attacks"].get(a, {}).get("envs", [env])]
    assert merged["episodes"] == 7 and merged["attacks"] == runs_here  # less those limited to other envs
    cfg["envs"][env]["evaluate"] = {"eps": [123.0]}
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.evaluate.eps.*drop_eps"):
        cfgmod.check(cfg)
    # an env's own attack list replaces evaluate.attacks there: its evaluation needs no f_theta
    cfg["envs"][env]["evaluate"] = {"attacks": ["benign", "hadamard"]}
    cfg.pop("deviations")  # which reads the claims' attacks there
    cfgmod.check(cfg)
    assert cfgmod.needed_archs(cfg, env) == []
    assert cfgmod.needed_archs(cfg) == cfgmod.needed_archs(cfg, list(cfg["envs"])[-1]) != []
    for bad, msg in ((["benign", "nosuch"], "unknown attack 'nosuch'"), (["benign", "max-noise"], "'max-noise' needs")):
        cfg["envs"][env]["evaluate"] = {"attacks": bad}
        with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.evaluate.attacks.*{msg}"):
            cfgmod.check(cfg)


def test_partial_team_attacks_are_checked(good):
    cfg = good
    cfg["evaluate"]["partial_team_attacks"] = ["align-mlp", "hadamard"]
    targeted = [a for a in cfg["evaluate"]["attacks"] if a.startswith("targeted-")]
    assert targeted  # the quick config runs the targeted attacks
    with pytest.raises(cfgmod.ConfigError, match=f"targeted attack '{targeted[0]}'.*must be listed"):
        cfgmod.check(cfg)
    cfg["evaluate"]["partial_team_attacks"] += targeted
    cfgmod.check(cfg)
    cfg["evaluate"]["partial_team_attacks"].append("max-noise")  # derived: never run itself
    with pytest.raises(cfgmod.ConfigError, match="'max-noise' is not a runnable attack"):
        cfgmod.check(cfg)
    cfg["evaluate"]["partial_team_attacks"].pop()
    cfg["evaluate"]["n_attacked"] = [1]
    with pytest.raises(cfgmod.ConfigError, match="lacks 'all', so it would never run"):
        cfgmod.check(cfg)


def test_thresholds_and_zoo_paths(good):
    cfg = good
    env = next(iter(cfg["envs"]))
    cfg["envs"][env]["threshold"] = 0.5
    cfg["zoo"] = "zoo/paper"
    cfgmod.check(cfg)
    assert cfgmod.thresholds(cfg) == {env: 0.5}
    assert cfgmod.policy_path(cfg, env, "mappo", 2) == f"zoo/paper/{env}/mappo/seed2/policy.pt"
    for off in (None, "null", "none", ""):  # --config zoo=null arrives as a string
        cfg["zoo"] = off
        assert cfgmod.zoo_dir(cfg) is None
    assert cfgmod.policy_path(cfg, env, "mappo", 2) == f"results/{cfg['run']}/victims/{env}/mappo/seed2/policy.pt"
    cfg["envs"][env]["threshold"] = "high"
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.threshold"):
        cfgmod.check(cfg)
    cfg["envs"][env]["threshold"] = {"mappo": 0.5}  # one per algorithm
    cfgmod.check(cfg)
    assert cfgmod.victims_table_params(cfg)["thresholds"] == {env: {"mappo": 0.5}}
    cfg["envs"][env]["threshold"] = {"mapo": 0.5}
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.threshold.mapo': not an algorithm"):
        cfgmod.check(cfg)
    cfg["envs"][env]["threshold"] = 0.5
    cfg["envs"][env]["threshold_on"] = "mean"
    assert cfgmod.victims_table_params(cfg)["threshold_on"] == {env: "mean"}
    cfg["envs"][env]["threshold_on"] = "median"
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.threshold_on"):
        cfgmod.check(cfg)


def test_threshold_spread_and_the_competence_rule(good):
    """A threshold that is a mean carries its spread and episode count, both or neither, per algorithm
    as the threshold may be; rule not_below needs its alpha; all of it reaches the victims table."""
    cfg = good
    env = next(iter(cfg["envs"]))
    cfg["envs"][env].update(threshold=0.9, threshold_on="mean", threshold_sd=0.25)
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.threshold_sd': set together with threshold_episodes"):
        cfgmod.check(cfg)
    cfg["envs"][env]["threshold_episodes"] = {"mappo": 400}
    cfgmod.check(cfg)
    cfg["envs"][env]["threshold_episodes"] = {"mapo": 400}
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.threshold_episodes.mapo': not an algorithm"):
        cfgmod.check(cfg)
    cfg["envs"][env]["threshold_episodes"] = 1
    with pytest.raises(cfgmod.ConfigError, match=rf"envs.{env}.threshold_episodes"):
        cfgmod.check(cfg)
    cfg["envs"][env]["threshold_episodes"] = 400
    cfg["envs"][env]["threshold_on"] = "iqm"
    with pytest.raises(cfgmod.ConfigError, match="set threshold_on: mean"):
        cfgmod.check(cfg)
    cfg["envs"][env]["threshold_on"] = "mean"
    assert cfgmod.victims_table_params(cfg)["competence"] == {"rule": "at_least"}  # the default
    cfg["report"]["competence"] = {"rule": "not_below"}
    with pytest.raises(cfgmod.ConfigError, match="report.competence': 'alpha' is a required property"):
        cfgmod.check(cfg)
    cfg["report"]["competence"] = {"rule": "not_worse", "alpha": 0.05}
    with pytest.raises(cfgmod.ConfigError, match="report.competence.rule"):
        cfgmod.check(cfg)
    cfg["report"]["competence"] = {"rule": "not_below", "alpha": 0.05}
    cfgmod.check(cfg)
    params = cfgmod.victims_table_params(cfg)
    assert params["threshold_sd"] == {env: 0.25} and params["threshold_episodes"] == {env: 400}
    assert params["competence"] == {"rule": "not_below", "alpha": 0.05}


def test_workflow_stops_on_a_bad_config_before_any_job(good, tmp_path):
    """The Snakefile runs the same checks: an unknown env stops even a dry run, naming the key."""
    for item in ["Snakefile", "workflow", "environment.yml"]:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    good["envs"]["vmas-flying"] = {"max_steps": 10}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(good))
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", "bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "invalid config: config key 'envs': unknown env 'vmas-flying'; allowed: [" in out, out[-2000:]
    assert not (tmp_path / "results").exists()


def test_profiles_rerun_incomplete_jobs_and_name_real_rules():
    """Both profiles rerun jobs a crash left incomplete; the SLURM profile submits to SLURM, and
    every rule it sizes exists (Snakemake silently ignores resources of unknown rules)."""
    rules = set(
        re.findall(
            r"^rule (\w+):",
            "".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow/rules").glob("*.smk")]),
            re.M,
        )
    )
    assert {"train_victim", "evaluate_attacks"} <= rules
    for name in ["local", "slurm"]:
        profile = yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())
        assert profile.get("rerun-incomplete") is True, name
    slurm = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert slurm["executor"] == "slurm"
    for key in ["set-threads", "set-resources"]:
        assert set(slurm[key]) <= rules, (key, set(slurm[key]) - rules)


def test_attacked_algos_default_to_every_algo_and_bound_the_ablations(good):
    two = copy.deepcopy(good)
    two["algos"]["ippo"] = dict(good["algos"]["mappo"])
    assert cfgmod.attacked_algos(two) == ["mappo", "ippo"]
    two["evaluate"]["algos"] = ["mappo"]
    assert cfgmod.attacked_algos(two) == ["mappo"]
    # which victims are attacked is not what one evaluation computes: no rerun of the others
    env = next(iter(good["envs"]))
    assert cfgmod.eval_params(two, env) == cfgmod.eval_params(good, env)
    assert "algos" in two["evaluate"] and "algos" not in cfgmod.eval_params(two, env)
    cfgmod.check(two)
    two["ablations"]["samples"]["algos"] = ["ippo"]  # trained, but not attacked
    with pytest.raises(cfgmod.ConfigError, match=r"ablations.samples.algos.*'ippo'.*evaluate.algos"):
        cfgmod.check(two)


def test_ablation_parameter_blocks(good):
    block = cfgmod.ablation_block(good, "pgd_steps")
    assert block["pgd_steps"] == good["ablations"]["pgd_steps"]["pgd_steps"]
    assert block["max_batch"] == good["evaluate"]["max_batch"]
    # which victims run it is not what a job computes: another env list must not rerun the others
    other = copy.deepcopy(good)
    other["ablations"]["pgd_steps"]["envs"] = list(good["envs"])[:1]
    other["ablations"]["pgd_steps"]["algos"] = ["mappo"]
    assert cfgmod.ablation_block(other, "pgd_steps") == block and "envs" not in block
    assert cfgmod.ablation_archs(good) == ["mlp"]
    assert cfgmod.fit_block(good, "mlp", "20") == {**cfgmod.fit_block(good, "mlp"), "n_samples": 20}


def test_victim_actions_default_to_greedy_and_follow_epymarl_in_the_paper_configs(good):
    assert {cfgmod.victim_actions(good, env, "mappo") for env in good["envs"]} == {"greedy"}
    for name in ["paper.yaml", "paper-full.yaml"]:
        cfg = yaml.safe_load((ROOT / "config" / name).read_text())
        # protocol authors: as EPyMARL evaluates, MAPPO/IPPO sample and QMIX/VDN act greedily, on every env
        for algo, mode in [("mappo", "sample"), ("ippo", "sample"), ("qmix", "greedy"), ("vdn", "greedy")]:
            assert {cfgmod.victim_actions(cfg, env, algo) for env in cfg["envs"]} == {mode}, (name, algo)
