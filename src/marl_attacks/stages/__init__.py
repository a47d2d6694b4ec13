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
