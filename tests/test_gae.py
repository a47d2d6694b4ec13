"""GAE and time-limit bootstrapping against hand-computed values."""

import torch

from marl_attacks.algos.common import bootstrap_truncated, gae


def test_gae_matches_hand_computation_without_dones():
    r = torch.tensor([[1.0], [2.0], [3.0]])
    v = torch.tensor([[0.5], [1.0], [1.5]])
    last = torch.tensor([2.0])
    gamma, lam = 0.9, 0.8
    adv, ret = gae(r, v, torch.zeros(3, 1), last, gamma, lam)
    d2 = 3 + gamma * 2.0 - 1.5
    d1 = 2 + gamma * 1.5 - 1.0
    d0 = 1 + gamma * 1.0 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    assert torch.allclose(adv.flatten(), torch.tensor([a0, a1, a2]))
    assert torch.allclose(ret, adv + v)


def test_termination_cuts_bootstrap():
    r = torch.tensor([[1.0], [1.0]])
    v = torch.tensor([[0.0], [0.0]])
    dones = torch.tensor([[1.0], [0.0]])
    adv, _ = gae(r, v, dones, torch.tensor([100.0]), 0.99, 0.95)
    assert adv[0, 0] == 1.0  # nothing from after the terminal step
    assert torch.isclose(adv[1, 0], torch.tensor(1.0 + 0.99 * 100.0))


def test_truncation_bootstraps_from_final_observation():
    gamma = 0.99
    reward = torch.tensor([1.0, 1.0])
    truncated = torch.tensor([True, False])
    final_value = torch.tensor([10.0, 10.0])
    r = bootstrap_truncated(reward, truncated, final_value, gamma)
    assert torch.allclose(r, torch.tensor([1.0 + gamma * 10.0, 1.0]))
    # one truncated step: advantage = r + gamma V(final) - V(s), never the next episode's value
    adv, _ = gae(r[:1].view(1, 1), torch.tensor([[3.0]]), torch.tensor([[1.0]]), torch.tensor([-50.0]), gamma, 0.95)
    assert torch.isclose(adv[0, 0], torch.tensor(1.0 + gamma * 10.0 - 3.0))
