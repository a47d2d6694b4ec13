"""Training env steps/s of MAPPO with a GRU actor (``agent: gru``) against the feed-forward actor.

On one env (default ``lbf-2s-8x8-3p-2f``, batched backend, 50-step episodes), side by side:

* ``mlp``: the feed-forward actor with config/paper-full.yaml's settings for that env
  (``algos.mappo`` plus its ``envs.<env>.train.mappo``: 32 envs x 50 steps, 5 epochs x 4
  minibatches, hidden 64);
* ``gru``: the same settings with ``agent: gru`` (same width: what the recurrence itself costs);
* ``gru-epymarl``: ``agent: gru`` with EPyMARL's mappo.yaml settings (hidden 128, ent_coef
  0.001, lr 3e-4, standardise_rewards).

Each runs ``--steps`` env steps (one step = one joint transition of one parallel episode), env
construction included, as a ``train_victim`` job: steps per wall-clock second, and per second of
this process's CPU time (less sensitive to other jobs on a shared machine). Also printed: the
mean training return of the last tenth of the run (a short run: not a competence figure).

Before them, what training's sequence unroll costs: forward and backward of ``GruNet.unroll`` on
one minibatch chunk of 128 rows (RWARE's 32 envs x 4 agents), hidden 64, 50 and 100 steps, taking
the steps with ``unbind`` as the package does, against the earlier loop that indexed them.

    python bench/gru_throughput.py [--quick] [--steps 300000] [--env lbf-2s-8x8-3p-2f]
"""

from __future__ import annotations

import _common as C

VARIANTS = {
    "mlp": {},
    "gru": {"agent": "gru"},
    "gru-epymarl": {"agent": "gru", "hidden": 128, "ent_coef": 0.001, "lr": 3e-4, "standardise_rewards": True},
}


def unroll_side_by_side(repeats: int) -> dict:
    """CPU milliseconds per forward + backward of ``GruNet.unroll`` (steps taken with ``unbind``) vs the
    same loop indexing the steps (``z[t]``, whose backward writes a gradient the size of all steps per
    step), and their ratio, on chunks of 50 (LBF) and 100 steps (RWARE)."""
    import torch
    import torch.nn.functional as F

    from marl_attacks.algos.recurrent import GruNet

    torch.manual_seed(0)
    rows, hidden = 128, 64
    net = GruNet(75, hidden, 5)

    def indexed(x, memory, starts):
        z, h, hs = F.relu(net.fc1(x)), memory, []
        for t in range(x.shape[0]):
            h = net.rnn(z[t], h * (~starts[t]).unsqueeze(1))
            hs.append(h)
        return net.fc2(torch.stack(hs)), None

    def ms(unroll, T):
        x, memory, starts = torch.randn(T, rows, 75), torch.zeros(rows, hidden), torch.zeros(T, rows, dtype=torch.bool)
        return C.median_cpu_ms(lambda: unroll(x, memory, starts)[0].sum().backward(), repeats)

    out = {}
    for T in (50, 100):
        unbound, index = ms(net.unroll, T), ms(indexed, T)
        out[f"T{T}"] = {"unbind_ms": unbound, "index_ms": index, "speedup": index / unbound}
        print(
            f"  unroll of {T} x {rows} rows: {unbound:.1f} CPU ms (unbind), {index:.1f} (index): {index / unbound:.2f}x"
        )
    return out


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--config", default=str(C.ROOT / "config" / "paper-full.yaml"))
    p.add_argument("--env", default="lbf-2s-8x8-3p-2f")
    p.add_argument("--steps", type=int, default=None, help="env steps per run (default: 300,000; quick: 16,000)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    a = p.parse_args()
    C.set_threads(a.threads)
    C.warm_up_torch()
    import marl_attacks.config as cfgmod
    from marl_attacks.algos import build_config

    config = cfgmod.load(a.config)
    env_cfg = cfgmod.env_params(config, a.env)
    base = {k: v for k, v in cfgmod.algo_params(config, a.env, "mappo").items() if k != "total_steps"}
    steps = a.steps or (16_000 if a.quick else 300_000)
    print(C.machine_line(C.machine()))
    unroll = unroll_side_by_side(3 if a.quick else 20)
    figures = {f"gru_unroll_{k}_unbind_vs_index{'_quick' if a.quick else ''}": v["speedup"] for k, v in unroll.items()}
    print(f"{a.env} ({env_cfg.get('backend', 'reference')} backend), MAPPO {base}, {steps} env steps per run")
    rows, runs = [], {}
    for name in a.variants:
        cfg = build_config("mappo", {**base, **VARIANTS[name], "total_steps": steps})
        curve, t = C.timed_training("mappo", cfg, env_cfg)
        done, cpu = curve[-1]["env_steps"], t.cpu_seconds
        tail = [r["episode_return"] for r in curve[-max(1, len(curve) // 10) :] if r["episodes"]]
        ret = sum(tail) / len(tail) if tail else float("nan")
        runs[name] = {"settings": VARIANTS[name], "seconds": t.seconds, "cpu_seconds": cpu, "steps": done}
        runs[name]["final_return"] = ret
        figures[f"mappo_{name.replace('-', '_')}_train_steps_per_s{'_quick' if a.quick else ''}"] = done / t.seconds
        speed, cpu_speed = f"{done / t.seconds:,.0f}", f"{done / cpu:,.0f}"
        rows.append((name, f"{done:,}", f"{t.seconds:.1f}", speed, cpu_speed, f"{ret:.3f}"))
        print(f"  {name}: {speed} steps/s ({cpu_speed} per CPU second), return {ret:.3f}", flush=True)
    header = ("actor", "env steps", "seconds", "steps/s", "steps per CPU s", "return (last tenth)")
    print(C.table(rows, header))
    if "mlp" in runs:
        for name in runs:
            if name != "mlp":
                ratio = (runs[name]["steps"] / runs[name]["seconds"]) / (runs["mlp"]["steps"] / runs["mlp"]["seconds"])
                print(f"{name} / mlp: {ratio:.2f}x the feed-forward actor's training speed")
    C.save(
        "gru_throughput",
        figures,
        {"env": a.env, "config": a.config, "base": base, "steps": steps, "runs": runs, "unroll": unroll},
        a.quick,
        a.no_save,
    )


if __name__ == "__main__":
    main()
