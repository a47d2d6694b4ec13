"""Attack your own team (``marl_attacks.team``): the PettingZoo and VMAS wrappers, the adapters that
put a team's env behind the batched interface, the example, the README and the command line."""

import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT

from marl_attacks.rollout import run_episodes
from marl_attacks.team import AttackedParallelEnv, AttackedVmasEnv, ParallelEnvAdapter, VmasEnvAdapter

TINY_FIT = dict(hidden=16, layers=1, epochs=2)


def spread(max_cycles=8):
    from mpe2 import simple_spread_v3

    return simple_spread_v3.parallel_env(N=3, max_cycles=max_cycles)


def rollout(env, seed, steps=None):
    """Observations of one episode with fixed actions (agent k takes action k + 1)."""
    obs, _ = env.reset(seed=seed)
    seen = [obs]
    while env.agents:
        obs, *_ = env.step({a: k + 1 for k, a in enumerate(env.possible_agents)})
        seen.append(obs)
    return seen


def test_pettingzoo_wrapper_perturbs_only_attacked_agents_within_eps():
    clean = rollout(spread(), seed=3)
    env = AttackedParallelEnv(spread(), attack="hadamard", eps=0.2, attacked=["agent_1"])
    attacked = rollout(env, seed=3)
    assert len(attacked) == len(clean)
    for c, a in zip(clean, attacked):
        assert np.array_equal(c["agent_0"], a["agent_0"]) and np.array_equal(c["agent_2"], a["agent_2"])
        diff = np.abs(a["agent_1"] - c["agent_1"])
        assert diff.max() <= 0.2 + 1e-6 and diff.max() > 0.19
        assert a["agent_1"].dtype == c["agent_1"].dtype


def test_pettingzoo_records_benign_samples_and_fits_f_theta():
    env = AttackedParallelEnv(spread(max_cycles=6), attack="align-rnn", eps=0.1)
    with pytest.raises(RuntimeError, match="fit_alignment"):
        env.reset(seed=0)
    assert env.collect(episodes=3, seed=5) == 3 * 6  # every step agents act on, not the final one
    s = env.samples()
    assert s["obs"].shape == (18, 3, 18)
    key = s["episode"] * 100 + s["step"]
    assert torch.all(key[1:] > key[:-1]) and s["step"].max() == 5
    # the attack was off while recording: the samples are the clean observations
    clean = rollout(spread(max_cycles=6), seed=5)
    assert torch.equal(s["obs"][0], torch.as_tensor(np.stack([clean[0][a] for a in env.possible_agents])))
    stats = env.fit_alignment(**TINY_FIT, lstm_hidden=4)
    assert len(stats["val_mse"]) == 3 and "rnn" in env.attacker.align_models
    attacked = rollout(env, seed=5)
    delta = max(np.abs(attacked[t][a] - clean[t][a]).max() for t in range(len(clean)) for a in clean[t])
    assert 0 < delta <= 0.1 + 1e-6


def test_targeted_attack_in_wrapper_chooses_its_agents():
    env = AttackedParallelEnv(spread(), attack="targeted-hadamard", eps=0.3, attacked=["agent_0"])
    env.collect(episodes=2)
    env.fit_alignment(**TINY_FIT)
    best = int(torch.argmin(env.attacker.align_models["mlp"].val_mse))
    env.reset(seed=1)
    touched = env.attacker.last_delta[0].abs().amax(-1) > 0
    assert touched.tolist() == [k == best for k in range(3)]


def vmas_env(num_envs=3, max_steps=5, **flags):
    import vmas

    return vmas.make_env(
        "balance", num_envs=num_envs, max_steps=max_steps, continuous_actions=False, seed=0, n_agents=3, **flags
    )


def test_vmas_wrapper_perturbs_and_reset_at_keeps_other_episodes():
    env = AttackedVmasEnv(vmas_env(), attack="noise-ou", eps=0.2)
    obs = env.reset()
    assert len(obs) == 3 and obs[0].shape[0] == 3
    for _ in range(2):
        obs, rews, dones, info = env.step(env.get_random_actions())
        delta = env.attacker.last_delta
        assert 0 < delta.abs().max() <= 0.2 + 1e-6
    before_obs = torch.stack(obs, 1).clone()
    state_before = env.attacker._attack.state.clone()
    obs = env.reset_at(1)
    after = torch.stack(obs, 1)
    # other episodes: same observations as returned by step, attack state untouched
    assert torch.equal(after[[0, 2]], before_obs[[0, 2]])
    assert torch.equal(env.attacker._attack.state[[0, 2]], state_before[[0, 2]])
    assert not torch.equal(after[1], before_obs[1])
    # the restarted episode's OU state starts again from zero: one step of it
    assert env.attacker._attack.state[1].abs().max() <= 0.2 * (0.15 + 0.2 * 6)


def test_vmas_collect_records_live_steps_and_fits():
    env = AttackedVmasEnv(vmas_env(num_envs=2, max_steps=4), attack="align-mlp", eps=0.05)
    n = env.collect(steps=10)
    s = env.samples()
    assert n == len(s["obs"]) and s["obs"].shape[1:] == (3, env.attacker.spec.obs_dim)
    assert s["step"].max() <= 3  # 4-step episodes: steps 0..3 are acted on
    env.fit_alignment(**TINY_FIT)
    env.reset()
    out = env.step(env.get_random_actions())
    assert 0 < env.attacker.last_delta.abs().max() <= 0.05 + 1e-6 and len(out) == 4


# ---- adapters: a team's env behind the batched interface, stepped by run_episodes ----------------


def fixed_action(t, k, b, n_actions):
    """The action of agent k in episode b at step t: different per step, agent and episode."""
    return (t + 2 * k + b) % n_actions


def fixed_actions(n_actions):
    """``act(obs, avail)`` for run_episodes taking :func:`fixed_action` (it counts the steps)."""
    t = [0]

    def act(obs, avail=None):
        B, n = obs.shape[:2]
        out = torch.tensor([[fixed_action(t[0], k, b, n_actions) for k in range(n)] for b in range(B)])
        t[0] += 1
        return out

    return act


def test_pettingzoo_adapter_matches_stepping_the_env_by_hand():
    seeds = [3, 11]
    env = ParallelEnvAdapter([spread(max_cycles=6) for _ in seeds], seed=0)
    assert (env.num_envs, env.spec.n_agents, env.spec.obs_dim, env.spec.max_steps) == (2, 3, 18, 6)
    assert env.agent_names == ["agent_0", "agent_1", "agent_2"]
    res = run_episodes(env, fixed_actions(5), seeds, record=True)
    assert res.lengths.tolist() == [6, 6] and len(res.observations) == 6
    for b, seed in enumerate(seeds):
        by_hand = spread(max_cycles=6)
        obs, _ = by_hand.reset(seed=seed)
        ret, t = 0.0, 0
        while by_hand.agents:
            joint = np.stack([obs[a] for a in by_hand.possible_agents])
            assert np.array_equal(res.observations[t][b].numpy(), joint), (b, t)
            obs, r, *_ = by_hand.step({a: fixed_action(t, k, b, 5) for k, a in enumerate(by_hand.possible_agents)})
            ret += sum(r.values())
            t += 1
        assert t == 6
        assert float(res.returns[b]) == pytest.approx(ret, rel=1e-5)
    # MPE's end at max_cycles is a truncation, and ended episodes restart
    env.reset(seeds)
    act = fixed_actions(5)
    steps = [env.step(act(torch.zeros(2, 3, 1))) for _ in range(6)]
    assert not any(s.truncated.any() or s.terminated.any() for s in steps[:5])
    assert steps[-1].truncated.all() and not steps[-1].terminated.any()
    assert not torch.equal(steps[-1].obs, steps[-1].final_obs)


def test_adapters_refuse_a_bad_action_naming_agent_and_value():
    """A team's env behind an adapter is checked like the package's own (envs.base.check_actions)."""
    for env in (ParallelEnvAdapter([spread(max_cycles=6) for _ in range(2)], seed=0), VmasEnvAdapter(vmas_env(2))):
        env.reset([0, 1])
        n, k = env.spec.n_agents, env.spec.action_dim
        bad = torch.zeros(2, n, dtype=torch.long)
        bad[1, 2] = k
        with pytest.raises(ValueError, match=rf"agent 2 \(episode 1\) got action {k}; actions are 0..{k - 1}"):
            env.step(bad)
        with pytest.raises(ValueError, match="shape"):
            env.step(torch.zeros(2, n - 1, dtype=torch.long))


def vmas_by_hand(seeds, act, **flags):
    """Per-step joint observations and team returns of VMAS balance episodes stepped by hand."""
    env = vmas_env(num_envs=len(seeds), max_steps=5, **flags)
    for b, s in enumerate(seeds):  # each episode seeded on its own, as the pipeline does
        env.seed(s)
        obs = env.reset_at(b)
    names = [a.name for a in env.agents]
    per_agent = lambda x: [x[a] for a in names] if isinstance(x, dict) else list(x)
    seen, returns = [], torch.zeros(len(seeds))
    alive = torch.ones(len(seeds), dtype=torch.bool)
    for _ in range(5):
        joint = torch.stack(per_agent(obs), 1)
        seen.append(joint)
        acts = act(joint)
        out = env.step([acts[:, k] for k in range(acts.shape[1])])
        obs = out[0]
        returns += torch.stack(per_agent(out[1]), 1).sum(1) * alive
        done = out[2] | out[3] if flags.get("terminated_truncated") else out[2]
        alive &= ~done
    return seen, returns, alive


@pytest.mark.parametrize("flags", [{}, {"dict_spaces": True, "terminated_truncated": True}])
def test_vmas_adapter_matches_stepping_the_env_by_hand(flags):
    seeds = [5, 6, 7]
    env = VmasEnvAdapter(vmas_env(num_envs=3, max_steps=5, **flags))
    assert (env.num_envs, env.spec.n_agents, env.spec.max_steps, env.spec.action_dim) == (3, 3, 5, 9)
    res = run_episodes(env, fixed_actions(9), seeds, record=True)
    seen, returns, alive = vmas_by_hand(seeds, fixed_actions(9), **flags)
    assert not alive.any() and res.lengths.max() == 5
    for t, (obs, live) in enumerate(zip(res.observations, res.alive_masks)):
        assert torch.equal(obs[live], seen[t][live]), t
    assert torch.allclose(res.returns, returns)
    assert not torch.equal(res.observations[0][0], res.observations[0][1])  # the seeds matter
    # the time limit is a truncation (either done flag of VMAS), and ended episodes restart
    env.reset(seeds)
    act = fixed_actions(9)
    steps = [env.step(act(torch.zeros(3, 3, 1))) for _ in range(5)]
    assert not any(s.truncated.any() or s.terminated.any() for s in steps[:4])
    assert steps[-1].truncated.all() and not steps[-1].terminated.any()
    assert not torch.equal(steps[-1].obs, steps[-1].final_obs)


def test_old_module_is_gone():
    assert importlib.util.find_spec("marl_attacks.wrappers") is None


def run_python(code_or_path, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, str(code_or_path)], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )


def test_example_runs(tmp_path):
    example = ROOT / "examples" / "attack_pettingzoo.py"
    assert len(example.read_text().splitlines()) < 15
    res = run_python(example, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert float(res.stdout.rsplit(":", 1)[1]) == pytest.approx(0.1, abs=1e-5)


def test_readme_wrapper_example_runs(tmp_path):
    """Python blocks of the README that use the wrappers run as they are."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    blocks = [b for b in blocks if "marl_attacks.team" in b]
    assert blocks, "README.md: the 'Attack your own team' example no longer imports marl_attacks.team"
    for k, block in enumerate(blocks):
        script = tmp_path / f"readme_{k}.py"
        script.write_text(block)
        res = run_python(script, tmp_path)
        assert res.returncode == 0, res.stderr[-3000:]


@pytest.mark.parametrize("command", ["train", "collect", "fit", "evaluate", "ablations", "report", "attack"])
def test_cli_help(command, capsys):
    from marl_attacks.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m marl_attacks " + command)


def test_cli_runs_as_module():
    res = subprocess.run(
        [sys.executable, "-m", "marl_attacks", "--help"], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert res.returncode == 0 and "attack" in res.stdout and "evaluate" in res.stdout


def test_cli_attack_runs(capsys):
    from marl_attacks.__main__ import main

    main(
        [
            "attack",
            "--env",
            "mpe2.simple_spread_v3",
            "--env-kwargs",
            '{"N": 3, "max_cycles": 5}',
            "--attack",
            "align-transformer",
            "--fit",
            '{"d_model": 8, "heads": 2, "layers": 1, "epochs": 1}',
            "--collect-episodes",
            "3",
            "--episodes",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert "f_theta (transformer) fitted on 15 samples" in out
    benign, attacked, delta = cli_line(out, "align-transformer", 0.1)
    # random agents ignore their observations: the attack applies but cannot change what they do
    assert benign == attacked and 0 < delta <= 0.1 + 1e-6


def cli_line(out, attack, eps):
    """Benign return, attacked return and largest |delta| from the CLI's last line."""
    line = out.strip().splitlines()[-1]
    m = re.fullmatch(
        rf"mean team return: benign (-?[\d.]+), under {attack} \(eps={eps}\) (-?[\d.]+); "
        r"largest \|delta\| applied ([\d.e+-]+)",
        line,
    )
    assert m, line
    return tuple(float(x) for x in m.groups())


ZOO = ROOT / "zoo" / "paper"


@pytest.mark.parametrize(
    "env, kwargs, policy",
    [
        ("mpe2.simple_spread_v3", {"N": 3, "local_ratio": 0.5, "max_cycles": 25}, "mpe-simple_spread"),
        ("vmas:balance", {"n_agents": 3, "num_envs": 3, "max_steps": 25}, "vmas-balance"),
    ],
)
def test_cli_attack_moves_a_trained_victim(env, kwargs, policy, capsys):
    """A trained victim acts on what it sees: Hadamard at eps 0.5 changes its return; benign twice is the same."""
    from marl_attacks.__main__ import main

    args = ["attack", "--env", env, "--env-kwargs", json.dumps(kwargs), "--episodes", "3"]
    args += ["--policy", str(ZOO / policy / "mappo" / "seed0" / "policy.pt")]
    main([*args, "--attack", "hadamard", "--eps", "0.5", "--attacked", "0", "1"])
    benign, attacked, delta = cli_line(capsys.readouterr().out, "hadamard", 0.5)
    assert attacked != benign and delta == pytest.approx(0.5)
    main([*args, "--attack", "benign", "--eps", "0.5"])
    again, unattacked, delta = cli_line(capsys.readouterr().out, "benign", 0.5)
    assert again == benign == unattacked and delta == 0
