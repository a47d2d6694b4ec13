"""Constrained black-box observation attacks on cooperative multi-agent RL.

Reproduction of Andam, Bentahar and Hedabou, "Constrained Black-Box Attacks
Against (Cooperative) Multi-Agent Reinforcement Learning" (arXiv 2508.09275).
The package holds all logic; the Snakemake workflow only wires stages together:

    train    -> marl_attacks.train      (victim policies)
    collect  -> marl_attacks.collect    (benign joint-observation samples)
    fit      -> marl_attacks.fit        (alignment models f_theta)
    evaluate -> marl_attacks.evaluate   (victims under every attack)
    report   -> marl_attacks.reporting  (summary, figures, tables, claims)
"""

__version__ = "0.1.0"
