rule train_victim:
    output:
        policy=f"results/{RUN}/victims/{VICTIM}/policy.pt",
        curve=f"results/{RUN}/victims/{VICTIM}/curve.csv",
    log:
        f"logs/{RUN}/train_victim/{VICTIM}.log",
    benchmark:
        f"benchmarks/{RUN}/train_victim/{VICTIM}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        env=lambda w: mac.env_params(config, w.env),
        algo_cfg=lambda w: mac.algo_params(config, w.env, w.algo),
        base_seed=config["seed"],
        device=config["device"],
    message:
        "Training {wildcards.algo} on {wildcards.env} (seed {wildcards.seed})"
    script:
        "../scripts/train_victim.py"
