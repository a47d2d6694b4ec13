# Constrained black-box attacks on cooperative MARL (arXiv 2508.09275), end to end.
# snakemake --cores 2                               # quick config (config/config.yaml)
# snakemake --cores 2 --configfile config/paper.yaml
from snakemake.utils import min_version, validate

min_version("8.0")


# The quick default, unless --configfile names another config (Snakemake would merge the two).
if not config:

    configfile: "config/config.yaml"



validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


wildcard_constraints:
    env="[A-Za-z0-9_-]+",
    algo="[a-z0-9_]+",
    seed="[0-9]+",
    arch="[a-z]+(-[a-z]+)?",


include: "workflow/rules/train.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        expand("figures/{run}/return_vs_eps.{ext}", run=RUN, ext=["pdf", "png"]),
        expand(
            "tables/{run}/{table}.{ext}",
            run=RUN,
            table=["main_drop", "victims", "attack_cost"],
            ext=TABLE_EXTS,
        ),
        f"results/{RUN}/summary.csv",
    default_target: True


rule victims:
    # Victims only: train (or take from the zoo) and score them, then tables/{run}/victims.*
    # e.g. build the zoo: snakemake --cores 2 victims --configfile config/paper.yaml --config zoo=null
    input:
        expand("tables/{run}/victims.{ext}", run=RUN, ext=TABLE_EXTS),
