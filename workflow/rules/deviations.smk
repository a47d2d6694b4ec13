# The deviations table (tables/{run}/deviations.*, config block deviations:): the claims under each
# protocol choice's two values on a few victims. Each job runs with that one choice flipped
# (marl_attacks.config.deviations); the input functions (common.smk) take the main run's samples and
# f_theta wherever the flip leaves them as they are, and the table the main rows of what it does not rerun.


rule collect_samples_deviation:
    input:
        policy=policy_input,
    output:
        samples=paths.deviation_samples(RUN),
    log:
        paths.log(RUN, "collect_samples_deviation", f"{{choice}}/{VICTIM}"),
    benchmark:
        paths.benchmark(RUN, "collect_samples_deviation", f"{{choice}}/{VICTIM}")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        job=job(mac.deviation_collect_params, "choice"),
    message:
        "Recording joint observations of {wildcards.algo} on {wildcards.env} (seed {wildcards.seed}), protocol.{wildcards.choice} flipped"
    script:
        "../scripts/collect_samples.py"


rule fit_align_deviation:
    input:
        samples=deviation_samples_input,
    output:
        model=paths.deviation_align(RUN),
    log:
        paths.log(RUN, "fit_align_deviation", f"{{choice}}/{VICTIM}_{{arch}}"),
    benchmark:
        paths.benchmark(RUN, "fit_align_deviation", f"{{choice}}/{VICTIM}_{{arch}}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        job=lambda w: mac.deviation_fit_params(config, w.choice, w.env, w.algo, w.seed, w.arch),
    message:
        "Fitting f_theta ({wildcards.arch}) of {wildcards.algo} on {wildcards.env}, protocol.{wildcards.choice} flipped"
    script:
        "../scripts/fit_align.py"


rule evaluate_deviation:
    input:
        unpack(lambda w: {"policy": policy_input(w), **deviation_align_inputs(w)}),
    output:
        rows=paths.deviation_rows(RUN),
        cost=paths.deviation_cost(RUN),
    log:
        paths.log(RUN, "evaluate_deviation", f"{{choice}}/{VICTIM}"),
    benchmark:
        paths.benchmark(RUN, "evaluate_deviation", f"{{choice}}/{VICTIM}")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        job=job(mac.deviation_eval_params, "choice"),
    message:
        "Evaluating {wildcards.algo} on {wildcards.env} (seed {wildcards.seed}) under what protocol.{wildcards.choice}, flipped, changes"
    script:
        "../scripts/evaluate_attacks.py"


rule table_deviations:
    input:
        unpack(deviation_table_inputs),
    output:
        report(paths.table(RUN, "deviations", "csv"), caption="../report/deviations.rst", category="Claims"),
        paths.table(RUN, "deviations", "md"),
        paths.table(RUN, "deviations", "tex"),
    log:
        paths.log(RUN, "report", "deviations"),
    benchmark:
        paths.benchmark(RUN, "report", "deviations")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        job=mac.deviations_table_params(config),
    message:
        "Table: the claims under the authors' value and ours of each protocol choice"
    script:
        "../scripts/table_deviations.py"
