# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import report
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    report.export_marl_eval(list(snakemake.input.rows), snakemake.output.json)
