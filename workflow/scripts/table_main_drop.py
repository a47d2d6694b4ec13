# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
import pandas as pd

from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.tables import table_main_drop

with logged(snakemake.log[0]):
    table_main_drop(pd.read_csv(snakemake.input.summary), paths.stem(snakemake.output[0]), snakemake.params.job)
