"""Summary statistics, claims, the tables and the marl-eval export (marl_attacks.reporting), on synthetic rows."""

import json

import numpy as np
import pandas as pd
import pytest

from marl_attacks.reporting.claims import OVERALL, OVERALL_COMPETENT, claims, table_claims
from marl_attacks.reporting.export import export_marl_eval_rows, to_marl_eval
from marl_attacks.reporting.stats import iqm
from marl_attacks.reporting.summary import run_ablation_summary, run_summary, summarise
from marl_attacks.reporting.tables import (
    competence,
    table_access_assumptions,
    table_main_drop_at,
    table_victims,
    write_table,
)

#: attack -> return lost per unit of eps (all agents attacked)
EFFECT = {
    "align-mlp": 30.0,
    "hadamard": 20.0,
    "max-noise": 10.0,
    "targeted-align": 20.0,
    "targeted-hadamard": 2.0,
    "white-box-fgsm": 60.0,
}


def make_rows(
    effect=EFFECT,
    envs=("vmas-balance", "mpe-simple_spread"),
    seeds=(0, 1),
    episodes=30,
    eps=(0.1, 0.5),
    team=3,
    win=False,
    seed=0,
):
    """Rows of the evaluation's data contract: every attack on the benign episodes' env seeds
    (an episode effect shared by all attacks), m = team and m = 1 (targeted: only m = 1 counts)."""
    rng = np.random.default_rng(seed)
    rows = []
    for env in envs:
        for s in seeds:
            base = 20 + rng.normal(0, 4, episodes)  # the episode's own difficulty
            configs = [("benign", 0.0, 0)] + [(a, e, m) for a in effect for e in eps for m in (team, 1)]
            for attack, e, m in configs:
                loss = (
                    0
                    if attack == "benign"
                    else effect[attack] * e * (1 if m == team or attack.startswith("targeted") else 0.4)
                )
                ret = base - loss + rng.normal(0, 0.5, episodes)
                for ep in range(episodes):
                    row = {
                        "env": env,
                        "algo": "mappo",
                        "seed": s,
                        "attack": attack,
                        "eps": e,
                        "n_attacked": m,
                        "episode": ep,
                        "return": ret[ep],
                        "length": 25 + int(loss > 5),
                        "max_abs_delta": e,
                    }
                    if win:
                        row["win"] = bool(ret[ep] > 18)
                    rows.append(row)
    return pd.DataFrame(rows)


EPS_RULE = {"attack": "white-box-pgd", "min_drop": 0.2}


def claims_params(reps, eps):
    """What the claims job reads (config.claims_params) with the given resamples and eps."""
    return {"bootstrap_samples": reps, "ci": 0.95, "seed": 0, "eps": eps, "eps_rule": EPS_RULE}


@pytest.fixture(scope="module")
def rows():
    return make_rows()


@pytest.fixture(scope="module")
def summary(rows):
    return summarise(rows, 1000, 0.95, 0)


def test_summary_follows_the_data_contract(summary):
    for col in [
        "env",
        "algo",
        "attack",
        "eps",
        "n_attacked",
        "iqm",
        "ci_low",
        "ci_high",
        "drop_pct",
        "drop_ci_low",
        "drop_ci_high",
        "length_change_pct",
        "length_change_ci_low",
        "length_change_ci_high",
        "episodes",
        "seeds",
    ]:
        assert col in summary
    assert (summary.ci_low <= summary.iqm + 1e-9).all() and (summary.iqm <= summary.ci_high + 1e-9).all()
    assert (summary.drop_ci_low <= summary.drop_pct + 1e-9).all()
    assert (summary.drop_pct <= summary.drop_ci_high + 1e-9).all()
    benign = summary[summary.attack == "benign"]
    assert (benign.drop_pct == 0).all() and (benign.drop_ci_low == 0).all() and (benign.drop_ci_high == 0).all()
    assert (summary.episodes == 60).all() and (summary.seeds == 2).all()
    assert "win_rate" not in summary


def test_drop_ci_is_paired_with_benign(rows, summary):
    """The episode effect (sd 4) cancels: the drop CI is tighter than the attacked IQM's own CI
    (relative to benign), though an unpaired drop would be wider still (both sides vary)."""
    r = summary[(summary.attack == "hadamard") & (summary.eps == 0.5) & (summary.n_attacked == 3)].iloc[0]
    own_width = 100 * (r.ci_high - r.ci_low) / abs(r.benign_iqm)
    assert r.drop_ci_high - r.drop_ci_low < 0.7 * own_width
    assert r.drop_ci_low < 100 * 10 / 20 < r.drop_ci_high  # true drop: 10 of ~20


def test_length_change_and_win_rate():
    rows = make_rows(win=True, envs=("vmas-balance",))
    s = summarise(rows, 500, 0.95, 0)
    wb = s[(s.attack == "white-box-fgsm") & (s.eps == 0.5) & (s.n_attacked == 3)].iloc[0]
    assert wb.length_change_pct == pytest.approx(100 / 25)
    assert {"win_rate", "win_ci_low", "win_ci_high"} <= set(s.columns)
    benign = s[s.attack == "benign"].iloc[0]
    assert wb.win_rate < benign.win_rate and wb.win_ci_low <= wb.win_rate <= wb.win_ci_high


def test_groups_on_other_episodes_are_compared_unpaired(rows):
    """An attack run on fewer episodes than benign still gets a drop and a CI."""
    part = rows[~((rows.attack == "hadamard") & (rows.episode >= 10))]
    s = summarise(part, 500, 0.95, 0)
    r = s[(s.attack == "hadamard") & (s.eps == 0.5) & (s.n_attacked == 3)].iloc[0]
    assert r.episodes == 20 and r.drop_ci_low < r.drop_pct < r.drop_ci_high


def test_ablation_summary_has_a_row_per_value(rows):
    ab = rows[rows.attack.isin(["benign", "align-mlp"]) & rows.n_attacked.isin([0, 3])].copy()
    ab["value"] = np.where(ab.attack == "benign", np.nan, ab.eps * 10)  # stand-in for an ablated setting
    s = summarise(ab, 200, 0.95, 0, keys=["attack", "eps", "n_attacked", "value"])
    att = s[s.attack == "align-mlp"]
    assert sorted(att.value) == [1.0, 1.0, 5.0, 5.0]  # per env
    assert (s[s.attack == "benign"].value.isna()).all()


def test_claims_verdicts_follow_the_data(rows):
    c = claims(rows, 1000, 0.95, 0)
    per_env = c[c.env != "overall"]
    # align (30/eps) > max-noise (10/eps); hadamard (20) > max-noise; at m = 1: targeted align (20) >
    # align (0.4 x 30 = 12); targeted hadamard (2) < hadamard (0.4 x 20 = 8)
    expect = {
        ("1", "align-mlp"): "holds",
        ("2", "hadamard"): "holds",
        ("3", "targeted-align"): "holds",
        ("3", "targeted-hadamard"): "reversed",
    }
    at = per_env[per_env.eps == 0.5]
    for (claim, attack), verdict in expect.items():
        assert set(at[(at.claim == claim) & (at.attack == attack)].verdict) == {verdict}, (claim, attack)
    assert set(per_env[per_env.claim.isin(["1", "2"])].n_attacked) == {"all"}
    assert set(per_env[per_env.claim == "3"].n_attacked) == {"1"}
    for _, r in c.iterrows():
        assert r.diff_pp == pytest.approx(r.attack_drop_pct - r.baseline_drop_pct)
        assert r.diff_pp_ci_low <= r.diff_pp + 1e-9 <= r.diff_pp_ci_high + 2e-9


def test_claim_without_a_difference_is_inconclusive(rows):
    same = rows[(rows.attack == "align-mlp") & (rows.n_attacked == 1)].assign(attack="targeted-align")
    c = claims(pd.concat([rows[rows.attack != "targeted-align"], same]), 300, 0.95, 0)
    c = c[c.attack == "targeted-align"]
    assert len(c) and (c.diff_pp == 0).all() and set(c.verdict) == {"inconclusive"}


def test_claims_overall_is_the_mean_over_envs(rows):
    c = claims(rows, 500, 0.95, 0)
    key = (c.claim == "1") & (c.eps == 0.1)
    overall = c[key & (c.env == "overall")].iloc[0]
    envs = c[key & (c.env != "overall")]
    assert overall.n_envs == 2
    assert overall.diff_pp == pytest.approx(envs.diff_pp.mean())
    assert overall.diff_pp_ci_high - overall.diff_pp_ci_low < (envs.diff_pp_ci_high - envs.diff_pp_ci_low).max()


def test_claims_use_the_summarys_resamples(rows, summary):
    """The drop CI of an attack in the claims table is the summary's (same paired resamples)."""
    c = claims(rows, 1000, 0.95, 0)
    r = c[(c.claim == "2") & (c.env == "vmas-balance") & (c.eps == 0.5)].iloc[0]
    s = summary[
        (summary.env == "vmas-balance")
        & (summary.attack == "hadamard")
        & (summary.eps == 0.5)
        & (summary.n_attacked == 3)
    ].iloc[0]
    assert (r.attack_drop_pct_ci_low, r.attack_drop_pct_ci_high) == pytest.approx((s.drop_ci_low, s.drop_ci_high))


def test_table_claims_writes_three_formats(rows, tmp_path):
    table_claims(rows, None, str(tmp_path / "claims"), str(tmp_path / "by_eps.csv"), claims_params(300, 0.5))
    fixed = pd.read_csv(tmp_path / "claims_fixed_eps.csv")  # the rows have no white-box PGD: no eps rule view
    assert set(fixed.eps) == {0.5}
    assert set(pd.read_csv(tmp_path / "by_eps.csv").eps) == {0.1, 0.5}
    md = (tmp_path / "claims_fixed_eps.md").read_text()
    assert "lies above 0" in md and "all envs (mean)" in md and "holds 2/2" in md
    for stem in ("claims", "claims_fixed_eps"):
        assert (tmp_path / f"{stem}.tex").read_text().startswith("\\begin{table}")
        csv = pd.read_csv(tmp_path / f"{stem}.csv")
        assert {"diff_pp", "diff_pp_ci_low", "verdict", "over_eps_grid"} <= set(csv.columns)


def test_claims_pool_competent_victims_apart(rows, tmp_path):
    """With the victims table, a second pooled row averages only the env x algo whose victims all
    pass: here vmas-balance (2 of 2) but not mpe-simple_spread (1 of 2)."""
    victims = pd.DataFrame(
        {
            "env": ["vmas-balance"] * 2 + ["mpe-simple_spread"] * 2,
            "algo": "mappo",
            "seed": [0, 1, 0, 1],
            "passed": [True, True, True, False],
        }
    )
    c = claims(rows, 300, 0.95, 0, competence(victims))
    key = (c.claim == "1") & (c.eps == 0.5)
    competent = c[key & (c.env == OVERALL_COMPETENT)].iloc[0]
    balance = c[key & (c.env == "vmas-balance")].iloc[0]
    assert competent.n_envs == 1 and competent.diff_pp == pytest.approx(balance.diff_pp)
    assert c[key & (c.env == OVERALL)].iloc[0].n_envs == 2
    spread = c[key & (c.env == "mpe-simple_spread")].iloc[0]
    assert (balance.victims_competent, balance.victims, spread.victims_competent) == (2, 2, 1)
    assert OVERALL_COMPETENT not in set(claims(rows, 300, 0.95, 0).env)
    table_claims(rows, victims, str(tmp_path / "claims"), None, claims_params(300, 0.5))
    md = (tmp_path / "claims_fixed_eps.md").read_text()
    assert "competent victims (mean)" in md and "| 1/2 " in md and "never learned" in md
    table = pd.read_csv(tmp_path / "claims_fixed_eps.csv")
    assert table.env.tolist()[-1] == OVERALL_COMPETENT  # pooled rows last, competent last
    none = victims.assign(passed=False)
    c = claims(rows, 300, 0.95, 0, competence(none))
    assert OVERALL_COMPETENT not in set(c.env)


def test_victims_table_scores_against_threshold_and_prints_whole_rates(tmp_path):
    scores = []
    for seed, ret in enumerate([0.9, 0.2]):
        path = tmp_path / f"score{seed}.json"
        path.write_text(
            json.dumps(
                {
                    "env": "lbf-8x8-2p-2f-coop",
                    "algo": "mappo",
                    "seed": seed,
                    "train_steps": 2_000_000,
                    "train_seconds": 1234.4,
                    "return_iqm": ret,
                    "random_return": 0.0,
                    "return_mean": ret,
                    "random_return_mean": 0.0,
                    "episodes": 30,
                }
            )
        )
        scores.append(str(path))
    frame = table_victims(scores, str(tmp_path / "victims"), {"thresholds": {"lbf-8x8-2p-2f-coop": 0.5}})
    assert frame.passed.tolist() == [True, False] and frame.victim_actions.tolist() == ["greedy"] * 2
    assert frame.train_seconds.iloc[0] == 1234.4  # the CSV keeps the measured value
    md = (tmp_path / "victims.md").read_text()
    assert " 1234 " in md and " 1620 " in md and "e+03" not in md  # whole seconds, 2e6 / 1234.4 steps/s
    assert frame.comparable.all() and (frame.threshold_source == "").all()


def test_victims_table_names_its_threshold_source_and_keeps_failing_epymarl_tasks_out(tmp_path):
    """A threshold's source is a column; an (env, algo) where EPyMARL's own learner fails is listed with
    EPyMARL's result but is out of :func:`competence` (the pass rate and the competent-victim claims)."""
    scores = []
    for algo, ret in [("mappo", 9.0), ("qmix", 0.0)]:
        for seed in (0, 1):
            path = tmp_path / f"{algo}{seed}.json"
            row = {"env": "rware-tiny-4ag", "algo": algo, "seed": seed, "train_steps": 10, "train_seconds": 1.0}
            path.write_text(json.dumps({**row, "return_iqm": ret, "random_return": 0.0, "episodes": 5}))
            scores.append(str(path))
    params = {
        "thresholds": {"rware-tiny-4ag": 5.0},
        "threshold_sources": {"rware-tiny-4ag": "EPyMARL MAPPO side by side"},
        "not_comparable": {"rware-tiny-4ag": {"qmix": "EPyMARL QMIX: 0.0"}},
    }
    frame = table_victims(scores, str(tmp_path / "victims"), params)
    qmix = frame[frame.algo == "qmix"]
    assert not qmix.comparable.any() and (qmix.epymarl_result == "EPyMARL QMIX: 0.0").all()
    assert not qmix.passed.any()  # still scored against the threshold, shown as failing
    assert (frame.threshold_source == "EPyMARL MAPPO side by side").all()
    assert competence(pd.read_csv(tmp_path / "victims.csv")) == {("rware-tiny-4ag", "mappo"): (2, 2)}
    assert competence(frame.assign(comparable=True))[("rware-tiny-4ag", "qmix")] == (0, 2)


def test_victims_table_holds_each_algorithm_to_its_threshold_and_statistic(tmp_path):
    """A threshold per algorithm (each from EPyMARL's run of it) and, where it was a mean, held by the
    mean return: the IQM passes here where the mean does not."""
    scores = []
    for algo, ret_iqm, ret_mean in [("mappo", 0.9, 0.7), ("qmix", 0.6, 0.6), ("mappo-gru", 0.9, 0.85)]:
        path = tmp_path / f"{algo}.json"
        row = {"env": "lbf-2s-8x8-3p-2f", "algo": algo, "seed": 0, "train_steps": 10, "train_seconds": 1.0}
        path.write_text(json.dumps({**row, "return_iqm": ret_iqm, "return_mean": ret_mean, "random_return": 0.0}))
        scores.append(str(path))
    thresholds = {"lbf-2s-8x8-3p-2f": {"mappo": 0.8, "qmix": 0.5}}
    frame = table_victims(scores, str(tmp_path / "v"), {"thresholds": thresholds}).set_index("algo")
    assert frame.threshold.to_dict() == {"mappo": 0.8, "qmix": 0.5, "mappo-gru": 0.8}
    assert frame.passed.to_dict() == {"mappo": True, "qmix": True, "mappo-gru": True}  # by the IQM
    on_mean = {"thresholds": thresholds, "threshold_on": {"lbf-2s-8x8-3p-2f": "mean"}}
    frame = table_victims(scores, str(tmp_path / "v"), on_mean).set_index("algo")
    assert frame.passed.to_dict() == {"mappo": False, "qmix": True, "mappo-gru": True}
    assert (frame.threshold_on == "mean").all()
    other = table_victims(scores, str(tmp_path / "v"), {"thresholds": {"lbf-2s-8x8-3p-2f": {"vdn": 0.1}}})
    assert other.passed.isna().all() and other.threshold.isna().all()  # no threshold for these algorithms


def test_victims_table_tests_a_mean_against_a_threshold_that_is_a_mean_too(tmp_path):
    """Rule not_below: a victim 0.02 under a threshold averaged over 100 episodes passes (within the
    noise of both), one far under fails; an env whose threshold is a fixed bar (no spread) is held by
    at_least under either rule; passed_at_least and p_below are columns under both rules."""
    scores = []
    for env, algo, mean, sd in [
        ("lbf-2s-10x10-4p-2f", "mappo", 0.91, 0.25),
        ("lbf-2s-10x10-4p-2f", "ippo", 0.70, 0.30),
        ("lbf-2s-10x10-4p-2f", "qmix", 0.95, 0.20),
        ("lbf-2s-8x8-3p-2f", "mappo", 0.45, 0.30),
    ]:
        path = tmp_path / f"{env}-{algo}.json"
        row = {"env": env, "algo": algo, "seed": 0, "train_steps": 10, "train_seconds": 1.0, "episodes": 100}
        path.write_text(json.dumps({**row, "return_iqm": 1.0, "return_mean": mean, "return_std": sd}))
        scores.append(str(path))
    params = {
        "thresholds": {"lbf-2s-10x10-4p-2f": {"mappo": 0.93, "ippo": 0.93, "qmix": 0.93}, "lbf-2s-8x8-3p-2f": 0.5},
        "threshold_on": {"lbf-2s-10x10-4p-2f": "mean", "lbf-2s-8x8-3p-2f": "mean"},
        "threshold_sd": {"lbf-2s-10x10-4p-2f": 0.23},
        "threshold_episodes": {"lbf-2s-10x10-4p-2f": {"mappo": 100, "ippo": 100, "qmix": 100}},
    }
    strict = table_victims(scores, str(tmp_path / "strict"), params).set_index("algo")
    welch = table_victims(
        scores, str(tmp_path / "welch"), {**params, "competence": {"rule": "not_below", "alpha": 0.05}}
    )
    assert strict.passed.tolist() == [False, False, True, False] == welch.passed_at_least.tolist()
    assert welch.passed.tolist() == [True, False, True, False]
    p = welch.p_below.tolist()
    assert 0.2 < p[0] < 0.4 and p[1] < 1e-6 and p[2] > 0.5 and np.isnan(p[3])  # the fixed bar: no test
    assert welch.p_below.tolist()[:3] == pytest.approx(strict.p_below.tolist()[:3])  # a column under both
    saved = pd.read_csv(tmp_path / "welch.csv")
    assert {"p_below", "passed_at_least", "threshold_sd", "threshold_episodes", "return_std"} <= set(saved)
    assert "Welch" in (tmp_path / "welch.md").read_text() and "Welch" not in (tmp_path / "strict.md").read_text()
    assert competence(saved) == {
        ("lbf-2s-10x10-4p-2f", "ippo"): (0, 1),
        ("lbf-2s-10x10-4p-2f", "mappo"): (1, 1),
        ("lbf-2s-10x10-4p-2f", "qmix"): (1, 1),
        ("lbf-2s-8x8-3p-2f", "mappo"): (0, 1),
    }


def test_claims_without_their_attacks_say_so(tmp_path):
    rows = make_rows(effect={"white-box-fgsm": 60.0}, envs=("vmas-balance",), seeds=(0,), episodes=5)
    table = table_claims(rows, None, str(tmp_path / "claims"), None, claims_params(50, 0.1))
    assert table.empty and "No claim" in (tmp_path / "claims.md").read_text()


def test_access_table_lists_this_papers_and_prior_attacks(tmp_path):
    table = table_access_assumptions(str(tmp_path / "access"))
    refs = " ".join(table.reference)
    for prior in ["Lin et al. 2020", "Li et al. 2023", "Pham et al. 2022", "Huang et al. 2017", "Zhang et al. 2020"]:
        assert prior in refs
    assert {"Align", "Hadamard"} <= set(table.attack)
    hadamard = table.set_index("attack").loc["Hadamard"]
    assert (hadamard[["actions", "rewards", "victim model", "queries"]] == "no").all()
    assert (table != "").all().all()
    # every prior attack says where in its paper it was checked
    prior = table[~table["checked against"].str.startswith("arXiv:2508.09275")]
    assert len(prior) == 5 and prior["checked against"].str.contains("abstract").all()
    assert table.set_index("attack").loc["Hadamard", "checked against"].startswith("arXiv:2508.09275")
    for ext in ("csv", "md", "tex"):
        assert (tmp_path / f"access.{ext}").stat().st_size > 0


def test_marl_eval_layout(rows, tmp_path):
    data = export_marl_eval_rows(rows, str(tmp_path / "marl_eval.json"))
    loaded = json.loads((tmp_path / "marl_eval.json").read_text())
    assert loaded == data
    # marl-eval takes a run's last key as its absolute metrics
    assert all(
        list(run)[-1] == "absolute_metrics"
        for task in loaded.values()
        for algos in task.values()
        for runs in algos.values()
        for run in runs.values()
    )
    assert set(data) == {"vmas", "mpe"} and set(data["vmas"]) == {"balance"}
    algos = data["vmas"]["balance"]
    assert set(algos) == set(data["mpe"]["simple_spread"])  # the same algorithms on every task
    assert "mappo" in algos and "mappo/align-mlp/eps=0.1/m=all" in algos and "mappo/hadamard/eps=0.5/m=1" in algos
    run = algos["mappo/align-mlp/eps=0.1/m=all"]["seed_1"]
    assert list(run) == ["step_0", "absolute_metrics"]
    assert run["step_0"]["step_count"] == 0 and len(run["step_0"]["return"]) == 30
    assert run["absolute_metrics"]["episode_length"] == run["step_0"]["episode_length"]
    first = rows[
        (rows.env == "vmas-balance")
        & (rows.attack == "align-mlp")
        & (rows.eps == 0.1)
        & (rows.n_attacked == 3)
        & (rows.seed == 1)
    ].sort_values("episode")
    assert run["step_0"]["return"] == pytest.approx(first["return"].tolist())
    for runs in algos.values():
        assert set(runs) == {"seed_0", "seed_1"}


def test_marl_eval_win_rate_is_one_value(tmp_path):
    data = to_marl_eval(make_rows(win=True, envs=("vmas-balance",), seeds=(0,), episodes=4))
    metrics = data["vmas"]["balance"]["mappo"]["seed_0"]["step_0"]
    assert len(metrics["win_rate"]) == 1 and 0 <= metrics["win_rate"][0] <= 1


def test_write_table_display_replaces_md_and_tex(tmp_path):
    frame = pd.DataFrame({"x": [1.23456]})
    write_table(frame, str(tmp_path / "t"), "cap", display=pd.DataFrame({"x": ["1.2 [1, 2]"]}))
    assert pd.read_csv(tmp_path / "t.csv").x.iloc[0] == pytest.approx(1.23456)
    assert "1.2 [1, 2]" in (tmp_path / "t.md").read_text() and "1.2 [1, 2]" in (tmp_path / "t.tex").read_text()


def test_claims_overall_skips_envs_whose_benign_return_is_zero(rows):
    """A % drop needs a non-zero benign IQM: such an env gets n/a and stays out of the mean."""
    zero = rows.copy()
    zero.loc[(zero.env == "mpe-simple_spread") & (zero.attack == "benign"), "return"] = 0.0
    c = claims(zero, 200, 0.95, 0)
    assert set(c[c.env == "mpe-simple_spread"].verdict) == {"n/a"}
    overall = c[c.env == "overall"]
    assert (overall.n_envs == 1).all() and set(overall.verdict) != {"n/a"}


def test_claims_give_no_ci_where_the_benign_iqm_is_zero_but_resamples_are_not(rows):
    """A victim that scores 0 on the middle half of its episodes (IQM 0) but +-1 on the tails: some
    resamples have a non-zero IQM, yet with no point estimate the claim is n/a, with no CI."""
    zero = rows.copy()
    ben = (zero.env == "mpe-simple_spread") & (zero.attack == "benign")
    tails = np.where(zero.loc[ben, "episode"] % 7 == 0, -1.0, np.where(zero.loc[ben, "episode"] % 7 == 1, 1.0, 0.0))
    zero.loc[ben, "return"] = tails
    assert iqm(zero.loc[ben, "return"]) == 0
    c = claims(zero, 400, 0.95, 0)
    here = c[c.env == "mpe-simple_spread"]
    assert set(here.verdict) == {"n/a"} and here.diff_pp_ci_low.isna().all()


def test_main_drop_marks_attacks_not_run_and_undefined_drops(rows, tmp_path):
    s = summarise(rows, 200, 0.95, 0)
    # an env that ran no Hadamard (its own attack list), and one whose benign IQM is 0
    s = s[~((s.env == "vmas-balance") & (s.attack == "hadamard"))].copy()
    spread = (s.env == "mpe-simple_spread") & (s.attack != "benign")
    s.loc[spread, ["drop_pct", "drop_ci_low", "drop_ci_high"]] = np.nan
    table = table_main_drop_at(s, str(tmp_path / "drop"), 0.1).set_index("env")
    assert table.loc["vmas-balance", "hadamard"] == "not run"
    assert table.loc["mpe-simple_spread", "align-mlp"] == "n/a (benign IQM 0)"
    assert table.loc["vmas-balance", "align-mlp"][0].isdigit() or table.loc["vmas-balance", "align-mlp"][0] == "-"


def test_summary_jobs_read_the_bootstrap_settings_of_config(rows, tmp_path):
    """The summary jobs take config.summary_params: the bootstrap's settings and the base seed."""
    from marl_attacks.config import summary_params
    from marl_attacks.io import write_csv

    params = summary_params({"seed": 3, "report": {"bootstrap_samples": 100, "ci": 0.9, "drop_eps": 0.2}})
    assert params == {"bootstrap_samples": 100, "ci": 0.9, "seed": 3}
    part = rows[(rows.env == "vmas-balance") & rows.attack.isin(["benign", "hadamard"])].copy()
    part["value"] = np.where(part.attack == "benign", np.nan, part.n_attacked)  # stand-in for an ablated setting
    path = tmp_path / "rows.csv"
    part.to_csv(path, index=False)
    run_summary([str(path)], str(tmp_path / "summary.csv"), params)
    write_csv(str(tmp_path / "expect.csv"), summarise(pd.read_csv(path), 100, 0.9, 3))
    assert (tmp_path / "summary.csv").read_bytes() == (tmp_path / "expect.csv").read_bytes()
    run_ablation_summary([str(path)], str(tmp_path / "ablation.csv"), params)
    keys = ["attack", "eps", "n_attacked", "value"]
    write_csv(str(tmp_path / "expect.csv"), summarise(pd.read_csv(path), 100, 0.9, 3, keys=keys))
    assert (tmp_path / "ablation.csv").read_bytes() == (tmp_path / "expect.csv").read_bytes()
