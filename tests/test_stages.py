"""Each stage on tiny settings, called the way the workflow calls it."""

import json

import pandas as pd
import pytest
import torch
from conftest import job, tiny_pipeline

from marl_attacks.io import ArtifactError, load_artifact
from marl_attacks.reporting import figures, tables
from marl_attacks.stages import collect, evaluate, fit, score

ENV = {"name": "vmas-balance", "max_steps": 12, "kwargs": {"n_agents": 3, "continuous_actions": False}}
ROLLOUT = {**ENV, "victim_actions": "greedy"}  # the env as jobs that run a victim get it
MAPPO = {"total_steps": 960, "num_envs": 8, "rollout_len": 12, "epochs": 1, "minibatches": 2, "hidden": 16}
FIT = {
    "arch": "mlp",
    "hidden": 16,
    "layers": 2,
    "lr": 1e-3,
    "batch_size": 16,
    "epochs": 2,
    "val_frac": 0.2,
    "n_samples": 40,
}
COLLECT = {"n_samples": 40, "num_envs": 4}
EVAL = {
    "episodes": 3,
    "eps": [0.1, 0.3],
    "max_batch": 4,
    "n_attacked": ["all", 1],
    "attacks": [
        "benign",
        "align-mlp",
        "hadamard",
        "noise-uniform",
        "noise-gaussian",
        "noise-exponential",
        "noise-ou",
        "max-noise",
        "white-box-fgsm",
    ],
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return tiny_pipeline(tmp_path_factory.mktemp("stages"), ENV, MAPPO, COLLECT, FIT, EVAL)


def test_train_writes_policy_curve_and_provenance(pipeline):
    payload = load_artifact(pipeline["policy"])
    assert payload["train_steps"] == 960
    assert payload["meta"]["config"]["algo_cfg"]["hidden"] == 16
    meta = json.loads(open(pipeline["policy"] + ".meta.json").read())
    assert meta["config_hash"] == payload["meta"]["config_hash"] and "torch" in meta["versions"]
    curve = pd.read_csv(pipeline["curve"])
    assert list(curve.env_steps)[-1] == 960


def test_collect_writes_requested_samples(pipeline):
    s = load_artifact(pipeline["samples"])
    assert s["obs"].shape == (40, 3, 16)
    # samples are ordered by episode then step
    key = s["episode"] * 100 + s["step"]
    assert torch.all(key[1:] > key[:-1])


def test_fit_saves_validation_mse_per_agent(pipeline):
    m = load_artifact(pipeline["model"])
    assert len(m["stats"]["val_mse"]) == 3 and m["stats"]["n_val"] == 8


def test_evaluation_rows_follow_the_data_contract(pipeline):
    rows = pd.read_csv(pipeline["rows"])
    for col in ["env", "algo", "seed", "attack", "eps", "n_attacked", "episode", "return", "length", "max_abs_delta"]:
        assert col in rows
    assert set(rows.attack) == set(EVAL["attacks"])
    assert (rows.max_abs_delta <= rows.eps + 1e-6).all()
    benign = rows[rows.attack == "benign"]
    assert len(benign) == 3 and (benign.eps == 0).all() and (benign.max_abs_delta == 0).all()
    attacked = rows[rows.attack == "hadamard"]
    # eps x n_attacked x episodes, with n_attacked the real count (all = 3 agents)
    assert len(attacked) == 2 * 2 * 3 and set(attacked.n_attacked) == {1, 3}
    assert (attacked.max_abs_delta > 0).all()
    cost = pd.read_csv(pipeline["cost"])
    assert cost.loc[cost.attack == "align-mlp", "samples_used"].iloc[0] == 40


def test_same_seeds_for_every_attack(pipeline):
    """At eps -> 0 any attack reproduces the benign episodes exactly (same env seeds)."""
    rows = pd.read_csv(pipeline["rows"])
    benign = rows[rows.attack == "benign"].sort_values("episode")["return"].to_numpy()
    from marl_attacks.victims import load_victim

    policy, _ = load_victim(pipeline["policy"])
    frame, _ = evaluate.evaluate(
        ROLLOUT,
        policy,
        {},
        dict(EVAL, eps=[0.0], attacks=["benign", "hadamard"], n_attacked=["all"]),
        {},
        0,
        "cpu",
        progress=False,
    )
    zero = frame[frame.attack == "hadamard"].sort_values("episode")["return"].to_numpy()
    assert (zero == benign).all()


def test_summary_has_drop_and_ci(pipeline):
    s = pd.read_csv(pipeline["summary"])
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
        "length_change_pct",
    ]:
        assert col in s
    assert (s.ci_low <= s.iqm + 1e-9).all() and (s.iqm <= s.ci_high + 1e-9).all()
    assert (s[s.attack == "benign"].drop_pct == 0).all()


def test_report_outputs(pipeline, tmp_path):
    s = pd.read_csv(pipeline["summary"])
    figures.plot_return_vs_eps(s, str(tmp_path / "fig"))
    assert (tmp_path / "fig.png").stat().st_size > 1000 and (tmp_path / "fig.pdf").exists()
    table = tables.table_main_drop_at(s, str(tmp_path / "drop"), 0.1)
    assert "align-mlp" in table.columns and len(table) == 1
    assert (tmp_path / "drop.tex").read_text().startswith("\\begin{table}")
    victims = tables.table_victims([pipeline["score"]], str(tmp_path / "victims"))
    assert {"train_steps", "return_iqm", "random_return", "steps_per_s", "victim_actions"} <= set(victims.columns)
    assert list(victims.victim_actions) == ["greedy"]
    assert victims.passed.isna().all()  # no threshold configured: neither passed nor failed
    ret = float(victims.return_iqm[0])
    env = victims.env[0]
    above = tables.table_victims([pipeline["score"]], str(tmp_path / "v2"), {"thresholds": {env: ret - 1.0}})
    below = tables.table_victims([pipeline["score"]], str(tmp_path / "v3"), {"thresholds": {env: ret + 1.0}})
    assert above.passed.tolist() == [True] and below.passed.tolist() == [False]
    assert above.threshold.tolist() == [ret - 1.0]
    row = victims.iloc[0]
    assert row.steps_per_s == pytest.approx(row.train_steps / row.train_seconds, abs=1)


def test_corrupted_artifact_is_named(pipeline, tmp_path):
    bad = tmp_path / "policy.pt"
    bad.write_bytes(open(pipeline["policy"], "rb").read()[:200])
    with pytest.raises(ArtifactError, match="policy.pt.*truncated or corrupted"):
        load_artifact(bad)
    with pytest.raises(ArtifactError, match="different config"):
        load_artifact(pipeline["policy"], expect_config={"other": 1})


FIT_MORE = {
    "rnn": dict(FIT, arch="rnn", lstm_hidden=4, seq_len=6),
    "transformer": {
        "arch": "transformer",
        "d_model": 8,
        "heads": 2,
        "layers": 1,
        "ff_dim": 8,
        "epochs": 2,
        "val_frac": 0.2,
        "n_samples": 40,
    },
    "mlp-robust": dict(FIT, arch="mlp-robust", adv_eps=0.1),
}


def test_every_attack_through_fit_and_evaluate(pipeline, tmp_path):
    """Each f_theta arch fits from the samples file; every attack evaluates; costs are tabled."""
    from marl_attacks.alignment import load_align_model
    from marl_attacks.attacks import ATTACKS, runnable_names

    models = {"mlp": pipeline["model"]}
    for arch, cfg in FIT_MORE.items():
        models[arch] = str(tmp_path / f"{arch}.pt")
        fit.run(job(ENV, fit=cfg), samples=pipeline["samples"], out=models[arch], progress=False)
        model, payload = load_align_model(models[arch])
        assert torch.equal(model.val_mse, torch.tensor(payload["stats"]["val_mse"]))
    ev = dict(EVAL, attacks=list(list(ATTACKS)), n_attacked=[1], eps=[0.2], episodes=2)
    rows, cost = str(tmp_path / "eval.csv"), str(tmp_path / "cost.csv")
    params = job(ENV, evaluate=ev, attacks={"white-box-pgd": {"pgd_steps": 2}})
    evaluate.run(params, policy=pipeline["policy"], align=models, rows_out=rows, cost_out=cost, progress=False)
    frame = pd.read_csv(rows)
    assert set(frame.attack) == set(list(ATTACKS))
    attacked = frame[frame.attack != "benign"]
    assert (attacked.n_attacked == 1).all() and (attacked.max_abs_delta <= 0.2 + 1e-6).all()
    costs = pd.read_csv(cost)
    needs_f = [a for a in costs.attack if ATTACKS[a].align_arch]
    assert (costs.set_index("attack").loc[needs_f, "samples_used"] == 40).all()
    table = tables.table_attack_cost([cost, cost], str(tmp_path / "attack_cost"))
    assert set(table.attack) == set(runnable_names()) - {"benign"}
    assert table.set_index("attack").loc["white-box-pgd", "access"].startswith("victim weights")
    assert table.set_index("attack").loc["hadamard", "access"] == "none"
    assert (tmp_path / "attack_cost.tex").read_text().startswith("\\begin{table}")


def test_targeted_evaluation_attacks_lowest_mse_agent(pipeline, monkeypatch):
    """The evaluation lets a targeted attack replace its random choice of agents."""
    from marl_attacks.alignment import load_align_model
    from marl_attacks.victims import load_victim

    policy, _ = load_victim(pipeline["policy"])
    model, _ = load_align_model(pipeline["model"])
    model.val_mse.copy_(torch.tensor([0.3, 0.2, 0.1]))  # agent 2 is the most aligned
    calls, real = [], evaluate.run_episodes

    def spy(*args, attacked=None, **kwargs):
        calls.append(attacked.clone())
        return real(*args, attacked=attacked, **kwargs)

    monkeypatch.setattr(evaluate, "run_episodes", spy)
    frame, _ = evaluate.evaluate(
        ROLLOUT,
        policy,
        {"mlp": model},
        dict(EVAL, attacks=["targeted-hadamard", "hadamard"], n_attacked=[1], eps=[0.2], episodes=3),
        {},
        0,
        "cpu",
        progress=False,
    )
    targeted, random_ = calls
    assert (targeted == torch.tensor([False, False, True])).all()
    assert (random_.sum(-1) == 1).all() and not (random_ == targeted).all()
    assert (frame.n_attacked == 1).all()


def test_export_zoo_copies_finished_victims_only(pipeline, tmp_path):
    """The model-zoo export keeps policy, provenance and curve, and refuses a corrupted policy."""
    from pathlib import Path

    from marl_attacks.victims import ZOO_FILES, export_zoo

    src = tmp_path / "victims"
    victim = src / "vmas-balance" / "mappo" / "seed0"
    victim.mkdir(parents=True)
    policy = Path(pipeline["policy"])
    for name in ZOO_FILES:
        f = policy.parent / name
        if f.exists():
            (victim / name).write_bytes(f.read_bytes())
    (victim / "policy.pt.ckpt").write_bytes(b"resume point")
    (victim / "score.json").write_text("{}")
    copied = export_zoo(str(src), str(tmp_path / "zoo"))
    assert copied == [tmp_path / "zoo" / "vmas-balance" / "mappo" / "seed0" / "policy.pt"]
    shipped = sorted(p.name for p in copied[0].parent.iterdir())
    assert "policy.pt.ckpt" not in shipped and "score.json" not in shipped
    assert "policy.pt" in shipped and "policy.pt.meta.json" in shipped
    import pandas as pd

    curve = pd.read_csv(victim / "curve.csv")
    assert len(curve) > 2  # the test below would not thin it otherwise
    export_zoo(str(src), str(tmp_path / "zoo_thin"), curve_rows=2)
    shipped_curve = pd.read_csv(tmp_path / "zoo_thin" / "vmas-balance" / "mappo" / "seed0" / "curve.csv")
    assert len(shipped_curve) == 2 and shipped_curve.merged_rows.sum() == len(curve)
    assert shipped_curve.env_steps.iloc[-1] == curve.env_steps.iloc[-1]
    (victim / "policy.pt").write_bytes((victim / "policy.pt").read_bytes()[:100])
    with pytest.raises(ArtifactError, match="policy.pt"):
        export_zoo(str(src), str(tmp_path / "zoo2"))


def test_thin_curve_keeps_episodes_and_their_weighted_returns():
    """A shipped curve's bins hold every episode, returns weighted by episodes, losses averaged."""
    import numpy as np
    import pandas as pd

    from marl_attacks.victims import thin_curve

    rng = np.random.default_rng(0)
    n = 1000
    episodes = rng.integers(0, 4, n)
    episodes[100:200] = 0  # one whole bin of 100 rows without a finished episode
    curve = pd.DataFrame(
        dict(
            update=np.arange(n),
            env_steps=64 * (np.arange(n) + 1),
            wall_s=np.linspace(0.1, 99.0, n),
            episodes=episodes,
            episode_return=np.where(episodes > 0, rng.normal(size=n), np.nan),
            td_loss=rng.random(n),
        )
    )
    thin = thin_curve(curve, max_rows=10)
    assert len(thin) == 10 and (thin.merged_rows == 100).all()
    assert thin.episodes.sum() == episodes.sum()
    assert list(thin.env_steps) == list(curve.env_steps[99::100]) and thin.wall_s.iloc[-1] == curve.wall_s.iloc[-1]
    first = curve.iloc[:100]
    weighted = (first.episode_return.fillna(0) * first.episodes).sum() / first.episodes.sum()
    assert thin.episode_return.iloc[0] == pytest.approx(weighted)
    assert np.isnan(thin.episode_return.iloc[1]) and thin.episodes.iloc[1] == 0
    assert thin.td_loss.iloc[3] == pytest.approx(curve.td_loss.iloc[300:400].mean())
    assert thin_curve(curve, max_rows=n) is curve  # short enough: as it is


def test_sampled_victim_through_collect_score_and_evaluate(pipeline, tmp_path):
    """victim_actions: sample reaches every rollout: the samples' provenance names it, the score
    is the benign evaluation (same env seeds, same per-episode action streams), and at eps = 0
    an attack reproduces the benign episodes (common random numbers), as in greedy mode."""
    from marl_attacks import lineage
    from marl_attacks.victims import load_victim

    samples = str(tmp_path / "samples.pt")
    sampled = {**ENV, "victim_actions": "sample"}
    collect.run(
        job(ENV, victim_actions="sample", collect=COLLECT), policy=pipeline["policy"], out=samples, progress=False
    )
    block = load_artifact(samples)["meta"]["config"]
    assert block["victim_actions"] == "sample"
    assert block == lineage.samples_block(sampled, COLLECT, block["victim_config_hash"])
    greedy_obs = load_artifact(pipeline["samples"])["obs"]
    assert not torch.equal(load_artifact(samples)["obs"], greedy_obs)
    scored_path = str(tmp_path / "score.json")
    score.run(job(ENV, victim_actions="sample", episodes=3), policy=pipeline["policy"], out=scored_path)
    scored = json.loads(open(scored_path).read())
    assert scored["victim_actions"] == "sample"
    policy, _ = load_victim(pipeline["policy"])
    frame, _ = evaluate.evaluate(
        sampled,
        policy,
        {},
        dict(EVAL, eps=[0.0, 0.3], attacks=["benign", "hadamard"], n_attacked=["all"]),
        {},
        0,
        "cpu",
        progress=False,
    )
    benign = frame[frame.attack == "benign"].sort_values("episode")["return"].to_numpy()
    zero = frame[(frame.attack == "hadamard") & (frame.eps == 0)].sort_values("episode")["return"].to_numpy()
    assert (zero == benign).all()
    assert abs(scored["return_mean"] - benign.mean()) < 1e-5
    # the per-episode returns behind the mean, for the test against a threshold that is a mean too
    assert scored["returns"] == pytest.approx(benign.tolist(), abs=1e-5) and len(scored["returns"]) == 3
    assert abs(scored["return_std"] - benign.std(ddof=1)) < 1e-4
    table = tables.table_victims([pipeline["score"], scored_path], str(tmp_path / "victims"))
    assert list(table.victim_actions) == ["greedy", "sample"]


def test_partial_team_attacks_and_targeted_skip_full_team(pipeline):
    """Attacks outside evaluate.partial_team_attacks run on the full team only; targeted attacks
    run on fewer agents only (on the full team they equal their untargeted versions)."""
    from marl_attacks.alignment import load_align_model
    from marl_attacks.victims import load_victim

    policy, _ = load_victim(pipeline["policy"])
    model, _ = load_align_model(pipeline["model"])
    ev = dict(
        EVAL,
        attacks=["benign", "hadamard", "targeted-hadamard", "noise-uniform", "noise-ou", "max-noise"],
        partial_team_attacks=["hadamard", "targeted-hadamard"],
    )
    assert evaluate.eval_jobs(ev) == [
        ("benign", "all"),
        ("hadamard", "all"),
        ("hadamard", 1),
        ("targeted-hadamard", 1),
        ("noise-uniform", "all"),
        ("noise-ou", "all"),
    ]
    frame, costs = evaluate.evaluate(ROLLOUT, policy, {"mlp": model}, ev, {}, 0, "cpu", progress=False)
    teams = frame.groupby("attack").n_attacked.agg(lambda s: sorted(set(s)))
    assert teams.to_dict() == {
        "benign": [0],
        "hadamard": [1, 3],
        "targeted-hadamard": [1],
        "noise-uniform": [3],
        "noise-ou": [3],
        "max-noise": [3],
    }
    # without the key every untargeted attack runs at every n_attacked
    jobs = evaluate.eval_jobs({k: v for k, v in ev.items() if k != "partial_team_attacks"})
    assert ("noise-uniform", 1) in jobs and ("targeted-hadamard", "all") not in jobs


@pytest.mark.parametrize("env", ["lbf-2s-8x8-3p-2f-coop", "rware-tiny-4ag"])
def test_a_shipped_victim_scores_the_same_on_both_backends(env, tmp_path):
    """envs.<env>.backend: batched is a drop-in for the reference adapter: the same victim from the
    zoo, scored through the stage as the workflow runs it, gives the same score file."""
    import yaml
    from conftest import ROOT

    from marl_attacks import config as cfgmod

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    cfg["envs"][env].setdefault("evaluate", {})["episodes"] = 6
    scores = {}
    for backend in ("reference", "batched"):
        cfg["envs"][env]["backend"] = backend
        params = cfgmod.score_params(cfg, env, "mappo", 0)
        out = tmp_path / f"{backend}.json"
        score.run(params, policy=str(ROOT / cfg["zoo"] / env / "mappo/seed0/policy.pt"), out=str(out))
        scores[backend] = json.loads(out.read_text())
    assert scores["reference"] == scores["batched"]


@pytest.mark.parametrize("env", ["vmas-navigation", "lbf-2s-8x8-3p-2f-coop"])
@pytest.mark.parametrize("mode", ["sample", "greedy"])
def test_scoring_on_more_episodes_starts_with_the_evaluations(env, mode):
    """envs.<env>.score_episodes scores a victim on more episodes than the evaluation plays: the
    first ones are the evaluation's benign episodes, return for return (the per-episode env seeds
    and action streams do not depend on how many episodes run at once)."""
    import yaml
    from conftest import ROOT

    from marl_attacks import config as cfgmod
    from marl_attacks.envs import make_env
    from marl_attacks.rollout import run_episodes, victim_actor
    from marl_attacks.stages.evaluate import action_seeds, episode_seeds
    from marl_attacks.victims import load_victim

    cfg = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    # the LBF block as the paper config's LBF tasks have it (stepped batched), whichever tasks it runs
    cfg["envs"].setdefault(env, {"max_steps": 50, "victim_actions": "sample"})
    if env.startswith("lbf"):
        cfg["envs"][env]["backend"] = "batched"
    cfg["envs"][env].setdefault("evaluate", {})["episodes"] = 3
    cfg["envs"][env]["score_episodes"] = 7
    assert cfgmod.score_params(cfg, env, "mappo", 0)["episodes"] == 7
    block = cfgmod.score_params(cfg, env, "mappo", 0)["env_block"]
    policy, _ = load_victim(str(ROOT / f"zoo/paper/{env}/mappo/seed0/policy.pt"), torch.device("cpu"))
    returns = {}
    for n in (3, 7):
        e = make_env(
            block["name"],
            n,
            torch.device("cpu"),
            max_steps=block["max_steps"],
            kwargs=block["kwargs"],
            backend=block.get("backend", "reference"),
        )
        actor = victim_actor(policy, mode, action_seeds(0, block["name"], n))
        returns[n] = run_episodes(e, actor, episode_seeds(0, block["name"], n)).returns
    assert torch.equal(returns[7][:3], returns[3])
    del cfg["envs"][env]["score_episodes"]  # unset: the evaluation's episodes
    assert cfgmod.score_params(cfg, env, "mappo", 0)["episodes"] == 3
