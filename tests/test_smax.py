"""The SMAX adapter (optional extra ``smax``): its metadata per map, seeded rollouts, the win flag,
action masks and time limits; and, without jaxmarl, the message naming the missing extra.

Every test but the missing-extra ones skips where jaxmarl is not installed (CI's venv). jax
compiles SMAX's step once per map, batch size and time limit (10-30 s on CPU), so the rollout
tests share a few envs.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT

from marl_attacks import config as cfgmod
from marl_attacks.envs import ENVS, SMAX_MAPS, make_env, missing_extra

SMAX_ENVS = [f"smax-{m}" for m in SMAX_MAPS]
B = 4


def _without_jaxmarl(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jaxmarl" else real(name, *a))


def test_missing_extra_is_named_by_the_config_check_and_make_env(monkeypatch):
    _without_jaxmarl(monkeypatch)
    assert missing_extra("smax-3m") == "smax" and missing_extra("vmas-balance") is None
    config = yaml.safe_load((ROOT / "config" / "smax.yaml").read_text())
    with pytest.raises(cfgmod.ConfigError, match=r"'envs\.smax-3m'.*needs the optional extra 'smax'.*\.\[smax\]"):
        cfgmod.check(config)
    with pytest.raises(ImportError, match=r"env 'smax-3m' needs the optional extra 'smax'.*\.\[smax\]"):
        make_env("smax-3m", 2, max_steps=10)


def test_smax_registry_entries():
    for name in SMAX_ENVS:
        entry = ENVS[name]
        assert entry.family == "smax" and entry.win and entry.extra == "smax" and entry.label == f"SMAX {entry.task}"
    assert not any(e.win for n, e in ENVS.items() if n not in SMAX_ENVS)
    # the authors' per_env_infected (src/adv.py) for the SMAC maps SMAX has
    assert SMAX_MAPS["3s5z"] == (5, 6, 2, 3, 4) and SMAX_MAPS["25m"] == (6, 8, 10, 13)
    assert SMAX_MAPS["10m_vs_11m"] == (2, 3, 4, 5) and SMAX_MAPS["smacv2_10_units"] == (2, 3, 4, 5)


def test_smax_full_config_attacks_the_authors_m():
    """config/smax-full.yaml runs every SMAX map with an authors' m at those m (and all agents)."""
    config = yaml.safe_load((ROOT / "config" / "smax-full.yaml").read_text())
    with_m = {f"smax-{m}" for m, ms in SMAX_MAPS.items() if ms}
    assert with_m <= set(config["envs"])
    for env in with_m:
        assert config["envs"][env]["evaluate"]["n_attacked"] == ["all", *sorted(ENVS[env].authors_m)], env
        assert config["envs"][env]["max_steps"] == 100  # SMAX's time limit


@pytest.fixture(scope="module")
def smax():
    return pytest.importorskip("jaxmarl")


def test_map_list_is_smaxs_own(smax):
    from jaxmarl.environments.smax.smax_env import MAP_NAME_TO_SCENARIO

    assert set(SMAX_MAPS) == set(MAP_NAME_TO_SCENARIO)


@pytest.mark.parametrize("name", SMAX_ENVS)
def test_metadata_per_map(smax, name):
    from jaxmarl.environments.smax import HeuristicEnemySMAX, map_name_to_scenario

    env = make_env(name, 2, max_steps=100)  # builds SMAX; nothing is compiled before reset
    ref = HeuristicEnemySMAX(scenario=map_name_to_scenario(ENVS[name].task))
    spec = env.spec
    n, k = ref.num_allies, ref.num_enemies
    units = n - 1 + k  # the other units an ally observes
    assert (spec.n_agents, spec.obs_dim) == (n, ref.obs_size) == (n, 13 * units + 10)
    assert spec.action_dim == ref.action_space("ally_0").n == k + 5  # 4 moves, stop, one attack per enemy
    assert spec.has_win and spec.max_steps == 100 and spec.discrete
    # the layout: 13 features per other unit, then 10 own; unit-type bits (6 each) are not perturbable
    per_unit = np.array([0, -1, -1, -1, -1, 0, 0] + [0] * 6), np.array([1] * 13)
    own_low = np.zeros(10)
    low = np.concatenate([np.tile(per_unit[0], units), own_low])
    assert torch.equal(spec.obs_low, torch.as_tensor(np.tile(low, (n, 1)), dtype=torch.float32))
    assert torch.equal(spec.obs_high, torch.ones(n, spec.obs_dim))
    pert = np.concatenate([np.tile([True] * 7 + [False] * 6, units), [True] * 4 + [False] * 6])
    assert torch.equal(spec.perturbable, torch.as_tensor(np.tile(pert, (n, 1))))
    # within SMAX's declared observation space
    box = ref.observation_space("ally_0")
    assert (spec.obs_low >= float(box.low)).all() and (spec.obs_high <= float(box.high)).all()


def test_hidden_enemy_actions_are_not_perturbable(smax):
    spec = make_env("smax-3m", 1, max_steps=100, kwargs={"see_enemy_actions": False}).spec
    enemy_slots = spec.perturbable[0, 2 * 13 : 5 * 13].view(3, 13)
    assert not enemy_slots[:, 3:6].any() and enemy_slots[:, [0, 1, 2, 6]].all()
    with pytest.raises(ValueError, match="observation_type='unit_list'"):
        make_env("smax-3m", 1, max_steps=100, kwargs={"observation_type": "conic"})


@pytest.fixture(scope="module")
def env_3m(smax):
    return make_env("smax-3m", B, max_steps=100)


def _attack_or_advance(env, obs) -> torch.Tensor:
    """Attack the first enemy in range, else move east (towards the enemy's start): wins 3m often."""
    avail = env.available_actions()
    attack = avail[..., 5:]
    first = attack.float().argmax(-1) + 5
    east = torch.where(avail[..., 1], 1, 4)  # 1 = east; 4 = stop (dead units)
    return torch.where(attack.any(-1), first, east)


def _rollout(env, seeds, policy, steps) -> torch.Tensor:
    """``[steps, B, ...]``: each step's obs, final_obs, reward, terminated and win per episode."""
    obs = env.reset(seeds)
    g = torch.Generator().manual_seed(1)
    trace = []
    for _ in range(steps):
        s = env.step(policy(env, obs) if policy else env.random_actions(g, env.available_actions()))
        flags = torch.stack([s.reward, s.terminated.float(), s.win.float()], 1)
        trace.append(torch.cat([s.obs.flatten(1), s.final_obs.flatten(1), flags], 1))
        obs = s.obs
    return torch.stack(trace)


def test_seeded_rollout_is_identical_twice_and_independent_of_the_batch(env_3m):
    a = _rollout(env_3m, [7, 1, 2, 3], None, 40)
    b = _rollout(make_env("smax-3m", B, max_steps=100), [7, 1, 2, 3], None, 40)
    assert torch.equal(a, b)
    # episode 0 (seed 7) acting on its own observations only, the other episodes' seeds changed
    c = _rollout(env_3m, [7, 4, 5, 6], _attack_or_advance, 30)
    d = _rollout(env_3m, [7, 9, 10, 11], _attack_or_advance, 30)
    assert torch.equal(c[:, 0], d[:, 0]) and not torch.equal(c[:, 1], d[:, 1])
    assert not torch.equal(env_3m.reset([8, 1, 2, 3])[0], env_3m.reset([7, 1, 2, 3])[0])


def test_observations_stay_in_bounds_and_type_bits_are_one_hot(smax):
    env = make_env("smax-3s5z", B, max_steps=100)
    spec, obs = env.spec, env.reset(list(range(B)))
    g = torch.Generator().manual_seed(0)
    seen = [obs]
    for _ in range(60):
        s = env.step(env.random_actions(g, env.available_actions()))
        seen += [s.obs, s.final_obs]
    allobs = torch.cat(seen)
    assert ((allobs >= spec.obs_low) & (allobs <= spec.obs_high)).all()
    units = torch.cat([allobs[..., : 13 * 15].unflatten(-1, (15, 13))[..., 7:], allobs[..., None, -6:]], -2)
    assert set(units.sum(-1).unique().tolist()) <= {0.0, 1.0}  # a type bit per seen unit, none if unseen
    # 3s5z: 3 stalkers (type 2) then 5 zealots (type 3) on each side, as the map says
    own_type = allobs[..., -6:].argmax(-1)[allobs[..., 0] > 0]
    assert set(own_type.unique().tolist()) == {2, 3}
    # every perturbable dim moves somewhere in the rollout (none is fixed)
    moved = (allobs != allobs[:1]).any(0)
    assert moved[spec.perturbable].float().mean() > 0.9


def test_action_masks_follow_the_state(env_3m):
    env_3m.reset([0, 1, 2, 3])
    avail = env_3m.available_actions()
    assert avail.shape == (B, 3, 8) and avail.dtype == torch.bool
    # at the start the teams are 16 apart, beyond every attack range: moves and stop only
    assert avail[..., :5].all() and not avail[..., 5:].any()
    obs = env_3m.reset([0, 1, 2, 3])
    dead_seen = attack_seen = False
    for _ in range(60):
        s = env_3m.step(_attack_or_advance(env_3m, obs))
        obs, avail = s.obs, env_3m.available_actions()
        dead = obs[..., -10] == 0  # own health 0: the ally is dead, only stop is left
        assert avail[..., 4].all() and not avail[dead][:, [0, 1, 2, 3, 5, 6, 7]].any()
        dead_seen |= bool(dead.any())
        attack_seen |= bool(avail[..., 5:].any())
    assert dead_seen and attack_seen


def test_win_flag_means_every_enemy_dead(env_3m):
    obs = env_3m.reset(list(range(B)))
    wins = ends = 0
    for _ in range(300):
        s = env_3m.step(_attack_or_advance(env_3m, obs))
        obs = s.obs
        ended = s.terminated | s.truncated
        assert not (s.win & ~s.terminated).any()
        for b in s.win.nonzero().flatten().tolist():
            final = s.final_obs[b]
            alive = final[:, -10] > 0
            # no living ally sees a living enemy, and the battle bonus is in the team reward
            assert alive.any() and (final[alive][:, 2 * 13 : 5 * 13].view(-1, 3, 13)[..., 0] == 0).all()
            assert s.reward[b] >= 3  # each of the 3 allies gets the +1 of a won battle
        wins += int(s.win.sum())
        ends += int(ended.sum())
    assert ends > 0 and 0 < wins <= ends


def test_time_limit_is_a_truncation_with_its_final_obs(smax):
    T = 5
    env = make_env("smax-3m", 2, max_steps=T)
    obs = env.reset([3, 4])
    for t in range(T):
        s = env.step(torch.full((2, 3), 4))  # everyone stops: nobody can die in 5 steps
        assert not s.terminated.any() and not s.win.any()
        assert bool(s.truncated.all()) == (t == T - 1)
    assert not torch.equal(s.final_obs, s.obs)  # auto-reset: obs starts the next episode
    # nobody moved: the episode that ended is the one that started (own positions unchanged)
    assert torch.allclose(s.final_obs[..., -9:-7], obs[..., -9:-7], atol=0.02)


def test_rollout_counts_wins_of_each_episode(env_3m):
    """The evaluation's episode loop reads the win flag: episode b is won if it ended in a win."""
    from marl_attacks.rollout import run_episodes

    res = run_episodes(env_3m, lambda obs, avail: _attack_or_advance(env_3m, obs), [0, 1, 2, 3])
    assert res.win is not None and res.win.dtype == torch.bool and res.win.shape == (B,)
    again = run_episodes(env_3m, lambda obs, avail: _attack_or_advance(env_3m, obs), [0, 1, 2, 3])
    assert torch.equal(res.win, again.win) and torch.equal(res.returns, again.returns)
    # a won episode ends early with the battle bonus: every ally's +1, summed
    assert (res.returns[res.win] >= 3).all() and (res.lengths[res.win] < 100).all()
