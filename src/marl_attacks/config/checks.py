"""Config validation: the schema, then what a schema cannot express (names known to the
package's registries, hyperparameter types, attacks that need an f_theta or a partial team).

Every error names the config key, the value and what is allowed (:class:`ConfigError`).
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

import yaml

from .params import (
    ablation_archs,
    algo_params,
    attack_arch,
    attacked_algos,
    env_action_type,
    eval_params,
    fits,
    needed_archs,
)

SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config value is wrong; the message names the key, the value and what is allowed."""


def load(path: str | Path) -> dict:
    with open(path) as fh:
        config = yaml.safe_load(fh)
    check(config)
    return config


def check_schema(config: dict, schema_path: str | Path = SCHEMA) -> None:
    import jsonschema

    with open(schema_path) as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        err = errors[0]
        path = list(map(str, err.absolute_path))
        key = ".".join(path) or "(top level)"
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(err.schema.get("properties", {}))
            unknown = sorted(set(err.instance) - set(allowed))
            raise ConfigError(f"config key '{'.'.join([*path, unknown[0]])}': unknown key; allowed: {allowed}")
        if err.validator in ("oneOf", "anyOf"):
            options = " or ".join(json.dumps(s) for s in err.validator_value)
            raise ConfigError(f"config key '{key}': {err.instance!r} is not allowed; allowed: {options}")
        raise ConfigError(f"config key '{key}': {err.message}")


def _type_ok(value, hint) -> bool:
    """Whether ``value`` fits a dataclass field's type (int, float, bool, str, unions of them)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True  # other field types are not checked here


def check_types(key: str, cls: type, values: dict) -> None:
    """Values of a hyperparameter block against the types of ``cls``'s fields (a dataclass)."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if name in hints and not _type_ok(value, hints[name]):
            want = getattr(hints[name], "__name__", str(hints[name]))
            raise ConfigError(f"config key '{key}.{name}': {value!r} is not of type '{want}'")


def check(config: dict) -> None:
    """Schema plus the checks a schema cannot express (names known to the package)."""
    from .. import protocol
    from ..algos import ALGOS, build_config
    from ..algos.base import VICTIM_ACTIONS
    from ..algos.recurrent import GRU_ONLY
    from ..alignment import ALIGN_MODELS, FitConfig
    from ..attacks import ATTACKS, attack_kwargs
    from ..envs import ENVS, backends, missing_extra

    check_schema(config)
    check_protocol(config)  # first: the grids below read it
    for env in config["envs"]:
        if env not in ENVS:
            raise ConfigError(f"config key 'envs': unknown env '{env}'; allowed: {sorted(ENVS)}")
        extra = missing_extra(env)
        if extra is not None:  # e.g. an SMAX map without jaxmarl: say so before any job starts
            raise ConfigError(
                f"config key 'envs.{env}': env '{env}' needs the optional extra '{extra}' "
                f"({ENVS[env].module} is not installed); install it with pip install -e '.[{extra}]'"
            )
        mode = config["envs"][env].get("victim_actions", "greedy")
        if mode not in VICTIM_ACTIONS:  # the schema says so too; this is the package's own list
            raise ConfigError(
                f"config key 'envs.{env}.victim_actions': {mode!r} is not allowed; allowed: {list(VICTIM_ACTIONS)}"
            )
        backend = config["envs"][env].get("backend", "reference")
        if backend not in backends(env):  # e.g. batched on an env that has no batched adapter
            raise ConfigError(f"config key 'envs.{env}.backend': {backend!r} is not allowed; allowed: {backends(env)}")
        block = config["envs"][env]
        by_algo = {"not_comparable": block.get("not_comparable") or {}}
        for key in ("threshold", "threshold_sd", "threshold_episodes"):
            if isinstance(block.get(key), dict):  # one per algorithm
                by_algo[key] = block[key]
        if ("threshold_sd" in block) != ("threshold_episodes" in block):
            raise ConfigError(
                f"config key 'envs.{env}.threshold_sd': set together with threshold_episodes (the spread and "
                "count of the episodes behind the threshold), or neither"
            )
        if "threshold_sd" in block and block.get("threshold_on", "iqm") != "mean":
            raise ConfigError(
                f"config key 'envs.{env}.threshold_sd': the spread of a threshold that is a mean over episodes; "
                "set threshold_on: mean"
            )
        for key, algos in by_algo.items():
            for algo in algos:
                if algo not in config["algos"]:
                    raise ConfigError(
                        f"config key 'envs.{env}.{key}.{algo}': not an algorithm of this config; "
                        f"allowed: {list(config['algos'])}"
                    )
    for algo in config["algos"]:
        if algo not in ALGOS:
            raise ConfigError(f"config key 'algos': unknown algorithm '{algo}'; allowed: {sorted(ALGOS)}")
        for env in config["envs"]:
            try:
                hp = build_config(algo, algo_params(config, env, algo))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"config key 'algos.{algo}' (env {env}): {exc}") from exc
            for key in GRU_ONLY:
                if key in algo_params(config, env, algo) and hp.agent != "gru":
                    raise ConfigError(
                        f"config key 'algos.{algo}.{key}' (env {env}): applies to agent: gru only; "
                        f"this algorithm's agent is {hp.agent}"
                    )
            check_types(
                f"envs.{env}.train.{algo}", ALGOS[algo].config, config["envs"][env].get("train", {}).get(algo, {})
            )
        check_types(f"algos.{algo}", ALGOS[algo].config, config["algos"][algo])
        if not any(fits(config, env, algo) for env in config["envs"]):
            kinds = sorted({env_action_type(config, env) for env in config["envs"]})
            raise ConfigError(
                f"config key 'algos.{algo}': {algo} supports "
                f"{' and '.join(ALGOS[algo].action_types)} actions only, but every "
                f"configured env has {' or '.join(kinds)} actions; nothing to train"
            )
    for env in config["envs"]:
        check_eval_attacks(config, env)
    for algo in config["evaluate"].get("algos", []):
        if algo not in config["algos"]:
            raise ConfigError(
                f"config key 'evaluate.algos': '{algo}' is not configured under algos; allowed: {list(config['algos'])}"
            )
    for name, params in config.get("attacks", {}).items():
        if name not in ATTACKS:
            raise ConfigError(f"config key 'attacks.{name}': unknown attack; allowed: {list(ATTACKS)}")
        params = dict(params or {})
        where = params.pop("envs", None)  # where it runs (eval_params), not a hyperparameter
        if where is not None and (not isinstance(where, list) or not set(where) <= set(ENVS)):
            # registered names, not only this config's envs: a cut of a config keeps its attack blocks
            raise ConfigError(
                f"config key 'attacks.{name}.envs': {where!r} is not a list of known envs; allowed: {sorted(ENVS)}"
            )
        try:
            attack_kwargs(name, params)
        except KeyError as exc:
            raise ConfigError(f"config key 'attacks.{name}': {exc}") from exc
        if ATTACKS[name].config:
            check_types(f"attacks.{name}", ATTACKS[name].config, params)
            try:  # the dataclass's own checks (e.g. align-mlp-tuned's grid)
                ATTACKS[name].config(**params)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"config key 'attacks.{name}': {exc}") from exc
    for arch, params in config["fit"].items():
        if arch not in ALIGN_MODELS:
            raise ConfigError(f"config key 'fit.{arch}': unknown f_theta architecture; allowed: {sorted(ALIGN_MODELS)}")
        unknown = sorted(set(params) - set(FitConfig.__dataclass_fields__) - {"arch"})
        if unknown:
            raise ConfigError(
                f"config key 'fit.{arch}': unknown key(s) {unknown}; allowed: {sorted(FitConfig.__dataclass_fields__)}"
            )
    for arch in needed_archs(config):
        if arch not in config["fit"]:
            given = [a for a, x in protocol.align_archs(config.get("protocol")).items() if x == arch]
            why = f" (the protocol gives {given} this f_theta)" if given else ""
            raise ConfigError(f"config key 'fit': attacks need f_theta '{arch}' but fit.{arch} is not configured{why}")
    check_ablations(config)
    check_report(config)
    check_deviations(config)
    drop_eps = config["report"]["drop_eps"]
    if drop_eps not in config["evaluate"]["eps"]:
        raise ConfigError(
            f"config key 'report.drop_eps': {drop_eps} is not in evaluate.eps {config['evaluate']['eps']}"
        )
    for env in config["envs"]:
        eps = eval_params(config, env)["eps"]
        if drop_eps not in eps:
            raise ConfigError(
                f"config key 'envs.{env}.evaluate.eps': {eps} lacks report.drop_eps "
                f"{drop_eps}, the eps of the main table"
            )


def check_eval_attacks(config: dict, env: str) -> None:
    """The attacks of ``env``'s evaluation grid (``evaluate`` with ``envs.<env>.evaluate``) exist,
    come with what they need, and each produces rows."""
    from ..attacks import ATTACKS, derived, runnable_names

    ev = eval_params(config, env)
    key = f"envs.{env}.evaluate" if "attacks" in config["envs"][env].get("evaluate", {}) else "evaluate"
    for name in ev["attacks"]:
        if name not in ATTACKS:
            raise ConfigError(f"config key '{key}.attacks': unknown attack '{name}'; allowed: {list(ATTACKS)}")
        for base in derived().get(name, ()):
            if base not in ev["attacks"]:
                raise ConfigError(f"config key '{key}.attacks': '{name}' needs '{base}' too")
    partial = ev.get("partial_team_attacks")
    for name in partial or []:
        if name not in ATTACKS or not ATTACKS[name].runnable or name == "benign":
            raise ConfigError(
                f"config key 'evaluate.partial_team_attacks': '{name}' is not a runnable "
                f"attack; allowed: {[a for a in runnable_names() if a != 'benign']}"
            )
    has_full, has_part = "all" in ev["n_attacked"], any(m != "all" for m in ev["n_attacked"])
    for name in ev["attacks"]:
        if name not in ATTACKS or not ATTACKS[name].runnable or name == "benign":
            continue
        if ATTACKS[name].cls.chooses_targets:  # runs with m < all agents only (evaluate.eval_jobs)
            if not has_part:
                raise ConfigError(
                    f"config key 'evaluate.n_attacked': targeted attack '{name}' chooses m "
                    "agents; with only 'all' it equals its untargeted version. Add an "
                    "integer m, e.g. [all, 1]"
                )
            if partial is not None and name not in partial:
                raise ConfigError(
                    f"config key 'evaluate.partial_team_attacks': targeted attack '{name}' "
                    "runs with fewer agents than the team only, so it must be listed"
                )
        elif not has_full and partial is not None and name not in partial:
            raise ConfigError(
                f"config key 'evaluate.partial_team_attacks': '{name}' is not listed and "
                "evaluate.n_attacked lacks 'all', so it would never run"
            )


def check_ablations(config: dict) -> None:
    """Each ablation's envs are configured, its attacks can vary what it ablates."""
    from ..attacks import ATTACKS, takes_pgd_steps

    for name, block in config["ablations"].items():
        # ablations attack victims too: their algorithms must be among the attacked ones
        for key, known, where in (
            ("envs", config["envs"], "envs"),
            ("algos", attacked_algos(config), "the attacked algos (evaluate.algos)"),
            ("seeds", config["seeds"], "seeds"),
        ):
            for value in block.get(key, []):
                if value not in known:
                    raise ConfigError(
                        f"config key 'ablations.{name}.{key}': '{value}' is not in {where}: {sorted(known)}"
                    )
        for attack in block["attacks"]:
            if attack not in ATTACKS or attack == "benign":
                raise ConfigError(
                    f"config key 'ablations.{name}.attacks': unknown attack '{attack}'; "
                    f"allowed: {[a for a in list(ATTACKS) if a != 'benign']}"
                )
            arch = attack_arch(config, attack)
            if name == "samples" and not arch:
                raise ConfigError(
                    f"config key 'ablations.samples.attacks': '{attack}' uses no f_theta, "
                    "so the number of samples cannot change it"
                )
            if arch and arch not in config["fit"]:
                raise ConfigError(
                    f"config key 'ablations.{name}.attacks': '{attack}' needs f_theta "
                    f"'{arch}' but fit.{arch} is not configured"
                )
            if name == "pgd_steps" and not takes_pgd_steps(attack):
                raise ConfigError(
                    f"config key 'ablations.pgd_steps.attacks': '{attack}' has no pgd_steps hyperparameter to vary"
                )
    check_victim_memory(config)
    # each n other than fit.<arch>.n_samples is an extra fit, which must find n samples in the pool
    pool = config["collect"]["n_samples"]
    for arch in ablation_archs(config):
        for n in config["ablations"]["samples"]["n_samples"]:
            if n > pool and n != config["fit"][arch]["n_samples"]:
                raise ConfigError(
                    f"config key 'ablations.samples.n_samples': {n} is more than the pool of "
                    f"collect.n_samples = {pool}; raise collect.n_samples"
                )


def check_victim_memory(config: dict) -> None:
    """The victim-memory ablation compares each feed-forward victim of its envs with the GRU variant
    of its algorithm (``mappo-gru``): the config's victims there must be feed-forward."""
    from ..algos import build_config

    block = config["ablations"].get("victim_memory")
    if block is None:
        return
    algos = block.get("algos", attacked_algos(config))
    for env in block["envs"]:
        for algo in algos:
            if fits(config, env, algo) and build_config(algo, algo_params(config, env, algo)).agent != "mlp":
                raise ConfigError(
                    f"config key 'ablations.victim_memory.algos': {algo} on {env} already has agent: gru; "
                    f"the ablation compares a feed-forward victim (agent: mlp) with its GRU variant"
                )


def check_protocol(config: dict) -> None:
    """The ``protocol`` block names known choices and values, and no attack block sets what a
    protocol choice sets (one place per choice)."""
    from .. import protocol

    try:
        protocol.resolve(config.get("protocol"))
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    for attack, fields in protocol.governed_fields().items():
        for field in sorted(set(config.get("attacks", {}).get(attack) or {}) & set(fields)):
            raise ConfigError(
                f"config key 'attacks.{attack}.{field}': set by the protocol; use protocol.{fields[field]} "
                f"(allowed: {list(protocol.CHOICES[fields[field]])})"
            )


def check_report(config: dict) -> None:
    """The eps rule's attack is a known attack other than benign (an env that does not run it reports
    no eps, as one where it never lowers the return enough)."""
    from ..attacks import ATTACKS

    attack = config["report"]["eps_rule"]["attack"]
    if attack not in ATTACKS or attack == "benign":
        raise ConfigError(
            f"config key 'report.eps_rule.attack': unknown attack '{attack}'; "
            f"allowed: {[a for a in ATTACKS if a != 'benign']}"
        )


def check_deviations(config: dict) -> None:
    """Each victim of ``deviations.victims`` is attacked by the main evaluation, which runs every
    attack the deviations table reads (the flipped side reuses its rows)."""
    from .. import protocol
    from .deviations import deviation_needs, flipped

    block = config.get("deviations") or {"victims": {}}
    victims = block["victims"]
    for env, algos in victims.items():
        if env not in config["envs"]:
            raise ConfigError(f"config key 'deviations.victims': env '{env}' is not in envs: {sorted(config['envs'])}")
        for algo in algos:
            if algo not in attacked_algos(config) or not fits(config, env, algo):
                raise ConfigError(
                    f"config key 'deviations.victims.{env}': '{algo}' has no victims attacked on {env} "
                    f"(attacked algos: {attacked_algos(config)})"
                )
        missing = [a for a in deviation_needs(config) if a not in eval_params(config, env)["attacks"]]
        if missing:
            raise ConfigError(
                f"config key 'deviations.victims.{env}': the evaluation of {env} lacks {missing}, which the "
                "deviations table reads; add them to its attacks"
            )
        episodes = eval_params(config, env)["episodes"]
        if block.get("episodes", episodes) > episodes:
            raise ConfigError(
                f"config key 'deviations.episodes': {block['episodes']} is more than the {episodes} episodes "
                f"{env} is evaluated on (the flipped evaluations run the main evaluation's first ones)"
            )
    for choice in protocol.CHOICES if victims else ():  # a flip can give an attack another f_theta
        for attack in deviation_needs(config):
            arch = attack_arch(flipped(config, choice), attack)
            if arch and arch not in config["fit"]:
                raise ConfigError(
                    f"config key 'deviations': with protocol.{choice} flipped, '{attack}' needs f_theta "
                    f"'{arch}' but fit.{arch} is not configured"
                )
