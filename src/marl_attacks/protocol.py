"""The experiment's protocol: where the authors' code and this reproduction choose differently.

Each choice is one key of the config's ``protocol`` block with two values: ``authors`` (what their
code, github AmineAndam04/black-box-marl at 8748e4d, does) and ours, under a name that says what it
is. ``protocol: authors`` or ``protocol: ours`` sets every key at once; a mapping sets keys one by
one (the others stay ours). A choice reaches the jobs as the hyperparameters it sets
(:func:`attack_settings`), so changing it reruns exactly the jobs that use those attacks, and the
attack's own config block cannot set them too (one place per choice).

Choices so far (the authors' file each one follows):

* ``noise`` (``src/attack/noise.py``): ``authors``: one-sided exponential noise, and OU noise with
  their per-eps (theta, sigma) table applied as their code applies it (columns swapped, raw units);
  ``symmetric-relative`` (ours): exponential noise with a random sign, OU with ``theta`` and
  ``sigma`` (x eps) from ``attacks.noise-ou``.
* ``hadamard`` (``src/attack/align.py``, ``partial_hadamard_approx``): ``authors``: the matrix's
  order from the victim's input width (observation + agent-ID one-hot), ID dims zeroed after;
  ``observation-width`` (ours): the order from the observation's width.
* ``white_box`` (``src/attack/whitebox.py``): ``authors``: minus the maximum of the masked softmax
  probabilities or Q-values (unavailable actions filled with 0); ``greedy-action`` (ours): minus the
  log-probability or Q-value of the clean greedy action.
* ``targeting`` (``src/attack/align.py``, the ``to_attack`` branches): ``authors``: at every step the
  m agents whose current f_theta error on the clean joint observation is lowest (``topk``, smallest)
  are attacked, Targeted Hadamard choosing with the RNN f_theta; attacked agents chosen at random are
  redrawn at every step (their Hadamard's ``np.random.choice``, the baseline of Targeted Hadamard;
  their other attacks hit ``infected_idx``, drawn per episode, and their Align with m < n always
  targets, so here every attack on random agents redraws them per step); ``validation-mse`` (ours):
  the m agents of lowest validation MSE, fixed for the evaluation; random agents fixed per episode.
* ``f_theta`` (``src/attack/utils.py``, ``trainer.py``): ``authors``: one network shared by every
  agent, its input the teammates' built inputs (observation + agent-ID one-hot) in agent order, its
  target the agent's own built input, no standardisation, trained on (step, agent) pairs
  (:mod:`marl_attacks.alignment.authors`); ``per-agent`` (ours): one standardised regressor per agent
  on the teammates' observations.
* ``victim_actions`` (EPyMARL's ``src/config/algs/*.yaml`` and ``components/action_selectors.py``, which
  their code runs): ``authors``: per algorithm, MAPPO/IPPO sample their policy (``soft_policies``
  ignores ``test_greedy``), QMIX/VDN act greedily (``evaluation_epsilon: 0``), on every env
  (``AlgoEntry.epymarl_actions``); ``per-env`` (ours): ``envs.<env>.victim_actions``. It sets how the
  victim acts in every rollout (:func:`marl_attacks.config.victim_actions`), not an attack.

A choice sets attack hyperparameters (:func:`attack_settings`) and, where it needs to, f_theta's
settings (:func:`fit_settings`), the evaluation's (:func:`evaluate_settings`) or which f_theta an
attack uses (:func:`align_archs`); each only where it differs from ours, so ours leaves every job's
params as they were.

Reported both ways (:data:`BOTH_WAYS`), not chosen: ``eps``, the budget each env is reported at.
"""

from __future__ import annotations

#: key -> value -> what it means; the first value is the authors', the second ours
CHOICES: dict[str, dict[str, str]] = {
    "noise": {
        "authors": "one-sided exponential noise; OU with the authors' per-eps table, as their code applies it",
        "symmetric-relative": "exponential noise with a random sign; OU with theta, sigma x eps from the config",
    },
    "hadamard": {
        "authors": "Hadamard order from the victim's input width (observation + agent IDs), ID dims zeroed",
        "observation-width": "Hadamard order from the observation's width",
    },
    "white_box": {
        "authors": "minus the max of the masked softmax probabilities or Q-values (unavailable ones 0)",
        "greedy-action": "minus the log-probability or Q-value of the clean greedy action",
    },
    "targeting": {
        "authors": "per step: the m agents of lowest current f_theta error (Targeted Hadamard: RNN f_theta); "
        "random agents redrawn every step",
        "validation-mse": "the m agents of lowest validation MSE, fixed; random agents fixed per episode",
    },
    "f_theta": {
        "authors": "one network shared by the agents on built inputs (observation + agent ID), not standardised",
        "per-agent": "one standardised regressor per agent on the teammates' observations",
    },
    "victim_actions": {
        "authors": "per algorithm as EPyMARL: MAPPO/IPPO sample their policy, QMIX/VDN act greedily",
        "per-env": "as envs.<env>.victim_actions says (default greedy)",
    },
}
PRESETS = ("authors", "ours")

#: key -> value -> attack -> hyperparameters the value sets (choices that set no attack are absent)
_SETTINGS: dict[str, dict[str, dict[str, dict]]] = {
    "noise": {
        "authors": {"noise-exponential": {"sides": "positive"}, "noise-ou": {"table": "authors"}},
        "symmetric-relative": {"noise-exponential": {"sides": "both"}, "noise-ou": {"table": "relative"}},
    },
    "hadamard": {
        "authors": {"hadamard": {"width": "victim-input"}, "targeted-hadamard": {"width": "victim-input"}},
        "observation-width": {"hadamard": {"width": "observation"}, "targeted-hadamard": {"width": "observation"}},
    },
    "white_box": {
        "authors": {"white-box-fgsm": {"loss": "authors-max"}, "white-box-pgd": {"loss": "authors-max"}},
        "greedy-action": {"white-box-fgsm": {"loss": "greedy-action"}, "white-box-pgd": {"loss": "greedy-action"}},
    },
    "targeting": {
        "authors": {"targeted-align": {"targets": "per-step"}, "targeted-hadamard": {"targets": "per-step"}},
        "validation-mse": {
            "targeted-align": {"targets": "validation-mse"},
            "targeted-hadamard": {"targets": "validation-mse"},
        },
    },
    "f_theta": {"authors": {}, "per-agent": {}},
}

#: key -> value -> FitConfig fields the value sets for every f_theta architecture
_FIT_SETTINGS: dict[str, dict[str, dict]] = {
    "f_theta": {"authors": {"form": "authors"}, "per-agent": {"form": "per-agent"}},
}

#: key -> value -> settings of the evaluation grid (``evaluate`` and the ablations' blocks)
_EVALUATE_SETTINGS: dict[str, dict[str, dict]] = {
    "targeting": {"authors": {"random_targets": "per-step"}, "validation-mse": {"random_targets": "per-episode"}},
}

#: key -> value -> attack -> the f_theta architecture it uses instead of its registry entry's
_ALIGN_ARCHS: dict[str, dict[str, dict[str, str]]] = {
    "targeting": {"authors": {"targeted-hadamard": "rnn"}},
}

#: choices written both ways in every run instead of set by ``protocol`` (key -> value -> meaning; the
#: authors' first): the eps each env is reported at costs no evaluation, so ``main_drop``/``claims``
#: show the authors' way (``report.eps_rule``) and ``main_drop_fixed_eps``/``claims_fixed_eps`` ours
BOTH_WAYS: dict[str, dict[str, str]] = {
    "eps": {
        "authors": "each env at the smallest grid eps where report.eps_rule's attack lowers the IQM return enough",
        "fixed": "every env at report.drop_eps",
    },
}


def ours(key: str) -> str:
    return list(CHOICES[key])[1]


def resolve(block) -> dict[str, str]:
    """Every key's value from the config's ``protocol`` block (absent: ours everywhere). Raises
    ``ValueError`` naming the key and the allowed values."""
    if block is None or block == "ours":
        return {key: ours(key) for key in CHOICES}
    if block == "authors":
        return {key: "authors" for key in CHOICES}
    if isinstance(block, str):
        raise ValueError(f"config key 'protocol': {block!r} is not allowed; allowed: {list(PRESETS)} or a mapping")
    out = {key: ours(key) for key in CHOICES}
    for key, value in block.items():
        if key not in CHOICES:
            raise ValueError(f"config key 'protocol.{key}': unknown choice; allowed: {list(CHOICES)}")
        if value not in CHOICES[key]:
            raise ValueError(f"config key 'protocol.{key}': {value!r} is not allowed; allowed: {list(CHOICES[key])}")
        out[key] = value
    return out


def attack_settings(block) -> dict[str, dict]:
    """attack -> the hyperparameters the protocol sets for it. Ours sets nothing (the attacks'
    defaults are ours), so a config without a protocol block gives the jobs the params it always did."""
    out: dict[str, dict] = {}
    for key, value in resolve(block).items():
        if value == ours(key):
            continue
        for attack, settings in _SETTINGS.get(key, {}).get(value, {}).items():  # victim_actions: no attack
            out.setdefault(attack, {}).update(settings)
    return out


def _departures(block, table: dict) -> dict:
    """The settings of ``table`` (key -> value -> settings) that the protocol's values other than
    ours choose, merged."""
    out: dict = {}
    for key, value in resolve(block).items():
        if key in table and value != ours(key):
            out.update(table[key].get(value, {}))
    return out


def fit_settings(block) -> dict:
    """FitConfig fields the protocol sets for every f_theta (ours: none)."""
    return _departures(block, _FIT_SETTINGS)


def evaluate_settings(block) -> dict:
    """Settings the protocol adds to the evaluation grids (ours: none)."""
    return _departures(block, _EVALUATE_SETTINGS)


def align_archs(block) -> dict[str, str]:
    """attack -> the f_theta architecture the protocol gives it instead of its registry entry's."""
    return _departures(block, _ALIGN_ARCHS)


def governed_fields() -> dict[str, dict[str, str]]:
    """attack -> hyperparameter -> the protocol key that sets it (the attack's block may not)."""
    out: dict[str, dict[str, str]] = {}
    for key, values in _SETTINGS.items():
        for settings in values.values():
            for attack, fields in settings.items():
                out.setdefault(attack, {}).update({f: key for f in fields})
    return out
