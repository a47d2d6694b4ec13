# Thin wrapper: everything the stage uses comes through snakemake.input/output/params.
from marl_attacks import ablations
from marl_attacks.logging_utils import logged

with logged(snakemake.log[0]):
    p = snakemake.params
    align = {k[len("align_") :]: v for k, v in snakemake.input.items() if k.startswith("align_")}
    ablations.run(
        snakemake.wildcards.ablation,
        p.env,
        p.victim,
        snakemake.input.policy,
        align,
        p.block,
        p.attacks,
        p.base_seed,
        p.device,
        snakemake.output.rows,
        snakemake.threads,
        expect_policy=p.expect_policy,
        expect_align=p.expect_align,
        victim_actions=p.victim_actions,
    )
