rule fit_align:
    input:
        samples=paths.samples(RUN),
    output:
        model=paths.align_model(RUN),
    log:
        paths.log(RUN, "fit_align", f"{VICTIM}_{{arch}}"),
    benchmark:
        paths.benchmark(RUN, "fit_align", f"{VICTIM}_{{arch}}")
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        job=lambda w: mac.fit_params(config, w.env, w.algo, w.seed, w.arch),
    message:
        "Fitting f_theta ({wildcards.arch}) on samples of {wildcards.algo} on {wildcards.env}"
    script:
        "../scripts/fit_align.py"
