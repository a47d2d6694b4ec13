"""What each intermediate of one victim is made from, so that a stage can check its inputs.

Each stage stores in its output's provenance (:func:`marl_attacks.io.save_artifact`)
a config block and a seed. The block holds the config values the stage used
plus the config hash of its own input, so a file's hash stands for the whole
chain back to the training config. The functions here build those blocks and
seeds: the stage that writes a file calls them, and :func:`expected` calls
them with a config to tell a reading stage what its input must say. A policy,
samples file or f_theta made by another config, for another victim or with
another base seed is then refused by name (:func:`marl_attacks.io.load_artifact`)
instead of being used silently.
"""

from __future__ import annotations

from dataclasses import asdict

from . import paths
from .io import config_hash
from .utils import derive_seed


def env_block(env: dict) -> dict:
    """The env's build settings (name, time limit, kwargs), without how victims act in it."""
    return {k: env[k] for k in ("name", "max_steps", "kwargs")}


def policy_block(env: dict, algo: str, algo_cfg: dict, seed: int) -> dict:
    """Provenance block of ``policy.pt``: env, algorithm, every hyperparameter, victim seed."""
    from .algos import build_config

    return {"env": env_block(env), "algo": algo, "algo_cfg": asdict(build_config(algo, algo_cfg)), "seed": seed}


def policy_seed(base_seed: int, env: str, algo: str, seed: int) -> int:
    return derive_seed(base_seed, "train", env, algo, seed)


def samples_block(env: dict, collect: dict, policy_hash: str) -> dict:
    """Provenance block of ``samples.pt``: collection settings (``collect``: n_samples, num_envs),
    how the victim acted (``env["victim_actions"]``) and the policy's config hash."""
    return {
        "env": env_block(env),
        "n_samples": collect["n_samples"],
        "num_envs": collect["num_envs"],
        "victim_actions": env["victim_actions"],
        "victim_config_hash": policy_hash,
    }


def samples_seed(base_seed: int, env: str, algo: str, seed: int) -> int:
    return derive_seed(base_seed, "collect", env, algo, seed)


def align_block(fit_cfg: dict, samples_hash: str) -> dict:
    """Provenance block of ``<arch>.pt``: every f_theta setting and the samples' config hash."""
    from .alignment import FitConfig

    return {"fit": asdict(FitConfig(**fit_cfg)), "samples_config_hash": samples_hash}


def align_seed(base_seed: int, env: str, algo: str, seed: int, arch: str) -> int:
    return derive_seed(base_seed, "fit", env, algo, seed, arch)


def expected(config: dict, env: str, algo: str, seed: int) -> dict:
    """Block and seed each intermediate of victim ``(env, algo, seed)`` must carry under ``config``.

    ``{"policy": {"config", "seed"}, "samples": {...}, "align": {arch: {...}}}``,
    with an f_theta for each architecture the configured attacks need.
    """
    from . import config as cfgmod

    base = config["seed"]
    env_p = cfgmod.env_params(config, env, rollout=True)
    policy = policy_block(env_p, algo, cfgmod.algo_params(config, env, algo), seed)
    samples = samples_block(env_p, config["collect"], config_hash(policy))
    align = {
        arch: {
            "config": align_block(cfgmod.fit_block(config, arch), config_hash(samples)),
            "seed": align_seed(base, env, algo, seed, arch),
        }
        for arch in cfgmod.needed_archs(config, env)
    }
    return {
        "policy": {"config": policy, "seed": policy_seed(base, env, algo, seed)},
        "samples": {"config": samples, "seed": samples_seed(base, env, algo, seed)},
        "align": align,
    }


def expected_ablation(config: dict, ablation: str, env: str, algo: str, seed: int) -> dict:
    """Block and seed of each f_theta one ablation job reads, keyed as its inputs: ``<arch>``, or
    ``<arch>_n<n>`` for the samples ablation (f_theta on ``n`` samples of the same pool)."""
    from . import config as cfgmod

    base = config["seed"]
    samples_hash = config_hash(expected(config, env, algo, seed)["samples"]["config"])
    if ablation == "samples":
        fits = {
            paths.align_key(arch, n): (arch, cfgmod.fit_block(config, arch, n))
            for arch in cfgmod.ablation_archs(config)
            for n in config["ablations"]["samples"]["n_samples"]
        }
    else:
        archs = {cfgmod.attack_arch(a) for a in config["ablations"][ablation]["attacks"]} - {None}
        fits = {arch: (arch, cfgmod.fit_block(config, arch)) for arch in archs}
    return {
        key: {"config": align_block(fit, samples_hash), "seed": align_seed(base, env, algo, seed, arch)}
        for key, (arch, fit) in fits.items()
    }
