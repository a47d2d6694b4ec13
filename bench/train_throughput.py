"""Victim training throughput: our MAPPO vs BenchMARL's MAPPO vs raw env stepping.

Three measurements side by side in one run, on one VMAS task with the quick config's
MAPPO settings (``config/config.yaml``: parallel envs, rollout length, epochs,
minibatches, widths) and the same number of env steps:

* ours: ``marl_attacks.algos.ALGOS["mappo"].train`` on our batched VMAS env (env
  construction included, as a ``train_victim`` job does it);
* BenchMARL: its MAPPO through its own experiment API (``Experiment(...).run()``),
  same VMAS scenario and scenario arguments, same parallel envs, frames per batch,
  epochs, minibatch size, network widths and total frames; evaluation, loggers,
  JSON output and checkpoints off. It runs in a throwaway venv made here
  (``bench/.venv-benchmarl``, git-ignored) with the project's torch pin and
  whatever torchrl/tensordict pip finds compatible; when none is, the figure is
  recorded as unavailable with pip's reason;
* the hardware limit: uniform-random joint actions stepped through our batched env
  (no policy, no learning), the ceiling of any learner on this env at this batch.

One env step = one joint transition of one parallel episode (BenchMARL: one frame).
Every run uses the same torch thread count (``--threads``, default 1 like the
pipeline's jobs). Repetitions alternate the three so load changes hit all of them.

    python bench/train_throughput.py [--quick] [--env vmas-navigation] [--steps N]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version

import _common as C

VENV = C.BENCH / ".venv-benchmarl"
# what the throwaway venv gets; torch pinned to the project's pin, the rest left to pip
TORCH_PIN = "torch==2.13.0"


def ensure_benchmarl_venv() -> dict:
    """Make (once) the venv with BenchMARL on our torch pin; report versions or why not."""
    py = VENV / "bin" / "python"
    reqs = [TORCH_PIN, "benchmarl", f"vmas=={version('vmas')}"]
    marker = VENV / ".requirements"
    if not (py.exists() and marker.exists() and marker.read_text() == "\n".join(reqs)):
        print(f"setting up {VENV.relative_to(C.ROOT)} (once, ~1.5 min): pip install {' '.join(reqs)}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = subprocess.run([str(py), "-m", "pip", "install", "-q", *reqs], capture_output=True, text=True)
        if pip.returncode != 0:
            tail = "\n".join((pip.stdout + pip.stderr).strip().splitlines()[-15:])
            return {"available": False, "reason": f"pip could not install {reqs}:\n{tail}"}
        marker.write_text("\n".join(reqs))
    probe = subprocess.run(
        [
            str(py),
            "-c",
            "import json, torch, torchrl, tensordict, benchmarl; "
            "print(json.dumps({'torch': torch.__version__, 'torchrl': torchrl.__version__,"
            " 'tensordict': tensordict.__version__, 'benchmarl': benchmarl.__version__}))",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return {"available": False, "reason": "BenchMARL does not import: " + probe.stderr.strip()[-1500:]}
    versions = json.loads(probe.stdout.strip().splitlines()[-1])
    if not versions["torch"].startswith(TORCH_PIN.split("==")[1]):
        return {
            "available": False,
            "versions": versions,
            "reason": f"pip replaced the torch pin: got torch {versions['torch']}",
        }
    return {"available": True, "versions": versions, "requirements": reqs}


def run_benchmarl(settings: dict) -> dict:
    out = subprocess.run(
        [str(VENV / "bin" / "python"), str(C.BENCH / "_benchmarl_run.py"), json.dumps(settings)],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "OMP_NUM_THREADS": str(settings["threads"])},
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"BenchMARL run failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def run_ours(env_cfg: dict, hp: dict, steps: int) -> dict:
    from marl_attacks.algos import ALGOS, build_config
    from marl_attacks.envs import make_env

    cfg = build_config("mappo", {**hp, "total_steps": steps})
    with C.Timer() as t:
        env = make_env(
            env_cfg["name"], cfg.num_envs, "cpu", max_steps=env_cfg["max_steps"], seed=0, kwargs=env_cfg["kwargs"]
        )
        _, curve = ALGOS["mappo"].train(env, cfg, seed=0, progress=False)
    return {"seconds": t.seconds, "steps": curve[-1]["env_steps"]}


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--env", default="vmas-balance", choices=["vmas-balance", "vmas-navigation"])
    p.add_argument("--steps", type=int, default=None, help="env steps per run (default: 96,000 full, 12,800 quick)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default: 2 full, 1 quick)")
    p.add_argument("--config", default=str(C.ROOT / "config" / "config.yaml"))
    a = p.parse_args()
    C.set_threads(a.threads)
    C.warm_up_torch()
    import marl_attacks.config as cfgmod

    config = cfgmod.load(a.config)
    env_cfg = cfgmod.env_params(config, a.env)
    hp = {k: v for k, v in cfgmod.algo_params(config, a.env, "mappo").items() if k != "total_steps"}
    from marl_attacks.algos.mappo import MappoConfig

    full_hp = MappoConfig(**hp)
    steps = a.steps or (12_800 if a.quick else 96_000)
    reps = a.reps or (1 if a.quick else 2)
    kwargs = dict(env_cfg["kwargs"])
    continuous = bool(kwargs.pop("continuous_actions", False))
    bm_settings = dict(
        threads=a.threads,
        continuous_actions=continuous,
        num_envs=full_hp.num_envs,
        rollout_len=full_hp.rollout_len,
        epochs=full_hp.epochs,
        minibatches=full_hp.minibatches,
        total_frames=steps,
        lr=full_hp.lr,
        adam_eps=1e-5,
        gamma=full_hp.gamma,
        max_grad_norm=full_hp.max_grad_norm,
        scenario=a.env.removeprefix("vmas-"),
        max_steps=env_cfg["max_steps"],
        scenario_kwargs=kwargs,
        clip=full_hp.clip,
        ent_coef=full_hp.ent_coef,
        vf_coef=full_hp.vf_coef,
        gae_lambda=full_hp.gae_lambda,
        hidden=full_hp.hidden,
        seed=0,
    )

    bm = ensure_benchmarl_venv()
    if not bm["available"]:
        print("BenchMARL UNAVAILABLE on the torch pin: " + bm["reason"])
    m = C.machine()
    print(C.machine_line(m))
    print(
        f"{a.env}: {full_hp.num_envs} parallel envs, rollout {full_hp.rollout_len}, {full_hp.epochs} "
        f"epochs x {full_hp.minibatches} minibatches, hidden {full_hp.hidden}; {steps} env steps per run, "
        f"{reps} repetition(s)"
    )
    runs = {"ours": [], "benchmarl": [], "raw": []}
    for r in range(reps):
        runs["ours"].append(run_ours(env_cfg, hp, steps))
        runs["raw"].append(C.random_stepping(env_cfg, full_hp.num_envs, steps))
        if bm["available"]:
            runs["benchmarl"].append(run_benchmarl(bm_settings))
        print(f"  rep {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f}s" for k, v in runs.items() if v))

    def rate(kind):  # best repetition: the least disturbed by other load
        if not runs[kind]:
            return None
        key = "frames" if kind == "benchmarl" else "steps"
        return max(x[key] / x["seconds"] for x in runs[kind])

    ours, raw, bmr = rate("ours"), rate("raw"), rate("benchmarl")
    figures = {
        "train_vs_benchmarl": None if bmr is None else round(ours / bmr, 3),
        "train_vs_env_limit": round(ours / raw, 3),
    }
    rows = [
        ("ours (marl_attacks MAPPO)", f"{ours:,.0f}", "1.00"),
        (
            "BenchMARL MAPPO",
            "unavailable" if bmr is None else f"{bmr:,.0f}",
            "-" if bmr is None else f"{bmr / ours:.2f}",
        ),
        ("raw random stepping (limit)", f"{raw:,.0f}", f"{raw / ours:.2f}"),
    ]
    print(C.table(rows, ("run", "env steps/s", "vs ours")))
    print(f"train_vs_benchmarl = {figures['train_vs_benchmarl']} (target >= 20)")
    print(f"train_vs_env_limit = {figures['train_vs_env_limit']} (target >= 0.30)")
    if bmr is not None:
        print(f"ceiling of train_vs_benchmarl on this env and batch (raw / BenchMARL): {raw / bmr:.2f}")
    details = {
        "env": a.env,
        "env_cfg": env_cfg,
        "mappo": hp,
        "steps_per_run": steps,
        "reps": reps,
        "threads": a.threads,
        "runs": runs,
        "ours_steps_per_s": ours,
        "raw_steps_per_s": raw,
        "benchmarl_steps_per_s": bmr,
        "benchmarl": bm,
        "benchmarl_settings": bm_settings,
        "ceiling_vs_benchmarl": None if bmr is None else raw / bmr,
        "note": "best repetition of each; env construction included in every timing; "
        "one-off torch._dynamo import paid before timing in both processes",
    }
    C.save("train_throughput", figures, details, a.quick, a.no_save)


if __name__ == "__main__":
    main()
