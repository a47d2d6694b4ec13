"""The batched LBF env (envs/lbf_batched.py) equals the reference adapter (envs/lbf_env.py, on
lbforaging 2.0) exactly: same seeds, same actions, every output compared at every step."""

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT

from marl_attacks.envs import ENVS, LBF_TASKS, backends, make_env
from marl_attacks.envs.lbf_batched import BatchedLbfEnv
from marl_attacks.envs.lbf_env import LbfEnv

FIELDS = ("obs", "reward", "terminated", "truncated", "final_obs")

# every registered task, plus sight, cooperation, penalty and reward/observation variants
CASES = [(t, {}) for t in LBF_TASKS] + [
    ("1s-8x8-3p-2f", {}),
    ("3s-10x10-2p-3f-coop", {}),
    ("6x6-2p-2f-coop", {"penalty": 0.25}),
    ("7x9-3p-3f", {"normalize_reward": False, "observe_agent_levels": False}),
    ("2s-12x12-4p-4f", {"max_player_level": 3, "min_food_level": 2}),
]


def _pair(task, B, max_steps, seed=0, **kw):
    ref = LbfEnv(task, B, "cpu", max_steps=max_steps, seed=seed, **kw)
    bat = BatchedLbfEnv(task, B, "cpu", max_steps=max_steps, seed=seed, **kw)
    return ref, bat


def _assert_same(s1, s2, where):
    for f in FIELDS:
        a, b = getattr(s1, f), getattr(s2, f)
        assert a.dtype == b.dtype and torch.equal(a, b), f"{where}: {f} differs\nreference {a}\nbatched {b}"


def _actions(t: int, avail: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Steps cycle through: any action (invalid moves and loads too), valid actions only, and
    valid actions preferring LOAD (players wait at food, so cooperative loads complete)."""
    B, n, A = avail.shape
    if t % 3 == 0:
        return torch.randint(A, (B, n), generator=g)
    p = avail.float()
    if t % 3 == 2:
        p[..., 5] *= 20.0
    return torch.multinomial(p.view(-1, A), 1, generator=g).view(B, n)


def run_equal(task, kw, B=32, T=200, max_steps=30, seed=0):
    """Both envs, ``T`` steps; returns counts of what happened (to check the run was not trivial)."""
    ref, bat = _pair(task, B, max_steps, seed, **kw)
    for k, x in vars(ref.spec).items():
        y = getattr(bat.spec, k)
        assert torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y, f"spec.{k} differs"
    seeds = [1000 * seed + 7 * b for b in range(B)]
    o1, o2 = ref.reset(seeds), bat.reset(seeds)
    assert torch.equal(o1, o2), "observations after reset differ"
    g = torch.Generator().manual_seed(seed)
    seen = {"terminated": 0, "truncated": 0, "reward": 0}
    for t in range(T):
        m1, m2 = ref.available_actions(), bat.available_actions()
        assert torch.equal(m1, m2), f"{task} step {t}: available actions differ"
        act = _actions(t, m1, g)
        s1, s2 = ref.step(act), bat.step(act)
        _assert_same(s1, s2, f"{task} step {t}")
        seen["terminated"] += int(s1.terminated.sum())
        seen["truncated"] += int(s1.truncated.sum())
        seen["reward"] += int((s1.reward != 0).sum())
    return seen


@pytest.mark.parametrize("task,kw", CASES, ids=[t + "".join(f"-{k}" for k in kw) for t, kw in CASES])
def test_batched_lbf_equals_reference(task, kw):
    # three players must load together on the authors' 3-player coop task: random play needs longer
    seen = run_equal(task, kw, **({"B": 64, "T": 600, "max_steps": 50} if task == "2s-8x8-3p-2f-coop" else {}))
    assert seen["truncated"] > 0 and seen["reward"] > 0, seen  # episodes ended at the limit, food was eaten


def test_batched_lbf_episodes_end_by_collecting_all_food():
    seen = run_equal("1s-8x8-3p-2f", {}, T=150, max_steps=60, seed=1)
    assert seen["terminated"] > 0, seen


# ---- targeted states: both envs are put in the same hand-made state ----


def _set_state(ref, bat, b, players, foods, step=0):
    """Episode ``b`` of both envs: ``players`` and ``foods`` as ``(row, col, level)``, ``step`` steps done."""
    env = ref._envs[b]
    env.field[:] = 0
    for y, x, lv in foods:
        env.field[y, x] = lv
    env._food_spawned = env.field.sum()
    for p, (y, x, lv) in zip(env.players, players):
        p.position, p.level = (y, x), lv
    env.current_step = ref._steps[b] = step
    env._gen_valid_moves()
    bat.set_state(b, players, foods, step)


def _step_both(ref, bat, actions):
    m1, m2 = ref.available_actions(), bat.available_actions()
    assert torch.equal(m1, m2)
    act = torch.tensor(actions)
    s1, s2 = ref.step(act), bat.step(act)
    _assert_same(s1, s2, f"actions {actions}")
    return s1


N, S, W, E, L, X = 1, 2, 3, 4, 5, 0


def test_collisions_and_chains():
    ref, bat = _pair("8x8-3p-2f", 4, 50)
    ref.reset(range(4)), bat.reset(range(4))
    foods = [(6, 6, 1), (6, 1, 1)]
    _set_state(ref, bat, 0, [(2, 2, 1), (2, 4, 1), (0, 0, 1)], foods)  # 0 and 1 both into (2, 3)
    _set_state(ref, bat, 1, [(3, 3, 1), (3, 4, 1), (3, 5, 2)], foods)  # 0 east into 1, 1 blocked by 2
    _set_state(ref, bat, 2, [(1, 1, 1), (1, 2, 1), (0, 0, 1)], foods)  # 0 and 1 swap cells
    _set_state(ref, bat, 3, [(4, 4, 1), (4, 5, 1), (3, 4, 1)], foods)  # 1 into 0's cell, 0 stays
    s = _step_both(ref, bat, [[E, W, X], [E, E, X], [E, W, X], [X, W, S]])
    # the reference says what happened; check it is what the case was built for
    obs = s.obs
    assert obs.shape[0] == 4
    pos = [[tuple(p.position) for p in env.players] for env in ref._envs]
    assert pos[0][:2] == [(2, 2), (2, 4)]  # collision: neither moves
    assert pos[1][:2] == [(3, 4), (3, 4)]  # chain: 0 moves onto 1, who stays
    assert pos[2][:2] == [(1, 2), (1, 1)]  # swap
    assert pos[3] == [(4, 4), (4, 5), (3, 4)]  # 1 and 2 aim at 0's cell, 0 stays: nobody moves
    for t in range(5):  # and the states keep agreeing
        _step_both(ref, bat, [[t % 6, (t + 2) % 6, (t + 4) % 6]] * 4)


@pytest.mark.parametrize("penalty", [0.0, 0.5])
def test_cooperative_loading(penalty):
    ref, bat = _pair("8x8-2p-2f-coop", 4, 50, penalty=penalty)
    ref.reset(range(4)), bat.reset(range(4))
    _set_state(ref, bat, 0, [(3, 2, 1), (3, 4, 2)], [(3, 3, 3), (6, 6, 3)])  # 1 + 2 = 3: loads
    _set_state(ref, bat, 1, [(3, 2, 1), (3, 4, 1)], [(3, 3, 3), (6, 6, 3)])  # 1 + 1 < 3: fails
    _set_state(ref, bat, 2, [(2, 3, 2), (3, 4, 1)], [(3, 3, 3), (6, 6, 3)])  # only 0 loads: fails
    _set_state(ref, bat, 3, [(2, 3, 2), (4, 3, 2)], [(3, 3, 3), (6, 6, 3)])  # 2 + 2 > 3: loads
    s = _step_both(ref, bat, [[L, L], [L, L], [L, X], [L, L]])
    assert s.reward.tolist() == [0.5, -2 * penalty, -penalty, 0.5]
    assert not s.terminated.any()


def test_last_food_on_the_time_limit_step_is_a_termination():
    ref, bat = _pair("8x8-2p-2f", 3, 20)
    ref.reset(range(3)), bat.reset(range(3))
    _set_state(ref, bat, 0, [(3, 2, 1), (6, 1, 1)], [(3, 3, 1)], step=19)  # eats the last food at the limit
    _set_state(ref, bat, 1, [(3, 2, 1), (6, 1, 1)], [(3, 3, 1)], step=19)  # does not: truncated
    _set_state(ref, bat, 2, [(3, 2, 1), (6, 1, 1)], [(3, 3, 1)], step=4)  # eats it early: terminated
    s = _step_both(ref, bat, [[L, X], [X, X], [L, X]])
    assert s.terminated.tolist() == [True, False, True]
    assert s.truncated.tolist() == [False, True, False]
    assert s.reward.tolist() == [1.0, 0.0, 1.0]
    assert not torch.equal(s.final_obs, s.obs)
    for t in range(60):  # after the auto-resets
        _step_both(ref, bat, [[t % 6, (5 * t) % 6]] * 3)


def test_bad_actions_are_refused_naming_agent_and_value():
    env = BatchedLbfEnv("8x8-2p-2f", 3, "cpu", max_steps=10)
    env.reset(range(3))
    with pytest.raises(ValueError, match=r"agent 1 .*action 6"):
        env.step(torch.tensor([[0, 0], [0, 6], [0, 0]]))
    with pytest.raises(ValueError, match=r"agent 0 .*action -1"):
        env.step(torch.tensor([[0, 0], [0, 0], [-1, 0]]))
    with pytest.raises(ValueError, match=r"shape"):
        env.step(torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"agent 1 .*0.5"):
        env.step(torch.tensor([[0.0, 0.5], [0, 0], [0, 0]]))
    env.step(torch.tensor([[0, 5], [1, 2], [3, 4]]))  # the env still works


def test_registry_and_make_env_backends():
    for name, entry in ENVS.items():
        assert (entry.batched is not None) == name.startswith(("lbf-", "rware-")), name
    e = make_env("lbf-8x8-2p-2f-coop", 2, max_steps=10, backend="batched")
    assert isinstance(e, BatchedLbfEnv)
    assert isinstance(make_env("lbf-8x8-2p-2f-coop", 2, max_steps=10), LbfEnv)
    assert backends("vmas-balance") == ["reference"]
    with pytest.raises(ValueError, match=r"vmas-balance.*'batched'.*\['reference'\]"):
        make_env("vmas-balance", 2, max_steps=10, backend="batched")
    with pytest.raises(ValueError, match=r"lbf-8x8-2p-2f-coop.*'fast'.*\['reference', 'batched'\]"):
        make_env("lbf-8x8-2p-2f-coop", 2, max_steps=10, backend="fast")


def test_seeding_matches_gymnasium():
    from gymnasium.utils import seeding

    for s in (0, 5, 2**32 - 1):
        a, _ = seeding.np_random(s)
        assert np.array_equal(a.integers(0, 100, 20), np.random.default_rng(s).integers(0, 100, 20))


def test_config_backend_reaches_the_stages_but_not_provenance():
    from marl_attacks import lineage
    from marl_attacks.config import check, env_params

    cfg = {"envs": {"lbf-8x8-2p-2f-coop": {"max_steps": 50}}}
    plain = env_params(cfg, "lbf-8x8-2p-2f-coop")
    assert "backend" not in plain  # today's params stay as they are
    cfg["envs"]["lbf-8x8-2p-2f-coop"]["backend"] = "batched"
    chosen = env_params(cfg, "lbf-8x8-2p-2f-coop", "mappo")
    assert chosen["backend"] == "batched"
    assert lineage.env_block(chosen) == lineage.env_block(plain)
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    lbf = [env for env in paper["envs"] if env.startswith("lbf-")]
    assert lbf
    for env in lbf:
        paper["envs"][env]["backend"] = "batched"
    check(paper)  # accepted on LBF envs


def test_python_draws_equal_numpys():
    """lbf_rng reproduces default_rng(seed): seeding, 64-bit draws, bounded integers, permutations."""
    from marl_attacks.envs.lbf_rng import Draws, seed_states

    seeds = np.array([*range(500), 2**31 - 1, 2**32 - 1, 4_000_000_000], np.uint64)
    for seed, state in zip(seeds.tolist(), seed_states(seeds)):
        assert state == np.random.SeedSequence(seed).generate_state(4, np.uint64).tolist(), seed
        draws, numpy_rng = Draws(state), np.random.default_rng(seed)
        pick = np.random.default_rng(seed + 1)
        for _ in range(6):
            n = int(pick.integers(1, 8))
            assert draws.permutation(n) == numpy_rng.permutation(n).tolist()
            lo = int(pick.integers(0, 5))
            hi = lo + int(pick.integers(1, 30) if pick.random() < 0.8 else pick.integers(1, 2**31))
            assert draws.integers(lo, hi) == numpy_rng.integers(lo, hi)
        assert draws.next64() == numpy_rng.bit_generator.random_raw()
    # the auto-reset seeds are drawn ahead in blocks: one vectorised draw equals single ones
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert [int(a.integers(2**31)) for _ in range(999)] == b.integers(2**31, size=999).tolist()
