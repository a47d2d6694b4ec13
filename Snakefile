# Constrained black-box attacks on cooperative MARL (arXiv 2508.09275), end to end.
# snakemake --cores 2                               # quick config (config/config.yaml)
# snakemake --cores 2 --configfile config/paper.yaml
# snakemake --report report.html                   # after a run: every figure and table, with captions
from snakemake.utils import min_version, validate

from marl_attacks.snakemake_fixes import keep_one_reevaluation_timer

min_version("8.0")

# Snakemake 9 leaves one more scheduling timer chain behind each finished job; keep one
# (marl_attacks.snakemake_fixes, bench/snakemake_scheduler.py).
keep_one_reevaluation_timer()


# The quick default, unless --configfile names another config (Snakemake would merge the two).
if not config:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    env="[A-Za-z0-9_-]+",
    algo="[a-z0-9_]+(-gru)?",  # -gru: an algorithm's GRU variant (ablations.victim_memory)
    seed="[0-9]+",
    arch="[a-z]+(-[a-z]+)?",
    nsamples="[0-9]+",
    ablation="samples|pgd_steps|n_attacked|victim_memory",
    choice="|".join(CHOICES),


include: "workflow/rules/train.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/ablations.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/deviations.smk"


rule all:
    default_target: True
    input:
        expand(paths.figure(RUN, "{figure}", "{ext}"), figure=FIGURES, ext=["pdf", "png"]),
        expand(
            paths.table(RUN, "{table}", "{ext}"),
            table=[
                "main_drop",
                "main_drop_fixed_eps",
                "victims",
                "attack_cost",
                "access_assumptions",
                "claims",
                "claims_fixed_eps",
            ],
            ext=TABLE_EXTS,
        ),
        # the claims under each protocol choice's two values, where the config lists deviations.victims
        expand(paths.table(RUN, "deviations", "{ext}"), ext=TABLE_EXTS if DEVIATION_VICTIMS else []),
        paths.table(RUN, "claims_by_eps", "csv"),
        paths.summary(RUN),
        paths.marl_eval(RUN),
        # envs that report wins (SMAX): their win rates vs eps
        expand(paths.figure(RUN, "win_rate_vs_eps", "{ext}"), ext=["pdf", "png"]) if mac.win_envs(config) else [],


rule victims:
    # Victims only: train (or take from the zoo) and score them, then tables/{run}/victims.*
    # e.g. build the zoo: snakemake --cores 2 victims --configfile config/paper.yaml --config zoo=null
    input:
        expand(paths.table(RUN, "victims", "{ext}"), ext=TABLE_EXTS),
        # the victim-memory ablation's GRU victims (scored by its figure, not the table)
        [mac.policy_path(config, e, a, s) for e, a, s in GRU_VICTIMS],


rule gru_victims:
    # The victim-memory ablation's GRU victims only (<algo>-gru), e.g. to add them to a zoo:
    # snakemake --cores 2 gru_victims --configfile config/paper.yaml --config zoo=null
    # python -m marl_attacks.victims export results/paper/victims zoo/paper
    input:
        [mac.policy_path(config, e, a, s) for e, a, s in GRU_VICTIMS],
