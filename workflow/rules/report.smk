rule summarise:
    message:
        "IQM and bootstrap CIs of every configuration"
    input:
        rows=victim_paths("results/{run}/eval/{env}/{algo}/seed{seed}.csv"),
    output:
        summary=f"results/{RUN}/summary.csv",
    params:
        report=config["report"],
        base_seed=config["seed"],
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
    script:
        "../scripts/summarise.py"


rule figure_return_vs_eps:
    message:
        "Figure: IQM return vs eps"
    input:
        summary=f"results/{RUN}/summary.csv",
    output:
        pdf=f"figures/{RUN}/return_vs_eps.pdf",
        png=f"figures/{RUN}/return_vs_eps.png",
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
    script:
        "../scripts/figure_return_vs_eps.py"


rule table_main_drop:
    message:
        "Table: % drop in return at eps = {params.eps}"
    input:
        summary=f"results/{RUN}/summary.csv",
    output:
        multiext(f"tables/{RUN}/main_drop", ".csv", ".md", ".tex"),
    params:
        eps=config["report"]["drop_eps"],
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
    script:
        "../scripts/table_main_drop.py"


rule table_victims:
    message:
        "Table: victims vs a uniform-random policy"
    input:
        scores=victim_paths("results/{run}/victims/{env}/{algo}/seed{seed}/score.json"),
    output:
        multiext(f"tables/{RUN}/victims", ".csv", ".md", ".tex"),
    params:
        thresholds=mac.thresholds(config),
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
    script:
        "../scripts/table_victims.py"


rule table_attack_cost:
    message:
        "Table: cost of each attack (samples, fit time, time per attacked step)"
    input:
        costs=victim_paths("results/{run}/eval/{env}/{algo}/seed{seed}.cost.csv"),
    output:
        multiext(f"tables/{RUN}/attack_cost", ".csv", ".md", ".tex"),
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
    script:
        "../scripts/table_attack_cost.py"
