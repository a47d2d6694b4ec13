# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import evaluate
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    align = {k[len("align_") :]: v for k, v in snakemake.input.items() if k.startswith("align_")}
    evaluate.run(
        p.env,
        p.victim,
        snakemake.input.policy,
        align,
        p.evaluate,
        p.attacks,
        p.base_seed,
        p.device,
        snakemake.output.rows,
        snakemake.output.cost,
        snakemake.threads,
        expect_policy=p.expect_policy,
        expect_align=p.expect_align,
        victim_actions=p.victim_actions,
    )
