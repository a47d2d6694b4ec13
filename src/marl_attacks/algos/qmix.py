"""QMIX and VDN: value decomposition learned off-policy from a replay buffer.

Reads top to bottom: hyperparameters, the agent Q-network (the victim policy),
the TD target, then the training loop; the mixers are in :mod:`.mixers`, the replay
buffer in :mod:`.replay`. QMIX
(Rashid et al. 2018) mixes the agents' Q-values with a monotonic network
whose weights come from hypernetworks of the state; VDN (Sunehag et al. 2018)
sums them. Discrete actions only.

Choices where EPyMARL (the paper's framework) differs or the paper is silent:

- The agent network is by default a feed-forward MLP on the current observation
  (EPyMARL's default agent is a GRU over the episode; the authors' ``qmix.yaml`` sets
  ``use_rnn: False``). The buffer holds transitions in a ``[time, env]`` ring rather than
  whole episodes, which keeps replay and batching simple and fast on a CPU. ``agent: gru``
  makes it EPyMARL's GRU agent, learned on replayed sequences with burn-in from stored
  memories (:mod:`.recurrent`).
- n-step targets (``n_step``; EPyMARL: 1-step on whole episodes, pymarl2:
  TD(lambda)): a sampled transition's target sums the next up to ``n_step``
  real rewards of its episode, stopping at a termination (no bootstrap), a
  time limit or a restart of the episodes (bootstrap from the observation
  that ended it) and at the newest stored step. With the feed-forward agent
  and a sparse reward (LBF), 1-step targets let the max-operator's
  overestimation, amplified by the mixer, bootstrap on itself before any
  reward arrives; real rewards in the target cut that.
- Rewards are standardised for learning (``standardise_rewards``, EPyMARL's
  option of that name) with a running mean and standard deviation, here over
  every collected reward (EPyMARL: over the sampled batches), kept in the
  checkpoint. On LBF this turns the rare food reward into a large one and
  every other step into a small penalty.
- The mixer's hypernetworks see the state standardised by a running mean and
  standard deviation of the collected joint observations
  (``normalise_state``; EPyMARL feeds the env's state as it is). LBF's raw
  grid coordinates and levels (up to 7) made the hypernetworks' gain large
  and Q_tot diverge (30-40 with no reward seen) without it.
- One network shared by all agents, with the one-hot agent ID appended by the
  learner (never part of the env's observation, never perturbed).
- The mixer's state is the concatenated joint observation (these envs expose
  no separate global state).
- Double-Q targets: the online agent network picks the next greedy actions,
  the target networks evaluate them. Targets are updated by hard copy every
  ``target_update`` gradient steps (EPyMARL's default, 200 episodes there) or,
  for ``target_update < 1``, by Polyak averaging with that rate.
- A time limit is not a terminal state: the transition that hit it stores the
  observation that ended the episode (``Step.final_obs``) as its next
  observation and bootstraps from it; only ``terminated`` cuts the target.
  ``time_limit_terminal`` cuts it there too, as EPyMARL does on LBF (lbforaging reports its
  time limit as done): on lbf-2s-8x8-3p-2f bootstrapping there let Q_tot drift up with the
  feed-forward agent and diverge with the GRU agent (bench/experiments/qmix-lbf/RESULTS.md).
- Exploration is epsilon-greedy per agent, epsilon decaying linearly in env
  steps; the rollouts run ``num_envs`` episodes side by side.
- The replay buffer lives on the CPU and is saved whole in each checkpoint:
  ``buffer_size x (2 n d + n + 3)`` numbers, e.g. 50k transitions of 3 agents
  x 18 dims = 22 MB.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from ..envs import BatchedEnv
from .base import Generators, VictimPolicy, draw, mask_scores
from .common import (
    Checkpointer,
    EpisodeTracker,
    is_checkpoint_update,
    later_field,
    mlp,
    rng_state,
    segment_seeds,
    set_rng_state,
)
from .mixers import QMixer, VdnMixer
from .recurrent import GruNet, RecurrentVictim, check_agent, sequence_td_loss
from .replay import ReplayBuffer, RunningMeanStd


@dataclass
class VdnConfig:
    """VDN hyperparameters (EPyMARL's where they carry over to transitions)."""

    total_steps: int = 200_000  # env steps (one step = one joint transition of one episode)
    num_envs: int = 16  # parallel episodes
    rollout_len: int = 4  # steps per env between training phases; one curve row each
    train_steps: int = 1  # gradient steps per phase; defaults replay a transition 1*512/(16*4) = 8x
    batch_size: int = 512  # transitions per gradient step (one large step: 3x faster than 4 x 128)
    buffer_size: int = 50_000  # replay capacity in transitions, oldest overwritten first
    learning_starts: int = 1_000  # transitions collected before the first gradient step
    lr: float = 5e-4  # Adam learning rate (EPyMARL)
    gamma: float = 0.99  # discount
    eps_start: float = 1.0  # epsilon-greedy exploration at the start
    eps_end: float = 0.05  # ... and after the decay (EPyMARL)
    eps_anneal_steps: int = 50_000  # env steps of linear epsilon decay (EPyMARL)
    target_update: float = 200  # >= 1: hard copy every this many gradient steps; < 1: Polyak rate
    double_q: bool = True  # online net picks the next action, target net evaluates it
    max_grad_norm: float = 10.0  # global gradient clip (EPyMARL)
    hidden: int = 64  # width of the agent network's two hidden layers
    reward_scale: float = 1.0  # rewards are multiplied by this for learning only
    n_step: int = 5  # TD target from up to n real rewards, then bootstrap (EPyMARL: 1)
    standardise_rewards: bool = True  # learn on (r - mean) / std, running stats (EPyMARL's option)
    time_limit_terminal: bool = later_field(False)  # a time-limit end cuts the TD target (EPyMARL on LBF)
    checkpoint_every: int = 1000  # phases per segment (64k steps): resume point, all episodes restart
    agent: str = later_field("mlp")  # agent network: mlp (two hidden layers) or gru (EPyMARL's RNN agent)
    seq_len: int = later_field(10)  # gru: consecutive transitions learned from per replayed sequence
    burn_in: int = later_field(10)  # gru: transitions before them that only refresh the stored memory

    def __post_init__(self):
        check_agent(self.agent)
        if self.seq_len < 1 or self.burn_in < 0:
            raise ValueError(f"seq_len {self.seq_len} (>= 1) and burn_in {self.burn_in} (>= 0)")


@dataclass
class QmixConfig(VdnConfig):
    """QMIX hyperparameters: VDN's plus the mixer's sizes (EPyMARL's defaults)."""

    mixer_embed: int = 32  # width of the mixing network's hidden layer
    hypernet_embed: int = 64  # width of the hypernetworks' hidden layer
    normalise_state: bool = True  # hypernetworks see the state standardised by running stats


class QPolicy(VictimPolicy):
    """Shared agent Q-network; the victim acts greedily on its Q-values (:meth:`act`) or
    epsilon-greedily with its final training epsilon ``explore_eps`` (:meth:`sample`)."""

    def __init__(self, n_agents: int, obs_dim: int, action_dim: int, hidden: int = 64, explore_eps: float = 0.05):
        super().__init__()
        # explore_eps defaults to VdnConfig.eps_end, so policies saved before it was stored
        # (all trained with eps_end 0.05) sample as they were trained
        self.init_kwargs = dict(
            n_agents=n_agents, obs_dim=obs_dim, action_dim=action_dim, hidden=hidden, explore_eps=explore_eps
        )
        self.explore_eps = explore_eps
        self.net = self.make_net(obs_dim + n_agents, hidden, action_dim)

    def make_net(self, in_dim: int, hidden: int, action_dim: int) -> nn.Module:
        return mlp([in_dim, hidden, hidden, action_dim], activation=nn.ReLU)

    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, n, d] -> [B, n, actions]``; a recurrent agent's memory stays."""
        return self.net(torch.cat([obs, self.agent_ids(obs)], dim=-1))

    def advance(self, obs: torch.Tensor) -> torch.Tensor:
        """:meth:`q_values` of the observation the victim acts on (a recurrent agent's memory moves past it)."""
        return self.q_values(obs)

    def act(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        return mask_scores(self.advance(obs), avail).argmax(-1)

    def sample(self, obs: torch.Tensor, avail: torch.Tensor | None, generator: Generators) -> torch.Tensor:
        """The behaviour policy the victim was trained with at its end: with probability
        ``explore_eps`` per agent a uniform-random available action, else the greedy one.

        Two uniforms per agent and step from ``generator`` (one, or one per batch row: see
        :func:`draw`), drawn whatever the observation, so an attacked episode explores at the
        same steps, with the same draws, as its benign twin (common random numbers).
        """
        greedy = self.act(obs, avail)
        B, n = greedy.shape
        u = draw((B, n, 2), generator).to(greedy.device)
        if avail is None:
            avail = torch.ones(B, n, self.init_kwargs["action_dim"], dtype=torch.bool, device=greedy.device)
        count = avail.sum(-1)
        k = (u[..., 1] * count).long().clamp(max=count - 1)  # the k-th available action
        uniform = (avail.cumsum(-1) <= k.unsqueeze(-1)).sum(-1)
        return torch.where(u[..., 0] < self.explore_eps, uniform, greedy)

    def action_scores(self, obs: torch.Tensor, avail: torch.Tensor | None = None) -> torch.Tensor:
        # the authors fill unavailable actions' Q-values with 0, so where every available Q is below 0
        # their maximum is an unavailable action's 0 and the loss has no gradient
        q = self.q_values(obs)
        return q if avail is None else q.masked_fill(~avail, 0.0)

    def attack_loss(
        self, obs: torch.Tensor, clean_action: torch.Tensor, avail: torch.Tensor | None = None
    ) -> torch.Tensor:
        # lower the Q-value of the clean greedy action, summed over agents
        q = self.q_values(obs).gather(-1, clean_action.unsqueeze(-1)).squeeze(-1)
        return -q.sum(-1)


class GruQPolicy(RecurrentVictim, QPolicy):
    """The agent Q-network as EPyMARL's GRU agent (``agent: gru``): acting advances its memory."""

    def __init__(self, *args, agent: str = "gru", **kwargs):
        super().__init__(*args, **kwargs)
        self.init_kwargs["agent"] = agent

    def make_net(self, in_dim: int, hidden: int, action_dim: int) -> nn.Module:
        return GruNet(in_dim, hidden, action_dim)

    def q_values(self, obs: torch.Tensor) -> torch.Tensor:
        return self.look(obs)[0]


def make_mixer(cfg: VdnConfig, n_agents: int, obs_dim: int) -> nn.Module:
    if isinstance(cfg, QmixConfig):
        return QMixer(n_agents, n_agents * obs_dim, cfg.mixer_embed, cfg.hypernet_embed)
    return VdnMixer()


def td_target(
    batch: dict, policy: QPolicy, target_policy: QPolicy, target_mixer: nn.Module, gamma: float, double_q: bool = True
) -> torch.Tensor:
    """``r + discount * (1 - terminated) * Q_tot'(s', a')`` for a batch of transitions.

    ``reward`` is the (n-step) return up to the bootstrap state ``next_obs`` and
    ``discount`` its ``gamma ** steps`` (``gamma`` where the batch has none, one step).
    ``next_obs`` of a time-limit end is the observation that ended the
    episode, so truncated transitions bootstrap like any other non-terminal one.
    """
    with torch.no_grad():
        next_obs = batch["next_obs"]
        q_next = target_policy.q_values(next_obs)
        chooser = policy.q_values(next_obs) if double_q else q_next
        chooser = mask_scores(chooser, batch.get("next_avail"))
        q_next = q_next.gather(-1, chooser.argmax(-1, keepdim=True)).squeeze(-1)
        live = 1.0 - batch["terminated"].float()
        discount = batch.get("discount", gamma)
        return batch["reward"] + discount * live * target_mixer(q_next, next_obs)


def epsilon(cfg: VdnConfig, env_steps: int) -> float:
    frac = min(1.0, env_steps / max(1, cfg.eps_anneal_steps))
    return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)


def update_target(target: nn.Module, online: nn.Module, rate: float) -> None:
    """Polyak step ``target <- (1 - rate) target + rate online``; ``rate = 1`` copies."""
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters()):
            t.lerp_(o, rate)


def train(
    env: BatchedEnv,
    cfg: VdnConfig,
    seed: int,
    progress: bool = True,
    log_every: int = 1,
    checkpoint: Checkpointer | None = None,
) -> tuple[QPolicy, list[dict]]:
    """Train QMIX (``cfg`` a :class:`QmixConfig`) or VDN on ``env``; returns policy and curve rows.

    One update = ``rollout_len`` steps of every parallel episode, then
    ``train_steps`` gradient steps. With ``checkpoint``, a resume point is
    written every ``cfg.checkpoint_every`` updates (see :mod:`.common`).
    """
    spec, device, N, T = env.spec, env.device, env.num_envs, cfg.rollout_len
    if not spec.discrete:
        raise ValueError(f"QMIX/VDN need discrete actions; {spec.name} has {spec.action_type} actions")
    name = "qmix" if isinstance(cfg, QmixConfig) else "vdn"
    gru = cfg.agent == "gru"
    policy = (GruQPolicy if gru else QPolicy)(spec.n_agents, spec.obs_dim, spec.action_dim, cfg.hidden, cfg.eps_end)
    policy = policy.to(device)
    mixer = make_mixer(cfg, spec.n_agents, spec.obs_dim).to(device)
    target_policy, target_mixer = copy.deepcopy(policy), copy.deepcopy(mixer)
    params = [*policy.parameters(), *mixer.parameters()]
    optim = torch.optim.Adam(params, lr=cfg.lr)
    normalise_state = getattr(cfg, "normalise_state", False)  # QMIX only
    has_mask = env.has_action_masks  # LBF: act, explore and bootstrap among valid actions only
    masks, memory_dim = spec.action_dim if has_mask else None, cfg.hidden if gru else None
    buffer = ReplayBuffer(cfg.buffer_size, N, spec.n_agents, spec.obs_dim, masks, memory_dim, cfg.time_limit_terminal)
    n_updates = max(1, math.ceil(cfg.total_steps / (N * T)))
    tracker, curve, first_update, grad_steps = EpisodeTracker(N, device), [], 0, 0
    reward_stats = RunningMeanStd(1)  # of the collected (scaled) rewards
    state_stats = RunningMeanStd(spec.n_agents * spec.obs_dim)  # of the mixer's state
    if normalise_state:
        mixer.norm = target_mixer.norm = state_stats.standardise

    state = checkpoint.load() if checkpoint else None
    if state is not None:
        for module, key in [
            (policy, "policy"),
            (mixer, "mixer"),
            (target_policy, "target_policy"),
            (target_mixer, "target_mixer"),
            (optim, "optim"),
            (buffer, "buffer"),
        ]:
            module.load_state_dict(state[key])
        set_rng_state(state["rng"])
        first_update, grad_steps, curve = state["update"], state["grad_steps"], state["curve"]
        reward_stats.load_state_dict(state["reward_stats"])
        state_stats.load_state_dict(state["state_stats"])
        tracker.finished_returns, tracker.finished_lengths = state["finished"]

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
            buffer.cut()  # the stored episodes end here: no n-step window runs into the new ones
            policy.reset_memory(torch.ones(N, dtype=torch.bool, device=device))
            tracker.restart()
        eps = epsilon(cfg, update * N * T)
        with torch.no_grad():
            avail = env.available_actions() if has_mask else None
            for _ in range(T):
                memory = policy.memory_for(obs) if gru else None  # what the agent remembered when acting
                action = policy.act(obs, avail)
                explore = torch.rand(action.shape, device=device) < eps
                random_action = env.random_actions(None, avail)  # torch's global RNG (checkpointed)
                action = torch.where(explore, random_action, action)
                step = env.step(action)
                avail = env.available_actions() if has_mask else None
                reward = step.reward * cfg.reward_scale
                policy.reset_memory(step.terminated | step.truncated)
                buffer.add(obs, action, reward, step, avail, memory)
                if cfg.standardise_rewards:
                    reward_stats.update(reward.view(-1, 1))
                if normalise_state:
                    state_stats.update(obs.flatten(1))
                tracker.update(step.reward, step.terminated | step.truncated, step.win)
                obs = step.obs

        stats = {"epsilon": eps}
        ready = buffer.size >= (cfg.burn_in + cfg.seq_len if gru else 1)
        if ready and len(buffer) >= max(cfg.learning_starts, cfg.batch_size):
            reward_fn = reward_stats.standardise if cfg.standardise_rewards else None
            for _ in range(cfg.train_steps):
                if gru:  # batch_size transitions in sequences of seq_len
                    n_seq = max(1, cfg.batch_size // cfg.seq_len)
                    batch = buffer.sample_sequences(
                        n_seq, cfg.burn_in, cfg.seq_len, device, cfg.n_step, cfg.gamma, reward_fn
                    )
                    loss, q_tot = sequence_td_loss(
                        batch, policy, mixer, target_policy, target_mixer, cfg.burn_in, cfg.double_q
                    )
                else:
                    batch = buffer.sample(cfg.batch_size, device, cfg.n_step, cfg.gamma, reward_fn)
                    target = td_target(batch, policy, target_policy, target_mixer, cfg.gamma, cfg.double_q)
                    q = policy.q_values(batch["obs"]).gather(-1, batch["action"].unsqueeze(-1)).squeeze(-1)
                    q_tot = mixer(q, batch["obs"])
                    loss = (q_tot - target).pow(2).mean()
                optim.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                optim.step()
                grad_steps += 1
                if cfg.target_update < 1:
                    update_target(target_policy, policy, cfg.target_update)
                    update_target(target_mixer, mixer, cfg.target_update)
                elif grad_steps % int(cfg.target_update) == 0:
                    target_policy.load_state_dict(policy.state_dict())
                    target_mixer.load_state_dict(mixer.state_dict())
                stats.update(td_loss=loss.item(), q_tot=q_tot.mean().item())
        bar.update(N * T)
        if update % log_every == 0 or update == n_updates - 1:
            curve.append(tracker.curve_row(update, (update + 1) * N * T, start, **stats))
            bar.set_postfix(ret=f"{curve[-1]['episode_return']:.2f}", eps=f"{eps:.2f}")
        if checkpoint and is_checkpoint_update(update, cfg.checkpoint_every, n_updates):
            checkpoint.save(
                dict(
                    policy=policy.state_dict(),
                    mixer=mixer.state_dict(),
                    target_policy=target_policy.state_dict(),
                    target_mixer=target_mixer.state_dict(),
                    optim=optim.state_dict(),
                    buffer=buffer.state_dict(),
                    reward_stats=reward_stats.state_dict(),
                    state_stats=state_stats.state_dict(),
                    rng=rng_state(),
                    update=update + 1,
                    grad_steps=grad_steps,
                    curve=curve,
                    finished=[tracker.finished_returns, tracker.finished_lengths],
                )
            )
    bar.close()
    policy.reset_memory(torch.zeros(0, dtype=torch.bool))  # a recurrent agent leaves with no memory
    return policy.cpu(), curve
