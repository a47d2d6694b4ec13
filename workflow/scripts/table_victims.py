# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.tables import table_victims

with logged(snakemake.log[0]):
    table_victims(list(snakemake.input.scores), paths.stem(snakemake.output[0]), snakemake.params.job)
