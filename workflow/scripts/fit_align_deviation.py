# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks.logging_utils import logged
from marl_attacks.stages import fit

with logged(snakemake.log[0]):
    fit.run(
        snakemake.params.job, samples=snakemake.input.samples, out=snakemake.output.model, threads=snakemake.threads
    )
