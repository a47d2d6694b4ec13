"""Every job's params hold exactly what the job reads.

Each stage runs on a cut of config/tiny.yaml with the parameter dict that
``marl_attacks.config`` builds for its rule, wrapped so that every key read is
noted (two levels deep: e.g. ``evaluate.eps``, ``env_block.victim_actions``). A
key the job never reads would make Snakemake rerun the job when it changes, for
nothing (as ``summarise`` did with the whole ``report`` block); the scripts pass
nothing else (test_workflow checks that no script reads the config).
"""

import copy

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from marl_attacks import config as cfgmod
from marl_attacks import paths
from marl_attacks.reporting import tables
from marl_attacks.reporting.claims import table_claims
from marl_attacks.reporting.deviations import table_deviations
from marl_attacks.reporting.summary import load_eval, run_ablation_summary, run_summary
from marl_attacks.stages import ablations, collect, evaluate, fit, score, train

ENV, ALGO = "mpe-simple_spread", "mappo"


class Reads(dict):
    """A dict that notes the keys read from it (``path.key``), and wraps its dict values likewise
    down to ``depth`` levels. Iterating or copying it reads every key."""

    def __init__(self, data: dict, read: set, path: str = "", depth: int = 2):
        super().__init__(
            {
                k: Reads(v, read, f"{path}{k}.", depth - 1) if isinstance(v, dict) and depth > 1 else v
                for k, v in data.items()
            }
        )
        self.read, self.path = read, path

    def _note(self, key) -> None:
        self.read.add(f"{self.path}{key}")

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def keys(self):
        for key in super().keys():
            self._note(key)
        return super().keys()

    def __iter__(self):
        return iter(self.keys())

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def values(self):
        return [self[k] for k in self.keys()]

    def __deepcopy__(self, memo):
        return {k: copy.deepcopy(self[k], memo) for k in self.keys()}


def leaves(data: dict, path: str = "", depth: int = 2) -> set[str]:
    """Every key of ``data`` down to ``depth`` levels, as :class:`Reads` names them."""
    out = set()
    for k, v in data.items():
        out.add(f"{path}{k}")
        if isinstance(v, dict) and depth > 1:
            out |= leaves(v, f"{path}{k}.", depth - 1)
    return out


def run_reading(stage_run, params: dict, **files) -> set[str]:
    """Run a stage on ``params`` and return the keys it never read."""
    read: set[str] = set()
    stage_run(Reads(params, read), **files)
    return leaves(params) - read


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("params")
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["envs"] = {ENV: cfg["envs"][ENV]}
    cfg["algos"] = {ALGO: dict(cfg["algos"][ALGO], total_steps=160)}
    cfg["fit"] = {"mlp": dict(cfg["fit"]["mlp"], epochs=1)}
    cfg["evaluate"].update(
        attacks=[
            "benign",
            "align-mlp",
            "targeted-align",
            "hadamard",
            "targeted-hadamard",
            "noise-uniform",
            "noise-gaussian",
            "noise-exponential",
            "noise-ou",
            "max-noise",
            "white-box-pgd",
        ],
        episodes=2,
    )
    cfg["attacks"]["noise-ou"] = {"theta": 0.2}
    cfg["deviations"] = {"victims": {ENV: [ALGO]}}
    cfg["fit"]["rnn"] = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())["fit"]["rnn"]  # targeting flipped
    cfgmod.check(cfg)
    files = {"policy": d / "policy.pt", "curve": d / "curve.csv", "samples": d / "samples.pt"}
    unread = {}
    unread["train"] = run_reading(
        lambda p, **f: train.run(p, progress=False, **f),
        cfgmod.train_params(cfg, ENV, ALGO, 0),
        policy_out=str(files["policy"]),
        curve_out=str(files["curve"]),
    )
    # the victim-memory ablation's GRU variant: its algorithm's settings with agent: gru
    unread["train mappo-gru"] = run_reading(
        lambda p, **f: train.run(p, progress=False, **f),
        cfgmod.train_params(cfg, ENV, ALGO + "-gru", 0),
        policy_out=str(d / "gru.pt"),
        curve_out=str(d / "gru.csv"),
    )
    unread["score"] = run_reading(
        score.run, cfgmod.score_params(cfg, ENV, ALGO, 0), policy=str(files["policy"]), out=str(d / "score.json")
    )
    unread["collect"] = run_reading(
        lambda p, **f: collect.run(p, progress=False, **f),
        cfgmod.collect_params(cfg, ENV, ALGO, 0),
        policy=str(files["policy"]),
        out=str(files["samples"]),
    )
    models = {}
    for n in [None, 20]:
        key = paths.align_key("mlp", n)
        models[key] = str(d / f"{key}.pt")
        unread[f"fit {key}"] = run_reading(
            lambda p, **f: fit.run(p, progress=False, **f),
            cfgmod.fit_params(cfg, ENV, ALGO, 0, "mlp", n),
            samples=str(files["samples"]),
            out=models[key],
        )
    unread["evaluate"] = run_reading(
        lambda p, **f: evaluate.run(p, progress=False, **f),
        cfgmod.evaluate_params(cfg, ENV, ALGO, 0),
        policy=str(files["policy"]),
        align={"mlp": models["mlp"]},
        rows_out=str(d / "eval.csv"),
        cost_out=str(d / "cost.csv"),
    )
    for ablation in cfg["ablations"]:
        align = (
            {"mlp_n20": models["mlp_n20"], "mlp_n60": models["mlp"]}
            if ablation == "samples"
            else {"mlp": models["mlp"]}
        )
        unread[f"ablation {ablation}"] = run_reading(
            lambda p, **f: ablations.run(p, progress=False, **f),
            cfgmod.ablation_params(cfg, ablation, ENV, ALGO, 0),
            policy=str(files["policy"]),
            align=align,
            out=str(d / f"{ablation}.csv"),
        )
    # the deviations table's jobs: victim_actions flipped (greedy here, sampled as EPyMARL) reruns them all
    flip, dev = "victim_actions", {k: str(d / f"dev_{k}") for k in ("samples", "mlp", "rows", "cost")}
    unread["collect_samples_deviation"] = run_reading(
        lambda p, **f: collect.run(p, progress=False, **f),
        cfgmod.deviation_collect_params(cfg, flip, ENV, ALGO, 0),
        policy=str(files["policy"]),
        out=dev["samples"],
    )
    unread["fit_align_deviation"] = run_reading(
        lambda p, **f: fit.run(p, progress=False, **f),
        cfgmod.deviation_fit_params(cfg, flip, ENV, ALGO, 0, "mlp"),
        samples=dev["samples"],
        out=dev["mlp"],
    )
    unread["evaluate_deviation"] = run_reading(
        lambda p, **f: evaluate.run(p, progress=False, **f),
        cfgmod.deviation_eval_params(cfg, flip, ENV, ALGO, 0),
        policy=str(files["policy"]),
        align={"mlp": dev["mlp"]},
        rows_out=dev["rows"],
        cost_out=dev["cost"],
    )
    # the report jobs, on those rows
    rows, table = str(d / "eval.csv"), lambda name: str(d / name)
    unread["summarise"] = run_reading(
        lambda p: run_summary([rows], table("summary.csv"), p), cfgmod.summary_params(cfg)
    )
    unread["summarise_ablation"] = run_reading(
        lambda p: run_ablation_summary([str(d / "pgd_steps.csv")], table("ablation_summary.csv"), p),
        cfgmod.summary_params(cfg),
    )
    unread["table_victims"] = run_reading(
        lambda p: tables.table_victims([str(d / "score.json")], table("victims"), p), cfgmod.victims_table_params(cfg)
    )
    unread["table_main_drop"] = run_reading(
        lambda p: tables.table_main_drop(pd.read_csv(table("summary.csv")), table("main_drop"), p),
        cfgmod.main_drop_params(cfg),
    )
    unread["table_claims"] = run_reading(
        lambda p: table_claims(load_eval([rows]), pd.read_csv(table("victims.csv")), table("claims"), None, p),
        cfgmod.claims_params(cfg),
    )
    unread["table_deviations"] = run_reading(
        lambda p: table_deviations([rows], {flip: [dev["rows"]]}, table("deviations"), p),
        cfgmod.deviations_table_params(cfg),
    )
    unread["_dir"] = d
    return unread


JOBS = [
    "train",
    "score",
    "collect",
    "fit mlp",
    "fit mlp_n20",
    "evaluate",
    "ablation samples",
    "ablation pgd_steps",
    "ablation n_attacked",
    "ablation victim_memory",
    "train mappo-gru",
    "summarise",
    "summarise_ablation",
    "table_victims",
    "table_main_drop",
    "table_claims",
    "collect_samples_deviation",
    "fit_align_deviation",
    "evaluate_deviation",
    "table_deviations",
]


@pytest.mark.parametrize("job", JOBS)
def test_each_stage_reads_every_key_of_its_params(made, job):
    assert made[job] == set(), f"{job} never reads {sorted(made[job])}: drop them from its params builder"


def test_reads_notices_an_unread_key(made):
    """The check itself: a key nobody reads is reported."""
    assert run_reading(lambda p: p["used"], {"used": 1, "spare": {"a": 1}}) == {"spare", "spare.a"}
    assert run_reading(lambda p: p["block"]["a"], {"block": {"a": 1, "b": 2}}) == {"block.b"}


def test_report_command_line_takes_its_params_from_a_config(made, tmp_path):
    """``python -m marl_attacks report ... --config`` builds the job's params as the workflow does."""
    from marl_attacks.reporting import cli

    summary = str(made["_dir"] / "summary.csv")
    cli.main(
        ["main-drop", "--summary", summary, "--stem", str(tmp_path / "a"), "--config", str(ROOT / "config/tiny.yaml")]
    )
    cli.main(["main-drop", "--summary", summary, "--stem", str(tmp_path / "b"), "--eps", "0.1"])  # tiny's drop_eps
    assert (tmp_path / "a.md").read_text() == (tmp_path / "b.md").read_text()
    with pytest.raises(SystemExit, match="give --eps or --config"):
        cli.main(["main-drop", "--summary", summary, "--stem", str(tmp_path / "c")])
