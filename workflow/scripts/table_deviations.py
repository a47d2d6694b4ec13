# Thin wrapper: everything the table uses comes through snakemake.input/output/params.
from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.deviations import table_deviations

with logged(snakemake.log[0]):
    table_deviations(
        list(snakemake.input.main),
        paths.flipped_from_inputs(snakemake.input),
        paths.stem(snakemake.output[0]),
        snakemake.params.job,
    )
