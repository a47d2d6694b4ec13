# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
import pandas as pd

from marl_attacks import report
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    stem = snakemake.output[0][: -len(".csv")]
    report.table_main_drop(pd.read_csv(snakemake.input.summary), snakemake.params.eps, stem)
