"""Nothing lost, nothing silently wrong: writes are atomic with provenance beside them; stages
check their inputs (a policy, samples file or f_theta made by another config, for another
victim, with another base seed, or truncated, is refused with an error naming the file and how
to regenerate it); a truncated training checkpoint is ignored with a warning."""

import copy
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from conftest import ROOT, Crash, crash_after

from marl_attacks import config as cfgmod
from marl_attacks.io import ArtifactError, atomic_write, config_hash, load_artifact, save_artifact
from marl_attacks.stages import collect, evaluate, fit, score, train

ENV, ALGO = "mpe-simple_spread", "mappo"
REGENERATE = "delete it and rerun snakemake"


def test_failed_write_leaves_the_old_file_or_none(tmp_path):
    path = tmp_path / "out.pt"

    def dies(fh):
        fh.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies)
    assert list(tmp_path.iterdir()) == []  # no output and no temp file left
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_written_file_gets_the_mode_a_plain_open_gives(tmp_path):
    """Not mkstemp's private 0600: collaborators sharing a results folder must be able to read it."""
    atomic_write(tmp_path / "atomic.txt", lambda fh: fh.write(b"x"))
    (tmp_path / "plain.txt").write_bytes(b"x")
    assert (tmp_path / "atomic.txt").stat().st_mode == (tmp_path / "plain.txt").stat().st_mode


def test_killed_writer_leaves_nothing_under_the_final_name(tmp_path):
    """SIGKILL in the middle of a write (no clean-up runs): the final name never appears."""
    path = tmp_path / "policy.pt"
    code = (
        "import sys, time; from marl_attacks.io import atomic_write\n"
        "def write(fh):\n"
        "    fh.write(b'x' * 100000); fh.flush(); print('half written', flush=True); time.sleep(60)\n"
        "atomic_write(sys.argv[1], write)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "half written\n"
    finally:
        proc.kill()
        proc.wait()
    assert not path.exists()
    assert all(p.name.startswith(".policy.pt.") for p in tmp_path.iterdir())  # only a hidden temp file


def test_artifact_records_its_provenance_inside_and_beside(tmp_path):
    block = {"fit": {"epochs": 3}, "samples_config_hash": "abc"}
    save_artifact(tmp_path / "m.pt", {"x": torch.ones(2)}, block, seed=7)
    meta = json.loads((tmp_path / "m.pt.meta.json").read_text())
    assert meta["config"] == block and meta["config_hash"] == config_hash(block) and meta["seed"] == 7
    assert {"git_commit", "host"} <= set(meta) and "torch" in meta["versions"]
    assert load_artifact(tmp_path / "m.pt", expect_config=block, expect_seed=7)["meta"] == meta


def _config() -> dict:
    """config/tiny.yaml cut to one env, two training updates, one f_theta."""
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["envs"] = {ENV: cfg["envs"][ENV]}
    cfg.pop("deviations")  # its victim is on another env
    cfg["algos"] = {ALGO: dict(cfg["algos"][ALGO], total_steps=160)}
    cfg["fit"] = {"mlp": dict(cfg["fit"]["mlp"], epochs=1)}
    cfg["attacks"] = {}
    cfg["evaluate"].update(attacks=["benign", "align-mlp"], n_attacked=["all"], eps=[0.1], episodes=2)
    cfg["report"]["drop_eps"] = 0.1
    cfgmod.check(cfg)
    return cfg


def _changed(cfg: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(cfg)
    *head, last = dotted.split(".")
    node = out
    for k in head:
        node = node[k]
    node[last] = value
    cfgmod.check(out)
    return out


VICTIM = {"env": ENV, "algo": ALGO, "seed": 0}


def _train(cfg, policy, checkpoint_every=None):
    params = cfgmod.train_params(cfg, ENV, ALGO, 0)
    if checkpoint_every:
        params["algo_cfg"]["checkpoint_every"] = checkpoint_every
    train.run(params, policy_out=str(policy), curve_out=str(Path(policy).with_suffix(".csv")), progress=False)


def _collect(cfg, policy, out, victim=VICTIM):
    params = cfgmod.collect_params(cfg, victim["env"], victim["algo"], victim["seed"])
    collect.run(params, policy=str(policy), out=str(out), progress=False)


def _fit(cfg, samples, out, victim=VICTIM):
    params = cfgmod.fit_params(cfg, victim["env"], victim["algo"], victim["seed"], "mlp")
    fit.run(params, samples=str(samples), out=str(out), progress=False)


def _evaluate(cfg, policy, model, out_dir, victim=VICTIM):
    params = cfgmod.evaluate_params(cfg, victim["env"], victim["algo"], victim["seed"])
    rows, cost = str(out_dir / "eval.csv"), str(out_dir / "cost.csv")
    evaluate.run(params, policy=str(policy), align={"mlp": str(model)}, rows_out=rows, cost_out=cost, progress=False)


def _score(cfg, policy, out_dir, victim=VICTIM):
    params = cfgmod.score_params(cfg, victim["env"], victim["algo"], victim["seed"])
    score.run(params, policy=str(policy), out=str(out_dir / "score.json"))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A policy, samples and an f_theta made by the stages, each checking its input."""
    d = tmp_path_factory.mktemp("provenance")
    cfg = _config()
    p = SimpleNamespace(cfg=cfg, dir=d, policy=d / "policy.pt", samples=d / "samples.pt", model=d / "mlp.pt")
    _train(cfg, p.policy)
    _collect(cfg, p.policy, p.samples)
    _fit(cfg, p.samples, p.model)
    _evaluate(cfg, p.policy, p.model, d)
    return p


def test_files_carry_the_provenance_their_readers_expect(made):
    expect = cfgmod.expected_inputs(made.cfg, ENV, ALGO, 0)
    for path, want in [
        (made.policy, expect["policy"]),
        (made.samples, expect["samples"]),
        (made.model, expect["align"]["mlp"]),
    ]:
        load_artifact(path, expect_config=want["config"], expect_seed=want["seed"])


def _refused(call, path, *match):
    with pytest.raises(ArtifactError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(str(path)), msg  # names the file
    assert REGENERATE in msg and f"--forcerun {path}" in msg, msg  # and how to regenerate it
    for m in match:
        assert m in msg, msg
    return msg


# (config change, what the error names) for a policy made by the module's config
POLICY_MISMATCH = [
    ("algos.mappo.total_steps", 320, "algo_cfg.total_steps = 160 in the file, 320 expected"),
    ("algos.mappo.hidden", 8, "algo_cfg.hidden"),
    ("envs.mpe-simple_spread.max_steps", 12, "env.max_steps = 10 in the file, 12 expected"),
    ("seed", 1, "made with seed"),  # another base seed: same block, another job seed
]


@pytest.mark.parametrize("key,value,names", POLICY_MISMATCH)
def test_collect_refuses_a_policy_of_another_config(made, tmp_path, key, value, names):
    _refused(lambda: _collect(_changed(made.cfg, key, value), made.policy, tmp_path / "s.pt"), made.policy, names)
    assert not (tmp_path / "s.pt").exists()


def test_collect_refuses_the_policy_of_another_victim(made, tmp_path):
    other = dict(VICTIM, seed=1)
    _refused(
        lambda: _collect(made.cfg, made.policy, tmp_path / "s.pt", victim=other),
        made.policy,
        "seed = 0 in the file, 1 expected",
    )


@pytest.mark.parametrize(
    "key,value,names",
    [
        ("collect.n_samples", 50, "n_samples = 60 in the file, 50 expected"),
        ("collect.num_envs", 2, "num_envs"),
        # the samples were recorded from the policy of another config
        ("algos.mappo.total_steps", 320, "victim_config_hash"),
    ],
)
def test_fit_refuses_samples_of_another_config(made, tmp_path, key, value, names):
    msg = _refused(lambda: _fit(_changed(made.cfg, key, value), made.samples, tmp_path / "m.pt"), made.samples, names)
    if "hash" in names:
        assert "made from an input of another config" in msg
    assert not (tmp_path / "m.pt").exists()


def test_fit_refuses_samples_of_another_victim(made, tmp_path):
    _refused(
        lambda: _fit(made.cfg, made.samples, tmp_path / "m.pt", victim=dict(VICTIM, seed=1)),
        made.samples,
        "victim_config_hash",
    )


@pytest.mark.parametrize(
    "key,value,bad,names",
    [
        *[(k, v, "policy", n) for k, v, n in POLICY_MISMATCH],
        ("fit.mlp.epochs", 2, "model", "fit.epochs = 1 in the file, 2 expected"),
        ("fit.mlp.hidden", 8, "model", "fit.hidden"),
        ("collect.n_samples", 50, "model", "samples_config_hash"),  # fitted on other samples
    ],
)
def test_evaluate_refuses_a_policy_or_f_theta_of_another_config(made, tmp_path, key, value, bad, names):
    _refused(
        lambda: _evaluate(_changed(made.cfg, key, value), made.policy, made.model, tmp_path), getattr(made, bad), names
    )
    assert not (tmp_path / "eval.csv").exists()


def test_score_refuses_a_policy_of_another_config(made, tmp_path):
    _refused(
        lambda: _score(_changed(made.cfg, "algos.mappo.total_steps", 320), made.policy, tmp_path),
        made.policy,
        "algo_cfg.total_steps",
    )


def test_by_hand_commands_check_inputs_against_their_config(made, tmp_path):
    """The CLIs compute the same expectations from the --config they are given."""
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(_changed(made.cfg, "algos.mappo.total_steps", 320)))
    common = ["--config", str(path), "--env", ENV, "--algo", ALGO, "--seed", "0"]
    _refused(
        lambda: collect.main([*common, "--policy", str(made.policy), "--out", str(tmp_path / "s.pt")]),
        made.policy,
        "algo_cfg.total_steps",
    )
    _refused(
        lambda: fit.main([*common, "--samples", str(made.samples), "--out", str(tmp_path / "m.pt")]),
        made.samples,
        "victim_config_hash",
    )
    _refused(
        lambda: evaluate.main(
            [
                *common,
                "--policy",
                str(made.policy),
                "--align",
                f"mlp={made.model}",
                "--out",
                str(tmp_path / "e.csv"),
                "--cost",
                str(tmp_path / "c.csv"),
            ]
        ),
        made.policy,
        "algo_cfg.total_steps",
    )


def _truncate(src, dst):
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: len(data) // 2])
    return dst


@pytest.mark.parametrize(
    "stage,bad",
    [("collect", "policy"), ("fit", "samples"), ("evaluate", "policy"), ("evaluate", "model"), ("score", "policy")],
)
def test_truncated_input_is_refused_by_name(made, tmp_path, stage, bad):
    files = {k: getattr(made, k) for k in ("policy", "samples", "model")}
    files[bad] = _truncate(files[bad], tmp_path / Path(files[bad]).name)
    call = {
        "collect": lambda: _collect(made.cfg, files["policy"], tmp_path / "s.pt"),
        "fit": lambda: _fit(made.cfg, files["samples"], tmp_path / "m.pt"),
        "evaluate": lambda: _evaluate(made.cfg, files["policy"], files["model"], tmp_path),
        "score": lambda: _score(made.cfg, files["policy"], tmp_path),
    }[stage]
    _refused(call, files[bad], "truncated or corrupted")


def test_input_with_a_tampered_block_is_refused(made, tmp_path):
    """A stored block that does not match its stored hash is not trusted."""
    payload = torch.load(made.policy, weights_only=True)
    payload["meta"]["config"]["algo_cfg"]["hidden"] = 99
    torch.save(payload, tmp_path / "policy.pt")
    _refused(
        lambda: _collect(made.cfg, tmp_path / "policy.pt", tmp_path / "s.pt"),
        tmp_path / "policy.pt",
        "algo_cfg.hidden = 99 in the file, 16 expected",
    )


def test_truncated_checkpoint_is_ignored_with_a_warning(made, tmp_path, monkeypatch, capsys):
    """A torn ``.ckpt`` (not a declared output) must not stop or steer training: the trainer warns
    and starts over, and ends with the policy of an uninterrupted run."""
    _train(made.cfg, tmp_path / "straight.pt", checkpoint_every=1)
    real_make_env = train.make_env
    # dies in the second update, after the first resume point
    monkeypatch.setattr(train, "make_env", lambda *a, **k: crash_after(real_make_env(*a, **k), 15))
    with pytest.raises(Crash):
        _train(made.cfg, tmp_path / "policy.pt", checkpoint_every=1)
    monkeypatch.setattr(train, "make_env", real_make_env)
    ckpt = tmp_path / "policy.pt.ckpt"
    _truncate(ckpt, ckpt)
    with pytest.warns(UserWarning, match=r"policy\.pt\.ckpt: unreadable checkpoint.*starting fresh"):
        _train(made.cfg, tmp_path / "policy.pt", checkpoint_every=1)
    assert "resuming" not in capsys.readouterr().out
    assert not ckpt.exists()
    a = load_artifact(tmp_path / "straight.pt")["state_dict"]
    b = load_artifact(tmp_path / "policy.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_intact_checkpoint_is_resumed_and_says_so(made, tmp_path, monkeypatch, capsys):
    real_make_env = train.make_env
    # dies in the second update, after the first resume point
    monkeypatch.setattr(train, "make_env", lambda *a, **k: crash_after(real_make_env(*a, **k), 15))
    with pytest.raises(Crash):
        _train(made.cfg, tmp_path / "policy.pt", checkpoint_every=1)
    monkeypatch.setattr(train, "make_env", real_make_env)
    capsys.readouterr()
    _train(made.cfg, tmp_path / "policy.pt", checkpoint_every=1)
    assert "policy.pt.ckpt: resuming from the checkpoint written after update 1" in capsys.readouterr().out
