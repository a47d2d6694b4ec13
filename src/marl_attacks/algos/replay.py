"""Transition replay for the value-based learners (QMIX, VDN), and the running statistics that
standardise their rewards and mixer states.
"""

from __future__ import annotations

import math

import torch

from ..envs import Step


class ReplayBuffer:
    """A ``[time, env]`` ring of transitions on the CPU, oldest time row overwritten first.

    Each call of :meth:`add` writes one time row (one transition per parallel
    episode), so the transitions that follow one in its episode are the rows
    below it: :meth:`sample` draws uniformly and builds n-step returns from them.
    ``ended`` marks the last transition of an episode (terminated, truncated,
    or cut by :meth:`cut`, e.g. when all episodes restart); an n-step window
    stops there and at the newest row. With ``action_dim``, each transition
    also keeps the next state's action mask (``next_avail``) so the TD target
    maximises over valid actions only. With ``memory_dim``, each transition keeps the memory
    the (GRU) agents acted with, which :meth:`sample_sequences` starts its sequences from.
    With ``time_limit_terminal``, a transition that hit the time limit is stored as terminated:
    its target does not bootstrap (EPyMARL on LBF, whose env reports its time limit as done).
    """

    FIELDS = ("obs", "action", "reward", "terminated", "ended", "next_obs")

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        n_agents: int,
        obs_dim: int,
        action_dim: int | None = None,
        memory_dim: int | None = None,
        time_limit_terminal: bool = False,
    ):
        rows = max(1, math.ceil(capacity / num_envs))
        self.time_limit_terminal = time_limit_terminal
        if action_dim is not None:
            self.FIELDS = self.FIELDS + ("next_avail",)
            self.next_avail = torch.ones(rows, num_envs, n_agents, action_dim, dtype=torch.bool)
        if memory_dim is not None:
            self.FIELDS = self.FIELDS + ("memory",)
            self.memory = torch.zeros(rows, num_envs, n_agents, memory_dim)
        self.rows, self.num_envs, self.pos, self.size = rows, num_envs, 0, 0  # size in rows
        self.obs = torch.zeros(rows, num_envs, n_agents, obs_dim)
        self.action = torch.zeros(rows, num_envs, n_agents, dtype=torch.long)
        self.reward = torch.zeros(rows, num_envs)
        self.terminated = torch.zeros(rows, num_envs, dtype=torch.bool)
        self.ended = torch.zeros(rows, num_envs, dtype=torch.bool)
        self.next_obs = torch.zeros(rows, num_envs, n_agents, obs_dim)

    def __len__(self) -> int:
        return self.size * self.num_envs

    def add(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        reward: torch.Tensor,
        step: Step,
        next_avail: torch.Tensor | None = None,
        memory: torch.Tensor | None = None,
    ) -> None:
        """One time row; ``next_obs`` is ``final_obs`` where an episode ended; ``memory``: what the
        agents remembered when they acted on ``obs``."""
        i = self.pos
        ended = (step.terminated | step.truncated).cpu()
        terminated = ended if self.time_limit_terminal else step.terminated.cpu()
        self.obs[i], self.action[i], self.reward[i] = obs.cpu(), action.cpu(), reward.cpu()
        self.terminated[i], self.ended[i], self.next_obs[i] = terminated, ended, step.final_obs.cpu()
        if next_avail is not None:
            # the mask after an episode's end belongs to the next episode's first state: the
            # final state of a truncated episode bootstraps over all actions instead
            self.next_avail[i] = next_avail.cpu() | ended.view(-1, 1, 1)
        if memory is not None:
            self.memory[i] = memory.cpu()
        self.pos = (i + 1) % self.rows
        self.size = min(self.size + 1, self.rows)

    def cut(self) -> None:
        """End every episode at the newest row (the env is about to be reset)."""
        if self.size:
            self.ended[self.pos - 1] = True

    def sample(
        self, batch_size: int, device: torch.device, n_step: int = 1, gamma: float = 1.0, reward_fn=None
    ) -> dict:
        """Uniform transitions with their ``n_step`` returns (rewards through ``reward_fn``).

        ``reward`` sums ``gamma ** k * r_k`` over the window up to and including
        its first ended transition (or the newest one); ``next_obs``,
        ``next_avail`` and ``terminated`` are the window's last transition's and
        ``discount`` is ``gamma ** (window length)``.
        """
        age = torch.randint(self.size, (batch_size,))  # 0 = oldest row
        env = torch.randint(self.num_envs, (batch_size,))
        first = (self.pos - self.size + age) % self.rows
        reward, steps, last = self._windows(age, env, n_step, gamma, reward_fn)
        batch = {
            "obs": self.obs[first, env],
            "action": self.action[first, env],
            "reward": reward,
            "terminated": self.terminated[last, env],
            "next_obs": self.next_obs[last, env],
            "discount": gamma ** steps.float(),
        }
        if "next_avail" in self.FIELDS:
            batch["next_avail"] = self.next_avail[last, env]
        return {key: v.to(device) for key, v in batch.items()}

    def _windows(self, age: torch.Tensor, env: torch.Tensor, n_step: int, gamma: float, reward_fn):
        """The n-step windows of transitions ``(age, env)``: their discounted reward, length and last row."""
        k = torch.arange(n_step)
        ages = age.unsqueeze(1) + k  # [B, n]
        rows = (self.pos - self.size + ages) % self.rows
        envs = env.unsqueeze(1).expand_as(rows)
        stop = self.ended[rows, envs] | (ages >= self.size - 1)  # the window ends after this step
        stop[:, -1] = True
        alive = torch.cat([torch.ones(len(age), 1, dtype=torch.long), (~stop[:, :-1]).long()], 1).cumprod(1)
        reward = self.reward[rows, envs]
        if reward_fn is not None:
            reward = reward_fn(reward)
        steps = alive.sum(1)  # window length m >= 1
        reward = (reward * alive * gamma ** k.float()).sum(1)
        return reward, steps, rows.gather(1, (steps - 1).unsqueeze(1)).squeeze(1)

    def sample_sequences(
        self,
        n_seq: int,
        burn_in: int,
        seq_len: int,
        device: torch.device,
        n_step: int = 1,
        gamma: float = 1.0,
        reward_fn=None,
    ) -> dict:
        """``n_seq`` runs of consecutive rows of one parallel env each, for GRU agents
        (:func:`.recurrent.sequence_td_loss`): ``burn_in`` rows that refresh the stored memory,
        ``seq_len`` rows whose transitions are learned from (with their n-step windows, as
        :meth:`sample`), and the ``n_step - 1`` rows those windows may reach. A run may cross
        episode ends (``starts``); rows past the newest repeat it and are never bootstrapped from.

        Time-major: ``obs``, ``next_obs`` ``[U, S, n, d]`` and ``starts`` ``[U, S]`` (the row
        before ended an episode) over ``U = burn_in + seq_len + n_step - 1`` rows; ``memory``
        ``[S, n, h]`` (the acting memory at the first row); ``action`` ``[L, S, n]``, ``reward``,
        ``discount``, ``terminated`` and ``last`` (the row of ``U`` whose ``next_obs`` the window
        bootstraps from) ``[L, S]``, ``next_avail`` ``[L, S, n, actions]`` for ``L = seq_len``.
        """
        span = burn_in + seq_len
        if self.size < span:
            raise ValueError(f"the replay holds {self.size} rows; a sequence needs burn_in + seq_len = {span}")
        first = torch.randint(self.size - span + 1, (n_seq,))  # age of the first row
        env = torch.randint(self.num_envs, (n_seq,))
        ages = (first.unsqueeze(1) + torch.arange(span + n_step - 1)).clamp(max=self.size - 1)  # [S, U]
        rows = (self.pos - self.size + ages) % self.rows
        envs = env.unsqueeze(1).expand_as(rows)
        learned = (first + burn_in).unsqueeze(0) + torch.arange(seq_len).unsqueeze(1)  # [L, S] ages
        env_l = env.repeat(seq_len)  # the env of each flattened (L, S) transition
        reward, steps, last = self._windows(learned.flatten(), env_l, n_step, gamma, reward_fn)
        ended = self.ended[rows, envs]
        batch = {
            "obs": self.obs[rows, envs].transpose(0, 1),
            "next_obs": self.next_obs[rows, envs].transpose(0, 1),
            "starts": torch.cat([torch.zeros_like(ended[:, :1]), ended[:, :-1]], 1).T,
            "memory": self.memory[rows[:, 0], env],
            "action": self.action[rows[:, burn_in:span], envs[:, burn_in:span]].transpose(0, 1),
            "reward": reward.view(seq_len, n_seq),
            "discount": (gamma ** steps.float()).view(seq_len, n_seq),
            "terminated": self.terminated[last, env_l].view(seq_len, n_seq),
            "last": (learned - first + steps.view(seq_len, n_seq) - 1),
        }
        if "next_avail" in self.FIELDS:
            batch["next_avail"] = self.next_avail[last, env_l].view(seq_len, n_seq, *self.next_avail.shape[2:])
        return {key: v.to(device) for key, v in batch.items()}

    def state_dict(self) -> dict:
        return {"pos": self.pos, "size": self.size, **{k: getattr(self, k)[: self.size].clone() for k in self.FIELDS}}

    def load_state_dict(self, state: dict) -> None:
        self.pos, self.size = state["pos"], state["size"]
        for k in self.FIELDS:
            getattr(self, k)[: self.size] = state[k]


class RunningMeanStd:
    """Count, mean and sum of squared deviations of ``[B, d]`` samples (Chan et al.'s merge)."""

    def __init__(self, dim: int):
        self.count, self.mean, self.m2 = 0, torch.zeros(dim, dtype=torch.float64), torch.zeros(dim, dtype=torch.float64)

    def update(self, x: torch.Tensor) -> None:
        x = x.detach().double().cpu()
        n, mean = x.shape[0], x.mean(0)
        delta, total = mean - self.mean, self.count + n
        self.m2 += ((x - mean) ** 2).sum(0) + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.count = total

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` along the last dim (std at least 1e-4; 0 and 1 before any data)."""
        std = (self.m2 / max(1, self.count)).sqrt().clamp(min=1e-4) if self.count else 1.0
        mean, std = self.mean.to(x.device), torch.as_tensor(std, dtype=torch.float64).to(x.device)
        return ((x - mean) / std).to(x.dtype)

    def state_dict(self) -> dict:
        return {"count": self.count, "mean": self.mean.clone(), "m2": self.m2.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.mean, self.m2 = state["count"], state["mean"].clone(), state["m2"].clone()
