# Config checks the schema cannot express, and the input functions of the rules.
# Each job's parameters come from marl_attacks.config (one builder per kind of job, the same
# code the stages' command lines use), its paths from marl_attacks.paths.
# Rules ask for one thread: the networks are small, so on a few cores two single-threaded
# jobs side by side beat one job using two threads. profiles/slurm sets more per rule.
import os
import sys

import marl_attacks.config as mac
import marl_attacks.paths as paths
from marl_attacks.protocol import CHOICES
from snakemake.exceptions import WorkflowError

try:
    mac.check(config)
except mac.ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}")

RUN = config["run"]
# jobs on SMAX envs compile SMAX's step with jax (a minute per job on a CPU); a shared cache of the
# compiled code makes every later job of the same map and batch size start in seconds
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.abspath(".snakemake/jax-cache"))
TABLE_EXTS = ["csv", "md", "tex"]
VICTIM = paths.victim()  # {env}/{algo}/seed{seed}, the wildcards of every per-victim job


PAIRS, SKIPPED = mac.victim_pairs(config)
for note in SKIPPED:
    # e.g. QMIX/VDN on an env configured with continuous actions
    print(f"note: {note}", file=sys.stderr)


def victims():
    """Every (env, algo, seed) the config asks for, less the env x algo pairs that do not fit."""
    return mac.victims(config)


def attacked_victims():
    """The victims the evaluation attacks: those of evaluate.algos (default: all of them)."""
    return mac.attacked_victims(config)


def each_victim(path, among=None):
    """``path(RUN, env, algo, seed)`` (a function of marl_attacks.paths) for each victim of
    ``among`` (default: every victim)."""
    return [path(RUN, e, a, s) for e, a, s in (victims() if among is None else among)]


def job(builder, *extra):
    """``params: job=...`` of a per-victim rule: ``builder(config, *extra wildcards, env, algo, seed)``."""
    return lambda w: builder(config, *(getattr(w, k) for k in extra), w.env, w.algo, w.seed)


def policy_input(wildcards):
    """The victim's policy: trained by this run, or shipped in the zoo (config key zoo)."""
    return mac.policy_path(config, wildcards.env, wildcards.algo, wildcards.seed)


def align_inputs(wildcards):
    """f_theta files the evaluation of one victim needs, one per architecture."""
    w = wildcards
    models = {
        arch: paths.align_model(RUN, arch, None, w.env, w.algo, w.seed) for arch in mac.needed_archs(config, w.env)
    }
    return paths.align_inputs(models)


ABLATIONS = list(config["ablations"])  # samples, pgd_steps, n_attacked (, victim_memory): the ablations with own runs


def ablation_victims(ablation):
    """Victims taking part in one ablation (marl_attacks.config.ablation_victims)."""
    return mac.ablation_victims(config, ablation)


# the GRU victims of the victim-memory ablation (none without its block): beside the config's own victims
# in the zoo check and the victims target, not in the victims table
GRU_VICTIMS = mac.gru_victims(config)
FIGURES = [
    "return_vs_eps",
    "episode_length",
    "ablation_samples",
    "ablation_pgd_steps",
    "ablation_architecture",
    "ablation_n_attacked",
    "ablation_selection",
] + (["ablation_victim_memory"] if "victim_memory" in ABLATIONS else [])


if mac.zoo_dir(config):
    _missing = [
        mac.policy_path(config, e, a, s)
        for e, a, s in victims() + GRU_VICTIMS
        if not os.path.exists(mac.policy_path(config, e, a, s))
    ]
    _gru = [p for p in _missing if p in {mac.policy_path(config, e, a, s) for e, a, s in GRU_VICTIMS}]
    if _missing:
        raise WorkflowError(
            f"config key 'zoo': {len(_missing)} shipped victim(s) missing, e.g. "
            f"{_missing[0]}; set zoo: null to train them, or train them and copy "
            "them there (see README, 'Shipped victims')"
            + (
                f"; {len(_gru)} of them are GRU victims of ablations.victim_memory, e.g. {_gru[0]}: "
                "'snakemake gru_victims --config zoo=null' trains just those, then "
                f"'python -m marl_attacks.victims export {paths.victims_root(RUN)} {mac.zoo_dir(config)}'"
                if _gru
                else ""
            )
        )


def ablation_rows(wildcards):
    return [paths.ablation_rows(RUN, wildcards.ablation, e, a, s) for e, a, s in ablation_victims(wildcards.ablation)]


def ablation_align_inputs(wildcards):
    """f_theta files one ablation job needs: for samples, one per architecture x number of samples
    (the main fit where n is fit.<arch>.n_samples); otherwise the main fits its attacks use."""
    w, block = wildcards, config["ablations"][wildcards.ablation]
    if w.ablation == "samples":
        models = {}
        for arch in mac.ablation_archs(config):
            for n in block["n_samples"]:
                fitted_on = None if n == config["fit"][arch]["n_samples"] else n
                models[paths.align_key(arch, n)] = paths.align_model(RUN, arch, fitted_on, w.env, w.algo, w.seed)
    else:
        archs = sorted({mac.attack_arch(config, a) for a in block["attacks"]} - {None})
        models = {arch: paths.align_model(RUN, arch, None, w.env, w.algo, w.seed) for arch in archs}
    return paths.align_inputs(models)


DEVIATION_VICTIMS = mac.deviation_victims(config)  # deviations.victims: each protocol choice flipped on them


def deviation_samples_input(wildcards):
    """The samples f_theta is fitted on with the choice flipped: the main run's where the flip
    leaves them as they are (e.g. a choice that changes only an attack's fit)."""
    w = wildcards
    if mac.deviation_inputs(config, w.choice, w.env, w.algo, w.seed)["samples"]:
        return paths.deviation_samples(RUN, w.choice, w.env, w.algo, w.seed)
    return paths.samples(RUN, w.env, w.algo, w.seed)


def deviation_align_inputs(wildcards):
    """f_theta files the flipped evaluation needs: the main run's where the flip leaves them as they are."""
    w = wildcards
    changed = mac.deviation_inputs(config, w.choice, w.env, w.algo, w.seed)["align"]
    models = {
        arch: (
            paths.deviation_align(RUN, w.choice, arch, w.env, w.algo, w.seed)
            if new
            else paths.align_model(RUN, arch, None, w.env, w.algo, w.seed)
        )
        for arch, new in changed.items()
    }
    return paths.align_inputs(models)


def deviation_table_inputs(wildcards):
    """The main rows of the deviation victims, and per choice the flipped rows of the victims for
    which the flip changes anything (mac.deviation_attacks)."""
    flipped = {
        choice: [
            paths.deviation_rows(RUN, choice, e, a, s)
            for e, a, s in DEVIATION_VICTIMS
            if mac.deviation_attacks(config, choice, e, a, s)
        ]
        for choice in CHOICES
    }
    return {"main": each_victim(paths.eval_rows, DEVIATION_VICTIMS), **paths.flipped_inputs(flipped)}


# Priority of the jobs that lead to the summary and the claims: with 2 cores, the main chain runs
# first, and its serial tail (summarise, then table_claims, on one core each) overlaps the
# deviation and ablation jobs instead of running alone at the end of the run.
MAIN_CHAIN = 1
