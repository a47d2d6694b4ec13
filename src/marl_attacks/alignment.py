"""Alignment models f_theta: predict each agent's observation from its teammates'.

For agent ``i``, ``f_theta,i(o_{-i}) ~ o_i``, trained with MSE on benign
joint-observation samples. Every architecture keeps one independent regressor
per agent, and all of them run in one batched call: weights are stored as
``[n_agents, ...]`` stacks, so a forward pass is a few batched matrix products
instead of a loop over agents.

Architectures (``ALIGN_MODELS``; sizes come from :class:`FitConfig`):

* ``mlp``: paper's 5 hidden layers of width 1024, ReLU.
* ``rnn``: paper's Linear(in, 1024) then a 5-layer LSTM (hidden 64, dropout
  0.1) and a linear head. Choice: a ReLU follows the input Linear (the paper
  names no activation; without one the Linear folds into the LSTM's input
  weights). The hidden state is carried along an episode (see
  :meth:`AlignmentModel.step`).
* ``transformer``: per agent ``i``, one token per teammate (its observation
  projected to ``d_model`` plus a learned teammate-slot embedding) and a
  learned query token whose output is read out as the prediction of ``o_i``.
  Paper: d_model 64, 4 heads, 5 layers. Choices: pre-LayerNorm blocks with a
  final LayerNorm (stable at lr 1e-4 without warm-up), feed-forward width
  ``ff_dim`` (4 x d_model), dropout 0.1.
* ``mlp-robust``: the MLP fitted with adversarial training (RobustAlign, see
  :func:`fit`).

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
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm


def others_index(n_agents: int) -> torch.Tensor:
    """``[n, n-1]``: for each agent, the indices of its teammates in order."""
    return torch.tensor([[j for j in range(n_agents) if j != i] for i in range(n_agents)])


class AlignmentModel(nn.Module):
    """Base: standardisation buffers, the (optional) recurrent state and the loss."""

    #: whether predictions depend on earlier steps of the episode (state carried by the caller)
    recurrent = False

    def __init__(self, n_agents: int, obs_dim: int):
        super().__init__()
        self.n_agents, self.obs_dim = n_agents, obs_dim
        self.register_buffer("others", others_index(n_agents), persistent=False)
        self.register_buffer("mean", torch.zeros(n_agents, obs_dim))
        self.register_buffer("std", torch.ones(n_agents, obs_dim))
        # clean validation MSE per agent (raw units), set by fit(); NaN until fitted
        self.register_buffer("val_mse", torch.full((n_agents,), float("nan")))

    def set_stats(self, obs: torch.Tensor) -> None:
        self.mean.copy_(obs.mean(0))
        # floor the std so constant dimensions do not blow up the standardised scale
        self.std.copy_(obs.std(0).clamp_min(1e-2))

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.mean) / self.std

    def initial_state(self, batch: int, device=None):
        """State at the start of an episode (``None`` for feed-forward models)."""
        return None

    def step(self, obs: torch.Tensor, state=None):
        """One time step on raw ``[B, n, d]``: standardised predictions and the next state."""
        return self.predict_normalised(obs), None

    def predict_normalised(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, n, d]`` standardised predictions of each agent's standardised observation."""
        raise NotImplementedError

    def predict(self, obs: torch.Tensor, state=None) -> torch.Tensor:
        return self.step(obs, state)[0] * self.std + self.mean

    def per_agent_loss(self, obs: torch.Tensor, state=None) -> torch.Tensor:
        """``[B, n]`` mean squared error of f_theta,i(o_{-i}) against o_i, raw units."""
        return (self.predict(obs, state) - obs).pow(2).mean(-1)

    def _gather_others(self, z: torch.Tensor) -> torch.Tensor:
        """``[B, n, d] -> [B, n, (n-1) d]``: each agent's teammates, concatenated."""
        B = z.shape[0]
        return z[:, self.others].reshape(B, self.n_agents, -1)


class BatchedLinear(nn.Module):
    """``n`` independent linear layers applied to ``[n, B, in]`` with one batched matmul."""

    def __init__(self, n: int, fan_in: int, fan_out: int):
        super().__init__()
        bound = 1 / math.sqrt(fan_in)
        self.weight = nn.Parameter(torch.empty(n, fan_in, fan_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, 1, fan_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class AlignmentMLP(AlignmentModel):
    """Paper: 5 hidden layers of width 1024, ReLU, one regressor per agent."""

    def __init__(self, n_agents: int, obs_dim: int, hidden: int = 1024, layers: int = 5):
        super().__init__(n_agents, obs_dim)
        self.init_kwargs = dict(n_agents=n_agents, obs_dim=obs_dim, hidden=hidden, layers=layers)
        sizes = [(n_agents - 1) * obs_dim] + [hidden] * layers + [obs_dim]
        self.layers = nn.ModuleList(BatchedLinear(n_agents, a, b) for a, b in zip(sizes, sizes[1:]))

    def predict_normalised(self, obs):
        x = self._gather_others(self.normalise(obs)).transpose(0, 1)  # [n, B, (n-1)d]
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = torch.relu(x)
        return x.transpose(0, 1)


class BatchedLSTM(nn.Module):
    """``n`` independent multi-layer LSTMs (PyTorch's equations and gate order i, f, g, o).

    Input ``[n, B, T, in]``, state ``(h, c)`` each ``[layers, n, B, hidden]``. Dropout acts on
    the outputs of every layer but the last, as in :class:`torch.nn.LSTM`.
    """

    def __init__(self, n: int, input_size: int, hidden: int, layers: int, dropout: float = 0.0):
        super().__init__()
        self.n, self.hidden, self.num_layers, self.dropout = n, hidden, layers, dropout
        bound = 1 / math.sqrt(hidden)
        u = lambda *shape: nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))
        sizes = [input_size] + [hidden] * (layers - 1)
        self.w_ih = nn.ParameterList(u(n, s, 4 * hidden) for s in sizes)
        self.w_hh = nn.ParameterList(u(n, hidden, 4 * hidden) for _ in sizes)
        self.bias = nn.ParameterList(u(n, 1, 4 * hidden) for _ in sizes)  # b_ih + b_hh in one

    def zero_state(self, batch: int, device=None):
        z = torch.zeros(self.num_layers, self.n, batch, self.hidden, device=device)
        return z, z.clone()

    def forward(self, x: torch.Tensor, state):
        n, B, T, _ = x.shape
        h0, c0 = state
        hs, cs = [], []
        for layer in range(self.num_layers):
            # input contributions of all T steps in one product; only the recurrence loops
            gx = torch.baddbmm(self.bias[layer], x.reshape(n, B * T, -1), self.w_ih[layer])
            gx = gx.view(n, B, T, -1)
            h, c = h0[layer], c0[layer]
            out = []
            for t in range(T):
                i, f, g, o = (gx[:, :, t] + torch.bmm(h, self.w_hh[layer])).chunk(4, -1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                out.append(h)
            hs.append(h)
            cs.append(c)
            x = torch.stack(out, 2)
            if layer < self.num_layers - 1 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        return x, (torch.stack(hs), torch.stack(cs))


class AlignmentRNN(AlignmentModel):
    """Paper: Linear(in, 1024), then a 5-layer LSTM (hidden 64, dropout 0.1), per agent."""

    recurrent = True

    def __init__(self, n_agents: int, obs_dim: int, hidden: int = 1024, layers: int = 5,
                 lstm_hidden: int = 64, dropout: float = 0.1):
        super().__init__(n_agents, obs_dim)
        self.init_kwargs = dict(n_agents=n_agents, obs_dim=obs_dim, hidden=hidden, layers=layers,
                                lstm_hidden=lstm_hidden, dropout=dropout)
        self.inp = BatchedLinear(n_agents, (n_agents - 1) * obs_dim, hidden)
        self.lstm = BatchedLSTM(n_agents, hidden, lstm_hidden, layers, dropout)
        self.head = BatchedLinear(n_agents, lstm_hidden, obs_dim)

    def initial_state(self, batch, device=None):
        return self.lstm.zero_state(batch, device if device is not None else self.mean.device)

    def sequence(self, obs: torch.Tensor, state=None):
        """Raw ``[B, T, n, d]`` -> standardised predictions ``[B, T, n, d]`` and the final state."""
        B, T, n, d = obs.shape
        if state is None:
            state = self.initial_state(B, obs.device)
        z = self._gather_others(self.normalise(obs).reshape(B * T, n, d))  # [B*T, n, (n-1)d]
        x = torch.relu(self.inp(z.transpose(0, 1)))  # [n, B*T, hidden]
        x, state = self.lstm(x.view(n, B, T, -1), state)
        y = self.head(x.reshape(n, B * T, -1))  # [n, B*T, d]
        return y.view(n, B, T, d).permute(1, 2, 0, 3), state

    def step(self, obs, state=None):
        y, state = self.sequence(obs.unsqueeze(1), state)
        return y[:, 0], state

    def predict_normalised(self, obs):
        """A single step from the episode-start state."""
        return self.step(obs)[0]


class BatchedLayerNorm(nn.Module):
    """LayerNorm over the last dim with a separate affine transform per agent (``[n, ..., dim]``)."""

    def __init__(self, n: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, 1, dim))
        self.bias = nn.Parameter(torch.zeros(n, 1, dim))

    def forward(self, x):
        shape = x.shape
        y = F.layer_norm(x.reshape(shape[0], -1, shape[-1]), shape[-1:])
        return (y * self.weight + self.bias).view(shape)


class BatchedEncoderLayer(nn.Module):
    """Pre-LN transformer encoder block, independent weights per agent; ``x``: ``[n, B, S, D]``."""

    def __init__(self, n: int, d_model: int, heads: int, ff_dim: int, dropout: float):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads, self.dropout = heads, dropout
        self.norm1, self.norm2 = BatchedLayerNorm(n, d_model), BatchedLayerNorm(n, d_model)
        self.qkv = BatchedLinear(n, d_model, 3 * d_model)
        self.proj = BatchedLinear(n, d_model, d_model)
        self.ff1, self.ff2 = BatchedLinear(n, d_model, ff_dim), BatchedLinear(n, ff_dim, d_model)

    def _lin(self, layer, x):
        n, B, S, _ = x.shape
        return layer(x.reshape(n, B * S, -1)).view(n, B, S, -1)

    def forward(self, x):
        n, B, S, D = x.shape
        H, drop = self.heads, self.dropout if self.training else 0.0
        q, k, v = self._lin(self.qkv, self.norm1(x)).view(n, B, S, 3, H, D // H).permute(3, 0, 1, 4, 2, 5)
        att = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)  # [n, B, H, S, D/H]
        att = att.transpose(2, 3).reshape(n, B, S, D)
        x = x + F.dropout(self._lin(self.proj, att), drop, self.training)
        h = torch.relu(self._lin(self.ff1, self.norm2(x)))
        return x + F.dropout(self._lin(self.ff2, F.dropout(h, drop, self.training)), drop, self.training)


class AlignmentTransformer(AlignmentModel):
    """Paper: one token per other agent, d_model 64, 4 heads, 5 layers; one model per agent."""

    def __init__(self, n_agents: int, obs_dim: int, d_model: int = 64, heads: int = 4,
                 layers: int = 5, ff_dim: int = 256, dropout: float = 0.1):
        super().__init__(n_agents, obs_dim)
        self.init_kwargs = dict(n_agents=n_agents, obs_dim=obs_dim, d_model=d_model, heads=heads,
                                layers=layers, ff_dim=ff_dim, dropout=dropout)
        n = n_agents
        self.embed = BatchedLinear(n, obs_dim, d_model)
        # which teammate a token is (tokens are otherwise interchangeable), and the query token
        self.slot = nn.Parameter(torch.randn(n, 1, n - 1, d_model) * 0.02)
        self.query = nn.Parameter(torch.randn(n, 1, 1, d_model) * 0.02)
        self.blocks = nn.ModuleList(BatchedEncoderLayer(n, d_model, heads, ff_dim, dropout)
                                    for _ in range(layers))
        self.norm = BatchedLayerNorm(n, d_model)
        self.head = BatchedLinear(n, d_model, obs_dim)

    def predict_normalised(self, obs):
        B, n, d = obs.shape
        z = self.normalise(obs)[:, self.others]  # [B, n, n-1, d]
        tokens = self.embed(z.transpose(0, 1).reshape(n, B * (n - 1), d)).view(n, B, n - 1, -1)
        x = torch.cat([self.query.expand(n, B, 1, -1), tokens + self.slot], 2)  # [n, B, n, D]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, :, 0])).transpose(0, 1)


ALIGN_MODELS: dict[str, type[AlignmentModel]] = {
    "mlp": AlignmentMLP,
    "rnn": AlignmentRNN,
    "transformer": AlignmentTransformer,
    "mlp-robust": AlignmentMLP,  # same network, fitted with adversarial training
}
#: architectures fitted on adversarial examples of themselves (RobustAlign)
ROBUST_ARCHS = frozenset({"mlp-robust"})


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


def build_model(cfg: FitConfig, n_agents: int, obs_dim: int) -> AlignmentModel:
    if cfg.arch not in ALIGN_MODELS:
        raise KeyError(f"unknown f_theta architecture '{cfg.arch}'; known: {sorted(ALIGN_MODELS)}")
    cls = ALIGN_MODELS[cfg.arch]
    if cls is AlignmentRNN:
        return cls(n_agents, obs_dim, hidden=cfg.hidden, layers=cfg.layers,
                   lstm_hidden=cfg.lstm_hidden, dropout=cfg.dropout)
    if cls is AlignmentTransformer:
        return cls(n_agents, obs_dim, d_model=cfg.d_model, heads=cfg.heads, layers=cfg.layers,
                   ff_dim=cfg.ff_dim, dropout=cfg.dropout)
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


def _split_episodes(obs: torch.Tensor, episode: torch.Tensor | None, cfg: FitConfig,
                    gen: torch.Generator) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Whole episodes in random order up to ``n_samples`` samples; the first ones to validation."""
    if episode is None:
        raise ValueError("the recurrent f_theta needs the episode index of every sample "
                         "(the 'episode' entry of collect.py's samples file)")
    ids = torch.unique_consecutive(episode)
    starts = torch.cat([torch.zeros(1, dtype=torch.long),
                        torch.cumsum(torch.unique_consecutive(episode, return_counts=True)[1], 0)])
    pieces = [obs[starts[k]:starts[k + 1]] for k in range(len(ids))]
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


def _fit_sequences(model: AlignmentRNN, train: list[torch.Tensor], cfg: FitConfig, optim,
                   gen: torch.Generator, bar) -> None:
    per_batch = max(1, cfg.batch_size // cfg.seq_len)
    for _ in bar:
        model.train()
        order = torch.randperm(len(train), generator=gen).tolist()
        for g in range(0, len(order), per_batch):
            x, mask = _pad([train[k] for k in order[g:g + per_batch]])
            z = model.normalise(x)
            state = model.initial_state(len(x), x.device)
            for t0 in range(0, x.shape[1], cfg.seq_len):
                m = mask[:, t0:t0 + cfg.seq_len]
                pred, state = model.sequence(x[:, t0:t0 + cfg.seq_len], state)
                err = (pred - z[:, t0:t0 + cfg.seq_len]).pow(2).mean((-1, -2))
                loss = (err * m).sum() / m.sum()
                optim.zero_grad()
                loss.backward()
                optim.step()
                state = tuple(s.detach() for s in state)
        bar.set_postfix(loss=f"{loss.item():.4f}")


def _adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with PyTorch's fused kernel where the device has one (CPU, CUDA): the same update
    in one pass over the weights; on the paper's 5 x 1024 MLP its step is ~6x faster on a CPU
    than the default multi-tensor one, which made it half of the fit's time."""
    params = list(model.parameters())
    return torch.optim.Adam(params, lr=lr, fused=params[0].device.type in ("cpu", "cuda"))


def fit(obs: torch.Tensor, cfg: FitConfig, seed: int, device: torch.device | str = "cpu",
        progress: bool = True, episode: torch.Tensor | None = None) -> tuple[AlignmentModel, dict]:
    """Fit f_theta on joint observations ``[N, n, d]``; returns the model and fit stats.

    ``episode`` (``[N]``, samples sorted by episode then step) is needed by recurrent models.
    Robust archs (``ROBUST_ARCHS``) minimise ``(1 - w) * clean MSE + w * adversarial loss``
    with ``w = adv_weight``, the adversarial loss being the attack's own objective (delta on
    input and target) at a perturbation found by ``adv_steps`` sign-gradient steps of budget
    ``adv_eps`` on the current model (Goodfellow et al. 2015; Madry et al. 2018 with w = 1).
    Stats hold the per-agent validation MSE (raw units, clean) and the wall time.
    """
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
        optim = _adam(model, cfg.lr)
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
        optim = _adam(model, cfg.lr)
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
    stats = dict(val_mse=val_mse.tolist(), train_mse=train_mse.tolist(),
                 n_train=n_train, n_val=n_val, fit_seconds=time.time() - start,
                 config=asdict(cfg))
    if robust:  # how much an FGSM step at the training budget still raises the loss
        delta = adversarial_delta(model, val, cfg.adv_eps, 1)
        with torch.no_grad():
            stats["val_adv_mse"] = model.per_agent_loss(val + delta).mean(0).cpu().tolist()
    return model.cpu(), stats


def rebuild_model(arch: str, init_kwargs: dict, state_dict: dict) -> AlignmentModel:
    model = ALIGN_MODELS[arch](**init_kwargs)
    model.load_state_dict(state_dict)
    return model.eval()
