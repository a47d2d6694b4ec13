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
    _missing = [mac.policy_path(config, e, a, s) for e, a in PAIRS for s in config["seeds"]
                if not os.path.exists(mac.policy_path(config, e, a, s))]
    if _missing:
        raise WorkflowError(f"config key 'zoo': {len(_missing)} shipped victim(s) missing, e.g. "
                            f"{_missing[0]}; set zoo: null to train them, or train them and copy "
                            "them there (see README, 'Shipped victims')")


def victims():
    """Every (env, algo, seed) the config asks for, less the env x algo pairs that do not fit."""
    return [(e, a, s) for e, a in PAIRS for s in config["seeds"]]


def victim_paths(pattern):
    return [pattern.format(run=RUN, env=e, algo=a, seed=s) for e, a, s in victims()]


def align_inputs(wildcards):
    """f_theta files the evaluation of one victim needs, one per architecture."""
    return {
        arch: f"results/{RUN}/align/{wildcards.env}/{wildcards.algo}/seed{wildcards.seed}/{arch}.pt"
        for arch in mac.needed_archs(config)
    }


def victim_id(wildcards):
    return {"env": wildcards.env, "algo": wildcards.algo, "seed": int(wildcards.seed)}


def policy_input(wildcards):
    """The victim's policy: trained by this run, or shipped in the zoo (config key zoo)."""
    return mac.policy_path(config, wildcards.env, wildcards.algo, wildcards.seed)


def expect(what):
    """Provenance a job's input must carry ("policy", "samples" or "align"); the job checks it."""
    return lambda w: lineage.expected(config, w.env, w.algo, int(w.seed))[what]
