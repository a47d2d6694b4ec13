"""Victim training throughput per env and algorithm, against each env's own stepping limit.

For every env of a config (default ``config/paper.yaml``) and every algorithm whose action
space fits it (MAPPO, IPPO; QMIX, VDN on discrete envs), side by side in one run:

* train: ``marl_attacks.algos.ALGOS[algo].train`` for ``--steps`` env steps with the config's
  settings for that env (``algo_params``: ``algos.<algo>`` plus ``envs.<env>.train.<algo>``),
  env construction included, as a ``train_victim`` job does it. A config without IPPO or VDN
  settings (config/paper.yaml trains MAPPO and QMIX only) lends them MAPPO's and QMIX's: IPPO
  is MAPPO's learner with per-agent critics, VDN QMIX's with a sum mixer;
* limit: uniform-random joint actions stepped through the same batched env (same parallel
  envs, no policy, no learning), the ceiling of any learner on this env at this batch.

The ratio train / limit says how much of the env's own speed the learner keeps. One env step =
one joint transition of one parallel episode. Every run also shows that the algorithm trains on
the env at all (a failure is printed and recorded, not raised). Best of ``--reps`` repetitions.

    python bench/victim_throughput.py [--quick] [--config config/paper.yaml] [--envs A B] [--algos mappo qmix]
"""

from __future__ import annotations

import copy
import dataclasses
import traceback

import _common as C

#: the algorithm whose settings an algorithm borrows when the config has none of its own
BORROWS = {"ippo": "mappo", "vdn": "qmix"}


def settings(config: dict, env: str, algo: str) -> tuple[dict, str]:
    """``algo``'s hyperparameters on ``env`` (without total_steps) and where they came from."""
    import marl_attacks.config as cfgmod
    from marl_attacks.algos import ALGOS

    if algo in config["algos"]:
        source, hp = f"algos.{algo}", cfgmod.algo_params(config, env, algo)
    else:
        lender = BORROWS[algo]
        borrowed = copy.deepcopy(config)
        for block in [borrowed["algos"], *(e.get("train", {}) for e in borrowed["envs"].values())]:
            if lender in block:
                block[algo] = block[lender]
        source, hp = f"algos.{lender} (borrowed)", cfgmod.algo_params(borrowed, env, algo)
        # keep the lender's keys the borrower's dataclass has (VDN lacks QMIX's mixer keys)
        own = {f.name for f in dataclasses.fields(ALGOS[algo].config)}
        hp = {k: v for k, v in hp.items() if k in own}
    hp.pop("total_steps", None)
    return hp, source


def run_train(env_cfg: dict, algo: str, hp: dict, steps: int) -> dict:
    from marl_attacks.algos import ALGOS, build_config
    from marl_attacks.envs import make_env

    cfg = build_config(algo, {**hp, "total_steps": steps})
    with C.Timer() as t:
        env = make_env(
            env_cfg["name"], cfg.num_envs, "cpu", max_steps=env_cfg["max_steps"], seed=0, kwargs=env_cfg["kwargs"]
        )
        _, curve = ALGOS[algo].train(env, cfg, seed=0, progress=False)
    return {"seconds": t.seconds, "steps": curve[-1]["env_steps"], "num_envs": cfg.num_envs}


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--config", default=str(C.ROOT / "config" / "paper.yaml"))
    p.add_argument(
        "--envs", nargs="+", default=None, help="default: every env of the config (--quick: the first of each family)"
    )
    p.add_argument("--algos", nargs="+", default=["mappo", "ippo", "qmix", "vdn"])
    p.add_argument(
        "--steps", type=int, default=None, help="env steps per training run (default: 20,000 full, 4,000 quick)"
    )
    p.add_argument("--reps", type=int, default=None, help="repetitions (default: 2 full, 1 quick)")
    a = p.parse_args()
    C.set_threads(a.threads)
    C.warm_up_torch()
    import marl_attacks.config as cfgmod
    from marl_attacks.envs import make_env

    config = cfgmod.load(a.config)
    envs = a.envs or list(config["envs"])
    if a.quick and not a.envs:  # one env per family (vmas, mpe, lbf, rware): under 2 minutes
        envs = list({e.split("-")[0]: e for e in reversed(envs)}.values())[::-1]
    steps = a.steps or (4_000 if a.quick else 20_000)
    reps = a.reps or (1 if a.quick else 2)
    m = C.machine()
    print(C.machine_line(m))
    print(f"{a.config}: {len(envs)} envs x {a.algos}, {steps} env steps per training run, {reps} repetition(s)")
    rows, results = [], []
    for env in envs:
        env_cfg = cfgmod.env_params(config, env)
        spec = make_env(env, 1, "cpu", max_steps=env_cfg["max_steps"], seed=0, kwargs=env_cfg["kwargs"]).spec
        limits = {}
        for algo in a.algos:
            if algo in ("qmix", "vdn") and not spec.discrete:
                results.append({"env": env, "algo": algo, "skipped": "continuous actions"})
                continue
            hp, source = settings(config, env, algo)
            runs, error = [], None
            try:
                for _ in range(reps):
                    runs.append(run_train(env_cfg, algo, hp, steps))
            except Exception:  # noqa: BLE001 (a benchmark reports what fails and goes on)
                error = traceback.format_exc(limit=3)
                print(f"{env} {algo}: FAILED\n{error}")
            num_envs = hp.get("num_envs")
            if num_envs not in limits:
                limits[num_envs] = [C.random_stepping(env_cfg, num_envs, steps) for _ in range(reps)]
            limit = max(x["steps"] / x["seconds"] for x in limits[num_envs])
            train = max((x["steps"] / x["seconds"] for x in runs), default=None)
            results.append(
                {
                    "env": env,
                    "algo": algo,
                    "settings_from": source,
                    "hp": hp,
                    "runs": runs,
                    "limit_runs": limits[num_envs],
                    "train_steps_per_s": train,
                    "limit_steps_per_s": limit,
                    "error": error,
                }
            )
            rows.append(
                (
                    env,
                    algo,
                    num_envs,
                    "FAILED" if train is None else f"{train:,.0f}",
                    f"{limit:,.0f}",
                    "-" if train is None else f"{train / limit:.2f}",
                    source,
                )
            )
            print(f"  {env} {algo}: train {rows[-1][3]} steps/s, limit {rows[-1][4]} steps/s", flush=True)
    print(
        C.table(
            rows, ("env", "algo", "parallel envs", "train steps/s", "env limit steps/s", "train / limit", "settings")
        )
    )
    trained = [r for r in results if r.get("train_steps_per_s")]
    failed = [f"{r['env']}/{r['algo']}" for r in results if r.get("error")]
    print(f"{len(trained)} env x algo pairs trained, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    figures = {
        "victim_train_steps_per_s_min": min((r["train_steps_per_s"] for r in trained), default=None),
        "victim_train_vs_env_limit_min": min(
            (r["train_steps_per_s"] / r["limit_steps_per_s"] for r in trained), default=None
        ),
    }
    details = {
        "config": a.config,
        "steps_per_run": steps,
        "reps": reps,
        "threads": a.threads,
        "results": results,
        "failed": failed,
        "note": "best repetition of each; env construction included in every timing",
    }
    C.save("victim_throughput", figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
