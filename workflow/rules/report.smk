rule summarise:
    input:
        rows=victim_paths("results/{run}/eval/{env}/{algo}/seed{seed}.csv", attacked_victims()),
    output:
        summary=f"results/{RUN}/summary.csv",
    log:
        f"logs/{RUN}/report/summarise.log",
    benchmark:
        f"benchmarks/{RUN}/report/summarise.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        report=config["report"],
        base_seed=config["seed"],
    message:
        "IQM and bootstrap CIs of every configuration"
    script:
        "../scripts/summarise.py"


rule figure_return_vs_eps:
    input:
        summary=f"results/{RUN}/summary.csv",
        victims=f"tables/{RUN}/victims.csv",  # panel titles say where victims fail
    output:
        pdf=f"figures/{RUN}/return_vs_eps.pdf",
        png=report(f"figures/{RUN}/return_vs_eps.png", caption="../report/return_vs_eps.rst", category="Figures"),
    log:
        f"logs/{RUN}/report/return_vs_eps.log",
    benchmark:
        f"benchmarks/{RUN}/report/return_vs_eps.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: IQM return vs eps"
    script:
        "../scripts/figure_return_vs_eps.py"


rule table_main_drop:
    input:
        summary=f"results/{RUN}/summary.csv",
    output:
        report(f"tables/{RUN}/main_drop.csv", caption="../report/main_drop.rst", category="Tables"),
        f"tables/{RUN}/main_drop.md",
        f"tables/{RUN}/main_drop.tex",
    log:
        f"logs/{RUN}/report/main_drop.log",
    benchmark:
        f"benchmarks/{RUN}/report/main_drop.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        eps=config["report"]["drop_eps"],
    message:
        "Table: % drop in return at eps = {params.eps}"
    script:
        "../scripts/table_main_drop.py"


rule table_victims:
    input:
        scores=victim_paths("results/{run}/victims/{env}/{algo}/seed{seed}/score.json"),
    output:
        report(f"tables/{RUN}/victims.csv", caption="../report/victims.rst", category="Tables"),
        f"tables/{RUN}/victims.md",
        f"tables/{RUN}/victims.tex",
    log:
        f"logs/{RUN}/report/victims.log",
    benchmark:
        f"benchmarks/{RUN}/report/victims.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        thresholds=mac.thresholds(config),
    message:
        "Table: victims vs a uniform-random policy"
    script:
        "../scripts/table_victims.py"


rule table_attack_cost:
    input:
        costs=victim_paths("results/{run}/eval/{env}/{algo}/seed{seed}.cost.csv", attacked_victims()),
    output:
        report(f"tables/{RUN}/attack_cost.csv", caption="../report/attack_cost.rst", category="Tables"),
        f"tables/{RUN}/attack_cost.md",
        f"tables/{RUN}/attack_cost.tex",
    log:
        f"logs/{RUN}/report/attack_cost.log",
    benchmark:
        f"benchmarks/{RUN}/report/attack_cost.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    message:
        "Table: cost of each attack (samples, fit time, time per attacked step)"
    script:
        "../scripts/table_attack_cost.py"


rule figure_episode_length:
    input:
        summary=f"results/{RUN}/summary.csv",
        victims=f"tables/{RUN}/victims.csv",  # panel titles say where victims fail
    output:
        pdf=f"figures/{RUN}/episode_length.pdf",
        png=report(f"figures/{RUN}/episode_length.png", caption="../report/episode_length.rst", category="Figures"),
    log:
        f"logs/{RUN}/report/episode_length.log",
    benchmark:
        f"benchmarks/{RUN}/report/episode_length.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: % change in episode length vs eps"
    script:
        "../scripts/figure_episode_length.py"


rule figure_ablation_architecture:
    input:
        summary=f"results/{RUN}/summary.csv",
        victims=f"tables/{RUN}/victims.csv",  # panel titles say where victims fail
    output:
        pdf=f"figures/{RUN}/ablation_architecture.pdf",
        png=report(
            f"figures/{RUN}/ablation_architecture.png",
            caption="../report/ablation_architecture.rst",
            category="Ablations",
        ),
    log:
        f"logs/{RUN}/report/ablation_architecture.log",
    benchmark:
        f"benchmarks/{RUN}/report/ablation_architecture.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: Align per f_theta architecture"
    script:
        "../scripts/figure_ablation_architecture.py"


rule figure_ablation_selection:
    input:
        summary=f"results/{RUN}/summary.csv",
        victims=f"tables/{RUN}/victims.csv",  # panel titles say where victims fail
    output:
        pdf=f"figures/{RUN}/ablation_selection.pdf",
        png=report(
            f"figures/{RUN}/ablation_selection.png", caption="../report/ablation_selection.rst", category="Ablations"
        ),
    log:
        f"logs/{RUN}/report/ablation_selection.log",
    benchmark:
        f"benchmarks/{RUN}/report/ablation_selection.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: f_theta-targeted vs random choice of attacked agents"
    script:
        "../scripts/figure_ablation_selection.py"


rule figure_ablation_samples:
    input:
        summary=f"results/{RUN}/ablations/samples/summary.csv",
    output:
        pdf=f"figures/{RUN}/ablation_samples.pdf",
        png=report(
            f"figures/{RUN}/ablation_samples.png", caption="../report/ablation_samples.rst", category="Ablations"
        ),
    log:
        f"logs/{RUN}/report/ablation_samples.log",
    benchmark:
        f"benchmarks/{RUN}/report/ablation_samples.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: ablation of the number of samples f_theta is fitted on"
    script:
        "../scripts/figure_ablation_samples.py"


rule figure_ablation_pgd_steps:
    input:
        summary=f"results/{RUN}/ablations/pgd_steps/summary.csv",
    output:
        pdf=f"figures/{RUN}/ablation_pgd_steps.pdf",
        png=report(
            f"figures/{RUN}/ablation_pgd_steps.png", caption="../report/ablation_pgd_steps.rst", category="Ablations"
        ),
    log:
        f"logs/{RUN}/report/ablation_pgd_steps.log",
    benchmark:
        f"benchmarks/{RUN}/report/ablation_pgd_steps.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: ablation of the PGD steps K"
    script:
        "../scripts/figure_ablation_pgd_steps.py"


rule figure_ablation_n_attacked:
    input:
        summary=f"results/{RUN}/ablations/n_attacked/summary.csv",
    output:
        pdf=f"figures/{RUN}/ablation_n_attacked.pdf",
        png=report(
            f"figures/{RUN}/ablation_n_attacked.png", caption="../report/ablation_n_attacked.rst", category="Ablations"
        ),
    log:
        f"logs/{RUN}/report/ablation_n_attacked.log",
    benchmark:
        f"benchmarks/{RUN}/report/ablation_n_attacked.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: ablation of the number of attacked agents"
    script:
        "../scripts/figure_ablation_n_attacked.py"


rule table_access_assumptions:
    output:
        report(f"tables/{RUN}/access_assumptions.csv", caption="../report/access_assumptions.rst", category="Tables"),
        f"tables/{RUN}/access_assumptions.md",
        f"tables/{RUN}/access_assumptions.tex",
    log:
        f"logs/{RUN}/report/access_assumptions.log",
    benchmark:
        f"benchmarks/{RUN}/report/access_assumptions.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    message:
        "Table: what each attack needs (this paper's and prior ones)"
    script:
        "../scripts/table_access_assumptions.py"


rule table_claims:
    input:
        rows=victim_paths("results/{run}/eval/{env}/{algo}/seed{seed}.csv", attacked_victims()),
        victims=f"tables/{RUN}/victims.csv",  # pools competent victims apart
    output:
        report(f"tables/{RUN}/claims.csv", caption="../report/claims.rst", category="Claims"),
        f"tables/{RUN}/claims.md",
        f"tables/{RUN}/claims.tex",
        by_eps=report(f"tables/{RUN}/claims_by_eps.csv", caption="../report/claims_by_eps.rst", category="Claims"),
    log:
        f"logs/{RUN}/report/claims.log",
    benchmark:
        f"benchmarks/{RUN}/report/claims.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        eps=config["report"]["drop_eps"],
        report=config["report"],
        base_seed=config["seed"],
    message:
        "Table: the paper's claims on this run (at eps = {params.eps} and over the eps grid)"
    script:
        "../scripts/table_claims.py"


rule export_marl_eval:
    input:
        rows=victim_paths("results/{run}/eval/{env}/{algo}/seed{seed}.csv", attacked_victims()),
    output:
        json=f"results/{RUN}/marl_eval.json",
    log:
        f"logs/{RUN}/report/marl_eval.log",
    benchmark:
        f"benchmarks/{RUN}/report/marl_eval.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    message:
        "Evaluation rows in marl-eval's JSON layout"
    script:
        "../scripts/export_marl_eval.py"
