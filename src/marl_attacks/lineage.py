"""What each intermediate of one victim is made from, so that a stage can check its inputs.

Each stage stores in its output's provenance (:func:`marl_attacks.io.save_artifact`)
a config block and a seed. The block holds the config values the stage used
plus the config hash of its own input, so a file's hash stands for the whole
chain back to the training config. The functions here build those blocks and
seeds: the stage that writes a file calls them, and
:func:`marl_attacks.config.expected_inputs` calls them with a config to tell a
reading stage what its input must say. A policy,
samples file or f_theta made by another config, for another victim or with
another base seed is then refused by name (:func:`marl_attacks.io.load_artifact`)
instead of being used silently.
"""

from __future__ import annotations

from dataclasses import asdict, fields

from .utils import derive_seed


def env_block(env: dict) -> dict:
    """The env's build settings (name, time limit, kwargs), without how victims act in it."""
    return {k: env[k] for k in ("name", "max_steps", "kwargs")}


def policy_block(env: dict, algo: str, algo_cfg: dict, seed: int) -> dict:
    """Provenance block of ``policy.pt``: env, algorithm, every hyperparameter, victim seed.

    Hyperparameters added after victims were shipped (``later_field``, e.g. ``agent``) are left
    out of a feed-forward victim's block while at their default, so its block is the one it was
    made with (every victim made before them is feed-forward); a GRU victim's block has those that
    existed when the first GRU victims were shipped, and leaves out at their default the ones added
    since (``after_gru``: MAPPO's ``anneal_lr``, ``normalise_advantages``)."""
    from .algos import build_config

    hp = build_config(algo, algo_cfg)
    omitted = {"every victim", "feed-forward"} if hp.agent == "mlp" else {"every victim"}
    later = {f.name: f.default for f in fields(hp) if f.metadata.get("omit_at_default") in omitted}
    kept = {k: v for k, v in asdict(hp).items() if k not in later or v != later[k]}
    return {"env": env_block(env), "algo": algo, "algo_cfg": kept, "seed": seed}


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
    """Provenance block of ``<arch>.pt``: every f_theta setting and the samples' config hash.
    ``form`` appears only where it is not ours (``per-agent``), so f_theta files fitted before the
    protocol chose it stay valid."""
    from .alignment import FitConfig

    fit = asdict(FitConfig(**fit_cfg))
    if fit["form"] == "per-agent":
        del fit["form"]
    return {"fit": fit, "samples_config_hash": samples_hash}


def align_seed(base_seed: int, env: str, algo: str, seed: int, arch: str) -> int:
    return derive_seed(base_seed, "fit", env, algo, seed, arch)
