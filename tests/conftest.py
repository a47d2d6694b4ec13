"""Shared fixtures: tiny specs, a random victim and a fitted f_theta for attack tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from marl_attacks.envs import EnvSpec

ROOT = Path(__file__).resolve().parents[1]

# Tests use tiny networks, for which one intra-op thread is fastest; more threads only
# contend (badly so on a shared machine).
torch.set_num_threads(1)


def random_spec(
    seed: int,
    n_agents: int | None = None,
    obs_dim: int | None = None,
    bounded: bool | None = None,
    discrete: bool = True,
) -> EnvSpec:
    """A random observation layout: sizes, finite or infinite bounds, ID dims at random places."""
    g = torch.Generator().manual_seed(seed)
    n = n_agents or int(torch.randint(2, 6, (1,), generator=g))
    d = obs_dim or int(torch.randint(2, 40, (1,), generator=g))
    bounded = bool(torch.rand(1, generator=g) < 0.5) if bounded is None else bounded
    if bounded:
        low = -torch.rand(n, d, generator=g) * 2
        high = low + 0.05 + torch.rand(n, d, generator=g) * 3
    else:
        low = torch.full((n, d), -float("inf"))
        high = torch.full((n, d), float("inf"))
    perturbable = torch.rand(n, d, generator=g) > 0.3
    perturbable[:, 0] = True  # at least one perturbable dimension
    return EnvSpec(
        name=f"random-{seed}",
        n_agents=n,
        obs_dim=d,
        obs_low=low,
        obs_high=high,
        perturbable=perturbable,
        action_type="discrete" if discrete else "continuous",
        action_dim=5 if discrete else 2,
        max_steps=10,
    )


def random_obs(spec: EnvSpec, batch: int, seed: int) -> torch.Tensor:
    """Observations inside the spec's bounds (some exactly on a bound)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(batch, spec.n_agents, spec.obs_dim, generator=g)
    low, high = spec.obs_low, spec.obs_high
    finite = torch.isfinite(low) & torch.isfinite(high)
    u = torch.rand(batch, spec.n_agents, spec.obs_dim, generator=g)
    inside = low + u * (high - low)
    obs = torch.where(finite, inside, base)
    # put a few entries exactly on the bounds, where clipping matters most
    on_low = (torch.rand(obs.shape, generator=g) < 0.1) & finite
    return torch.where(on_low, low.expand_as(obs), obs)


def pytest_collection_modifyitems(items):
    """Test files with end-to-end (``slow``) tests first, each file's tests kept together and in order.

    With ``-n`` (pyproject's addopts) each file goes to one worker in this order: the files that run
    Snakemake for minutes start at once, side by side, instead of last on one worker while the others
    idle. Every worker collects and sorts the same way, as pytest-xdist requires."""
    slow_files = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_files)  # stable: order kept within


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny networks gain nothing from more, and on a shared 2-core machine
    torch's spinning worker threads slowed the learning tests up to 8x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def root() -> Path:
    return ROOT


class Crash(RuntimeError):
    """Raised by :func:`crash_after`: a job killed mid-training."""


def crash_after(env, n_steps):
    """Make ``env.step`` fail on call ``n_steps + 1``, like a killed job."""
    real, calls = env.step, [0]

    def step(actions):
        calls[0] += 1
        if calls[0] > n_steps:
            raise Crash
        return real(actions)

    env.step = step
    return env


def job(env: dict, algo: str = "mappo", seed: int = 0, *, victim_actions: str | None = "greedy", **fields) -> dict:
    """A stage's parameter dict in the shape :mod:`marl_attacks.config` builds it, from a test's
    tiny settings: ``env`` (name, max_steps, kwargs; with ``victim_actions`` unless it is None, as
    for training), the victim, ``fields`` (e.g. ``collect=...``, ``expect_policy=...``), base seed 0
    and the CPU. Expectations default to None (no provenance check)."""
    env_block = dict(env) if victim_actions is None else {**env, "victim_actions": victim_actions}
    defaults = {"expect_policy": None, "expect_samples": None, "expect_align": {}}
    return {
        "victim": {"env": env["name"], "algo": algo, "seed": seed},
        "env_block": env_block,
        **defaults,
        **fields,
        "base_seed": 0,
        "device": "cpu",
    }


def tiny_pipeline(d: Path, env: dict, mappo: dict, collect: dict, fit: dict, evaluate: dict) -> dict:
    """Train, score, collect, fit, evaluate and summarise one tiny victim in folder ``d`` with the
    stages, as the workflow calls them; returns the paths of what they wrote."""
    from marl_attacks.reporting.summary import run_summary
    from marl_attacks.stages import collect as collect_stage
    from marl_attacks.stages import evaluate as evaluate_stage
    from marl_attacks.stages import fit as fit_stage
    from marl_attacks.stages import score, train

    names = dict(
        policy="policy.pt",
        curve="curve.csv",
        samples="samples.pt",
        model="mlp.pt",
        rows="eval.csv",
        cost="cost.csv",
        score="score.json",
        summary="summary.csv",
    )
    p = {k: str(d / v) for k, v in names.items()}
    train.run(
        job(env, victim_actions=None, algo_cfg=mappo), policy_out=p["policy"], curve_out=p["curve"], progress=False
    )
    collect_stage.run(job(env, collect=collect), policy=p["policy"], out=p["samples"], progress=False)
    fit_stage.run(job(env, fit=fit), samples=p["samples"], out=p["model"], progress=False)
    evaluate_stage.run(
        job(env, evaluate=evaluate, attacks={}),
        policy=p["policy"],
        align={"mlp": p["model"]},
        rows_out=p["rows"],
        cost_out=p["cost"],
        progress=False,
    )
    score.run(job(env, episodes=evaluate["episodes"]), policy=p["policy"], out=p["score"])
    run_summary([p["rows"]], p["summary"], {"bootstrap_samples": 50, "ci": 0.95, "seed": 0})
    return p
