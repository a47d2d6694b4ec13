"""Alignment models f_theta: predict each agent's observation from its teammates'.

For agent ``i``, ``f_theta,i(o_{-i}) ~ o_i``, trained with MSE on benign
joint-observation samples. All agents' regressors are evaluated in one batched
call: the MLP stores its weights as ``[n_agents, in, out]`` stacks, so a
forward pass is a few batched matrix products instead of a loop over agents.

Inputs and targets are standardised with statistics of the training split
(kept as buffers); :meth:`AlignmentModel.per_agent_loss` reports the squared
error in the env's raw observation units, which is what the attack ascends.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn
from tqdm import tqdm


def others_index(n_agents: int) -> torch.Tensor:
    """``[n, n-1]``: for each agent, the indices of its teammates in order."""
    return torch.tensor([[j for j in range(n_agents) if j != i] for i in range(n_agents)])


class AlignmentModel(nn.Module):
    """Base: standardisation buffers and the loss used by both fitting and attacking."""

    def __init__(self, n_agents: int, obs_dim: int):
        super().__init__()
        self.n_agents, self.obs_dim = n_agents, obs_dim
        self.register_buffer("others", others_index(n_agents), persistent=False)
        self.register_buffer("mean", torch.zeros(n_agents, obs_dim))
        self.register_buffer("std", torch.ones(n_agents, obs_dim))

    def set_stats(self, obs: torch.Tensor) -> None:
        self.mean.copy_(obs.mean(0))
        # floor the std so constant dimensions do not blow up the standardised scale
        self.std.copy_(obs.std(0).clamp_min(1e-2))

    def normalise(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.mean) / self.std

    def predict_normalised(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, n, d]`` standardised predictions of each agent's standardised observation."""
        raise NotImplementedError

    def predict(self, obs: torch.Tensor) -> torch.Tensor:
        return self.predict_normalised(obs) * self.std + self.mean

    def per_agent_loss(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, n]`` mean squared error of f_theta,i(o_{-i}) against o_i, raw units."""
        return (self.predict(obs) - obs).pow(2).mean(-1)

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


ALIGN_MODELS: dict[str, type[AlignmentModel]] = {"mlp": AlignmentMLP}


@dataclass
class FitConfig:
    """Training of f_theta (paper: Adam 1e-4, batch 64, 100 epochs, 90/10 split)."""

    arch: str = "mlp"  # key of ALIGN_MODELS
    hidden: int = 1024  # hidden width (paper 1024)
    layers: int = 5  # hidden layers (paper 5)
    lr: float = 1e-4  # Adam learning rate
    batch_size: int = 64
    epochs: int = 100
    val_frac: float = 0.1  # held-out fraction for the validation MSE
    n_samples: int = 1000  # samples drawn from the pool (paper headline: 1,000)


def build_model(cfg: FitConfig, n_agents: int, obs_dim: int) -> AlignmentModel:
    if cfg.arch not in ALIGN_MODELS:
        raise KeyError(f"unknown f_theta architecture '{cfg.arch}'; known: {sorted(ALIGN_MODELS)}")
    return ALIGN_MODELS[cfg.arch](n_agents, obs_dim, hidden=cfg.hidden, layers=cfg.layers)


def fit(obs: torch.Tensor, cfg: FitConfig, seed: int, device: torch.device | str = "cpu",
        progress: bool = True) -> tuple[AlignmentModel, dict]:
    """Fit f_theta on joint observations ``[N, n, d]``; returns the model and fit stats.

    Stats hold the per-agent validation MSE (raw units) and the wall time.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    N, n, d = obs.shape
    take = torch.randperm(N, generator=gen)[: min(cfg.n_samples, N)]
    data = obs[take]
    n_val = max(1, int(round(cfg.val_frac * len(data))))
    val, train = data[:n_val].to(device), data[n_val:].to(device)
    model = build_model(cfg, n, d).to(device)
    model.set_stats(train)
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start = time.time()
    bar = tqdm(range(cfg.epochs), desc=f"fit f_theta ({cfg.arch})", disable=not progress)
    for _ in bar:
        perm = torch.randperm(len(train), generator=gen).to(device)
        for idx in perm.split(cfg.batch_size):
            batch = train[idx]
            loss = (model.predict_normalised(batch) - model.normalise(batch)).pow(2).mean()
            optim.zero_grad()
            loss.backward()
            optim.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        val_mse = model.per_agent_loss(val).mean(0).cpu()
        train_mse = model.per_agent_loss(train).mean(0).cpu()
    stats = dict(val_mse=val_mse.tolist(), train_mse=train_mse.tolist(),
                 n_train=len(train), n_val=n_val, fit_seconds=time.time() - start,
                 config=asdict(cfg))
    return model.cpu(), stats


def rebuild_model(arch: str, init_kwargs: dict, state_dict: dict) -> AlignmentModel:
    model = ALIGN_MODELS[arch](**init_kwargs)
    model.load_state_dict(state_dict)
    return model.eval()
