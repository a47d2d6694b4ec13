"""Stage 5, the report: summary statistics, tables, claims, figures and the marl-eval export of a run.

Each output is its own entry point, so Snakemake can rebuild one file alone. Modules:

* :mod:`.stats` -- IQM, stratified and paired bootstrap CIs (as rliable), and the pairing of
  evaluation rows (``layout``, ``aligned``, ``bootstrap_seed``) shared by summary and claims
* :mod:`.summary` -- ``summarise``: ``results/{run}/summary.csv`` and each ablation's summary
* :mod:`.tables` -- ``tables/{run}/``: main_drop, victims, attack_cost, access_assumptions
  (CSV, Markdown, LaTeX), and ``competence`` (which victims pass their threshold)
* :mod:`.eps_rule` -- the eps each env is reported at (``report.eps_rule``), from the summary
* :mod:`.claims` -- the paper's claims tested on the run: ``tables/{run}/claims.*`` (each env at its eps),
  ``claims_fixed_eps.*``, ``claims_by_eps.csv``
* :mod:`.deviations` -- ``tables/{run}/deviations.*``: the claims under each protocol choice's two values
* :mod:`.plotting` -- drawing helpers shared by the figures (styles, grid, legend, saving)
* :mod:`.figures` -- ``figures/{run}/``: return_vs_eps, episode_length; ``FIGURES`` and ``draw_figure``
* :mod:`.ablation_figures` -- ``figures/{run}/ablation_*``: architecture, selection, samples, pgd_steps,
  n_attacked
* :mod:`.export` -- ``results/{run}/marl_eval.json`` (marl-eval's raw-data layout)
* :mod:`.runrecord` -- ``run.json`` and ``RUN.md`` beside a finished run's figures and tables
* :mod:`.cli` -- the command line, ``python -m marl_attacks report ...`` (or ``python -m marl_attacks.reporting``)

Every fact about an attack (label, style, figure groups, access row, targeted pairs, table order)
comes from the attack registry (:mod:`marl_attacks.attacks`), every env name from the env registry
(:mod:`marl_attacks.envs`). Imports point one way: stats <- summary <- eps_rule <- tables <- claims <-
deviations, export; plotting <- ablation_figures <- figures (which also reads tables); cli reads them all.
"""
