"""The report reads every attack and env fact from the registries: registering a new attack or env
(here a throwaway one, monkeypatched in) puts it in the tables and figures without touching
marl_attacks.reporting."""

import pandas as pd
import pytest
from test_reporting import make_rows

from marl_attacks import attacks, envs
from marl_attacks.attacks import Access, AttackEntry, HadamardAttack, Style
from marl_attacks.envs import EnvEntry
from marl_attacks.reporting import figures, plotting
from marl_attacks.reporting.claims import table_claims
from marl_attacks.reporting.export import to_marl_eval
from marl_attacks.reporting.summary import summarise
from marl_attacks.reporting.tables import table_access_assumptions, table_main_drop_at

TOY_ACCESS = Access("Toy attack family", "Nobody et al. 2099", "c-MARL", *["no"] * 5, "0", "fixed: a toy direction")
TOY = AttackEntry(
    "Toy Attack",
    HadamardAttack,
    access=TOY_ACCESS,
    style=Style(6, "*", "--"),
    figures=frozenset({"eps_curves"}),
)
TOY_ENV = EnvEntry(lambda: None, "Toy World", "toyfamily", "world")
EFFECT = {"align-mlp": 30.0, "max-noise": 10.0, "toy-attack": 50.0}


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(attacks.ATTACKS, "toy-attack", TOY)
    monkeypatch.setitem(envs.ENVS, "toy-env", TOY_ENV)


@pytest.fixture(scope="module")
def rows():
    return make_rows(effect=EFFECT, envs=("toy-env", "vmas-balance"), seeds=(0, 1), episodes=8, eps=(0.1, 0.5))


@pytest.fixture(scope="module")
def summary(rows):
    return summarise(rows, 100, 0.95, 0)


def drawn(monkeypatch, draw) -> list:
    """The matplotlib figures ``draw`` makes, caught before they are saved."""
    caught = []
    monkeypatch.setattr(plotting, "save_figure", lambda fig, stem: caught.append(fig))
    draw()
    return caught


def test_a_registered_attack_is_a_main_drop_column_in_registry_order(registered, summary, tmp_path):
    table = table_main_drop_at(summary, str(tmp_path / "drop"), 0.5)
    assert list(table.columns) == ["env", "algo", "align-mlp", "max-noise", "toy-attack"]
    assert "toy-attack" in (tmp_path / "drop.md").read_text()


def test_an_unregistered_attack_is_no_main_drop_column(summary, tmp_path):
    table = table_main_drop_at(summary, str(tmp_path / "drop"), 0.5)
    assert "toy-attack" not in table.columns


def test_a_registered_attack_has_its_access_row(registered, tmp_path):
    table = table_access_assumptions(str(tmp_path / "access"))
    names = table.attack.tolist()
    # after this paper's attacks, before the prior ones
    assert names.index("Toy attack family") == names.index("White-box FGSM / PGD") + 1
    assert names[-1] == "c-MBA (model-based attack)"
    row = table.set_index("attack").loc["Toy attack family"]
    assert row.reference == "Nobody et al. 2099" and row["samples needed"] == "0"
    assert "Nobody et al. 2099" in (tmp_path / "access.md").read_text()


def test_a_registered_attack_is_in_the_eps_figure_legend(registered, summary, monkeypatch, tmp_path):
    (fig,) = drawn(monkeypatch, lambda: figures.plot_return_vs_eps(summary, str(tmp_path / "fig")))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["Benign", "Align (MLP)", "Max-Noise", "Toy Attack"]
    toy = next(line for ax in fig.axes for line in ax.get_lines() if line.get_label() == "Toy Attack")
    assert (toy.get_marker(), toy.get_linestyle()) == ("*", "--")


def test_a_registered_env_is_named_by_its_label(registered, rows, summary, monkeypatch, tmp_path):
    (fig,) = drawn(monkeypatch, lambda: figures.plot_return_vs_eps(summary, str(tmp_path / "fig")))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["Toy World (MAPPO)", "VMAS Balance (MAPPO)"]
    params = {"bootstrap_samples": 50, "ci": 0.95, "seed": 0, "eps": 0.5}
    params["eps_rule"] = {"attack": "white-box-pgd", "min_drop": 0.2}
    table_claims(rows, None, str(tmp_path / "claims"), None, params)
    md = (tmp_path / "claims.md").read_text()
    assert "| Toy World " in md and "toy-env" not in md
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert "toy-env" in set(claims.env)  # the CSV keeps the registry's name
    assert set(to_marl_eval(rows)) == {"toyfamily", "vmas"}  # marl-eval's env family from the registry


def test_config_checks_know_a_registered_attack_and_env(registered, monkeypatch):
    """The config check reads the same registries: a config naming the throwaway attack and env is
    accepted once they are registered, and refused by name (with the allowed names) before."""
    import copy

    import yaml
    from conftest import ROOT

    from marl_attacks import config as cfgmod
    from marl_attacks.envs import make_env

    # the toy env builds as VMAS balance does (its adapter is the loader's to choose)
    monkeypatch.setitem(envs.ENVS, "toy-env", EnvEntry(envs.ENVS["vmas-balance"].loader, "Toy World", "toy", "world"))
    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["envs"] = {"toy-env": cfg["envs"]["vmas-balance"]}
    cfg["deviations"]["victims"] = {"toy-env": ["mappo"]}
    cfg["evaluate"]["attacks"] = cfg["evaluate"]["attacks"] + ["toy-attack"]
    cfg["ablations"] = {k: dict(v, envs=["toy-env"]) for k, v in cfg["ablations"].items()}
    cfgmod.check(cfg)
    assert make_env("toy-env", 2, max_steps=5, kwargs=cfg["envs"]["toy-env"]["kwargs"]).spec.n_agents == 3
    monkeypatch.delitem(attacks.ATTACKS, "toy-attack")
    with pytest.raises(cfgmod.ConfigError, match="unknown attack 'toy-attack'"):
        cfgmod.check(copy.deepcopy(cfg))
    monkeypatch.delitem(envs.ENVS, "toy-env")
    with pytest.raises(cfgmod.ConfigError, match="unknown env 'toy-env'"):
        cfgmod.check(cfg)
