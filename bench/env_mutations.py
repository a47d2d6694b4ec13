"""Mutation check of the batched envs' equality tests: break one rule, see the tests fail.

tests/test_lbf_batched.py, tests/test_lbf_spawn.py and tests/test_rware_batched.py say that
the batched LBF and RWARE envs equal lbforaging 2.0.0 and rware 2.0.0 step for step. That
claim is only as good as the tests' power to notice a difference, so each entry of
:data:`MUTATIONS` changes ONE rule of a batched env in a small plausible way (an off-by-one,
a wrong comparison, a dropped condition, a swapped order): an exact source snippet of a file
and its replacement. For each, the script copies ``src/`` into a temporary folder, applies
the replacement there (the working tree is never edited), and runs the mutation's equality
tests on that copy (``pytest -n 0 -x -q``, ``PYTHONPATH`` = the copy), recording

* ``caught``: the tests failed (first failing test noted),
* ``MISSED``: the tests passed - a gap in the equality tests,
* ``broken``: the snippet no longer occurs exactly once in its file (the script refuses to
  run, so it cannot silently rot; tests/test_env_mutations.py checks the same cheaply).

Left out: mutations no test could catch because nothing observable changes (equivalent
mutants). E.g. letting food placement give up after 1001 attempts instead of 1000: when 1000
draws found no free cell, the 1001st finds none either (short of a grid of ~1000 interior cells
with one free), and the reset's generator is not drawn from again, so the run checked it was
missed by every equality test and it was dropped.

Each mutation names the smallest real equality-test selection that covers its rule (the
targeted hand-made states and one to three of the random-play comparisons); ``--full`` runs
the three equality files whole instead. First the unmutated copy must pass every selected test
(baseline), so a failure under a mutation is the mutation's doing. Prints a table (family,
mutation, caught?, seconds) and writes it to bench/env_mutations.md; exit status 1 if a
mutation is missed, 2 if one is broken or a run errors.

    python bench/env_mutations.py                 # all; ~5-10 min on 2 loaded cores
    python bench/env_mutations.py --only lbf-load-strict --no-save
    python bench/env_mutations.py --full          # each mutation against the whole files
"""

from __future__ import annotations

import argparse
import ast
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "env_mutations.md"

LBF = "src/marl_attacks/envs/lbf_batched.py"
SPAWN = "src/marl_attacks/envs/lbf_spawn.py"
RNG = "src/marl_attacks/envs/lbf_rng.py"
RWARE = "src/marl_attacks/envs/rware_batched.py"
RULES = "src/marl_attacks/envs/rware_rules.py"
T_LBF, T_SPAWN, T_RWARE = "tests/test_lbf_batched.py", "tests/test_lbf_spawn.py", "tests/test_rware_batched.py"
EQUALITY_FILES = (T_LBF, T_SPAWN, T_RWARE)
# the equality tests of each file (the others check registries, arguments and limits)
EQUALITY_K = {
    T_LBF: "equals_reference or collecting_all_food or collisions or cooperative or last_food or draws_equal",
    T_SPAWN: "streams or spawner",
    T_RWARE: "match or queue",
}

# the rule families every run must cover (tests/test_env_mutations.py checks each has a mutation)
FAMILIES = (
    "lbf movement/collision",
    "lbf loading",
    "lbf cooperative (-coop)",
    "lbf reward split/normalisation",
    "lbf food removal/episode end",
    "lbf time limit",
    "lbf action masks",
    "lbf observation/sight",
    "lbf reset placement",
    "lbf rng streams",
    "rware movement",
    "rware collision/queues",
    "rware rotation",
    "rware shelf load/unload",
    "rware delivery reward",
    "rware request refill",
    "rware observation/sensor",
    "rware time limit",
    "rware reset",
)


def lbf_case(*ids: str) -> tuple[str, ...]:
    return tuple(f"{T_LBF}::test_batched_lbf_equals_reference[{i}]" for i in ids)


def rware_case(*ids: str) -> tuple[str, ...]:
    return tuple(f"{T_RWARE}::test_random_and_biased_actions_match_rware[{i}]" for i in ids)


def lbf_test(*names: str) -> tuple[str, ...]:
    return tuple(f"{T_LBF}::{n}" for n in names)


def rware_test(*names: str) -> tuple[str, ...]:
    return tuple(f"{T_RWARE}::{n}" for n in names)


@dataclass(frozen=True)
class Mutation:
    name: str
    family: str
    file: str  # relative to the repository root
    old: str  # occurs exactly once in ``file``
    new: str
    tests: tuple[str, ...]  # pytest node ids or files: the equality tests that cover the rule
    what: str  # the rule broken, in words


M = Mutation
MUTATIONS: tuple[Mutation, ...] = (
    # ---------------- LBF: step rules (lbf_batched.py)
    M(
        "lbf-move-two-into-one",
        "lbf movement/collision",
        LBF,
        "alone = (target[:, None] == target[None]).sum(1) == 1",
        "alone = (target[:, None] == target[None]).sum(1) <= 2",
        lbf_test("test_collisions_and_chains") + lbf_case("8x8-2p-3f"),
        "two players aiming at one cell both move (collision ignored for pairs)",
    ),
    M(
        "lbf-move-east-west-swapped",
        "lbf movement/collision",
        LBF,
        "_DC = np.array([0, 0, 0, -1, 1, 0], _INT)",
        "_DC = np.array([0, 0, 0, 1, -1, 0], _INT)",
        lbf_test("test_collisions_and_chains") + lbf_case("8x8-2p-3f"),
        "WEST and EAST move the other way",
    ),
    M(
        "lbf-load-strict",
        "lbf loading",
        LBF,
        "eaten = (group > 0) & (group >= fl)",
        "eaten = (group > 0) & (group > fl)",
        lbf_test("test_cooperative_loading") + lbf_case("8x8-2p-2f-coop"),
        "food needs a level sum above its level, not equal to it",
    ),
    M(
        "lbf-load-diagonal",
        "lbf loading",
        LBF,
        "adj = ((d == 1) | (d == W)) & loading[:, None]",
        "adj = ((d == 1) | (d == W) | (d == W + 1)) & loading[:, None]",
        lbf_test("test_cooperative_loading") + lbf_case("8x8-2p-3f", "10x10-3p-3f"),
        "a player diagonally next to food (one diagonal) counts as adjacent",
    ),
    M(
        "lbf-load-by-idle-neighbours",
        "lbf loading",
        LBF,
        "group = (adj * level[:, None]).sum(0)",
        "group = ((((d == 1) | (d == W))) * level[:, None]).sum(0)",
        lbf_test("test_cooperative_loading") + lbf_case("8x8-2p-2f-coop"),
        "adjacent players' levels count towards a load whether they load or not",
    ),
    M(
        "lbf-coop-levels-dropped",
        "lbf cooperative (-coop)",
        SPAWN,
        "lo = hi if self.force_coop else np.tile(self.fl_lo, (E, 1))",
        "lo = np.tile(self.fl_lo, (E, 1))",
        (f"{T_SPAWN}::test_spawner_places_what_lbforaging_places[2s-8x8-3p-2f-coop]",) + lbf_case("8x8-2p-2f-coop"),
        "-coop tasks draw food levels from the range instead of the sum of the lowest players'",
    ),
    M(
        "lbf-reward-normalised-by-remaining",
        "lbf reward split/normalisation",
        LBF,
        "r_ok = r_ok / (gsum * self._spawned).astype(np.float64)",
        "r_ok = r_ok / (gsum * fl.sum(0)).astype(np.float64)",
        lbf_case("8x8-2p-3f") + lbf_test("test_batched_lbf_episodes_end_by_collecting_all_food"),
        "rewards normalised by the food left instead of the food spawned",
    ),
    M(
        "lbf-reward-not-split",
        "lbf reward split/normalisation",
        LBF,
        "r_ok = (level * food).astype(np.float64)",
        "r_ok = (gsum * food).astype(np.float64)",
        lbf_test("test_cooperative_loading") + lbf_case("8x8-2p-2f-coop"),
        "every loader of a group gets the whole food instead of its level's share",
    ),
    M(
        "lbf-penalty-dropped",
        "lbf reward split/normalisation",
        LBF,
        "np.where(ok, r_ok, 0.0 - self.penalty)",
        "np.where(ok, r_ok, 0.0)",
        lbf_test("test_cooperative_loading") + lbf_case("6x6-2p-2f-coop-penalty"),
        "a failed load costs nothing",
    ),
    M(
        "lbf-eaten-food-stays-on-grid",
        "lbf food removal/episode end",
        LBF,
        "self._field.reshape(-1)[self._base[e] + self._fcell[k, e]] = 0\n",
        "pass  # the eaten food's grid cell is not cleared\n",
        lbf_test("test_last_food_on_the_time_limit_step_is_a_termination") + lbf_case("8x8-2p-3f"),
        "eaten food is kept in the grid (blocks moves, allows LOAD)",
    ),
    M(
        "lbf-end-when-any-food-eaten",
        "lbf food removal/episode end",
        LBF,
        "term = ~fl.any(0)",
        "term = ~fl.all(0)",
        lbf_test("test_last_food_on_the_time_limit_step_is_a_termination")
        + lbf_case("8x8-2p-3f")
        + lbf_test("test_batched_lbf_episodes_end_by_collecting_all_food"),
        "the episode ends when any food is eaten, not all",
    ),
    M(
        "lbf-time-limit-one-late",
        "lbf time limit",
        LBF,
        "trunc = (self._steps >= self.spec.max_steps) & ~term",
        "trunc = (self._steps > self.spec.max_steps) & ~term",
        lbf_test("test_last_food_on_the_time_limit_step_is_a_termination") + lbf_case("8x8-2p-3f"),
        "truncation one step after the limit",
    ),
    M(
        "lbf-time-limit-over-termination",
        "lbf time limit",
        LBF,
        "trunc = (self._steps >= self.spec.max_steps) & ~term",
        "trunc = self._steps >= self.spec.max_steps",
        lbf_test("test_last_food_on_the_time_limit_step_is_a_termination") + lbf_case("8x8-2p-3f"),
        "the last food eaten on the limit step is also a truncation",
    ),
    M(
        "lbf-mask-north-off-grid",
        "lbf action masks",
        LBF,
        "avail[:, 1] = (r > 0) & (up == 0)",
        "avail[:, 1] = (r >= 0) & (up == 0)",
        lbf_case("8x8-2p-3f"),
        "NORTH is valid on the top row (the zero border is not food)",
    ),
    M(
        "lbf-mask-load-misses-east",
        "lbf action masks",
        LBF,
        "avail[:, LOAD] = (up + down + left + right) > 0",
        "avail[:, LOAD] = (up + down + left) > 0",
        lbf_case("8x8-2p-3f"),
        "LOAD is not available with food only to the east",
    ),
    M(
        "lbf-sight-food-row-strict",
        "lbf observation/sight",
        LBF,
        "seen = (np.abs(fy + lo_r - r[:, None]) <= s) & (np.abs(fx + lo_c - c[:, None]) <= s)",
        "seen = (np.abs(fy + lo_r - r[:, None]) < s) & (np.abs(fx + lo_c - c[:, None]) <= s)",
        lbf_case("2s-8x8-2p-2f-coop", "2s-10x10-3p-3f"),
        "food exactly `sight` rows away is out of sight",
    ),
    M(
        "lbf-sight-players-strict",
        "lbf observation/sight",
        LBF,
        "seen = np.maximum(ty.view(np.uint32), tx.view(np.uint32)) <= 2 * s",
        "seen = np.maximum(ty.view(np.uint32), tx.view(np.uint32)) < 2 * s",
        lbf_case("2s-8x8-2p-2f-coop", "2s-10x10-3p-3f"),
        "players on the far edge of the sight window are out of sight",
    ),
    M(
        "lbf-full-sight-threshold",
        "lbf observation/sight",
        LBF,
        "self._full_sight = self.sight >= max(R, C) - 1",
        "self._full_sight = self.sight >= max(R, C) - 2",
        lbf_case("7x9-3p-3f-normalize_reward-observe_agent_levels"),
        "a window one cell short of the grid is taken as the whole grid (grid coordinates)",
    ),
    # ---------------- LBF: reset placement (lbf_spawn.py) and draws (lbf_rng.py, lbf_batched.py)
    M(
        "lbf-spawn-food-distance-1",
        "lbf reset placement",
        SPAWN,
        "np.abs(fc[todo] - x[:, None]) <= 2).any(1)",
        "np.abs(fc[todo] - x[:, None]) <= 1).any(1)",
        (f"{T_SPAWN}::test_spawner_places_what_lbforaging_places",),
        "foods may be placed at Manhattan distance 2 of each other",
    ),
    M(
        "lbf-spawn-player-level-top-excluded",
        "lbf reset placement",
        SPAWN,
        "lo, hi = self.pl_lo[perm], self.pl_hi[perm] + 1",
        "lo, hi = self.pl_lo[perm], self.pl_hi[perm]",
        (f"{T_SPAWN}::test_spawner_places_what_lbforaging_places",),
        "player levels drawn below the maximum level (high end exclusive)",
    ),
    M(
        "lbf-spawn-food-3-lowest-levels",
        "lbf reset placement",
        SPAWN,
        "hi = np.repeat(np.sort(level, 1)[:, :3].sum(1, keepdims=True), F, 1)",
        "hi = np.repeat(np.sort(level, 1)[:, :2].sum(1, keepdims=True), F, 1)",
        (f"{T_SPAWN}::test_spawner_places_what_lbforaging_places",),
        "the food level bound sums the 2 lowest player levels instead of 3",
    ),
    M(
        "lbf-spawn-food-on-player",
        "lbf reset placement",
        SPAWN,
        "free = ~(near | on_player)",
        "free = ~near",
        (f"{T_SPAWN}::test_spawner_places_what_lbforaging_places",),
        "food may be placed on a player's cell",
    ),
    M(
        "lbf-rng-interval-rejects-top",
        "lbf rng streams",
        RNG,
        "redo = np.flatnonzero(v > top)\n",
        "redo = np.flatnonzero(v >= top)\n",
        (f"{T_SPAWN}::test_streams_draw_what_numpy_draws_row_by_row",),
        "the permutation's bounded draw rejects its top value",
    ),
    M(
        "lbf-rng-autoreset-seed-range",
        "lbf rng streams",
        LBF,
        "self._reseed.integers(2**31, size=max(1024, k))",
        "self._reseed.integers(2**32, size=max(1024, k))",
        lbf_case("8x8-2p-3f"),
        "auto-reset seeds drawn below 2**32 instead of 2**31 (another stream than the reference's)",
    ),
    # ---------------- RWARE: step rules (rware_batched.py, rware_rules.py)
    M(
        "rware-move-through-right-wall",
        "rware movement",
        RWARE,
        "tx = np.where(fwd, np.clip(ax + DX[d], 0, W - 1), ax)",
        "tx = np.where(fwd, np.clip(ax + DX[d], 0, W), ax)",
        rware_test("test_collision_scenarios_match_rware") + rware_case("tiny-2ag-kw0-100-300"),
        "FORWARD at the right wall leaves the grid (wraps to the next row)",
    ),
    M(
        "rware-head-on-swap-allowed",
        "rware collision/queues",
        RULES,
        "committed = (cycle == 1) | (cycle >= 3) | (to_free & ok)",
        "committed = (cycle >= 1) | (to_free & ok)",
        rware_test("test_collision_scenarios_match_rware"),
        "two agents facing each other swap cells (a 2-cycle moves)",
    ),
    M(
        "rware-queue-one-ahead-only",
        "rware collision/queues",
        RULES,
        "ok = chosen & np.where(nxt < 0, True, take(ok, nxt))",
        "ok = chosen & np.where(nxt < 0, True, take(chosen, nxt))",
        rware_test("test_queue_behind_the_loser_of_a_merge_stays")
        + rware_test("test_whole_queue_behind_the_loser_of_a_merge_stays"),
        "an agent moves when the agent just ahead was chosen, though one further ahead lost its merge",
    ),
    M(
        "rware-loaded-blocked-by-carried-shelf",
        "rware collision/queues",
        RWARE,
        '& (take(s["shelf_grid"], target) > 0) & ~occupant_carries',
        '& (take(s["shelf_grid"], target) > 0)',
        rware_test("test_collision_scenarios_match_rware", "test_crowded_random_scenarios_match_rware"),
        "a loaded agent cannot follow another loaded agent (its carried shelf taken for a standing one)",
    ),
    M(
        "rware-turns-swapped",
        "rware rotation",
        RULES,
        "right, left = WRAP[(pos + 1) % 4], WRAP[(pos - 1) % 4]",
        "left, right = WRAP[(pos + 1) % 4], WRAP[(pos - 1) % 4]",
        rware_test("test_collision_scenarios_match_rware") + rware_case("tiny-2ag-kw0-100-300"),
        "LEFT turns right and RIGHT turns left",
    ),
    M(
        "rware-unload-on-highway",
        "rware shelf load/unload",
        RWARE,
        "drop = toggle & carrying & ~self._highways.reshape(-1)[here_before]",
        "drop = toggle & carrying",
        rware_test("test_collision_scenarios_match_rware") + rware_case("tiny-2ag-kw0-100-300"),
        "a shelf can be put down on a highway cell",
    ),
    M(
        "rware-toggle-keeps-shelf",
        "rware shelf load/unload",
        RWARE,
        "pick = toggle & ~carrying & (shelf_here > 0)",
        "pick = toggle & (shelf_here > 0)",
        rware_test("test_collision_scenarios_match_rware") + rware_case("tiny-2ag-kw0-100-300"),
        "TOGGLE_LOAD by a loaded agent on a shelf cell picks (keeps) instead of unloading",
    ),
    M(
        "rware-two-stage-flag-kept",
        "rware shelf load/unload",
        RWARE,
        's["delivered"] &= ~drop\n',
        "pass  # the delivered flag is not cleared on unloading\n",
        rware_test("test_two_stage_return_reward_once_per_delivery", "test_reward_types_and_inactivity_match"),
        "two_stage: the 0.5 return reward is paid again for every later unload",
    ),
    M(
        "rware-deliver-unrequested",
        "rware delivery reward",
        RWARE,
        'hit = (sid > 0) & take(s["requested"], sid[:, None] - 1)[:, 0]',
        "hit = sid > 0",
        rware_test("test_deliveries_and_request_refills_match_rware") + rware_case("tiny-4ag-kw1-100-300"),
        "any shelf on a goal is delivered, requested or not",
    ),
    M(
        "rware-reward-wrong-agent",
        "rware delivery reward",
        RWARE,
        'agent = s["agent_grid"][:, goal] - 1',
        'agent = s["agent_grid"][:, goal]',
        rware_test("test_deliveries_and_request_refills_match_rware"),
        "the delivery reward goes to the next agent (agent id off by one)",
    ),
    M(
        "rware-refill-goal-order",
        "rware request refill",
        RWARE,
        "for goal in self._goals:",
        "for goal in reversed(self._goals):",
        rware_test("test_deliveries_and_request_refills_match_rware"),
        "deliveries at both goals in one step draw their refills in the other goal order",
    ),
    M(
        "rware-refill-may-redraw-delivered",
        "rware request refill",
        RWARE,
        'candidates = np.flatnonzero(~s["requested"][b])\n'
        "                new = candidates[self._rngs[b].choice(len(candidates))]\n"
        '                s["requested"][b, sid[b] - 1], s["requested"][b, new] = False, True\n',
        's["requested"][b, sid[b] - 1] = False\n'
        '                candidates = np.flatnonzero(~s["requested"][b])\n'
        '                s["requested"][b, candidates[self._rngs[b].choice(len(candidates))]] = True\n',
        rware_test("test_deliveries_and_request_refills_match_rware"),
        "the delivered shelf is unrequested before the draw, so it is a candidate of the refill",
    ),
    M(
        "rware-sensor-right-edge",
        "rware observation/sensor",
        RULES,
        "inside = (wy >= 0) & (wy < H) & (wx >= 0) & (wx < W)",
        "inside = (wy >= 0) & (wy < H) & (wx >= 0) & (wx <= W)",
        rware_case("tiny-4ag-kw6-100-200", "tiny-4ag-kw7-100-200"),
        "the sensor sees one column past the right wall (the next row's first cell)",
    ),
    M(
        "rware-sensor-window-transposed",
        "rware observation/sensor",
        RULES,
        'np.arange(-r, r + 1), indexing="ij")',
        'np.arange(-r, r + 1), indexing="xy")',
        rware_case("tiny-2ag-kw0-100-300", "tiny-4ag-kw6-100-200"),
        "sensor cells listed column-major instead of row-major",
    ),
    M(
        "rware-time-limit-one-late",
        "rware time limit",
        RWARE,
        "at_limit = self._steps >= self.spec.max_steps",
        "at_limit = self._steps > self.spec.max_steps",
        rware_case("tiny-2ag-kw0-100-300"),
        "truncation one step after the limit",
    ),
    M(
        "rware-inactivity-one-late",
        "rware time limit",
        RWARE,
        "env_done |= self._inactive >= self._inactivity",
        "env_done |= self._inactive > self._inactivity",
        rware_test("test_reward_types_and_inactivity_match"),
        "the inactivity end one step late",
    ),
    M(
        "rware-reset-draw-order",
        "rware reset",
        RWARE,
        "locs = rng.choice(np.arange(H * W), size=n, replace=False)\n"
        '        s["ay"][b], s["ax"][b] = locs // W, locs % W\n'
        '        s["dir"][b] = rng.choice(4, size=n)  # rware: choice over the 4 Directions\n',
        's["dir"][b] = rng.choice(4, size=n)  # rware: choice over the 4 Directions\n'
        "        locs = rng.choice(np.arange(H * W), size=n, replace=False)\n"
        '        s["ay"][b], s["ax"][b] = locs // W, locs % W\n',
        rware_case("tiny-2ag-kw0-100-300"),
        "directions drawn before cells at reset",
    ),
)


def check(mutations=MUTATIONS, root: Path = ROOT) -> list[str]:
    """Problems that make a mutation unusable: its snippet not exactly once in its file, no
    change, a mutated file that does not parse, a duplicate name, an unknown family."""
    problems, names = [], set()
    for m in mutations:
        if m.name in names:
            problems.append(f"{m.name}: duplicate name")
        names.add(m.name)
        if m.family not in FAMILIES:
            problems.append(f"{m.name}: unknown family {m.family!r}")
        path = root / m.file
        text = path.read_text() if path.exists() else ""
        count = text.count(m.old)
        if count != 1:
            problems.append(f"{m.name}: snippet occurs {count} times in {m.file} (must be once): {m.old!r}")
            continue
        if m.old == m.new:
            problems.append(f"{m.name}: the replacement changes nothing")
        try:
            ast.parse(text.replace(m.old, m.new))
        except SyntaxError as e:
            problems.append(f"{m.name}: mutated {m.file} does not parse: {e}")
        for t in m.tests:
            file, _, name = t.partition("::")
            if not (root / file).exists():
                problems.append(f"{m.name}: test file of {t} not found")
            elif name and name.split("[")[0] not in test_names(root / file):
                problems.append(f"{m.name}: no test {name.split('[')[0]} in {file}")
    return problems


def test_names(path: Path) -> set[str]:
    return {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}


def pytest_args(m: Mutation | None, full: bool) -> list[str]:
    """The tests a mutation runs: its own selection, or (``full``) every equality test of its
    env's files (``m`` None: of all three files, the baseline)."""
    if m is not None and not full:
        return list(m.tests)
    files = EQUALITY_FILES if m is None else (T_RWARE,) if m.family.startswith("rware") else (T_LBF, T_SPAWN)
    # one -k for all files: each file's expression matches none of the other files' test names
    return [*files, "-k", " or ".join(f"({EQUALITY_K[f]})" for f in files)]


def run_pytest(src: Path, args: list[str], timeout: float) -> tuple[int | None, str, float]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-n", "0", "-x", "-q", "-p", "no:cacheprovider", *args]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out, time.perf_counter() - t0


def fresh_src(tmp: Path, m: Mutation | None) -> Path:
    """A copy of ``src/`` under ``tmp`` with ``m`` applied (no bytecode caches copied)."""
    dst = tmp / "src"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(ROOT / "src", dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    if m is not None:
        path = tmp / m.file
        path.write_text(path.read_text().replace(m.old, m.new, 1))
    return dst


def imported_from(src: Path) -> str:
    """Where the subprocesses import ``marl_attacks`` from (must be the copy)."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    code = "import marl_attacks.envs.lbf_batched as m; print(m.__file__)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip()


def first_failure(output: str) -> str:
    hit = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return hit.group(1).split("/")[-1] if hit else ""


def git_head() -> str:
    p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src", "tests"], cwd=ROOT, capture_output=True, text=True)
    return p.stdout.strip() + (" (src/tests modified)" if dirty.stdout.strip() else "")


def table(rows: list[dict]) -> str:
    lines = ["| family | mutation | rule broken | caught? | first failing test | s |", "|---|---|---|---|---|---:|"]
    for r in rows:
        lines.append(f"| {r['family']} | `{r['name']}` | {r['what']} | {r['status']} | {r['by']} | {r['s']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", metavar="NAME", help="run these mutations only")
    p.add_argument("--full", action="store_true", help="each mutation against every equality test of its env's files")
    p.add_argument("--no-baseline", action="store_true", help="skip the unmutated run (only while iterating)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per pytest run (a hang counts as caught)")
    p.add_argument("--no-save", action="store_true", help=f"print only; leave {OUT.relative_to(ROOT)} alone")
    a = p.parse_args()
    problems = check()
    if problems:  # loudly: a stale snippet would otherwise test nothing
        print("BROKEN mutations (snippet no longer matches the source):", *problems, sep="\n  ", file=sys.stderr)
        return 2
    chosen = [m for m in MUTATIONS if not a.only or m.name in a.only]
    if a.only and len(chosen) != len(set(a.only)):
        print(f"unknown names in --only: {sorted(set(a.only) - {m.name for m in MUTATIONS})}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="env-mutations-") as tmp:
        tmp = Path(tmp)
        src = fresh_src(tmp, None)
        where = imported_from(src)
        if not where.startswith(str(src)):
            print(f"the tests would import marl_attacks from {where!r}, not the copy {src}", file=sys.stderr)
            return 2
        if not a.no_baseline:
            rc, out, s = run_pytest(src, pytest_args(None, True), a.timeout)
            print(f"baseline (unmutated, every equality test): rc {rc}, {s:.0f} s", flush=True)
            if rc != 0:
                print(out[-4000:], file=sys.stderr)
                print("the unmutated copy fails its equality tests: nothing to measure", file=sys.stderr)
                return 2
        for m in chosen:
            src = fresh_src(tmp, m)
            rc, out, s = run_pytest(src, pytest_args(m, a.full), a.timeout)
            status = {0: "MISSED", 1: "caught", None: "caught (timed out)"}.get(rc, f"error (pytest rc {rc})")
            row = dict(name=m.name, family=m.family, what=m.what, status=status, by=first_failure(out), s=s)
            rows.append(row)
            print(f"{m.family:32s} {m.name:40s} {status:10s} {s:6.1f} s  {row['by']}", flush=True)
            if status.startswith("error"):
                print(out[-3000:], file=sys.stderr)
    missed = [r["name"] for r in rows if r["status"] == "MISSED"]
    errors = [r["name"] for r in rows if r["status"].startswith("error")]
    caught = sum(r["status"].startswith("caught") for r in rows)
    total = time.perf_counter() - t_start
    summary = f"{caught} of {len(rows)} mutations caught, {len(missed)} missed, {len(errors)} errors"
    summary += f"; {total:.0f} s in all"
    body = table(rows)
    print("\n" + body + "\n\n" + summary)
    if not a.no_save:
        selection = "every equality test of its env's files" if a.full else "the mutation's own selection"
        machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
        run = f"{datetime.datetime.now():%Y-%m-%d %H:%M}, code {git_head()}, {machine}"
        run += f", load average {os.getloadavg()[0]:.1f} at the end"
        run += ", baseline skipped" if a.no_baseline else ", baseline (unmutated) passed"
        run += f", mutations: {' '.join(a.only)}" if a.only else ""
        OUT.write_text(
            "# Mutation check of the batched envs' equality tests\n\n"
            "Written by `bench/env_mutations.py` (see its docstring): each row breaks one rule of a batched env\n"
            f"in a temporary copy of `src/` and runs that rule's equality tests (`pytest -n 0 -x -q`, {selection}).\n\n"
            f"Run {run}.\n\n{body}\n\n{summary}\n"
        )
    return 2 if errors else 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
