"""The pipeline's stages, one module each, in the order they run.

Each stage has ``run(params, *, <input files>, <output files>, threads)``, where ``params`` is
the one dict :mod:`marl_attacks.config` builds for that kind of job (the rules pass it as
``params.job``), and ``main(argv)``, its command line (``python -m marl_attacks <stage>``),
which builds the same dict from a config file.

* :mod:`.train`: train a victim (env x algorithm x seed)
* :mod:`.score`: the victim against a uniform-random policy
* :mod:`.collect`: record its benign joint observations
* :mod:`.fit`: fit f_theta on them
* :mod:`.evaluate`: roll it out under every attack x eps x attacked agents
* :mod:`.ablations`: the extra evaluations behind the ablation figures
"""

from __future__ import annotations

import argparse


def victim_parser(doc: str | None) -> argparse.ArgumentParser:
    """A stage's command line with the options every stage shares: the config its parameters are
    built from, the victim (env, algorithm, seed) and the torch threads."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="config/config.yaml", help="the workflow config the job's params come from")
    p.add_argument("--env", required=True)
    p.add_argument(
        "--algo", required=True, help="an algorithm, or its GRU variant <algo>-gru (ablations.victim_memory)"
    )
    p.add_argument("--seed", type=int, required=True, help="victim seed")
    p.add_argument("--threads", type=int, default=None)
    return p
