"""``tables/{run}/deviations.*``: the paper's claims under the authors' value of each protocol choice
and under ours, one row per choice, on the victims of ``deviations.victims``.

The main evaluation stands for the config's value of every choice (:mod:`marl_attacks.protocol`);
for each choice the workflow evaluates those victims with that one choice flipped, rerunning only
the attacks the flip changes (:mod:`marl_attacks.config.deviations`), so the flipped side is the
main rows with those attacks' rows replaced (:func:`flipped_rows`). Both sides run the same episodes
with the same seeds (with ``deviations.episodes`` below the main evaluation's, in other batches: random
attacks draw other numbers there). Each cell is a claim's difference in % drop (attack minus baseline, pp) with
its 95% paired stratified bootstrap CI, pooled over the victims as the claims table's "all envs
(mean)" row (:mod:`.claims`), each env at the eps ``report.eps_rule`` picks on that side's own
white-box rows. The ``eps`` row (reported both ways, :data:`~marl_attacks.protocol.BOTH_WAYS`)
compares that view with every env at ``report.drop_eps``, on the main rows alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..envs import env_label
from ..protocol import BOTH_WAYS, CHOICES
from .claims import CLAIMS, OVERALL, claim_items, pool
from .eps_rule import eps_by_env, eps_label, rule_summary
from .summary import load_eval
from .tables import fmt_ci, write_table

KEYS = ["env", "algo", "seed", "attack"]


def flipped_rows(main: pd.DataFrame, rerun: pd.DataFrame | None, attacks: list[str]) -> pd.DataFrame:
    """The rows of ``attacks`` under the flipped choice: ``rerun`` (what the flipped evaluation ran, per
    victim) in place of the main rows of the same victim and attack, the main rows elsewhere."""
    main = main[main.attack.isin(attacks)]
    if rerun is None or rerun.empty:
        return main.reset_index(drop=True)
    replaced = main.merge(rerun[KEYS].drop_duplicates(), on=KEYS, how="left", indicator=True)._merge == "both"
    return pd.concat([main[~replaced.to_numpy()], rerun[rerun.attack.isin(attacks)]], ignore_index=True)


def _claim_key(claim) -> str:
    return f"{claim.attack}_vs_{claim.baseline}"


def side(rows: pd.DataFrame, params: dict, fixed: bool = False) -> dict:
    """The pooled claims on one side: each env at its eps under ``params["eps_rule"]`` (or, with
    ``fixed``, at ``params["eps"]``). ``{"eps": {env: eps or None}, claim key: (diff, lo, hi)}``;
    claim 3 at its smallest m."""
    reps, ci, seed = params["bootstrap_samples"], params["ci"], params["seed"]
    envs = sorted(rows.env.unique())
    if fixed:
        picked = dict.fromkeys(envs, float(params["eps"]))
    else:
        picked = eps_by_env(rule_summary(rows, params["eps_rule"], params), params["eps_rule"])
    at = [
        r.attack == "benign" or (picked.get(r.env) is not None and np.isclose(r.eps, picked[r.env]))
        for r in rows.itertuples()
    ]
    frame = pool(claim_items(rows[at], reps, ci, seed), ci, False, picked)
    out: dict = {"eps": picked}
    for claim in CLAIMS:
        got = frame[(frame.env == OVERALL) & (frame.name == claim.name)] if len(frame) else frame
        if claim.team == "part" and len(got):
            got = got[got.n_attacked == str(min(int(m) for m in got.n_attacked))]
        else:
            got = got[got.n_attacked == "all"] if len(got) else got
        out[_claim_key(claim)] = (
            tuple(got[["diff_pp", "diff_pp_ci_low", "diff_pp_ci_high"]].iloc[0]) if len(got) else (np.nan,) * 3
        )
    return out


def _eps_text(picked: dict) -> str:
    values = {eps_label(x) for x in picked.values()}
    if len(values) == 1:
        return f"{values.pop()} (every env)"
    return ", ".join(f"{env_label(e)} {eps_label(x)}" for e, x in sorted(picked.items()))


def table_deviations(
    main_paths: list[str], flipped_paths: dict[str, list[str]], stem: str, params: dict
) -> pd.DataFrame:
    """One row per protocol choice (and per choice reported both ways): the claims' differences under
    the authors' value and under ours. ``flipped_paths``: choice -> the rows its flipped evaluation
    wrote (none where the flip changes nothing for any victim). ``params``:
    ``config.deviations_table_params`` (the claims' settings, the attacks and episodes read, this run's
    protocol)."""
    attacks = params["attacks"]
    main = load_eval(main_paths)
    episodes = params["episodes"]  # the flipped evaluations ran the main evaluation's first ones
    main = main[main.attack.isin(attacks) & (main.episode < main.env.map(episodes))]
    ours_main = side(main, params)
    rows = []
    for choice, values in CHOICES.items():
        paths = flipped_paths.get(choice) or []
        other = side(flipped_rows(main, load_eval(paths) if paths else None, attacks), params) if paths else ours_main
        run_value = params["protocol"][choice]
        by_value = {run_value: ours_main, next(v for v in values if v != run_value): other}
        rows.append(_row(choice, list(values), run_value, by_value))
    for choice, values in BOTH_WAYS.items():  # eps: both views of the main rows
        authors, ours = list(values)
        rows.append(_row(choice, [authors, ours], "both", {authors: ours_main, ours: side(main, params, fixed=True)}))
    table = pd.DataFrame(rows)
    display = pd.DataFrame(
        {
            "choice": table.choice,
            "authors": table.authors_value,
            "ours": table.ours_value,
            "this run": table.run_value,
            "eps (authors)": table.eps_authors,
            "eps (ours)": table.eps_ours,
            **{
                f"{c.number}: {c.name} ({who})": [
                    fmt_ci(*v)
                    for v in table[[f"{_claim_key(c)}_{who}{s}" for s in ("", "_ci_low", "_ci_high")]].to_numpy()
                ]
                for c in CLAIMS
                for who in ("authors", "ours")
            },
        }
    )
    victims = ", ".join(
        sorted({f"{env_label(e)} {a.upper()}" for e, a in main[["env", "algo"]].drop_duplicates().to_numpy()})
    )
    write_table(
        table,
        stem,
        "Each protocol choice (marl_attacks.protocol) under the authors' value and under ours: the paper's claims "
        "as differences in % drop (attack minus baseline, pp of the benign IQM return, 95% paired stratified "
        f"bootstrap CI), mean over {victims} (config deviations.victims), each env at the eps report.eps_rule picks "
        "on that side's rows (eps columns; the eps row: that view against every env at report.drop_eps); claim 3 "
        "with the fewest agents attacked. 'this run': the value of the main evaluation; the other value is "
        "evaluated with that one choice flipped, rerunning only what it changes.",
        display,
    )
    return table


def _row(choice: str, values: list[str], run_value: str, by_value: dict) -> dict:
    authors, ours = values[0], values[1]
    row = {"choice": choice, "authors_value": authors, "ours_value": ours, "run_value": run_value}
    for who, value in (("authors", authors), ("ours", ours)):
        got = by_value[value]
        row[f"eps_{who}"] = _eps_text(got["eps"])
        for claim in CLAIMS:
            key = _claim_key(claim)
            row.update(dict(zip([f"{key}_{who}", f"{key}_{who}_ci_low", f"{key}_{who}_ci_high"], got[key])))
    return row
