# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks.logging_utils import logged
from marl_attacks.stages import collect

with logged(snakemake.log[0]):
    collect.run(
        snakemake.params.job, policy=snakemake.input.policy, out=snakemake.output.samples, threads=snakemake.threads
    )
