# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import report
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    r = snakemake.params.report
    report.run_ablation_summary(
        list(snakemake.input.rows),
        snakemake.output.summary,
        r["bootstrap_samples"],
        r["ci"],
        snakemake.params.base_seed,
    )
