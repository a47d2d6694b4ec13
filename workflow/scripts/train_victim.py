# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import train
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    train.run(
        p.env,
        snakemake.wildcards.algo,
        p.algo_cfg,
        int(snakemake.wildcards.seed),
        p.base_seed,
        p.device,
        snakemake.output.policy,
        snakemake.output.curve,
        snakemake.threads,
    )
