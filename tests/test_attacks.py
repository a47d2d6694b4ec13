"""Invariants of every registered attack, over many random observation layouts."""

import pytest
import torch
from conftest import random_obs, random_spec

from marl_attacks.algos.mappo import MappoPolicy
from marl_attacks.alignment import ALIGN_MODELS, AlignmentMLP, AlignmentRNN, AlignmentTransformer
from marl_attacks.attacks import (
    ATTACKS,
    AttackContext,
    hadamard_directions,
    make_attack,
    project_delta,
    runnable_names,
    sylvester_hadamard,
)
from marl_attacks.attacks.align import AlignAttack

SPEC_SEEDS = range(12)
#: tiny sizes of every f_theta architecture
TINY = {
    AlignmentMLP: dict(hidden=16, layers=2),
    AlignmentRNN: dict(hidden=16, layers=2, lstm_hidden=8),
    AlignmentTransformer: dict(d_model=8, heads=2, layers=1, ff_dim=16),
}
PGD = {name for name, e in ATTACKS.items() if e.config and "pgd_steps" in e.config.__dataclass_fields__}


def tiny_model(arch, n, d, val_mse=None):
    cls = ALIGN_MODELS[arch]
    model = cls(n, d, **TINY[cls]).eval()
    model.val_mse.copy_(torch.rand(n) if val_mse is None else torch.as_tensor(val_mse))
    return model


def context(spec, seed=0, arch="mlp"):
    torch.manual_seed(seed)
    model = tiny_model(arch or "mlp", spec.n_agents, spec.obs_dim)
    victim = MappoPolicy(spec.n_agents, spec.obs_dim, spec.action_type, spec.action_dim, hidden=16)
    return AttackContext(spec=spec, generator=torch.Generator().manual_seed(seed), align_model=model, victim=victim)


def build(name, spec, seed=0):
    return make_attack(name, context(spec, seed, ATTACKS[name].align_arch), {"pgd_steps": 3} if name in PGD else None)


def run_attack(name, spec, obs, eps, attacked, steps=3):
    """Deltas of ``steps`` consecutive steps and the agents the attack really perturbs."""
    attack = build(name, spec)
    attack.reset(obs.shape[0], obs.device)
    deltas = []
    for _ in range(steps):  # stateful attacks (OU, recurrent f_theta) evolve over steps
        deltas.append(attack.perturb(obs, eps, attacked))
    return deltas, attack.choose_targets(attacked)


@pytest.mark.parametrize("name", sorted(runnable_names()))
@pytest.mark.parametrize("spec_seed", SPEC_SEEDS)
def test_perturbation_is_feasible(name, spec_seed):
    spec = random_spec(spec_seed, discrete=spec_seed % 3 != 0)
    B = 16
    obs = random_obs(spec, B, spec_seed)
    g = torch.Generator().manual_seed(spec_seed)
    eps = torch.rand(B, generator=g) * 0.8
    attacked = torch.rand(B, spec.n_agents, generator=g) < 0.6
    deltas, targets = run_attack(name, spec, obs, eps, attacked)
    # targeted attacks choose their own agents, as many as the evaluation asked for
    assert torch.equal(targets.sum(-1), attacked.sum(-1))
    if not ATTACKS[name].cls.chooses_targets:
        assert torch.equal(targets, attacked)
    attacked = targets
    for delta in deltas:
        assert delta.shape == obs.shape
        # |delta|_inf <= eps per sample
        assert (delta.abs().amax((1, 2)) <= eps + 1e-6).all()
        # untouched: non-perturbable dims and unattacked agents
        frozen = ~spec.perturbable.unsqueeze(0) | ~attacked.unsqueeze(-1)
        assert (delta[frozen.expand_as(delta)] == 0).all()
        # inside the observation bounds
        perturbed = obs + delta
        assert (perturbed >= spec.obs_low - 1e-6).all() and (perturbed <= spec.obs_high + 1e-6).all()


@pytest.mark.parametrize("name", sorted(runnable_names()))
def test_zero_eps_gives_zero_perturbation(name):
    spec = random_spec(3, bounded=False)
    obs = random_obs(spec, 8, 0)
    attacked = torch.ones(8, spec.n_agents, dtype=torch.bool)
    for delta in run_attack(name, spec, obs, torch.zeros(8), attacked)[0]:
        assert (delta == 0).all()


def test_projection_clips_to_bounds_and_budget():
    spec = random_spec(5, bounded=True)
    obs = random_obs(spec, 4, 1)
    huge = torch.full_like(obs, 10.0)
    eps = torch.tensor([0.1, 0.2, 0.0, 5.0])
    attacked = torch.ones(4, spec.n_agents, dtype=torch.bool)
    d = project_delta(obs, huge, eps, attacked, spec)
    assert (d.amax((1, 2)) <= eps + 1e-6).all()
    assert ((obs + d) <= spec.obs_high + 1e-6).all()
    # on an unbounded perturbable dimension the full budget is used
    spec_u = random_spec(5, bounded=False)
    d_u = project_delta(obs, huge, eps, attacked, spec_u)
    assert torch.allclose(d_u[1][spec_u.perturbable], torch.tensor(0.2))


@pytest.mark.parametrize("n,d", [(2, 2), (3, 18), (4, 16), (5, 7), (8, 33)])
def test_hadamard_directions(n, d):
    order = 1 << (d.bit_length() - 1)
    dirs = hadamard_directions(n, d)
    used = dirs[:, :order]
    assert set(used.unique().tolist()) <= {-1.0, 1.0}
    assert (dirs[:, order:] == 0).all()
    if n <= order:
        gram = used @ used.T
        assert torch.equal(gram, order * torch.eye(n))  # mutually orthogonal, distinct per agent
    h = sylvester_hadamard(order)
    assert torch.equal(h @ h.T, order * torch.eye(order))


def test_hadamard_attack_is_constant_and_respects_id_dims():
    spec = random_spec(2, n_agents=3, obs_dim=12, bounded=False)
    ctx = context(spec)
    attack = make_attack("hadamard", ctx)
    eps = torch.full((4,), 0.3)
    attacked = torch.ones(4, 3, dtype=torch.bool)
    d1 = attack.perturb(random_obs(spec, 4, 0), eps, attacked)
    d2 = attack.perturb(random_obs(spec, 4, 1), eps, attacked)
    assert torch.equal(d1, d2)
    expected = 0.3 * hadamard_directions(3, 12, spec.perturbable)
    assert torch.allclose(d1[0], expected)


def test_pgd_more_steps_reach_at_least_fgsm_loss():
    from test_alignment import aligned_dataset

    from marl_attacks.alignment import FitConfig, fit

    data = aligned_dataset(N=400, n=3, d=6, seed=1)
    model, _ = fit(data, FitConfig(hidden=64, layers=3, lr=3e-3, epochs=40, n_samples=400), seed=0, progress=False)
    spec = random_spec(1, n_agents=3, obs_dim=6, bounded=False)
    ctx = AttackContext(spec=spec, generator=torch.Generator().manual_seed(0), align_model=model)
    obs = data[:128]
    eps = torch.full((128,), 0.3)
    attacked = torch.ones(128, 3, dtype=torch.bool)
    losses = {}
    for k in (1, 3, 10):
        attack = AlignAttack(ctx, pgd_steps=k)
        delta = attack.perturb(obs, eps, attacked)
        losses[k] = attack.objective(obs, delta, attacked.float()).mean().item()
    clean = AlignAttack(ctx).objective(obs, torch.zeros_like(obs), attacked.float()).mean().item()
    assert losses[1] > 2 * clean
    assert losses[10] >= losses[1] and losses[3] >= losses[1], losses


@pytest.mark.parametrize("discrete", [True, False])
def test_white_box_lowers_greedy_action_probability(discrete):
    spec = random_spec(4, n_agents=3, obs_dim=8, bounded=False, discrete=discrete)
    torch.manual_seed(0)
    victim = MappoPolicy(spec.n_agents, spec.obs_dim, spec.action_type, spec.action_dim, hidden=32)
    for p in victim.parameters():  # sharpen the random policy so the gradient is informative
        p.data.mul_(3)
    ctx = AttackContext(spec=spec, generator=torch.Generator().manual_seed(0), victim=victim)
    obs = random_obs(spec, 128, 0)
    eps = torch.full((128,), 0.1)
    attacked = torch.ones(128, 3, dtype=torch.bool)
    delta = make_attack("white-box-fgsm", ctx).perturb(obs, eps, attacked)
    clean_action = victim.act(obs)
    with torch.no_grad():
        before = victim.attack_loss(obs, clean_action)
        after = victim.attack_loss(obs + delta, clean_action)
    assert after.mean() > before.mean()


def test_every_attack_is_exercised_and_perturbs():
    """Each registered attack (but benign) moves some observation at eps > 0."""
    spec = random_spec(7, n_agents=3, obs_dim=9, bounded=False)
    obs = random_obs(spec, 8, 0)
    eps = torch.full((8,), 0.2)
    attacked = torch.zeros(8, 3, dtype=torch.bool)
    attacked[:, 1] = True
    for name in runnable_names():
        deltas, _ = run_attack(name, spec, obs, eps, attacked, steps=1)
        assert (deltas[0].abs().amax() > 0) == (name != "benign"), name


@pytest.mark.parametrize("name", ["align-rnn"])
def test_recurrent_attack_depends_on_history(name):
    """Same observation at step t, different earlier steps -> different perturbation."""
    spec = random_spec(2, n_agents=3, obs_dim=6, bounded=False)
    B = 32
    obs_t = random_obs(spec, B, 0)
    eps = torch.full((B,), 0.3)
    attacked = torch.ones(B, 3, dtype=torch.bool)
    attack = build(name, spec)
    out = []
    for history_seed in (1, 2):
        attack.reset(B, obs_t.device)
        for k in range(3):
            attack.perturb(random_obs(spec, B, 10 * history_seed + k) * 3, eps, attacked)
        out.append(attack.perturb(obs_t, eps, attacked))
    assert not torch.equal(out[0], out[1])
    # reset forgets the history: the same first step gives the same perturbation
    attack.reset(B, obs_t.device)
    first = attack.perturb(obs_t, eps, attacked)
    attack.reset(B, obs_t.device)
    assert torch.equal(first, attack.perturb(obs_t, eps, attacked))
    # the state after a step is that of the perturbed observation it was fed
    attack.reset(B, obs_t.device)
    delta = attack.perturb(obs_t, eps, attacked)
    state = attack.model.step(obs_t + delta, attack.model.initial_state(B))[1]
    assert all(torch.allclose(a, b) for a, b in zip(state, attack.state))


def test_reset_envs_restarts_only_those_episodes():
    spec = random_spec(2, n_agents=3, obs_dim=6, bounded=False)
    obs = random_obs(spec, 32, 0)
    eps = torch.full((32,), 0.3)
    attacked = torch.ones(32, 3, dtype=torch.bool)
    restart = torch.arange(32) < 16
    attack = build("align-rnn", spec)
    attack.reset(32, obs.device)
    fresh = attack.perturb(obs, eps, attacked)
    for k in range(3):
        attack.perturb(random_obs(spec, 32, k + 1) * 3, eps, attacked)
    attack.reset_envs(restart)
    again = attack.perturb(obs, eps, attacked)
    assert torch.equal(again[restart], fresh[restart]) and not torch.equal(again[~restart], fresh[~restart])


@pytest.mark.parametrize("name", ["targeted-align", "targeted-hadamard"])
def test_targeted_attacks_pick_lowest_validation_mse(name):
    spec = random_spec(3, n_agents=4, obs_dim=8, bounded=False)
    ctx = context(spec, arch="mlp")
    ctx.align_model.val_mse.copy_(torch.tensor([0.5, 0.1, 0.9, 0.2]))
    attack = make_attack(name, ctx)
    assert attack.chooses_targets
    obs = random_obs(spec, 3, 0)
    attacked = torch.zeros(3, 4, dtype=torch.bool)
    attacked[0, 0] = True  # m = 1 -> agent 1
    attacked[1, [0, 2]] = True  # m = 2 -> agents 1 and 3
    attacked[2] = True  # all
    expected = torch.tensor([[0, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(attack.choose_targets(attacked), expected)
    delta = attack.perturb(obs, torch.full((3,), 0.2), attacked)
    touched = delta.abs().amax(-1) > 0
    assert torch.equal(touched, expected)


def test_targeting_needs_validation_mse():
    spec = random_spec(3, n_agents=3, obs_dim=5, bounded=False)
    ctx = context(spec)
    ctx.align_model.val_mse.fill_(float("nan"))
    attack = make_attack("targeted-hadamard", ctx)
    with pytest.raises(ValueError, match="validation MSE"):
        attack.choose_targets(torch.ones(1, 3, dtype=torch.bool))


def test_takes_pgd_steps_names_the_attacks_whose_k_the_config_sets():
    from marl_attacks.attacks import ATTACKS, takes_pgd_steps

    k_step = {a for a in ATTACKS if takes_pgd_steps(a)}
    assert {"align-mlp", "targeted-align", "robust-align", "white-box-pgd"} <= k_step
    assert not k_step & {"white-box-fgsm", "hadamard", "targeted-hadamard", "noise-ou", "benign"}
    assert not takes_pgd_steps("max-noise") and not takes_pgd_steps("no-such-attack")


def test_derived_attacks_are_registered_but_not_built():
    """max-noise is a registry entry (label, style, figures) computed from the noises' rows, not run."""
    spec = random_spec(0)
    assert not ATTACKS["max-noise"].runnable and "max-noise" not in runnable_names()
    with pytest.raises(KeyError, match="derived from the rows of"):
        make_attack("max-noise", context(spec, 0, None))
