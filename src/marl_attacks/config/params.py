"""What each job of the workflow reads, built from the config: one function per kind of job.

The rules pass these dicts to their job through ``params: job=...`` and the stages'
command lines build the same ones, so a stage sees exactly the config values it
uses and Snakemake reruns a job exactly when one of them changes. Each builder's
dict holds nothing the job does not read (``tests/test_params.py`` checks that).
Per-env settings travel inside the env's parameters (:func:`env_params`).
"""

from __future__ import annotations

import copy

from .. import lineage, paths, protocol
from ..io import config_hash


def env_action_type(config: dict, env: str) -> str:
    from ..envs import action_type

    return action_type(env, config["envs"][env].get("kwargs", {}))


def fits(config: dict, env: str, algo: str) -> bool:
    """Whether ``algo`` (or a victim variant of it, ``mappo-gru``) can act in ``env`` as configured
    (e.g. QMIX needs discrete actions)."""
    from ..algos import ALGOS, split_variant

    return env_action_type(config, env) in ALGOS[split_variant(algo)[0]].action_types


def attacked_algos(config: dict) -> list[str]:
    """Algorithms whose victims the evaluation attacks (``evaluate.algos``; default: every one
    under ``algos``). The others are trained (or taken from the zoo) and scored only."""
    return list(config["evaluate"].get("algos", config["algos"]))


def gru_variant(algo: str) -> str:
    """The victim name of ``algo``'s GRU variant (``mappo-gru``), the victim-memory ablation's other victim."""
    from ..algos import gru_variant as name

    return name(algo)


def victim_pairs(config: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """The (env, algo) pairs to train, and a note for each pair skipped because they do not fit."""
    from ..algos import ALGOS

    pairs, notes = [], []
    for env in config["envs"]:
        for algo in config["algos"]:
            if fits(config, env, algo):
                pairs.append((env, algo))
            else:
                notes.append(
                    f"skipping {algo} on {env}: {algo} supports "
                    f"{' and '.join(ALGOS[algo].action_types)} actions only, {env} has "
                    f"{env_action_type(config, env)} actions"
                )
    return pairs, notes


def win_envs(config: dict) -> list[str]:
    """The config's envs whose episodes report a win (SMAX): the win-rate figure is drawn for them."""
    from ..envs import ENVS

    return [env for env in config["envs"] if env in ENVS and ENVS[env].win]


def needed_archs(config: dict, env: str | None = None) -> list[str]:
    """f_theta architectures the main evaluation of ``env`` needs (its own attack list where
    ``envs.<env>.evaluate.attacks`` overrides it); without ``env``, those of any env."""
    envs = [env] if env is not None else list(config["envs"])
    attacks = {a for e in envs for a in eval_params(config, e)["attacks"]}
    archs = {attack_arch(config, a) for a in attacks}
    return sorted(a for a in archs if a)


# ---- config blocks ----------------------------------------------------------------------------


def env_params(config: dict, env: str, algo: str | None = None) -> dict:
    """How to build env ``env``: its time limit and adapter keyword arguments, and ``backend``
    where the config sets one (``envs.<env>.backend``; so params without it stay as they were);
    with ``algo`` (jobs that run a trained victim of that algorithm) also how the victim acts
    there (``victim_actions``). Provenance (:func:`..lineage.env_block`) leaves the backend out."""
    block = config["envs"][env]
    out = {"name": env, "max_steps": block["max_steps"], "kwargs": block.get("kwargs", {})}
    if "backend" in block:
        out["backend"] = block["backend"]
    return out if algo is None else {**out, "victim_actions": victim_actions(config, env, algo)}


def algo_params(config: dict, env: str, algo: str) -> dict:
    """Hyperparameters of ``algo`` with the env's overrides (``envs.<env>.train.<algo>``) applied. For
    a GRU variant (``mappo-gru``, the victim-memory ablation's): its algorithm's, with ``agent: gru``."""
    from ..algos import split_variant

    algo, agent = split_variant(algo)
    merged = copy.deepcopy(config["algos"][algo])
    merged.update(config["envs"][env].get("train", {}).get(algo, {}))
    return merged if agent is None else {**merged, "agent": agent}


def eval_params(config: dict, env: str) -> dict:
    """The evaluation grid of ``env``: ``evaluate`` with the env's overrides
    (``envs.<env>.evaluate``: e.g. fewer episodes for RWARE's 500-step episodes). Without
    ``algos``: it says which victims get an evaluation, not what one computes, so attacking
    one more algorithm leaves the other victims' evaluations as they are."""
    merged = {k: v for k, v in copy.deepcopy(config["evaluate"]).items() if k != "algos"}
    merged.update(config["envs"][env].get("evaluate", {}))
    merged["attacks"] = [a for a in merged["attacks"] if env in attack_envs(config, a, [env])]
    return {**merged, **protocol_grid(config, merged["attacks"], random_targets=True)}


def attack_envs(config: dict, name: str, default=None):
    """The envs attack ``name`` runs on where its block restricts them (``attacks.<name>.envs``,
    e.g. an attack that queries the victim to tune itself); else ``default``."""
    return (config.get("attacks", {}).get(name) or {}).get("envs", default)


def protocol_grid(config: dict, attacks, random_targets: bool) -> dict:
    """What the ``protocol`` block adds to an evaluation grid of ``attacks`` (nothing under ours):
    ``align_archs`` (attack -> the f_theta it uses instead of its registry entry's) and, for a grid
    that attacks agents chosen at random (``random_targets``), when they are drawn."""
    out = {}
    archs = {a: arch for a, arch in protocol.align_archs(config.get("protocol")).items() if a in attacks}
    if archs:
        out["align_archs"] = archs
    if random_targets:
        out.update(protocol.evaluate_settings(config.get("protocol")))
    return out


def victim_actions(config: dict, env: str, algo: str) -> str:
    """How ``algo``'s victims act on ``env`` in every rollout: ``greedy`` (argmax, or the mean) or
    ``sample`` (draw from a MAPPO/IPPO victim's policy; QMIX/VDN act epsilon-greedily with their
    final training epsilon). Protocol ``victim_actions``: ``per-env`` (ours) reads
    ``envs.<env>.victim_actions`` (default greedy); ``authors`` acts as EPyMARL does with the
    algorithm on every env (``AlgoEntry.epymarl_actions``: MAPPO/IPPO sample, QMIX/VDN greedy)."""
    if protocol.resolve(config.get("protocol"))["victim_actions"] == "authors":
        from ..algos import ALGOS, split_variant

        return ALGOS[split_variant(algo)[0]].epymarl_actions  # mappo-gru acts as mappo
    return config["envs"][env].get("victim_actions", "greedy")


def thresholds(config: dict) -> dict:
    """Competence threshold per env, where the config sets one: a number, or algorithm -> number
    (the statistic it holds: ``threshold_on``, IQM unless set; acting as victim_actions says)."""
    return {env: block["threshold"] for env, block in config["envs"].items() if "threshold" in block}


def zoo_dir(config: dict) -> str | None:
    """The folder of shipped victims, or None to train them (``--config zoo=null`` on the
    command line arrives as the string 'null')."""
    zoo = config.get("zoo")
    return None if zoo is None or str(zoo).lower() in ("", "null", "none") else str(zoo)


def attack_arch(config: dict, name: str) -> str | None:
    """The f_theta architecture attack ``name`` uses under ``config`` (its registry entry's, unless
    the protocol gives it another), if any."""
    from ..attacks import align_arch

    return align_arch(name, protocol.align_archs(config.get("protocol")))


def ablation_archs(config: dict) -> list[str]:
    """f_theta architectures the samples ablation refits on each number of samples."""
    return sorted({attack_arch(config, a) for a in config["ablations"]["samples"]["attacks"]})


def policy_path(config: dict, env: str, algo: str, seed) -> str:
    """Where a victim's policy is read from: the run's own training, or the shipped zoo."""
    return paths.policy(zoo_dir(config) or paths.victims_root(config["run"]), env, algo, seed)


def fit_block(config: dict, arch: str, n_samples: int | None = None) -> dict:
    """The settings of f_theta ``arch`` (``fit.<arch>``); ``n_samples``: drawn from the pool instead
    (the samples ablation)."""
    block = {"arch": arch, **copy.deepcopy(config["fit"][arch]), **protocol.fit_settings(config.get("protocol"))}
    return block if n_samples is None else {**block, "n_samples": int(n_samples)}


def attack_blocks(config: dict, names) -> dict:
    """Hyperparameters of the attacks ``names`` that the config sets: ``attacks.<name>`` and what the
    ``protocol`` block chooses for them (:mod:`marl_attacks.protocol`)."""
    from ..attacks import derived

    names = set(names) | {b for name in names for b in derived().get(name, ())}
    # without envs: it says where an attack runs (eval_params), not what it computes
    blocks = {
        k: {f: x for f, x in v.items() if f != "envs"} if isinstance(v, dict) else v
        for k, v in copy.deepcopy(config.get("attacks", {})).items()
        if k in names
    }
    for attack, settings in protocol.attack_settings(config.get("protocol")).items():
        if attack in names:  # what the config's protocol block chooses for this attack
            blocks[attack] = {**blocks.get(attack, {}), **settings}
    return blocks


def ablation_block(config: dict, ablation: str) -> dict:
    """What one victim's ablation job computes: the ablation's block (eps, episodes, attacks, grid)
    with the evaluation's batch size. Without ``envs``, ``algos`` and ``seeds``: they say which
    victims get a job, so adding or dropping one env leaves the other envs' jobs as they are."""
    block = {k: v for k, v in config["ablations"][ablation].items() if k not in ("envs", "algos", "seeds")}
    extra = protocol_grid(config, block["attacks"], random_targets=ablation == "n_attacked")
    return {**copy.deepcopy(block), "max_batch": config["evaluate"]["max_batch"], **extra}


# ---- one builder per kind of job ----------------------------------------------------------------


def victim_id(env: str, algo: str, seed) -> dict:
    """The victim a job is about; seeds derive from it (never from paths)."""
    return {"env": env, "algo": algo, "seed": int(seed)}


def _job(config: dict, env: str, algo: str, seed, **fields) -> dict:
    return {"victim": victim_id(env, algo, seed), **fields, "base_seed": config["seed"], "device": config["device"]}


def _expected(config: dict, env: str, algo: str, seed) -> dict:
    return expected_inputs(config, env, algo, int(seed))


def train_params(config: dict, env: str, algo: str, seed) -> dict:
    """``train_victim``: the env, the algorithm's hyperparameters (with the env's overrides)."""
    return _job(config, env, algo, seed, env_block=env_params(config, env), algo_cfg=algo_params(config, env, algo))


def collect_params(config: dict, env: str, algo: str, seed) -> dict:
    """``collect_samples``: how many samples, in how many parallel episodes, of which policy."""
    return _job(
        config,
        env,
        algo,
        seed,
        env_block=env_params(config, env, algo),
        collect=copy.deepcopy(config["collect"]),
        expect_policy=_expected(config, env, algo, seed)["policy"],
    )


def fit_params(config: dict, env: str, algo: str, seed, arch: str, n_samples: int | None = None) -> dict:
    """``fit_align`` (and ``fit_align_n`` with ``n_samples``): f_theta's settings and its samples."""
    return _job(
        config,
        env,
        algo,
        seed,
        fit=fit_block(config, arch, n_samples),
        expect_samples=_expected(config, env, algo, seed)["samples"],
    )


def evaluate_params(config: dict, env: str, algo: str, seed) -> dict:
    """``evaluate_attacks``: the env's evaluation grid and the hyperparameters of its attacks."""
    grid = eval_params(config, env)
    expect = _expected(config, env, algo, seed)
    return _job(
        config,
        env,
        algo,
        seed,
        env_block=env_params(config, env, algo),
        evaluate=grid,
        attacks=attack_blocks(config, grid["attacks"]),
        expect_policy=expect["policy"],
        expect_align=expect["align"],
    )


def score_params(config: dict, env: str, algo: str, seed) -> dict:
    """``score_victim``: the victim against a random policy on the evaluation's benign episodes."""
    return _job(
        config,
        env,
        algo,
        seed,
        env_block=env_params(config, env, algo),
        episodes=score_episodes(config, env),
        expect_policy=_expected(config, env, algo, seed)["policy"],
    )


def score_episodes(config: dict, env: str) -> int:
    """Episodes a victim of ``env`` is scored on: ``envs.<env>.score_episodes``, else the env's
    evaluation episodes (then its score is its benign evaluation, episode for episode)."""
    return config["envs"][env].get("score_episodes", eval_params(config, env)["episodes"])


def ablation_params(config: dict, ablation: str, env: str, algo: str, seed) -> dict:
    """``evaluate_ablation``: one ablation's block and the hyperparameters of its attacks."""
    block = ablation_block(config, ablation)
    return _job(
        config,
        env,
        algo,
        seed,
        ablation=ablation,
        env_block=env_params(config, env, algo),
        block=block,
        attacks=attack_blocks(config, block["attacks"]),
        expect_policy=_expected(config, env, algo, seed)["policy"],
        expect_align=expected_ablation_inputs(config, ablation, env, algo, int(seed)),
    )


# ---- report jobs ----------------------------------------------------------------------------


def summary_params(config: dict) -> dict:
    """What a summary (``summarise``, ``summarise_ablation``) reads: the bootstrap's settings."""
    report = config["report"]
    return {"bootstrap_samples": report["bootstrap_samples"], "ci": report["ci"], "seed": config["seed"]}


def claims_params(config: dict) -> dict:
    """What the claims tables read: the bootstrap, the rule that picks each env's eps
    (``report.eps_rule``) and the fixed eps of the second view (``report.drop_eps``)."""
    return {**summary_params(config), **main_drop_params(config)}


def main_drop_params(config: dict) -> dict:
    """What the main % drop tables read: the eps rule (``main_drop``) and the fixed eps
    (``main_drop_fixed_eps``)."""
    return {"eps_rule": copy.deepcopy(config["report"]["eps_rule"]), "eps": config["report"]["drop_eps"]}


def victims_table_params(config: dict) -> dict:
    """What the victims table reads: the competence threshold per env (or per env and algorithm),
    the statistic it holds (``threshold_on``, where not the IQM), the spread and count of the episodes
    behind a threshold that is a mean (``threshold_sd``, ``threshold_episodes``), what passing means
    (``report.competence``), where it comes from (``threshold_source``), the (env, algo) pairs
    EPyMARL's own learner fails (``not_comparable``: env -> algo -> EPyMARL's result), and which rule
    set how the victims act (protocol ``victim_actions``), for its caption."""
    envs = config["envs"]
    return {
        "thresholds": thresholds(config),
        "threshold_sources": {env: b["threshold_source"] for env, b in envs.items() if "threshold_source" in b},
        "threshold_on": {env: b["threshold_on"] for env, b in envs.items() if b.get("threshold_on", "iqm") != "iqm"},
        "threshold_sd": {env: b["threshold_sd"] for env, b in envs.items() if "threshold_sd" in b},
        "threshold_episodes": {env: b["threshold_episodes"] for env, b in envs.items() if "threshold_episodes" in b},
        "competence": copy.deepcopy(config["report"].get("competence", {"rule": "at_least"})),
        "not_comparable": {env: dict(b["not_comparable"]) for env, b in envs.items() if b.get("not_comparable")},
        "actions_rule": protocol.resolve(config.get("protocol"))["victim_actions"],
    }


# ---- provenance each job's inputs must carry ---------------------------------------------------


def expected_inputs(config: dict, env: str, algo: str, seed: int) -> dict:
    """Block and seed each intermediate of victim ``(env, algo, seed)`` must carry under ``config``.

    ``{"policy": {"config", "seed"}, "samples": {...}, "align": {arch: {...}}}``,
    with an f_theta for each architecture the configured attacks need.
    """
    from ..algos import split_variant

    base = config["seed"]
    env_p = env_params(config, env, algo)
    # the block names the algorithm (``mappo``); a variant's seeds derive from its own name (``mappo-gru``)
    policy = lineage.policy_block(env_p, split_variant(algo)[0], algo_params(config, env, algo), seed)
    samples = lineage.samples_block(env_p, config["collect"], config_hash(policy))
    align = {
        arch: {
            "config": lineage.align_block(fit_block(config, arch), config_hash(samples)),
            "seed": lineage.align_seed(base, env, algo, seed, arch),
        }
        for arch in needed_archs(config, env)
    }
    return {
        "policy": {"config": policy, "seed": lineage.policy_seed(base, env, algo, seed)},
        "samples": {"config": samples, "seed": lineage.samples_seed(base, env, algo, seed)},
        "align": align,
    }


def expected_ablation_inputs(config: dict, ablation: str, env: str, algo: str, seed: int) -> dict:
    """Block and seed of each f_theta one ablation job reads, keyed as its inputs: ``<arch>``, or
    ``<arch>_n<n>`` for the samples ablation (f_theta on ``n`` samples of the same pool)."""
    base = config["seed"]
    samples_hash = config_hash(expected_inputs(config, env, algo, seed)["samples"]["config"])
    if ablation == "samples":
        fits = {
            paths.align_key(arch, n): (arch, fit_block(config, arch, n))
            for arch in ablation_archs(config)
            for n in config["ablations"]["samples"]["n_samples"]
        }
    else:
        archs = {attack_arch(config, a) for a in config["ablations"][ablation]["attacks"]} - {None}
        fits = {arch: (arch, fit_block(config, arch)) for arch in archs}
    return {
        key: {"config": lineage.align_block(fit, samples_hash), "seed": lineage.align_seed(base, env, algo, seed, arch)}
        for key, (arch, fit) in fits.items()
    }
