"""The protocol block: each choice where the authors' code differs from ours, checked by name, and
the authors' variant of each choice reproduces their code (``src/attack/noise.py`` for noise)."""

import copy
import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT, random_obs, random_spec
from scipy import stats

from marl_attacks import config as cfgmod
from marl_attacks import protocol
from marl_attacks.attacks import AttackContext, make_attack
from marl_attacks.attacks.noise import AUTHORS_OU_TABLE, authors_ou_parameters


@pytest.fixture
def tiny():
    return yaml.safe_load((ROOT / "config/tiny.yaml").read_text())


def test_presets_and_choices_resolve():
    ours = {
        "noise": "symmetric-relative",
        "hadamard": "observation-width",
        "white_box": "greedy-action",
        "targeting": "validation-mse",
        "f_theta": "per-agent",
        "victim_actions": "per-env",
    }
    assert protocol.resolve(None) == protocol.resolve("ours") == ours
    assert protocol.resolve("authors") == {key: "authors" for key in ours}
    assert protocol.resolve({"noise": "authors"}) == {**ours, "noise": "authors"}
    assert protocol.attack_settings("ours") == {}  # ours is the attacks' defaults: params unchanged
    assert protocol.attack_settings("authors") == {
        "noise-exponential": {"sides": "positive"},
        "noise-ou": {"table": "authors"},
        "hadamard": {"width": "victim-input"},
        "targeted-hadamard": {"width": "victim-input", "targets": "per-step"},
        "white-box-fgsm": {"loss": "authors-max"},
        "white-box-pgd": {"loss": "authors-max"},
        "targeted-align": {"targets": "per-step"},
    }
    # what ours leaves alone, the other settings too
    assert protocol.fit_settings("ours") == protocol.evaluate_settings("ours") == protocol.align_archs("ours") == {}


@pytest.mark.parametrize(
    "block,message",
    [
        ({"noise": "loud"}, r"'protocol.noise': 'loud' is not allowed; allowed: \['authors', 'symmetric-relative'\]"),
        ({"hadamrd": "authors"}, r"'protocol.hadamrd': unknown choice; allowed: \['noise', 'hadamard', 'white_box', "),
        ("theirs", r"'protocol': 'theirs' is not allowed; allowed: \['authors', 'ours'\]"),
    ],
)
def test_config_check_names_key_and_allowed_values(tiny, block, message):
    tiny["protocol"] = block
    with pytest.raises(cfgmod.ConfigError, match=message):
        cfgmod.check(tiny)


def test_an_attack_block_cannot_set_what_the_protocol_sets(tiny):
    tiny["attacks"]["noise-ou"] = {"table": "authors"}
    with pytest.raises(cfgmod.ConfigError, match=r"'attacks.noise-ou.table': set by the protocol; use protocol.noise"):
        cfgmod.check(tiny)


def test_the_protocol_reaches_the_evaluation_params(tiny):
    ours = cfgmod.evaluate_params(tiny, "vmas-balance", "mappo", 0)
    authors = copy.deepcopy(tiny)
    authors["protocol"] = "authors"
    cfgmod.check(authors)
    theirs = cfgmod.evaluate_params(authors, "vmas-balance", "mappo", 0)
    assert theirs["attacks"]["noise-exponential"] == {"sides": "positive"}
    assert theirs["attacks"]["noise-ou"] == {"table": "authors"}
    assert theirs["attacks"]["hadamard"] == {"width": "victim-input"}
    assert theirs["attacks"]["targeted-hadamard"] == {"width": "victim-input", "targets": "per-step"}
    assert theirs["attacks"]["white-box-fgsm"] == {"loss": "authors-max"}
    assert theirs["attacks"]["white-box-pgd"] == {**ours["attacks"]["white-box-pgd"], "loss": "authors-max"}
    tiny["protocol"] = "ours"
    assert cfgmod.evaluate_params(tiny, "vmas-balance", "mappo", 0) == ours  # no rerun for ours


def test_the_command_line_refuses_an_unknown_protocol_value(tmp_path, tiny):
    tiny["protocol"] = {"noise": "loud"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(tiny))
    cmd = [sys.executable, "-m", "marl_attacks", "score", "--config", str(bad), "--env", "vmas-balance"]
    res = subprocess.run(
        [*cmd, "--algo", "mappo", "--seed", "0", "--policy", "p.pt", "--out", "s.json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0
    assert "'protocol.noise': 'loud' is not allowed; allowed: ['authors', 'symmetric-relative']" in res.stderr


def test_victim_actions_follow_epymarl_per_algorithm_under_the_authors_protocol(tiny):
    """protocol victim_actions: authors acts as EPyMARL on every env (MAPPO samples: its soft_policies
    selector ignores test_greedy; QMIX greedy: evaluation_epsilon 0), whatever envs.<env>.victim_actions
    says; per-env (ours) follows that key. The choice reaches every job where the victim acts, and the
    samples' provenance, but not training."""
    tiny["algos"]["qmix"] = {"total_steps": 2000, "num_envs": 8, "hidden": 16}
    tiny["envs"]["mpe-simple_spread"]["victim_actions"] = "sample"
    envs, algos = ["vmas-balance", "mpe-simple_spread"], ["mappo", "qmix"]

    def modes(cfg):
        cfgmod.check(cfg)
        return {(e, a): cfgmod.victim_actions(cfg, e, a) for e in envs for a in algos}

    assert modes(tiny) == {
        ("vmas-balance", "mappo"): "greedy",
        ("vmas-balance", "qmix"): "greedy",
        ("mpe-simple_spread", "mappo"): "sample",
        ("mpe-simple_spread", "qmix"): "sample",  # epsilon-greedy with eps_end
    }
    authors = {**tiny, "protocol": {"victim_actions": "authors"}}
    assert modes(authors) == {(e, a): {"mappo": "sample", "qmix": "greedy"}[a] for e in envs for a in algos}
    assert (
        cfgmod.victim_actions(authors, "vmas-balance", "mappo-gru") == "sample"
    )  # a GRU variant acts as its algorithm
    for builder in (cfgmod.score_params, cfgmod.collect_params, cfgmod.evaluate_params):
        assert builder(authors, "vmas-balance", "mappo", 0)["env_block"]["victim_actions"] == "sample"
        assert builder(authors, "mpe-simple_spread", "qmix", 0)["env_block"]["victim_actions"] == "greedy"
    mine = cfgmod.expected_inputs(tiny, "vmas-balance", "mappo", 0)
    theirs = cfgmod.expected_inputs(authors, "vmas-balance", "mappo", 0)
    assert theirs["samples"]["config"]["victim_actions"] == "sample" and mine["policy"] == theirs["policy"]
    assert cfgmod.train_params(authors, "vmas-balance", "mappo", 0) == cfgmod.train_params(
        tiny, "vmas-balance", "mappo", 0
    )


def test_the_victims_table_says_how_each_victim_acted_and_what_set_it(tmp_path):
    from marl_attacks.reporting.tables import table_victims

    scores = []
    for algo, mode in [("mappo", "sample"), ("qmix", "greedy")]:
        path = tmp_path / f"{algo}.json"
        score = {"env": "vmas-balance", "algo": algo, "seed": 0, "victim_actions": mode, "train_steps": 10}
        path.write_text(json.dumps({**score, "train_seconds": 1.0, "return_iqm": 1.0, "random_return": 0.0}))
        scores.append(str(path))
    for rule, says in [("authors", "per algorithm as EPyMARL"), ("per-env", "as envs.<env>.victim_actions says")]:
        frame = table_victims(scores, str(tmp_path / rule), {"thresholds": {}, "actions_rule": rule})
        assert frame.set_index("algo").victim_actions.to_dict() == {"mappo": "sample", "qmix": "greedy"}
        md = (tmp_path / f"{rule}.md").read_text()
        assert says in md and f"victim_actions = {rule}" in md and "| sample " in md


def _draws(name, params, eps, n=20000, steps=1):
    spec = random_spec(3, n_agents=2, obs_dim=50, bounded=False)
    spec = dataclasses.replace(spec, perturbable=torch.ones(2, 50, dtype=torch.bool))
    attack = make_attack(name, AttackContext(spec=spec, generator=torch.Generator().manual_seed(0)), params)
    obs = random_obs(spec, n // 100, 1)
    attack.reset(len(obs), "cpu")
    out = [
        attack.perturb(obs, torch.full((len(obs),), eps), torch.ones(len(obs), 2, dtype=torch.bool))
        for _ in range(steps)
    ]
    return spec, obs, out


def test_one_sided_exponential_noise_matches_the_authors_distribution():
    """Their draw: torch.distributions.Exponential(-ln(0.01)/eps).sample, clamped to +-eps."""
    eps = 0.1
    torch.manual_seed(0)  # their sampler draws from torch's global generator: fixed, so the KS test cannot flake
    theirs = torch.distributions.Exponential(-math.log(0.01) / eps).sample((20000,)).clamp(-eps, eps)
    _, _, (ours,) = _draws("noise-exponential", {"sides": "positive"}, eps)
    assert (ours >= 0).all() and ours.max() <= eps + 1e-7
    assert stats.ks_2samp(ours.flatten().numpy(), theirs.numpy()).pvalue > 0.01
    _, _, (symmetric,) = _draws("noise-exponential", None, eps)  # ours: the test tells them apart
    assert stats.ks_2samp(symmetric.flatten().numpy(), theirs.numpy()).pvalue < 1e-6


def test_tabled_ou_noise_follows_the_authors_update():
    """Their update with their table's columns swapped (theta := table sigma, sigma := table theta),
    mean eps, state from 0, dt = 1, clamped to +-eps: the same normal draws give the same noise."""
    eps = 0.1
    spec, obs, ours = _draws("noise-ou", {"table": "authors"}, eps, n=400, steps=5)
    theta, sigma = AUTHORS_OU_TABLE[eps]["sigma"], AUTHORS_OU_TABLE[eps]["theta"]
    g, state = torch.Generator().manual_seed(0), torch.zeros_like(obs)
    for step in ours:
        state = state + theta * (eps - state) + sigma * torch.randn(obs.shape, generator=g)
        assert torch.allclose(step, state.clamp(-eps, eps), atol=1e-6)
    with pytest.raises(ValueError, match=r"eps \[0.12\] not in the authors' table"):
        authors_ou_parameters(torch.tensor([0.1, 0.12]))
    assert authors_ou_parameters(torch.tensor([0.0, 1.0]))[0].tolist() == [0.0, pytest.approx(0.1)]


def partial_hadamard_approx(n, m):
    """The authors' function (src/attack/align.py at 8748e4d), with scipy's Sylvester Hadamard."""
    from scipy.linalg import hadamard

    big = 2 ** ((m - 1).bit_length() - 1)
    sub = hadamard(big)[:n, :]
    return np.pad(sub, ((0, 0), (0, m - big))) if big < m else sub


@pytest.mark.parametrize("n,d", [(2, 10), (3, 13), (3, 16), (4, 71), (2, 14), (8, 30), (3, 15), (3, 6), (4, 13)])
def test_hadamard_equals_the_authors_matrix_on_the_observation(n, d):
    """Their perturbation of the victim's input (d observation dims + n ID dims), ID dims zeroed,
    restricted to the observation: our victim-input directions, for every (n, d)."""
    from marl_attacks.attacks import hadamard_directions

    assert n <= 2 ** ((n + d - 1).bit_length() - 1)  # their H[:n] needs a row per agent
    theirs = partial_hadamard_approx(n, d + n).astype(np.float32)
    theirs[:, -n:] = 0
    ours = hadamard_directions(n, d, width="victim-input")
    assert np.array_equal(ours.numpy(), theirs[:, :d])
    # ours (observation width) differs exactly where the input width gives another order
    same_order = 2 ** (d.bit_length() - 1) == 2 ** ((n + d - 1).bit_length() - 1)
    assert torch.equal(hadamard_directions(n, d), ours) == same_order


def _their_white_box_step(victim, obs, avail, eps, value_victim):
    """The authors' WhiteboxAttack.perturbation on our victim: one step on -max of the masked
    softmax probabilities (policy) or of the Q-values (value), unavailable ones filled with 0."""
    x = obs.clone().requires_grad_(True)
    out = victim.q_values(x) if value_victim else victim.head(x)
    if not value_victim:
        out = torch.softmax(out.masked_fill(~avail, -1e10), -1)
    loss = -out.masked_fill(~avail, 0.0).max(dim=2)[0].sum()
    loss.backward()
    return eps * x.grad.sign()


@pytest.mark.parametrize("algo", ["mappo", "qmix"])
def test_white_box_fgsm_equals_the_authors_step(algo):
    from marl_attacks.algos.mappo import MappoPolicy
    from marl_attacks.algos.qmix import QPolicy

    spec = random_spec(5, n_agents=3, obs_dim=12, bounded=False)
    spec = dataclasses.replace(spec, perturbable=torch.ones(3, 12, dtype=torch.bool))
    torch.manual_seed(0)
    victim = MappoPolicy(3, 12, "discrete", 5, hidden=16) if algo == "mappo" else QPolicy(3, 12, 5, hidden=16)
    obs = random_obs(spec, 64, 2)
    avail = torch.rand(64, 3, 5, generator=torch.Generator().manual_seed(3)) < 0.7
    avail[..., 0] = True
    eps = torch.full((64,), 0.1)
    attacked = torch.ones(64, 3, dtype=torch.bool)
    theirs = _their_white_box_step(victim, obs, avail, 0.1, algo == "qmix")

    def ours(loss):
        ctx = AttackContext(spec=spec, generator=torch.Generator().manual_seed(0), victim=victim)
        attack = make_attack("white-box-fgsm", ctx, {"loss": loss})
        attack.avail = avail
        return attack.perturb(obs, eps, attacked)

    assert torch.equal(ours("authors-max"), theirs)
    greedy = ours("greedy-action")
    if algo == "mappo":  # -log p and -p of the most likely action: the same signs
        assert torch.equal(greedy, theirs)
    else:  # the authors' 0-filled maximum differs where every available Q-value is negative
        with torch.no_grad():
            q = victim.q_values(obs)
        avail[:] = q < 0  # only negative Q-values available, at least one, and an unavailable action
        avail.scatter_(-1, q.argmin(-1, keepdim=True), True)
        avail.scatter_(-1, q.argmax(-1, keepdim=True), False)
        negative = q.masked_fill(~avail, float("-inf")).amax(-1) < 0  # [B, n]: every available Q < 0
        assert negative.float().mean() > 0.5
        theirs = _their_white_box_step(victim, obs, avail, 0.1, True)
        assert torch.equal(ours("authors-max"), theirs)
        assert (theirs[negative] == 0).all()  # their maximum is an unavailable action's 0: no gradient
        assert (ours("greedy-action")[negative].abs() > 0).any()
