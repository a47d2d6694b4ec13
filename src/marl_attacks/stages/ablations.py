"""Stage 4b: the extra evaluations behind the paper's ablation figures.

One job per victim x ablation (the config's ``ablations:`` block names the envs
whose victims take part, the eps, the episodes and the attacks of each):

* ``samples``: each attack with an f_theta fitted on n benign samples, for every
  n of the grid (``fit.run`` on the same samples file with ``n_samples = n``);
* ``pgd_steps``: each attack with K PGD steps (its ``pgd_steps`` hyperparameter),
  for every K of the grid;
* ``n_attacked``: each attack on m = 1 .. n agents (m at random per episode, the
  same agents for every attack; targeted attacks choose their own m);
* ``victim_memory``: each attack on every agent, once per victim: the workflow runs
  it on each feed-forward victim of its envs and on the GRU variant of its algorithm
  (``<algo>-gru``: the same hyperparameters and budget with ``agent: gru``, its own
  policy, samples and f_theta), so both meet the same attacks, eps and episodes.

The architecture and agent-selection ablations need no extra run: they compare
attacks of the main evaluation (Align per f_theta; ``targeted-*`` vs their
random-choice versions at ``n_attacked`` < n).

Every configuration reuses :func:`marl_attacks.stages.evaluate.evaluate`, so episodes
are the main evaluation's first ``episodes`` env seeds and the rows follow its
data contract, plus ``value`` (the ablated setting; empty for the benign rows,
run once per job, except for ``victim_memory``, whose setting is the victim's own
agent network, ``mlp`` or ``gru``, on every row) and, for ``samples``, ``val_mse``
(f_theta's mean validation MSE over agents). By hand::

    python -m marl_attacks ablations --config config/config.yaml --ablation pgd_steps \\
        --env vmas-navigation --algo mappo --seed 0 --policy zoo/paper/vmas-navigation/mappo/seed0/policy.pt \\
        --align mlp=out/mlp.pt --out rows.csv
"""

from __future__ import annotations

import copy
import time

import pandas as pd

from .. import config as cfgmod
from .. import paths
from ..alignment import load_align_model
from ..attacks import align_arch, derived
from ..envs import make_env
from ..io import write_csv
from ..utils import resolve_device, set_threads
from ..victims import load_victim
from . import victim_parser
from .evaluate import evaluate

#: ablation -> what its grid sets (the config key of the grid)
ABLATIONS = {"samples": "n_samples", "pgd_steps": "pgd_steps", "n_attacked": None, "victim_memory": None}


def with_bases(attacks: list[str]) -> list[str]:
    """The attacks plus the ones derived attacks (max-noise) are computed from."""
    out = list(attacks)
    for name in attacks:
        out += [b for b in derived().get(name, ()) if b not in out]
    return out


def evaluate_ablation(
    ablation: str,
    env: dict,
    policy,
    align_models: dict,
    block: dict,
    attack_params: dict,
    base_seed: int,
    device,
    progress: bool = True,
) -> pd.DataFrame:
    """Rows of every configuration of one ablation for one victim (see the module docstring),
    the victim acting as ``env["victim_actions"]`` says (as in the main evaluation).

    ``align_models``: arch -> model, or for ``samples`` ``paths.align_key(arch, n)`` -> model.
    """
    if ablation not in ABLATIONS:
        raise KeyError(f"unknown ablation '{ablation}'; known: {list(ABLATIONS)}")
    attacks = with_bases(block["attacks"])
    base = {"episodes": block["episodes"], "eps": block["eps"], "max_batch": block["max_batch"], "n_attacked": ["all"]}
    # what the protocol sets (protocol_grid in marl_attacks.config): absent under ours
    base.update({key: block[key] for key in ("align_archs", "random_targets") if key in block})

    def arch_of(name):
        return align_arch(name, base.get("align_archs"))

    frames = []

    def run(value, attack_list, models, params, n_attacked=("all",)):
        cfg = dict(base, attacks=attack_list, n_attacked=list(n_attacked))
        rows, _ = evaluate(env, policy, models, cfg, params, base_seed, device, progress)
        rows["value"] = value
        frames.append(rows)
        return rows

    # the victim-memory ablation's setting is the victim itself: its benign team is one of the two compared
    network = "gru" if policy.recurrent else "mlp"
    run(network if ablation == "victim_memory" else float("nan"), ["benign"], {}, attack_params)
    if ablation == "victim_memory":
        run(network, attacks, align_models, attack_params)
    elif ablation == "samples":
        for n in block["n_samples"]:
            models = {arch: align_models[paths.align_key(arch, n)] for arch in {arch_of(a) for a in attacks} if arch}
            rows = run(n, attacks, models, attack_params)
            mse = {arch: float(m.val_mse.mean()) for arch, m in models.items()}
            rows["val_mse"] = [mse.get(arch_of(a)) for a in rows.attack]
    elif ablation == "pgd_steps":
        for k in block["pgd_steps"]:
            params = copy.deepcopy(attack_params)
            for name in block["attacks"]:
                params[name] = {**params.get(name, {}), "pgd_steps": int(k)}
            run(k, attacks, align_models, params)
    elif ablation == "n_attacked":
        n_agents = make_env(
            env["name"],
            1,
            device,
            max_steps=env["max_steps"],
            kwargs=env["kwargs"],
            backend=env.get("backend", "reference"),
        ).spec.n_agents
        # m = n_agents, not "all": a targeted attack (which skips "all" in the main evaluation,
        # where it equals its untargeted version) needs its full-team point on this curve too
        rows = run(float("nan"), attacks, align_models, attack_params, range(1, n_agents + 1))
        rows["value"] = rows.n_attacked
    return pd.concat(frames, ignore_index=True)


def run(params: dict, *, policy: str, align: dict, out: str, threads: int | None = None, progress: bool = True) -> None:
    """``params``: :func:`marl_attacks.config.ablation_params`: the ablation, env (with how the victim
    acts), victim, the ablation's block, its attacks' hyperparameters, and ``expect_policy`` /
    ``expect_align`` (keyed as ``align``, by :func:`marl_attacks.paths.align_key`): refuse inputs
    made by another config."""
    set_threads(threads)
    dev = resolve_device(params["device"])
    ablation, victim, expect_align = params["ablation"], params["victim"], params["expect_align"] or {}
    victim_policy, _ = load_victim(policy, dev, expect=params["expect_policy"])
    models = {key: load_align_model(path, dev, expect=expect_align.get(key))[0] for key, path in align.items()}
    start = time.time()
    frame = evaluate_ablation(
        ablation,
        params["env_block"],
        victim_policy,
        models,
        params["block"],
        params["attacks"],
        params["base_seed"],
        dev,
        progress,
    )
    for key in ("seed", "algo", "env"):
        frame.insert(0, key, victim[key])
    frame.insert(3, "ablation", ablation)
    write_csv(out, frame)
    print(f"ablation {ablation}: {len(frame)} episodes in {time.time() - start:.1f}s")


def main(argv=None) -> None:
    p = victim_parser(__doc__)
    p.add_argument("--ablation", required=True, choices=list(ABLATIONS))
    p.add_argument("--policy", required=True)
    p.add_argument(
        "--align",
        action="append",
        default=[],
        help="KEY=PATH of a fitted f_theta: ARCH, or ARCH_nN for the samples ablation",
    )
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    config = cfgmod.load(a.config)
    params = cfgmod.ablation_params(config, a.ablation, a.env, a.algo, a.seed)
    run(params, policy=a.policy, align=dict(x.split("=", 1) for x in a.align), out=a.out, threads=a.threads)


if __name__ == "__main__":
    main()
