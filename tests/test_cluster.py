"""The tiny config through the SLURM profile, against a real one-node SLURM cluster.

tests/cluster/start-slurm.sh installs Debian's slurm-wlm and munge when missing
and starts munged, slurmctld and slurmd on localhost; the daemons are stopped by
their pid files afterwards. Without an accounting database the plugin's default
``sacct`` status check fails, so ``squeue`` is used; a hard ``timeout -s KILL``
guards against the plugin looping after failed status checks.
Skipped when not root or when the cluster cannot be started (no apt, no network).
"""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.slurm]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("starting SLURM daemons needs root")
    state = tmp_path_factory.mktemp("slurm-state")
    # OMP_NUM_THREADS (set by earlier tests in this process) would cap `nproc` and the jobs' cores
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["SLURM_TEST_STATE"] = str(state)
    start = subprocess.run(
        ["bash", str(ROOT / "tests/cluster/start-slurm.sh")], env=env, capture_output=True, text=True, timeout=600
    )
    if start.returncode != 0:
        pytest.skip(f"could not start SLURM: {start.stderr[-2000:]}")
    yield env
    subprocess.run(["bash", "-c", "scancel -u $(id -un) 2>/dev/null; true"], timeout=60)
    subprocess.run(["bash", str(ROOT / "tests/cluster/stop-slurm.sh")], env=env, timeout=60)


def test_tiny_config_runs_through_slurm_profile(cluster, tmp_path):
    for item in ["Snakefile", "workflow", "config", "profiles", "environment.yml"]:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    rules = ["train_victim", "collect_samples", "fit_align", "evaluate_attacks", "score_victim"]
    cmd = [
        "timeout",
        "-s",
        "KILL",
        "1500",
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/slurm",
        "--configfile",
        "config/tiny.yaml",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-no-account",
        "--slurm-keep-successful-logs",
        "--jobs",
        "4",
        # this one-node test cluster has no GPUs and only this machine's cores: one core per
        # job lets two jobs run side by side on a 2-core machine
        "--set-resources",
        "fit_align:gpu=0",
        "evaluate_attacks:gpu=0",
        *[f"{r}:cpus_per_task=1" for r in rules],
        "--set-threads",
        *[f"{r}=1" for r in rules],
        # one victim's chain (train, score, collect, the four f_theta fits, evaluate): every
        # rule kind goes through sbatch; the whole tiny workflow (~45 jobs, one at a time through
        # the scheduler) is tests/test_workflow.py's job and took ~12 min here
        "--",
        "results/tiny/eval/vmas-balance/mappo/seed0.csv",
        "results/tiny/victims/vmas-balance/mappo/seed0/score.json",
    ]
    res = subprocess.run(cmd, cwd=tmp_path, env=cluster, capture_output=True, text=True)
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    assert "SLURM jobid" in res.stdout + res.stderr  # jobs really went through sbatch
    rows = pd.read_csv(tmp_path / "results/tiny/eval/vmas-balance/mappo/seed0.csv")
    assert (rows.max_abs_delta <= rows.eps + 1e-6).all()
    assert set(rows.attack) >= {"benign", "align-mlp", "align-rnn", "white-box-pgd"}
    for rule in rules:  # each rule kind ran as a SLURM job (the plugin logs one line per job)
        assert list((tmp_path / ".snakemake/slurm_logs").glob(f"rule_{rule}/**/*.log")), rule
