"""Stage 4: roll out one victim under every attack x eps x number of attacked agents.

Every configuration runs the same ``episodes`` env seeds (the benign run too),
so differences come from the attack alone. Episodes of all eps values of one
attack run in one batch (up to ``max_batch`` parallel episodes), with a
per-episode eps. Writes one row per episode (the data contract in the README)
and a cost table per attack. The victim acts greedily or by sampling its policy
(``victim_actions``, config ``envs.<env>.victim_actions``); sampled actions come
from one random stream per episode (:func:`action_seeds`), the same for every
attack, so benign and attacked episodes draw the same numbers. Attacked agents: all, or m per episode at random
(the same for every attack; ``random_targets: per-step``, the authors' protocol: redrawn every step,
:class:`StepTargets`), except for targeted attacks, which choose their own m agents
(``Attack.choose_targets``). Attacks that need the victim's returns (``align-mlp-tuned``) are tuned
first on episodes of their own (:func:`tune`). ``max-noise`` rows copy, per eps
and number of attacked agents, the noise with the lowest IQM return on these
episodes.

By hand (one ``--align`` per f_theta the env's attacks need)::

    python -m marl_attacks evaluate --config config/config.yaml --env vmas-navigation --algo mappo \\
        --seed 0 --policy zoo/paper/vmas-navigation/mappo/seed0/policy.pt --align mlp=out/mlp.pt \\
        --align rnn=out/rnn.pt --align transformer=out/transformer.pt --align mlp-robust=out/mlp-robust.pt \\
        --out eval.csv --cost cost.csv
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .. import config as cfgmod
from ..alignment import load_align_model
from ..attacks import ATTACKS, AttackContext, align_arch, derived, make_attack
from ..attacks.tuned import lowest_return_point
from ..envs import make_env
from ..io import write_csv
from ..reporting.stats import iqm
from ..rollout import run_episodes, victim_actor
from ..utils import derive_seed, resolve_device, set_threads
from ..victims import load_victim
from . import victim_parser


def episode_seeds(base_seed: int, env_name: str, episodes: int) -> list[int]:
    """The env seeds shared by every victim and attack on ``env_name``."""
    return [derive_seed(base_seed, "eval", env_name, e) for e in range(episodes)]


def action_seeds(base_seed: int, env_name: str, episodes: int) -> list[int]:
    """Seeds of the victim's per-episode action streams in ``sample`` mode, shared like
    :func:`episode_seeds` by every victim and attack on ``env_name``."""
    return [derive_seed(base_seed, "victim-actions", env_name, e) for e in range(episodes)]


def attacked_mask(
    n_agents: int, m: int | str, episodes: int, base_seed: int, env_name: str, tag: str = "targets"
) -> tuple[torch.Tensor, int]:
    """``[episodes, n]`` bool: all agents, or ``m`` chosen at random per episode.

    The random choice depends only on the episode, so every attack hits the same agents.
    """
    if m == "all" or int(m) >= n_agents:
        return torch.ones(episodes, n_agents, dtype=torch.bool), n_agents
    mask = torch.zeros(episodes, n_agents, dtype=torch.bool)
    for e in range(episodes):
        g = torch.Generator().manual_seed(derive_seed(base_seed, tag, env_name, e, m))
        mask[e, torch.randperm(n_agents, generator=g)[: int(m)]] = True
    return mask, int(m)


class StepTargets:
    """``m`` of ``n`` agents at random, drawn anew at every step (``random_targets: per-step``, the
    authors' Hadamard ``np.random.choice``): one stream per episode, seeded by the episode, so
    every attack and eps hits the same agents at the same step."""

    def __init__(self, n_agents: int, m: int, seeds: list[int]):
        self.n, self.m = n_agents, m
        self.streams = [torch.Generator().manual_seed(s) for s in seeds]

    def __call__(self) -> torch.Tensor:
        mask = torch.zeros(len(self.streams), self.n, dtype=torch.bool)
        for b, g in enumerate(self.streams):
            mask[b, torch.randperm(self.n, generator=g)[: self.m]] = True
        return mask


def eval_jobs(eval_cfg: dict) -> list[tuple[str, int | str]]:
    """The (attack, n_attacked) pairs one evaluation runs, in order: benign once; every other
    attack at each ``n_attacked``, except that a targeted attack skips ``all`` (choosing all
    agents, it is its untargeted version) and, where ``partial_team_attacks`` is set, an attack
    not named there runs with all agents only (the figures and claims read other attacks at the
    full team only). Derived attacks (max-noise) are computed from these rows, not run."""
    partial = eval_cfg.get("partial_team_attacks")
    jobs = []
    for name in eval_cfg["attacks"]:
        if not ATTACKS[name].runnable:
            continue
        if name == "benign":
            jobs.append((name, "all"))
            continue
        for m in eval_cfg["n_attacked"]:
            if m == "all" and ATTACKS[name].cls.chooses_targets:
                continue
            if m != "all" and partial is not None and name not in partial:
                continue
            jobs.append((name, m))
    return jobs


class EnvPool:
    """Reuse one env per batch size (building VMAS/MPE envs is not free)."""

    def __init__(self, env: dict, device):
        self.env, self.device, self.cache = env, device, {}

    def get(self, size: int):
        if size not in self.cache:
            e = self.env
            self.cache[size] = make_env(
                e["name"],
                size,
                self.device,
                max_steps=e["max_steps"],
                kwargs=e["kwargs"],
                backend=e.get("backend", "reference"),
            )
        return self.cache[size]


def evaluate(
    env: dict,
    policy,
    align_models: dict,
    eval_cfg: dict,
    attack_params: dict,
    base_seed: int,
    device,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows (one per episode) and costs (one per attack and number of attacked agents) of every
    configuration of ``eval_cfg`` (see the module docstring); ``env``: :func:`marl_attacks.config.
    env_params` with ``victim_actions``, how the victim acts. ``eval_cfg`` may hold what the
    protocol sets: ``align_archs`` (attack -> its f_theta) and ``random_targets`` (``per-step``)."""
    pool = EnvPool(env, device)
    spec = pool.get(1).spec
    E = eval_cfg["episodes"]
    seeds = episode_seeds(base_seed, env["name"], E)
    streams = action_seeds(base_seed, env["name"], E)
    archs, per_step = eval_cfg.get("align_archs"), eval_cfg.get("random_targets", "per-episode") == "per-step"
    rows, costs = [], []
    jobs = eval_jobs(eval_cfg)
    bar = tqdm(jobs, desc=f"evaluate {env['name']}", disable=not progress)
    for name, m in bar:
        bar.set_postfix(attack=name, m=m)
        eps_grid = [0.0] if name == "benign" else [float(x) for x in eval_cfg["eps"]]
        mask, n_att = attacked_mask(spec.n_agents, m, E, base_seed, env["name"])
        if name == "benign":
            n_att = 0
        model = align_models.get(align_arch(name, archs))
        chosen = {}  # tuned attacks: eps -> (alpha, K), chosen on the victim's returns first
        if "returns" in ATTACKS[name].cls.needs:
            chosen = tune(
                name, m, spec, pool, policy, env, model, attack_params.get(name), eps_grid, base_seed, per_step
            )
        # every (eps, episode) pair, split into batches of at most max_batch episodes (tuned: per eps)
        pairs = [(eps, e) for eps in eps_grid for e in range(E)]
        attack_seconds, attacked_steps = 0.0, 0
        for start in range(0, len(pairs), eval_cfg["max_batch"]):
            for chunk in _per_eps(pairs[start : start + eval_cfg["max_batch"]], bool(chosen)):
                e_env = pool.get(len(chunk))
                gen = torch.Generator().manual_seed(derive_seed(base_seed, "attack", env["name"], name, m, start))
                ctx = AttackContext(spec=spec, generator=gen, align_model=model, victim=policy)
                attack = make_attack(name, ctx, attack_params.get(name))
                if chosen:
                    attack.use(*chosen[chunk[0][0]])
                eps_t = torch.tensor([p[0] for p in chunk])
                ep_idx = [p[1] for p in chunk]
                # targeted attacks replace the random choice by their own, of as many agents
                targets = attack.choose_targets(mask[ep_idx])
                if not torch.equal(targets.sum(-1), mask[ep_idx].sum(-1)):
                    raise RuntimeError(f"{name}: chose a different number of agents than n_attacked={m}")
                if per_step and n_att < spec.n_agents and not attack.chooses_targets:
                    step_seeds = [derive_seed(base_seed, "targets-per-step", env["name"], e, m) for e in ep_idx]
                    targets = StepTargets(spec.n_agents, n_att, step_seeds)
                act = victim_actor(policy, env["victim_actions"], [streams[e] for e in ep_idx])
                res = run_episodes(e_env, act, [seeds[e] for e in ep_idx], attack=attack, eps=eps_t, attacked=targets)
                attack_seconds += res.attack_seconds
                attacked_steps += res.attacked_steps
                for k, (eps, e) in enumerate(chunk):
                    row = dict(
                        attack=name,
                        eps=eps,
                        n_attacked=n_att,
                        episode=e,
                        **{"return": float(res.returns[k])},
                        length=int(res.lengths[k]),
                        max_abs_delta=float(res.max_abs_delta[k]),
                    )
                    if res.win is not None:
                        row["win"] = bool(res.win[k])
                    if chosen:
                        row["tuned_alpha"], row["tuned_k"] = chosen[eps]
                    rows.append(row)
        costs.append(
            dict(
                attack=name,
                n_attacked=n_att,
                attack_seconds=attack_seconds,
                attacked_steps=attacked_steps,
                ms_per_attacked_step=1e3 * attack_seconds / max(1, attacked_steps),
            )
        )
    frame = pd.DataFrame(rows)
    for name, bases in derived().items():
        if name in eval_cfg["attacks"]:
            frame = pd.concat([frame, derive_max(frame, name, bases)], ignore_index=True)
    return frame, pd.DataFrame(costs)


def _per_eps(chunk: list, split: bool) -> list[list]:
    """The batch as it is (``split`` False), or one batch per eps (a tuned attack's point is per eps)."""
    if not split:
        return [chunk]
    return [[p for p in chunk if p[0] == eps] for eps in dict.fromkeys(p[0] for p in chunk)]


def tune(name, m, spec, pool, policy, env, model, params, eps_grid, base_seed, per_step=False, run=None) -> dict:
    """eps -> the (alpha, K) of attack ``name``'s grid with the lowest IQM victim return, on
    ``tune_episodes`` episodes per eps whose env seeds, action streams and random agents are
    the tuning's own (never the evaluation's; ``per_step``: random agents redrawn every step);
    ``run(attack, eps, episodes)`` returns the episodes' returns (default: roll them out here).
    See :mod:`marl_attacks.attacks.tuned`."""
    ctx = AttackContext(spec=spec, generator=torch.Generator(), align_model=model, victim=policy)
    probe = make_attack(name, ctx, params)
    T = probe.tune_episodes
    mask, n_att = attacked_mask(spec.n_agents, m, T, base_seed, env["name"], tag="tune-targets")
    seeds = [derive_seed(base_seed, "tune", env["name"], e) for e in range(T)]
    streams = [derive_seed(base_seed, "tune-actions", env["name"], e) for e in range(T)]

    def rollout(attack, eps, episodes):
        act = victim_actor(policy, env["victim_actions"], [streams[e] for e in episodes])
        targets = mask[episodes]
        if per_step and n_att < spec.n_agents:
            step_seeds = [derive_seed(base_seed, "tune-targets-per-step", env["name"], e, m) for e in episodes]
            targets = StepTargets(spec.n_agents, n_att, step_seeds)
        env_b = pool.get(len(episodes))
        return run_episodes(env_b, act, [seeds[e] for e in episodes], attack, torch.tensor(eps), targets).returns

    run = run or rollout
    scores: dict[float, dict] = {eps: {} for eps in eps_grid}
    for alpha, k in probe.grid():  # all eps of one point in one batch
        gen = torch.Generator().manual_seed(derive_seed(base_seed, "tune-attack", env["name"], name, m, alpha, k))
        attack = make_attack(name, AttackContext(spec, gen, model, policy), params).use(alpha, k)
        eps = [x for x in eps_grid for _ in range(T)]
        returns = run(attack, eps, [e for _ in eps_grid for e in range(T)])
        for j, x in enumerate(eps_grid):
            scores[x][(alpha, k)] = iqm(returns[j * T : (j + 1) * T].numpy())
    return {eps: lowest_return_point(by_point) for eps, by_point in scores.items()}


def derive_max(frame: pd.DataFrame, name: str, bases: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the most damaging base attack (lowest IQM return) per eps and n_attacked."""
    out = []
    sub = frame[frame.attack.isin(bases)]
    for (_eps, _m), group in sub.groupby(["eps", "n_attacked"]):
        scores = group.groupby("attack")["return"].apply(iqm)
        worst = scores.idxmin()
        rows = group[group.attack == worst].copy()
        rows["source"] = worst
        rows["attack"] = name
        out.append(rows)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def run(
    params: dict,
    *,
    policy: str,
    align: dict,
    rows_out: str,
    cost_out: str,
    threads: int | None = None,
    progress: bool = True,
) -> None:
    """``params``: :func:`marl_attacks.config.evaluate_params`: the env (with how the victim acts),
    the victim, the evaluation grid, the attacks' hyperparameters, and ``expect_policy`` /
    ``expect_align`` (``{arch: ...}``): refuse inputs made by another config. ``align``: f_theta
    files by architecture."""
    set_threads(threads)
    dev = resolve_device(params["device"])
    victim, expect_align = params["victim"], params["expect_align"] or {}
    victim_policy, _ = load_victim(policy, dev, expect=params["expect_policy"])
    align_models, fit_stats = {}, {}
    for arch, path in align.items():
        model, payload = load_align_model(path, dev, expect=expect_align.get(arch))
        align_models[arch], fit_stats[arch] = model, payload["stats"]
    start = time.time()
    frame, costs = evaluate(
        params["env_block"],
        victim_policy,
        align_models,
        params["evaluate"],
        params["attacks"],
        params["base_seed"],
        dev,
        progress,
    )
    for key in ("seed", "algo", "env"):
        frame.insert(0, key, victim[key])
        costs.insert(0, key, victim[key])
    # samples used and fit time of the f_theta each attack needed
    arch_of = {a: align_arch(a, params["evaluate"].get("align_archs")) for a in costs.attack}
    costs["samples_used"] = [
        fit_stats[arch_of[a]]["n_train"] + fit_stats[arch_of[a]]["n_val"] if arch_of[a] else 0 for a in costs.attack
    ]
    costs["fit_seconds"] = [fit_stats[arch_of[a]]["fit_seconds"] if arch_of[a] else 0.0 for a in costs.attack]
    write_csv(rows_out, frame)
    write_csv(cost_out, costs)
    print(
        f"evaluated {len(frame)} episodes in {time.time() - start:.1f}s; "
        f"max |delta| - eps = {np.max(frame.max_abs_delta - frame.eps):.2e}"
    )


def main(argv=None) -> None:
    p = victim_parser(__doc__)
    p.add_argument("--policy", required=True)
    p.add_argument("--align", action="append", default=[], help="ARCH=PATH of a fitted f_theta")
    p.add_argument("--out", required=True)
    p.add_argument("--cost", required=True)
    a = p.parse_args(argv)
    config = cfgmod.load(a.config)
    run(
        cfgmod.evaluate_params(config, a.env, a.algo, a.seed),
        policy=a.policy,
        align=dict(x.split("=", 1) for x in a.align),
        rows_out=a.out,
        cost_out=a.cost,
        threads=a.threads,
    )


if __name__ == "__main__":
    main()
