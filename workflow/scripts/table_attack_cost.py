# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import paths
from marl_attacks.logging_utils import logged
from marl_attacks.reporting.tables import table_attack_cost

with logged(snakemake.log[0]):
    table_attack_cost(list(snakemake.input.costs), paths.stem(snakemake.output[0]))
