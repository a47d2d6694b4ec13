# Extra evaluations behind the ablation figures (config block ablations:); the architecture and
# agent-selection ablations reuse the main evaluation (report.smk).


rule fit_align_n:
    input:
        samples=f"results/{RUN}/samples/{VICTIM}/samples.pt",
    output:
        model=f"results/{RUN}/align/{VICTIM}/{{arch}}_n{{nsamples}}.pt",
    log:
        f"logs/{RUN}/fit_align_n/{VICTIM}_{{arch}}_n{{nsamples}}.log",
    benchmark:
        f"benchmarks/{RUN}/fit_align_n/{VICTIM}_{{arch}}_n{{nsamples}}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        victim=victim_id,
        expect_samples=expect("samples"),
        fit=lambda w: mac.ablation_fit_params(config, w.arch, w.nsamples),
        base_seed=config["seed"],
        device=config["device"],
    message:
        "Fitting f_theta ({wildcards.arch}) on {wildcards.nsamples} samples of {wildcards.algo} on {wildcards.env}"
    script:
        "../scripts/fit_align_n.py"


rule evaluate_ablation:
    input:
        unpack(lambda w: {"policy": policy_input(w), **ablation_align_inputs(w)}),
    output:
        rows=f"results/{RUN}/ablations/{{ablation}}/{VICTIM}.csv",
    log:
        f"logs/{RUN}/evaluate_ablation/{{ablation}}/{VICTIM}.log",
    benchmark:
        f"benchmarks/{RUN}/evaluate_ablation/{{ablation}}/{VICTIM}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        env=lambda w: mac.env_params(config, w.env),
        victim=victim_id,
        expect_policy=expect("policy"),
        expect_align=lambda w: lineage.expected_ablation(config, w.ablation, w.env, w.algo, int(w.seed)),
        block=lambda w: mac.ablation_params(config, w.ablation),
        victim_actions=lambda w: mac.victim_actions(config, w.env),
        attacks=mac.attack_params(config),
        base_seed=config["seed"],
        device=config["device"],
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
    conda:
        "../../environment.yml"
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
