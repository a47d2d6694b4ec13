rule collect_samples:
    input:
        policy=policy_input,
    output:
        samples=f"results/{RUN}/samples/{VICTIM}/samples.pt",
    log:
        f"logs/{RUN}/collect_samples/{VICTIM}.log",
    benchmark:
        f"benchmarks/{RUN}/collect_samples/{VICTIM}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        env=lambda w: mac.env_params(config, w.env),
        victim=victim_id,
        expect_policy=expect("policy"),
        victim_actions=lambda w: mac.victim_actions(config, w.env),
        n_samples=config["collect"]["n_samples"],
        num_envs=config["collect"]["num_envs"],
        base_seed=config["seed"],
        device=config["device"],
    message:
        "Recording {params.n_samples} benign joint observations of {wildcards.algo} on {wildcards.env}"
    script:
        "../scripts/collect_samples.py"
