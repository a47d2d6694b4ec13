"""Win rates where an env reports wins (SMAX) in the summary, the main-drop and victims tables and
the win-rate figure, and the claims pooled per benchmark family. No jaxmarl needed: the rows are
made here, under registered SMAX env names."""

import json

import numpy as np
import pandas as pd
import pytest
from test_reporting import claims_params, make_rows

from marl_attacks.reporting import figures
from marl_attacks.reporting.claims import OVERALL, claims, family_pool, table_claims
from marl_attacks.reporting.summary import summarise
from marl_attacks.reporting.tables import table_main_drop_at, table_victims

EFFECT = {"align-mlp": 30.0, "hadamard": 20.0, "max-noise": 10.0, "targeted-align": 20.0, "targeted-hadamard": 2.0}


@pytest.fixture(scope="module")
def mixed():
    """A SMAX map (with wins) beside an env without: rows and their summary."""
    smax = make_rows(effect=EFFECT, envs=("smax-3m",), win=True, episodes=20, seed=1)
    vmas = make_rows(effect=EFFECT, envs=("vmas-balance",), episodes=20, seed=2)
    rows = pd.concat([smax, vmas], ignore_index=True)
    return rows, summarise(rows, 300, 0.95, 0)


def test_summary_has_win_rates_only_where_the_env_reports_wins(mixed):
    rows, summary = mixed
    smax = summary[summary.env == "smax-3m"]
    assert smax.win_rate.notna().all() and summary[summary.env == "vmas-balance"].win_rate.isna().all()
    benign = smax[smax.attack == "benign"].iloc[0]
    assert benign.win_rate == pytest.approx(rows[(rows.env == "smax-3m") & (rows.attack == "benign")].win.mean())
    assert benign.win_ci_low <= benign.win_rate <= benign.win_ci_high
    # attacks lower the return, so fewer episodes pass the win line: win rates fall with eps
    align = smax[(smax.attack == "align-mlp") & (smax.n_attacked == 3)].sort_values("eps")
    assert align.win_rate.iloc[-1] < align.win_rate.iloc[0] <= benign.win_rate


def test_main_drop_gives_win_rates_where_the_env_reports_wins(mixed, tmp_path):
    _, summary = mixed
    table = table_main_drop_at(summary, str(tmp_path / "main_drop"), 0.5)
    assert list(table.columns[:3]) == ["env", "algo", "benign win rate"]
    by_env = table.set_index("env")
    rate = summary[(summary.env == "smax-3m") & (summary.attack == "benign")].win_rate.iloc[0]
    assert by_env.loc["smax-3m", "benign win rate"].startswith(f"{rate:.2f} [")
    assert "; win " in by_env.loc["smax-3m", "align-mlp"] and by_env.loc["vmas-balance", "benign win rate"] == ""
    assert "; win" not in by_env.loc["vmas-balance", "align-mlp"]
    assert "win rate" in (tmp_path / "main_drop.md").read_text()
    # a run without wins keeps the table as it was
    plain = table_main_drop_at(summary[summary.env == "vmas-balance"], str(tmp_path / "plain"), 0.5)
    assert "benign win rate" not in plain.columns


def _score(tmp_path, env, seed, **extra):
    path = tmp_path / f"{env}-{seed}.json"
    row = {"env": env, "algo": "mappo", "seed": seed, "train_steps": 1000, "train_seconds": 10.0}
    row |= {"return_iqm": 4.0, "random_return": 0.5, "return_mean": 4.0, "random_return_mean": 0.5, "episodes": 20}
    path.write_text(json.dumps(row | extra))
    return str(path)


def test_victims_table_has_win_rates_where_scored(tmp_path):
    scores = [_score(tmp_path, "smax-3m", 0, win_rate=0.65, random_win_rate=0.0), _score(tmp_path, "vmas-balance", 0)]
    frame = table_victims(scores, str(tmp_path / "victims"), {"thresholds": {}})
    assert frame.win_rate.tolist()[0] == 0.65 and np.isnan(frame.win_rate.iloc[1])
    assert frame.random_win_rate.iloc[0] == 0.0
    assert "win rates" in (tmp_path / "victims.md").read_text()
    without = table_victims(scores[1:], str(tmp_path / "plain"), {"thresholds": {}})
    assert "win_rate" not in without.columns


def test_win_rate_figure_draws_the_envs_with_wins(mixed, tmp_path):
    _, summary = mixed
    figures.FIGURES["win_rate_vs_eps"](summary, str(tmp_path / "win"))
    figures.FIGURES["win_rate_vs_eps"](summary[summary.env == "vmas-balance"], str(tmp_path / "none"))
    for stem in ("win", "none"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 3000 and (tmp_path / f"{stem}.pdf").stat().st_size > 1000
    # one panel (smax-3m) with lines, vs the note alone: the first holds more drawing
    assert (tmp_path / "win.png").stat().st_size > (tmp_path / "none.png").stat().st_size


def test_claims_pool_each_benchmark_family(tmp_path):
    rows = pd.concat(
        [
            make_rows(effect=EFFECT, envs=("lbf-8x8-2p-2f-coop", "lbf-8x8-2p-3f"), episodes=10, seed=3),
            make_rows(effect=EFFECT, envs=("smax-3m",), win=True, episodes=10, seed=4),
        ],
        ignore_index=True,
    )
    c = claims(rows, 200, 0.95, 0)
    key = (c.claim == "1") & (c.eps == 0.5)
    lbf = c[key & (c.env == family_pool("lbf"))].iloc[0]
    smax = c[key & (c.env == family_pool("smax"))].iloc[0]
    envs = c[key & c.env.isin(["lbf-8x8-2p-2f-coop", "lbf-8x8-2p-3f"])]
    assert lbf.n_envs == 2 and lbf.diff_pp == pytest.approx(envs.diff_pp.mean())
    assert smax.n_envs == 1 and smax.diff_pp == pytest.approx(c[key & (c.env == "smax-3m")].diff_pp.iloc[0])
    assert c[key & (c.env == OVERALL)].iloc[0].n_envs == 3
    # one family: its pool would repeat the overall row, so there is none
    one = claims(rows[rows.env.str.startswith("lbf")], 200, 0.95, 0)
    assert not one.env.str.startswith("family:").any()
    table_claims(rows, None, str(tmp_path / "claims"), None, claims_params(200, 0.5))
    md = (tmp_path / "claims_fixed_eps.md").read_text()  # the rows have no white-box PGD: no eps rule view
    assert "LBF envs (mean)" in md and "SMAX envs (mean)" in md
    table = pd.read_csv(tmp_path / "claims_fixed_eps.csv")
    order = table[table.claim.astype(str) == "1"].env.tolist()
    assert order[-1] == OVERALL and order.index(family_pool("lbf")) > order.index("smax-3m")
