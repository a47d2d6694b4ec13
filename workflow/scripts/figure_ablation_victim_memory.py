# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.figures import draw_figure

with logged(snakemake.log[0]):
    draw_figure("ablation_victim_memory", snakemake.input.summary, paths.stem(snakemake.output.png))
