"""f_theta as the authors' code builds and trains it (``protocol.f_theta: authors``).

Their ``src/attack/trainer.py`` (``Align``, ``RobustAlign``, ``RNNAlign``, ``TranAlign``) and
``src/attack/utils.py`` (the networks), at 8748e4d:

* the data are the victim's *built inputs*: each agent's observation followed by its agent-ID
  one-hot (EPyMARL's ``_build_inputs``; our envs emit no ID, so :func:`built_inputs` appends it);
* one network for all agents: for agent i its input is the teammates' built inputs, j != i in
  increasing order, concatenated (``np.concatenate((obs[:i], obs[i+1:]))``; the transformer
  takes them as n-1 tokens), its target agent i's own built input, ID dims included;
* nothing is standardised; the loss is the MSE over every dimension of the built input, and the
  error the attack ascends and targeting ranks (``per_agent_loss``) is that MSE per agent;
* they train on (step, agent) pairs: a batch is ``batch_size`` pairs (``DataLoader(...,
  drop_last=True)``), the first ``n_samples`` steps of the recorded episodes are used, in order;
  the recurrent one trains on one sequence per (episode, agent), ``batch_size`` whole sequences
  per update (no truncation), gradient norm clipped at 5 (the transformer at 10).

Networks (``AlignNetwork``, ``RNNAlignNetwork``, ``TransformerAlign``): MLP Linear(in, hidden),
ReLU, then ``layers`` x (Linear(hidden, hidden), ReLU), then Linear(hidden, out) (so ``layers``
+ 1 hidden layers); RNN Linear(in, hidden), ReLU, an LSTM of ``layers`` layers (dropout between
them), ReLU, Linear; transformer Linear(width, d_model) per token, PyTorch's encoder (post-LN),
mean over the tokens, Linear(d_model, 2 width), ReLU, Linear(2 width, width). RobustAlign adds a
sign-gradient perturbation of budget ``adv_eps`` to the *inputs* only (ID dims too) and minimises
``(1 - adv_weight) clean + adv_weight adversarial`` MSE.

Choices where their code does not fit this pipeline: validation holds out whole steps (all
agents of a step; theirs splits pairs at random, which gives no per-agent validation MSE for
targeting to read) or, for the RNN, the last recorded episodes (theirs: the last 10% of
sequences); early stopping (their patience 100 of 100 epochs) is left out.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .models import ROBUST_ARCHS, AlignmentModel, fused_adam


def built_inputs(obs: torch.Tensor) -> torch.Tensor:
    """``[..., n, d] -> [..., n, d + n]``: each agent's observation, then its agent-ID one-hot."""
    n = obs.shape[-2]
    ids = torch.eye(n, dtype=obs.dtype, device=obs.device).expand(*obs.shape[:-2], n, n)
    return torch.cat([obs, ids], -1)


class AuthorsModel(AlignmentModel):
    """One network shared by the agents on built inputs; identity statistics (no standardisation)."""

    def __init__(self, n_agents: int, obs_dim: int):
        super().__init__(n_agents, obs_dim)
        self.width = obs_dim + n_agents
        self.register_buffer("mean", torch.zeros(n_agents, self.width))
        self.register_buffer("std", torch.ones(n_agents, self.width))

    def set_stats(self, obs: torch.Tensor) -> None:
        """The authors do not standardise."""

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        return built_inputs(obs)

    def teammates(self, obs: torch.Tensor) -> torch.Tensor:
        """``[..., n, d] -> [..., n, n-1, d + n]``: agent i's teammates' built inputs, in order."""
        return built_inputs(obs)[..., self.others, :]

    def pairs(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's input and target for every agent of ``obs`` ``[..., n, d]``."""
        return self.teammates(obs).flatten(-2), built_inputs(obs)

    def forward_pairs(self, x: torch.Tensor) -> torch.Tensor:
        """The shared network on inputs built by :meth:`pairs` (any leading dims)."""
        raise NotImplementedError

    def predict_normalised(self, obs):
        return self.forward_pairs(self.pairs(obs)[0])

    def predict(self, obs, state=None):
        return self.step(obs, state)[0]

    def per_agent_loss(self, obs, state=None):
        """``[B, n]``: MSE of the prediction against the agent's built input, ID dims included."""
        return (self.predict(obs, state) - built_inputs(obs)).pow(2).mean(-1)


class AuthorsMLP(AuthorsModel):
    """Their ``AlignNetwork``: Linear(in, hidden) + ReLU, ``layers`` x (Linear + ReLU), Linear."""

    def __init__(self, n_agents: int, obs_dim: int, hidden: int = 1024, layers: int = 5):
        super().__init__(n_agents, obs_dim)
        self.init_kwargs = dict(n_agents=n_agents, obs_dim=obs_dim, hidden=hidden, layers=layers)
        sizes = [(n_agents - 1) * self.width] + [hidden] * (layers + 1)
        body = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
        self.net = nn.Sequential(*body, nn.Linear(hidden, self.width))

    def forward_pairs(self, x):
        return self.net(x)


class AuthorsTransformer(AuthorsModel):
    """Their ``TransformerAlign``: teammates' built inputs as tokens, mean-pooled encoder output."""

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 5,
        ff_dim: int = 256,
        dropout: float = 0.1,
    ):
        super().__init__(n_agents, obs_dim)
        self.init_kwargs = dict(
            n_agents=n_agents,
            obs_dim=obs_dim,
            d_model=d_model,
            heads=heads,
            layers=layers,
            ff_dim=ff_dim,
            dropout=dropout,
        )
        w = self.width
        self.embed = nn.Linear(w, d_model)
        block = nn.TransformerEncoderLayer(d_model, heads, ff_dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.Linear(d_model, 2 * w), nn.ReLU(), nn.Linear(2 * w, w))

    def pairs(self, obs):
        return self.teammates(obs), built_inputs(obs)

    def forward_pairs(self, x):
        lead, tokens = x.shape[:-2], x.reshape(-1, *x.shape[-2:])
        return self.head(self.encoder(self.embed(tokens)).mean(1)).view(*lead, self.width)


class AuthorsRNN(AuthorsModel):
    """Their ``RNNAlignNetwork``: Linear + ReLU, LSTM, ReLU + Linear; one sequence per agent."""

    recurrent = True

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        hidden: int = 1024,
        layers: int = 5,
        lstm_hidden: int = 64,
        dropout: float = 0.1,
    ):
        super().__init__(n_agents, obs_dim)
        self.init_kwargs = dict(
            n_agents=n_agents, obs_dim=obs_dim, hidden=hidden, layers=layers, lstm_hidden=lstm_hidden, dropout=dropout
        )
        self.layers, self.lstm_hidden = layers, lstm_hidden
        self.fc1 = nn.Sequential(nn.Linear((n_agents - 1) * self.width, hidden), nn.ReLU())
        self.rnn = nn.LSTM(hidden, lstm_hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.fc2 = nn.Sequential(nn.ReLU(), nn.Linear(lstm_hidden, self.width))

    def initial_state(self, batch, device=None):
        z = torch.zeros(self.layers, self.n_agents, batch, self.lstm_hidden, device=device or self.mean.device)
        return z, z.clone()

    def forward_pairs(self, x, state=None):
        """Sequences ``[S, T, in] -> [S, T, width]`` and the LSTM state ``[layers, S, h]``."""
        out, state = self.rnn(self.fc1(x), state)
        return self.fc2(out), state

    def sequence(self, obs: torch.Tensor, state=None):
        """``[B, T, n, d]`` -> predictions ``[B, T, n, d + n]`` and the state ``[layers, n, B, h]``."""
        B, T, n, _ = obs.shape
        state = self.initial_state(B, obs.device) if state is None else state
        x = self.pairs(obs)[0].permute(2, 0, 1, 3).reshape(n * B, T, -1)  # one sequence per (agent, episode)
        flat = tuple(s.reshape(self.layers, n * B, -1).contiguous() for s in state)
        y, (h, c) = self.forward_pairs(x, flat)
        y = y.view(n, B, T, -1).permute(1, 2, 0, 3)
        return y, (h.view(self.layers, n, B, -1), c.view(self.layers, n, B, -1))

    def step(self, obs, state=None):
        y, state = self.sequence(obs.unsqueeze(1), state)
        return y[:, 0], state


AUTHORS_MODELS: dict[str, type[AuthorsModel]] = {
    "mlp": AuthorsMLP,
    "mlp-robust": AuthorsMLP,
    "rnn": AuthorsRNN,
    "transformer": AuthorsTransformer,
}


def build_authors_model(cfg, n_agents: int, obs_dim: int) -> AuthorsModel:
    cls = AUTHORS_MODELS[cfg.arch]
    if cls is AuthorsRNN:
        return cls(n_agents, obs_dim, cfg.hidden, cfg.layers, cfg.lstm_hidden, cfg.dropout)
    if cls is AuthorsTransformer:
        return cls(n_agents, obs_dim, cfg.d_model, cfg.heads, cfg.layers, cfg.ff_dim, cfg.dropout)
    return cls(n_agents, obs_dim, cfg.hidden, cfg.layers)


def _episodes_in_order(obs, episode, n_samples: int, val_frac: float):
    """Their ``prepare_episode_data_``: recorded episodes in order up to ``n_samples`` steps (the last
    cut short); the last episodes (at least one, about ``val_frac`` of the steps) held out."""
    if episode is None:
        raise ValueError("the recurrent f_theta needs the episode index of every sample (the samples file's 'episode')")
    obs, episode = obs[:n_samples], episode[:n_samples]
    counts = torch.unique_consecutive(episode, return_counts=True)[1].tolist()
    pieces = list(torch.split(obs, counts))
    if len(pieces) == 1:  # one episode: its last part is held out
        cut = max(1, min(len(obs) - 1, int(round(len(obs) * (1 - val_frac)))))
        return [obs[:cut]], [obs[cut:]]
    val, held = [], 0
    while held < max(1, round(val_frac * len(obs))) and len(pieces) > 1:
        val.insert(0, pieces.pop())
        held += len(val[0])
    return pieces, val


def _padded(seqs):
    T = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), T, *seqs[0].shape[1:], dtype=seqs[0].dtype, device=seqs[0].device)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool, device=seqs[0].device)
    for k, s in enumerate(seqs):
        x[k, : len(s)], mask[k, : len(s)] = s, True
    return x, mask


def _sequence_error(model: AuthorsRNN, episodes) -> torch.Tensor:
    """Per-agent MSE over every step of each episode, the state carried from its start."""
    x, mask = _padded(episodes)
    with torch.no_grad():
        err = (model.sequence(x)[0] - built_inputs(x)).pow(2).mean(-1)  # [E, T, n]
    return err[mask].mean(0)


def _fit_sequences(model: AuthorsRNN, train, cfg, optim, gen, bar) -> None:
    inputs, targets = zip(*(model.pairs(e) for e in train))  # [T, n, in], [T, n, w] per episode
    seqs = [(x[:, i], y[:, i]) for x, y in zip(inputs, targets) for i in range(model.n_agents)]
    for _ in bar:
        model.train()
        for idx in torch.randperm(len(seqs), generator=gen).split(cfg.batch_size):
            x, mask = _padded([seqs[k][0] for k in idx])
            y, _ = _padded([seqs[k][1] for k in idx])
            err = (model.forward_pairs(x)[0] - y).pow(2).mean(-1)  # their MaskedMSELoss
            loss = (err * mask).sum() / mask.sum()
            optim.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optim.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")


def _fgsm_inputs(model: AuthorsModel, x, y, cfg) -> torch.Tensor:
    """Their ``RobustAlign.pgd_attack``: sign steps of adv_eps / adv_steps on the inputs, clamped."""
    delta = torch.zeros_like(x)
    for _ in range(cfg.adv_steps):
        delta.requires_grad_(True)
        (grad,) = torch.autograd.grad(F.mse_loss(model.forward_pairs(x + delta), y), delta)
        delta = (delta.detach() + cfg.adv_eps / cfg.adv_steps * grad.sign()).clamp(-cfg.adv_eps, cfg.adv_eps)
    return (x + delta).detach()


def _fit_pairs(model: AuthorsModel, train, cfg, optim, gen, bar, robust: bool) -> None:
    x_all, y_all = (t.flatten(0, 1) for t in model.pairs(train))  # (step, agent) pairs
    clip = 10.0 if isinstance(model, AuthorsTransformer) else None
    for _ in bar:
        model.train()
        batches = torch.randperm(len(x_all), generator=gen).split(cfg.batch_size)
        if len(batches) > 1 and len(batches[-1]) < cfg.batch_size:
            batches = batches[:-1]  # drop_last, unless that leaves nothing
        for idx in batches:
            x, y = x_all[idx.to(x_all.device)], y_all[idx.to(x_all.device)]
            loss = F.mse_loss(model.forward_pairs(x), y)
            if robust:
                adv = F.mse_loss(model.forward_pairs(_fgsm_inputs(model, x, y, cfg)), y)
                loss = (1 - cfg.adv_weight) * loss + cfg.adv_weight * adv
            optim.zero_grad()
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optim.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")


def fit_authors(obs, cfg, seed: int, device="cpu", progress: bool = True, episode=None):
    """:func:`marl_attacks.alignment.fit` for ``form: authors``: same return values (the model and
    its stats, validation MSE per agent over the built input's dimensions)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    N, n, d = obs.shape
    model = build_authors_model(cfg, n, d).to(device)
    optim = fused_adam(model, cfg.lr)  # their torch.optim.Adam, fused: the same update, faster
    start = time.time()
    bar = tqdm(range(cfg.epochs), desc=f"fit f_theta ({cfg.arch}, authors)", disable=not progress)
    if model.recurrent:
        train, val = _episodes_in_order(obs.to(device), episode, cfg.n_samples, cfg.val_frac)
        _fit_sequences(model, train, cfg, optim, gen, bar)
        model.eval()
        val_mse, train_mse = _sequence_error(model, val).cpu(), _sequence_error(model, train).cpu()
        n_train, n_val = sum(map(len, train)), sum(map(len, val))
    else:
        data = obs[: min(cfg.n_samples, N)].to(device)  # the first steps recorded, as theirs
        held = torch.randperm(len(data), generator=gen).to(device)
        n_val = max(1, int(round(cfg.val_frac * len(data))))
        val, train = data[held[:n_val]], data[held[n_val:]]
        n_train = len(train)
        _fit_pairs(model, train, cfg, optim, gen, bar, cfg.arch in ROBUST_ARCHS)
        model.eval()
        with torch.no_grad():
            val_mse, train_mse = model.per_agent_loss(val).mean(0).cpu(), model.per_agent_loss(train).mean(0).cpu()
    model.val_mse.copy_(val_mse)
    stats = dict(
        val_mse=val_mse.tolist(),
        train_mse=train_mse.tolist(),
        n_train=n_train,
        n_val=n_val,
        fit_seconds=time.time() - start,
        config=asdict(cfg),
    )
    return model.cpu(), stats
