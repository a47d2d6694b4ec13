rule fit_align:
    input:
        samples=f"results/{RUN}/samples/{VICTIM}/samples.pt",
    output:
        model=f"results/{RUN}/align/{VICTIM}/{{arch}}.pt",
    log:
        f"logs/{RUN}/fit_align/{VICTIM}_{{arch}}.log",
    benchmark:
        f"benchmarks/{RUN}/fit_align/{VICTIM}_{{arch}}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        victim=victim_id,
        expect_samples=expect("samples"),
        fit=lambda w: mac.fit_params(config, w.arch),
        base_seed=config["seed"],
        device=config["device"],
    message:
        "Fitting f_theta ({wildcards.arch}) on samples of {wildcards.algo} on {wildcards.env}"
    script:
        "../scripts/fit_align.py"
