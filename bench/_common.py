"""Shared helpers of the benchmark scripts: the machine, the results file, timing.

The scripts put this checkout's ``src/`` first on ``sys.path``, so they measure the
code next to them (run them with the project's venv python, which has the pinned
dependencies). Each script merges its own keys into ``bench/results.json`` and leaves
the other benchmarks' keys alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"

if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: under 2 minutes on 2 cores")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1, as every pipeline job)")
    p.add_argument("--no-save", action="store_true", help="print only; leave bench/results.json alone")
    return p


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """CPU model, cores, torch threads, GPU (if any), load and versions."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "load_avg_1_5_15": load,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def machine_line(m: dict) -> str:
    gpu = m["gpu"] or "no GPU"
    return (
        f"machine: {m['cpu']}, {m['cores']} cores, torch threads {m['torch_threads']}, {gpu}; "
        f"load average {m['load_avg_1_5_15']} (shared machine: other jobs may be running)"
    )


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, timeout=5
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def save(name: str, figures: dict, details: dict, quick: bool, no_save: bool = False) -> None:
    """Merge ``figures`` (top-level keys) and ``details`` (under ``name``) into results.json."""
    m = machine()
    details = {
        **details,
        "mode": "quick" if quick else "full",
        "machine": m,
        "git_commit": git_commit(),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if no_save:
        return
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data.update(figures)
    data.setdefault("details", {})[name] = details
    data["machine"] = m
    fd, tmp = tempfile.mkstemp(dir=BENCH, prefix=".results.", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private
    os.replace(tmp, RESULTS)
    print(f"merged {sorted(figures)} into {RESULTS.relative_to(ROOT)}")


def warm_up_torch() -> None:
    """Pay one-off import costs (the first Adam imports torch._dynamo, seconds) before timing."""
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def random_stepping(env_cfg: dict, num_envs: int, steps: int) -> dict:
    """Uniform-random joint actions (among the available ones) stepped through our batched env,
    construction included: no policy, no learning, the ceiling of any learner on this env at
    this batch. ``env_cfg``: ``marl_attacks.config.env_params``."""
    import torch

    from marl_attacks.envs import make_env

    gen = torch.Generator().manual_seed(0)
    n_batches = -(-steps // num_envs)
    with Timer() as t:
        env = make_env(
            env_cfg["name"], num_envs, "cpu", max_steps=env_cfg["max_steps"], seed=0, kwargs=env_cfg["kwargs"]
        )
        env.reset(list(range(num_envs)))
        with torch.no_grad():
            for _ in range(n_batches):
                env.step(env.random_actions(gen, env.available_actions()))
    return {"seconds": t.seconds, "steps": n_batches * num_envs}


class Timer:
    """Wall seconds (``seconds``) and this process's CPU seconds (``cpu_seconds``): on a shared
    machine a one-thread job's CPU time is what it costs when it has a core to itself."""

    def __enter__(self):
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start


def median_cpu_ms(fn, repeats: int) -> float:
    """Median CPU milliseconds of this process over ``repeats`` calls of ``fn()``, after one warm-up
    call: other jobs on a shared machine move it less than wall time."""
    fn()
    times = []
    for _ in range(repeats):
        cpu0 = time.process_time()
        fn()
        times.append(time.process_time() - cpu0)
    return sorted(times)[repeats // 2] * 1000


def timed_training(algo: str, cfg, env_cfg: dict) -> tuple[list[dict], Timer]:
    """Train ``algo`` (its built config ``cfg``) on the env of ``env_cfg`` (``marl_attacks.config.env_params``:
    its backend too), env construction included, as a ``train_victim`` job does, seed 0: the
    training curve and the :class:`Timer`."""
    from marl_attacks.algos import ALGOS
    from marl_attacks.envs import make_env

    with Timer() as t:
        env = make_env(
            env_cfg["name"],
            cfg.num_envs,
            "cpu",
            max_steps=env_cfg["max_steps"],
            seed=0,
            kwargs=env_cfg["kwargs"],
            backend=env_cfg.get("backend", "reference"),
        )
        _, curve = ALGOS[algo].train(env, cfg, seed=0, progress=False)
    return curve, t


def table(rows: list[tuple], header: tuple) -> str:
    """A plain-text table for the terminal."""
    cells = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
