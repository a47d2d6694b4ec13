rule train_victim:
    output:
        policy=paths.policy(paths.victims_root(RUN)),
        curve=paths.curve(paths.victims_root(RUN)),
    log:
        paths.log(RUN, "train_victim", VICTIM),
    benchmark:
        paths.benchmark(RUN, "train_victim", VICTIM)
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        job=job(mac.train_params),
    message:
        "Training {wildcards.algo} on {wildcards.env} (seed {wildcards.seed})"
    script:
        "../scripts/train_victim.py"
