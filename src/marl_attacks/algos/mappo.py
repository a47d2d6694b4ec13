"""MAPPO in plain torch: shared actor, centralised critic, clipped PPO objective.

Reads top to bottom: hyperparameters, networks, then the training loop.
Rollouts are vectorized over ``num_envs`` parallel episodes. The actor is
shared by all agents and receives a one-hot agent ID appended by the learner
(never part of what the env emits, so never perturbed). The critic sees the
concatenated joint observation and predicts the team value. Time-limit ends
are bootstrapped from the value of the final observation (see
:func:`~marl_attacks.algos.common.bootstrap_truncated`). Every
``checkpoint_every`` updates all episodes restart from derived seeds, which
makes runs resumable from a checkpoint (see :mod:`~marl_attacks.algos.common`).

``agent: gru`` makes the actor EPyMARL's GRU agent (:mod:`.recurrent`; the critic stays
feed-forward, as EPyMARL's ``cv_critic``), trained on whole rollout chunks; with ``hidden: 128``,
``ent_coef: 0.001``, ``lr: 3e-4`` and ``standardise_rewards: true`` it has the settings of
EPyMARL's ``mappo.yaml``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Categorical, Normal
from tqdm import tqdm

from ..envs import BatchedEnv
from .base import Generators, VictimPolicy, draw, mask_scores
from .common import (
    Checkpointer,
    EpisodeTracker,
    bootstrap_truncated,
    gae,
    is_checkpoint_update,
    later_field,
    mlp,
    rng_state,
    segment_seeds,
    set_rng_state,
)
from .recurrent import GruNet, RecurrentVictim, check_agent, episode_starts
from .replay import RunningMeanStd


@dataclass
class MappoConfig:
    """MAPPO hyperparameters (defaults follow Yu et al. 2022 where they fit small budgets)."""

    total_steps: int = 200_000  # env steps (one step = one joint transition of one episode)
    num_envs: int = 64  # parallel episodes per rollout
    rollout_len: int = 50  # steps per env per rollout
    lr: float = 5e-4  # Adam learning rate, annealed linearly to 0 (anneal_lr)
    gamma: float = 0.99  # discount
    gae_lambda: float = 0.95  # GAE lambda
    clip: float = 0.2  # PPO ratio clip
    epochs: int = 5  # optimisation passes per rollout
    minibatches: int = 4  # minibatches per pass
    ent_coef: float = 0.01  # entropy bonus
    vf_coef: float = 0.5  # value loss weight
    max_grad_norm: float = 0.5  # global gradient clip
    hidden: int = 64  # width of both networks' two hidden layers
    reward_scale: float = 1.0  # rewards are multiplied by this for learning only
    init_log_std: float = -0.5  # initial log std of continuous actions
    checkpoint_every: int = 50  # updates per segment: resume point, and all episodes restart
    agent: str = later_field("mlp")  # actor network: mlp (two hidden layers) or gru (EPyMARL's RNN agent)
    standardise_rewards: bool = later_field(False)  # learn on (r - mean) / std, running stats (EPyMARL's)
    # lr falls linearly to 0 over the budget (CleanRL); EPyMARL keeps it constant
    anneal_lr: bool = later_field(True, after_gru=True)
    # advantages standardised per rollout (CleanRL); EPyMARL's ppo_learner uses them raw, so where
    # rewards say nothing new the entropy bonus, not the noise of the advantages, moves the policy
    normalise_advantages: bool = later_field(True, after_gru=True)

    def __post_init__(self):
        check_agent(self.agent)


class MappoPolicy(VictimPolicy):
    """Shared actor; greedy = argmax (discrete) or the clamped mean (continuous); :meth:`sample`
    draws from the same distribution the learner samples from (:meth:`dist`)."""

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        action_type: str,
        action_dim: int,
        action_low: float = -1.0,
        action_high: float = 1.0,
        hidden: int = 64,
        init_log_std: float = -0.5,
    ):
        super().__init__()
        self.init_kwargs = dict(
            n_agents=n_agents,
            obs_dim=obs_dim,
            action_type=action_type,
            action_dim=action_dim,
            action_low=action_low,
            action_high=action_high,
            hidden=hidden,
            init_log_std=init_log_std,
        )
        self.discrete = action_type == "discrete"
        self.action_low, self.action_high = action_low, action_high
        self.net = self.make_net(obs_dim + n_agents, hidden, action_dim)
        self.log_std = nn.Parameter(torch.full((action_dim,), init_log_std), requires_grad=not self.discrete)

    def make_net(self, in_dim: int, hidden: int, action_dim: int) -> nn.Module:
        return mlp([in_dim, hidden, hidden, action_dim], out_gain=0.01)

    def head(self, obs: torch.Tensor) -> torch.Tensor:
        """The actor's output (logits or mean) for ``obs``; a recurrent actor's memory stays."""
        return self.net(torch.cat([obs, self.agent_ids(obs)], dim=-1))

    def advance(self, obs: torch.Tensor) -> torch.Tensor:
        """:meth:`head` on the observation the victim acts on (a recurrent actor's memory moves past it)."""
        return self.head(obs)

    def dist(self, obs: torch.Tensor, avail: torch.Tensor | None = None):
        return self.dist_from(self.head(obs), avail)

    def dist_from(self, out: torch.Tensor, avail: torch.Tensor | None = None):
        if self.discrete:
            return Categorical(logits=mask_scores(out, avail))
        return Normal(out, self.log_std.exp().expand_as(out))

    def log_prob(self, dist, action: torch.Tensor) -> torch.Tensor:
        lp = dist.log_prob(action)
        return lp if self.discrete else lp.sum(-1)

    def entropy(self, dist) -> torch.Tensor:
        ent = dist.entropy()
        return ent if self.discrete else ent.sum(-1)

    def act(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        out = self.advance(obs)
        if self.discrete:
            return mask_scores(out, avail).argmax(-1)
        return out.clamp(self.action_low, self.action_high)

    def sample(self, obs: torch.Tensor, avail: torch.Tensor | None, generator: Generators) -> torch.Tensor:
        """A draw from :meth:`dist` with ``generator`` (one, or one per batch row), on the CPU.

        Discrete: inverse CDF of the softmax of the masked logits, with one uniform per agent
        (a masked action has probability 0, so it is never drawn). Continuous: mean + std *
        one normal per action dimension, clamped to the action bounds. Each step takes the
        same numbers from the generator whatever the observation, so an attacked episode
        draws the same numbers as its benign twin (common random numbers): their actions
        differ only where the attack moved the distribution.
        """
        out = self.advance(obs)
        B, n = out.shape[:2]
        if self.discrete:
            probs = torch.softmax(mask_scores(out, avail).double(), -1).cpu()
            cdf = probs.cumsum(-1)
            u = draw((B, n), generator).unsqueeze(-1) * cdf[..., -1:]
            action = torch.searchsorted(cdf, u, right=True).squeeze(-1)
            # u just below the total could round onto it: the last action with probability > 0
            last = probs.shape[-1] - 1 - (probs > 0).flip(-1).int().argmax(-1)
            return torch.minimum(action, last).to(out.device)
        z = draw(out.shape, generator, normal=True).to(out.device, out.dtype)
        return (out + self.log_std.exp() * z).clamp(self.action_low, self.action_high)

    def action_scores(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        if not self.discrete:
            raise NotImplementedError("action scores (the authors' white-box loss) need discrete actions")
        probs = torch.softmax(mask_scores(self.head(obs), avail), -1)
        return probs if avail is None else probs.masked_fill(~avail, 0.0)

    def attack_loss(
        self, obs: torch.Tensor, clean_action: torch.Tensor, avail: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = self.head(obs)
        if self.discrete:
            # lower the probability of the clean greedy action among the valid ones
            logp = torch.log_softmax(mask_scores(out, avail), -1)
            logp = logp.gather(-1, clean_action.unsqueeze(-1)).squeeze(-1)
            return -logp.sum(-1)
        # the greedy action is the mode, where log-prob has zero gradient; push the mean away
        return (out - clean_action).pow(2).sum((-1, -2))


class GruMappoPolicy(RecurrentVictim, MappoPolicy):
    """The shared actor as EPyMARL's GRU agent (``agent: gru``): acting advances its memory."""

    def __init__(self, *args, agent: str = "gru", **kwargs):
        super().__init__(*args, **kwargs)
        self.init_kwargs["agent"] = agent

    def make_net(self, in_dim: int, hidden: int, action_dim: int) -> nn.Module:
        return GruNet(in_dim, hidden, action_dim)

    def head(self, obs: torch.Tensor) -> torch.Tensor:
        return self.look(obs)[0]


class CentralCritic(nn.Module):
    """Team value from the concatenated joint observation: ``[B, n, d] -> [B, 1]``."""

    n_values = 1  # one value column, shared by every agent's advantage

    def __init__(self, n_agents: int, obs_dim: int, hidden: int):
        super().__init__()
        self.net = mlp([n_agents * obs_dim, hidden, hidden, 1])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs.flatten(-2))


def train(
    env: BatchedEnv,
    cfg: MappoConfig,
    seed: int,
    progress: bool = True,
    log_every: int = 1,
    checkpoint: Checkpointer | None = None,
    critic_cls: type[nn.Module] = CentralCritic,
    name: str = "mappo",
) -> tuple[MappoPolicy, list[dict]]:
    """Train MAPPO on ``env``; returns the policy and the training curve rows.

    ``critic_cls(n_agents, obs_dim, hidden)`` maps observations ``[B, n, d]``
    to ``[B, critic.n_values]`` values: one team value here, one per agent for
    IPPO (:mod:`.ippo`). Agent ``i``'s advantage comes from column ``i``
    (broadcast when there is one column). With ``checkpoint``, a resume point
    is written every ``cfg.checkpoint_every`` updates and training continues
    from it if one of the same config exists (see :mod:`.common`).
    """
    spec, device, N, T = env.spec, env.device, env.num_envs, cfg.rollout_len
    policy = (GruMappoPolicy if cfg.agent == "gru" else MappoPolicy)(
        spec.n_agents,
        spec.obs_dim,
        spec.action_type,
        spec.action_dim,
        spec.action_low,
        spec.action_high,
        cfg.hidden,
        cfg.init_log_std,
    ).to(device)
    critic = critic_cls(spec.n_agents, spec.obs_dim, cfg.hidden).to(device)
    params = [p for p in [*policy.parameters(), *critic.parameters()] if p.requires_grad]
    optim = torch.optim.Adam(params, lr=cfg.lr, eps=1e-5)
    n_updates = max(1, math.ceil(cfg.total_steps / (N * T)))
    tracker, curve, first_update = EpisodeTracker(N, device), [], 0
    reward_stats = RunningMeanStd(1)  # of the collected (scaled) rewards, with standardise_rewards

    state = checkpoint.load() if checkpoint else None
    if state is not None:
        policy.load_state_dict(state["policy"])
        critic.load_state_dict(state["critic"])
        optim.load_state_dict(state["optim"])
        set_rng_state(state["rng"])
        first_update, curve = state["update"], state["curve"]
        tracker.finished_returns, tracker.finished_lengths = state["finished"]
        if cfg.standardise_rewards:
            reward_stats.load_state_dict(state["reward_stats"])

    act_shape = (T, N, spec.n_agents) + (() if spec.discrete else (spec.action_dim,))
    buf_obs = torch.zeros(T, N, spec.n_agents, spec.obs_dim, device=device)
    buf_act = torch.zeros(act_shape, device=device, dtype=torch.long if spec.discrete else torch.float)
    buf_logp = torch.zeros(T, N, spec.n_agents, device=device)
    buf_val, buf_rew = (torch.zeros(T, N, critic.n_values, device=device) for _ in range(2))
    buf_done = torch.zeros(T, N, 1, device=device)
    # action masks (LBF): sampled and optimised among valid actions only, like EPyMARL
    has_mask = env.has_action_masks
    buf_avail = torch.ones(T, N, spec.n_agents, spec.action_dim, device=device, dtype=torch.bool) if has_mask else None

    start = time.time() - (curve[-1]["wall_s"] if curve else 0.0)
    bar = tqdm(
        total=n_updates * N * T,
        initial=first_update * N * T,
        unit="step",
        disable=not progress,
        desc=f"{name} {spec.name}",
    )
    for update in range(first_update, n_updates):
        if update % cfg.checkpoint_every == 0:
            obs = env.reset(segment_seeds(seed, update // cfg.checkpoint_every, N))
            policy.reset_memory(torch.ones(N, dtype=torch.bool, device=device))
            tracker.restart()
        for g in optim.param_groups:
            g["lr"] = cfg.lr * (1.0 - update / n_updates) if cfg.anneal_lr else cfg.lr
        with torch.no_grad():
            # a recurrent actor's memory at the chunk's start: its minibatches unroll from it
            memory0 = policy.memory_for(obs).clone() if policy.recurrent else None
            for t in range(T):
                avail = env.available_actions() if has_mask else None
                dist = policy.dist_from(policy.advance(obs), avail)
                action = dist.sample()
                buf_obs[t], buf_act[t] = obs, action
                if has_mask:
                    buf_avail[t] = avail
                buf_logp[t] = policy.log_prob(dist, action)
                buf_val[t] = critic(obs)
                step = env.step(action)
                done = step.terminated | step.truncated
                policy.reset_memory(done)
                reward = (step.reward * cfg.reward_scale).unsqueeze(-1)
                if cfg.standardise_rewards:
                    reward_stats.update(reward.view(-1, 1))
                    reward = reward_stats.standardise(reward)
                if step.truncated.any():
                    reward = bootstrap_truncated(
                        reward, step.truncated.unsqueeze(-1), critic(step.final_obs), cfg.gamma
                    )
                buf_rew[t], buf_done[t] = reward, done.float().unsqueeze(-1)
                tracker.update(step.reward, done, step.win)
                obs = step.obs
            adv, ret = gae(buf_rew, buf_val, buf_done, critic(obs), cfg.gamma, cfg.gae_lambda)

        b_obs, b_act = buf_obs.flatten(0, 1), buf_act.flatten(0, 1)
        b_logp, b_adv, b_ret = buf_logp.flatten(0, 1), adv.flatten(0, 1), ret.flatten(0, 1)
        b_avail = buf_avail.flatten(0, 1) if has_mask else None
        if cfg.normalise_advantages:
            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
        stats = {}
        for _ in range(cfg.epochs):
            for idx, envs in minibatches(policy.recurrent, T, N, cfg.minibatches, device):
                if envs is None:
                    out = policy.head(b_obs[idx])
                else:  # whole chunks, unrolled from their stored memory as in the rollout
                    starts = episode_starts(buf_done[:, envs])
                    out = policy.unroll(buf_obs[:, envs], memory0[envs], starts)[0].flatten(0, 1)
                dist = policy.dist_from(out, None if b_avail is None else b_avail[idx])
                logp = policy.log_prob(dist, b_act[idx])
                ratio = (logp - b_logp[idx]).exp()
                a = b_adv[idx]  # [mb, 1] team advantage or [mb, n] per agent; broadcasts over agents
                pg_loss = -torch.min(ratio * a, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * a).mean()
                v_loss = (critic(b_obs[idx]) - b_ret[idx]).pow(2).mean()
                ent = policy.entropy(dist).mean()
                loss = pg_loss + cfg.vf_coef * v_loss - cfg.ent_coef * ent
                optim.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optim.step()
                stats = dict(pg_loss=pg_loss.item(), v_loss=v_loss.item(), entropy=ent.item())
        bar.update(N * T)
        if update % log_every == 0 or update == n_updates - 1:
            curve.append(tracker.curve_row(update, (update + 1) * N * T, start, **stats))
            bar.set_postfix(ret=f"{curve[-1]['episode_return']:.2f}")
        if checkpoint and is_checkpoint_update(update, cfg.checkpoint_every, n_updates):
            checkpoint.save(
                dict(
                    policy=policy.state_dict(),
                    critic=critic.state_dict(),
                    optim=optim.state_dict(),
                    rng=rng_state(),
                    update=update + 1,
                    curve=curve,
                    finished=[tracker.finished_returns, tracker.finished_lengths],
                    **({"reward_stats": reward_stats.state_dict()} if cfg.standardise_rewards else {}),
                )
            )
    bar.close()
    policy.reset_memory(torch.zeros(0, dtype=torch.bool))  # a recurrent actor leaves with no memory
    return policy.cpu(), curve


def minibatches(recurrent: bool, T: int, N: int, k: int, device) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """One epoch's ``k`` minibatches: indices into the flattened ``[T * N]`` rollout, and for a
    recurrent actor the envs whose whole chunks they hold (time-major), else None (any steps)."""
    if not recurrent:
        return [(idx, None) for idx in torch.randperm(N * T, device=device).chunk(k)]
    steps = torch.arange(T, device=device).unsqueeze(1) * N
    return [((steps + envs).flatten(), envs) for envs in torch.randperm(N, device=device).chunk(k)]
