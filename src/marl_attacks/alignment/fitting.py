"""Fitting f_theta on benign joint observations, and loading a fitted one.

Training (paper: Adam 1e-4, batch 64, 100 epochs, 90/10 split). Feed-forward
models draw ``n_samples`` i.i.d. samples from the pool. The RNN trains on
episodes instead (the samples file stores ``episode`` and ``step``): whole
episodes, in random order, are taken until ``n_samples`` samples are reached
(the last one cut short) and whole episodes go to validation. Each update
uses ``batch_size // seq_len`` episodes side by side and a window of
``seq_len`` steps (truncated BPTT): the LSTM state starts at zero at each
episode start and is carried, detached, from one window to the next, so a
minibatch holds about ``batch_size`` samples as for the MLP. Validation runs
each held-out episode from its start with the state carried throughout, as
the attack does.

Inputs and targets are standardised with statistics of the training split
(kept as buffers); :meth:`AlignmentModel.per_agent_loss` reports the squared
error in the env's raw observation units, which is what the attack ascends.
The per-agent validation MSE is stored in the model (buffer ``val_mse``), so
targeted attacks get it with the model.

``form`` (set by the config's ``protocol.f_theta``): ``per-agent`` is all of the above;
``authors`` is one network shared by the agents on built inputs, trained as their code trains
it (:mod:`marl_attacks.alignment.authors`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from tqdm import tqdm

from .authors import AUTHORS_MODELS, build_authors_model, fit_authors
from .models import (
    ALIGN_MODELS,
    ROBUST_ARCHS,
    AlignmentModel,
    AlignmentRNN,
    AlignmentTransformer,
    fused_adam,
    rebuild_model,
)

#: f_theta's forms: ours (one standardised regressor per agent), the authors' (one shared network)
FORMS = ("per-agent", "authors")


@dataclass
class FitConfig:
    """Training of f_theta (paper: Adam 1e-4, batch 64, 100 epochs, 90/10 split) and its sizes."""

    arch: str = "mlp"  # key of ALIGN_MODELS
    hidden: int = 1024  # MLP hidden width; RNN: width of the Linear before the LSTM (paper 1024)
    layers: int = 5  # MLP hidden layers / LSTM layers / transformer blocks (paper 5 for each)
    lstm_hidden: int = 64  # RNN: LSTM hidden size (paper 64)
    dropout: float = 0.1  # RNN: between LSTM layers (paper 0.1); transformer: in each block (choice)
    seq_len: int = 16  # RNN: truncated-BPTT window in steps (choice; the paper is silent)
    d_model: int = 64  # transformer: token width (paper 64)
    heads: int = 4  # transformer: attention heads (paper 4)
    ff_dim: int = 256  # transformer: feed-forward width (choice: 4 x d_model)
    adv_eps: float = 0.1  # robust archs: L-inf budget of the training perturbations (raw units)
    adv_steps: int = 1  # robust archs: sign-gradient steps per adversarial example (1 = FGSM)
    adv_weight: float = 0.5  # robust archs: weight of the adversarial loss (clean gets 1 - this)
    lr: float = 1e-4  # Adam learning rate
    batch_size: int = 64  # samples per update (RNN: batch_size // seq_len episodes x seq_len steps)
    epochs: int = 100
    val_frac: float = 0.1  # held-out fraction for the validation MSE
    n_samples: int = 1000  # samples drawn from the pool (paper headline: 1,000)
    form: str = "per-agent"  # or authors: one shared network (protocol.f_theta; not a fit.<arch> key)


def build_model(cfg: FitConfig, n_agents: int, obs_dim: int) -> AlignmentModel:
    """An untrained f_theta of ``cfg``'s architecture, sizes and form (``authors``: their shared network)."""
    if cfg.form == "authors":
        return build_authors_model(cfg, n_agents, obs_dim)
    if cfg.arch not in ALIGN_MODELS:
        raise KeyError(f"unknown f_theta architecture '{cfg.arch}'; known: {sorted(ALIGN_MODELS)}")
    cls = ALIGN_MODELS[cfg.arch]
    if cls is AlignmentRNN:
        return cls(
            n_agents, obs_dim, hidden=cfg.hidden, layers=cfg.layers, lstm_hidden=cfg.lstm_hidden, dropout=cfg.dropout
        )
    if cls is AlignmentTransformer:
        return cls(
            n_agents,
            obs_dim,
            d_model=cfg.d_model,
            heads=cfg.heads,
            layers=cfg.layers,
            ff_dim=cfg.ff_dim,
            dropout=cfg.dropout,
        )
    return cls(n_agents, obs_dim, hidden=cfg.hidden, layers=cfg.layers)


def adversarial_delta(model: AlignmentModel, obs: torch.Tensor, eps: float, steps: int) -> torch.Tensor:
    """Sign-gradient ascent (step eps/steps) on the attack's own objective, every agent perturbed.

    The fit has no env spec, so the perturbation is only held to ``|delta|_inf <= eps``.
    """
    delta = torch.zeros_like(obs)
    for _ in range(steps):
        delta.requires_grad_(True)
        (grad,) = torch.autograd.grad(model.per_agent_loss(obs + delta).sum(), delta)
        delta = (delta.detach() + eps / steps * grad.sign()).clamp(-eps, eps)
    return delta.detach()


def _split_episodes(
    obs: torch.Tensor, episode: torch.Tensor | None, cfg: FitConfig, gen: torch.Generator
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Whole episodes in random order up to ``n_samples`` samples; the first ones to validation."""
    if episode is None:
        raise ValueError(
            "the recurrent f_theta needs the episode index of every sample "
            "(the 'episode' entry of collect.py's samples file)"
        )
    ids = torch.unique_consecutive(episode)
    starts = torch.cat(
        [torch.zeros(1, dtype=torch.long), torch.cumsum(torch.unique_consecutive(episode, return_counts=True)[1], 0)]
    )
    pieces = [obs[starts[k] : starts[k + 1]] for k in range(len(ids))]
    chosen, total = [], 0
    for k in torch.randperm(len(pieces), generator=gen).tolist():
        if total >= cfg.n_samples:
            break
        chosen.append(pieces[k][: cfg.n_samples - total])
        total += len(chosen[-1])
    if len(chosen) == 1:  # a single episode: its last part is held out as its own sequence
        cut = max(1, min(len(chosen[0]) - 1, int(round(len(chosen[0]) * (1 - cfg.val_frac)))))
        return [chosen[0][:cut]], [chosen[0][cut:]]
    n_val = max(1, int(round(cfg.val_frac * total)))
    val, got = [], 0
    while got < n_val and len(chosen) > 1:
        val.append(chosen.pop(0))
        got += len(val[-1])
    return chosen, val


def _pad(seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``[E, T_max, n, d]`` zero-padded episodes and their ``[E, T_max]`` validity mask."""
    T = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), T, *seqs[0].shape[1:], dtype=seqs[0].dtype, device=seqs[0].device)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool, device=seqs[0].device)
    for k, s in enumerate(seqs):
        x[k, : len(s)], mask[k, : len(s)] = s, True
    return x, mask


def _sequence_mse(model: AlignmentRNN, seqs: list[torch.Tensor]) -> torch.Tensor:
    """Per-agent MSE (raw units) over every step of each episode, state carried from its start."""
    x, mask = _pad(seqs)
    with torch.no_grad():
        pred = model.sequence(x)[0] * model.std + model.mean
    err = (pred - x).pow(2).mean(-1)[mask]  # [valid steps, n]
    return err.mean(0)


def _fit_sequences(
    model: AlignmentRNN, train: list[torch.Tensor], cfg: FitConfig, optim, gen: torch.Generator, bar
) -> None:
    per_batch = max(1, cfg.batch_size // cfg.seq_len)
    for _ in bar:
        model.train()
        order = torch.randperm(len(train), generator=gen).tolist()
        for g in range(0, len(order), per_batch):
            x, mask = _pad([train[k] for k in order[g : g + per_batch]])
            z = model.normalise(x)
            state = model.initial_state(len(x), x.device)
            for t0 in range(0, x.shape[1], cfg.seq_len):
                m = mask[:, t0 : t0 + cfg.seq_len]
                pred, state = model.sequence(x[:, t0 : t0 + cfg.seq_len], state)
                err = (pred - z[:, t0 : t0 + cfg.seq_len]).pow(2).mean((-1, -2))
                loss = (err * m).sum() / m.sum()
                optim.zero_grad()
                loss.backward()
                optim.step()
                state = tuple(s.detach() for s in state)
        bar.set_postfix(loss=f"{loss.item():.4f}")


def fit(
    obs: torch.Tensor,
    cfg: FitConfig,
    seed: int,
    device: torch.device | str = "cpu",
    progress: bool = True,
    episode: torch.Tensor | None = None,
) -> tuple[AlignmentModel, dict]:
    """Fit f_theta on joint observations ``[N, n, d]``; returns the model and fit stats.

    ``episode`` (``[N]``, samples sorted by episode then step) is needed by recurrent models.
    Robust archs (``ROBUST_ARCHS``) minimise ``(1 - w) * clean MSE + w * adversarial loss``
    with ``w = adv_weight``, the adversarial loss being the attack's own objective (delta on
    input and target) at a perturbation found by ``adv_steps`` sign-gradient steps of budget
    ``adv_eps`` on the current model (Goodfellow et al. 2015; Madry et al. 2018 with w = 1).
    Stats hold the per-agent validation MSE (raw units, clean) and the wall time.
    ``cfg.form == "authors"``: :func:`~marl_attacks.alignment.authors.fit_authors` instead.
    """
    if cfg.form not in FORMS:
        raise ValueError(f"f_theta form {cfg.form!r}; allowed: {list(FORMS)}")
    if cfg.form == "authors":
        return fit_authors(obs, cfg, seed, device, progress, episode)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    N, n, d = obs.shape
    model = build_model(cfg, n, d).to(device)
    robust = cfg.arch in ROBUST_ARCHS
    start = time.time()
    bar = tqdm(range(cfg.epochs), desc=f"fit f_theta ({cfg.arch})", disable=not progress)
    if model.recurrent:
        train, val = _split_episodes(obs.to(device), episode, cfg, gen)
        model.set_stats(torch.cat(train))
        optim = fused_adam(model, cfg.lr)
        _fit_sequences(model, train, cfg, optim, gen, bar)
        model.eval()
        val_mse, train_mse = _sequence_mse(model, val).cpu(), _sequence_mse(model, train).cpu()
        n_train, n_val = sum(map(len, train)), sum(map(len, val))
    else:
        take = torch.randperm(N, generator=gen)[: min(cfg.n_samples, N)]
        data = obs[take]
        n_val = max(1, int(round(cfg.val_frac * len(data))))
        val, train = data[:n_val].to(device), data[n_val:].to(device)
        n_train = len(train)
        model.set_stats(train)
        optim = fused_adam(model, cfg.lr)
        for _ in bar:
            model.train()
            perm = torch.randperm(len(train), generator=gen).to(device)
            for idx in perm.split(cfg.batch_size):
                batch = train[idx]
                loss = (model.predict_normalised(batch) - model.normalise(batch)).pow(2).mean()
                if robust:
                    adv = batch + adversarial_delta(model, batch, cfg.adv_eps, cfg.adv_steps)
                    adv_loss = (model.predict_normalised(adv) - model.normalise(adv)).pow(2).mean()
                    loss = (1 - cfg.adv_weight) * loss + cfg.adv_weight * adv_loss
                optim.zero_grad()
                loss.backward()
                optim.step()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        model.eval()
        with torch.no_grad():
            val_mse = model.per_agent_loss(val).mean(0).cpu()
            train_mse = model.per_agent_loss(train).mean(0).cpu()
    model.val_mse.copy_(val_mse)
    stats = dict(
        val_mse=val_mse.tolist(),
        train_mse=train_mse.tolist(),
        n_train=n_train,
        n_val=n_val,
        fit_seconds=time.time() - start,
        config=asdict(cfg),
    )
    if robust:  # how much an FGSM step at the training budget still raises the loss
        delta = adversarial_delta(model, val, cfg.adv_eps, 1)
        with torch.no_grad():
            stats["val_adv_mse"] = model.per_agent_loss(val + delta).mean(0).cpu().tolist()
    return model.cpu(), stats


def load_align_model(path: str, device="cpu", expect: dict | None = None) -> tuple[AlignmentModel, dict]:
    """A fitted f_theta file (``<arch>.pt``) as a model on ``device`` and its payload.

    ``expect`` (``{"config", "seed"}`` from :func:`marl_attacks.config.expected_inputs`): refuse an
    f_theta made by another config.
    """
    from ..io import load_artifact

    expect = expect or {}
    payload = load_artifact(path, expect_config=expect.get("config"), expect_seed=expect.get("seed"))
    if payload.get("form") == "authors":  # the authors' shared network (protocol.f_theta)
        model = AUTHORS_MODELS[payload["arch"]](**payload["init_kwargs"])
        model.load_state_dict(payload["state_dict"])
        model.eval()
    else:
        model = rebuild_model(payload["arch"], payload["init_kwargs"], payload["state_dict"])
    return model.to(device), payload
