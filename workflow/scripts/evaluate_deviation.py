# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.stages import evaluate

with logged(snakemake.log[0]):
    evaluate.run(
        snakemake.params.job,
        policy=snakemake.input.policy,
        align=paths.align_from_inputs(snakemake.input),
        rows_out=snakemake.output.rows,
        cost_out=snakemake.output.cost,
        threads=snakemake.threads,
    )
