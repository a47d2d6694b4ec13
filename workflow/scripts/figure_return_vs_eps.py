# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
import pandas as pd

from marl_attacks import figures
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    stem = snakemake.output.png[: -len(".png")]
    figures.plot_return_vs_eps(pd.read_csv(snakemake.input.summary), stem)
