"""Pipeline cost: the quick config from a fresh clone, and the paper config per stage.

Quick config (``quick_pipeline_measured_s``; ``quick_pipeline_estimated_s`` with ``--quick``):

* full mode: clones this repository's committed HEAD into a temporary folder and runs
  the README's first command there, ``python3 -m venv .venv && .venv/bin/pip install
  -e . && .venv/bin/snakemake --cores 2``, timed end to end (install included), then
  reads that run's Snakemake ``benchmark:`` files for the per-stage breakdown;
* ``--quick``: reads the ``benchmark:`` files under ``benchmarks/quick/`` of an
  existing run (``--run-dir``, default this checkout) and estimates the wall time as
  the sum of job seconds over 2 concurrent jobs (install not included; says so).

Paper config (``paper_pipeline_estimated_s``): per-stage cost from ``benchmarks/paper/`` when a
paper run exists; otherwise projected (``paper_pipeline_projected_s``) from per-unit costs:

* training: seconds per env step, calibrated here per env family (VMAS, MPE, LBF,
  RWARE) and learner (MAPPO for mappo/ippo, QMIX for qmix/vdn) with the paper's
  hyperparameters, times each victim's ``total_steps``;
* fitting: per env family, the CPU seconds of one fit of each f_theta architecture its envs
  need, at the config's own ``fit.<arch>`` settings and protocol form, timed on random
  observations of the family's shape for 3 epochs and scaled to the configured epochs
  (where not calibrated: ``bench/fit_time.py``'s paper-size figures in ``bench/results.json``);
* evaluation: per env family, the time of a benign batched env step at the config's
  evaluation batch (on the env's configured backend) and of the batch's seeded reset,
  calibrated here, plus each attack's own cost per batched step from
  ``bench/eval_throughput.py`` (the paper config's f_theta sizes and form when it was run
  with ``--fit-config config/paper.yaml``), scaled to each attack's
  configured K (``attacks.<name>.pgd_steps``; K = 10 where unset); only the (attack,
  n_attacked) runs of each env's grid count (``evaluate.eval_jobs``); every episode is
  counted at its time limit (an upper bound: the batch runs until its last episode ends).

The projection of the full grid (every env x algorithm pair of ``config/paper.yaml``,
3 seeds, 15 eps, 14 attacks, 2 team sizes, 50 episodes) is given for 2 cores, 16 cores
and one GPU; the assumptions are printed and saved with the figures.

    python bench/pipeline_cost.py [--quick] [--run-dir /path/to/a/finished/checkout] [--paper-only | --quick-only]

With ``config/paper-full.yaml`` beside ``config/paper.yaml`` (the full protocol, when the
paper config is the 2-core subset with shipped victims), both are projected:
``paper_pipeline_*`` for ``paper.yaml`` as it runs (shipped victims when it names a
``zoo``), ``paper_full_pipeline_*`` for the full protocol. Key suffixes say what a figure is:
``_measured_s`` timed, ``_estimated_s`` summed from a run's benchmark files, ``_projected_s``
projected from per-unit costs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import _common as C

from marl_attacks.attacks import takes_pgd_steps
from marl_attacks.reporting.runrecord import read_benchmarks

FAMILIES = {"vmas": "vmas-balance", "mpe": "mpe-simple_spread", "lbf": "lbf-8x8-2p-2f-coop", "rware": "rware-tiny-2ag"}
LEARNER = {"mappo": "mappo", "ippo": "mappo", "qmix": "qmix", "vdn": "qmix"}  # same loop, same cost
# which eval_throughput measurement stands for each attack's own cost (per batched step, K = 1)
ATTACK_PROXY = {
    "align-mlp": "align-mlp K=1",
    "targeted-align": "align-mlp K=1",
    "robust-align": "align-mlp K=1",
    "align-rnn": "align-rnn K=1",
    "align-transformer": "align-transformer K=1",
    "white-box-fgsm": "white-box-fgsm",
    "white-box-pgd": "white-box-fgsm",
    "hadamard": "hadamard",
    "targeted-hadamard": "hadamard",
    "noise-uniform": "noise-gaussian",
    "noise-gaussian": "noise-gaussian",
    "noise-exponential": "noise-gaussian",
    "noise-ou": "noise-gaussian",
}
GPU_ASSUMPTION = {
    "fit_speedup": 20.0,  # dense MLP/LSTM/Transformer training at batch 64 on one GPU vs one core
    "attack_speedup": 20.0,  # f_theta / victim gradient steps on batches of 750 episodes
    "env_speedup": 1.0,  # env stepping: LBF/RWARE/MPE are Python (CPU); VMAS is overhead-bound
    "train_speedup": 1.0,  # small MAPPO/QMIX nets, env-bound: no gain
    "host_cores": 16,  # CPU jobs (training, env stepping) share the GPU machine's cores
}


def family(env: str) -> str:
    return env.split("-", 1)[0]


# ---- quick config ------------------------------------------------------------------------


def per_rule(rows: list[dict]) -> dict:
    out = {}
    for r in rows:
        d = out.setdefault(r["rule"], {"jobs": 0, "s": 0.0, "max_s": 0.0})
        d["jobs"] += 1
        d["s"] += r["s"]
        d["max_s"] = max(d["max_s"], r["s"])
    return out


def fresh_clone_run(timeout: int) -> dict:
    """The README's first command in a fresh clone of HEAD, timed."""
    tmp = Path(tempfile.mkdtemp(prefix="marl-attacks-clone-"))
    clone = tmp / "repo"
    subprocess.run(["git", "clone", "-q", str(C.ROOT), str(clone)], check=True)
    command = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/snakemake --cores 2"
    print(f"fresh clone of {C.git_commit()} in {clone}; running: {command}", flush=True)
    log = tmp / "run.log"
    with C.Timer() as t, log.open("w") as fh:
        proc = subprocess.run(["bash", "-c", command], cwd=clone, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    jobs = read_benchmarks(clone / "benchmarks" / "quick")
    result = {
        "seconds": t.seconds,
        "returncode": proc.returncode,
        "command": command,
        "clone": str(clone),
        "jobs": jobs,
        "per_rule": per_rule(jobs),
        "log": str(log),
    }
    if proc.returncode != 0:
        print(f"the run failed (exit {proc.returncode}); log kept at {log}")
    else:
        shutil.rmtree(clone / ".venv", ignore_errors=True)  # keep outputs and benchmarks, drop 1.5 GB
    return result


# ---- calibration of per-unit costs ---------------------------------------------------------


def representatives(paper: dict) -> dict:
    """One env per family present in the config: the preferred one, else its first env."""
    names = list(paper["envs"])
    out = {}
    for fam, preferred in FAMILIES.items():
        members = [e for e in names if family(e) == fam]
        if members:
            out[fam] = preferred if preferred in members else members[0]
    return out


def calibrate(paper: dict, quick: bool, cache: dict) -> dict:
    """Seconds per training step (per family and learner) and per batched eval step / reset.

    ``cache`` keeps measurements by (env, learner, settings) across configs.
    """
    import torch

    import marl_attacks.config as cfgmod
    from marl_attacks.algos import ALGOS, build_config
    from marl_attacks.envs import make_env

    out = {"train_s_per_step": {}, "eval": {}, "fit_s": {}, "representatives": representatives(paper)}
    learners = sorted({LEARNER[a] for _, a in cfgmod.victim_pairs(paper)[0]})
    gen = torch.Generator().manual_seed(0)
    for fam, env in out["representatives"].items():
        ep = cfgmod.env_params(paper, env)
        backend = ep.get("backend", "reference")  # as every stage steps it (batched LBF/RWARE: ~100x)
        for algo in learners:
            hp = cfgmod.algo_params(paper, env, algo)
            per_update = hp["num_envs"] * hp["rollout_len"]
            steps = per_update * (1 if quick else 3) if algo == "mappo" else (1000 if quick else 4000)
            key = json.dumps(["train", env, algo, ep, {**hp, "total_steps": steps}], sort_keys=True, default=str)
            if key not in cache:
                cfg = build_config(algo, {**hp, "total_steps": steps})
                e = make_env(env, cfg.num_envs, "cpu", max_steps=ep["max_steps"], kwargs=ep["kwargs"], backend=backend)
                with C.Timer() as t:
                    _, curve = ALGOS[algo].train(e, cfg, 0, progress=False)
                cache[key] = t.cpu_seconds / curve[-1]["env_steps"]
            out["train_s_per_step"][f"{fam}/{algo}"] = cache[key]
        B = min(len(paper["evaluate"]["eps"]) * paper["evaluate"]["episodes"], paper["evaluate"]["max_batch"])
        n_steps = 3 if quick else 10
        key = json.dumps(["eval", env, ep, B], sort_keys=True, default=str)
        if key not in cache:
            e = make_env(env, B, "cpu", max_steps=ep["max_steps"], kwargs=ep["kwargs"], backend=backend)
            with C.Timer() as tr:
                e.reset(list(range(B)))
            with C.Timer() as ts, torch.no_grad():
                for _ in range(n_steps):
                    e.step(e.random_actions(gen))
            cache[key] = {
                "batch": B,
                "reset_s": tr.cpu_seconds,
                "step_s": ts.cpu_seconds / n_steps,
                "n_agents": e.spec.n_agents,
                "obs_dim": e.spec.obs_dim,
            }
        out["eval"][fam] = cache[key]
        out["fit_s"][fam] = calibrate_fits(paper, fam, env, ep, cache[key], quick, cache)
        train = ", ".join(f"{1e3 * out['train_s_per_step'][f'{fam}/{a}']:.2f} ms/step ({a})" for a in learners)
        print(
            f"  calibrated {fam} ({env}): train {train}; eval batch of {B}: reset "
            f"{out['eval'][fam]['reset_s']:.2f}s, {out['eval'][fam]['step_s']:.3f}s per batched step; fit "
            + ", ".join(f"{a} {v:.0f}s" for a, v in out["fit_s"][fam].items()),
            flush=True,
        )
    return out


def calibrate_fits(paper: dict, fam: str, env: str, ep: dict, spec: dict, quick: bool, cache: dict) -> dict:
    """CPU seconds of one f_theta fit per architecture the family's envs need, at the config's own
    settings (``fit.<arch>`` with the protocol's form), on random joint observations shaped as
    ``env``'s, episodes at its time limit: a few epochs timed, scaled to the configured epochs."""
    import torch

    import marl_attacks.config as cfgmod
    from marl_attacks.alignment import FitConfig, fit

    archs = sorted({a for e in paper["envs"] if family(e) == fam for a in cfgmod.needed_archs(paper, e)})
    out = {}
    for arch in archs:
        block = cfgmod.fit_block(paper, arch)
        run = 1 if quick else 3
        key = json.dumps(["fit", spec["n_agents"], spec["obs_dim"], ep["max_steps"], block, run], sort_keys=True)
        if key not in cache:
            cfg = FitConfig(**{**block, "epochs": run})
            N = cfg.n_samples
            obs = torch.randn(N, spec["n_agents"], spec["obs_dim"], generator=torch.Generator().manual_seed(0))
            episode = torch.arange(N) // ep["max_steps"]
            with C.Timer() as t:
                fit(obs, cfg, 0, "cpu", progress=False, episode=episode)
            cache[key] = t.cpu_seconds * block["epochs"] / run
        out[arch] = cache[key]
    return out


# ---- projection of the paper grid ----------------------------------------------------------


def attack_costs(results: dict, batch: int) -> tuple[dict, dict]:
    """Each attack's own seconds per batched step of ``batch`` episodes at the paper's K."""
    # the paper's f_theta sizes when eval_throughput.py was run with --fit-config config/paper.yaml
    ev = results.get("details", {}).get("eval_throughput_paper_fit") or results.get("details", {}).get(
        "eval_throughput", {}
    )
    measured = ev.get("results", {})
    note = {
        "source": "bench/eval_throughput.py",
        "fit_sizes_from": ev.get("fit_sizes_from"),
        "batch_measured": ev.get("batch_episodes"),
    }
    if not measured:
        raise SystemExit("no eval_throughput figures in bench/results.json: run bench/eval_throughput.py first")
    scale = batch / ev["batch_episodes"]  # attack cost grows with the batch (batched matmuls)

    def own(key):  # the time run_episodes spent in attack.perturb, per batched step
        row = measured.get(key)
        if row is None:
            return None
        return row["attack_seconds"] / max(1, row["batched_steps"]) * scale

    k1, k10 = own("align-mlp K=1"), own("align-mlp K=10")
    k_ratio = k10 / k1 if k1 and k10 else 10.0
    note["k10_over_k1_measured"] = k_ratio
    costs = {}
    for attack, proxy in ATTACK_PROXY.items():
        c = own(proxy)
        if c is None:  # not measured in --quick: the nearest measured one
            fallback = "hadamard" if attack.startswith("noise") else "align-mlp K=1"
            c, note[f"{attack}_proxy"] = own(fallback), f"{fallback} ({proxy} not measured)"
        if takes_pgd_steps(attack):
            c *= k_ratio  # paper: K = 10
        costs[attack] = c
    return costs, note


def pgd_scale(paper: dict, attack: str) -> float:
    """Cost of ``attack`` at the config's K relative to K = 10 (attack_costs prices the K-step
    attacks at K = 10): PGD costs K gradient steps."""
    if not takes_pgd_steps(attack):
        return 1.0
    return float((paper.get("attacks", {}).get(attack) or {}).get("pgd_steps", 10)) / 10.0


def project(paper: dict, cal: dict, results: dict, quick_units: dict | None) -> dict:
    import marl_attacks.config as cfgmod
    from marl_attacks.attacks import derived
    from marl_attacks.stages.evaluate import eval_jobs

    ev = paper["evaluate"]
    B = min(len(ev["eps"]) * ev["episodes"], ev["max_batch"])
    att_cost, att_note = attack_costs(results, B)
    fits = results.get("details", {}).get("fit_time", {}).get("results", {})
    fit_s = {}
    for arch in cfgmod.needed_archs(paper):
        key = f"{arch}_1k"
        if key in fits:
            fit_s[arch] = fits[key]["seconds_100_epochs"]
        elif arch == "mlp-robust" and "mlp_1k" in fits:
            fit_s[arch] = 3.0 * fits["mlp_1k"]["seconds_100_epochs"]  # clean + FGSM + adversarial passes
        elif quick_units and arch in quick_units.get("fit_s_per_epoch_sample", {}):
            fit_s[arch] = quick_units["fit_s_per_epoch_sample"][arch] * 100 * 1000
        else:
            fit_s[arch] = 3.0 * fits.get("mlp_1k", {}).get("seconds_100_epochs", 0.0)
    pairs, _ = cfgmod.victim_pairs(paper)
    attacks = sorted(
        {
            a
            for env in paper["envs"]
            for a in cfgmod.eval_params(paper, env)["attacks"]
            if a not in derived() and a != "benign"
        }
    )
    victims, stages = (
        [],
        {"train_victim": 0.0, "collect_samples": 0.0, "fit_align": 0.0, "evaluate_attacks": 0.0, "score_victim": 0.0},
    )
    eval_env_total = eval_attack_total = 0.0
    for env, algo in pairs:
        fam = family(env)
        ep = cfgmod.env_params(paper, env)
        hp = cfgmod.algo_params(paper, env, algo)
        T = ep["max_steps"]
        e = cal["eval"][fam]
        # the env's own evaluation grid where the config overrides it (e.g. fewer RWARE episodes)
        eve = cfgmod.eval_params(paper, env) if hasattr(cfgmod, "eval_params") else ev
        per_ep = e["reset_s"] / e["batch"] + T * e["step_s"] / e["batch"]  # cost linear in the batch
        # the (attack, n_attacked) runs of this env's grid, as evaluate.py runs them
        jobs = [a for a, _ in eval_jobs(eve) if a != "benign"]
        per_job = len(eve["eps"]) * eve["episodes"]
        eval_env = (eve["episodes"] + len(jobs) * per_job) * per_ep
        eval_attack = sum(per_job * T * att_cost[a] * pgd_scale(paper, a) / B for a in jobs)
        train_s = hp["total_steps"] * cal["train_s_per_step"][f"{fam}/{LEARNER[algo]}"]
        collect_s = paper["collect"]["n_samples"] * e["step_s"] / e["batch"] + 64 * e["reset_s"] / e["batch"]
        # the victim's and a uniform-random policy's episodes (envs.<env>.score_episodes where set)
        score_s = 2 * paper["envs"][env].get("score_episodes", eve["episodes"]) * per_ep
        batches = -(-per_job // eve["max_batch"])
        # measured at this config's f_theta settings (calibrate_fits), else fit_time.py's paper sizes
        fit_total = sum(cal["fit_s"].get(fam, {}).get(arch, fit_s[arch]) for arch in cfgmod.needed_archs(paper, env))
        if algo not in cfgmod.attacked_algos(paper):  # trained and scored only (evaluate.algos)
            collect_s = fit_total = eval_env = eval_attack = 0.0
        for seed in paper["seeds"]:
            eval_s = eval_env + eval_attack
            victims.append(
                {
                    "env": env,
                    "algo": algo,
                    "seed": seed,
                    "train_s": train_s,
                    "collect_s": collect_s,
                    "fit_s": fit_total,
                    "eval_s": eval_s,
                    "eval_env_s": eval_env,
                    "eval_attack_s": eval_attack,
                    "score_s": score_s,
                    "chain_s": train_s + collect_s + fit_total + eval_s,
                    "eval_batches": 1 + len(jobs) * batches,
                }
            )
            stages["train_victim"] += train_s
            stages["collect_samples"] += collect_s
            stages["fit_align"] += fit_total
            stages["evaluate_attacks"] += eval_s
            stages["score_victim"] += score_s
            eval_env_total += eval_env
            eval_attack_total += eval_attack
    stages["report"] = 120.0  # summarise (50,000 bootstrap resamples) + 4 figures/tables: guessed
    total = sum(stages.values())
    shipped = total - stages["train_victim"]
    longest = max(v["chain_s"] for v in victims)
    longest_shipped = max(v["chain_s"] - v["train_s"] for v in victims)

    def wall(cores, job_seconds, chain):  # enough independent jobs to fill the cores
        return max(job_seconds / cores, chain)

    g = GPU_ASSUMPTION
    gpu_stage = {
        "train_victim": stages["train_victim"] / g["train_speedup"],
        "collect_samples": stages["collect_samples"],
        "fit_align": stages["fit_align"] / g["fit_speedup"],
        "score_victim": stages["score_victim"],
        "report": stages["report"],
    }
    env_part = eval_env_total
    gpu_stage["evaluate_attacks"] = env_part / g["env_speedup"] + eval_attack_total / g["attack_speedup"]
    gpu_cpu_jobs = gpu_stage["train_victim"] + gpu_stage["collect_samples"] + gpu_stage["score_victim"] + env_part
    gpu_gpu_work = gpu_stage["fit_align"] + eval_attack_total / g["attack_speedup"]
    gpu_total = max(gpu_cpu_jobs / g["host_cores"], gpu_gpu_work)
    gpu_shipped = max((gpu_cpu_jobs - gpu_stage["train_victim"]) / g["host_cores"], gpu_gpu_work)
    return {
        "n_victims": len(victims),
        "eval_batch": B,
        "attacks_run": attacks,
        "stages_job_s": stages,
        "fit_s_per_victim": fit_s,
        "attack_s_per_batched_step": att_cost,
        "attack_cost_note": att_note,
        "job_seconds_total": total,
        "job_seconds_shipped_victims": shipped,
        "longest_chain_s": longest,
        "longest_chain_shipped_s": longest_shipped,
        "wall_2_cores_s": wall(2, total, longest),
        "wall_2_cores_shipped_s": wall(2, shipped, longest_shipped),
        "wall_16_cores_s": wall(16, total, longest),
        "wall_16_cores_shipped_s": wall(16, shipped, longest_shipped),
        "wall_1_gpu_s": gpu_total,
        "wall_1_gpu_shipped_s": gpu_shipped,
        "gpu_assumption": GPU_ASSUMPTION,
        "eval_env_s": eval_env_total,
        "eval_attack_s": eval_attack_total,
        "per_family": {
            fam: {
                k: sum(v[k] for v in victims if family(v["env"]) == fam)
                for k in ("train_s", "fit_s", "eval_env_s", "eval_attack_s")
            }
            for fam in cal["eval"]
        },
        "assumptions": [
            "one thread per job, as the workflow's rules; job times on 16 cores equal those on 2",
            "wall = max(job seconds / cores, longest train->collect->fit->evaluate chain): perfect packing",
            "ippo costs what mappo costs and vdn what qmix costs per env step (same loops)",
            "one calibrated env per family stands for the family (LBF/RWARE sizes differ)",
            "every evaluation episode lasts its time limit (upper bound)",
            "env stepping and resets cost in proportion to the batch (calibrated at the config's batch; "
            "an upper bound for smaller batches of VMAS, which is vectorized)",
            "attack cost per batched step measured on vmas-balance (3 agents) and scaled linearly with the "
            "batch; K-step attacks cost the measured align-mlp K10/K1 ratio times their K = 1 cost, "
            "times K / 10",
            "training, env and fit calibrations are this process's CPU seconds (one thread): what a job "
            "costs with a core to itself, however loaded the machine calibrating is; attack costs are "
            "eval_throughput.py's wall seconds",
            "f_theta fits: timed per family for the archs its envs need, at this config's fit settings and "
            "protocol form, on random observations of the representative env's shape (3 epochs, scaled)",
            "not counted: the deviations table's and the ablations' own jobs (collect, fit, evaluate)",
            "report stage: 120 s (guess)",
            "GPU: not measured (no GPU here); speed-ups in gpu_assumption are assumptions, not data",
        ],
    }


def quick_units_from_run(run_dir: Path) -> dict:
    """Per-unit costs of a finished quick run: s per train step, per fit epoch-sample, per eval episode-step."""
    res, bench = run_dir / "results" / "quick", run_dir / "benchmarks" / "quick"
    units = {"train_s_per_step": {}, "fit_s_per_epoch_sample": {}, "eval_s_per_episode_step": {}}
    for r in read_benchmarks(bench):
        parts = Path(r["job"]).with_suffix("").parts
        if r["rule"] == "train_victim":
            meta = res / "victims" / Path(*parts[1:-1]) / parts[-1] / "policy.pt.meta.json"
            if meta.exists():
                steps = json.loads(meta.read_text())["config"]["algo_cfg"]["total_steps"]
                units["train_s_per_step"][parts[1]] = r["s"] / steps
        elif r["rule"] == "fit_align":
            seed, arch = parts[-1].split("_", 1)
            meta = res / "align" / Path(*parts[1:-1]) / seed / f"{arch}.pt.meta.json"
            if meta.exists():
                fit = json.loads(meta.read_text())["config"]["fit"]
                units["fit_s_per_epoch_sample"].setdefault(arch, r["s"] / (fit["epochs"] * fit["n_samples"]))
        elif r["rule"] == "evaluate_attacks":
            table = res / "eval" / Path(*parts[1:])
            table = table.with_suffix(".csv")
            if table.exists():
                import pandas as pd

                frame = pd.read_csv(table)
                frame = frame[frame.attack != "max-noise"]  # derived rows, not run
                units["eval_s_per_episode_step"][parts[1]] = r["s"] / frame["length"].sum()
    return units


def paper_configs(first: str) -> list[tuple[str, str]]:
    """(key, path): the paper config, and the full protocol's config when the checkout has one."""
    out = [("paper", first)]
    full = Path(first).with_name("paper-full.yaml")
    if full.exists():
        out.append(("paper_full", str(full)))
    return out


def fmt_h(s: float) -> str:
    return f"{s / 3600:,.1f} h" if s >= 3600 else f"{s / 60:.1f} min"


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--run-dir", default=str(C.ROOT), help="checkout with a finished quick run (--quick)")
    p.add_argument("--paper-config", default=str(C.ROOT / "config" / "paper.yaml"))
    p.add_argument("--timeout", type=int, default=3600, help="limit of the fresh-clone run (s)")
    p.add_argument(
        "--paper-only", action="store_true", help="only the paper projection; the quick figures of the last run stay"
    )
    p.add_argument("--quick-only", action="store_true", help="only the quick config; the paper figures stay")
    a = p.parse_args()
    C.set_threads(a.threads)
    C.warm_up_torch()
    import marl_attacks.config as cfgmod

    m = C.machine()
    print(C.machine_line(m))
    figures, details = {}, {}
    if a.paper_only:  # keep the quick figures of an earlier run
        prev = (
            json.loads(C.RESULTS.read_text()).get("details", {}).get("pipeline_cost", {}) if C.RESULTS.exists() else {}
        )
        details.update({k: prev[k] for k in ("quick", "quick_units") if k in prev})
        quick_units = details.get("quick_units")
    else:
        if a.quick:
            run_dir = Path(a.run_dir)
            jobs = read_benchmarks(run_dir / "benchmarks" / "quick")
            if not jobs:
                raise SystemExit(
                    f"no benchmark files under {run_dir}/benchmarks/quick: pass --run-dir of a "
                    "checkout where `snakemake --cores 2` finished"
                )
            job_s = sum(j["s"] for j in jobs)
            figures["quick_pipeline_estimated_s"] = round(job_s / 2, 1)
            details["quick"] = {
                "source": f"benchmark files of {run_dir}",
                "jobs": jobs,
                "per_rule": per_rule(jobs),
                "job_seconds": job_s,
                "estimate": "job seconds / 2 concurrent jobs; install and Snakemake's own start-up not included",
            }
            print(
                f"quick config, {len(jobs)} jobs in {run_dir}/benchmarks/quick: {job_s:.0f} job-seconds -> "
                f"~{fmt_h(job_s / 2)} on 2 cores (estimate: no install, perfect packing)"
            )
            unit_dir = run_dir
        else:
            run = fresh_clone_run(a.timeout)
            figures["quick_pipeline_measured_s"] = round(run["seconds"], 1)
            details["quick"] = {
                "source": "fresh clone, README's first command, timed",
                **run,
                "job_seconds": sum(j["s"] for j in run["jobs"]),
            }
            print(
                f"quick config from a fresh clone: {fmt_h(run['seconds'])} ({run['seconds']:.0f} s, install "
                f"included; exit {run['returncode']}); {details['quick']['job_seconds']:.0f} job-seconds"
            )
            unit_dir = Path(run["clone"])
        rows = [
            (rule, d["jobs"], f"{d['s']:.0f}", f"{d['max_s']:.0f}")
            for rule, d in sorted(details["quick"]["per_rule"].items())
        ]
        print(C.table(rows, ("rule", "jobs", "job s (sum)", "longest job s")))
        print("quick_pipeline_measured_s target: <= 600 s (fresh clone, 2 cores)")
        if a.quick_only:  # keep the paper figures of an earlier run
            prev = json.loads(C.RESULTS.read_text()).get("details", {}).get("pipeline_cost", {})
            details.update({k: v for k, v in prev.items() if k.startswith("paper")})
            C.save("pipeline_cost", figures, details, a.quick, a.no_save)
            return
        quick_units = quick_units_from_run(unit_dir)
        details["quick_units"] = quick_units

    results = json.loads(C.RESULTS.read_text()) if C.RESULTS.exists() else {}
    cache = {}
    for key, path in paper_configs(a.paper_config):
        paper = cfgmod.load(path)
        paper_bench = Path(a.run_dir) / "benchmarks" / paper["run"]
        shipped = bool(paper.get("zoo"))
        label = f"{Path(path).name} (run '{paper['run']}', victims {'shipped' if shipped else 'trained'})"
        if paper_bench.exists() and read_benchmarks(paper_bench):
            jobs = read_benchmarks(paper_bench)
            details[key] = {"config": path, "source": f"benchmark files of {paper_bench}", "per_rule": per_rule(jobs)}
            figures[f"{key}_pipeline_estimated_s"] = round(sum(j["s"] for j in jobs) / 2, 1)
            print(f"{label}: {fmt_h(figures[f'{key}_pipeline_estimated_s'])} on 2 cores from its benchmark files")
            continue
        print(f"{label}: no benchmark files of a run; projecting from calibrated per-unit costs")
        cal = calibrate(paper, a.quick, cache)
        proj = project(paper, cal, results, quick_units)
        details[key] = {
            "config": os.path.relpath(path, C.ROOT),
            "source": "projection",
            "victims_shipped": shipped,
            "calibration": cal,
            **proj,
        }
        wall = proj["wall_2_cores_shipped_s" if shipped else "wall_2_cores_s"]
        figures[f"{key}_pipeline_projected_s"] = round(wall, 1)
        figures[f"{key}_pipeline_with_training_projected_s"] = round(proj["wall_2_cores_s"], 1)
        st = proj["stages_job_s"]
        print(f"  {proj['n_victims']} victims (env x algo x seed); job-seconds per stage:")
        print(C.table([(k, f"{v:,.0f}", fmt_h(v)) for k, v in st.items()], ("stage", "job s", "")))
        print(
            C.table(
                [
                    ("2 cores", fmt_h(proj["wall_2_cores_shipped_s"]), fmt_h(proj["wall_2_cores_s"])),
                    ("16 cores", fmt_h(proj["wall_16_cores_shipped_s"]), fmt_h(proj["wall_16_cores_s"])),
                    (
                        "1 GPU + 16 cores (assumed speed-ups)",
                        fmt_h(proj["wall_1_gpu_shipped_s"]),
                        fmt_h(proj["wall_1_gpu_s"]),
                    ),
                ],
                ("machine", "shipped victims", "with training"),
            )
        )
        for line in proj["assumptions"]:
            print(f"  assumption: {line}")
        print(
            f"{key}_pipeline_projected_s = {fmt_h(figures[f'{key}_pipeline_projected_s'])} on 2 cores "
            f"({'shipped victims' if shipped else 'training included'}); target for config/paper.yaml "
            "with shipped victims: <= 2 h"
        )
    C.save("pipeline_cost", figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
