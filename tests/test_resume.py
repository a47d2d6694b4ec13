"""Crash and resume through Snakemake: a run killed in training and again in evaluation,
rerun with --rerun-incomplete, ends with the same summary as a run never interrupted.

The config is config/tiny.yaml cut to one env, one f_theta and four attacks, with a
resume point every 5 training updates. The whole Snakemake process group is killed
with SIGKILL (no clean-up handlers run), as a node failure or an OOM kill would.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from conftest import ROOT

RUN = "resume"
VICTIM = "mpe-simple_spread/mappo/seed0"
POLICY = f"results/{RUN}/victims/{VICTIM}/policy.pt"
CKPT = POLICY + ".ckpt"
EVAL_LOG = f"logs/{RUN}/evaluate_attacks/{VICTIM}.log"
EVAL_ROWS = f"results/{RUN}/eval/{VICTIM}.csv"
SUMMARY = f"results/{RUN}/summary.csv"
TIMEOUT = 600  # seconds, for each snakemake call


def _config() -> dict:
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["run"] = RUN
    cfg["envs"] = {"mpe-simple_spread": cfg["envs"]["mpe-simple_spread"]}
    cfg.pop("deviations")  # its victim is on another env
    cfg["algos"]["mappo"]["checkpoint_every"] = 5  # 25 updates: resume points after 5, 10, 15, 20
    cfg["fit"] = {"mlp": cfg["fit"]["mlp"]}
    cfg["attacks"] = {"align-mlp": cfg["attacks"]["align-mlp"]}
    cfg["evaluate"].update(attacks=["benign", "align-mlp", "hadamard", "noise-uniform"], n_attacked=["all"], episodes=8)
    return cfg


def _workdir(path):
    path.mkdir()
    for item in ["Snakefile", "workflow", "profiles", "environment.yml"]:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, path / item)
    (path / "config").mkdir()
    (path / "config/resume.yaml").write_text(yaml.safe_dump(_config()))
    return path


def _cmd(*extra):
    # the target before --configfile, which takes several values and would swallow it
    return [sys.executable, "-m", "snakemake", SUMMARY, *extra, "--configfile", "config/resume.yaml"]


def _start(cwd, *extra):
    log = open(cwd / "snakemake.out", "a")
    # a session of its own, so that the whole process group (snakemake and its jobs) can be killed
    return subprocess.Popen(_cmd(*extra), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _kill_when(proc, cwd, ready, what):
    """Poll until ``ready()``, then SIGKILL the process group; fail if that never happens."""
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if proc.poll() is not None:
            pytest.fail(
                f"snakemake ended (rc {proc.returncode}) before {what}:\n" + (cwd / "snakemake.out").read_text()[-3000:]
            )
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # the jobs were in snakemake's process group: wait until every member is gone
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail("a job outlived the killed snakemake process group")


def _read(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _unlock(cwd):
    """A SIGKILL leaves snakemake's lock behind; --unlock removes it (and runs nothing)."""
    res = subprocess.run(_cmd("--unlock"), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr[-3000:]


def _finish(proc, cwd):
    assert proc.wait(timeout=TIMEOUT) == 0, (cwd / "snakemake.out").read_text()[-4000:]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_summary(tmp_path):
    ref, run = _workdir(tmp_path / "ref"), _workdir(tmp_path / "run")
    # the uninterrupted reference runs beside the interrupted run (each runs one job at a time)
    reference = _start(ref, "--cores", "1")
    try:
        # (a) kill in the middle of training: a resume point exists, the policy does not
        _kill_when(_start(run, "--cores", "1"), run, lambda: (run / CKPT).exists(), "a training checkpoint was written")
        assert not (run / POLICY).exists()
        _unlock(run)
        # (b) rerun; kill it while the evaluation job is running
        _kill_when(
            _start(run, "--cores", "1", "--rerun-incomplete"),
            run,
            lambda: "evaluate mpe-simple_spread" in _read(run / EVAL_LOG),
            "the evaluation job started evaluating",
        )
        assert not (run / EVAL_ROWS).exists()
        train_log = (run / f"logs/{RUN}/train_victim/{VICTIM}.log").read_text()
        assert "resuming from the checkpoint" in train_log, train_log[-2000:]
        assert not (run / CKPT).exists()  # deleted once the policy was written
        _unlock(run)
        # (c) rerun through the local profile, which sets rerun-incomplete
        _finish(_start(run, "--profile", "profiles/local"), run)
    finally:
        _finish(reference, ref)
    assert (run / SUMMARY).read_bytes() == (ref / SUMMARY).read_bytes()
    assert (run / EVAL_ROWS).read_bytes() == (ref / EVAL_ROWS).read_bytes()
    # the resumed curve continues the interrupted one: the same rows as the reference
    curve = f"results/{RUN}/victims/{VICTIM}/curve.csv"
    a, b = (pd.read_csv(d / curve).drop(columns="wall_s") for d in (run, ref))
    pd.testing.assert_frame_equal(a, b)
