"""Attack-your-own-team API: PettingZoo and VMAS wrappers, the example and the command line."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT

from marl_attacks.wrappers import AttackedParallelEnv, AttackedVmasEnv

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


def vmas_env(num_envs=3, max_steps=5):
    import vmas

    return vmas.make_env(
        "balance", num_envs=num_envs, max_steps=max_steps, continuous_actions=False, seed=0, n_agents=3
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
    blocks = [b for b in blocks if "marl_attacks.wrappers" in b]
    if not blocks:
        pytest.skip("README.md has no wrapper example yet (examples/attack_pettingzoo.py is tested)")
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
    assert "f_theta (transformer) fitted on 15 samples" in out and "under align-transformer" in out
