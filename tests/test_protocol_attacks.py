"""The protocol's attack-side choices against the authors' code: per-step targeting and per-step
random agents (``protocol.targeting``, their ``src/attack/align.py``), their shared f_theta on built
inputs (``protocol.f_theta``, ``src/attack/utils.py`` / ``trainer.py``), and Align with its step
tuned on the victim's return (``align-mlp-tuned``, ``src/grid_search.py``)."""

import copy
import dataclasses

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT, random_obs, random_spec

from marl_attacks import config as cfgmod
from marl_attacks.alignment import AUTHORS_MODELS, AlignmentModel, FitConfig, built_inputs, fit, load_align_model
from marl_attacks.alignment.authors import AuthorsMLP, AuthorsRNN, AuthorsTransformer
from marl_attacks.attacks import ATTACKS, AttackContext, make_attack
from marl_attacks.attacks.align import AlignAttack
from marl_attacks.attacks.tuned import lowest_return_point
from marl_attacks.stages import evaluate as evaluate_stage

ENV = {"name": "mpe-simple_spread", "max_steps": 6, "kwargs": {"N": 3, "local_ratio": 0.5}, "victim_actions": "greedy"}


@pytest.fixture
def tiny():
    return yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


# ---- targeting ------------------------------------------------------------------------------------


class OwnMagnitude(AlignmentModel):
    """A crafted f_theta predicting 0 for everyone: agent i's error is the mean of o_i^2, so the
    observations fed at a step decide which agents it finds best aligned then."""

    def predict_normalised(self, obs):
        return torch.zeros_like(obs)


def spec_all_perturbable(n=4, d=5):
    spec = random_spec(1, n_agents=n, obs_dim=d, bounded=False)
    return dataclasses.replace(spec, perturbable=torch.ones(n, d, dtype=torch.bool))


def step_obs(scales):
    """One joint observation per row of ``scales`` ``[B, n]``: agent i's entries all equal scale."""
    return scales.unsqueeze(-1).expand(*scales.shape, 5).clone()


@pytest.mark.parametrize("name", ["targeted-align", "targeted-hadamard"])
def test_per_step_targeting_picks_the_lowest_current_error_each_step(name):
    spec = spec_all_perturbable()
    model = OwnMagnitude(4, 5)
    model.val_mse.copy_(torch.tensor([0.4, 0.3, 0.2, 0.1]))  # ours would always take agent 3 (then 2)
    attacked = torch.tensor([[True, True, False, False], [True, False, False, False]])  # m = 2, m = 1
    eps = torch.full((2,), 0.1)
    scale_steps = [
        torch.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]]),
        torch.tensor([[4.0, 1.0, 3.0, 2.0], [2.0, 4.0, 1.0, 3.0]]),
        torch.tensor([[3.0, 3.0, 1.0, 1.0], [3.0, 3.0, 3.0, 3.0]]),  # ties: the lower index
    ]
    expected = [
        [[1, 1, 0, 0], [0, 0, 0, 1]],
        [[0, 1, 0, 1], [0, 0, 1, 0]],
        [[0, 0, 1, 1], [1, 0, 0, 0]],
    ]
    per_step = make_attack(name, AttackContext(spec, torch.Generator(), model), {"targets": "per-step"})
    fixed = make_attack(name, AttackContext(spec, torch.Generator(), model))  # ours: validation MSE
    for attack in (per_step, fixed):
        attack.reset(2, "cpu")
    for scales, want in zip(scale_steps, expected):
        obs = step_obs(scales)
        touched = per_step.perturb(obs, eps, attacked).abs().amax(-1) > 0
        assert torch.equal(touched, torch.tensor(want, dtype=torch.bool))
        touched = fixed.perturb(obs, eps, attacked).abs().amax(-1) > 0
        assert torch.equal(touched, torch.tensor([[0, 0, 1, 1], [0, 0, 0, 1]], dtype=torch.bool))


def test_per_step_targeting_with_a_recurrent_f_theta_reads_the_state_of_the_perturbed_steps():
    """Their RNNperturbation_: the error of this step's clean input from the hidden state that the
    earlier *perturbed* inputs left; the state then advances on this step's perturbed input."""
    torch.manual_seed(0)
    spec = spec_all_perturbable(3, 5)
    model = AuthorsRNN(3, 5, hidden=8, layers=2, lstm_hidden=4).eval()
    attack = make_attack("targeted-hadamard", AttackContext(spec, torch.Generator(), model), {"targets": "per-step"})
    B, eps = 16, torch.full((16,), 0.5)
    attacked = torch.zeros(B, 3, dtype=torch.bool)
    attacked[:, 0] = True
    attack.reset(B, "cpu")
    state, picks = model.initial_state(B), []
    for t in range(4):
        obs = random_obs(spec, B, t) * 2
        with torch.no_grad():
            error = model.per_agent_loss(obs, state)
        delta = attack.perturb(obs, eps, attacked)
        assert torch.equal(delta.abs().amax(-1) > 0, torch.nn.functional.one_hot(error.argmin(-1), 3).bool())
        picks.append(error.argmin(-1))
        state = model.step(obs + delta, state)[1]
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(state, attack.state))
    assert len({tuple(p.tolist()) for p in picks}) > 1  # the choice moves with the steps


def test_targets_hyperparameter_names_the_allowed_values():
    spec = spec_all_perturbable()
    with pytest.raises(ValueError, match=r"targets 'often'; allowed: \['validation-mse', 'per-step'\]"):
        make_attack("targeted-align", AttackContext(spec, torch.Generator(), OwnMagnitude(4, 5)), {"targets": "often"})


def test_step_targets_redraw_every_step_from_one_stream_per_episode():
    draws = evaluate_stage.StepTargets(4, 2, [11, 12, 13])
    steps = [draws() for _ in range(20)]
    assert all(torch.equal(s.sum(-1), torch.full((3,), 2)) for s in steps)
    for b in range(3):  # each episode's agents change over the steps
        assert len({tuple(s[b].tolist()) for s in steps}) > 1
    again = evaluate_stage.StepTargets(4, 2, [13])  # an episode draws the same in any batch
    assert all(torch.equal(again()[0], s[2]) for s in steps)


def _attacked_per_step(monkeypatch, eval_cfg, name="hadamard"):
    """The agents the rollout gives the attack at each step of an evaluation, per batch."""
    from marl_attacks.algos.mappo import MappoPolicy
    from marl_attacks.rollout import run_episodes

    seen = []

    def spy(env, act, seeds, attack=None, eps=None, attacked=None, record=False):
        masks = []
        perturb = attack.perturb

        def noting(obs, eps_, mask):
            masks.append(mask.clone())
            return perturb(obs, eps_, mask)

        attack.perturb = noting
        res = run_episodes(env, act, seeds, attack, eps, attacked, record)
        seen.append(torch.stack(masks))
        return res

    monkeypatch.setattr(evaluate_stage, "run_episodes", spy)
    torch.manual_seed(0)
    policy = MappoPolicy(3, 18, "discrete", 5, hidden=8)
    cfg = dict(episodes=3, eps=[0.2], attacks=[name], n_attacked=[1], max_batch=8, **eval_cfg)
    evaluate_stage.evaluate(ENV, policy, {}, cfg, {}, 0, "cpu", progress=False)
    return seen[0]  # [steps, episodes, n]


def test_random_agents_are_redrawn_every_step_with_the_authors_targeting(monkeypatch):
    ours = _attacked_per_step(monkeypatch, {})
    assert (ours == ours[0]).all()  # fixed per episode
    theirs = _attacked_per_step(monkeypatch, {"random_targets": "per-step"})
    assert (theirs.sum(-1) == 1).all()
    assert all(len({tuple(theirs[t, e].tolist()) for t in range(len(theirs))}) > 1 for e in range(3))


def test_the_authors_targeting_reaches_the_jobs_that_use_it(tiny):
    authors = copy.deepcopy(tiny)
    authors["protocol"] = {"targeting": "authors"}
    cfgmod.check(authors)
    grid = cfgmod.evaluate_params(authors, "mpe-simple_spread", "mappo", 0)
    assert grid["evaluate"]["align_archs"] == {"targeted-hadamard": "rnn"}
    assert grid["evaluate"]["random_targets"] == "per-step"
    assert grid["attacks"]["targeted-align"] == {"targets": "per-step"}
    assert grid["expect_align"].keys() >= {"mlp", "rnn"}
    ablation = cfgmod.ablation_params(authors, "n_attacked", "mpe-simple_spread", "mappo", 0)
    assert ablation["block"]["align_archs"] == {"targeted-hadamard": "rnn"} and "rnn" in ablation["expect_align"]
    # jobs that do not use it keep their params (no rerun)
    for job in ("fit_params", "collect_params", "train_params"):
        args = ("mlp",) if job == "fit_params" else ()
        assert getattr(cfgmod, job)(authors, "mpe-simple_spread", "mappo", 0, *args) == getattr(cfgmod, job)(
            tiny, "mpe-simple_spread", "mappo", 0, *args
        )
    for ab in ("samples", "pgd_steps"):
        assert cfgmod.ablation_params(authors, ab, "mpe-simple_spread", "mappo", 0) == cfgmod.ablation_params(
            tiny, ab, "mpe-simple_spread", "mappo", 0
        )
    del authors["fit"]["rnn"]
    with pytest.raises(
        cfgmod.ConfigError, match=r"need f_theta 'rnn' but fit.rnn is not .* gives \['targeted-hadamard'\]"
    ):
        cfgmod.check(authors)


# ---- the authors' f_theta -------------------------------------------------------------------------


def test_the_authors_inputs_and_targets_are_their_get_io():
    """Their get_io_ / prepare_data_ on the built inputs (observation, then the ID one-hot): agent
    i's input is the teammates' rows j != i in order, flattened; its target its own row."""
    obs = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])  # one step, 3 agents, d = 2
    a, b, c = [1, 2, 1, 0, 0], [3, 4, 0, 1, 0], [5, 6, 0, 0, 1]  # built inputs, written out
    model = AuthorsMLP(3, 2, hidden=4, layers=1)
    inputs, targets = model.pairs(obs)
    assert inputs[0].tolist() == [b + c, a + c, a + b]
    assert targets[0].tolist() == [a, b, c]
    assert torch.equal(built_inputs(obs)[0], torch.tensor([a, b, c], dtype=torch.float))
    tokens, _ = AuthorsTransformer(3, 2, d_model=4, heads=1, layers=1, ff_dim=4).pairs(obs)  # get_io_transformer_
    assert tokens[0].tolist() == [[b, c], [a, c], [a, b]]


@pytest.mark.parametrize("arch", ["mlp", "rnn", "transformer"])
def test_the_authors_f_theta_is_one_network_for_every_agent(arch):
    torch.manual_seed(0)
    sizes = {"mlp": dict(hidden=8, layers=2), "rnn": dict(hidden=8, layers=2, lstm_hidden=4)}
    model = AUTHORS_MODELS[arch](3, 4, **sizes.get(arch, dict(d_model=8, heads=2, layers=1, ff_dim=8))).eval()
    obs = torch.randn(5, 3, 4)
    pred, (inputs, targets) = model.predict(obs), model.pairs(obs)
    assert pred.shape == (5, 3, 4 + 3)
    for i in range(3):  # agent i's prediction is the shared network on agent i's input
        alone = model.forward_pairs(inputs[:, i].unsqueeze(1) if arch == "rnn" else inputs[:, i])
        alone = alone[0][:, 0] if arch == "rnn" else alone
        assert torch.allclose(pred[:, i], alone, atol=1e-5)
    assert torch.allclose(model.per_agent_loss(obs), (pred - targets).pow(2).mean(-1))
    if arch == "mlp":  # their AlignNetwork: Linear(in, h), layers x (Linear(h, h)), Linear(h, out)
        linears = [m for m in model.net if isinstance(m, torch.nn.Linear)]
        assert [lin.in_features for lin in linears] == [2 * 7, 8, 8, 8]


def test_the_authors_f_theta_is_not_standardised_and_fits():
    from test_alignment import aligned_dataset

    data = aligned_dataset(N=400) * 10 + 3  # far from zero mean, unit scale
    cfg = FitConfig(arch="mlp", hidden=64, layers=1, lr=3e-3, epochs=40, n_samples=400, form="authors")
    model, stats = fit(data, cfg, seed=0, progress=False)
    assert isinstance(model, AuthorsMLP)
    assert torch.equal(model.mean, torch.zeros(3, 7)) and torch.equal(model.std, torch.ones(3, 7))
    var = built_inputs(data).var(0).mean(-1)  # MSE of predicting the mean of the built input
    assert (torch.tensor(stats["val_mse"]) < 0.05 * var).all()
    assert torch.equal(model.val_mse, torch.tensor(stats["val_mse"]))


def test_align_ascends_the_authors_f_theta_and_leaves_the_ids_alone():
    torch.manual_seed(0)
    spec = spec_all_perturbable(3, 5)
    model = AuthorsMLP(3, 5, hidden=16, layers=1).eval()
    attack = AlignAttack(AttackContext(spec, torch.Generator(), model), pgd_steps=3)
    obs = random_obs(spec, 8, 0)
    delta = attack.perturb(obs, torch.full((8,), 0.3), torch.ones(8, 3, dtype=torch.bool))
    assert delta.shape == obs.shape  # the observation only: the ID one-hot is never perturbed
    with torch.no_grad():
        assert (model.per_agent_loss(obs + delta).sum(-1) > model.per_agent_loss(obs).sum(-1)).all()


def test_the_authors_f_theta_reaches_the_fit_jobs_and_round_trips(tiny, tmp_path):
    from marl_attacks.io import save_artifact

    authors = copy.deepcopy(tiny)
    authors["protocol"] = {"f_theta": "authors"}
    cfgmod.check(authors)
    for arch in ("mlp", "rnn", "transformer", "mlp-robust"):
        assert cfgmod.fit_params(authors, "vmas-balance", "mappo", 0, arch)["fit"]["form"] == "authors"
        assert "form" not in cfgmod.fit_params(tiny, "vmas-balance", "mappo", 0, arch)["fit"]
    theirs, ours = (cfgmod.evaluate_params(c, "vmas-balance", "mappo", 0) for c in (authors, tiny))
    assert theirs["expect_align"] != ours["expect_align"]  # the evaluation reruns on the new f_theta
    assert {k: v for k, v in theirs.items() if k != "expect_align"} == {
        k: v for k, v in ours.items() if k != "expect_align"
    }
    model = AuthorsRNN(3, 4, hidden=8, layers=2, lstm_hidden=4).eval()
    path = tmp_path / "rnn.pt"
    payload = {"arch": "rnn", "form": "authors", "init_kwargs": model.init_kwargs, "state_dict": model.state_dict()}
    save_artifact(str(path), {**payload, "stats": {}}, {"fit": {}}, 0)
    loaded, _ = load_align_model(str(path))
    obs = torch.randn(2, 3, 4)
    assert isinstance(loaded, AuthorsRNN) and torch.equal(loaded.predict(obs), model.predict(obs))


# ---- align-mlp-tuned ------------------------------------------------------------------------------


def test_the_search_picks_the_known_best_point_of_a_synthetic_victim():
    """A victim whose return is lowest at (alpha, K) = (0.05, 15) at eps 0.1 and at (0.25, 10) at
    eps 0.5 (plus noise smaller than the gaps): the tuning finds both, on its own episodes."""
    spec = spec_all_perturbable(3, 5)
    params = {"alphas": [0.0, 0.01, 0.05, 0.25], "ks": [10, 15, 20], "tune_episodes": 5}
    best = {0.1: (0.05, 15), 0.5: (0.25, 10)}
    g, calls = torch.Generator().manual_seed(0), []

    def victim(attack, eps, episodes):
        calls.append(episodes)
        point = (attack.alpha, attack.steps)
        gap = torch.tensor([0.0 if point == best[e] else 1.0 + abs(attack.alpha - 0.1) for e in eps])
        return 10 * gap + 0.1 * torch.rand(len(eps), generator=g)

    chosen = evaluate_stage.tune(
        "align-mlp-tuned", "all", spec, None, None, ENV, OwnMagnitude(3, 5), params, [0.1, 0.5], 0, run=victim
    )
    assert chosen == best
    assert len(calls) == 12 and all(c == [0, 1, 2, 3, 4] * 2 for c in calls)  # a batch per point, both eps
    assert lowest_return_point({(0.0, 10): 1.0, (0.01, 10): 1.0}) == (0.0, 10)  # ties: grid order
    tuning = {evaluate_stage.derive_seed(0, "tune", ENV["name"], e) for e in range(5)}
    assert not tuning & set(evaluate_stage.episode_seeds(0, ENV["name"], 50))


def test_the_tuned_attack_is_evaluated_at_the_chosen_point(monkeypatch):
    """Its rows are Align's with K and alpha / eps of the point the tuning chose, per eps."""
    from marl_attacks.algos.mappo import MappoPolicy

    torch.manual_seed(0)
    policy = MappoPolicy(3, 18, "discrete", 5, hidden=8)
    model = AUTHORS_MODELS["mlp"](3, 18, hidden=8, layers=1).eval()
    model.val_mse.fill_(0.0)
    chosen = {0.1: (0.05, 3), 0.3: (0.0, 2)}
    monkeypatch.setattr(evaluate_stage, "tune", lambda *a, **k: chosen)
    cfg = dict(episodes=3, eps=[0.1, 0.3], attacks=["align-mlp-tuned"], n_attacked=["all"], max_batch=8)
    rows, _ = evaluate_stage.evaluate(ENV, policy, {"mlp": model}, cfg, {}, 0, "cpu", progress=False)
    for eps, (alpha, k) in chosen.items():
        step = {"pgd_steps": k, "step_size": alpha / eps if alpha else None}
        plain = dict(cfg, eps=[eps], attacks=["align-mlp"])
        ref, _ = evaluate_stage.evaluate(ENV, policy, {"mlp": model}, plain, {"align-mlp": step}, 0, "cpu", False)
        mine = rows[rows.eps == eps]
        assert (mine.tuned_alpha == alpha).all() and (mine.tuned_k == k).all()
        assert np.allclose(mine["return"].to_numpy(), ref["return"].to_numpy())
        assert np.allclose(mine.max_abs_delta.to_numpy(), ref.max_abs_delta.to_numpy(), atol=1e-6)


def test_the_tuned_attack_runs_on_its_envs_only_and_says_it_queries_returns(tiny):
    from marl_attacks.reporting.tables import attack_access

    assert "align-mlp-tuned" in tiny["evaluate"]["attacks"]  # the tiny config runs it (on one env)
    tiny["attacks"]["align-mlp-tuned"] = {"alphas": [0.0, 0.05], "ks": [2], "envs": ["mpe-simple_spread"]}
    cfgmod.check(tiny)
    on, off = (cfgmod.evaluate_params(tiny, env, "mappo", 0) for env in ("mpe-simple_spread", "vmas-balance"))
    assert "align-mlp-tuned" in on["evaluate"]["attacks"] and "align-mlp-tuned" not in off["evaluate"]["attacks"]
    assert on["attacks"]["align-mlp-tuned"] == {"alphas": [0.0, 0.05], "ks": [2]}  # where it runs is not a param
    assert "yes" in ATTACKS["align-mlp-tuned"].access.queries and "returns" in attack_access("align-mlp-tuned")
    tiny["attacks"]["align-mlp-tuned"]["envs"] = ["lbf-nowhere"]
    with pytest.raises(cfgmod.ConfigError, match=r"'attacks.align-mlp-tuned.envs': \['lbf-nowhere'\]"):
        cfgmod.check(tiny)
    tiny["attacks"]["align-mlp-tuned"] = {"ks": []}
    with pytest.raises(cfgmod.ConfigError, match=r"'attacks.align-mlp-tuned': alphas .* ks \[\] >= 1"):
        cfgmod.check(tiny)
