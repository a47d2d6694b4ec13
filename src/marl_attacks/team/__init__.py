"""Attack your own team: any registered attack on the observations your agents receive.

* :mod:`.wrappers`: :class:`AttackedParallelEnv` (PettingZoo ``ParallelEnv``) and
  :class:`AttackedVmasEnv` (VMAS ``Environment``) perturb what ``reset``/``step`` return, with
  :class:`TeamAttacker` (:mod:`.attacker`) behind them.
* :mod:`.adapters`: the same envs as the package's batched env, for
  :func:`marl_attacks.rollout.run_episodes` (:class:`ParallelEnvAdapter`, :class:`VmasEnvAdapter`).
* :mod:`.cli`: ``python -m marl_attacks attack --help``.

Example: ``examples/attack_pettingzoo.py``.
"""

from .adapters import ParallelEnvAdapter, VmasEnvAdapter
from .attacker import TeamAttacker, spec_from_spaces
from .wrappers import AttackedParallelEnv, AttackedVmasEnv

__all__ = [
    "AttackedParallelEnv",
    "AttackedVmasEnv",
    "ParallelEnvAdapter",
    "TeamAttacker",
    "VmasEnvAdapter",
    "spec_from_spaces",
]
