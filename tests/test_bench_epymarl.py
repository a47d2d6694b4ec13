"""The curve parsers of bench/epymarl_side_by_side.py on tiny logs written here (no EPyMARL needed)."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "epymarl_side_by_side.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("epymarl_side_by_side", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _np(x: float) -> dict:
    # how sacred's jsonpickle stores a numpy float
    return {"dtype": "float64", "py/object": "numpy.float64", "value": x}


@pytest.fixture()
def epymarl_run(tmp_path):
    metrics = {
        "return_mean": {
            "steps": [500, 10500, 20500],
            "timestamps": ["2026-11-29T14:00:41.000000", "2026-11-29T14:01:01.000000", "2026-11-29T14:01:21.000000"],
            "values": [_np(0.1), _np(0.3), 0.5],
        },
        "test_return_mean": {
            "steps": [500, 20500],
            "timestamps": ["2026-11-29T14:00:45.000000", "2026-11-29T14:01:25.000000"],
            "values": [_np(0.05), _np(0.6)],
        },
        "test_return_std": {
            "steps": [500, 20500],
            "timestamps": ["2026-11-29T14:00:45.000000", "2026-11-29T14:01:25.000000"],
            "values": [_np(0.1), _np(0.3)],
        },
        "test_ep_length_mean": {
            "steps": [500, 20500],
            "timestamps": ["2026-11-29T14:00:45.000000", "2026-11-29T14:01:25.000000"],
            "values": [_np(50.0), _np(40.0)],
        },
        "pg_loss": {"steps": [500], "timestamps": ["2026-11-29T14:00:42.000000"], "values": [_np(0.0)]},
    }
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    run = {"status": "COMPLETED", "start_time": "2026-11-29T14:00:40.000000", "stop_time": "2026-11-29T14:01:30.000000"}
    (tmp_path / "run.json").write_text(json.dumps(run))
    return tmp_path


def _write_curve(path: Path, rows: list[tuple]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["update", "env_steps", "wall_s", "episodes", "episode_return", "episode_length", "pg_loss"])
        for i, (steps, wall, n, ret) in enumerate(rows):
            w.writerow([i, steps, wall, n, "" if ret is None else ret, "" if ret is None else 50, 0.1])


def test_parse_epymarl_metrics_reads_sacred_scalars_and_times(bench, epymarl_run):
    m = bench.parse_epymarl_metrics(epymarl_run / "metrics.json")
    assert set(m) == {"return_mean", "test_return_mean", "test_return_std", "test_ep_length_mean"}
    assert m["return_mean"] == [(500, 0.1, 0.0), (10500, 0.3, 20.0), (20500, 0.5, 40.0)]
    assert m["test_return_mean"][-1] == (20500, 0.6, 44.0)
    assert bench.parse_epymarl_run(epymarl_run / "run.json") == {"status": "COMPLETED", "wall_s": 50.0}


def test_our_curve_skips_rows_without_episodes_and_bins_by_episode_count(bench, tmp_path):
    rows = [(1000, 1.0, 0, None), (2000, 2.0, 1, 0.2), (3000, 3.0, 3, 0.6), (4000, 4.0, 2, 1.0)]
    _write_curve(tmp_path / "curve.csv", rows)
    rows = bench.parse_our_curve(tmp_path / "curve.csv")
    assert rows == [(2000, 0.2, 2.0, 1), (3000, 0.6, 3.0, 3), (4000, 1.0, 4.0, 2)]
    binned = bench.bin_curve(rows, [1500, 3000, 4000])
    # (1.0 * 0.2 + 3 * 0.6) / 4 episodes; the first window is empty and left out
    assert binned == [(3000, pytest.approx(0.5), 3.0), (4000, 1.0, 4.0)]
    assert bench.final_window_mean(binned, 4000, frac=0.1) == 1.0


def test_summary_compares_equal_steps_and_counts_epymarl_test_steps(bench, epymarl_run, tmp_path):
    _write_curve(tmp_path / "curve.csv", [(10000, 5.0, 4, 0.2), (20000, 10.0, 4, 0.7)])
    epy = {
        "metrics": bench.parse_epymarl_metrics(epymarl_run / "metrics.json"),
        "run": bench.parse_epymarl_run(epymarl_run / "run.json"),
        "process_wall_s": 55.0,
        "test_nepisode": 10,
        "runner": "parallel",
        "batch_size_run": 10,
        "command": "epymarl",
    }
    ours = {
        "curve": bench.parse_our_curve(tmp_path / "curve.csv"),
        "score": {
            "train_steps": 20000,
            "return_mean": 0.65,
            "return_iqm": 0.7,
            "episodes": 100,
            "random_return_mean": 0.1,
        },
        "process_wall_s": 12.0,
        "command": "ours",
    }
    summary, rows = bench.summarise("lbf-2s-8x8-3p-2f", "mappo", 0, 20000, epy, ours)
    assert summary["epymarl_test_return_last"] == 0.6
    # one test (10 episodes) in the last 10%: its mean, and its np.std turned into a sample sd
    assert summary["epymarl_test_return_final"] == 0.6 and summary["epymarl_test_return_final_episodes"] == 10
    assert summary["epymarl_test_return_final_sd"] == pytest.approx(0.3 * (10 / 9) ** 0.5)
    assert summary["ours_eval_return_mean"] == 0.65
    assert summary["eval_mode"] == "sample"
    assert summary["epymarl_train_steps_per_s"] == pytest.approx(20500 / 50.0, abs=0.1)
    # 10 test episodes of 50 and of 40 steps on top of the 20,500 training steps
    assert summary["epymarl_all_env_steps_per_s"] == pytest.approx((20500 + 500 + 400) / 50.0, abs=0.1)
    assert summary["ours_train_steps_per_s"] == 2000.0
    ours_train = [r for r in rows if r["side"] == "ours" and r["metric"] == "train_return"]
    assert [(r["env_steps"], r["value"]) for r in ours_train] == [(10500, 0.2), (20500, 0.7)]
    assert [(r["env_steps"], r["value"]) for r in rows if r["side"] == "random"] == [(0, 0.1), (20000, 0.1)]
    assert [(r["env_steps"], r["value"]) for r in rows if r["side"] == "random"] == [(0, 0.1), (20000, 0.1)]


def test_final_test_estimate_pools_the_last_tests_as_their_episodes_would(bench):
    """Tests in the last 10% of the budget pooled: the same mean and sample sd as all their episodes
    together (EPyMARL logs np.std, ddof 0, per test); the last test alone where none is that late."""
    import numpy as np

    rng = np.random.default_rng(0)
    episodes = {t: rng.uniform(0, 1, 100) * (0.8 + t / 1e7) for t in (1_700_000, 1_850_000, 1_900_000, 2_000_000)}
    means = [(t, float(e.mean()), 0.0) for t, e in episodes.items()]
    stds = [(t, float(e.std()), 0.0) for t, e in episodes.items()]
    final = bench.final_test_estimate(means, stds, 2_000_000, 100)
    late = np.concatenate([e for t, e in episodes.items() if t >= 1_800_000])
    assert final["tests"] == 3 and final["episodes"] == 300 and final["from_t_env"] == 1_850_000
    assert final["mean"] == pytest.approx(late.mean()) and final["sd"] == pytest.approx(late.std(ddof=1))
    only_last = bench.final_test_estimate(means[:1], stds[:1], 2_000_000, 100)  # 1.7M: none in the last 10%
    assert only_last["tests"] == 1 and only_last["mean"] == pytest.approx(episodes[1_700_000].mean())
    assert bench.final_test_estimate(means, [], 2_000_000, 100) is None  # no spread logged
    assert bench.final_test_estimate([], [], 2_000_000, 100) is None


def test_before_resume_estimate_pools_the_stopped_runs_last_tests(bench):
    """The run before a resume: its tests in a window of 10% of the budget ending at its last test,
    pooled as final_test_estimate does; nothing for a run never resumed."""
    steps = 2_000_000
    means = [(1_450_000, 1.0, 0.0), (1_600_000, 4.0, 0.0), (1_700_000, 6.0, 0.0)]
    stds = [(t, 2.0, 0.0) for t, _, _ in means]
    est = bench.before_resume_estimate({"test_return_mean": means, "test_return_std": stds}, steps, 100)
    assert est["epymarl_test_return_before_resume"] == pytest.approx(5.0)  # 1.6M and 1.7M, not 1.45M (window from 1.5M)
    assert est["epymarl_test_return_before_resume_episodes"] == 200
    assert est["epymarl_test_return_before_resume_from_t_env"] == 1_600_000
    assert est["epymarl_test_return_before_resume_to_t_env"] == 1_700_000
    pooled_sd = ((100 * (4 + 1) + 100 * (4 + 1)) / 199) ** 0.5  # each test's spread plus its mean's offset
    assert est["epymarl_test_return_before_resume_sd"] == pytest.approx(pooled_sd)
    assert bench.before_resume_estimate(None, steps, 100) == {}


def test_merge_csv_replaces_only_the_same_run(bench, tmp_path):
    path = tmp_path / "side.csv"
    row = dict(side="ours", metric="test_return", env_steps=10, value=0.5, wall_s=1.0)
    bench.merge_csv([dict(row, task="a", algo="mappo", seed=0), dict(row, task="b", algo="qmix", seed=0)], path)
    bench.merge_csv([dict(row, task="a", algo="mappo", seed=0, value=0.9)], path)
    with open(path, newline="") as fh:
        got = sorted((r["task"], r["value"]) for r in csv.DictReader(fh))
    assert got == [("a", "0.9"), ("b", "0.5")]


def test_task_keys_are_the_papers_epymarl_names(bench):
    assert bench.epymarl_task("lbf-2s-8x8-3p-2f") == ("lbforaging:Foraging-2s-8x8-3p-2f-v3", 50, {})
    assert bench.epymarl_task("rware-tiny-4ag") == ("rware:rware-tiny-4ag-v2", 500, {})
    with pytest.raises(ValueError, match="smax-3m"):
        bench.epymarl_task("smax-3m")


def test_vmas_and_mpe_tasks_take_our_time_limit_and_kwargs(bench):
    vmas = {"max_steps": 100, "kwargs": {"n_agents": 4, "n_packages": 1, "continuous_actions": False}}
    # EPyMARL's VMAS wrapper sets discrete actions itself: passing the kwarg again would be an error
    assert bench.epymarl_task("vmas-transport", vmas) == ("vmas-transport", 100, {"n_agents": 4, "n_packages": 1})
    key, limit, extra = bench.epymarl_task("mpe-simple_spread", {"max_steps": 25, "kwargs": {"N": 3}})
    assert (key, limit) == ("epymarl_mpe2:pz-mpe2-simple-spread-v3", 25)
    # PettingZoo's own end comes after EPyMARL's TimeLimit, which ends the episode at our max_steps
    assert extra == {"N": 3, "max_cycles": 26}
    with pytest.raises(ValueError, match=r"envs\.vmas-wheel"):
        bench.epymarl_task("vmas-wheel", None)


def test_every_task_of_the_bench_config_maps_to_epymarl(bench):
    import yaml

    tasks = yaml.safe_load(bench.BASE_CONFIG.read_text())["envs"]
    for task in tasks:
        key, limit, _ = bench.env_args(task)
        assert limit == tasks[task]["max_steps"], task
    assert bench.env_args("vmas-navigation")[2] == {"n_agents": 3}


def test_mpe2_ids_follow_epymarl_naming():
    spec = importlib.util.spec_from_file_location("epymarl_mpe2", SCRIPT.parent / "epymarl_mpe2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # registers mpe2's tasks with gymnasium where mpe2 is installed
    assert module.gym_id("simple_spread_v3") == "pz-mpe2-simple-spread-v3"
    assert module.gym_id("simple_speaker_listener_v4") == "pz-mpe2-simple-speaker-listener-v4"


def test_env_config_is_epymarls_gymma_with_the_task_kwargs(bench, tmp_path):
    import os

    import yaml

    envs = tmp_path / "epymarl" / "src" / "config" / "envs"
    envs.mkdir(parents=True)
    (envs / "gymma.yaml").write_text("env: gymma\nenv_args:\n  key: null\n  time_limit: 100\ntest_nepisode: 100\n")
    path = bench.write_env_config(tmp_path / "epymarl", {"n_agents": 4}, tmp_path / "task.yaml")
    config = yaml.safe_load(path.read_text())
    assert config == {"env": "gymma", "env_args": {"key": None, "time_limit": 100, "n_agents": 4}, "test_nepisode": 100}
    # how EPyMARL's main.py opens --env-config=NAME: an absolute NAME replaces its own folder
    name = str(path).removesuffix(".yaml")
    assert os.path.join(str(tmp_path / "epymarl" / "src"), "config", "envs", f"{name}.yaml") == str(path)


def _sacred_run(
    run_dir: Path, points: list[tuple[int, float, str]], run: dict, checkpoint: str = "", load_step: int = 0
) -> None:
    """A sacred run folder: ``return_mean`` at ``points`` (step, value, time), run.json, config.json."""
    run_dir.mkdir(parents=True)
    metric = {
        "steps": [t for t, _, _ in points],
        "values": [_np(v) for _, v, _ in points],
        "timestamps": [f"2026-11-29T{ts}.000000" for _, _, ts in points],
    }
    (run_dir / "metrics.json").write_text(json.dumps({"return_mean": metric}))
    (run_dir / "run.json").write_text(json.dumps(run))
    config = {
        "checkpoint_path": checkpoint,
        "load_step": load_step,
        "test_nepisode": 100,
        "runner": "parallel",
        "batch_size_run": 10,
    }
    (run_dir / "config.json").write_text(json.dumps(config))


def _checkpoint(models: Path, token: str, step: int, files=("agent.th", "critic.th", "agent_opt.th", "critic_opt.th")):
    d = models / token / str(step)
    d.mkdir(parents=True)
    for f in files:
        (d / f).write_bytes(b"x")
    return models / token


def test_latest_checkpoint_takes_the_newest_complete_one(bench, tmp_path):
    models = tmp_path / "models"
    assert bench.latest_checkpoint(models) is None  # no folder yet: a fresh run
    _checkpoint(models, "mappo_a", 0)
    assert bench.latest_checkpoint(models) is None  # only the step-0 save: nothing learned to resume
    _checkpoint(models, "mappo_a", 100)
    token_b = _checkpoint(models, "mappo_b", 100)
    _checkpoint(models, "mappo_b", 200)
    # killed while saving: the learner's last file (critic_opt.th) is missing
    _checkpoint(models, "mappo_b", 300, files=("agent.th", "critic.th"))
    assert bench.latest_checkpoint(models) == (token_b, 200)
    _checkpoint(models, "qmix_c", 250, files=("agent.th", "mixer.th", "opt.th"))  # QMIX's last file
    assert bench.latest_checkpoint(models) == (models / "qmix_c", 250)


def test_a_resumed_run_continues_the_stopped_one(bench, tmp_path):
    models, storage = tmp_path / "results" / "models", tmp_path / "sacred"
    token = _checkpoint(models, "mappo_a", 0)
    _checkpoint(models, "mappo_a", 20000)
    # run 1 is killed at 30,000 steps (its last heartbeat); it saved at 0 and 20,000
    _sacred_run(
        storage / "1",
        [(500, 0.1, "10:00:10"), (20000, 0.3, "10:00:30"), (30000, 0.9, "10:00:40")],
        {"status": "RUNNING", "start_time": "2026-11-29T10:00:00.000000", "heartbeat": "2026-11-29T10:00:45.000000"},
    )
    _checkpoint(models, "mappo_a", 30000, files=("agent.th",))  # killed while saving at 30,000
    # run 2 loads the step-20,000 checkpoint (load_step names it) and runs to the end
    _sacred_run(
        storage / "2",
        [(20500, 0.35, "11:00:05"), (40000, 0.6, "11:00:25")],
        {
            "status": "COMPLETED",
            "start_time": "2026-11-29T11:00:00.000000",
            "stop_time": "2026-11-29T11:00:30.000000",
        },
        checkpoint=str(token),
        load_step=20000,
    )
    assert bench.latest_checkpoint(models) == (token, 20000)
    merged = bench.merge_epymarl_runs(storage)
    # the stretch after the checkpoint, trained again by run 2, is dropped; seconds run on from run 1's
    assert merged["metrics"]["return_mean"] == [
        (500, 0.1, 0.0),
        (20000, 0.3, 20.0),
        (20500, 0.35, 20.0),
        (40000, 0.6, 40.0),
    ]
    assert merged["wall_s"] == 45.0 + 30.0
    assert merged["resumed_at"] == [20000]
    assert merged["config"]["checkpoint_path"] == str(token)
    # the run before the resume, whole: its points past the checkpoint (trained again) stay there
    assert [t for t, _, _ in merged["before_last_resume"]["return_mean"]] == [500, 20000, 30000]
    (storage / "2").rename(tmp_path / "set-aside")  # run 1 alone (never resumed) is itself
    alone = bench.merge_epymarl_runs(storage)
    assert [t for t, _, _ in alone["metrics"]["return_mean"]] == [500, 20000, 30000]
    assert alone["resumed_at"] == [] and alone["wall_s"] == 45.0
    assert alone["before_last_resume"] is None


def test_the_bench_configs_algos_are_the_paper_configs():
    """bench/epymarl_side_by_side.yaml says its algos block is config/paper-full.yaml's (the budget set
    per run): our side of the comparison trains the learners the zoo's victims come from."""
    import yaml

    root = SCRIPT.parents[1]
    bench_algos = yaml.safe_load((root / "bench" / "epymarl_side_by_side.yaml").read_text())["algos"]
    paper_algos = yaml.safe_load((root / "config" / "paper-full.yaml").read_text())["algos"]
    for algo, block in bench_algos.items():
        assert block == {k: v for k, v in paper_algos[algo].items() if k != "total_steps"}, algo


def test_ours_from_scores_the_given_victim_and_refuses_one_of_another_budget(bench, tmp_path, monkeypatch):
    """--ours-from: a victim our learner trained with the script's config (the zoo's) is copied and
    scored, not trained again; one trained with another budget is refused by the score stage (its
    provenance names the steps)."""
    import argparse
    import subprocess

    a = argparse.Namespace(steps=6400, core=None, ours_from=None)
    trained = bench.run_ours(a, "lbf-2s-8x8-3p-2f", "mappo", 0, tmp_path / "trained")
    assert trained["process_wall_s"] > 0 and "reused_from" not in trained
    a.ours_from = str(tmp_path / "trained")
    a.steps = 12800  # the script's config now asks for twice the training the victim had
    with pytest.raises(subprocess.CalledProcessError):
        bench.run_ours(a, "lbf-2s-8x8-3p-2f", "mappo", 0, tmp_path / "other")
    assert "total_steps" in (tmp_path / "other" / "ours_score.log").read_text()
    assert not (tmp_path / "other" / "ours_train.log").exists()

    a.steps = 6400  # the same budget: only the score stage runs, on the copied victim (its score: the trained one's)
    commands = []

    def score_only(cmd, **kwargs):
        commands.append(cmd)
        out = Path(cmd[cmd.index("--out") + 1])
        out.write_text((tmp_path / "trained" / "score.json").read_text())

    monkeypatch.setattr(bench.subprocess, "run", score_only)
    reused = bench.run_ours(a, "lbf-2s-8x8-3p-2f", "mappo", 0, tmp_path / "reused")
    assert [c[c.index("marl_attacks") + 1] for c in commands] == ["score"]
    assert commands[0][commands[0].index("--policy") + 1] == str(tmp_path / "reused" / "policy.pt")
    for name in ("policy.pt", "policy.pt.meta.json", "curve.csv"):
        assert (tmp_path / "reused" / name).read_bytes() == (tmp_path / "trained" / name).read_bytes()
    assert reused["reused_from"] == str((tmp_path / "trained").resolve())
    assert reused["curve"] == trained["curve"] and reused["process_wall_s"] is None
