rule collect_samples:
    input:
        policy=policy_input,
    output:
        samples=paths.samples(RUN),
    log:
        paths.log(RUN, "collect_samples", VICTIM),
    benchmark:
        paths.benchmark(RUN, "collect_samples", VICTIM)
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        job=job(mac.collect_params),
    message:
        "Recording benign joint observations of {wildcards.algo} on {wildcards.env} (seed {wildcards.seed})"
    script:
        "../scripts/collect_samples.py"
