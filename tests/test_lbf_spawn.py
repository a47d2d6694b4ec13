"""The vectorised reset of the batched LBF env equals lbforaging's: envs/lbf_rng.py's ``Streams``
draw what ``numpy.random.default_rng(seed)`` draws, row by row, and envs/lbf_spawn.py's
``Spawner`` places players and food where ``ForagingEnv.reset(seed)`` does, for many seeds and
settings (retries on taken cells, the 1000-attempt limit of food placement, level-0 food)."""

import numpy as np
import pytest

from marl_attacks.envs.lbf_env import foraging_kwargs, vector_observations
from marl_attacks.envs.lbf_rng import Streams, seed_words
from marl_attacks.envs.lbf_spawn import FAR, Spawner


def test_streams_draw_what_numpy_draws_row_by_row():
    seeds = np.array([*range(200), 2**31 - 1, 2**32 - 1, 4_000_000_000], np.uint64)
    streams = Streams(seed_words(seeds))
    gens = [np.random.default_rng(int(s)) for s in seeds]
    rows = np.arange(len(seeds))
    pick = np.random.default_rng(0)
    for call in range(80):  # far past the first block of draws: rows extend their streams
        sub = rows[pick.random(len(rows)) < 0.6]  # rows draw independently of each other
        if call % 4 == 0:
            n = int(pick.integers(1, 9))
            got = streams.permutation(sub, n)
            want = [gens[r].permutation(n) for r in sub]
        else:
            low = pick.integers(0, 6, len(sub))
            wide = pick.random(len(sub)) < 0.2  # wide ranges reject draws now and then
            high = low + np.where(wide, pick.integers(2**20, 2**32 - 6, len(sub)), pick.integers(1, 30, len(sub)))
            got = streams.integers(sub, low, high)
            want = [gens[r].integers(lo, hi) for r, lo, hi in zip(sub, low.tolist(), high.tolist())]
        assert np.array_equal(got, np.array(want).reshape(got.shape)), f"call {call}"
    assert streams.u.shape[1] > 64  # the streams were extended


def _lbforaging_reset(env, seed):
    """``ForagingEnv.reset(seed)`` as LbfEnv calls it: players, then foods in row-major order."""
    for player in env.players:
        player.position = None
    env.reset(seed=seed)
    players = [(*p.position, p.level) for p in env.players]
    foods = [(int(y), int(x), int(env.field[y, x])) for y, x in zip(*np.nonzero(env.field))]
    return players, foods


SETTINGS = [
    ("2s-10x10-4p-2f", {}),
    ("2s-8x8-3p-2f-coop", {}),
    ("15x15-3p-5f", {}),
    ("5x5-6p-3f", {}),  # crowded: players retry taken cells, food runs out of attempts
    ("6x6-2p-3f", {"min_food_level": 0, "max_food_level": 2}),  # level-0 food is no food
    ("7x9-3p-2f", {"min_player_level": [1, 2, 3], "max_player_level": [2, 4, 3], "max_food_level": [3, 5]}),
]


@pytest.mark.parametrize("task,kw", SETTINGS, ids=[t + "".join(f"-{k}" for k in kw) for t, kw in SETTINGS])
def test_spawner_places_what_lbforaging_places(task, kw):
    from lbforaging.foraging import ForagingEnv

    env = ForagingEnv(**foraging_kwargs(task, 50, kw))
    env._make_gym_obs = lambda: vector_observations(env)  # as LbfEnv (lbforaging's own check of
    # the observation space is wrong for per-food level ranges)
    seeds = np.array([*range(300), 2**32 - 1, 123_456_789], np.uint64)
    p = Spawner(env, task)(seeds)
    n_food_seen, short = 0, 0
    for e, seed in enumerate(seeds.tolist()):
        players, foods = _lbforaging_reset(env, seed)
        assert players == list(zip(p.r[e].tolist(), p.c[e].tolist(), p.level[e].tolist())), f"seed {seed}"
        placed = [(y, x, lv) for y, x, lv in zip(p.fr[e].tolist(), p.fc[e].tolist(), p.fl[e].tolist()) if lv > 0]
        assert placed == foods, f"seed {seed}"
        absent = p.fl[e] == 0
        assert (p.fr[e][absent] == FAR).all() and (p.fl[e][~absent][:-1] >= 0).all()
        n_food_seen += len(foods)
        short += len(foods) < env.max_num_food
    assert n_food_seen > 0
    if task == "5x5-6p-3f" or "min_food_level" in kw:
        assert short > 0  # the case was built for it: some episodes have fewer foods


def test_batched_env_refuses_levels_and_grids_its_packed_observations_cannot_hold():
    from marl_attacks.envs.lbf_batched import BatchedLbfEnv

    BatchedLbfEnv("8x8-2p-2f", 2, "cpu", max_player_level=10_000)  # food up to 30,000: fits
    with pytest.raises(ValueError, match=r"lbf-8x8-2p-2f: levels must be in 0\.\.32767"):
        BatchedLbfEnv("8x8-2p-2f", 2, "cpu", max_player_level=11_000)
    with pytest.raises(ValueError, match=r"grid under 255"):
        BatchedLbfEnv("300x8-2p-2f", 2, "cpu")
