"""Every registered env honours the batched interface and its seeds."""

import pytest
import torch

from marl_attacks.envs import ENVS, make_env

SMALL = {
    "vmas-navigation": {"n_agents": 3, "continuous_actions": False},
    "vmas-balance": {"n_agents": 3, "continuous_actions": False},
    "mpe-simple_spread": {"N": 3},
}


@pytest.mark.parametrize("name", sorted(ENVS))
def test_batched_interface(name):
    B, T = 3, 6
    env = make_env(name, B, max_steps=T, kwargs=SMALL.get(name, {}))
    spec = env.spec
    obs = env.reset([1, 2, 3])
    assert obs.shape == (B, spec.n_agents, spec.obs_dim)
    assert obs.dtype == torch.float32
    assert spec.obs_low.shape == spec.obs_high.shape == spec.perturbable.shape == (spec.n_agents, spec.obs_dim)
    assert spec.perturbable.dtype == torch.bool
    g = torch.Generator().manual_seed(0)
    ended = torch.zeros(B, dtype=torch.bool)
    for t in range(T):
        step = env.step(env.random_actions(g))
        assert step.obs.shape == obs.shape and step.final_obs.shape == obs.shape
        assert step.reward.shape == (B,)
        assert not (step.terminated & step.truncated).any()
        ended |= step.terminated | step.truncated
    # every episode has ended by the time limit, as a truncation or a termination
    assert ended.all()


@pytest.mark.parametrize("name", sorted(ENVS))
def test_same_seed_same_episode(name):
    env = make_env(name, 2, max_steps=5, kwargs=SMALL.get(name, {}))
    a = env.reset([7, 8])
    b = env.reset([7, 8])
    c = env.reset([9, 8])
    assert torch.equal(a, b)
    assert not torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])


@pytest.mark.parametrize("name", sorted(ENVS))
def test_time_limit_is_truncation_with_final_obs(name):
    T = 4
    env = make_env(name, 2, max_steps=T, kwargs=SMALL.get(name, {}))
    env.reset([0, 1])
    spec = env.spec
    noop = torch.zeros(2, spec.n_agents, dtype=torch.long)
    for _ in range(T - 1):
        step = env.step(noop)
        assert not step.truncated.any()
        assert torch.equal(step.final_obs, step.obs)
    step = env.step(noop)
    assert (step.truncated | step.terminated).all()
    # the auto-reset observation differs from the one that ended the episode
    assert not torch.equal(step.final_obs, step.obs)
