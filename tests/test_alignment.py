"""f_theta fits aligned data and batches its per-agent regressors correctly."""

import torch

from marl_attacks.alignment import AlignmentMLP, FitConfig, fit, others_index


def aligned_dataset(N=600, n=3, d=4, seed=0):
    """Every agent observes the same latent state: o_i = A_i z, perfectly predictable from o_{-i}."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(N, d, generator=g)
    mats = torch.randn(n, d, d, generator=g)
    return torch.einsum("nij,bj->bni", mats, z)


def test_fit_reaches_near_zero_validation_mse():
    data = aligned_dataset()
    cfg = FitConfig(hidden=64, layers=2, lr=3e-3, batch_size=64, epochs=150, n_samples=600)
    model, stats = fit(data, cfg, seed=0, progress=False)
    var = data.var(0).mean(-1)  # per-agent variance: the MSE of predicting the mean
    val = torch.tensor(stats["val_mse"])
    assert (val < 0.05 * var).all(), (val, var)


def test_batched_regressors_match_per_agent_computation():
    torch.manual_seed(0)
    n, d = 4, 3
    model = AlignmentMLP(n, d, hidden=8, layers=2)
    obs = torch.randn(5, n, d)
    pred = model.predict_normalised(obs)
    z = model.normalise(obs)
    for i in range(n):
        x = z[:, others_index(n)[i]].reshape(5, -1)
        for k, layer in enumerate(model.layers):
            x = x @ layer.weight[i] + layer.bias[i]
            if k < len(model.layers) - 1:
                x = torch.relu(x)
        assert torch.allclose(pred[:, i], x, atol=1e-5)


def test_prediction_ignores_own_observation():
    torch.manual_seed(0)
    model = AlignmentMLP(3, 4, hidden=8, layers=2)
    obs = torch.randn(2, 3, 4)
    changed = obs.clone()
    changed[:, 1] += 5.0
    assert torch.allclose(model.predict(obs)[:, 1], model.predict(changed)[:, 1])
    assert not torch.allclose(model.predict(obs)[:, 0], model.predict(changed)[:, 0])
