# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import fit
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    fit.run(
        snakemake.input.samples,
        p.victim,
        p.fit,
        p.base_seed,
        p.device,
        snakemake.output.model,
        snakemake.threads,
        expect_samples=p.expect_samples,
    )
