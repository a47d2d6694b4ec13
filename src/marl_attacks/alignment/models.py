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

Fitting them on samples: :mod:`marl_attacks.alignment.fitting`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def fused_adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with PyTorch's fused kernel where the device has one (CPU, CUDA): the same update
    in one pass over the weights. On the paper's 5 x 1024 MLP its step is ~6x faster on a CPU
    than the default multi-tensor one, which made it half of the fit's time; on the 5 x 256 MLP
    of config/paper.yaml the whole fit takes ~0.6x the CPU time (same validation MSE to 5 digits)."""
    params = list(model.parameters())
    return torch.optim.Adam(params, lr=lr, fused=params[0].device.type in ("cpu", "cuda"))


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
            for gx_t in gx.unbind(2):  # not gx[:, :, t]: each index's backward writes a zero gradient of all T steps
                i, f, g, o = (gx_t + torch.bmm(h, self.w_hh[layer])).chunk(4, -1)
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
        n = n_agents
        self.embed = BatchedLinear(n, obs_dim, d_model)
        # which teammate a token is (tokens are otherwise interchangeable), and the query token
        self.slot = nn.Parameter(torch.randn(n, 1, n - 1, d_model) * 0.02)
        self.query = nn.Parameter(torch.randn(n, 1, 1, d_model) * 0.02)
        self.blocks = nn.ModuleList(BatchedEncoderLayer(n, d_model, heads, ff_dim, dropout) for _ in range(layers))
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


def rebuild_model(arch: str, init_kwargs: dict, state_dict: dict) -> AlignmentModel:
    model = ALIGN_MODELS[arch](**init_kwargs)
    model.load_state_dict(state_dict)
    return model.eval()
