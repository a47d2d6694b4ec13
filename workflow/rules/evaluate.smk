rule evaluate_attacks:
    input:
        unpack(lambda w: {"policy": policy_input(w), **align_inputs(w)}),
    output:
        rows=paths.eval_rows(RUN),
        cost=paths.eval_cost(RUN),
    log:
        paths.log(RUN, "evaluate_attacks", VICTIM),
    benchmark:
        paths.benchmark(RUN, "evaluate_attacks", VICTIM)
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        job=job(mac.evaluate_params),
    message:
        "Evaluating {wildcards.algo} on {wildcards.env} (seed {wildcards.seed}) under every attack"
    script:
        "../scripts/evaluate_attacks.py"


rule score_victim:
    input:
        policy=policy_input,
    output:
        score=paths.score(RUN),
    log:
        paths.log(RUN, "score_victim", VICTIM),
    benchmark:
        paths.benchmark(RUN, "score_victim", VICTIM)
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        job=job(mac.score_params),
    message:
        "Scoring {wildcards.algo} on {wildcards.env} (seed {wildcards.seed}) against a random policy"
    script:
        "../scripts/score_victim.py"
