"""Evaluation throughput under attack vs benign, through the evaluate stage's batching.

Each configuration runs ``marl_attacks.rollout.run_episodes`` on one batch of
parallel episodes shaped as ``evaluate_attacks`` shapes it (all eps values of one
attack in one batch: ``len(evaluate.eps) x evaluate.episodes`` episodes, capped at
``max_batch``), with the same env seeds for every attack, all agents attacked.
The victim is a MAPPO policy and f_theta an MLP/RNN/Transformer of the config's
sizes, built untrained: throughput does not depend on the weights (the victim's
widths and f_theta's sizes are what matter). Figures are episodes/s and
env-steps/s (live episode steps); the ratio to benign is on episodes/s (the same
episodes). The batch's env reset with per-episode seeds is part of every timing,
as in the evaluate stage.

    python bench/eval_throughput.py [--quick] [--env vmas-navigation] [--fit-config config/paper.yaml]

``--quick`` cuts episodes to 25 steps (the time limit) and runs the five headline
configurations once; the full mode runs the whole 100-step episodes, more attacks,
and two repetitions (best kept). ``--fit-config`` takes f_theta sizes from another
config (e.g. the paper's 5 x 1024 MLP), in the form its protocol fits (``protocol.f_theta``).
"""

from __future__ import annotations

from pathlib import Path

import _common as C

HEADLINE = [
    ("benign", {}),
    ("align-mlp", {"pgd_steps": 1}),
    ("align-mlp", {"pgd_steps": 10}),
    ("hadamard", {}),
    ("white-box-fgsm", {}),
]
MORE = [
    ("noise-gaussian", {}),
    ("align-rnn", {"pgd_steps": 1}),
    ("align-transformer", {"pgd_steps": 1}),
    ("white-box-pgd", {"pgd_steps": 10}),
]


def label(name: str, params: dict) -> str:
    return f"{name} K={params['pgd_steps']}" if "pgd_steps" in params and name.startswith("align") else name


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--env", default="vmas-balance")
    p.add_argument(
        "--config",
        default=str(C.ROOT / "config" / "config.yaml"),
        help="env, victim, evaluation batch and f_theta sizes",
    )
    p.add_argument("--fit-config", default=None, help="take f_theta sizes from this config instead")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default: 2 full, 1 quick)")
    p.add_argument("--steps", type=int, default=None, help="episode time limit (default: 25 quick, the env's full)")
    p.add_argument("--all", action="store_true", help="every attack of the full mode, also with --quick")
    a = p.parse_args()
    C.set_threads(a.threads)
    C.warm_up_torch()
    import torch

    import marl_attacks.config as cfgmod
    from marl_attacks.algos.mappo import MappoPolicy
    from marl_attacks.alignment import FitConfig, build_model
    from marl_attacks.attacks import ATTACKS, AttackContext, make_attack
    from marl_attacks.envs import make_env
    from marl_attacks.rollout import run_episodes
    from marl_attacks.stages.evaluate import episode_seeds

    config = cfgmod.load(a.config)
    fit_config = cfgmod.load(a.fit_config) if a.fit_config else config
    env_cfg = cfgmod.env_params(config, a.env)
    ev = config["evaluate"]
    max_steps = a.steps or (25 if a.quick else env_cfg["max_steps"])
    B = min(len(ev["eps"]) * ev["episodes"], ev["max_batch"])
    reps = a.reps or (1 if a.quick else 2)
    todo = HEADLINE if a.quick and not a.all else HEADLINE + MORE

    env = make_env(
        a.env, B, "cpu", max_steps=max_steps, kwargs=env_cfg["kwargs"], backend=env_cfg.get("backend", "reference")
    )
    spec = env.spec
    hidden = cfgmod.algo_params(config, a.env, "mappo")["hidden"]
    torch.manual_seed(0)
    victim = MappoPolicy(
        spec.n_agents, spec.obs_dim, spec.action_type, spec.action_dim, spec.action_low, spec.action_high, hidden
    ).eval()
    for q in victim.parameters():
        q.requires_grad_(False)
    models, forms = {}, {}
    for arch in {ATTACKS[n].align_arch for n, _ in todo} - {None}:
        # in the form the config's protocol fits (protocol.f_theta: authors = one shared network)
        fit_cfg = FitConfig(**cfgmod.fit_block(fit_config, arch))
        f, forms[arch] = build_model(fit_cfg, spec.n_agents, spec.obs_dim), fit_cfg.form
        f.val_mse.fill_(1.0)
        models[arch] = f.eval()
    seeds = episode_seeds(config["seed"], a.env, ev["episodes"])
    seeds = [seeds[i % len(seeds)] for i in range(B)]
    eps = torch.tensor([float(ev["eps"][i // ev["episodes"] % len(ev["eps"])]) for i in range(B)])
    attacked = torch.ones(B, spec.n_agents, dtype=torch.bool)

    m = C.machine()
    print(C.machine_line(m))
    print(
        f"{a.env}: {B} parallel episodes of {max_steps} steps, victim MAPPO hidden {hidden}; f_theta sizes "
        f"from {a.fit_config or a.config}; {reps} repetition(s)"
    )
    results = {}
    for _r in range(reps):
        for name, params in todo:
            gen = torch.Generator().manual_seed(0)
            ctx = AttackContext(
                spec=spec, generator=gen, align_model=models.get(ATTACKS[name].align_arch), victim=victim
            )
            attack = None if name == "benign" else make_attack(name, ctx, params)
            with C.Timer() as t:
                res = run_episodes(
                    env,
                    victim.act,
                    seeds,
                    attack=attack,
                    eps=None if attack is None else eps,
                    attacked=None if attack is None else attacked,
                )
            row = {
                "seconds": t.seconds,
                "episodes": B,
                "env_steps": int(res.lengths.sum()),
                "batched_steps": int(res.lengths.max()),
                "attack_seconds": res.attack_seconds,
            }
            key = label(name, params)
            if key not in results or row["seconds"] < results[key]["seconds"]:
                results[key] = row
    base = results["benign"]
    rows = []
    for key, row in results.items():
        row["episodes_per_s"] = row["episodes"] / row["seconds"]
        row["env_steps_per_s"] = row["env_steps"] / row["seconds"]
        row["vs_benign"] = row["episodes_per_s"] / (base["episodes"] / base["seconds"])
        row["attack_ms_per_batched_step"] = 1e3 * row["attack_seconds"] / max(1, row["batched_steps"])
        # the attack's own time added to the benign run: free of the env-side differences (episodes
        # that end early cost per-episode resets), which make single runs noisy
        row["vs_benign_attack_only"] = base["seconds"] / (
            base["seconds"] + row["attack_seconds"] * base["batched_steps"] / max(1, row["batched_steps"])
        )
        rows.append(
            (
                key,
                f"{row['seconds']:.2f}",
                f"{row['episodes_per_s']:.1f}",
                f"{row['env_steps_per_s']:,.0f}",
                f"{row['attack_ms_per_batched_step']:.1f}",
                f"{row['vs_benign']:.2f}",
                f"{row['vs_benign_attack_only']:.2f}",
            )
        )
    print(
        C.table(
            rows,
            (
                "configuration",
                "wall s",
                "episodes/s",
                "env steps/s",
                "attack ms/step",
                "vs benign",
                "vs benign (attack time only)",
            ),
        )
    )
    # f_theta sizes of another config: its own keys and details, next to the default ones
    tag = f"_{Path(a.fit_config).stem}_fit" if a.fit_config else ""
    figures = {
        "attacked_vs_benign_eval": round(results["align-mlp K=1"]["vs_benign"], 3),
        "eval_align_k10_vs_benign": round(results["align-mlp K=10"]["vs_benign"], 3),
        "eval_hadamard_vs_benign": round(results["hadamard"]["vs_benign"], 3),
        "eval_whitebox_fgsm_vs_benign": round(results["white-box-fgsm"]["vs_benign"], 3),
        "eval_benign_episodes_per_s": round(base["episodes"] / base["seconds"], 2),
        "attacked_vs_benign_eval_attack_only": round(results["align-mlp K=1"]["vs_benign_attack_only"], 3),
    }
    print(
        f"attacked_vs_benign_eval{tag} (align-mlp K=1 / benign) = {figures['attacked_vs_benign_eval']} (target >= 0.50)"
    )
    figures = {k + tag: v for k, v in figures.items()}
    details = {
        "env": a.env,
        "batch_episodes": B,
        "max_steps": max_steps,
        "victim_hidden": hidden,
        "fit_sizes_from": a.fit_config or a.config,
        "f_theta": {k: v.init_kwargs for k, v in models.items()},
        "f_theta_form": forms,
        "reps": reps,
        "threads": a.threads,
        "results": results,
        "note": "untrained victim and f_theta (throughput does not depend on weights); best of reps",
    }
    C.save("eval_throughput" + tag, figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
