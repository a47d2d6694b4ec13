"""f_theta fit time: MLP, RNN and Transformer at 1,000 and 5,000 samples, paper sizes.

(Plus the adversarially trained MLP of RobustAlign at 1,000 samples, which the
pipeline projection needs.)

Sizes and training settings come from the ``fit:`` block of ``config/paper.yaml``
(MLP 5 x 1024; RNN Linear 1024 + 5-layer LSTM 64; Transformer d_model 64, 4 heads,
5 layers; Adam 1e-4, batch 64, 90/10 split), fitted with
``marl_attacks.alignment.fit`` on samples recorded by ``marl_attacks.stages.collect`` from
an untrained MAPPO victim on one env (the fit's cost depends on sizes, not values).

The headline, ``fit_mlp_1k_s``, is the MLP on 1,000 samples for the paper's 100
epochs, measured in full in the full mode. Everything else, and the headline in
``--quick``, runs fewer epochs and is extrapolated to 100 epochs from the time per
epoch (the output marks these). ``--src`` measures another checkout's package (e.g.
before a change), ``--config config/config.yaml`` the quick config's smaller sizes.

    python bench/fit_time.py [--quick] [--src /path/to/other/src] [--config config/paper.yaml]
"""

from __future__ import annotations

import sys
from pathlib import Path

import _common as C

TARGET_EPOCHS = 100


def plan(quick: bool, full_headline: bool) -> list[tuple[str, int, int]]:
    """(arch, n_samples, epochs actually run)."""
    few = {1000: 2, 5000: 1} if quick else {1000: 5, 5000: 2}
    out = []
    for arch in ("mlp", "rnn", "transformer"):
        for n in (1000, 5000):
            run = TARGET_EPOCHS if (arch, n) == ("mlp", 1000) and full_headline else few[n]
            out.append((arch, n, run))
    out.append(("mlp-robust", 1000, few[1000]))  # RobustAlign's f_theta, for the pipeline projection
    return out


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--config", default=str(C.ROOT / "config" / "paper.yaml"), help="fit sizes")
    p.add_argument("--env", default="vmas-balance")
    p.add_argument("--src", default=None, help="measure the marl_attacks package under this src/ instead")
    a = p.parse_args()
    if a.src:
        sys.path.insert(0, a.src)
    C.set_threads(a.threads)
    C.warm_up_torch()
    import torch

    import marl_attacks
    import marl_attacks.config as cfgmod
    from marl_attacks.algos.mappo import MappoPolicy
    from marl_attacks.alignment import FitConfig, fit
    from marl_attacks.envs import make_env
    from marl_attacks.stages.collect import collect

    config = cfgmod.load(a.config)
    quick_env = cfgmod.load(C.ROOT / "config" / "config.yaml")
    env_cfg = cfgmod.env_params(quick_env, a.env)
    env = make_env(a.env, 64, "cpu", max_steps=env_cfg["max_steps"], seed=0, kwargs=env_cfg["kwargs"])
    s = env.spec
    torch.manual_seed(0)
    victim = MappoPolicy(s.n_agents, s.obs_dim, s.action_type, s.action_dim, hidden=64).eval()
    with C.Timer() as tc:
        samples = collect(env, victim, 5000, seed=0, progress=False)
    m = C.machine()
    print(C.machine_line(m))
    print(f"package: {marl_attacks.__file__}")
    print(
        f"samples: {len(samples['obs'])} joint observations [{s.n_agents} agents x {s.obs_dim}] from "
        f"{int(samples['episode'].unique().numel())} episodes of {a.env} ({tc.seconds:.1f}s to record); "
        f"sizes from {a.config}"
    )

    results, rows = {}, []
    for arch, n, epochs in plan(a.quick, not a.quick):
        params = {**cfgmod.fit_block(config, arch), "n_samples": n, "epochs": epochs}
        _, stats = fit(samples["obs"], FitConfig(**params), seed=0, progress=False, episode=samples["episode"])
        per_epoch = stats["fit_seconds"] / epochs
        total = per_epoch * TARGET_EPOCHS if epochs != TARGET_EPOCHS else stats["fit_seconds"]
        key = f"{arch}_{n // 1000}k"
        results[key] = {
            "arch": arch,
            "n_samples": n,
            "epochs_run": epochs,
            "seconds_run": stats["fit_seconds"],
            "seconds_per_epoch": per_epoch,
            "seconds_100_epochs": total,
            "extrapolated": epochs != TARGET_EPOCHS,
            "n_train": stats["n_train"],
            "n_val": stats["n_val"],
        }
        rows.append(
            (
                arch,
                n,
                epochs,
                f"{stats['fit_seconds']:.1f}",
                f"{per_epoch:.2f}",
                f"{total:.0f}" + (" (extrapolated)" if epochs != TARGET_EPOCHS else ""),
            )
        )
        print(f"  {arch} {n}: {stats['fit_seconds']:.1f}s for {epochs} epoch(s)", flush=True)
    print(C.table(rows, ("f_theta", "samples", "epochs run", "s run", "s/epoch", "s for 100 epochs")))
    headline = results["mlp_1k"]
    # sizes of another config than the paper's: their own keys and details
    tag = "" if Path(a.config).name == "paper.yaml" else f"_{Path(a.config).stem}_sizes"
    print(
        f"fit_mlp_1k{tag}_s = {headline['seconds_100_epochs']:.1f}"
        f"{' (extrapolated from ' + str(headline['epochs_run']) + ' epochs)' if headline['extrapolated'] else ''}"
        " (target <= 20 s CPU)"
    )
    figures = {f"fit_{k}{tag}_s": round(v["seconds_100_epochs"], 1) for k, v in results.items()}
    details = {
        "sizes_from": a.config,
        "fit_sizes": {arch: cfgmod.fit_block(config, arch) for arch in ("mlp", "rnn", "transformer", "mlp-robust")},
        "env": a.env,
        "threads": a.threads,
        "package": marl_attacks.__file__,
        "results": results,
        "note": "extrapolated = seconds per epoch (incl. the fit's fixed costs) x 100",
    }
    C.save("fit_time" + tag, figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
