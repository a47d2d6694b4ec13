"""EPyMARL itself vs our learners on the same task, seed and step budget (issue 16).

Runs EPyMARL (uoe-agents/epymarl, from the directory given by ``--epymarl``, with the
python given by ``--epymarl-python``) and ``python -m marl_attacks train`` + ``score`` on one
task and algorithm per seed, one after the other, pinned to one core (``taskset -c --core``,
``OMP_NUM_THREADS=1``; EPyMARL sets torch to one thread, ours gets ``--threads 1``). It then

* parses both learning curves: EPyMARL's sacred ``metrics.json`` (``return_mean``, the training
  episodes, and ``test_return_mean``, its evaluation, at ``t_env``), and our ``curve.csv``
  (``episode_return`` of the training episodes at ``env_steps``);
* evaluates our final policy as EPyMARL evaluates (MAPPO samples: its ``soft_policies`` selector
  samples in test mode too; QMIX is greedy: ``evaluation_epsilon`` 0), score stage, 100 episodes;
* merges the rows into ``bench/epymarl_side_by_side.csv`` (one row per logged point), the
  summary into ``bench/results.json`` (``epymarl_side_by_side``) and redraws the plot (``.png``).

EPyMARL runs with its own defaults for the algorithm (``--config=mappo|ippo|qmix|vdn``,
``--env-config=gymma``): the authors' victims (AmineAndam04/black-box-marl,
``src/config/algs/{mappo,qmix}.yaml``) use exactly these, so nothing is overridden but the
task, ``t_max``, the seed, ``use_cuda=False`` and, where given, EPyMARL's test settings
(``--test-nepisode``, ``--test-interval``; RWARE's 500-step test episodes cost as much as
training at EPyMARL's defaults). MAPPO keeps EPyMARL's ``runner=parallel`` with its 10 env
processes (all on the one core); QMIX its ``runner=episode``.

Ours: ``bench/epymarl_side_by_side.yaml`` with the budget written in, batched LBF / RWARE envs.
EPyMARL tests every ``test_interval`` steps while ``t_env <= t_max``, so its last test can fall
short of ``t_max`` (recorded with its ``t_env``). CI imports only the parsers (standard library).

EPyMARL saves checkpoints every ``--save-interval`` steps (its ``save_model``, which changes no
result); ``--resume`` continues a stopped run from the newest complete one (EPyMARL's own
``checkpoint_path`` and ``load_step``), so a 2M-step run at ~250 env steps/s (2-3 h here) survives the end of a
session. The curves of the runs are joined (the stretch trained again is dropped) and the steps it
resumed at recorded (``epymarl_resumed_at``): EPyMARL's checkpoints leave out the running statistics
of reward standardisation, the target critic and QMIX's replay buffer, which restart there.

``--ours-from DIR`` scores a victim our learner already trained with this config, task, seed and
budget (the zoo's training output: ``policy.pt``, its ``.meta.json``, ``curve.csv``) instead of
training it again; the score stage refuses it if its provenance says otherwise.

    python bench/epymarl_side_by_side.py --epymarl /work/epymarl \\
        --epymarl-python /work/epymarl-venv/bin/python --task lbf-2s-8x8-3p-2f --algo mappo \\
        --seeds 0 --steps 500000          # then: --plot-only redraws from the CSV
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CSV = BENCH / "epymarl_side_by_side.csv"
PLOT = BENCH / "epymarl_side_by_side.png"
BASE_CONFIG = BENCH / "epymarl_side_by_side.yaml"
FIELDS = ["side", "task", "algo", "seed", "metric", "env_steps", "value", "wall_s"]

# how EPyMARL evaluates each algorithm, which our score stage reproduces with victim_actions
EVAL_MODE = {"mappo": "sample", "ippo": "sample", "qmix": "greedy", "vdn": "greedy"}


def epymarl_task(task: str, env_block: dict | None = None) -> tuple[str, int, dict]:
    """Our env name -> EPyMARL's gymma ``env_args.key``, ``time_limit`` and further ``env_args``.

    LBF and RWARE: the registered ids of the paper's tasks. VMAS: EPyMARL's own ``vmas-<scenario>``
    (its wrapper sets discrete actions), our ``kwargs`` passed on. MPE: mpe2's task through
    ``bench/epymarl_mpe2.py``, our ``kwargs`` passed on and PettingZoo's own episode end one step
    after EPyMARL's ``TimeLimit``. ``env_block`` is ``envs.<task>`` of our config (VMAS and MPE
    read ``max_steps`` and ``kwargs`` from it, so both sides run one task)."""
    family, _, rest = task.partition("-")
    if family == "lbf":
        return f"lbforaging:Foraging-{rest}-v3", 50, {}
    if family == "rware":
        return f"rware:rware-{rest}-v2", 500, {}
    if family in ("vmas", "mpe"):
        if not env_block or "max_steps" not in env_block:
            raise ValueError(f"{task}: EPyMARL's time limit and kwargs come from envs.{task} of the config")
        kwargs = {k: v for k, v in (env_block.get("kwargs") or {}).items() if k != "continuous_actions"}
        limit = int(env_block["max_steps"])
        if family == "vmas":
            return f"vmas-{rest}", limit, kwargs
        gym_id = "pz-mpe2-" + (rest + MPE_VERSION[rest]).replace("_", "-")  # = epymarl_mpe2.gym_id
        return f"epymarl_mpe2:{gym_id}", limit, {**kwargs, "max_cycles": limit + 1}
    raise ValueError(f"no EPyMARL key for {task!r}: only lbf-*, rware-*, vmas-* and mpe-* tasks are mapped")


#: mpe2's module suffix per MPE task (``mpe2.simple_spread_v3``)
MPE_VERSION = {"simple_spread": "_v3", "simple_reference": "_v3", "simple_speaker_listener": "_v4"}


def env_args(task: str) -> tuple[str, int, dict]:
    """:func:`epymarl_task` with our side's ``envs.<task>`` from ``epymarl_side_by_side.yaml``."""
    import yaml

    return epymarl_task(task, yaml.safe_load(BASE_CONFIG.read_text())["envs"].get(task))


# ---- parsers (standard library only: tested without EPyMARL or torch) ---------------------------


def _scalar(v):
    """sacred stores numpy scalars as ``{"py/object": "numpy.float64", "value": x}``."""
    return float(v["value"]) if isinstance(v, dict) else float(v)


def parse_epymarl_metrics(path: str | Path) -> dict[str, list[tuple[int, float, float]]]:
    """sacred's ``metrics.json`` -> ``{metric: [(t_env, value, seconds since the first log)]}``
    for ``return_mean``, ``test_return_mean``, ``test_return_std`` and ``test_ep_length_mean``
    (where logged)."""
    from datetime import datetime

    data = json.loads(Path(path).read_text())
    stamps = [datetime.fromisoformat(t) for m in data.values() for t in m.get("timestamps", [])]
    t0 = min(stamps) if stamps else None
    out = {}
    for key in ("return_mean", "test_return_mean", "test_return_std", "test_ep_length_mean"):
        if key not in data:
            continue
        m = data[key]
        out[key] = [
            (int(s), _scalar(v), (datetime.fromisoformat(ts) - t0).total_seconds())
            for s, v, ts in zip(m["steps"], m["values"], m["timestamps"])
        ]
    return out


def parse_epymarl_run(path: str | Path) -> dict:
    """sacred's ``run.json``: status and wall seconds from start to stop (a killed run: to its last
    heartbeat)."""
    from datetime import datetime

    run = json.loads(Path(path).read_text())
    wall = None
    end = run.get("stop_time") or run.get("heartbeat")  # a killed run stops at its last heartbeat
    if run.get("start_time") and end:
        wall = (datetime.fromisoformat(end) - datetime.fromisoformat(run["start_time"])).total_seconds()
    return {"status": run.get("status"), "wall_s": wall}


# the file each EPyMARL learner's save_models writes last: a checkpoint without it was cut short
CHECKPOINT_LAST_FILE = ("critic_opt.th", "opt.th")  # ppo_learner (MAPPO), q_learner (QMIX)


def _saved_steps(token: Path) -> list[int]:
    """The steps EPyMARL saved a checkpoint at in one run's folder (``<t_env>/`` subfolders)."""
    return [int(d.name) for d in token.iterdir() if d.is_dir() and d.name.isdigit()]


def latest_checkpoint(models: str | Path) -> tuple[Path, int] | None:
    """The newest complete checkpoint EPyMARL saved under ``models`` (``<unique_token>/<t_env>/``,
    with ``save_model=True``): its token folder and step, which EPyMARL's ``checkpoint_path`` and
    ``load_step`` name (it loads the step closest to ``load_step``, so a newer, cut-short one in the
    same folder is passed over); None where there is none. The step-0 save is left out: it holds
    nothing learned, and ``load_step`` 0 means "the largest step" to EPyMARL."""
    best = None
    for token in sorted(Path(models).iterdir()) if Path(models).is_dir() else []:
        steps = [
            t
            for t in _saved_steps(token)
            if t > 0 and any((token / str(t) / f).is_file() for f in CHECKPOINT_LAST_FILE)
        ]
        if steps and (best is None or max(steps) > best[1]):
            best = (token, max(steps))
    return best


def merge_epymarl_runs(storage: str | Path) -> dict:
    """EPyMARL's sacred runs under ``storage`` (``1/``, ``2/``, ...) as one run: a run resumed from a
    checkpoint (``checkpoint_path`` and ``load_step`` in its config.json) continues the one before it,
    whose points after that step are dropped (that stretch was trained again). Returns the merged
    metrics (seconds counted across the runs), the wall seconds summed (start to stop, or to the
    last heartbeat of a killed run), the steps the run was resumed at, and the last run's config."""
    runs = sorted((p for p in Path(storage).iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    parts = []
    for run_dir in runs:
        config = json.loads((run_dir / "config.json").read_text())
        loaded = None
        if config.get("checkpoint_path"):  # EPyMARL's load_step 0 loads the folder's largest step
            loaded = int(config.get("load_step", 0)) or max(_saved_steps(Path(config["checkpoint_path"])))
        metrics = parse_epymarl_metrics(run_dir / "metrics.json") if (run_dir / "metrics.json").exists() else {}
        parts.append(
            {"metrics": metrics, "run": parse_epymarl_run(run_dir / "run.json"), "loaded": loaded, "config": config}
        )
    merged: dict[str, list] = {}
    offset, wall = 0.0, 0.0
    for i, part in enumerate(parts):
        until = parts[i + 1]["loaded"] if i + 1 < len(parts) else None
        kept_until = 0.0
        for key, pts in part["metrics"].items():
            keep = [(t, v, w) for t, v, w in pts if until is None or t <= until]
            merged.setdefault(key, []).extend((t, v, w + offset) for t, v, w in keep)
            kept_until = max([kept_until] + [w for _, _, w in keep])
        offset += kept_until
        wall += part["run"]["wall_s"] or 0.0
    return {
        "metrics": merged,
        "wall_s": wall or None,
        "resumed_at": [p["loaded"] for p in parts if p["loaded"] is not None],
        "config": parts[-1]["config"] if parts else {},
        # the run before the last resume, all of its points (those past its checkpoint too): the
        # learner uninterrupted up to its stop, EPyMARL saving neither replay buffer nor reward statistics
        "before_last_resume": parts[-2]["metrics"] if len(parts) > 1 and parts[-1]["loaded"] is not None else None,
    }


def parse_our_curve(path: str | Path) -> list[tuple[int, float, float, int]]:
    """Our ``curve.csv`` -> ``[(env_steps, mean episode return, wall_s, episodes)]`` for the rows
    in which episodes finished (rows without a finished episode carry no return)."""
    rows = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["episode_return"] not in ("", None) and int(r["episodes"]) > 0:
                rows.append((int(r["env_steps"]), float(r["episode_return"]), float(r["wall_s"]), int(r["episodes"])))
    return rows


def bin_curve(rows: list[tuple[int, float, float, int]], at: list[int]) -> list[tuple[int, float, float]]:
    """Episode-weighted mean return of our rows in each window ``(at[i-1], at[i]]``, so our
    curve is read at EPyMARL's logging steps; ``[(at[i], mean, wall_s at the window's end)]``."""
    out, lo = [], 0
    for hi in at:
        window = [r for r in rows if lo < r[0] <= hi]
        if window:
            n = sum(r[3] for r in window)
            out.append((hi, sum(r[1] * r[3] for r in window) / n, window[-1][2]))
        lo = hi
    return out


def final_window(
    points: list[tuple[int, float, float]], steps: int, frac: float = 0.1, end: float | None = None
) -> list[tuple[int, float]]:
    """``(t, value)`` of the points in the last ``frac`` of the budget (``t >= (1 - frac) steps``), or
    in a window of that length ending at ``end``."""
    start = (steps if end is None else end) - frac * steps
    return [(t, v) for t, v, _ in points if t >= start and (end is None or t <= end)]


def final_window_mean(points: list[tuple[int, float, float]], steps: int, frac: float = 0.1) -> float | None:
    """Mean value over the last ``frac`` of the budget (:func:`final_window`)."""
    vals = [v for _, v in final_window(points, steps, frac)]
    return statistics.fmean(vals) if vals else None


def final_test_estimate(
    means: list[tuple[int, float, float]],
    stds: list[tuple[int, float, float]],
    steps: int,
    per_test: int,
    end: float | None = None,
) -> dict | None:
    """EPyMARL's test return at the end of training as one mean over episodes, for a competence
    threshold: its tests in the last 10% of the budget (the last test where none falls there) pooled
    into one sample of ``tests x per_test`` episodes. Returns its mean, the sample standard deviation
    of those episodes (EPyMARL logs each test's ``np.std``, ddof 0: the pooled sum of squares is
    ``per_test * (std_i^2 + (mean_i - mean)^2)`` summed over tests) and counts; None without tests.
    One test of 100 LBF episodes has a standard error of ~0.025: four of them halve it. ``end``: the
    window of that length ending there instead (:func:`final_window`)."""
    if not means:
        return None
    spread = {t: v for t, v, _ in stds}
    window = final_window(means, steps, end=end) or [means[-1][:2]]
    if any(t not in spread for t, _ in window):  # a run logged before test_return_std was read
        return None
    mean = statistics.fmean(v for _, v in window)
    episodes = len(window) * per_test
    squares = sum(per_test * (spread[t] ** 2 + (v - mean) ** 2) for t, v in window)
    return {
        "mean": mean,
        "sd": (squares / (episodes - 1)) ** 0.5,
        "episodes": episodes,
        "tests": len(window),
        "from_t_env": window[0][0],
    }


# ---- running both sides --------------------------------------------------------------------------


def _pinned(cmd: list[str], core: int | None) -> list[str]:
    return (["taskset", "-c", str(core)] if core is not None else []) + cmd


def _env(threads: int = 1) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    # src/ for ours; bench/ for EPyMARL's env key epymarl_mpe2:... (bench/epymarl_mpe2.py)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(BENCH), env.get("PYTHONPATH", "")])
    return env


def write_env_config(epymarl: Path, extra: dict, path: Path) -> Path:
    """EPyMARL's ``src/config/envs/gymma.yaml`` with ``extra`` added to its ``env_args``, written to
    ``path``. EPyMARL's ``--env-config=NAME`` opens ``src/config/envs/NAME.yaml`` by
    ``os.path.join``, which an absolute NAME replaces: the file is used from where it is written."""
    import yaml

    config = yaml.safe_load((epymarl / "src" / "config" / "envs" / "gymma.yaml").read_text())
    config["env_args"] = {**config["env_args"], **extra}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path.resolve()


def run_epymarl(a, task: str, algo: str, seed: int, out: Path) -> dict:
    key, time_limit, extra = env_args(task)
    storage, results = out / "sacred", out / "results"
    checkpoint = latest_checkpoint(results / "models") if a.resume else None
    if not checkpoint:  # a fresh run: nothing of an earlier one may be merged into it
        shutil.rmtree(storage, ignore_errors=True)
        shutil.rmtree(results, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    env_config = "gymma"
    if extra:  # sacred refuses env_args it has no default for: EPyMARL's gymma.yaml with them added
        env_config = str(write_env_config(Path(a.epymarl), extra, out / "gymma_task.yaml")).removesuffix(".yaml")
    args = [
        f"env_args.key={key}",
        f"env_args.time_limit={time_limit}",
        f"t_max={a.steps}",
        f"seed={seed}",
        "use_cuda=False",
        # checkpoints to resume from (--resume) after the process is stopped; saving changes no result
        "save_model=True",
        f"save_model_interval={a.save_interval}",
        f"local_results_path={results}",
    ]
    if checkpoint:
        print(f"EPyMARL resumes from {checkpoint[0]} at t_env {checkpoint[1]}", flush=True)
        args += [f"checkpoint_path={checkpoint[0]}", f"load_step={checkpoint[1]}"]
    if a.test_nepisode:
        args.append(f"test_nepisode={a.test_nepisode}")
    if a.test_interval:
        args += [f"test_interval={a.test_interval}", f"log_interval={a.test_interval}"]
    cmd = [
        a.epymarl_python,
        "src/main.py",
        f"--config={algo}",
        f"--env-config={env_config}",
        "-F",
        str(storage),
        "with",
        *args,
    ]
    print("EPyMARL:", " ".join(cmd), flush=True)
    start = time.time()
    with open(out / "epymarl.log", "a" if checkpoint else "w") as log:
        subprocess.run(_pinned(cmd, a.core), cwd=a.epymarl, env=_env(), stdout=log, stderr=log, check=True)
    wall = time.time() - start
    merged = merge_epymarl_runs(storage)
    config = merged["config"]
    return {
        "metrics": merged["metrics"],
        "before_last_resume": merged["before_last_resume"],
        "run": {"wall_s": merged["wall_s"]},
        "resumed_at": merged["resumed_at"],
        "process_wall_s": wall,
        "test_nepisode": config["test_nepisode"],
        "runner": config["runner"],
        "batch_size_run": config["batch_size_run"],
        "command": " ".join(cmd),
    }


def write_our_config(task: str, algo: str, steps: int, path: Path) -> None:
    import yaml

    cfg = yaml.safe_load(BASE_CONFIG.read_text())
    env = cfg["envs"][task]
    env.setdefault("train", {}).setdefault(algo, {})["total_steps"] = steps
    env["victim_actions"] = EVAL_MODE[algo]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def run_ours(a, task: str, algo: str, seed: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    config = out / "config.yaml"
    write_our_config(task, algo, a.steps, config)
    common = ["--config", str(config), "--env", task, "--algo", algo, "--seed", str(seed), "--threads", "1"]
    policy, curve, score = out / "policy.pt", out / "curve.csv", out / "score.json"
    train = [sys.executable, "-m", "marl_attacks", "train", *common, "--policy", str(policy), "--curve", str(curve)]
    if a.ours_from:
        # a victim this learner already trained with this config (the zoo's): only scored here; the
        # score stage refuses it by name if its provenance (hyperparameters, env, seed) differs
        src = Path(a.ours_from)
        for name in ("policy.pt", "policy.pt.meta.json", "curve.csv"):
            shutil.copyfile(src / name, out / name)
        (out / "ours_train.log").unlink(missing_ok=True)  # an earlier training's log here is not this victim's
        print(f"ours: reusing {src} instead of training: {' '.join(train)}", flush=True)
        wall = None
    else:
        print("ours:", " ".join(train), flush=True)
        start = time.time()
        with open(out / "ours_train.log", "w") as log:
            subprocess.run(
                _pinned(train, a.core), cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT, check=True
            )
        wall = time.time() - start
    cmd = [sys.executable, "-m", "marl_attacks", "score", *common, "--policy", str(policy), "--out", str(score)]
    with open(out / "ours_score.log", "w") as log:
        subprocess.run(_pinned(cmd, a.core), cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT, check=True)
    return {
        "curve": parse_our_curve(curve),
        "score": json.loads(score.read_text()),
        "process_wall_s": wall,
        "command": " ".join(train),
        **({"reused_from": str(Path(a.ours_from).resolve())} if a.ours_from else {}),
    }


def before_resume_estimate(metrics: dict | None, steps: int, per_test: int) -> dict:
    """``epymarl_test_return_before_resume*`` keys: :func:`final_test_estimate` of the run stopped
    before the last resume (``merge_epymarl_runs``' ``before_last_resume``), over the last 10% of the
    budget before its last test; empty for a run never resumed or without tests."""
    tests = (metrics or {}).get("test_return_mean", [])
    if not tests:
        return {}
    est = final_test_estimate(tests, metrics.get("test_return_std", []), steps, per_test, end=tests[-1][0]) or {}
    keys = {"mean": "", "sd": "_sd", "episodes": "_episodes", "from_t_env": "_from_t_env"}
    out = {f"epymarl_test_return_before_resume{suffix}": est.get(k) for k, suffix in keys.items()}
    return {**out, "epymarl_test_return_before_resume_to_t_env": tests[-1][0] if est else None}


def summarise(task: str, algo: str, seed: int, steps: int, epy: dict, ours: dict) -> tuple[dict, list[dict]]:
    """One summary dict for results.json and the long-format CSV rows of both sides."""
    m = epy["metrics"]
    train_pts, test_pts = m.get("return_mean", []), m.get("test_return_mean", [])
    at = [t for t, _, _ in train_pts]
    ours_binned = bin_curve(ours["curve"], at + ([steps] if not at or at[-1] < steps else []))
    # EPyMARL's env steps also include its evaluation episodes (no learning on them)
    test_len = {t: v for t, v, _ in m.get("test_ep_length_mean", [])}
    test_steps = sum(test_len.get(t, 0.0) * epy["test_nepisode"] for t, _, _ in test_pts)
    epy_wall = epy["run"]["wall_s"] or epy["process_wall_s"]
    ours_wall = ours["curve"][-1][2] if ours["curve"] else ours["process_wall_s"]
    ours_steps = ours["score"]["train_steps"]
    last_test = test_pts[-1] if test_pts else (None, None, None)
    final = final_test_estimate(test_pts, m.get("test_return_std", []), steps, epy["test_nepisode"]) or {}
    summary = {
        "steps": steps,
        "epymarl_t_env": at[-1] if at else None,
        "epymarl_test_return_last": last_test[1],
        "epymarl_test_return_last_t_env": last_test[0],
        "epymarl_test_episodes": epy["test_nepisode"],
        # the competence threshold's estimate: the tests of the last 10% pooled (final_test_estimate)
        "epymarl_test_return_final": final.get("mean"),
        "epymarl_test_return_final_sd": final.get("sd"),
        "epymarl_test_return_final_episodes": final.get("episodes"),
        "epymarl_test_return_final_from_t_env": final.get("from_t_env"),
        # the same estimate for the run before the last resume, its window ending at its last test
        **before_resume_estimate(epy.get("before_last_resume"), steps, epy["test_nepisode"]),
        "ours_eval_return_mean": ours["score"]["return_mean"],
        "ours_eval_return_iqm": ours["score"]["return_iqm"],
        "ours_eval_episodes": ours["score"]["episodes"],
        "eval_mode": EVAL_MODE[algo],
        "random_return_mean": ours["score"]["random_return_mean"],
        "epymarl_train_return_last10pct": final_window_mean(train_pts, steps),
        "ours_train_return_last10pct": final_window_mean(ours_binned, steps),
        "epymarl_wall_s": round(epy_wall, 1),
        "epymarl_train_steps_per_s": round(at[-1] / epy_wall, 1) if at else None,
        "epymarl_all_env_steps_per_s": round((at[-1] + test_steps) / epy_wall, 1) if at else None,
        "ours_train_wall_s": round(ours_wall, 1),
        "ours_train_steps_per_s": round(ours_steps / ours_wall, 1),
        "epymarl_runner": f"{epy['runner']} x {epy['batch_size_run']}",
        # resumed from its checkpoints at these steps (--resume): reward standardisation's running
        # statistics, the target critic and QMIX's replay buffer start afresh there (EPyMARL saves none)
        "epymarl_resumed_at": epy.get("resumed_at", []),
        "epymarl_command": epy["command"],
        "ours_command": ours["command"],
        # --ours-from: the victim was trained elsewhere (its wall time measured there), scored here
        **({"ours_reused_from": ours["reused_from"]} if "reused_from" in ours else {}),
    }
    rows = []
    for metric, pts in (("train_return", train_pts), ("test_return", test_pts)):
        rows += [dict(side="epymarl", metric=metric, env_steps=t, value=v, wall_s=round(w, 1)) for t, v, w in pts]
    rows += [dict(side="ours", metric="train_return", env_steps=t, value=v, wall_s=w) for t, v, w in ours_binned]
    rows.append(
        dict(
            side="ours",
            metric="test_return",
            env_steps=ours_steps,
            value=ours["score"]["return_mean"],
            wall_s=round(ours_wall, 1),
        )
    )
    # the uniform-random policy on our evaluation episodes, drawn as a flat reference line
    random = ours["score"]["random_return_mean"]
    rows += [dict(side="random", metric="test_return", env_steps=t, value=random, wall_s="") for t in (0, steps)]
    for r in rows:
        r.update(task=task, algo=algo, seed=seed)
    return summary, rows


# ---- outputs ------------------------------------------------------------------------------------------


def merge_csv(rows: list[dict], path: Path = CSV) -> None:
    """Replace the rows of the same (task, algo, seed) and keep the others."""
    keys = {(r["task"], r["algo"], str(r["seed"])) for r in rows}
    old = []
    if path.exists():
        with open(path, newline="") as fh:
            old = [r for r in csv.DictReader(fh) if (r["task"], r["algo"], r["seed"]) not in keys]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        w.writerows(old + rows)


def plot(path: Path = CSV, out: Path = PLOT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    panels = sorted({(r["task"], r["algo"]) for r in rows})
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    style = {
        ("epymarl", "train_return"): dict(color="tab:orange", ls="-", label="EPyMARL training"),
        ("epymarl", "test_return"): dict(color="tab:orange", ls="--", marker="o", ms=3, label="EPyMARL test"),
        ("ours", "train_return"): dict(color="tab:blue", ls="-", label="ours training"),
        ("ours", "test_return"): dict(color="tab:blue", ls="", marker="*", ms=11, label="ours test (final)"),
        ("random", "test_return"): dict(color="gray", ls=":", label="uniform random"),
    }
    for ax, (task, algo) in zip(axes.flat, panels):
        for (side, metric), st in style.items():
            for seed in sorted({r["seed"] for r in rows}):
                pts = [
                    (int(r["env_steps"]), float(r["value"]))
                    for r in rows
                    if (r["task"], r["algo"], r["side"], r["metric"], r["seed"]) == (task, algo, side, metric, seed)
                ]
                if pts:
                    pts.sort()
                    ax.plot(*zip(*pts), **st)
                    st = {k: v for k, v in st.items() if k != "label"}
        ax.set_title(f"{task} {algo.upper()}", fontsize=10)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e3:g}k"))
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("team return (mean per episode)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out.relative_to(ROOT)}")


def save_results(task: str, algo: str, seed: int, summary: dict, cached: bool = False) -> None:
    sys.path.insert(0, str(BENCH))
    from _common import RESULTS, cpu_model, git_commit

    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    block = data.setdefault("epymarl_side_by_side", {})
    key = f"{task}/{algo}/seed{seed}"
    # a summary redone from cached runs (--from-cache) keeps when and under what load they ran
    when = {k: block.get(key, {}).get(k) for k in ("load_avg_1_5_15", "finished", "git_commit")}
    if not cached or not all(when.values()):
        when = {
            "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "git_commit": git_commit(),
        }
    block[key] = {**summary, "cpu": cpu_model(), **when}
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, RESULTS)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epymarl", help="EPyMARL's checkout (holds src/main.py)")
    p.add_argument("--epymarl-python", default="python", help="a python that runs EPyMARL (its own venv)")
    p.add_argument("--task", help="our env name, e.g. lbf-2s-8x8-3p-2f or rware-tiny-4ag")
    p.add_argument("--algo", choices=sorted(EVAL_MODE))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--steps", type=int, help="env steps of training on both sides (EPyMARL's t_max)")
    p.add_argument("--core", type=int, default=0, help="the CPU core both sides are pinned to (taskset)")
    p.add_argument(
        "--test-nepisode", type=int, help="EPyMARL's test_nepisode (ours: evaluate.episodes of the config, 100)"
    )
    p.add_argument("--test-interval", type=int, help="EPyMARL's test_interval (and log_interval)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue EPyMARL from the newest checkpoint of an earlier, stopped run of the same folder "
        "(else it starts afresh)",
    )
    p.add_argument("--save-interval", type=int, default=100_000, help="EPyMARL's save_model_interval (steps)")
    p.add_argument("--out", default=str(BENCH / "epymarl_runs"), help="run folders (git-ignored)")
    p.add_argument("--only", choices=["epymarl", "ours"], help="rerun one side, reusing the other's run folder")
    p.add_argument(
        "--ours-from",
        help="folder of a victim our learner already trained with this script's config, task, seed and budget "
        "(policy.pt, its .meta.json, curve.csv: e.g. the zoo's training output): scored, not trained again",
    )
    p.add_argument("--from-cache", action="store_true", help="rerun neither side where its run folder has it")
    p.add_argument("--plot-only", action="store_true", help="redraw the plot from the CSV")
    a = p.parse_args(argv)
    if a.plot_only:
        plot()
        return
    if not (a.epymarl and a.task and a.algo and a.steps):
        p.error("--epymarl, --task, --algo and --steps are needed (or --plot-only)")
    if a.ours_from and len(a.seeds) > 1:
        p.error("--ours-from holds one victim: give one --seeds value with it")
    a.epymarl = str(Path(a.epymarl).resolve())
    for seed in a.seeds:
        out = Path(a.out) / f"{a.task}_{a.algo}_seed{seed}_{a.steps}"
        out.mkdir(parents=True, exist_ok=True)
        cache = out / "runs.json"
        done = json.loads(cache.read_text()) if cache.exists() else {}
        cached = a.from_cache and {"epymarl", "ours"} <= set(done)
        if not (a.from_cache and "epymarl" in done) and (a.only != "ours" or "epymarl" not in done):
            done["epymarl"] = run_epymarl(a, a.task, a.algo, seed, out / "epymarl")
            cache.write_text(json.dumps(done))
        if not (a.from_cache and "ours" in done) and (a.only != "epymarl" or "ours" not in done):
            done["ours"] = run_ours(a, a.task, a.algo, seed, out / "ours")
            cache.write_text(json.dumps(done))
        storage = out / "epymarl" / "sacred"
        if a.from_cache and storage.exists():  # metrics read afresh: the cache may predate one (test_return_std)
            merged = merge_epymarl_runs(storage)
            done["epymarl"]["metrics"] = merged["metrics"]
            done["epymarl"]["before_last_resume"] = merged["before_last_resume"]
        summary, rows = summarise(a.task, a.algo, seed, a.steps, done["epymarl"], done["ours"])
        merge_csv(rows)
        save_results(a.task, a.algo, seed, summary, cached)
        print(json.dumps({k: v for k, v in summary.items() if not k.endswith("command")}, indent=1))
    plot()


if __name__ == "__main__":
    main()
