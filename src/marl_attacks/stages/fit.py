"""Stage 3: fit the alignment model f_theta on a victim's benign samples.

Writes ``<arch>.pt`` holding the weights and the per-agent validation MSE
(also stored in the model itself, for targeted attacks). ``arch`` is a key of
``marl_attacks.alignment.ALIGN_MODELS`` and of the config's ``fit:`` block;
recurrent archs train on the episodes recorded in the samples file, robust
archs (``mlp-robust``) add adversarial training. By hand::

    python -m marl_attacks fit --config config/config.yaml --arch mlp --env vmas-navigation \\
        --algo mappo --seed 0 --samples out/samples.pt --out out/align_mlp.pt
"""

from __future__ import annotations

from dataclasses import asdict

from .. import config as cfgmod
from .. import lineage
from ..alignment import ALIGN_MODELS, FitConfig, fit
from ..io import load_artifact, save_artifact
from ..utils import resolve_device, set_threads
from . import victim_parser


def run(params: dict, *, samples: str, out: str, threads: int | None = None, progress: bool = True) -> None:
    """``params``: :func:`marl_attacks.config.fit_params`: the victim (names the job; seeds derive
    from it, never from paths), ``fit`` (a :class:`~marl_attacks.alignment.FitConfig`'s fields)
    and ``expect_samples``: refuse samples recorded by another config or from another victim."""
    set_threads(threads)
    dev = resolve_device(params["device"])
    cfg = FitConfig(**params["fit"])
    victim, expect = params["victim"], params["expect_samples"] or {}
    pool = load_artifact(samples, expect_config=expect.get("config"), expect_seed=expect.get("seed"))
    seed = lineage.align_seed(params["base_seed"], victim["env"], victim["algo"], victim["seed"], cfg.arch)
    model, stats = fit(pool["obs"], cfg, seed, dev, progress, episode=pool.get("episode"))
    block = lineage.align_block(asdict(cfg), pool["meta"]["config_hash"])
    save_artifact(
        out,
        {
            "arch": cfg.arch,
            "form": cfg.form,
            "init_kwargs": model.init_kwargs,
            "state_dict": model.state_dict(),
            "stats": stats,
        },
        block,
        seed,
    )
    mse = ", ".join(f"{v:.4g}" for v in stats["val_mse"])
    print(f"fitted f_theta ({cfg.arch}) in {stats['fit_seconds']:.1f}s; validation MSE per agent: {mse}")


def main(argv=None) -> None:
    p = victim_parser(__doc__)
    p.add_argument(
        "--arch",
        default="mlp",
        choices=sorted(ALIGN_MODELS),
        help="f_theta architecture: a key of the config's fit: block",
    )
    p.add_argument("--samples", required=True)
    p.add_argument(
        "--n-samples", type=int, default=None, help="fit on this many samples of the pool (samples ablation)"
    )
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    config = cfgmod.load(a.config)
    params = cfgmod.fit_params(config, a.env, a.algo, a.seed, a.arch, a.n_samples)
    run(params, samples=a.samples, out=a.out, threads=a.threads)


if __name__ == "__main__":
    main()
