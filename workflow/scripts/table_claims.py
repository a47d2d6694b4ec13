# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
import pandas as pd

from marl_attacks import report
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p, r = snakemake.params, snakemake.params.report
    report.table_claims(
        report.load_eval(list(snakemake.input.rows)),
        p.eps,
        r["bootstrap_samples"],
        r["ci"],
        p.base_seed,
        snakemake.output[0][: -len(".csv")],
        snakemake.output.by_eps,
        pd.read_csv(snakemake.input.victims),
    )
