rule evaluate_attacks:
    input:
        unpack(lambda w: {"policy": policy_input(w), **{f"align_{k}": v for k, v in align_inputs(w).items()}}),
    output:
        rows=f"results/{RUN}/eval/{VICTIM}.csv",
        cost=f"results/{RUN}/eval/{VICTIM}.cost.csv",
    log:
        f"logs/{RUN}/evaluate_attacks/{VICTIM}.log",
    benchmark:
        f"benchmarks/{RUN}/evaluate_attacks/{VICTIM}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        env=lambda w: mac.env_params(config, w.env),
        victim=victim_id,
        expect_policy=expect("policy"),
        expect_align=expect("align"),
        victim_actions=lambda w: mac.victim_actions(config, w.env),
        evaluate=lambda w: mac.eval_params(config, w.env),
        attacks=mac.attack_params(config),
        base_seed=config["seed"],
        device=config["device"],
    message:
        "Evaluating {wildcards.algo} on {wildcards.env} (seed {wildcards.seed}) under every attack"
    script:
        "../scripts/evaluate_attacks.py"


rule score_victim:
    input:
        policy=policy_input,
    output:
        score=f"results/{RUN}/victims/{VICTIM}/score.json",
    log:
        f"logs/{RUN}/score_victim/{VICTIM}.log",
    benchmark:
        f"benchmarks/{RUN}/score_victim/{VICTIM}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        env=lambda w: mac.env_params(config, w.env),
        victim=victim_id,
        expect_policy=expect("policy"),
        episodes=lambda w: mac.eval_params(config, w.env)["episodes"],
        victim_actions=lambda w: mac.victim_actions(config, w.env),
        base_seed=config["seed"],
        device=config["device"],
    message:
        "Scoring {wildcards.algo} on {wildcards.env} (seed {wildcards.seed}) against a random policy"
    script:
        "../scripts/score_victim.py"
