# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import report
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    report.draw_figure(
        "ablation_selection", snakemake.input.summary, snakemake.output.png[: -len(".png")], snakemake.input.victims
    )
