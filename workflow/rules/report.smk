# Stage 5, the report (marl_attacks.reporting): every output path from marl_attacks.paths, every
# job's params from marl_attacks.config (exactly what the job reads).


rule summarise:
    input:
        rows=each_victim(paths.eval_rows, attacked_victims()),
    output:
        summary=paths.summary(RUN),
    log:
        paths.log(RUN, "report", "summarise"),
    benchmark:
        paths.benchmark(RUN, "report", "summarise")
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        job=mac.summary_params(config),
    message:
        "IQM and bootstrap CIs of every configuration"
    script:
        "../scripts/summarise.py"


rule figure_return_vs_eps:
    input:
        summary=paths.summary(RUN),
        victims=paths.table(RUN, "victims", "csv"),  # panel titles say where victims fail
    output:
        pdf=paths.figure(RUN, "return_vs_eps", "pdf"),
        png=report(paths.figure(RUN, "return_vs_eps", "png"), caption="../report/return_vs_eps.rst", category="Figures"),
    log:
        paths.log(RUN, "report", "return_vs_eps"),
    benchmark:
        paths.benchmark(RUN, "report", "return_vs_eps")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: IQM return vs eps"
    script:
        "../scripts/figure_return_vs_eps.py"


rule table_main_drop:
    input:
        summary=paths.summary(RUN),
    output:
        report(paths.table(RUN, "main_drop", "csv"), caption="../report/main_drop.rst", category="Tables"),
        paths.table(RUN, "main_drop", "md"),
        paths.table(RUN, "main_drop", "tex"),
        expand(paths.table(RUN, "main_drop_fixed_eps", "{ext}"), ext=TABLE_EXTS),
    log:
        paths.log(RUN, "report", "main_drop"),
    benchmark:
        paths.benchmark(RUN, "report", "main_drop")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        job=mac.main_drop_params(config),
    message:
        "Table: % drop in return at each env's eps (report.eps_rule) and at eps = {params.job[eps]}"
    script:
        "../scripts/table_main_drop.py"


rule table_victims:
    input:
        scores=each_victim(paths.score),
    output:
        report(paths.table(RUN, "victims", "csv"), caption="../report/victims.rst", category="Tables"),
        paths.table(RUN, "victims", "md"),
        paths.table(RUN, "victims", "tex"),
    log:
        paths.log(RUN, "report", "victims"),
    benchmark:
        paths.benchmark(RUN, "report", "victims")
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        job=mac.victims_table_params(config),
    message:
        "Table: victims vs a uniform-random policy"
    script:
        "../scripts/table_victims.py"


rule table_attack_cost:
    input:
        costs=each_victim(paths.eval_cost, attacked_victims()),
    output:
        report(paths.table(RUN, "attack_cost", "csv"), caption="../report/attack_cost.rst", category="Tables"),
        paths.table(RUN, "attack_cost", "md"),
        paths.table(RUN, "attack_cost", "tex"),
    log:
        paths.log(RUN, "report", "attack_cost"),
    benchmark:
        paths.benchmark(RUN, "report", "attack_cost")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    message:
        "Table: cost of each attack (samples, fit time, time per attacked step)"
    script:
        "../scripts/table_attack_cost.py"


rule figure_episode_length:
    input:
        summary=paths.summary(RUN),
        victims=paths.table(RUN, "victims", "csv"),  # panel titles say where victims fail
    output:
        pdf=paths.figure(RUN, "episode_length", "pdf"),
        png=report(
            paths.figure(RUN, "episode_length", "png"), caption="../report/episode_length.rst", category="Figures"
        ),
    log:
        paths.log(RUN, "report", "episode_length"),
    benchmark:
        paths.benchmark(RUN, "report", "episode_length")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: % change in episode length vs eps"
    script:
        "../scripts/figure_episode_length.py"


rule figure_win_rate_vs_eps:
    # envs that report wins (SMAX); in the default target only where the config has one
    input:
        summary=paths.summary(RUN),
        victims=paths.table(RUN, "victims", "csv"),  # panel titles say where victims fail
    output:
        pdf=paths.figure(RUN, "win_rate_vs_eps", "pdf"),
        png=report(
            paths.figure(RUN, "win_rate_vs_eps", "png"), caption="../report/win_rate_vs_eps.rst", category="Figures"
        ),
    log:
        paths.log(RUN, "report", "win_rate_vs_eps"),
    benchmark:
        paths.benchmark(RUN, "report", "win_rate_vs_eps")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: win rate vs eps"
    script:
        "../scripts/figure_win_rate_vs_eps.py"


rule figure_ablation_architecture:
    input:
        summary=paths.summary(RUN),
        victims=paths.table(RUN, "victims", "csv"),  # panel titles say where victims fail
    output:
        pdf=paths.figure(RUN, "ablation_architecture", "pdf"),
        png=report(
            paths.figure(RUN, "ablation_architecture", "png"),
            caption="../report/ablation_architecture.rst",
            category="Ablations",
        ),
    log:
        paths.log(RUN, "report", "ablation_architecture"),
    benchmark:
        paths.benchmark(RUN, "report", "ablation_architecture")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: Align per f_theta architecture"
    script:
        "../scripts/figure_ablation_architecture.py"


rule figure_ablation_selection:
    input:
        summary=paths.summary(RUN),
        victims=paths.table(RUN, "victims", "csv"),  # panel titles say where victims fail
    output:
        pdf=paths.figure(RUN, "ablation_selection", "pdf"),
        png=report(
            paths.figure(RUN, "ablation_selection", "png"),
            caption="../report/ablation_selection.rst",
            category="Ablations",
        ),
    log:
        paths.log(RUN, "report", "ablation_selection"),
    benchmark:
        paths.benchmark(RUN, "report", "ablation_selection")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: f_theta-targeted vs random choice of attacked agents"
    script:
        "../scripts/figure_ablation_selection.py"


rule figure_ablation_samples:
    input:
        summary=paths.ablation_summary(RUN, "samples"),
    output:
        pdf=paths.figure(RUN, "ablation_samples", "pdf"),
        png=report(
            paths.figure(RUN, "ablation_samples", "png"),
            caption="../report/ablation_samples.rst",
            category="Ablations",
        ),
    log:
        paths.log(RUN, "report", "ablation_samples"),
    benchmark:
        paths.benchmark(RUN, "report", "ablation_samples")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: ablation of the number of samples f_theta is fitted on"
    script:
        "../scripts/figure_ablation_samples.py"


rule figure_ablation_pgd_steps:
    input:
        summary=paths.ablation_summary(RUN, "pgd_steps"),
    output:
        pdf=paths.figure(RUN, "ablation_pgd_steps", "pdf"),
        png=report(
            paths.figure(RUN, "ablation_pgd_steps", "png"),
            caption="../report/ablation_pgd_steps.rst",
            category="Ablations",
        ),
    log:
        paths.log(RUN, "report", "ablation_pgd_steps"),
    benchmark:
        paths.benchmark(RUN, "report", "ablation_pgd_steps")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: ablation of the PGD steps K"
    script:
        "../scripts/figure_ablation_pgd_steps.py"


rule figure_ablation_n_attacked:
    input:
        summary=paths.ablation_summary(RUN, "n_attacked"),
    output:
        pdf=paths.figure(RUN, "ablation_n_attacked", "pdf"),
        png=report(
            paths.figure(RUN, "ablation_n_attacked", "png"),
            caption="../report/ablation_n_attacked.rst",
            category="Ablations",
        ),
    log:
        paths.log(RUN, "report", "ablation_n_attacked"),
    benchmark:
        paths.benchmark(RUN, "report", "ablation_n_attacked")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: ablation of the number of attacked agents"
    script:
        "../scripts/figure_ablation_n_attacked.py"


rule figure_ablation_victim_memory:
    input:
        summary=paths.ablation_summary(RUN, "victim_memory"),
    output:
        pdf=paths.figure(RUN, "ablation_victim_memory", "pdf"),
        png=report(
            paths.figure(RUN, "ablation_victim_memory", "png"),
            caption="../report/ablation_victim_memory.rst",
            category="Ablations",
        ),
    log:
        paths.log(RUN, "report", "ablation_victim_memory"),
    benchmark:
        paths.benchmark(RUN, "report", "ablation_victim_memory")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    message:
        "Figure: feed-forward vs GRU victims under the same attacks"
    script:
        "../scripts/figure_ablation_victim_memory.py"


rule table_access_assumptions:
    output:
        report(
            paths.table(RUN, "access_assumptions", "csv"),
            caption="../report/access_assumptions.rst",
            category="Tables",
        ),
        paths.table(RUN, "access_assumptions", "md"),
        paths.table(RUN, "access_assumptions", "tex"),
    log:
        paths.log(RUN, "report", "access_assumptions"),
    benchmark:
        paths.benchmark(RUN, "report", "access_assumptions")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    message:
        "Table: what each attack needs (this paper's and prior ones)"
    script:
        "../scripts/table_access_assumptions.py"


rule table_claims:
    input:
        rows=each_victim(paths.eval_rows, attacked_victims()),
        victims=paths.table(RUN, "victims", "csv"),  # pools competent victims apart
        summary=paths.summary(RUN),  # the eps rule reads the white-box curve there
    output:
        report(paths.table(RUN, "claims", "csv"), caption="../report/claims.rst", category="Claims"),
        paths.table(RUN, "claims", "md"),
        paths.table(RUN, "claims", "tex"),
        expand(paths.table(RUN, "claims_fixed_eps", "{ext}"), ext=TABLE_EXTS),
        by_eps=report(
            paths.table(RUN, "claims_by_eps", "csv"), caption="../report/claims_by_eps.rst", category="Claims"
        ),
    log:
        paths.log(RUN, "report", "claims"),
    benchmark:
        paths.benchmark(RUN, "report", "claims")
    priority: MAIN_CHAIN
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        job=mac.claims_params(config),
    message:
        "Table: the paper's claims on this run (at each env's eps, at eps = {params.job[eps]} and over the eps grid)"
    script:
        "../scripts/table_claims.py"


rule export_marl_eval:
    input:
        rows=each_victim(paths.eval_rows, attacked_victims()),
    output:
        json=paths.marl_eval(RUN),
    log:
        paths.log(RUN, "report", "marl_eval"),
    benchmark:
        paths.benchmark(RUN, "report", "marl_eval")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    message:
        "Evaluation rows in marl-eval's JSON layout"
    script:
        "../scripts/export_marl_eval.py"
