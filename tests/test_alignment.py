"""f_theta (every architecture) fits aligned data and batches its per-agent regressors correctly."""

import pytest
import torch

from marl_attacks.alignment import (
    ALIGN_MODELS,
    AlignmentMLP,
    AlignmentRNN,
    AlignmentTransformer,
    BatchedLSTM,
    FitConfig,
    adversarial_delta,
    fit,
    others_index,
)

#: small but sufficient settings per architecture for the synthetic aligned data
FIT = {
    "mlp": dict(hidden=64, layers=2, lr=3e-3, epochs=60),
    "rnn": dict(hidden=64, layers=1, lstm_hidden=32, dropout=0.0, seq_len=20, batch_size=80, lr=1e-2, epochs=80),
    "transformer": dict(d_model=32, heads=2, layers=1, ff_dim=64, dropout=0.0, lr=3e-3, epochs=60),
    "mlp-robust": dict(hidden=64, layers=2, lr=3e-3, epochs=60, adv_eps=0.05),
}
SMALL = {
    AlignmentMLP: dict(hidden=8, layers=2),
    AlignmentRNN: dict(hidden=8, layers=2, lstm_hidden=4),
    AlignmentTransformer: dict(d_model=8, heads=2, layers=2, ff_dim=8),
}


def aligned_dataset(N=600, n=3, d=4, seed=0):
    """Every agent observes the same latent state: o_i = A_i z, perfectly predictable from o_{-i}."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(N, d, generator=g)
    mats = torch.randn(n, d, d, generator=g)
    return torch.einsum("nij,bj->bni", mats, z)


@pytest.mark.parametrize("arch", sorted(ALIGN_MODELS))
def test_fit_reaches_near_zero_validation_mse(arch):
    data = aligned_dataset(N=400)
    episode = torch.arange(400) // 20  # 20 episodes of 20 steps, for the recurrent model
    model, stats = fit(data, FitConfig(arch=arch, n_samples=400, **FIT[arch]), seed=0, progress=False, episode=episode)
    var = data.var(0).mean(-1)  # per-agent variance: the MSE of predicting the mean
    val = torch.tensor(stats["val_mse"])
    assert (val < 0.05 * var).all(), (val, var)
    assert torch.equal(model.val_mse, val)  # travels with the model, for targeted attacks
    assert stats["n_train"] + stats["n_val"] == 400 and stats["n_val"] >= 40


def test_rnn_validation_holds_out_whole_episodes():
    data = aligned_dataset(N=200)
    episode = torch.arange(200) // 20
    cfg = FitConfig(arch="rnn", hidden=8, layers=1, lstm_hidden=4, epochs=1, n_samples=130)
    _, stats = fit(data, cfg, seed=0, progress=False, episode=episode)
    # whole episodes of 20 until 130 samples (the last cut to 10); 13 -> one held-out episode
    assert stats["n_train"] + stats["n_val"] == 130 and stats["n_val"] % 20 in (0, 10)
    with pytest.raises(ValueError, match="episode"):
        fit(data, cfg, seed=0, progress=False)


def test_robust_fit_is_adversarial_training():
    """With adv_eps = 0 it is the plain fit; with adv_eps > 0 it resists its own FGSM better."""
    data, test = aligned_dataset(N=400), aligned_dataset(N=600)[400:]
    plain, _ = fit(data, FitConfig(arch="mlp", **FIT["mlp"], n_samples=400), seed=0, progress=False)
    zero, _ = fit(
        data,
        FitConfig(arch="mlp-robust", **dict(FIT["mlp-robust"], adv_eps=0.0), n_samples=400),
        seed=0,
        progress=False,
    )
    for a, b in zip(plain.parameters(), zero.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    robust, stats = fit(
        data,
        FitConfig(arch="mlp-robust", **dict(FIT["mlp-robust"], adv_eps=0.1), n_samples=400),
        seed=0,
        progress=False,
    )
    assert "val_adv_mse" in stats

    def adv_loss(model):
        delta = adversarial_delta(model, test, 0.1, 1)
        with torch.no_grad():
            return model.per_agent_loss(test + delta).mean().item()

    assert adv_loss(robust) < adv_loss(plain)


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


@pytest.mark.parametrize("cls", [AlignmentMLP, AlignmentRNN, AlignmentTransformer])
def test_prediction_ignores_own_observation(cls):
    torch.manual_seed(0)
    model = cls(3, 4, **SMALL[cls]).eval()
    obs = torch.randn(2, 3, 4)
    changed = obs.clone()
    changed[:, 1] += 5.0
    assert torch.allclose(model.predict(obs)[:, 1], model.predict(changed)[:, 1], atol=1e-6)
    assert not torch.allclose(model.predict(obs)[:, 0], model.predict(changed)[:, 0])


@pytest.mark.parametrize("cls", [AlignmentRNN, AlignmentTransformer])
def test_agents_have_independent_weights(cls):
    """Changing agent 0's parameters changes only agent 0's prediction (one regressor per agent)."""
    torch.manual_seed(0)
    model = cls(3, 4, **SMALL[cls]).eval()
    obs = torch.randn(5, 3, 4)
    before = model.predict(obs)
    with torch.no_grad():
        for p in model.parameters():
            if p.shape[0] == 3:
                p[0].add_(torch.randn_like(p[0]))
    after = model.predict(obs)
    assert not torch.allclose(before[:, 0], after[:, 0])
    assert torch.allclose(before[:, 1:], after[:, 1:])


def test_batched_lstm_matches_torch_lstm_per_agent():
    torch.manual_seed(0)
    n, layers = 3, 3
    lstm = BatchedLSTM(n, 6, 4, layers)
    x = torch.randn(n, 2, 5, 6)
    out, (h, c) = lstm(x, lstm.zero_state(2))
    for i in range(n):
        ref = torch.nn.LSTM(6, 4, layers, batch_first=True)
        with torch.no_grad():
            for k in range(layers):
                getattr(ref, f"weight_ih_l{k}").copy_(lstm.w_ih[k][i].T)
                getattr(ref, f"weight_hh_l{k}").copy_(lstm.w_hh[k][i].T)
                getattr(ref, f"bias_ih_l{k}").copy_(lstm.bias[k][i, 0])
                getattr(ref, f"bias_hh_l{k}").zero_()
        o, (hr, cr) = ref(x[i])
        assert torch.allclose(o, out[i], atol=1e-6)
        assert torch.allclose(hr, h[:, i], atol=1e-6) and torch.allclose(cr, c[:, i], atol=1e-6)


def test_rnn_step_by_step_equals_sequence():
    """Carrying the state one step at a time (the attack) equals a sequence pass (the fit)."""
    torch.manual_seed(0)
    model = AlignmentRNN(3, 4, **SMALL[AlignmentRNN]).eval()
    obs = torch.randn(2, 6, 3, 4)
    seq, _ = model.sequence(obs)
    state = model.initial_state(2)
    for t in range(6):
        pred, state = model.step(obs[:, t], state)
        assert torch.allclose(pred, seq[:, t], atol=1e-5)
