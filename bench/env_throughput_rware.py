"""Multi-Robot Warehouse stepping speed: rware's own envs in a loop vs the batched env.

For each task (rware-tiny-2ag, rware-tiny-4ag, rware-small-4ag) and each number of parallel
episodes B (64, 256, 1024), uniform-random joint actions are stepped through

* reference: ``RwareEnv`` (``marl_attacks.envs.rware_env``), B ``rware.Warehouse`` instances
  stepped one after the other in Python;
* batched: ``BatchedRwareEnv`` (``marl_attacks.envs.rware_batched``), the same dynamics on
  arrays over all B instances (equal step for step: tests/test_rware_batched.py).

Env steps/s counts instance steps (B x batch steps / s), auto-resets included (time limit
500, as the paper's config), env construction and the first reset excluded, actions drawn
beforehand. One torch thread (``--threads``), as every pipeline job. Best of ``--reps``.
Saves ``env_rware_<task>_batched_vs_reference_B1024`` (the speed ratio at B = 1024).

    python bench/env_throughput_rware.py [--quick] [--no-save] [--tasks tiny-2ag ...] [--sizes 64 256 1024]
"""

from __future__ import annotations

import _common as C


def steps_per_s(cls, task: str, B: int, instance_steps: int, reps: int) -> dict:
    import torch

    env = cls(task, B, "cpu", max_steps=500, seed=0)
    env.reset(list(range(B)))
    gen = torch.Generator().manual_seed(0)
    n = max(2, -(-instance_steps // B))
    actions = [env.random_actions(gen) for _ in range(n)]
    best = 0.0
    for _ in range(reps):
        with C.Timer() as t:
            for a in actions:
                env.step(a)
        best = max(best, n * B / t.seconds)
    return {"steps_per_s": best, "batch_steps": n, "instance_steps": n * B}


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--tasks", nargs="+", default=["tiny-2ag", "tiny-4ag", "small-4ag"])
    p.add_argument("--sizes", nargs="+", type=int, default=[64, 256, 1024])
    p.add_argument("--reps", type=int, default=None, help="repetitions (default: 2 full, 1 quick)")
    a = p.parse_args()
    C.set_threads(a.threads)
    from marl_attacks.envs.rware_batched import BatchedRwareEnv
    from marl_attacks.envs.rware_env import RwareEnv

    reps = a.reps or (1 if a.quick else 2)
    ref_steps, bat_steps = (3_000, 30_000) if a.quick else (12_000, 200_000)
    m = C.machine()
    print(C.machine_line(m))
    print(f"instance steps per timing: reference {ref_steps:,}, batched {bat_steps:,}; best of {reps}")
    rows, results, figures = [], [], {}
    for task in a.tasks:
        for B in a.sizes:
            ref = steps_per_s(RwareEnv, task, B, ref_steps, reps)
            bat = steps_per_s(BatchedRwareEnv, task, B, bat_steps, reps)
            ratio = bat["steps_per_s"] / ref["steps_per_s"]
            results.append({"task": task, "num_envs": B, "reference": ref, "batched": bat, "ratio": ratio})
            speeds = f"{ref['steps_per_s']:,.0f}", f"{bat['steps_per_s']:,.0f}"
            rows.append((f"rware-{task}", B, *speeds, f"{ratio:.1f}x"))
            print(f"  rware-{task} B={B}: reference {rows[-1][2]}, batched {rows[-1][3]} steps/s", flush=True)
            if B == 1024:
                figures[f"env_rware_{task}_batched_vs_reference_B1024"] = round(ratio, 1)
    print(C.table(rows, ("env", "B", "reference steps/s", "batched steps/s", "batched / reference")))
    details = {
        "reps": reps,
        "threads": a.threads,
        "instance_steps": {"reference": ref_steps, "batched": bat_steps},
        "results": results,
        "note": "instance steps/s, random actions, auto-resets included, construction excluded; best repetition",
    }
    C.save("env_throughput_rware", figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
