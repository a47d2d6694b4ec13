"""BatchedRwareEnv equals rware 2.0.0 (through RwareEnv) step for step, with exact equality.

Same seeds, same actions, compared at every step: observations, rewards, terminated,
truncated, final observations (auto-resets crossed). Random and biased policies on every
RWARE task and sensor range, hand-placed scenarios for the collision rules (chains,
cycles, head-on swaps, ties, loaded agents against shelves) and for deliveries (request
refill draws, two goals in one step), and every reward type.
"""

import numpy as np
import pytest
import torch
from rware.warehouse import Direction

import marl_attacks.envs.rware_batched as rb
from marl_attacks.envs import RWARE_TASKS
from marl_attacks.envs.rware_batched import BatchedRwareEnv
from marl_attacks.envs.rware_env import RwareEnv

FIELDS = ("obs", "reward", "terminated", "truncated", "final_obs")
BIASED = torch.tensor([0.05, 0.45, 0.15, 0.15, 0.2])  # mostly FORWARD and TOGGLE_LOAD


def pair(task, B, max_steps, seed=0, **kw):
    ref = RwareEnv(task, B, "cpu", max_steps=max_steps, seed=seed, **kw)
    bat = BatchedRwareEnv(task, B, "cpu", max_steps=max_steps, seed=seed, **kw)
    return ref, bat


def assert_same_step(x, y, where=""):
    for f in FIELDS:
        a, b = getattr(x, f), getattr(y, f)
        assert a.dtype == b.dtype and torch.equal(a, b), f"{f} differs {where}"


def assert_same_state(ref, bat):
    obs = np.stack([np.stack([w._make_obs(a) for a in w.agents]) for w in ref._envs])
    assert np.array_equal(obs, bat._observe(slice(None)))


def run(ref, bat, steps, gen, probs=None):
    """Step both with the same actions; return the summed reward and the number of ends."""
    seeds = [int(s) for s in torch.randint(2**31, (ref.num_envs,), generator=gen)]
    assert torch.equal(ref.reset(seeds), bat.reset(seeds))
    total, ends = 0.0, 0
    for t in range(steps):
        shape = (ref.num_envs, ref.spec.n_agents)
        if probs is None:
            a = torch.randint(5, shape, generator=gen)
        else:
            a = torch.multinomial(probs.expand(shape[0] * shape[1], 5), 1, True, generator=gen).view(shape)
        x, y = ref.step(a), bat.step(a)
        assert_same_step(x, y, f"at step {t}")
        total += float(x.reward.sum())
        ends += int((x.terminated | x.truncated).sum())
    return total, ends


# (task, kwargs, max_steps, steps): every task, sensor ranges 1-3, both bound conventions
CASES = [
    ("tiny-2ag", {}, 100, 300),
    ("tiny-4ag", {"content_bounds": True}, 100, 300),
    ("small-4ag", {}, 120, 250),
    ("tiny-2ag-hard", {"content_bounds": True}, 100, 250),
    ("tiny-4ag-hard", {}, 500, 250),
    ("small-4ag-hard", {"content_bounds": True}, 100, 250),
    ("tiny-4ag", {"sensor_range": 2}, 100, 200),
    ("tiny-4ag", {"sensor_range": 3, "content_bounds": True}, 100, 200),
    ("small-4ag", {"sensor_range": 2, "content_bounds": True}, 100, 150),
    ("tiny-2ag", {"normalised_coordinates": True, "content_bounds": True}, 100, 150),
    ("tiny-4ag", {"layout": "x.x.x\nx.x.x\n.....\nx...x\n..g.g"}, 60, 150),  # a custom layout string
]


@pytest.mark.filterwarnings("ignore:.*precision lowered")  # rware, normalised coordinates
@pytest.mark.parametrize("task,kw,max_steps,steps", CASES)
def test_random_and_biased_actions_match_rware(task, kw, max_steps, steps):
    gen = torch.Generator().manual_seed(sum(map(ord, task)) + len(kw))
    ref, bat = pair(task, 16, max_steps, seed=7, **kw)
    _, ends = run(ref, bat, steps // 2, gen)
    _, more = run(ref, bat, steps - steps // 2, gen, BIASED)
    if max_steps <= steps // 2:
        assert ends + more > 0, "no auto-reset crossed"


@pytest.mark.parametrize("task", RWARE_TASKS)
@pytest.mark.parametrize("content_bounds", [False, True])
@pytest.mark.parametrize("sensor_range", [1, 2, 3])
def test_spec_matches(task, content_bounds, sensor_range):
    ref, bat = pair(task, 1, 50, content_bounds=content_bounds, sensor_range=sensor_range)
    for f in ("name", "n_agents", "obs_dim", "action_type", "action_dim", "max_steps", "has_win"):
        assert getattr(ref.spec, f) == getattr(bat.spec, f)
    for f in ("obs_low", "obs_high", "perturbable"):
        assert torch.equal(getattr(ref.spec, f), getattr(bat.spec, f))


@pytest.mark.parametrize("kw", [{"reward_type": "global"}, {"reward_type": "two_stage"}, {"max_inactivity_steps": 15}])
def test_reward_types_and_inactivity_match(kw):
    gen = torch.Generator().manual_seed(3)
    ref, bat = pair("tiny-4ag", 8, 60, seed=1, **kw)
    _, ends = run(ref, bat, 120, gen, BIASED)
    deliveries(ref, bat, gen, steps=20)
    if "max_inactivity_steps" in kw:
        assert ends > 8 * 2, "inactivity ends expected"


# ----- hand-placed states
def place(w, agents):
    """Put ``w``'s agents at (x, y, direction, loaded); a loaded agent carries the shelf of its
    cell, or a shelf brought from a far cell when it stands on a highway."""
    for a, (x, y, d, _) in zip(w.agents, agents):
        a.x, a.y, a.dir, a.carrying_shelf = x, y, Direction(d), None
    w._recalc_grid()
    cells = {(x, y) for x, y, *_ in agents}
    spare = [s for s in w.shelfs if (s.x, s.y) not in cells and s not in w.request_queue]
    for a, (x, y, _, loaded) in zip(w.agents, agents):
        if loaded:
            sid = w.grid[1, y, x]
            shelf = w.shelfs[sid - 1] if sid else spare.pop()
            shelf.x, shelf.y = x, y
            a.carrying_shelf = shelf
    w._recalc_grid()


def load(ref, bat):
    for b, w in enumerate(ref._envs):
        bat.load_warehouse(b, w, steps=int(ref._steps[b]))
    assert_same_state(ref, bat)


def step_both(ref, bat, actions):
    x, y = ref.step(torch.as_tensor(actions)), bat.step(torch.as_tensor(actions))
    assert_same_step(x, y)
    return [[(a.x, a.y) for a in w.agents] for w in ref._envs], x


R, D, L, U = Direction.RIGHT.value, Direction.DOWN.value, Direction.LEFT.value, Direction.UP.value
F, N, TL, TR, T = 1, 0, 2, 3, 4
SCENARIOS = {  # tiny grid (11 x 10): row 0 and column 0 are highways
    "rotation of 4 (cycle) moves": ([(4, 0, R, 0), (5, 0, D, 0), (5, 1, L, 0), (4, 1, U, 0)], [F, F, F, F]),
    "head-on swap with a tail: nobody moves": ([(3, 0, R, 0), (4, 0, L, 0), (2, 0, R, 0), (6, 0, L, 0)], [F] * 4),
    "chain into a free cell moves": ([(1, 0, R, 0), (2, 0, R, 0), (3, 0, R, 0), (4, 0, R, 0)], [F] * 4),
    "chain into a standing agent stops": ([(1, 0, R, 0), (2, 0, R, 0), (3, 0, R, 0), (4, 0, R, 0)], [F, F, F, N]),
    "longer queue wins a merge": ([(2, 0, R, 0), (4, 0, L, 0), (1, 0, R, 0), (7, 7, U, 0)], [F, F, F, N]),
    "equal queues tie on a merge": ([(2, 0, R, 0), (4, 0, L, 0), (7, 7, U, 0), (0, 5, U, 0)], [F, F, N, N]),
    "four into one cell": ([(3, 3, D, 0), (2, 4, R, 0), (4, 4, L, 0), (3, 5, U, 0)], [F] * 4),
    "loaded into standing shelf cancelled": ([(0, 1, R, 1), (2, 0, D, 1), (6, 0, D, 0), (9, 9, U, 0)], [F, F, F, N]),
    "loaded behind loaded moving": ([(1, 1, U, 1), (1, 2, U, 1), (2, 1, U, 1), (9, 9, U, 0)], [F, F, F, N]),
    "walls and turns": ([(0, 0, U, 0), (9, 0, R, 1), (0, 10, L, 0), (9, 10, D, 1)], [F, F, TL, TR]),
    "load on highway, unload": ([(0, 0, U, 1), (1, 1, U, 1), (2, 2, U, 0), (0, 4, U, 0)], [T, T, T, T]),
}


def test_collision_scenarios_match_rware(monkeypatch):
    calls = []
    monkeypatch.setattr(rb, "networkx_moves", lambda *a: calls.append(a) or networkx_moves(*a))
    ref, bat = pair("tiny-4ag", len(SCENARIOS), 50)
    seeds = list(range(len(SCENARIOS)))
    ref.reset(seeds), bat.reset(seeds)
    for w, (agents, _) in zip(ref._envs, SCENARIOS.values()):
        place(w, agents)
    load(ref, bat)
    acts = [a for _, a in SCENARIOS.values()]
    after, _ = step_both(ref, bat, acts)
    got = dict(zip(SCENARIOS, after))
    assert got["rotation of 4 (cycle) moves"] == [(5, 0), (5, 1), (4, 1), (4, 0)]
    assert got["head-on swap with a tail: nobody moves"][:3] == [(3, 0), (4, 0), (2, 0)]
    assert got["chain into a free cell moves"] == [(2, 0), (3, 0), (4, 0), (5, 0)]
    assert got["chain into a standing agent stops"][:3] == [(1, 0), (2, 0), (3, 0)]
    assert got["longer queue wins a merge"][:3] == [(3, 0), (4, 0), (2, 0)]
    assert sum(p == (3, 0) for p in got["equal queues tie on a merge"]) == 1
    assert sum(p == (3, 4) for p in got["four into one cell"]) == 1
    assert got["loaded into standing shelf cancelled"][:3] == [(0, 1), (2, 0), (6, 1)]
    assert got["loaded behind loaded moving"][:3] == [(1, 0), (1, 1), (2, 0)]
    assert calls, "the tie scenarios went through rware's networkx resolution"
    for _ in range(3):  # and keep going from there
        step_both(ref, bat, torch.randint(5, (len(SCENARIOS), 4)))


def test_queue_behind_the_loser_of_a_merge_stays():
    """8 agents: a queue of 3 beats a queue of 2 for one cell; the loser's queue stays."""
    ref, bat = pair("tiny-8ag", 2, 50)
    ref.reset([0, 1]), bat.reset([0, 1])
    merge = [(3, 0, R, 0), (2, 0, R, 0), (1, 0, R, 0), (5, 0, L, 0), (6, 0, L, 0)]
    rest = [(0, 4, U, 0), (0, 6, U, 0), (9, 9, U, 0)]
    place(ref._envs[0], merge + rest)
    place(ref._envs[1], merge[3:] + merge[:3] + rest)  # the same, agents numbered otherwise
    load(ref, bat)
    after, _ = step_both(ref, bat, [[F] * 5 + [N] * 3] * 2)
    assert after[0][:5] == [(4, 0), (3, 0), (2, 0), (5, 0), (6, 0)]
    assert after[1][:5] == [(5, 0), (6, 0), (4, 0), (3, 0), (2, 0)]


def test_whole_queue_behind_the_loser_of_a_merge_stays():
    """A queue of 4 beats a queue of 3: the loser's second and third agents stay too (each
    agent moves only if every agent ahead of it does, not just the next one)."""
    ref, bat = pair("tiny-8ag", 2, 50)
    ref.reset([0, 1]), bat.reset([0, 1])
    winner = [(3, 0, R, 0), (2, 0, R, 0), (1, 0, R, 0), (0, 0, R, 0)]
    loser = [(5, 0, L, 0), (6, 0, L, 0), (7, 0, L, 0)]
    place(ref._envs[0], winner + loser + [(9, 9, U, 0)])
    place(ref._envs[1], loser + [(9, 9, U, 0)] + winner)  # the same, agents numbered otherwise
    load(ref, bat)
    after, _ = step_both(ref, bat, [[F] * 7 + [N], [F] * 3 + [N] + [F] * 4])
    assert after[0][:7] == [(4, 0), (3, 0), (2, 0), (1, 0), (5, 0), (6, 0), (7, 0)]
    assert after[1][:3] + after[1][4:] == [(5, 0), (6, 0), (7, 0), (4, 0), (3, 0), (2, 0), (1, 0)]


def test_two_stage_return_reward_once_per_delivery():
    """two_stage: an agent that delivered gets 0.5 for putting the shelf down off the highway,
    once; picking it up and putting it down again pays nothing (the flag is cleared)."""
    ref, bat = pair("tiny-2ag", 2, 50, reward_type="two_stage")
    ref.reset([0, 1]), bat.reset([0, 1])
    for w in ref._envs:
        place(w, [(1, 1, U, 1), (5, 0, R, 0)])  # carries the shelf of its (non-highway) cell
    ref._envs[0].agents[0].has_delivered = True
    load(ref, bat)
    rewards = [step_both(ref, bat, [[T, N]] * 2)[1].reward.tolist() for _ in range(3)]  # drop, pick, drop
    assert rewards == [[0.5, 0.0], [0.0, 0.0], [0.0, 0.0]]


def networkx_moves(*a):
    from marl_attacks.envs.rware_rules import networkx_moves as nm

    return nm(*a)


@pytest.mark.parametrize("task,window", [("tiny-4ag", 3), ("tiny-8ag", 4)])
def test_crowded_random_scenarios_match_rware(task, window):
    """Agents packed in a corner of the tiny grid, half loaded, mostly FORWARD: chains, swaps,
    cycles, merges (with 8 agents, queues behind the loser of a merge)."""
    gen, rng = torch.Generator().manual_seed(5), np.random.default_rng(5)
    B = 48
    ref, bat = pair(task, B, 500)
    n = ref.spec.n_agents
    ref.reset(list(range(B))), bat.reset(list(range(B)))
    for w in ref._envs:
        x0, y0 = int(rng.integers(0, 11 - window)), int(rng.integers(0, 12 - window))
        cells = rng.choice(window * window, n, replace=False)
        place(w, [(x0 + c % window, y0 + c // window, int(rng.integers(4)), int(rng.integers(2))) for c in cells])
    load(ref, bat)
    probs = torch.tensor([0.05, 0.7, 0.1, 0.1, 0.05])
    for _ in range(12):
        a = torch.multinomial(probs.expand(B * n, 5), 1, True, generator=gen).view(B, n)
        step_both(ref, bat, a)


def deliveries(ref, bat, gen, steps=10):
    """Loaded agents carrying requested shelves one step from the goals (both goals in some
    envs), FORWARD: deliveries, rewards and request refills; then biased random steps."""
    H = ref._envs[0].grid_size[0]
    for b, w in enumerate(ref._envs):
        goals = w.goals if b % 2 else w.goals[:1]
        agents = [(gx, H - 2, D, 0) for gx, _ in goals]
        others = [(1 + 3 * i, 0, R, 0) for i in range(w.n_agents - len(agents))]
        place(w, agents + others)
        for a, shelf in zip(w.agents, w.request_queue):
            if a.y == H - 2:
                shelf.x, shelf.y = a.x, a.y
                a.carrying_shelf = shelf
        w._recalc_grid()
    load(ref, bat)
    n = ref.spec.n_agents
    _, x = step_both(ref, bat, [[F] * n] * ref.num_envs)
    assert (x.reward > 0).all(), "every env delivered"
    for _ in range(steps):
        step_both(ref, bat, torch.multinomial(BIASED.expand(ref.num_envs * n, 5), 1, True, generator=gen).view(-1, n))


@pytest.mark.parametrize("task", ["tiny-2ag", "tiny-4ag-hard", "small-4ag"])
def test_deliveries_and_request_refills_match_rware(task):
    gen = torch.Generator().manual_seed(11)
    ref, bat = pair(task, 16, 500, seed=2)
    ref.reset(list(range(16))), bat.reset(list(range(16)))
    deliveries(ref, bat, gen, steps=30)


def test_bad_actions_raise():
    env = BatchedRwareEnv("tiny-2ag", 3, "cpu", max_steps=10)
    env.reset([0, 1, 2])
    with pytest.raises(ValueError, match="agent 1.*action 5"):
        env.step(torch.tensor([[0, 0], [0, 5], [0, 0]]))
    with pytest.raises(ValueError, match="agent 0.*action -1"):
        env.step(torch.tensor([[0, 0], [0, 0], [-1, 0]]))
    with pytest.raises(ValueError, match="shape"):
        env.step(torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="agent 0.*1.5"):
        env.step(torch.tensor([[1.5, 0], [0, 0], [0, 0]]))


# ----- scripted work cycles: fetch a requested shelf, deliver it, put it back, fetch the next
TURNS = {  # direction -> (dx, dy), its left and its right
    Direction.UP: ((0, -1), Direction.LEFT, Direction.RIGHT),
    Direction.LEFT: ((-1, 0), Direction.DOWN, Direction.UP),
    Direction.DOWN: ((0, 1), Direction.RIGHT, Direction.LEFT),
    Direction.RIGHT: ((1, 0), Direction.UP, Direction.DOWN),
}


def first_move(w, a, targets):
    """First action of a shortest turn/forward path of agent ``a`` to a cell in ``targets``
    (None when on one; NOOP when none is reachable). A loaded agent avoids shelves."""
    H, W = w.grid_size
    loaded = a.carrying_shelf is not None
    start, seen = (a.x, a.y, a.dir), {}
    frontier = [start]
    while frontier:
        nxt = []
        for s in frontier:
            x, y, d = s
            if (x, y) in targets:
                if s == start:
                    return None
                while seen[s][0] != start:
                    s = seen[s][0]
                return seen[s][1]
            (dx, dy), left, right = TURNS[d]
            fx, fy = x + dx, y + dy
            moves = [((x, y, left), TL), ((x, y, right), TR)]
            if 0 <= fx < W and 0 <= fy < H and not (loaded and w.grid[1, fy, fx]):
                moves.append(((fx, fy, d), F))
            for ns, act in moves:
                if ns not in seen and ns != start:
                    seen[ns] = (s, act)
                    nxt.append(ns)
        frontier = nxt
    return N


def work_cycle_action(w, a):
    """Fetch a requested shelf, carry it to a goal, return it to an empty shelf cell (the
    one it stands on counts), unload; the unload is what random play almost never reaches."""
    if a.carrying_shelf is None:
        move = first_move(w, a, {(s.x, s.y) for s in w.request_queue})
        return T if move is None else move
    if a.carrying_shelf in w.request_queue:
        move = first_move(w, a, {tuple(g) for g in w.goals})
        return N if move is None else move
    H, W = w.grid_size
    empty = {
        (x, y)
        for y in range(H)
        for x in range(W)
        if not w._is_highway(x, y) and (not w.grid[1, y, x] or (x, y) == (a.x, a.y))
    }
    move = first_move(w, a, empty)
    return T if move is None else move


def test_scripted_work_cycles_match_rware():
    """Every agent fetches, delivers, returns and fetches again, on small-4ag (the task whose
    learned victims deliver once per agent): rware and the batched env agree at every step, and
    the cycle is possible (several deliveries per env, delivered shelves unloaded)."""
    ref, bat = pair("small-4ag", 4, 500, seed=0)
    ref.reset([0, 1, 2, 3]), bat.reset([0, 1, 2, 3])
    deliveries, unloads, delivered = 0, 0, set()
    gen = torch.Generator().manual_seed(0)
    for _ in range(500):
        actions = [[work_cycle_action(w, a) for a in w.agents] for w in ref._envs]
        # a random action now and then breaks the jams of agents planning through each other
        jolt = torch.rand(4, 4, generator=gen) < 0.1
        actions = torch.where(jolt, torch.randint(5, (4, 4), generator=gen), torch.tensor(actions))
        carried = [[a.carrying_shelf for a in w.agents] for w in ref._envs]
        requested = [list(w.request_queue) for w in ref._envs]
        _, x = step_both(ref, bat, actions)
        for w, shelves, queue in zip(ref._envs, carried, requested):
            for a, shelf in zip(w.agents, shelves):
                if shelf is not None and shelf in queue and shelf not in w.request_queue:
                    delivered.add(id(shelf))  # its delivery took it off the queue
                unloads += shelf is not None and id(shelf) in delivered and a.carrying_shelf is None
        deliveries += int((x.reward > 0).sum())
    assert deliveries >= 12 and unloads >= 8, (deliveries, unloads)
