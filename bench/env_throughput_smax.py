"""Env steps/s of the SMAX adapter (``envs/smax_env.py``: SMAX's step vmapped over the batch and
jitted, auto-reset inside, results to torch through DLPack) at batch sizes 1, 64 and 1024, on one core.

Needs the optional extra ``smax`` (jaxmarl). One core: the process is pinned to one CPU
(``--core``) and XLA runs its CPU code single-threaded (``XLA_FLAGS``, set before jax is
imported), torch has one thread. For every map (default 3m, 3s5z, 10m_vs_11m, 25m and the
SMACv2 5- and 10-unit scenarios; ``--quick``: 3m) and B, ``--steps`` batched steps of uniform
random valid actions (drawn with numpy outside the timed part) after one warm-up step (jax
compiles once per map and B; the compile time is reported apart). Timed: ``available_actions()``
and ``step()``. steps/s = B x steps / seconds; best of ``--reps`` repetitions.

    python bench/env_throughput_smax.py [--quick] [--maps 3m 25m] [--sizes 1 64 1024]
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import _common as C  # noqa: E402  (XLA_FLAGS must be set before anything imports jax)

MAPS = ["3m", "3s5z", "10m_vs_11m", "25m", "smacv2_5_units", "smacv2_10_units"]


def run(map_name: str, num_envs: int, steps: int, reps: int) -> dict:
    """Compile time (reset + first step) and the best of ``reps`` timed runs of ``steps`` steps."""
    import time

    import numpy as np
    import torch

    from marl_attacks.envs import make_env

    env = make_env(f"smax-{map_name}", num_envs, "cpu", max_steps=100, seed=0)
    start = time.perf_counter()
    env.reset(list(range(num_envs)))
    env.step(env.available_actions().float().argmax(-1))
    compile_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(reps):
        env.reset(list(range(num_envs)))
        seconds = 0.0
        for _ in range(steps):
            start = time.perf_counter()
            avail = env.available_actions()
            seconds += time.perf_counter() - start
            u = rng.random(avail.shape)
            u[~avail.numpy()] = -1.0
            actions = torch.as_tensor(u.argmax(-1))  # uniform among the valid actions
            start = time.perf_counter()
            env.step(actions)
            seconds += time.perf_counter() - start
        rates.append(num_envs * steps / seconds)
    return {"compile_seconds": compile_s, "steps_per_s": max(rates), "runs_steps_per_s": rates}


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--maps", nargs="+", default=None, help=f"SMAX maps (default {' '.join(MAPS)}; quick: 3m)")
    p.add_argument("--sizes", nargs="+", type=int, default=[1, 64, 1024], help="batch sizes (default 1 64 1024)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per run (default 200; quick 50)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 2; quick 1)")
    p.add_argument("--core", type=int, default=0, help="the CPU the process is pinned to")
    a = p.parse_args()
    os.sched_setaffinity(0, {a.core})
    C.set_threads(a.threads)
    maps = a.maps or (["3m"] if a.quick else MAPS)
    steps = a.steps or (50 if a.quick else 200)
    reps = a.reps or (1 if a.quick else 2)
    m = C.machine()
    print(C.machine_line(m))
    print(f"SMAX maps {maps}, B in {a.sizes}, {steps} steps per run, {reps} repetition(s), pinned to CPU {a.core}")
    rows, results, figures = [], [], {}
    for map_name in maps:
        for B in a.sizes:
            r = run(map_name, B, steps, reps)
            results.append({"map": map_name, "num_envs": B, "steps": steps, **r})
            rows.append((map_name, B, f"{r['steps_per_s']:,.0f}", f"{r['compile_seconds']:.1f}"))
            print(f"  {map_name} B={B}: {rows[-1][2]} steps/s (compile {rows[-1][3]} s)", flush=True)
            figures[f"env_smax_{map_name}_steps_per_s_B{B}"] = r["steps_per_s"]
    print(C.table(rows, ("map", "B", "steps/s", "compile s")))
    details = {
        "maps": maps,
        "sizes": a.sizes,
        "steps_per_run": steps,
        "reps": reps,
        "threads": a.threads,
        "xla_flags": os.environ["XLA_FLAGS"],
        "results": results,
        "note": "instance steps/s (B x steps / s) of available_actions() + step() on one pinned core, random "
        "valid actions drawn outside the timing; best repetition; jax's compile (reset + first step) apart",
    }
    C.save("env_throughput_smax", figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
