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
}
PRESETS = ("authors", "ours")

#: key -> value -> attack -> hyperparameters the value sets
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
        for attack, settings in _SETTINGS[key][value].items():
            out.setdefault(attack, {}).update(settings)
    return out


def governed_fields() -> dict[str, dict[str, str]]:
    """attack -> hyperparameter -> the protocol key that sets it (the attack's block may not)."""
    out: dict[str, dict[str, str]] = {}
    for key, values in _SETTINGS.items():
        for settings in values.values():
            for attack, fields in settings.items():
                out.setdefault(attack, {}).update({f: key for f in fields})
    return out
