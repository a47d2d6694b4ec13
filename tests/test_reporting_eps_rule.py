"""The eps each env is reported at (report.eps_rule): picked from a synthetic white-box curve, and
the main % drop and claims tables at it, with an env where no eps meets the rule kept and marked."""

import numpy as np
import pandas as pd
import pytest
from test_reporting import EPS_RULE, claims_params, make_rows

from marl_attacks.reporting.claims import NO_EPS_VERDICT, OVERALL, table_claims
from marl_attacks.reporting.eps_rule import NO_EPS, chosen_eps, eps_by_env
from marl_attacks.reporting.summary import summarise
from marl_attacks.reporting.tables import table_main_drop

TEAM = 3


def curve(env: str, algo: str, drops: dict, attack: str = "white-box-pgd", m: int = TEAM) -> pd.DataFrame:
    """Summary rows of one victim: benign, and ``attack`` lowering the return by ``drops[eps]`` %."""
    rows = [{"env": env, "algo": algo, "attack": "benign", "eps": 0.0, "n_attacked": 0, "drop_pct": 0.0}]
    rows += [
        {"env": env, "algo": algo, "attack": attack, "eps": eps, "n_attacked": m, "drop_pct": d}
        for eps, d in drops.items()
    ]
    frame = pd.DataFrame(rows)
    return frame.assign(drop_ci_low=frame.drop_pct - 1, drop_ci_high=frame.drop_pct + 1)


GRID = (0.05, 0.1, 0.2, 0.5)


def test_the_rule_picks_the_smallest_eps_where_the_attack_lowers_the_return_enough():
    summary = pd.concat(
        [
            # mean over MAPPO and QMIX: 10, 19.95, 20, 60 -> 0.2 (0.1 misses by 0.05 pp)
            curve("vmas-balance", "mappo", dict(zip(GRID, [15, 39.9, 10, 60]))),
            curve("vmas-balance", "qmix", dict(zip(GRID, [5, 0, 30, 60]))),
            # not monotone: the smallest eps that meets the rule, though a larger one does not
            curve("vmas-wheel", "mappo", dict(zip(GRID, [5, 25, 12, 50]))),
            # never 20%: none, and how far it got
            curve("mpe-simple_spread", "mappo", dict(zip(GRID, [1, 3, 10, 19.9]))),
            # a partial team or another attack reaching 20% does not count
            curve("mpe-simple_spread", "mappo", dict(zip(GRID, [90] * 4)), m=1),
            curve("mpe-simple_spread", "mappo", dict(zip(GRID, [90] * 4)), attack="align-mlp"),
            # benign IQM 0: no % drop at all
            curve("rware-tiny-2ag", "mappo", dict(zip(GRID, [np.nan] * 4))),
            # the attack not run on this env
            curve("lbf-8x8-2p-2f-coop", "mappo", dict(zip(GRID, [50] * 4)), attack="hadamard"),
        ]
    )
    picked = chosen_eps(summary, EPS_RULE).set_index("env")
    assert eps_by_env(summary, EPS_RULE) == {
        "lbf-8x8-2p-2f-coop": None,
        "mpe-simple_spread": None,
        "rware-tiny-2ag": None,
        "vmas-balance": 0.2,
        "vmas-wheel": 0.1,
    }
    assert picked.loc["vmas-balance", "rule_drop_pct"] == pytest.approx(20.0)
    assert picked.loc["mpe-simple_spread", "note"] == "white-box-pgd lowers the return by at most 19.9%"
    assert picked.loc["rware-tiny-2ag", "note"] == "benign IQM 0: no % drop"
    assert picked.loc["lbf-8x8-2p-2f-coop", "note"] == "white-box-pgd not run"
    # a stricter rule moves the eps up, a looser one down
    assert eps_by_env(summary, {**EPS_RULE, "min_drop": 0.5})["vmas-balance"] == 0.5
    assert eps_by_env(summary, {**EPS_RULE, "min_drop": 0.1})["vmas-balance"] == 0.05


@pytest.fixture(scope="module")
def two_envs():
    """VMAS balance, where white-box PGD lowers the return by 15% at eps 0.1 and 75% at 0.5 (eps 0.5);
    MPE, where it never reaches 20% (no eps)."""
    strong = make_rows({**{"align-mlp": 30.0, "max-noise": 10.0, "hadamard": 20.0}, "white-box-pgd": 30.0})
    weak = make_rows({**{"align-mlp": 30.0, "max-noise": 10.0, "hadamard": 20.0}, "white-box-pgd": 2.0}, seed=1)
    return pd.concat([strong[strong.env == "vmas-balance"], weak[weak.env == "mpe-simple_spread"]], ignore_index=True)


def test_main_drop_reports_each_env_at_its_eps_and_keeps_an_env_without_one(two_envs, tmp_path):
    summary = summarise(two_envs, 200, 0.95, 0)
    table = table_main_drop(summary, str(tmp_path / "main_drop"), {"eps_rule": EPS_RULE, "eps": 0.1})
    table = table.set_index("env")
    assert table.loc["vmas-balance", "eps"] == "0.5" and table.loc["mpe-simple_spread", "eps"] == NO_EPS
    drop = summary[(summary.env == "vmas-balance") & (summary.attack == "align-mlp") & (summary.n_attacked == TEAM)]
    assert table.loc["vmas-balance", "align-mlp"].startswith(f"{drop[drop.eps == 0.5].drop_pct.iloc[0]:.1f} [")
    assert (table.loc["mpe-simple_spread", ["align-mlp", "hadamard", "white-box-pgd"]] == "").all()  # no numbers
    md = (tmp_path / "main_drop.md").read_text()
    assert "smallest eps" in md and "| none " in md
    fixed = pd.read_csv(tmp_path / "main_drop_fixed_eps.csv").set_index("env")
    assert "eps" not in fixed.columns and fixed.loc["mpe-simple_spread", "align-mlp"][0].isdigit()
    assert "at eps = 0.1" in (tmp_path / "main_drop_fixed_eps.md").read_text()


def test_claims_report_each_env_at_its_eps_and_pool_over_those(two_envs, tmp_path):
    summary = summarise(two_envs, 200, 0.95, 0)
    params = claims_params(200, 0.1)
    table = table_claims(two_envs, None, str(tmp_path / "claims"), str(tmp_path / "by_eps.csv"), params, summary)
    one = table[table.name == "Align > Max-Noise"].set_index("env")
    by_eps = pd.read_csv(tmp_path / "by_eps.csv")
    at_05 = by_eps[(by_eps.name == "Align > Max-Noise") & (by_eps.env == "vmas-balance") & (by_eps.eps == 0.5)]
    assert one.loc["vmas-balance", "eps"] == 0.5
    assert one.loc["vmas-balance", "diff_pp"] == pytest.approx(at_05.diff_pp.iloc[0])
    assert one.loc["mpe-simple_spread", "verdict"] == NO_EPS_VERDICT
    assert np.isnan(one.loc["mpe-simple_spread", "diff_pp"])
    # pooled over the envs that have an eps: VMAS alone here
    assert one.loc[OVERALL, "n_envs"] == 1 and one.loc[OVERALL, "diff_pp"] == pytest.approx(at_05.diff_pp.iloc[0])
    md = (tmp_path / "claims.md").read_text()
    assert "| per env " in md and "| none " in md and "at its eps" in md
    # without a summary the rule reads the rows' own: the same eps
    again = table_claims(two_envs, None, str(tmp_path / "again"), None, params)
    assert again[["env", "eps", "verdict"]].equals(table[["env", "eps", "verdict"]])
    fixed = pd.read_csv(tmp_path / "claims_fixed_eps.csv")
    assert set(fixed.eps) == {0.1} and {"vmas-balance", "mpe-simple_spread", OVERALL} <= set(fixed.env)
    assert "at eps = 0.1" in (tmp_path / "claims_fixed_eps.md").read_text()
