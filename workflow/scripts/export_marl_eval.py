# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.export import export_marl_eval

with logged(snakemake.log[0]):
    export_marl_eval(list(snakemake.input.rows), snakemake.output.json)
