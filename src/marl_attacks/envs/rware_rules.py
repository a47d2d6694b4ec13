"""The Multi-Robot Warehouse's step rules on arrays over many instances (see :mod:`.rware_batched`).

Collision resolution. rware 2.0 (``Warehouse.step``) draws one edge per agent in a
graph of cells, from its cell to the cell it asks for (itself when it does not move
forward, hits a wall, or carries a shelf towards a standing shelf), then takes each
weakly connected component: a component with a cycle lets exactly the agents on the
cycle move, except a 2-cycle (a head-on swap), which lets no agent move; a component
without a cycle (a tree of queues ending in a free cell) lets the agents of its
longest path move (``networkx.dag_longest_path``). Every agent has one out-edge, so
each component holds one cycle or ends in one free cell, and :func:`resolve_moves`
computes the same outcome with pointer jumping over the agents: cycle lengths from
following "the agent standing on my target" n times, queue heights (the longest
queue behind each agent) and, at each cell, the competitor with the tallest queue.

Ties. When two queues of the same height compete for a cell, networkx picks the
predecessor that comes first in a node iteration order that depends on Python's
set layout (the hashes of the cell tuples) or on the graph's insertion order. That
order is not re-derived here: the (rare) instances with such a tie are resolved by
:func:`networkx_moves`, which runs rware's own graph code on that instance's cells,
so the outcome is rware's by construction. This is the one per-instance loop of the
step besides the request refill draws. Measured with random actions at B = 1024: ties
in 0.01% (tiny-2ag) to 0.08% (tiny-4ag) of instance steps, about 0.26 ms each, under
1 tie per batch step, a few percent of the step time. (Re-deriving networkx's order on
arrays means emulating CPython's set table for the component's cells twice, BFS order
included: feasible, but slower than these few calls at such rates.)
"""

from __future__ import annotations

import numpy as np

DY = np.array([-1, 1, 0, 0])  # by direction: UP, DOWN, LEFT, RIGHT (rware's Direction values)
DX = np.array([0, 0, -1, 1])
WRAP = np.array([0, 3, 1, 2])  # rware's turning order: UP, RIGHT, DOWN, LEFT
WRAP_POS = np.array([0, 2, 3, 1])  # position of each direction in WRAP

NOOP, FORWARD, LEFT, RIGHT, TOGGLE_LOAD = range(5)
_EYE = np.eye(4, dtype=np.float32)
# the 7 observation bits of a sensor cell by (agent code, shelf code): agent code 0 for no agent
# (direction bits [1, 0, 0, 0]) or 1 + its direction; shelf code 0 none, 1 shelf, 2 requested shelf
_CELL = np.array([[a > 0, *(_EYE[max(a - 1, 0)]), s > 0, s == 2] for a in range(5) for s in range(3)], dtype=np.float32)


def take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[b, idx[b, ...]]`` for every row ``b`` (negative ``idx`` read column 0)."""
    rows = np.arange(idx.shape[0]).reshape((-1,) + (1,) * (idx.ndim - 1)) * a.shape[1]
    return a.reshape(-1)[rows + np.maximum(idx, 0)]


def turn(direction: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Directions after LEFT / RIGHT turns (other actions keep the direction)."""
    pos = WRAP_POS[direction]
    right, left = WRAP[(pos + 1) % 4], WRAP[(pos - 1) % 4]
    return np.where(actions == RIGHT, right, np.where(actions == LEFT, left, direction))


def resolve_moves(start: np.ndarray, target: np.ndarray, agent_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which agents move, and which instances have a tie that needs :func:`networkx_moves`.

    ``start``, ``target``: ``[B, n]`` flat cell indices (target == start for agents that do
    not ask to move); ``agent_grid``: ``[B, cells]`` agent index + 1 on each cell, 0 if free.
    """
    B, n = start.shape
    me = np.arange(n)[None, :]
    moving = target != start
    nxt = np.where(moving, take(agent_grid, target) - 1, me)  # agent on my target, -1 if free
    # cycle length of each agent (0: not on a cycle); after n + 1 jumps, -1 means "ends in a free cell"
    cycle = np.zeros((B, n), np.int64)
    p = nxt
    for k in range(1, n + 1):
        cycle = np.where((p == me) & (cycle == 0), k, cycle)
        p = np.where(p >= 0, take(nxt, p), -1)
    to_free = p < 0
    # height: the longest queue of agents behind (and including) each agent that ends in a free cell
    behind = (nxt[:, None, :] == me[:, :, None]) & to_free[:, None, :]  # [B, i, j]: j moves onto i
    height = to_free.astype(np.int64)
    for _ in range(n):
        height = np.where(to_free, 1 + (behind * height[:, None, :]).max(2), 0)
    # competitors for the same cell: the tallest queue wins; equal tallest queues are a tie
    rivals = (target[:, :, None] == target[:, None, :]) & to_free[:, None, :] & to_free[:, :, None]
    best = (rivals * height[:, None, :]).max(2)
    n_best = (rivals & (height[:, None, :] == best[:, :, None])).sum(2)
    chosen = to_free & (height == best)
    tie = (chosen & (n_best > 1)).any(1)
    # an agent of a tree moves if it and every agent ahead of it were chosen (the longest path)
    ok = chosen
    for _ in range(n):
        ok = chosen & np.where(nxt < 0, True, take(ok, nxt))
    committed = (cycle == 1) | (cycle >= 3) | (to_free & ok)
    return moving & committed, tie


def networkx_moves(starts: list, targets: list) -> np.ndarray:
    """rware's own resolution for one instance: ``starts``, ``targets`` as (x, y) tuples.

    A copy of the graph part of ``Warehouse.step`` (rware 2.0.0), same calls in the same order.
    """
    import networkx as nx

    at = {s: i for i, s in enumerate(starts)}
    G = nx.DiGraph()
    for s, t in zip(starts, targets):
        G.add_edge(s, t)
    committed = set()
    for comp in [G.subgraph(c).copy() for c in nx.weakly_connected_components(G)]:
        try:
            cycle = nx.algorithms.find_cycle(comp)
            if len(cycle) == 2:
                continue
            committed |= {at[e[0]] for e in cycle if e[0] in at}
        except nx.NetworkXNoCycle:
            committed |= {at[v] for v in nx.algorithms.dag_longest_path(comp) if v in at}
    return np.array([i in committed and s != t for i, (s, t) in enumerate(zip(starts, targets))])


def window_offsets(r: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-major (dy, dx) offsets of the (2r+1)^2 sensor window, rware's order."""
    dy, dx = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1), indexing="ij")
    return dy.reshape(-1), dx.reshape(-1)


def observe(state: dict, shape: tuple[int, int], highways: np.ndarray, r: int, normalised: bool) -> np.ndarray:
    """Flattened rware observations ``[b, n, d]`` (float32) of the instances in ``state``.

    ``state`` holds rows of: ``ax, ay, dir, carry`` ``[b, n]``, ``agent_grid, shelf_grid``
    ``[b, cells]`` and ``requested`` ``[b, shelves]``.
    """
    H, W = shape
    ax, ay, direction = state["ax"], state["ay"], state["dir"]
    b, n = ax.shape
    dy, dx = window_offsets(r)
    K = len(dy)
    out = np.empty((b, n, 8 + 7 * K), np.float32)
    if normalised:
        out[..., 0], out[..., 1] = ax / (W - 1), ay / (H - 1)
    else:
        out[..., 0], out[..., 1] = ax, ay
    out[..., 2] = state["carry"] >= 0
    out[..., 3:7] = _EYE[direction]
    out[..., 7] = highways.reshape(-1)[ay * W + ax]
    wy, wx = ay[..., None] + dy, ax[..., None] + dx  # [b, n, K]
    inside = (wy >= 0) & (wy < H) & (wx >= 0) & (wx < W)
    cell = np.where(inside, wy * W + wx, 0)
    aid = np.where(inside, take(state["agent_grid"], cell), 0)
    sid = np.where(inside, take(state["shelf_grid"], cell), 0)
    agent_code = np.where(aid > 0, 1 + take(direction, aid - 1), 0)
    shelf_code = np.where(sid > 0, 1 + take(state["requested"], sid - 1), 0)
    out[..., 8:] = _CELL[agent_code * 3 + shelf_code].reshape(b, n, 7 * K)
    return out
