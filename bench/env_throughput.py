"""Env steps/s of the batched LBF env against the reference adapter, for every LBF task of a config.

For every ``lbf-*`` env of a config (default ``config/paper.yaml``, its time limit and kwargs)
and every batch size B (default 64, 256, 1024; ``--quick``: 1024), side by side in one run:

* reference: ``make_env(..., backend="reference")``, ``envs/lbf_env.py``: B lbforaging
  ``ForagingEnv`` instances stepped one after the other;
* batched: ``make_env(..., backend="batched")``, ``envs/lbf_batched.py``: all B episodes at once
  on arrays, tested equal to the reference step by step (tests/test_lbf_batched.py).

Each run starts from a reset and steps at least ``--episodes`` time limits (so every episode
auto-resets at least once and the placement of new episodes is paid for), and then keeps
stepping, across auto-resets, until its timed env calls add up to ``--min-seconds`` (default 2 s;
quick 1 s): a batched run of 100 steps takes only 0.1-0.3 s, where timer and scheduling noise
moved single runs by 1.5x. Uniform random valid actions, drawn with numpy outside the timed
part. Timed: ``available_actions()`` and ``step()``. One instance step = one joint transition of
one episode; steps/s = B x steps / seconds. Best of ``--reps`` repetitions, the two backends
alternating; one torch thread (``--threads``).

    python bench/env_throughput.py [--quick] [--config config/paper.yaml] [--sizes 64 1024] [--envs lbf-...]
        [--min-seconds 2]
"""

from __future__ import annotations

import _common as C


def run(env_cfg: dict, backend: str, num_envs: int, steps: int, min_seconds: float = 0.0) -> dict:
    """At least ``steps`` batched steps of random valid actions, more until the env calls took
    ``min_seconds``; time of the env calls only."""
    import time

    import numpy as np
    import torch

    from marl_attacks.envs import make_env

    env = make_env(
        env_cfg["name"],
        num_envs,
        "cpu",
        max_steps=env_cfg["max_steps"],
        seed=0,
        kwargs=env_cfg["kwargs"],
        backend=backend,
    )
    env.reset(list(range(num_envs)))
    rng = np.random.default_rng(0)
    seconds, done = 0.0, 0
    while done < steps or seconds < min_seconds:
        start = time.perf_counter()
        avail = env.available_actions()
        seconds += time.perf_counter() - start
        u = rng.random(avail.shape)
        u[~avail.numpy()] = -1.0
        actions = torch.as_tensor(u.argmax(-1))  # uniform among the valid actions
        start = time.perf_counter()
        env.step(actions)
        seconds += time.perf_counter() - start
        done += 1
    env.close()
    return {"seconds": seconds, "steps": done * num_envs}


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--config", default=str(C.ROOT / "config" / "paper.yaml"))
    p.add_argument("--sizes", nargs="+", type=int, default=None, help="batch sizes (default 64 256 1024; quick 1024)")
    p.add_argument("--episodes", type=int, default=None, help="time limits per run (default 2; quick 1)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 2; quick 1)")
    p.add_argument(
        "--min-seconds", type=float, default=None, help="timed seconds per run at least (default 2; quick 1)"
    )
    p.add_argument("--envs", nargs="+", default=None, help="only these LBF envs of the config (default: all)")
    p.add_argument("--name", default="env_throughput", help="key of this run's details in results.json")
    a = p.parse_args()
    C.set_threads(a.threads)
    import marl_attacks.config as cfgmod

    config = cfgmod.load(a.config)
    envs = [e for e in config["envs"] if e.startswith("lbf-") and (a.envs is None or e in a.envs)]
    sizes = a.sizes or ([1024] if a.quick else [64, 256, 1024])
    episodes = a.episodes or (1 if a.quick else 2)
    reps = a.reps or (1 if a.quick else 2)
    min_seconds = a.min_seconds if a.min_seconds is not None else (1.0 if a.quick else 2.0)
    m = C.machine()
    print(C.machine_line(m))
    print(
        f"{a.config}: {len(envs)} LBF envs, B in {sizes}, at least {episodes} time limit(s) and "
        f"{min_seconds:g} timed s per run, {reps} repetition(s)"
    )
    rows, results, figures = [], [], {}
    for env in envs:
        env_cfg = cfgmod.env_params(config, env)
        steps = episodes * env_cfg["max_steps"]
        for B in sizes:
            runs = {"reference": [], "batched": []}
            for _ in range(reps):  # alternating, so that a change of load hits both alike
                for backend, done in runs.items():
                    done.append(run(env_cfg, backend, B, steps, min_seconds))
            rate = {backend: max(r["steps"] / r["seconds"] for r in done) for backend, done in runs.items()}
            ratio = rate["batched"] / rate["reference"]
            results.append({"env": env, "num_envs": B, "steps": steps, "runs": runs, "steps_per_s": rate})
            rows.append((env, B, f"{rate['reference']:,.0f}", f"{rate['batched']:,.0f}", f"{ratio:.1f}x"))
            print(f"  {env} B={B}: reference {rows[-1][2]}, batched {rows[-1][3]} steps/s ({rows[-1][4]})", flush=True)
            key = f"env_{env.replace('-', '_', 1)}"
            figures[f"{key}_batched_vs_reference_B{B}"] = ratio
            figures[f"{key}_batched_steps_per_s_B{B}"] = rate["batched"]
            figures[f"{key}_reference_steps_per_s_B{B}"] = rate["reference"]
    print(C.table(rows, ("env", "B", "reference steps/s", "batched steps/s", "batched / reference")))
    details = {
        "config": a.config,
        "sizes": sizes,
        "episodes_per_run": episodes,
        "reps": reps,
        "min_seconds": min_seconds,
        "threads": a.threads,
        "results": results,
        "note": "instance steps/s (B x steps / s) of available_actions() + step(), random valid actions drawn "
        "outside the timing; best repetition; every run crosses at least one auto-reset of every episode "
        "and lasts at least min_seconds of timed env calls (runs[].steps: B x the steps it took)",
    }
    C.save(a.name, figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
