"""Every registered victim learner: smoke training, determinism, resumable checkpoints; the
value-decomposition pieces (mixers, TD target with time-limit bootstrapping, white-box loss);
and a short QMIX-family learning check."""

import pytest
import torch
from conftest import Crash, crash_after, random_obs, random_spec

from marl_attacks.algos import ALGOS, build_config, rebuild_policy
from marl_attacks.algos.common import Checkpointer
from marl_attacks.algos.ippo import IndependentCritic
from marl_attacks.algos.mappo import MappoPolicy
from marl_attacks.algos.qmix import QMixer, QPolicy, ReplayBuffer, RunningMeanStd, VdnConfig, VdnMixer, td_target
from marl_attacks.algos.qmix import train as train_value
from marl_attacks.attacks import AttackContext, make_attack
from marl_attacks.envs import Step, make_env
from marl_attacks.rollout import run_episodes, victim_actor
from marl_attacks.utils import seed_everything

BALANCE = {"n_agents": 3, "continuous_actions": False}
# tiny budgets: a few updates, several segments (resume points), replay learning from the start
TINY = {
    "mappo": dict(
        total_steps=8 * 4 * 6, num_envs=4, rollout_len=8, epochs=1, minibatches=2, hidden=16, checkpoint_every=2
    ),
    "qmix": dict(
        total_steps=4 * 4 * 12,
        num_envs=4,
        rollout_len=4,
        train_steps=2,
        batch_size=16,
        buffer_size=100,
        learning_starts=16,
        target_update=3,
        hidden=16,
        mixer_embed=8,
        hypernet_embed=16,
        checkpoint_every=4,
        n_step=3,
        standardise_rewards=True,
        normalise_state=True,
    ),
}
TINY["ippo"] = TINY["mappo"]
TINY["vdn"] = {k: v for k, v in TINY["qmix"].items() if k not in ("mixer_embed", "hypernet_embed", "normalise_state")}


def _env(name="vmas-balance", num_envs=4, max_steps=10, seed=0, backend="reference"):
    kwargs = {"vmas-balance": BALANCE, "mpe-simple_spread": {"N": 2}}.get(name, {})
    return make_env(name, num_envs, max_steps=max_steps, seed=seed, kwargs=kwargs, backend=backend)


def _train(algo, seed=0, env=None, checkpoint=None, **over):
    seed_everything(seed)
    cfg = build_config(algo, {**TINY[algo], **over})
    env = env or _env(num_envs=cfg.num_envs, seed=seed)
    return ALGOS[algo].train(env, cfg, seed, progress=False, checkpoint=checkpoint)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _strip_wall(curve):
    """Curve rows without the timing, NaN (no finished episode) made comparable."""
    return [{k: "nan" if v != v else v for k, v in row.items() if k != "wall_s"} for row in curve]


def test_every_algorithm_has_a_tiny_budget():
    assert set(TINY) == set(ALGOS)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_smoke_train_greedy_shapes_and_rebuild(algo):
    policy, curve = _train(algo)
    assert curve[-1]["env_steps"] == TINY[algo]["total_steps"]
    for key in ("update", "env_steps", "wall_s", "episodes", "episode_return", "episode_length"):
        assert key in curve[-1], key
    assert sum(r["episodes"] for r in curve) > 0
    obs = torch.randn(5, 3, policy.init_kwargs["obs_dim"])
    action = policy.act(obs)
    assert action.shape == (5, 3) and action.dtype == torch.long
    assert (action >= 0).all() and (action < 9).all()
    rebuilt = rebuild_policy(algo, policy.init_kwargs, policy.state_dict())
    assert torch.equal(rebuilt.act(obs), action)
    clean = policy.act(obs)
    assert policy.attack_loss(obs, clean).shape == (5,)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_same_seed_same_policy(algo):
    a, curve_a = _train(algo, seed=3)
    b, curve_b = _train(algo, seed=3)
    assert _same_weights(a, b)
    assert _strip_wall(curve_a) == _strip_wall(curve_b)
    c, _ = _train(algo, seed=4)
    assert not _same_weights(a, c)


# episodes end every 5 steps, so each segment has auto-resets: their seeds must also restart with the segment
RESUMED_ENVS = [("vdn", "mpe-simple_spread", "reference")] + [
    (algo, env, backend)
    for algo in ("mappo", "vdn")
    for env in ("lbf-2s-8x8-3p-2f", "rware-tiny-4ag")
    for backend in ("reference", "batched")
]


@pytest.mark.parametrize(
    "algo,env_name,backend", [(a, "vmas-balance", "reference") for a in sorted(ALGOS)] + RESUMED_ENVS
)
def test_resume_after_crash_equals_uninterrupted_run(algo, env_name, backend, tmp_path):
    cfg = TINY[algo]
    full, full_curve = _train(algo, env=_env(env_name, cfg["num_envs"], max_steps=5, backend=backend))
    ckpt = Checkpointer(tmp_path / "policy.pt.ckpt", key="run-a")
    # crash in the middle of the third segment (after two resume points were written)
    crash_at = int(cfg["rollout_len"] * cfg["checkpoint_every"] * 2.5)
    with pytest.raises(Crash):
        _train(algo, env=crash_after(_env(env_name, cfg["num_envs"], 5, backend=backend), crash_at), checkpoint=ckpt)
    assert ckpt.load()["update"] == 2 * cfg["checkpoint_every"]
    # a new process: fresh env; train.py would reseed the global RNGs as at the start
    env = _env(env_name, cfg["num_envs"], max_steps=5, backend=backend)
    resumed, resumed_curve = _train(algo, seed=0, env=env, checkpoint=ckpt)
    assert _same_weights(full, resumed)
    assert _strip_wall(full_curve) == _strip_wall(resumed_curve)


def test_checkpoint_of_another_config_is_ignored(tmp_path):
    path = tmp_path / "policy.pt.ckpt"
    with pytest.raises(Crash):
        _train("vdn", env=crash_after(_env(), 40), checkpoint=Checkpointer(path, key="old-config"))
    assert path.exists()
    fresh, _ = _train("vdn")
    with pytest.warns(UserWarning, match="another config"):
        other, _ = _train("vdn", checkpoint=Checkpointer(path, key="new-config"))
    assert _same_weights(fresh, other)


# ---- IPPO ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["mappo", "ippo"])
def test_anneal_lr_false_keeps_the_learning_rate_constant(algo, monkeypatch):
    """The PPO learners anneal Adam's lr linearly to 0 by default (CleanRL); ``anneal_lr: false``
    keeps it at ``lr`` for every gradient step, as EPyMARL does."""
    seen = []
    step = torch.optim.Adam.step

    def record(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", record)
    lr = build_config(algo, TINY[algo]).lr
    _train(algo, anneal_lr=False)
    assert len(seen) > 2 and set(seen) == {lr}
    seen.clear()
    _train(algo)
    assert seen[0] == lr and seen[-1] < seen[0] and seen == sorted(seen, reverse=True)


@pytest.mark.parametrize("algo", ["mappo", "ippo"])
def test_normalise_advantages_false_uses_them_raw(algo, monkeypatch):
    """Standardised advantages (the default, CleanRL) make PPO blind to their scale: advantages
    x1000 train the same policy. ``normalise_advantages: false`` uses them raw (EPyMARL's
    ppo_learner), so x1000 outweighs the value and entropy terms and trains another policy."""
    from marl_attacks.algos import mappo

    gae = mappo.gae

    def weights(scale, **over):
        def scaled_gae(*args):
            adv, ret = gae(*args)
            return adv * scale, ret

        monkeypatch.setattr(mappo, "gae", scaled_gae)
        return torch.cat([p.detach().flatten() for p in _train(algo, **over)[0].parameters()])

    normalised = (weights(1.0) - weights(1000.0)).abs().max()
    raw = (weights(1.0, normalise_advantages=False) - weights(1000.0, normalise_advantages=False)).abs().max()
    assert normalised < 1e-6 and raw > 1e-4


def test_ippo_critic_sees_only_its_own_observation():
    torch.manual_seed(0)
    critic = IndependentCritic(3, 5, 16)
    obs = torch.randn(4, 3, 5)
    changed = obs.clone()
    changed[:, 1:] += torch.randn(4, 2, 5)  # everyone but agent 0
    v, w = critic(obs), critic(changed)
    assert v.shape == (4, 3)
    assert torch.equal(v[:, 0], w[:, 0]) and not torch.allclose(v[:, 1:], w[:, 1:])
    same_obs = obs[:, :1].expand(4, 3, 5)  # agent IDs still tell agents apart
    assert not torch.allclose(critic(same_obs)[:, 0], critic(same_obs)[:, 1])


# ---- QMIX / VDN ---------------------------------------------------------------------------


def test_qmix_mixer_is_monotonic_in_every_agent_q():
    torch.manual_seed(0)
    n, d = 4, 6
    mixer = QMixer(n, n * d, embed=8, hypernet_embed=16)
    with torch.no_grad():  # large weights of both signs, as after training
        for p in mixer.parameters():
            p.normal_(0, 2.0)
    obs = torch.randn(256, n, d) * 3
    q = (torch.randn(256, n) * 10).requires_grad_(True)
    q_tot = mixer(q, obs)
    assert q_tot.shape == (256,)
    (grad,) = torch.autograd.grad(q_tot.sum(), q)  # sample b's Q_tot depends on q[b] only
    assert (grad >= 0).all()
    assert (grad > 0).float().mean() > 0.5  # and not trivially flat


def test_vdn_mixer_sums():
    q = torch.randn(7, 3)
    assert torch.allclose(VdnMixer()(q, torch.randn(7, 3, 4)), q.sum(-1))


class FixedQ(QPolicy):
    """Q-values read off the observation: Q_i(o, a) = scale * o_i[a]."""

    def __init__(self, scale):
        super().__init__(2, 3, 3, hidden=4)
        self.scale = scale

    def q_values(self, obs):
        return self.scale * obs


def test_td_target_bootstraps_truncation_not_termination():
    gamma = 0.9
    online, target = FixedQ(1.0), FixedQ(-2.0)  # differ, so double-Q matters
    reset_obs = torch.full((3, 2, 3), 100.0)  # what the env shows after its auto-reset
    final = torch.tensor([[[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]]]).expand(3, 2, 3).clone()
    step = Step(
        obs=reset_obs,
        reward=torch.tensor([1.0, 2.0, 3.0]),
        terminated=torch.tensor([True, False, False]),
        truncated=torch.tensor([False, True, False]),
        final_obs=final,
    )
    buffer = ReplayBuffer(8, 3, 2, 3)
    buffer.add(torch.zeros(3, 2, 3), torch.zeros(3, 2, dtype=torch.long), step.reward, step)
    batch = {k: getattr(buffer, k)[0] for k in buffer.FIELDS}
    # a time-limit end is stored with the observation that ended the episode, not as terminal
    assert torch.equal(batch["next_obs"], final) and batch["terminated"].tolist() == [True, False, False]
    y = td_target(batch, online, target, VdnMixer(), gamma, double_q=True)
    # online argmax per agent: a=1 (5.0) and a=0 (4.0); target values -2*5 and -2*4
    boot = -10.0 + -8.0
    assert torch.allclose(y, torch.tensor([1.0, 2.0 + gamma * boot, 3.0 + gamma * boot]))
    y_single = td_target(batch, online, target, VdnMixer(), gamma, double_q=False)
    # the target net's own argmax: a=0 (-2) for agent 0 and a=1 (0) for agent 1
    single = -2.0 + 0.0
    assert torch.allclose(y_single, torch.tensor([1.0, 2.0 + gamma * single, 3.0 + gamma * single]))


def test_time_limit_terminal_cuts_the_target_at_truncation_only_when_set():
    gamma, online, target = 0.9, FixedQ(1.0), FixedQ(-2.0)
    step = Step(
        obs=torch.full((3, 2, 3), 100.0),
        reward=torch.tensor([1.0, 2.0, 3.0]),
        terminated=torch.tensor([True, False, False]),
        truncated=torch.tensor([False, True, False]),
        final_obs=torch.tensor([[[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]]]).expand(3, 2, 3).clone(),
    )
    boot = gamma * (-10.0 + -8.0)  # as in test_td_target_bootstraps_truncation_not_termination
    for cut, expected in [(False, [1.0, 2.0 + boot, 3.0 + boot]), (True, [1.0, 2.0, 3.0 + boot])]:
        buffer = ReplayBuffer(8, 3, 2, 3, time_limit_terminal=cut)
        buffer.add(torch.zeros(3, 2, 3), torch.zeros(3, 2, dtype=torch.long), step.reward, step)
        batch = buffer.sample(64, torch.device("cpu"), n_step=1, gamma=gamma)
        y = td_target(batch, online, target, VdnMixer(), gamma)
        lane = batch["reward"].long() - 1  # rewards 1, 2, 3 name the parallel episode
        assert torch.allclose(y, torch.tensor(expected)[lane])
        assert buffer.ended.tolist()[0] == [True, True, False]  # n-step windows stop at both either way


@pytest.mark.parametrize("cut", [False, True])
def test_qmix_stores_time_limit_ends_as_terminal_only_when_set(cut, monkeypatch):
    import marl_attacks.algos.qmix as qmix_module

    seen = []  # (truncated, terminated) of the env's steps; the buffers the learner made

    class Recording(ReplayBuffer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self)

        def add(self, obs, action, reward, step, *args):
            super().add(obs, action, reward, step, *args)
            self.raw = getattr(self, "raw", []) + [(step.truncated.clone(), step.terminated.clone())]

    monkeypatch.setattr(qmix_module, "ReplayBuffer", Recording)
    _train("qmix", time_limit_terminal=cut, buffer_size=400)
    (buffer,) = seen
    truncated = torch.stack([t for t, _ in buffer.raw])  # every add fits: 48 rows < 400 / 4
    terminated = torch.stack([t for _, t in buffer.raw])
    assert truncated.any()  # 10-step episodes hit their time limit
    expected = terminated | truncated if cut else terminated
    assert torch.equal(buffer.terminated[: len(buffer.raw)], expected)


def test_replay_buffer_wraps_and_round_trips():
    buf = ReplayBuffer(6, 2, 1, 1)  # 3 time rows of 2 parallel episodes
    for k in range(4):  # 4 rows into 3
        obs = torch.tensor([[[2.0 * k]], [[2.0 * k + 1]]])
        step = Step(
            obs=obs,
            reward=obs.flatten(),
            terminated=torch.zeros(2, dtype=torch.bool),
            truncated=torch.zeros(2, dtype=torch.bool),
            final_obs=obs + 0.5,
        )
        buf.add(obs, torch.zeros(2, 1, dtype=torch.long), obs.flatten(), step)
    assert buf.size == 3 and buf.pos == 1 and len(buf) == 6
    assert sorted(buf.reward.flatten().tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]  # oldest row gone
    copy = ReplayBuffer(6, 2, 1, 1)
    copy.load_state_dict(buf.state_dict())
    assert all(torch.equal(getattr(copy, k), getattr(buf, k)) for k in buf.FIELDS)
    assert (copy.pos, copy.size) == (buf.pos, buf.size)


def _hand_n_step(rewards, terminated, ended, start, n, gamma, newest):
    """Reference n-step return of one episode lane, by a plain loop."""
    ret, t = 0.0, start
    for k in range(n):
        t = start + k
        ret += gamma**k * rewards[t]
        if ended[t] or t == newest or k == n - 1:
            return ret, gamma ** (k + 1), terminated[t], t


def test_n_step_sample_stops_at_termination_truncation_cut_and_newest_row():
    gamma, n = 0.9, 4
    # one lane, 9 steps: terminated after step 2, truncated after step 5, cut (env reset) after 6
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    terminated = [False, False, True, False, False, False, False, False, False]
    truncated = [False, False, False, False, False, True, False, False, False]
    buf = ReplayBuffer(16, 1, 1, 1, action_dim=2)
    for t, r in enumerate(rewards):
        obs = torch.full((1, 1, 1), float(t))
        step = Step(
            obs=obs + 100,
            reward=torch.tensor([r]),
            terminated=torch.tensor([terminated[t]]),
            truncated=torch.tensor([truncated[t]]),
            final_obs=obs + 0.5,
        )
        buf.add(obs, torch.zeros(1, 1, dtype=torch.long), step.reward, step, torch.tensor([[[True, t % 2 == 0]]]))
        if t == 6:
            buf.cut()
    ended = [a or b or t == 6 for t, (a, b) in enumerate(zip(terminated, truncated))]
    torch.manual_seed(0)
    batch = buf.sample(400, torch.device("cpu"), n_step=n, gamma=gamma)
    starts = batch["obs"].flatten().long().tolist()
    assert set(starts) == set(range(9))  # every transition drawn, the newest ones too
    for i, t in enumerate(starts):
        ret, discount, term, last = _hand_n_step(rewards, terminated, ended, t, n, gamma, 8)
        assert batch["reward"][i].item() == pytest.approx(ret)
        assert batch["discount"][i].item() == pytest.approx(discount)
        assert batch["terminated"][i].item() == term
        assert batch["next_obs"][i].item() == last + 0.5  # final_obs of the window's last step
        # the window's last mask, all-valid where that step ended its episode
        assert batch["next_avail"][i, 0, 1].item() == (last % 2 == 0 or ended[last])
    # e.g. from step 0: 1 + .9*2 + .81*3, then the termination after step 2 cuts the bootstrap
    i = starts.index(0)
    assert batch["reward"][i].item() == pytest.approx(1 + 0.9 * 2 + 0.81 * 3) and batch["terminated"][i]
    # from step 4: 5 + .9*6 then bootstrap from the truncated episode's final observation
    i = starts.index(4)
    assert batch["discount"][i].item() == pytest.approx(0.81) and not batch["terminated"][i]
    # one step is the plain transition
    one = buf.sample(50, torch.device("cpu"), n_step=1, gamma=gamma)
    assert torch.equal(one["reward"], one["obs"].flatten() + 1)
    assert torch.allclose(one["discount"], torch.full((50,), gamma))


def test_n_step_td_target_with_standardised_rewards_matches_hand_computed():
    gamma = 0.5
    buf = ReplayBuffer(4, 1, 1, 2)
    for t, r in enumerate([1.0, 3.0]):
        obs = torch.full((1, 1, 2), float(t))
        step = Step(
            obs=obs + 1,
            reward=torch.tensor([r]),
            terminated=torch.tensor([False]),
            truncated=torch.tensor([False]),
            final_obs=obs + 1,
        )
        buf.add(obs, torch.zeros(1, 1, dtype=torch.long), step.reward, step)
    torch.manual_seed(1)
    batch = buf.sample(20, torch.device("cpu"), n_step=3, gamma=gamma, reward_fn=lambda r: 2 * r - 1)
    policy = FixedQ(1.0)  # Q = obs: greedy value 2 at the bootstrap state obs == 2 (after step 1)
    y = td_target(batch, policy, policy, VdnMixer(), gamma, double_q=True)
    for i, t in enumerate(batch["obs"][:, 0, 0].long().tolist()):
        expected = (1 + gamma * 5 + gamma**2 * 2) if t == 0 else (5 + gamma * 2)
        assert y[i].item() == pytest.approx(expected)


def test_value_learners_reject_continuous_actions():
    env = make_env("vmas-balance", 2, max_steps=5, kwargs={"n_agents": 3, "continuous_actions": True})
    with pytest.raises(ValueError, match="discrete"):
        train_value(env, VdnConfig(total_steps=10, num_envs=2), 0, progress=False)


def test_white_box_attack_lowers_the_greedy_q_value():
    spec = random_spec(5, n_agents=3, obs_dim=12, bounded=False)
    torch.manual_seed(0)
    victim = QPolicy(spec.n_agents, spec.obs_dim, spec.action_dim, hidden=32).eval()
    obs = random_obs(spec, 64, 0)
    ctx = AttackContext(spec=spec, generator=torch.Generator().manual_seed(0), victim=victim)
    attack = make_attack("white-box-fgsm", ctx)
    attacked = torch.ones(64, spec.n_agents, dtype=torch.bool)
    delta = attack.perturb(obs, torch.full((64,), 0.05), attacked)
    with torch.no_grad():
        clean = victim.act(obs)
        before = victim.attack_loss(obs, clean)
        after = victim.attack_loss(obs + delta, clean)
    assert (delta != 0).any()
    # the loss is minus the clean greedy Q summed over agents: FGSM raises it, lowering the Q-value
    assert (after > before).float().mean() > 0.9 and after.mean() > before.mean()


def test_vdn_improves_on_simple_spread():
    """VDN, 15k steps: clearly above its first episodes and random. The defaults but for more,
    smaller gradient steps per env step (the defaults' 1 x 512 is tuned for 200k+ steps)."""
    seed_everything(0)
    env = make_env("mpe-simple_spread", 16, max_steps=25, seed=0, kwargs={"N": 2})
    cfg = VdnConfig(total_steps=15_000, num_envs=16, eps_anneal_steps=6_000, train_steps=8, batch_size=128)
    policy, curve = train_value(env, cfg, 0, progress=False)
    rows = [r for r in curve if r["episodes"] > 0]
    k = len(rows) // 10

    def mean_return(rs):
        return sum(r["episode_return"] * r["episodes"] for r in rs) / sum(r["episodes"] for r in rs)

    first, last = mean_return(rows[:k]), mean_return(rows[-k:])
    assert last > first + 5, (first, last)
    seeds = list(range(1000, 1032))
    ev = make_env("mpe-simple_spread", 32, max_steps=25, seed=1, kwargs={"N": 2})
    greedy = run_episodes(ev, policy.act, seeds).returns.mean().item()
    g = torch.Generator().manual_seed(0)
    uniform = run_episodes(ev, lambda o, avail: ev.random_actions(g, avail), seeds).returns.mean().item()
    assert greedy > uniform + 5, (greedy, uniform)


def test_train_stage_resumes_from_its_checkpoint_and_deletes_it(tmp_path, monkeypatch):
    from conftest import job

    from marl_attacks.io import load_artifact
    from marl_attacks.stages import train as stage

    env = {"name": "vmas-balance", "max_steps": 10, "kwargs": BALANCE}

    def run(out):
        params = job(env, "vdn", victim_actions=None, algo_cfg=TINY["vdn"])
        stage.run(params, policy_out=str(out / "policy.pt"), curve_out=str(out / "curve.csv"), progress=False)

    run(tmp_path / "straight")
    real_make_env = stage.make_env
    monkeypatch.setattr(stage, "make_env", lambda *a, **k: crash_after(real_make_env(*a, **k), 40))
    with pytest.raises(Crash):
        run(tmp_path / "resumed")
    assert (tmp_path / "resumed" / "policy.pt.ckpt").exists()
    assert not (tmp_path / "resumed" / "policy.pt").exists()
    monkeypatch.setattr(stage, "make_env", real_make_env)
    run(tmp_path / "resumed")
    assert not (tmp_path / "resumed" / "policy.pt.ckpt").exists()
    a = load_artifact(tmp_path / "straight" / "policy.pt")["state_dict"]
    b = load_artifact(tmp_path / "resumed" / "policy.pt")["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class _CheckedLbf:
    """Wraps an LBF env and records every action taken that its mask called unavailable."""

    def __init__(self, env):
        self.env, self.invalid, self.steps = env, 0, 0

    def __getattr__(self, name):
        return getattr(self.env, name)

    def step(self, actions):
        avail = self.env.available_actions()
        self.invalid += int((~avail.gather(-1, actions.unsqueeze(-1))).sum())
        self.steps += 1
        return self.env.step(actions)


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_learners_act_only_among_available_actions(algo):
    """LBF turns invalid actions into no-ops; masked learners never choose one (sampled,
    epsilon-greedy or greedy), as EPyMARL's learners do with avail_actions."""
    cfg = build_config(algo, TINY[algo])
    env = _CheckedLbf(make_env("lbf-8x8-2p-2f-coop", cfg.num_envs, max_steps=10, seed=0))
    assert env.has_action_masks
    seed_everything(0)
    policy, _ = ALGOS[algo].train(env, cfg, 0, progress=False)
    assert env.steps > 0 and env.invalid == 0
    ev = _CheckedLbf(make_env("lbf-8x8-2p-2f-coop", 8, max_steps=10, seed=1))
    run_episodes(ev, policy.act, list(range(8)))
    g = torch.Generator().manual_seed(0)
    run_episodes(ev, lambda o, avail: ev.random_actions(g, avail), list(range(8)))
    assert ev.steps > 0 and ev.invalid == 0


def test_unmasked_greedy_victims_do_pick_invalid_actions():
    """The check above can fail: an untrained policy acting without the mask does pick
    actions LBF calls invalid (otherwise the masking would be untested)."""
    seed_everything(0)
    ev0 = make_env("lbf-8x8-2p-2f-coop", 1, max_steps=10)
    policy = MappoPolicy(2, ev0.spec.obs_dim, "discrete", ev0.spec.action_dim, hidden=16)
    with torch.no_grad():
        policy.net[-1].bias.copy_(torch.arange(float(ev0.spec.action_dim)))  # always LOAD (5)
    ev = _CheckedLbf(make_env("lbf-8x8-2p-2f-coop", 8, max_steps=10, seed=1))
    run_episodes(ev, lambda obs, avail: policy.act(obs), list(range(8)))
    assert ev.invalid > 0


def test_masked_greedy_and_white_box_use_the_mask():
    obs = torch.randn(16, 2, 5)
    avail = torch.rand(16, 2, 4) < 0.5
    avail[..., 0] = True  # NONE is always valid in LBF
    for policy in (QPolicy(2, 5, 4, hidden=8), MappoPolicy(2, 5, "discrete", 4, hidden=8)):
        with torch.no_grad():
            policy.net[-1].bias.copy_(torch.tensor([0.0, 0.0, 0.0, 100.0]))  # prefers action 3
        act = policy.act(obs, avail)
        assert avail.gather(-1, act.unsqueeze(-1)).all()
        assert (policy.act(obs) == 3).all()  # unmasked, it would pick action 3 everywhere
        assert torch.isfinite(policy.attack_loss(obs, act, avail)).all()


def test_replay_buffer_next_mask_is_all_valid_after_an_episode_end():
    buf = ReplayBuffer(8, 2, n_agents=2, obs_dim=3, action_dim=4)
    obs, act = torch.zeros(2, 2, 3), torch.zeros(2, 2, dtype=torch.long)
    step = Step(
        obs=obs,
        reward=torch.zeros(2),
        terminated=torch.tensor([False, False]),
        truncated=torch.tensor([False, True]),
        final_obs=obs,
    )
    nxt = torch.zeros(2, 2, 4, dtype=torch.bool)
    nxt[..., 1] = True
    buf.add(obs, act, torch.zeros(2), step, nxt)
    assert buf.next_avail[0, 0].sum() == 2 and buf.next_avail[0, 0][:, 1].all()  # live: the env's mask
    assert buf.next_avail[0, 1].all()  # truncated: the next mask belongs to the reset state
    batch = buf.sample(4, torch.device("cpu"))
    assert batch["next_avail"].shape == (4, 2, 4)


def test_td_target_maximises_over_valid_next_actions_only():
    policy = QPolicy(1, 2, 3, hidden=4)
    with torch.no_grad():
        for p in policy.parameters():
            p.zero_()
        policy.net[-1].bias.copy_(torch.tensor([5.0, 1.0, 2.0]))  # action 0 is best ...
    batch = dict(
        next_obs=torch.zeros(1, 1, 2),
        reward=torch.zeros(1),
        terminated=torch.zeros(1, dtype=torch.bool),
        next_avail=torch.tensor([[[False, True, True]]]),
    )  # ... but unavailable
    target = td_target(batch, policy, policy, VdnMixer(), gamma=1.0, double_q=True)
    assert target.item() == pytest.approx(2.0)


def test_running_mean_std_merges_chunks_exactly():
    torch.manual_seed(0)
    x = torch.randn(50, 3) * torch.tensor([1.0, 10.0, 0.0]) + 5
    stats = RunningMeanStd(3)
    assert torch.equal(stats.standardise(x), x)  # no data yet: identity
    for chunk in x.split(7):
        stats.update(chunk)
    assert stats.count == 50
    assert torch.allclose(stats.mean, x.double().mean(0))
    assert torch.allclose(stats.m2 / 50, x.double().var(0, unbiased=False))
    z = stats.standardise(x)
    assert torch.allclose(z[:, :2].mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(z[:, :2].std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.isfinite(z).all()  # a constant feature stays finite
    copy = RunningMeanStd(3)
    copy.load_state_dict(stats.state_dict())
    assert torch.equal(copy.standardise(x), z)


def test_qmix_mixer_standardises_its_state_when_given_a_norm():
    torch.manual_seed(0)
    mixer = QMixer(3, 3 * 4, embed=8, hypernet_embed=16)
    q, obs = torch.randn(5, 3), 7 * torch.rand(5, 3, 4)  # LBF-like raw grid coordinates
    stats = RunningMeanStd(12)
    stats.update(obs.flatten(1))
    plain = mixer(q, stats.standardise(obs.flatten(1)).view(5, 3, 4))
    mixer.norm = stats.standardise
    assert torch.allclose(mixer(q, obs), plain)


# ---- victim actions: greedy or sampled (config envs.<env>.victim_actions) ---------------------


def _untrained(env, seed=0, discrete=True):
    """A random MAPPO actor: its policy is far from deterministic."""
    torch.manual_seed(seed)
    return MappoPolicy(
        env.spec.n_agents,
        env.spec.obs_dim,
        env.spec.action_type,
        env.spec.action_dim,
        env.spec.action_low,
        env.spec.action_high,
        hidden=16,
        init_log_std=0.0,
    )


def test_sampled_victim_is_reproducible_and_differs_from_greedy():
    env = _env(num_envs=8, max_steps=20)
    policy = _untrained(env)
    with torch.no_grad():
        policy.net[-1].weight.mul_(100.0)  # logits that depend on the observation
    seeds, streams = list(range(8)), list(range(100, 108))
    once = run_episodes(env, victim_actor(policy, "sample", streams), seeds)
    again = run_episodes(env, victim_actor(policy, "sample", streams), seeds)
    other = run_episodes(env, victim_actor(policy, "sample", [s + 1 for s in streams]), seeds)
    greedy = run_episodes(env, victim_actor(policy, "greedy", streams), seeds)
    assert torch.equal(once.returns, again.returns) and torch.equal(once.lengths, again.lengths)
    assert not torch.equal(once.returns, greedy.returns)
    assert not torch.equal(once.returns, other.returns)


def test_an_episode_draws_the_same_numbers_in_any_batch():
    """One stream per episode: episode 3 acts alike alone or among others (attacked and benign
    episodes of the evaluation sit in different batches)."""
    env8, env1 = _env(num_envs=8, max_steps=20), _env(num_envs=1, max_steps=20)
    policy = _untrained(env8)
    seeds, streams = list(range(8)), list(range(100, 108))
    batch = run_episodes(env8, victim_actor(policy, "sample", streams), seeds)
    alone = run_episodes(env1, victim_actor(policy, "sample", streams[3:4]), seeds[3:4])
    assert batch.returns[3] == alone.returns[0] and batch.lengths[3] == alone.lengths[0]


def test_sampled_discrete_actions_follow_the_masked_softmax():
    """Draws land only on available actions, with the frequencies of the masked softmax."""
    policy = MappoPolicy(2, 5, "discrete", 6, hidden=8)
    obs = torch.randn(4, 2, 5)
    avail = torch.rand(4, 2, 6) < 0.5
    avail[..., 0] = True
    avail[0, 0] = False
    avail[0, 0, 5] = True  # only the last action is valid: every draw must take it
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([policy.sample(obs, avail, g) for _ in range(4000)])  # [4000, 4, 2]
    assert avail.gather(-1, draws.permute(1, 2, 0)).all()
    assert (draws[:, 0, 0] == 5).all()
    freq = torch.nn.functional.one_hot(draws, 6).double().mean(0)
    probs = policy.dist(obs, avail).probs.double()
    assert (freq - probs).abs().max() < 0.03
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(policy.sample(obs, avail, g1), policy.sample(obs, avail, g2))


def test_sampled_continuous_actions_stay_in_bounds_and_spread_around_the_mean():
    policy = MappoPolicy(3, 4, "continuous", 2, action_low=-1.0, action_high=1.0, hidden=8, init_log_std=-1.0)
    obs = torch.randn(2, 3, 4)
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([policy.sample(obs, None, g) for _ in range(2000)])
    assert draws.min() >= -1.0 and draws.max() <= 1.0
    mean = policy.act(obs)
    assert (draws.std(0) > 0.3).all()  # exp(-1) = 0.37 where the mean is far from the bounds
    assert (draws.mean(0) - mean).abs().max() < 0.05


def test_sampling_lbf_victims_never_pick_an_invalid_action():
    ev = _CheckedLbf(make_env("lbf-8x8-2p-2f-coop", 8, max_steps=20, seed=1))
    policy = _untrained(ev.env)
    with torch.no_grad():
        policy.net[-1].bias.copy_(torch.arange(float(ev.spec.action_dim)) * 3)  # mostly LOAD (5)
    run_episodes(ev, victim_actor(policy, "sample", range(8)), list(range(8)))
    assert ev.steps > 0 and ev.invalid == 0
    g = torch.Generator().manual_seed(0)
    run_episodes(ev, lambda obs, avail: policy.sample(obs, None, g), list(range(8)))
    assert ev.invalid > 0  # without the mask it would


@pytest.mark.parametrize("algo", ["qmix", "vdn"])
def test_value_victims_sample_epsilon_greedily_among_available_actions(algo):
    """sample = the end-of-training behaviour policy: uniform among available actions with
    probability explore_eps per agent, else greedy; reproducible from the generator."""
    torch.manual_seed(0)
    policy = ALGOS[algo].policies["mlp"](n_agents=2, obs_dim=5, action_dim=6, hidden=8, explore_eps=0.3)
    obs = torch.randn(4, 2, 5)
    avail = torch.rand(4, 2, 6) < 0.5
    avail[..., 0] = True
    avail[0, 0] = False
    avail[0, 0, 5] = True  # one valid action: every draw must take it
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([policy.sample(obs, avail, g) for _ in range(6000)])  # [6000, 4, 2]
    assert avail.gather(-1, draws.permute(1, 2, 0)).all() and (draws[:, 0, 0] == 5).all()
    greedy = torch.nn.functional.one_hot(policy.act(obs, avail), 6).double()
    expected = 0.3 * avail.double() / avail.sum(-1, keepdim=True) + 0.7 * greedy
    freq = torch.nn.functional.one_hot(draws, 6).double().mean(0)
    assert (freq - expected).abs().max() < 0.03
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(policy.sample(obs, avail, g1), policy.sample(obs, avail, g2))
    free = torch.stack([policy.sample(obs, None, g) for _ in range(2000)])  # no mask: all 6 drawn
    assert set(free.unique().tolist()) == set(range(6))


@pytest.mark.parametrize("algo", ["qmix", "vdn"])
def test_trained_value_victims_explore_with_their_final_epsilon_and_old_files_load(algo):
    policy, _ = _train(algo, eps_end=0.2)
    assert policy.explore_eps == 0.2
    assert rebuild_policy(algo, policy.init_kwargs, policy.state_dict()).explore_eps == 0.2
    old = {k: v for k, v in policy.init_kwargs.items() if k != "explore_eps"}  # saved before it existed
    assert ALGOS[algo].policies["mlp"](**old).explore_eps == VdnConfig().eps_end


@pytest.mark.parametrize("algo", ["qmix", "vdn"])
def test_value_victims_explore_in_sample_mode_only(algo):
    env = _CheckedLbf(make_env("lbf-8x8-2p-2f-coop", 8, max_steps=20, seed=1))
    torch.manual_seed(0)
    policy = ALGOS[algo].policies["mlp"](
        n_agents=2, obs_dim=env.spec.obs_dim, action_dim=env.spec.action_dim, hidden=16, explore_eps=0.5
    )
    seeds = list(range(8))
    greedy = run_episodes(env, victim_actor(policy, "greedy", range(8)), seeds, record=True)
    sampled = run_episodes(env, victim_actor(policy, "sample", range(8)), seeds, record=True)
    again = run_episodes(env, victim_actor(policy, "sample", range(8)), seeds, record=True)
    assert env.invalid == 0
    assert torch.equal(sampled.returns, again.returns) and torch.equal(sampled.lengths, again.lengths)
    assert not _same_steps(sampled.observations, greedy.observations)
    policy.explore_eps = 0.0
    none = run_episodes(env, victim_actor(policy, "sample", range(8)), seeds, record=True)
    assert _same_steps(none.observations, greedy.observations)


def _same_steps(a: list, b: list) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_unknown_victim_actions_mode_is_refused():
    with pytest.raises(ValueError, match="victim_actions 'argmax'.*'greedy', 'sample'"):
        victim_actor(QPolicy(2, 3, 4), "argmax", [0])
