# Config checks the schema cannot express, path helpers and input functions.
# Parameter blocks come from marl_attacks.config, the same code the by-hand CLIs use.
# Rules ask for one thread: the networks are small, so on a few cores two single-threaded
# jobs side by side beat one job using two threads. profiles/slurm sets more per rule.
import os
import sys

import marl_attacks.config as mac
import marl_attacks.lineage as lineage
from snakemake.exceptions import WorkflowError

try:
    mac.check(config)
except mac.ConfigError as exc:
    raise WorkflowError(f"invalid config: {exc}")

RUN = config["run"]
TABLE_EXTS = ["csv", "md", "tex"]
VICTIM = "{env}/{algo}/seed{seed}"


PAIRS, SKIPPED = mac.victim_pairs(config)
for note in SKIPPED:
    # e.g. QMIX/VDN on an env configured with continuous actions
    print(f"note: {note}", file=sys.stderr)


if mac.zoo_dir(config):
    _missing = [
        mac.policy_path(config, e, a, s)
        for e, a in PAIRS
        for s in config["seeds"]
        if not os.path.exists(mac.policy_path(config, e, a, s))
    ]
    if _missing:
        raise WorkflowError(
            f"config key 'zoo': {len(_missing)} shipped victim(s) missing, e.g. "
            f"{_missing[0]}; set zoo: null to train them, or train them and copy "
            "them there (see README, 'Shipped victims')"
        )


def victims():
    """Every (env, algo, seed) the config asks for, less the env x algo pairs that do not fit."""
    return [(e, a, s) for e, a in PAIRS for s in config["seeds"]]


def victim_paths(pattern, among=None):
    """``pattern`` filled in for each victim of ``among`` (default: every victim)."""
    return [pattern.format(run=RUN, env=e, algo=a, seed=s) for e, a, s in (victims() if among is None else among)]


def attacked_victims():
    """The victims the evaluation attacks: those of evaluate.algos (default: all of them)."""
    algos = mac.attacked_algos(config)
    return [(e, a, s) for e, a, s in victims() if a in algos]


def align_inputs(wildcards):
    """f_theta files the evaluation of one victim needs, one per architecture."""
    return {
        arch: f"results/{RUN}/align/{wildcards.env}/{wildcards.algo}/seed{wildcards.seed}/{arch}.pt"
        for arch in mac.needed_archs(config, wildcards.env)
    }


def victim_id(wildcards):
    return {"env": wildcards.env, "algo": wildcards.algo, "seed": int(wildcards.seed)}


def policy_input(wildcards):
    """The victim's policy: trained by this run, or shipped in the zoo (config key zoo)."""
    return mac.policy_path(config, wildcards.env, wildcards.algo, wildcards.seed)


def expect(what):
    """Provenance a job's input must carry ("policy", "samples" or "align"); the job checks it."""
    return lambda w: lineage.expected(config, w.env, w.algo, int(w.seed))[what]


ABLATIONS = list(config["ablations"])  # samples, pgd_steps, n_attacked: the ablations with own runs


def ablation_victims(ablation):
    """Victims taking part in one ablation: those of its envs (and of its algos and seeds, if set)."""
    block = config["ablations"][ablation]
    return [
        (e, a, s)
        for e, a, s in attacked_victims()
        if e in block["envs"] and a in block.get("algos", [a]) and s in block.get("seeds", [s])
    ]


def ablation_rows(wildcards):
    return [
        f"results/{RUN}/ablations/{wildcards.ablation}/{e}/{a}/seed{s}.csv"
        for e, a, s in ablation_victims(wildcards.ablation)
    ]


def ablation_align_inputs(wildcards):
    """f_theta files one ablation job needs: for samples, one per architecture x number of samples
    (the main fit where n is fit.<arch>.n_samples); otherwise the main fits its attacks use."""
    victim = f"{wildcards.env}/{wildcards.algo}/seed{wildcards.seed}"
    block = config["ablations"][wildcards.ablation]
    if wildcards.ablation == "samples":
        out = {}
        for arch in mac.ablation_archs(config):
            for n in block["n_samples"]:
                stem = arch if n == config["fit"][arch]["n_samples"] else f"{arch}_n{n}"
                out[f"align_{arch}_n{n}"] = f"results/{RUN}/align/{victim}/{stem}.pt"
        return out
    archs = sorted({mac.attack_arch(a) for a in block["attacks"]} - {None})
    return {f"align_{arch}": f"results/{RUN}/align/{victim}/{arch}.pt" for arch in archs}
