# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks.logging_utils import logged
from marl_attacks.stages import train

with logged(snakemake.log[0]):
    out = snakemake.output
    train.run(snakemake.params.job, policy_out=out.policy, curve_out=out.curve, threads=snakemake.threads)
