# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import collect
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    collect.run(
        p.env,
        p.victim,
        snakemake.input.policy,
        p.n_samples,
        p.num_envs,
        p.base_seed,
        p.device,
        snakemake.output.samples,
        snakemake.threads,
        expect_policy=p.expect_policy,
        victim_actions=p.victim_actions,
    )
