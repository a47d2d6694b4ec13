# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.summary import run_summary

with logged(snakemake.log[0]):
    run_summary(list(snakemake.input.rows), snakemake.output.summary, snakemake.params.job)
