"""The whole workflow through Snakemake on the tiniest config, in a temporary copy."""

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def snakemake(cwd, *args):
    # targets first: snakemake's --configfile takes several values and would swallow them
    cmd = [sys.executable, "-m", "snakemake", *args, "--cores", "2", "--configfile", "config/tiny.yaml"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


def copy_workflow(dest, extra=()):
    """The workflow's files (and ``extra`` ones, e.g. profiles, zoo) copied into ``dest``."""
    for item in ["Snakefile", "workflow", "config", "environment.yml", *extra]:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / item)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("wf")
    copy_workflow(d)
    res = snakemake(d)
    assert res.returncode == 0, res.stderr[-4000:]
    return d


FIGURES = [
    "return_vs_eps",
    "episode_length",
    "ablation_samples",
    "ablation_pgd_steps",
    "ablation_architecture",
    "ablation_n_attacked",
    "ablation_selection",
    "ablation_victim_memory",
]
TABLES = ["main_drop", "victims", "attack_cost", "access_assumptions", "claims"]
SECOND_TABLES = [
    "main_drop_fixed_eps",
    "claims_fixed_eps",
    "deviations",
]  # written by table_main_drop, _claims, own job


def test_outputs_and_contract(workdir):
    for f in (
        [f"figures/tiny/{x}.{ext}" for x in FIGURES for ext in ("png", "pdf")]
        + [f"tables/tiny/{x}.{ext}" for x in TABLES + SECOND_TABLES for ext in ("csv", "md", "tex")]
        + ["tables/tiny/claims_by_eps.csv", "results/tiny/summary.csv", "results/tiny/marl_eval.json"]
    ):
        assert (workdir / f).stat().st_size > 0, f
    rows = pd.concat(
        pd.read_csv(p) for p in (workdir / "results/tiny/eval").rglob("seed*.csv") if not p.name.endswith(".cost.csv")
    )
    assert (rows.max_abs_delta <= rows.eps + 1e-6).all()
    from marl_attacks.attacks import ATTACKS

    assert set(rows.attack) == set(list(ATTACKS))  # tiny.yaml exercises every attack
    # targeted attacks choose m < n agents (with all of them they equal their untargeted version)
    assert set(rows[rows.attack.str.startswith("targeted")].n_attacked) == {1}
    assert set(rows[rows.attack == "hadamard"].n_attacked) == {1, 3}
    cost = pd.read_csv(workdir / "tables/tiny/attack_cost.csv")
    assert set(cost.attack) == set(list(ATTACKS)) - {"benign", "max-noise"}
    for log in ["train_victim", "collect_samples", "fit_align", "evaluate_attacks", "report"]:
        assert any((workdir / "logs/tiny" / log).rglob("*.log")), log
    assert any((workdir / "benchmarks/tiny").rglob("*.tsv"))


def test_ablations_run_only_what_they_need(workdir):
    """tiny.yaml: ablations on mpe-simple_spread only; one extra f_theta (20 samples; 60 is the main fit)."""
    for ablation, values in [("samples", {20, 60}), ("pgd_steps", {1, 3}), ("n_attacked", {1, 2, 3})]:
        files = list((workdir / "results/tiny/ablations" / ablation).rglob("seed*.csv"))
        assert [f.relative_to(workdir / "results/tiny/ablations" / ablation).parts[0] for f in files] == [
            "mpe-simple_spread"
        ]
        rows = pd.read_csv(files[0])
        assert set(rows[rows.attack != "benign"].value) == values, ablation
        summary = pd.read_csv(workdir / "results/tiny/ablations" / ablation / "summary.csv")
        assert {"drop_pct", "drop_ci_low", "drop_ci_high", "value"} <= set(summary.columns)
    align = workdir / "results/tiny/align"
    assert sorted(p.relative_to(align).as_posix() for p in align.rglob("mlp_n*.pt")) == [
        "mpe-simple_spread/mappo/seed0/mlp_n20.pt"
    ]
    # victim memory: the feed-forward victim and its GRU variant (trained by the run, with its own f_theta)
    memory = workdir / "results/tiny/ablations/victim_memory"
    rows = pd.concat(pd.read_csv(f) for f in sorted(memory.rglob("seed*.csv")))
    assert sorted(f.relative_to(memory).as_posix() for f in memory.rglob("seed*.csv")) == [
        "mpe-simple_spread/mappo-gru/seed0.csv",
        "mpe-simple_spread/mappo/seed0.csv",
    ]
    assert rows.groupby("algo").value.unique().map(list).to_dict() == {"mappo": ["mlp"], "mappo-gru": ["gru"]}
    assert (workdir / "results/tiny/victims/mpe-simple_spread/mappo-gru/seed0/policy.pt").exists()
    assert (align / "mpe-simple_spread/mappo-gru/seed0/mlp.pt").exists()
    assert not (align / "mpe-simple_spread/mappo-gru/seed0/rnn.pt").exists()  # only what its attacks need
    assert not (workdir / "results/tiny/victims/vmas-balance/mappo-gru").exists()


def test_claims_and_marl_eval(workdir):
    claims = pd.read_csv(workdir / "tables/tiny/claims.csv")
    assert set(claims.claim.astype(str)) == {"1", "2", "3"}
    # "no eps": an env where white-box never reaches report.eps_rule's drop (tiny victims barely learn)
    assert set(claims.verdict) <= {"holds", "inconclusive", "reversed", "n/a", "no eps"}
    assert claims.loc[claims.verdict == "no eps", "eps"].isna().all()  # such an env has no eps and no numbers
    data = json.loads((workdir / "results/tiny/marl_eval.json").read_text())
    assert set(data) == {"vmas", "mpe"} and "mappo" in data["vmas"]["balance"]


def test_html_report_gathers_every_figure_and_table(workdir):
    res = snakemake(workdir, "--report", "report.html")
    assert res.returncode == 0, res.stderr[-3000:]
    html = (workdir / "report.html").read_text(errors="replace")
    for name in FIGURES:
        assert f"{name}.png" in html, name
    for name in ["main_drop", "victims", "attack_cost", "access_assumptions", "claims", "claims_by_eps", "deviations"]:
        assert f"{name}.csv" in html, name
    assert "paired stratified bootstrap" in html  # a caption, rendered
    assert "competence threshold" in html  # the victims table's caption


def test_rerun_does_nothing(workdir):
    res = snakemake(workdir, "-n")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def _jobs(out):
    """Rule -> job count of a dry run's job stats."""
    stats = out.split("Job stats:")[1].split("Reasons:")[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M) if rule != "total"}


def test_deleting_figure_reruns_only_its_job(workdir):
    (workdir / "figures/tiny/ablation_pgd_steps.png").unlink()
    res = snakemake(workdir, "-n", "figures/tiny/ablation_pgd_steps.png")
    assert _jobs(res.stdout + res.stderr) == {"figure_ablation_pgd_steps": 1}
    assert snakemake(workdir, "figures/tiny/ablation_pgd_steps.png").returncode == 0


def test_deleting_outputs_plans_only_their_jobs(workdir):
    """Every figure, table and the marl-eval file is its own job: deleting them plans those jobs alone.

    The plan is the claim; that a regenerated file is written is test_deleting_figure_reruns_only_its_job's
    (running all 14 jobs again cost ~90 s of CI). The files are put back as they were, mtimes included,
    after which there is again nothing to do.
    """
    targets = (
        [f"figures/tiny/{f}.png" for f in FIGURES]
        + [f"tables/tiny/{t}.md" for t in TABLES + ["deviations"]]
        + ["results/tiny/marl_eval.json"]
    )
    saved = workdir / "saved"
    saved.mkdir()
    for i, t in enumerate(targets):
        shutil.move(workdir / t, saved / str(i))
    try:
        res = snakemake(workdir, "-n")
        expect = {f"figure_{f}": 1 for f in FIGURES} | {f"table_{t}": 1 for t in TABLES + ["deviations"]}
        assert _jobs(res.stdout + res.stderr) == expect | {"export_marl_eval": 1, "all": 1}
    finally:
        for i, t in enumerate(targets):
            shutil.move(saved / str(i), workdir / t)
    assert "Nothing to be done" in (lambda r: r.stdout + r.stderr)(snakemake(workdir, "-n"))


def test_changing_eps_reruns_evaluation_not_training(workdir):
    cfg = (workdir / "config/tiny.yaml").read_text()
    changed = workdir / "config/tiny.yaml"
    changed.write_text(cfg.replace("eps: [0.1, 0.5]", "eps: [0.1, 0.3]"))
    try:
        res = snakemake(workdir, "-n")
        out = res.stdout + res.stderr
        assert "evaluate_attacks" in out and "summarise" in out and "figure_return_vs_eps" in out
        assert "table_claims" in out and "export_marl_eval" in out
        # the ablations run at their own eps: the main grid does not touch them
        for rule in ["train_victim", "collect_samples", "fit_align", "evaluate_ablation"]:
            assert rule not in out
    finally:
        changed.write_text(cfg)


SUMMARY_READERS = {
    "figure_return_vs_eps",
    "figure_episode_length",
    "figure_ablation_architecture",
    "figure_ablation_selection",
    "table_main_drop",
}
ABLATION_FIGURES = {
    "figure_ablation_samples",
    "figure_ablation_pgd_steps",
    "figure_ablation_n_attacked",
    "figure_ablation_victim_memory",
}
EVAL_READERS = {"summarise", "table_claims", "table_attack_cost", "export_marl_eval"} | SUMMARY_READERS
VICTIMS_READERS = {
    "figure_return_vs_eps",
    "figure_episode_length",
    "figure_ablation_architecture",
    "figure_ablation_selection",
    "table_claims",
}


@pytest.mark.parametrize(
    "old,new,rules",
    [
        # the eps of the main tables: read by those two tables only
        (
            "report: {drop_eps: 0.1,",
            "report: {drop_eps: 0.5,",
            {"table_main_drop", "table_claims", "table_deviations"},  # deviations: its eps row
        ),
        # the eps rule: the same tables, nothing upstream
        ("min_drop: 0.2}", "min_drop: 0.3}", {"table_main_drop", "table_claims", "table_deviations"}),
        # the bootstrap: every summary and the claims, then what reads the summaries
        (
            "bootstrap_samples: 50",
            "bootstrap_samples: 40",
            {"summarise", "summarise_ablation", "table_claims", "table_deviations"}
            | SUMMARY_READERS
            | ABLATION_FIGURES,
        ),
        # one attack's hyperparameter: the evaluations that run it (the main one, the victim-memory
        # ablation's for both victims, and the flipped ones that rerun it: white_box, victim_actions),
        # not the other ablations (which do not)
        (
            "white-box-pgd: {pgd_steps: 2}",
            "white-box-pgd: {pgd_steps: 3}",
            {"evaluate_attacks", "evaluate_ablation", "summarise_ablation", "figure_ablation_victim_memory"}
            | {"evaluate_deviation", "table_deviations"}
            | EVAL_READERS,
        ),
        # a competence threshold: the victims table and what reads it
        (
            "    kwargs: {N: 3, local_ratio: 0.5}\n",
            "    kwargs: {N: 3, local_ratio: 0.5}\n    threshold: -50\n",
            {"table_victims"} | VICTIMS_READERS,
        ),
        # what passing a threshold means: the same jobs
        (
            "ci: 0.95}",
            "ci: 0.95, competence: {rule: not_below, alpha: 0.05}}",
            {"table_victims"} | VICTIMS_READERS,
        ),
    ],
    ids=[
        "report.drop_eps",
        "report.eps_rule",
        "report.bootstrap_samples",
        "attacks.white-box-pgd",
        "envs.threshold",
        "report.competence",
    ],
)
def test_changing_a_config_key_reruns_exactly_the_jobs_that_read_it(workdir, old, new, rules):
    """A config value reaches only the jobs whose params hold it (marl_attacks.config's builders),
    so a change reruns those jobs and what reads their outputs, nothing else."""
    cfg = (workdir / "config/tiny.yaml").read_text()
    changed = workdir / "config/tiny.yaml"
    assert old in cfg
    changed.write_text(cfg.replace(old, new))
    try:
        res = snakemake(workdir, "-n")
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-3000:]
        assert set(_jobs(out)) - {"all"} == rules
    finally:
        changed.write_text(cfg)


def test_changing_victim_actions_reruns_scoring_and_evaluation_not_training(workdir):
    """envs.<env>.victim_actions reaches every job where the victim acts (through params:):
    sampling on one env reruns its scoring, collection, fits, evaluations and ablations, but
    neither training nor the other env's jobs."""
    cfg = (workdir / "config/tiny.yaml").read_text()
    changed = workdir / "config/tiny.yaml"
    old = "    kwargs: {N: 3, local_ratio: 0.5}\n"
    assert old in cfg
    changed.write_text(cfg.replace(old, old + "    victim_actions: sample\n"))
    try:
        res = snakemake(workdir, "-n")
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-3000:]
        jobs = _jobs(out)
        for rule in [
            "score_victim",
            "collect_samples",
            "fit_align",
            "fit_align_n",
            "evaluate_attacks",
            "evaluate_ablation",
            "table_victims",
            "summarise",
        ]:
            assert rule in jobs, (rule, jobs)
        assert "train_victim" not in jobs
        # one victim per env in tiny (two in all): only mpe-simple_spread's jobs rerun, there for its
        # GRU variant (victim memory ablation) too
        assert jobs["score_victim"] == jobs["evaluate_attacks"] == 1 and jobs["collect_samples"] == 2
    finally:
        changed.write_text(cfg)


def test_deviations_table_has_one_row_per_protocol_choice(workdir):
    """tables/tiny/deviations.*: one row per protocol choice and per choice reported both ways; each
    flipped evaluation wrote only the attacks its flip changes, and only the victim_actions flip
    (MAPPO: greedy in this config, sampled as EPyMARL) recollected samples; it and the f_theta flip
    refitted the MLP f_theta (the targeting flip reuses the main RNN fit for Targeted Hadamard)."""
    from marl_attacks import config as cfgmod
    from marl_attacks.protocol import BOTH_WAYS, CHOICES

    table = pd.read_csv(workdir / "tables/tiny/deviations.csv")
    assert table.choice.tolist() == list(CHOICES) + list(BOTH_WAYS)
    assert table.set_index("choice").loc["victim_actions", ["authors_value", "ours_value", "run_value"]].tolist() == [
        "authors",
        "per-env",
        "per-env",
    ]
    assert table.filter(like="_vs_").notna().any().all()
    assert "| victim_actions " in (workdir / "tables/tiny/deviations.md").read_text()
    cfg = cfgmod.load(workdir / "config/tiny.yaml")
    made = workdir / "results/tiny/deviations"
    for choice in CHOICES:
        rows = pd.read_csv(made / choice / "eval/vmas-balance/mappo/seed0.csv")
        assert sorted(set(rows.attack)) == sorted(cfgmod.deviation_attacks(cfg, choice, "vmas-balance", "mappo", 0))
        assert set(rows.episode) == {0, 1, 2}  # deviations.episodes: the main evaluation's first 3 of 4
    assert set(pd.read_csv(made / "noise/eval/vmas-balance/mappo/seed0.csv").attack) == {
        "noise-uniform",
        "noise-gaussian",
        "noise-exponential",
        "noise-ou",
        "max-noise",
    }
    assert sorted(p.relative_to(made).as_posix() for p in made.rglob("*.pt")) == [
        "f_theta/align/vmas-balance/mappo/seed0/mlp.pt",  # the authors' shared f_theta, on the main samples
        "victim_actions/align/vmas-balance/mappo/seed0/mlp.pt",
        "victim_actions/samples/vmas-balance/mappo/seed0/samples.pt",
    ]


def test_a_deviation_victim_adds_only_the_jobs_its_flips_need(workdir):
    """One more victim in deviations.victims: per choice, one evaluation of what the flip changes there,
    the samples the victim_actions flip changes, the MLP f_theta (the claims' Align) it and the f_theta
    flip change, and the table; nothing of the main run, which the flipped sides reuse."""
    cfg = (workdir / "config/tiny.yaml").read_text()
    changed = workdir / "config/tiny.yaml"
    old = "deviations: {victims: {vmas-balance: [mappo]},"
    assert old in cfg
    changed.write_text(cfg.replace(old, "deviations: {victims: {vmas-balance: [mappo], mpe-simple_spread: [mappo]},"))
    try:
        res = snakemake(workdir, "-n")
        out = res.stdout + res.stderr
        assert res.returncode == 0, out[-3000:]
        assert _jobs(out) == {
            "evaluate_deviation": 6,  # one per choice: noise, hadamard, white_box, targeting, f_theta, victim_actions
            "collect_samples_deviation": 1,  # victim_actions
            "fit_align_deviation": 2,  # the MLP under victim_actions (new samples) and f_theta (their network)
            "table_deviations": 1,
            "all": 1,
        }
        for choice in ["noise", "hadamard", "white_box", "targeting", "f_theta", "victim_actions"]:
            assert f"results/tiny/deviations/{choice}/eval/mpe-simple_spread/mappo/seed0.csv" in out
        assert "results/tiny/deviations/victim_actions/align/mpe-simple_spread/mappo/seed0/mlp.pt" in out
    finally:
        changed.write_text(cfg)


def test_zoo_switch_uses_shipped_victims_instead_of_training(workdir):
    """``zoo:`` points the workflow at shipped policies: nothing is trained, and a missing
    shipped victim is named before any job starts."""
    cfg = (workdir / "config/tiny.yaml").read_text().replace("run: tiny", "run: tinyzoo")
    (workdir / "config/tinyzoo.yaml").write_text(cfg + "\nzoo: results/tiny/victims\n")
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", "config/tinyzoo.yaml"]
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "collect_samples" in out and "evaluate_attacks" in out
    assert "train_victim" not in out
    (workdir / "config/tinyzoo.yaml").write_text(cfg + "\nzoo: no/such/zoo\n")
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "config key 'zoo'" in out and "no/such/zoo/" in out


def test_stale_input_is_refused_by_the_job_that_reads_it(workdir, tmp_path):
    """Rules pass each job what its inputs must have been made from. Here a config change that
    the run does not act on (--rerun-triggers mtime ignores params) leaves f_theta made by the
    old config: the evaluation that reads it stops and names the file and the differing key."""
    d = tmp_path / "wf"
    shutil.copytree(workdir, d, symlinks=True)
    cfg = d / "config/tiny.yaml"
    old = "mlp: {hidden: 16, layers: 2, lr: 1.0e-3, batch_size: 16, epochs: 3,"
    assert old in cfg.read_text()
    cfg.write_text(cfg.read_text().replace(old, old.replace("epochs: 3", "epochs: 4")))
    victim = "vmas-balance/mappo/seed0"
    res = snakemake(d, f"results/tiny/eval/{victim}.csv", "--rerun-triggers", "mtime", "--forcerun", "evaluate_attacks")
    assert res.returncode != 0
    log = (d / f"logs/tiny/evaluate_attacks/{victim}.log").read_text()
    assert f"results/tiny/align/{victim}/mlp.pt: made by a different config" in log, log[-3000:]
    assert "fit.epochs = 3 in the file, 4 expected" in log and "delete it and rerun snakemake" in log
    assert not (d / f"results/tiny/eval/{victim}.csv").exists()


def test_lint_is_clean():
    """``snakemake --lint`` finds nothing but the missing per-rule conda environments, which the
    workflow leaves out on purpose: every job imports this package from the checkout (README, Conda)."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    out = res.stdout + res.stderr
    lints = re.findall(r"^    \* (.+?):$", out, flags=re.M)
    assert set(lints) <= {"Specify a conda environment or container for each rule."}, out
    assert out.count("Lints for rule") == len(lints), out  # one lint per rule, that one


def test_slurm_profile_dry_run_plans_the_paper_workflow(tmp_path):
    copy_workflow(tmp_path, extra=["profiles", "zoo"])
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--profile",
            "profiles/slurm",
            "-n",
            "--configfile",
            "config/paper.yaml",
            "--config",
            "zoo=null",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    for rule in [
        "train_victim",
        "collect_samples",
        "fit_align",
        "evaluate_attacks",
        "summarise",
        "figure_return_vs_eps",
        "table_main_drop",
        "table_victims",
        "fit_align_n",
        "evaluate_ablation",
        "summarise_ablation",
        "figure_ablation_samples",
        "table_claims",
        "export_marl_eval",
    ]:
        assert rule in out


def test_evaluate_algos_trains_and_scores_every_victim_but_attacks_only_its_own(tmp_path):
    """evaluate.algos: IPPO victims are trained and scored (victims table), only MAPPO's attacked."""
    copy_workflow(tmp_path)
    cfg = (tmp_path / "config/tiny.yaml").read_text()
    mappo = "  mappo: {total_steps: 2000, num_envs: 8, rollout_len: 10, epochs: 2, minibatches: 2, hidden: 16}\n"
    assert mappo in cfg and "  max_batch: 64\n" in cfg
    cfg = cfg.replace(mappo, mappo + mappo.replace("mappo", "ippo"))
    (tmp_path / "config/tiny.yaml").write_text(cfg.replace("  max_batch: 64\n", "  max_batch: 64\n  algos: [mappo]\n"))
    res = snakemake(tmp_path, "-n")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    jobs = _jobs(out)
    assert jobs["score_victim"] == 4  # 2 envs x (mappo, ippo)
    assert jobs["evaluate_attacks"] == 2  # mappo only
    # + the GRU variant of the attacked mappo on the victim-memory env (not of ippo)
    assert jobs["train_victim"] == 5 and jobs["collect_samples"] == 3
    assert "Evaluating ippo" not in out and "Evaluating mappo" in out
