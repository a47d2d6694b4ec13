# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
import pandas as pd

from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.claims import table_claims
from marl_attacks.reporting.summary import load_eval

with logged(snakemake.log[0]):
    table_claims(
        load_eval(list(snakemake.input.rows)),
        pd.read_csv(snakemake.input.victims),
        paths.stem(snakemake.output[0]),
        snakemake.output.by_eps,
        snakemake.params.job,
        pd.read_csv(snakemake.input.summary),
    )
