"""tanh by numpy (the package's ``algos.common.Tanh``) against torch's CPU kernel, side by side.

First the kernels alone: one forward of ``torch.tanh`` and of numpy's ``np.tanh`` (the package's
forward) on a float32 batch of 12,800 x 128 (one PPO minibatch of rware-small-4ag: 128 envs x 100
steps / 4 minibatches x 4 agents, hidden 128), and forward + backward of one hidden layer with
each; median CPU time of this process.

Then what it does to training: MAPPO and IPPO on one env (default ``rware-small-4ag``, the
settings of ``config/paper.yaml``), ``--steps`` env steps each, with the package's ``Tanh`` and
with its forward patched back to ``torch.tanh``, alternating; env steps per CPU second of this
process (a shared machine moves it less than wall time) and per wall second.

    python bench/tanh_kernel.py [--quick] [--steps 256000] [--env rware-small-4ag] [--algos mappo ippo]
"""

from __future__ import annotations

import _common as C


def kernels(repeats: int) -> dict:
    import numpy as np
    import torch

    from marl_attacks.algos.common import Tanh

    torch.manual_seed(0)
    x = torch.randn(12_800, 128)
    lin = torch.nn.Linear(128, 128)
    ours, theirs = Tanh(), torch.nn.Tanh()

    def layer(act):
        def run():
            xi = x.detach().requires_grad_()
            act(lin(xi)).sum().backward()

        return run

    out = {
        "forward_torch_ms": C.median_cpu_ms(lambda: torch.tanh(x), repeats),
        "forward_numpy_ms": C.median_cpu_ms(lambda: np.tanh(x.numpy()), repeats),
        "layer_torch_ms": C.median_cpu_ms(layer(theirs), repeats),
        "layer_numpy_ms": C.median_cpu_ms(layer(ours), repeats),
        "max_abs_difference": float((ours(x) - torch.tanh(x)).abs().max()),
    }
    ft, fn, lt, ln = (out[k] for k in ("forward_torch_ms", "forward_numpy_ms", "layer_torch_ms", "layer_numpy_ms"))
    print(
        f"  tanh of 12,800 x 128 float32: torch {ft:.2f} CPU ms, numpy {fn:.2f} ({ft / fn:.1f}x);"
        f" Linear(128) + tanh forward + backward: torch {lt:.2f}, numpy {ln:.2f} ({lt / ln:.2f}x);"
        f" largest difference {out['max_abs_difference']:.1e}"
    )
    return out


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--config", default=str(C.ROOT / "config" / "paper.yaml"))
    p.add_argument("--env", default="rware-small-4ag")
    p.add_argument("--algos", nargs="+", default=["mappo", "ippo"], choices=["mappo", "ippo"])
    p.add_argument("--steps", type=int, default=None, help="env steps per run (default: 256,000; quick: 25,600)")
    a = p.parse_args()
    C.set_threads(a.threads)
    C.warm_up_torch()
    import torch

    import marl_attacks.config as cfgmod
    from marl_attacks.algos import build_config
    from marl_attacks.algos.common import Tanh

    print(C.machine_line(C.machine()))
    kern = kernels(15 if a.quick else 50)
    suffix = "_quick" if a.quick else ""
    figures = {f"tanh_forward_torch_vs_numpy{suffix}": kern["forward_torch_ms"] / kern["forward_numpy_ms"]}
    config = cfgmod.load(a.config)
    env_cfg = cfgmod.env_params(config, a.env)
    steps = a.steps or (25_600 if a.quick else 256_000)
    numpy_forward = Tanh.forward
    runs, rows = {}, []
    for algo in a.algos:
        hp = {k: v for k, v in cfgmod.algo_params(config, a.env, algo).items() if k != "total_steps"}
        print(f"{a.env} ({env_cfg.get('backend', 'reference')} backend), {algo} {hp}, {steps:,} env steps per run")
        for kernel in ("torch", "numpy"):
            Tanh.forward = numpy_forward if kernel == "numpy" else (lambda self, x: torch.tanh(x))
            cfg = build_config(algo, {**hp, "total_steps": steps})
            curve, t = C.timed_training(algo, cfg, env_cfg)
            done, cpu = curve[-1]["env_steps"], t.cpu_seconds
            runs[f"{algo}_{kernel}"] = {"seconds": t.seconds, "cpu_seconds": cpu, "steps": done}
            rows.append(
                (algo, kernel, f"{done:,}", f"{t.seconds:.1f}", f"{done / t.seconds:,.0f}", f"{done / cpu:,.0f}")
            )
            print(f"  {kernel} tanh: {done / t.seconds:,.0f} steps/s ({done / cpu:,.0f} per CPU second)", flush=True)
        Tanh.forward = numpy_forward
        gain = runs[f"{algo}_torch"]["cpu_seconds"] / runs[f"{algo}_numpy"]["cpu_seconds"]
        figures[f"{algo}_train_numpy_vs_torch_tanh{suffix}"] = gain
        print(f"  {algo}: numpy tanh trains {gain:.2f}x as many env steps per CPU second as torch's")
    print(C.table(rows, ("algo", "tanh", "env steps", "seconds", "steps/s", "steps per CPU s")))
    C.save(
        "tanh_kernel",
        figures,
        {"env": a.env, "config": a.config, "steps": steps, "kernels": kern, "runs": runs},
        a.quick,
        a.no_save,
    )


if __name__ == "__main__":
    main()
