# Extra evaluations behind the ablation figures (config block ablations:); the architecture and
# agent-selection ablations reuse the main evaluation (report.smk).


rule fit_align_n:
    input:
        samples=paths.samples(RUN),
    output:
        model=paths.align_model(RUN, "{arch}", "{nsamples}"),
    log:
        paths.log(RUN, "fit_align_n", f"{VICTIM}_{{arch}}_n{{nsamples}}"),
    benchmark:
        paths.benchmark(RUN, "fit_align_n", f"{VICTIM}_{{arch}}_n{{nsamples}}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        job=lambda w: mac.fit_params(config, w.env, w.algo, w.seed, w.arch, w.nsamples),
    message:
        "Fitting f_theta ({wildcards.arch}) on {wildcards.nsamples} samples of {wildcards.algo} on {wildcards.env}"
    script:
        "../scripts/fit_align_n.py"


rule evaluate_ablation:
    input:
        unpack(lambda w: {"policy": policy_input(w), **ablation_align_inputs(w)}),
    output:
        rows=paths.ablation_rows(RUN),
    log:
        paths.log(RUN, "evaluate_ablation", f"{{ablation}}/{VICTIM}"),
    benchmark:
        paths.benchmark(RUN, "evaluate_ablation", f"{{ablation}}/{VICTIM}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        job=job(mac.ablation_params, "ablation"),
    message:
        "Ablation {wildcards.ablation}: {wildcards.algo} on {wildcards.env} (seed {wildcards.seed})"
    script:
        "../scripts/evaluate_ablation.py"


rule summarise_ablation:
    input:
        rows=ablation_rows,
    output:
        summary=f"results/{RUN}/ablations/{{ablation}}/summary.csv",
    log:
        f"logs/{RUN}/report/summarise_ablation_{{ablation}}.log",
    benchmark:
        f"benchmarks/{RUN}/report/summarise_ablation_{{ablation}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        job=mac.summary_params(config),
    message:
        "IQM and bootstrap CIs of ablation {wildcards.ablation}"
    script:
        "../scripts/summarise_ablation.py"
