# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.figures import draw_figure

with logged(snakemake.log[0]):
    draw_figure("win_rate_vs_eps", snakemake.input.summary, paths.stem(snakemake.output.png), snakemake.input.victims)
