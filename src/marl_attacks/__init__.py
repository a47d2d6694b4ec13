"""Constrained black-box observation attacks on cooperative multi-agent RL.

Reproduction of Andam, Bentahar and Hedabou, "Constrained Black-Box Attacks
Against (Cooperative) Multi-Agent Reinforcement Learning" (arXiv 2508.09275).
The package holds all logic; the Snakemake workflow only wires stages together.

* the library: ``envs`` (batched env adapters), ``algos`` (victim learners),
  ``attacks``, ``alignment`` (f_theta), ``rollout`` (the one episode loop), each
  with its registry; ``io``, ``lineage`` (provenance), ``paths``, ``config``
* ``stages``: train -> collect -> fit -> evaluate (+ score, ablations), one module each
* ``reporting``: statistics, tables, claims, figures, exports
* ``team``: attack your own team (PettingZoo / VMAS wrappers)
"""

__version__ = "0.1.0"
