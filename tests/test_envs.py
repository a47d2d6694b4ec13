"""Every registered env honours the batched interface and its seeds, and declares its
observation layout (bounds, perturbable dims) as the env really emits it."""

import gymnasium as gym
import lbforaging  # noqa: F401  (registers the Foraging-* gymnasium ids)
import numpy as np
import pytest
import rware  # noqa: F401  (registers the rware-* gymnasium ids)
import torch

from marl_attacks.envs import ENVS, LBF_TASKS, RWARE_TASKS, action_type, make_env

# the envs of the base install; those of an optional extra (SMAX) have their own tests
# (tests/test_smax.py), which skip without it
CORE_ENVS = sorted(name for name, entry in ENVS.items() if entry.extra is None)

# small settings per env, so that every registered env runs fast here (LBF and RWARE are small)
SMALL = {
    "vmas-navigation": {"n_agents": 3, "continuous_actions": False},
    "vmas-balance": {"n_agents": 3, "continuous_actions": False},
    "vmas-transport": {"n_agents": 2, "continuous_actions": False},
    "vmas-wheel": {"n_agents": 2, "continuous_actions": False},
    "mpe-simple_spread": {"N": 3},
    "mpe-simple_reference": {},
}


@pytest.mark.parametrize("name", CORE_ENVS)
def test_batched_interface(name):
    B, T = 3, 6
    env = make_env(name, B, max_steps=T, kwargs=SMALL.get(name, {}))
    spec = env.spec
    # the config check predicts the action type without building the env: it must agree
    assert action_type(name, SMALL.get(name, {})) == spec.action_type
    obs = env.reset([1, 2, 3])
    assert obs.shape == (B, spec.n_agents, spec.obs_dim)
    assert obs.dtype == torch.float32
    assert spec.obs_low.shape == spec.obs_high.shape == spec.perturbable.shape == (spec.n_agents, spec.obs_dim)
    assert spec.perturbable.dtype == torch.bool
    g = torch.Generator().manual_seed(0)
    ended = torch.zeros(B, dtype=torch.bool)
    for _t in range(T):
        step = env.step(env.random_actions(g))
        assert step.obs.shape == obs.shape and step.final_obs.shape == obs.shape
        assert step.reward.shape == (B,)
        assert not (step.terminated & step.truncated).any()
        ended |= step.terminated | step.truncated
    # every episode has ended by the time limit, as a truncation or a termination
    assert ended.all()


@pytest.mark.parametrize("name", CORE_ENVS)
def test_same_seed_same_episode(name):
    env = make_env(name, 2, max_steps=5, kwargs=SMALL.get(name, {}))
    a = env.reset([7, 8])
    b = env.reset([7, 8])
    c = env.reset([9, 8])
    assert torch.equal(a, b)
    assert not torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])


@pytest.mark.parametrize("name", CORE_ENVS)
def test_time_limit_is_truncation_with_final_obs(name):
    T = 4
    env = make_env(name, 2, max_steps=T, kwargs=SMALL.get(name, {}))
    env.reset([0, 1])
    spec = env.spec
    noop = torch.zeros(2, spec.n_agents, dtype=torch.long)
    for _ in range(T - 1):
        step = env.step(noop)
        assert not step.truncated.any()
        assert torch.equal(step.final_obs, step.obs)
    step = env.step(noop)
    assert (step.truncated | step.terminated).all()
    # the auto-reset observation differs from the one that ended the episode
    assert not torch.equal(step.final_obs, step.obs)


# ---- perturbation metadata vs the env's real observation layout -----------------------------


def _native_bounds(env):
    """Per-agent bounds [n, d] of the observation space the wrapped env itself declares."""
    family = env.spec.name.split("-")[0]
    if family in ("lbf", "rware"):
        spaces = list(env._envs[0].observation_space)
    elif family == "mpe":
        spaces = [env._envs[0].observation_space(a) for a in env._agents]
    else:
        spaces = list(env._env.observation_space)
    return (
        torch.as_tensor(np.stack([s.low for s in spaces]), dtype=torch.float32),
        torch.as_tensor(np.stack([s.high for s in spaces]), dtype=torch.float32),
    )


def _sample_obs(env, steps, seeds):
    """Observations of a random rollout, including the ones that ended episodes."""
    g = torch.Generator().manual_seed(0)
    out = [env.reset(seeds)]
    for _ in range(steps):
        step = env.step(env.random_actions(g))
        out += [step.obs, step.final_obs]
    return torch.cat(out)


@pytest.mark.parametrize("name", CORE_ENVS)
def test_metadata_matches_env_observation_space(name):
    env = make_env(name, 4, max_steps=10, kwargs=SMALL.get(name, {}))
    spec = env.spec
    low, high = _native_bounds(env)
    assert torch.equal(spec.obs_low, low) and torch.equal(spec.obs_high, high)
    assert (spec.obs_low < spec.obs_high).all()
    # none of these envs emits agent-ID dimensions: everything it emits may be perturbed
    assert spec.perturbable.all()
    obs = _sample_obs(env, 25, [11, 12, 13, 14])
    assert torch.isfinite(obs).all()
    assert ((obs >= spec.obs_low) & (obs <= spec.obs_high)).all()
    # bounded exactly where the paper says: LBF yes; RWARE, MPE and VMAS no
    assert torch.isfinite(spec.obs_low).all() == name.startswith("lbf-")


def _id_like_dims(obs):
    """Dimensions that identify the agent: constant for each agent, different between agents."""
    per_agent_constant = (obs == obs[:1]).all(0)  # [n, d]
    differs = (obs[0] != obs[0, :1]).any(0)  # [d]
    return (per_agent_constant.all(0) & differs).nonzero().flatten().tolist()


@pytest.mark.parametrize("task", LBF_TASKS)
def test_lbf_observation_layout(task):
    env = make_env(f"lbf-{task}", 4, max_steps=50)
    raw = env._envs[0]
    F, n, (rows, cols) = raw.max_num_food, raw.n_agents, raw.field_size
    spec = env.spec
    # the layout is (y, x, level) per food, then per player: nothing else (no ID dims)
    assert spec.obs_dim == 3 * (F + n)
    assert (spec.obs_low.view(n, -1, 3)[..., :2] == -1).all()  # -1 marks an absent entry
    assert (spec.obs_low.view(n, -1, 3)[..., 2] == 0).all()
    assert (spec.obs_high.view(n, -1, 3)[..., 0] == rows - 1).all()
    assert (spec.obs_high.view(n, -1, 3)[..., 1] == cols - 1).all()
    assert (spec.obs_high[:, 3 * F + 2 :: 3] == raw.max_player_level.max()).all()
    obs = env.reset([5, 6, 7, 8])
    if raw.sight >= max(rows, cols):  # full observability: positions are absolute
        for b, e in enumerate(env._envs):
            for i, player in enumerate(e.players):  # the observing agent comes first
                y, x, level = obs[b, i, 3 * F : 3 * F + 3].tolist()
                assert (y, x, level) == (*player.position, player.level)
    assert _id_like_dims(_sample_obs(env, 60, [1, 2, 3, 4])) == []


# lbforaging registers up to 4 foods; 15x15-*-5f are built with the same arguments
@pytest.mark.parametrize("task", [t for t in LBF_TASKS if f"Foraging-{t}-v3" in gym.registry])
def test_lbf_kwargs_match_lbforaging_registration(task):
    from marl_attacks.envs.lbf_env import task_kwargs

    assert task_kwargs(task, 50) == gym.spec(f"Foraging-{task}-v3").kwargs


@pytest.mark.parametrize("task", RWARE_TASKS)
def test_rware_kwargs_match_rware_registration(task):
    from marl_attacks.envs.rware_env import task_kwargs

    assert task_kwargs(task, 500) == gym.spec(f"rware-{task}-v2").kwargs


def test_rware_observation_layout_and_content_bounds():
    env = make_env("rware-tiny-4ag", 4, max_steps=500, kwargs={"content_bounds": True})
    spec, raw = env.spec, env._envs[0]
    assert spec.obs_dim == 8 + 9 * 7  # self (8) + 3x3 cells x (agent, direction x4, shelf, requested)
    obs = env.reset([1, 2, 3, 4])
    for b, e in enumerate(env._envs):
        for i, agent in enumerate(e.agents):
            assert obs[b, i, :2].tolist() == [agent.x, agent.y]
    # content bounds: coordinates up to the grid size, every other entry a 0/1 flag
    assert (spec.obs_high[:, :2] == max(raw.grid_size)).all()
    assert (spec.obs_high[:, 2:] == 1).all() and (spec.obs_low == 0).all()
    sample = _sample_obs(env, 60, [1, 2, 3, 4])
    assert ((sample >= spec.obs_low) & (sample <= spec.obs_high)).all()
    flags = sample[..., 2:]
    assert ((flags == 0) | (flags == 1)).all()
    assert _id_like_dims(sample) == []
    # the default follows rware's declared (unbounded) space, as the paper does
    default = make_env("rware-tiny-4ag", 1, max_steps=500).spec
    assert torch.isinf(default.obs_low).all() and torch.isinf(default.obs_high).all()


# ---- LBF / RWARE: their time limit is reported as termination; ours is truncation -----------


@pytest.mark.parametrize("name", ["lbf-8x8-2p-2f-coop", "rware-tiny-2ag"])
def test_lbf_rware_time_limit_ends_are_truncations(name):
    T, B = 5, 3
    env = make_env(name, B, max_steps=T)
    # the quirk this guards against: the wrapped env says terminated, never truncated
    raw = env._envs[0]
    raw.reset(seed=0)
    for _ in range(T):
        *_, done, trunc, _ = raw.step([0] * env.spec.n_agents)
    assert done and not trunc
    prev = env.reset([0, 1, 2])
    noop = torch.zeros(B, env.spec.n_agents, dtype=torch.long)
    for t in range(1, 2 * T + 1):
        step = env.step(noop)
        assert not step.terminated.any()
        assert bool(step.truncated.all()) == (t % T == 0)  # the step count restarts after a reset
        if t % T == 0:
            # no-ops leave the state unchanged: the ending observation is the previous one
            assert torch.equal(step.final_obs, prev)
            assert not torch.equal(step.obs, prev)
        else:
            assert torch.equal(step.final_obs, step.obs)
        prev = step.obs


def _lbf_single_player_policy(obs):
    """Walk next to the only food and load it (obs: food y, x, level, then own y, x, level)."""
    fy, fx, _, py, px, _ = obs.tolist()
    if abs(fy - py) + abs(fx - px) == 1:
        return 5  # LOAD
    if px != fx:
        return 4 if px < fx else 3  # EAST / WEST
    return 2 if py < fy else 1  # SOUTH / NORTH


def _lbf_collect_episode(max_steps):
    from marl_attacks.envs.lbf_env import LbfEnv

    env = LbfEnv("5x5-1p-1f", 1, torch.device("cpu"), max_steps=max_steps)
    obs, total = env.reset([3]), 0.0
    for t in range(1, max_steps + 1):
        step = env.step(torch.tensor([[_lbf_single_player_policy(obs[0, 0])]]))
        total += float(step.reward)
        if step.terminated | step.truncated:
            return t, step, total
        obs = step.obs
    raise AssertionError("episode did not end at its time limit")


def test_lbf_collecting_all_food_is_a_termination_even_on_the_last_step():
    t, step, total = _lbf_collect_episode(max_steps=50)
    assert t < 50 and step.terminated.all() and not step.truncated.any()
    assert total == pytest.approx(1.0)  # normalised: all food collected
    assert step.final_obs[0, 0, :3].tolist() == [-1, -1, 0]  # the eaten food is gone
    # the same episode with the time limit on the collecting step: still a termination
    t2, step2, _ = _lbf_collect_episode(max_steps=t)
    assert t2 == t and step2.terminated.all() and not step2.truncated.any()
    # one step less: the food is not collected, the episode is truncated
    t3, step3, total3 = _lbf_collect_episode(max_steps=t - 1)
    assert t3 == t - 1 and step3.truncated.all() and not step3.terminated.any() and total3 == 0


def test_every_env_has_a_paper_label():
    for name, entry in ENVS.items():
        assert entry.label and entry.label != name, name


def test_lbf_available_actions_follow_the_state():
    from marl_attacks.envs.lbf_env import LbfEnv

    env = LbfEnv("5x5-1p-1f", 1, torch.device("cpu"), max_steps=50)
    obs = env.reset([3])
    for _ in range(20):
        fy, fx, _, py, px, _ = obs[0, 0].tolist()
        avail = env.available_actions()[0, 0].tolist()
        assert avail[0]  # NONE
        assert avail[5] == (abs(fy - py) + abs(fx - px) == 1)  # LOAD only next to the food
        assert avail[1] == (py > 0 and (py - 1, px) != (fy, fx))  # NORTH: not off the grid or into food
        assert avail[2] == (py < 4 and (py + 1, px) != (fy, fx))  # SOUTH
        step = env.step(torch.tensor([[_lbf_single_player_policy(obs[0, 0])]]))
        obs = step.obs
    # envs without action constraints say so with None
    assert make_env("rware-tiny-2ag", 1, max_steps=5).available_actions() is None


@pytest.mark.parametrize("task", LBF_TASKS)
def test_lbf_fast_observations_equal_lbforagings_own(task):
    """The adapter's vector_observations replaces lbforaging's _make_gym_obs: they must agree
    on every task (full and partial sight, 2-4 players, 2-5 foods) along random episodes."""
    from lbforaging.foraging import ForagingEnv

    from marl_attacks.envs.lbf_env import vector_observations

    env = make_env(f"lbf-{task}", 4, max_steps=50, seed=3)
    env.reset([11, 12, 13, 14])
    g = torch.Generator().manual_seed(0)
    checked = 0
    for _ in range(60):
        env.step(env.random_actions(g, env.available_actions()))
        for inst in env._envs:
            ours = np.stack(vector_observations(inst))
            theirs = np.stack(ForagingEnv._make_gym_obs(inst))
            np.testing.assert_array_equal(ours, theirs)
            checked += 1
    assert checked == 240


BAD_ACTION_ENVS = [
    ("lbf-8x8-2p-2f-coop", "reference", {}),
    ("rware-tiny-2ag", "reference", {}),
    ("lbf-8x8-2p-2f-coop", "batched", {}),
    ("rware-tiny-2ag", "batched", {}),
    ("mpe-simple_spread", "reference", {"N": 2}),
    ("vmas-navigation", "reference", {"n_agents": 2}),
]


@pytest.mark.parametrize("name,backend,kwargs", BAD_ACTION_ENVS, ids=[f"{n}-{b}" for n, b, _ in BAD_ACTION_ENVS])
def test_every_adapter_refuses_bad_actions_naming_agent_and_value(name, backend, kwargs):
    """Every adapter checks discrete actions (:func:`check_discrete_actions`) before the env
    package sees them (which would fail deep inside, or act on a wrapped-around or clipped value)."""
    env = make_env(name, 2, max_steps=10, kwargs=kwargs, backend=backend)
    env.reset([0, 1])
    n, k = env.spec.n_agents, env.spec.action_dim
    good = torch.zeros(2, n, dtype=torch.long)
    with pytest.raises(ValueError, match=rf"agent 1 \(episode 0\) got action {k}; actions are 0..{k - 1}"):
        env.step(good.index_put((torch.tensor([0]), torch.tensor([1])), torch.tensor(k)))
    with pytest.raises(ValueError, match=r"shape \(num_envs, n_agents\)"):
        env.step(torch.zeros(2, n + 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"agent 0 \(episode 1\) got action 0.5"):
        env.step(torch.tensor([[0.0] * n, [0.5] + [0.0] * (n - 1)]))
    env.step(good)  # still works


def test_continuous_actions_of_a_wrong_shape_or_not_finite_are_refused():
    env = make_env("vmas-navigation", 2, max_steps=10, kwargs={"n_agents": 2, "continuous_actions": True})
    env.reset([0, 1])
    good = torch.zeros(2, 2, env.spec.action_dim)
    with pytest.raises(ValueError, match=r"shape \(num_envs, n_agents, action_dim\) = \(2, 2, 2\), got \(2, 2\)"):
        env.step(torch.zeros(2, 2))
    bad = good.clone()
    bad[1, 0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"agent 0 \(episode 1\) got action \[0.0, nan\], not finite"):
        env.step(bad)
    env.step(good + 5.0)  # beyond the bounds: VMAS clamps (PPO's Gaussian draws go there)


def test_vmas_rows_that_ended_are_not_restarted_when_auto_reset_is_off():
    # balance ends early when the package falls; a restart sets that row's step counter to 0
    env = make_env("vmas-balance", num_envs=16, max_steps=100, kwargs=SMALL["vmas-balance"])
    env.auto_reset = False
    env.reset(list(range(16)))
    g = torch.Generator().manual_seed(0)
    ended = torch.zeros(16, dtype=torch.bool)
    while not ended.any():
        step = env.step(env.random_actions(g))
        ended |= step.terminated | step.truncated
    assert not ended.all(), "every row ended at once: the test would not see a row restart"
    assert (env._env.steps[ended] > 0).all()  # not restarted (a restart sets the counter to 0)
    steps_before = env._env.steps.clone()
    env.step(env.random_actions(g))
    assert (env._env.steps == steps_before + 1).all()  # ended rows keep stepping
    env.auto_reset = True
    env.step(env.random_actions(g))
    assert (env._env.steps[ended] == 0).all()  # ended rows restart at the next end check


def test_run_episodes_counts_the_same_without_restarts_and_restores_the_flag():
    from marl_attacks import rollout

    env = make_env("vmas-balance", num_envs=32, max_steps=100, kwargs=SMALL["vmas-balance"])
    seeds, g = list(range(32)), torch.Generator()

    def act(obs, avail):
        return env.random_actions(g)

    g.manual_seed(0)
    without = rollout.run_episodes(env, act, seeds)
    assert env.auto_reset is True
    assert (without.lengths < 100).any(), "no episode ended early: the test would not see a restart"
    g.manual_seed(0)  # the loop itself, the env restarting every row that ends
    restarting = rollout._run_first_episodes(env, act, None, seeds, None, None, None, False)
    assert torch.equal(without.returns, restarting.returns)
    assert torch.equal(without.lengths, restarting.lengths)
