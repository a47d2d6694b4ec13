"""GRU victims (``agent: gru``): they learn a task that needs memory, their memory starts empty in
every episode and advances once per step on the observation they are shown (perturbed or not),
training replays what the rollout did, and a policy of the wrong network kind is refused."""

import pytest
import torch
import torch.nn.functional as F
from conftest import Crash, crash_after

from marl_attacks.algos import ALGOS, build_config, rebuild_policy
from marl_attacks.algos.common import Checkpointer
from marl_attacks.algos.mappo import GruMappoPolicy, MappoConfig, MappoPolicy
from marl_attacks.algos.qmix import GruQPolicy
from marl_attacks.algos.recurrent import GruNet, episode_starts
from marl_attacks.algos.replay import ReplayBuffer
from marl_attacks.attacks import AttackContext, make_attack
from marl_attacks.attacks.base import Attack
from marl_attacks.envs.base import BatchedEnv, EnvSpec, Step, check_discrete_actions
from marl_attacks.io import ArtifactError, save_artifact
from marl_attacks.lineage import policy_block
from marl_attacks.rollout import run_episodes, victim_actor
from marl_attacks.utils import seed_everything
from marl_attacks.victims import load_victim


class CueEnv(BatchedEnv):
    """A memory task: a cue (0 or 1) is shown at an episode's first step only; at its last step
    every agent is rewarded ``1 / n`` for the action equal to the cue. A feed-forward agent can
    only guess there (expected return 0.5), a recurrent one can remember (1). Row ``b``'s episodes
    last ``lengths[b % len(lengths)]`` steps."""

    def __init__(self, num_envs: int, n_agents: int = 2, lengths=(3,)):
        inf = torch.full((n_agents, 2), float("inf"))
        ones = torch.ones(n_agents, 2, dtype=torch.bool)
        self.spec = EnvSpec("cue", n_agents, 2, -inf, inf, ones, "discrete", 2, max_steps=max(lengths))
        self.num_envs, self.device = num_envs, torch.device("cpu")
        self.length = torch.tensor([lengths[b % len(lengths)] for b in range(num_envs)])

    def _obs(self):
        obs = torch.zeros(self.num_envs, self.spec.n_agents, 2)
        obs[:, :, 0] = torch.where(self.t == 0, 2.0 * self.cue - 1, 0.0).unsqueeze(1)
        obs[:, :, 1] = (self.t == self.length - 1).float().unsqueeze(1)
        return obs

    def reset(self, seeds):
        self.gen = torch.Generator().manual_seed(int(sum(seeds)) * 7919 + len(seeds))
        self.cue = torch.randint(2, (self.num_envs,), generator=self.gen)
        self.t = torch.zeros(self.num_envs, dtype=torch.long)
        return self._obs()

    def step(self, actions):
        a = torch.as_tensor(check_discrete_actions(actions, self.num_envs, self.spec.n_agents, 2, "cue"))
        last = self.t == self.length - 1
        reward = torch.where(last, (a == self.cue.unsqueeze(1)).float().mean(1), 0.0)
        self.t = self.t + 1
        final = self._obs()
        self.cue = torch.where(last, torch.randint(2, (self.num_envs,), generator=self.gen), self.cue)
        self.t = torch.where(last, 0, self.t)
        return Step(self._obs(), reward, last.clone(), torch.zeros_like(last), final)


PPO = dict(total_steps=3072, num_envs=16, rollout_len=12, epochs=4, minibatches=2, hidden=32, lr=3e-3)
Q = dict(
    total_steps=3000,
    num_envs=8,
    rollout_len=3,
    batch_size=48,
    learning_starts=96,
    buffer_size=3000,
    eps_anneal_steps=1500,
    target_update=50,
    hidden=32,
    lr=3e-3,
    n_step=3,
    seq_len=6,
    burn_in=3,
)


def _train(algo, cfg, seed=0, env=None, checkpoint=None):
    seed_everything(seed)
    hp = build_config(algo, cfg)
    return ALGOS[algo].train(env or CueEnv(hp.num_envs), hp, seed, progress=False, checkpoint=checkpoint)


def _greedy_return(policy):
    return run_episodes(CueEnv(64), victim_actor(policy, "greedy", range(64)), list(range(64))).returns.mean().item()


def test_gru_mappo_learns_a_memory_task_a_feedforward_actor_cannot():
    gru, curve = _train("mappo", {**PPO, "agent": "gru", "standardise_rewards": True})
    assert isinstance(gru, GruMappoPolicy) and curve[-1]["env_steps"] == PPO["total_steps"]
    assert _greedy_return(gru) >= 0.9
    feedforward, _ = _train("mappo", PPO)
    assert _greedy_return(feedforward) <= 0.7  # it can only guess the cue


def test_gru_qmix_learns_the_memory_task():
    policy, _ = _train("qmix", {**Q, "agent": "gru"})
    assert isinstance(policy, GruQPolicy)
    assert _greedy_return(policy) >= 0.9


def _gru(cls=GruMappoPolicy, obs_dim=3, actions=4):
    """A GRU victim of 2 agents with random weights (the same ones every call)."""
    torch.manual_seed(0)
    if cls is GruQPolicy:
        return GruQPolicy(2, obs_dim, actions, hidden=8)
    return GruMappoPolicy(2, obs_dim, "discrete", actions, hidden=8)


@pytest.mark.parametrize("cls", [GruMappoPolicy, GruQPolicy])
def test_memory_resets_only_in_rows_whose_episode_starts(cls):
    """Crafted episode ends: a row's outputs after its end are those of a fresh victim on the new
    episode, the other rows carry on; training's unroll reproduces the rollout's steps."""
    policy = _gru(cls)
    head = policy.head if cls is GruMappoPolicy else policy.q_values
    T, B = 6, 3
    obs = torch.randn(T, B, 2, 3)
    dones = torch.zeros(T, B, dtype=torch.bool)
    dones[1, 0] = dones[3, 2] = dones[4, 0] = True
    policy.reset_memory(torch.ones(B, dtype=torch.bool))
    outs = []
    for t in range(T):
        outs.append(head(obs[t]))
        assert torch.equal(head(obs[t]), outs[-1])  # looking does not advance
        policy.advance(obs[t])
        policy.reset_memory(dones[t])
    outs = torch.stack(outs)
    for b in range(B):
        starts = [0] + [t + 1 for t in range(T - 1) if dones[t, b]]
        for s, e in zip(starts, starts[1:] + [T]):
            fresh = _gru(cls)
            fresh.reset_memory(torch.ones(1, dtype=torch.bool))
            alone = torch.stack([fresh.advance(obs[t, b : b + 1])[0] for t in range(s, e)])
            assert torch.allclose(alone, outs[s:e, b], atol=1e-6), (b, s)
    unrolled = policy.unroll(obs, torch.zeros(B, 2, 8), episode_starts(dones))[0]
    assert torch.allclose(unrolled, outs, atol=1e-6)


class Recording:
    """A victim actor that keeps the observations the victim is shown and its memory before and
    after each step."""

    def __init__(self, actor):
        self.actor, self.seen, self.before, self.memory = actor, [], [], []

    def __call__(self, obs, avail):
        self.seen.append(obs.clone())
        self.before.append(self.actor.policy.memory_for(obs).clone())
        action = self.actor(obs, avail)
        self.memory.append(self.actor.policy.memory.clone())
        return action

    def reset(self, rows):
        self.actor.reset(rows)


def test_every_episode_starts_with_an_empty_memory_in_its_own_row():
    """Rows end at different steps and restart (auto-reset) while the others go on: the victim's
    memory before acting is zero exactly at each row's episode starts."""
    lengths = (2, 3, 5)
    env = CueEnv(3, lengths=lengths)
    policy = _gru(obs_dim=2, actions=2)
    policy.reset_memory(torch.ones(7, dtype=torch.bool))
    policy.memory = torch.ones(7, 2, 8)  # left over from another batch: must not leak in
    rec = Recording(victim_actor(policy, "greedy", range(3)))
    run_episodes(env, rec, [0, 1, 2])
    assert len(rec.seen) == 5
    for t, memory in enumerate(rec.before):
        for b, length in enumerate(lengths):
            assert (memory[b].abs().sum() == 0) == (t % length == 0), (t, b)


class Shift(Attack):
    """Adds ``eps`` to every perturbable dimension of the attacked agents."""

    def perturb(self, obs, eps, attacked):
        return eps.view(-1, 1, 1) * attacked.unsqueeze(-1).float() * torch.ones_like(obs)


@pytest.mark.parametrize("attack", ["shift", "white-box-pgd", "white-box-fgsm"])
def test_memory_advances_once_per_step_on_the_perturbed_observation(attack):
    """The victim's memory after each step is its GRU unrolled over what it was shown (perturbed),
    not over the clean observations; a white-box attacker's own look at the victim leaves it."""
    policy = _gru(obs_dim=2, actions=2)
    env = CueEnv(4, lengths=(4,))
    ctx = AttackContext(spec=env.spec, generator=torch.Generator().manual_seed(0), victim=policy)
    atk = Shift(ctx) if attack == "shift" else make_attack(attack, ctx, {})
    rec = Recording(victim_actor(policy, "greedy", range(4)))
    attacked = torch.tensor([[True, False]] * 4)
    res = run_episodes(env, rec, range(4), attack=atk, eps=torch.full((4,), 0.5), attacked=attacked, record=True)
    seen, clean = torch.stack(rec.seen), torch.stack(res.observations)
    assert not torch.allclose(seen, clean)
    no_starts = torch.zeros(4, 4, dtype=torch.bool)
    on_seen = policy.unroll(seen, torch.zeros(4, 2, 8), no_starts)[1]
    on_clean = policy.unroll(clean, torch.zeros(4, 2, 8), no_starts)[1]
    assert torch.allclose(torch.stack(rec.memory), on_seen, atol=1e-6)
    assert not torch.allclose(torch.stack(rec.memory), on_clean, atol=1e-3)


def test_white_box_attacks_a_gru_victim_at_its_current_memory():
    policy = _gru()
    policy.reset_memory(torch.ones(4, dtype=torch.bool))
    policy.advance(torch.randn(4, 2, 3))  # some history
    memory = policy.memory.clone()
    obs = torch.randn(4, 2, 3)
    bound = torch.full((2, 3), 9.0)
    spec = EnvSpec("x", 2, 3, -bound, bound, torch.ones(2, 3, dtype=torch.bool), "discrete", 4)
    ctx = AttackContext(spec=spec, generator=torch.Generator().manual_seed(0), victim=policy)
    attack = make_attack("white-box-pgd", ctx, {})
    delta = attack.perturb(obs, torch.full((4,), 1.0), torch.ones(4, 2, dtype=torch.bool))
    assert torch.equal(policy.memory, memory)
    with policy.hold_memory():
        clean = policy.act(obs)
    assert (policy.attack_loss(obs + delta, clean) > policy.attack_loss(obs, clean)).all()


def test_a_recurrent_victim_must_act_through_victim_actor():
    with pytest.raises(ValueError, match="victim_actor"):
        run_episodes(CueEnv(2), _gru(obs_dim=2, actions=2).act, [0, 1])


def test_replayed_sequences_hold_consecutive_transitions_and_their_n_step_windows():
    """Sequences from a wrapped ring, checked against the stored transitions by hand: obs, actions,
    starts after episode ends, the acting memory at the first row, and each learned transition's
    n-step return, discount, termination and bootstrap row."""
    E, n_step, gamma, burn_in, seq_len = 3, 3, 0.9, 2, 4
    buf = ReplayBuffer(60, E, 1, 2, memory_dim=1)  # 20 rows
    g = torch.Generator().manual_seed(0)
    log = []  # per row: reward, terminated, ended per env
    for t in range(33):  # wraps: the oldest 13 rows are overwritten
        obs = torch.tensor([[[t, e]] for e in range(E)], dtype=torch.float)
        reward = torch.rand(E, generator=g)
        term = torch.rand(E, generator=g) < 0.15
        trunc = ~term & (torch.rand(E, generator=g) < 0.1)
        step = Step(obs, reward, term, trunc, obs + 1000)
        buf.add(obs, torch.full((E, 1), t), reward, step, memory=obs[:, :, :1] * 10)
        log.append((reward, term, term | trunc))
    newest = 32
    batch = buf.sample_sequences(50, burn_in, seq_len, torch.device("cpu"), n_step, gamma)
    for s in range(50):
        t0, e = (int(x) for x in batch["obs"][0, s, 0])
        assert 13 <= t0 <= newest - burn_in - seq_len + 1
        assert batch["memory"][s, 0, 0] == 10 * t0
        for u in range(burn_in + seq_len):
            assert batch["obs"][u, s, 0].tolist() == [t0 + u, e]
            assert bool(batch["starts"][u, s]) == (u > 0 and bool(log[t0 + u - 1][2][e]))
        for k in range(seq_len):
            t = t0 + burn_in + k
            assert batch["action"][k, s, 0] == t
            ret, m = 0.0, 0
            while True:  # the window: up to n_step rewards, stopping after an end or at the newest row
                ret += gamma**m * float(log[t + m][0][e])
                m += 1
                if m == n_step or bool(log[t + m - 1][2][e]) or t + m - 1 == newest:
                    break
            assert batch["reward"][k, s] == pytest.approx(ret, rel=1e-5)
            assert batch["discount"][k, s] == pytest.approx(gamma**m)
            assert bool(batch["terminated"][k, s]) == bool(log[t + m - 1][1][e])
            last = int(batch["last"][k, s])
            assert batch["obs"][last, s, 0, 0] == t + m - 1
            assert batch["next_obs"][last, s, 0].tolist() == [t + m - 1 + 1000, e + 1000]


@pytest.mark.parametrize("algo,cfg", [("mappo", PPO), ("qmix", Q)])
def test_gru_training_resumes_after_a_crash_as_if_uninterrupted(algo, cfg, tmp_path):
    cfg = {**cfg, "agent": "gru", "total_steps": 1200, "checkpoint_every": 2 if algo == "mappo" else 10}
    full, full_curve = _train(algo, cfg)
    ckpt = Checkpointer(tmp_path / "policy.pt.ckpt", key="gru")
    crash_at = int(cfg["rollout_len"] * cfg["checkpoint_every"] * 2.5)  # in the third segment
    with pytest.raises(Crash):
        _train(algo, cfg, env=crash_after(CueEnv(cfg["num_envs"]), crash_at), checkpoint=ckpt)
    assert ckpt.load()["update"] == 2 * cfg["checkpoint_every"]
    resumed, resumed_curve = _train(algo, cfg, checkpoint=ckpt)
    sa, sb = full.state_dict(), resumed.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    strip = lambda c: [{k: v for k, v in r.items() if k != "wall_s"} for r in c]
    assert str(strip(full_curve)) == str(strip(resumed_curve))


ENV = {"name": "cue", "max_steps": 3, "kwargs": {}}


def _saved(tmp_path, agent):
    cfg = {"hidden": 8, "agent": agent}
    cls = GruMappoPolicy if agent == "gru" else MappoPolicy
    policy = cls(2, 2, "discrete", 2, hidden=8)
    path = tmp_path / agent / "policy.pt"
    path.parent.mkdir()
    payload = {"algo": "mappo", "init_kwargs": policy.init_kwargs, "state_dict": policy.state_dict()}
    save_artifact(path, payload, policy_block(ENV, "mappo", cfg, 0), 5)
    return path, policy


@pytest.mark.parametrize("have,want", [("mlp", "gru"), ("gru", "mlp")])
def test_a_policy_of_the_other_network_kind_is_refused_naming_file_and_kinds(tmp_path, have, want):
    path, _ = _saved(tmp_path, have)
    expect = {"config": policy_block(ENV, "mappo", {"hidden": 8, "agent": want}, 0), "seed": 5}
    with pytest.raises(ArtifactError) as info:
        load_victim(str(path), expect=expect)
    message = str(info.value)
    assert str(path) in message and f"a {have} agent network" in message and f"algos.mappo.agent: {want}" in message


def test_a_policy_of_the_right_kind_loads_and_acts_like_the_saved_one(tmp_path):
    path, policy = _saved(tmp_path, "gru")
    expect = {"config": policy_block(ENV, "mappo", {"hidden": 8, "agent": "gru"}, 0), "seed": 5}
    loaded, _ = load_victim(str(path), expect=expect)
    assert isinstance(loaded, GruMappoPolicy)
    rebuilt = rebuild_policy("mappo", policy.init_kwargs, policy.state_dict())
    obs = torch.randn(5, 3, 2, 2)
    for p in (loaded, rebuilt, policy):
        p.reset_memory(torch.ones(3, dtype=torch.bool))
    for t in range(5):
        assert torch.equal(rebuilt.head(obs[t]), loaded.head(obs[t]))
        assert torch.equal(loaded.act(obs[t]), policy.act(obs[t]))
        rebuilt.advance(obs[t])


def test_feedforward_provenance_is_as_before_the_gru_option():
    """Fields added for GRU agents stay out of a feed-forward victim's provenance at their
    defaults, so shipped victims keep their config hash; a GRU victim's block names its agent."""
    ff = policy_block(ENV, "mappo", {}, 0)["algo_cfg"]
    assert "agent" not in ff and "standardise_rewards" not in ff and ff["hidden"] == MappoConfig().hidden
    assert "anneal_lr" not in ff and "normalise_advantages" not in ff
    assert policy_block(ENV, "mappo", {"anneal_lr": False}, 0)["algo_cfg"]["anneal_lr"] is False
    assert "seq_len" not in policy_block(ENV, "qmix", {}, 0)["algo_cfg"]
    assert policy_block(ENV, "qmix", {"agent": "gru"}, 0)["algo_cfg"]["seq_len"] == 10
    assert policy_block(ENV, "mappo", {"agent": "gru"}, 0)["algo_cfg"]["agent"] == "gru"
    # fields added after the shipped GRU victims (their blocks lack them) are left out of a GRU block
    # at their defaults too; those that existed then stay in it
    gru = policy_block(ENV, "mappo", {"agent": "gru"}, 0)["algo_cfg"]
    assert "anneal_lr" not in gru and "normalise_advantages" not in gru and gru["standardise_rewards"] is False
    assert policy_block(ENV, "mappo", {"agent": "gru", "anneal_lr": False}, 0)["algo_cfg"]["anneal_lr"] is False


def _cell_per_step(net, x, memory, starts):
    """Outputs and memories of ``net``'s GRU cell applied step by step, memory zeroed at starts."""
    n, hidden = x.shape[2], net.hidden
    h, outs, mems = memory.reshape(-1, hidden), [], []
    for t in range(x.shape[0]):
        keep = (~starts[t]).repeat_interleave(n).unsqueeze(1)
        h = net.rnn(F.relu(net.fc1(x[t])).reshape(-1, hidden), h * keep)
        mems.append(h.view(memory.shape))
        outs.append(net.fc2(mems[-1]))
    return torch.stack(outs), torch.stack(mems)


@pytest.mark.parametrize("reset_steps", [[], [(7, 1), (8, 3), (0, 2)]])
def test_unroll_equals_a_cell_per_step_with_gradients(reset_steps):
    """GruNet.unroll (its fc1 on all steps at once, the steps unbound) gives the outputs, memories and
    parameter gradients of the GRU cell applied step by step, memory zeroed at episode starts."""
    torch.manual_seed(0)
    net = GruNet(5, 8, 3)
    T, B, n = 12, 4, 2
    x, memory, weights = torch.randn(T, B, n, 5), torch.randn(B, n, 8), torch.randn(T, B, n, 3)
    starts = torch.zeros(T, B, dtype=torch.bool)
    for t, b in reset_steps:
        starts[t, b] = True
    results = []
    for unroll in (net.unroll, lambda *a: _cell_per_step(net, *a)):
        net.zero_grad()
        out, mem = unroll(x, memory, starts)
        (out * weights).sum().backward()
        results.append((out.detach(), mem.detach(), *[p.grad.clone() for p in net.parameters()]))
    for got, want in zip(*results):
        assert torch.allclose(got, want, atol=1e-5)
