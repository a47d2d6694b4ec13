# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import evaluate
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    evaluate.run_score(
        p.env,
        p.victim,
        snakemake.input.policy,
        p.episodes,
        p.base_seed,
        p.device,
        snakemake.output.score,
        snakemake.threads,
        expect_policy=p.expect_policy,
        victim_actions=p.victim_actions,
    )
