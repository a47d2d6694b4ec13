# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import report
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    report.table_victims(list(snakemake.input.scores), snakemake.output[0][: -len(".csv")], snakemake.params.thresholds)
