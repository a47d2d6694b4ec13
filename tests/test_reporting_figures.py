"""Every figure draws from a summary, with one style per attack, and says so when it has no data."""

import numpy as np
import pandas as pd
import pytest
from test_reporting import make_rows

from marl_attacks.attacks import ATTACKS, in_figure, label
from marl_attacks.reporting import ablation_figures, figures, plotting
from marl_attacks.reporting.summary import full_team, summarise
from marl_attacks.reporting.tables import competence


@pytest.fixture(scope="module")
def summary():
    effect = {
        a: 10.0 + k
        for k, a in enumerate(
            [
                "align-mlp",
                "align-rnn",
                "align-transformer",
                "robust-align",
                "hadamard",
                "targeted-align",
                "targeted-hadamard",
                "max-noise",
                "white-box-fgsm",
                "white-box-pgd",
            ]
        )
    }
    return summarise(make_rows(effect=effect, episodes=8, eps=(0.05, 0.1, 0.5)), 100, 0.95, 0)


def ablation_summary(ablation, values):
    rng = np.random.default_rng(0)
    rows = []
    for value in [np.nan, *values]:
        attack = "benign" if np.isnan(value) else "align-mlp"
        ret = 20 - (0 if attack == "benign" else np.log(value)) + rng.normal(0, 1, 6)
        for ep in range(6):
            rows.append(
                {
                    "env": "vmas-navigation",
                    "algo": "mappo",
                    "seed": 0,
                    "attack": attack,
                    "eps": 0.0 if attack == "benign" else 0.2,
                    "n_attacked": 0 if attack == "benign" else (value if ablation == "n_attacked" else 3),
                    "episode": ep,
                    "return": ret[ep],
                    "length": 100,
                    "max_abs_delta": 0.2,
                    "value": value,
                    "val_mse": 1 / value if ablation == "samples" and attack != "benign" else np.nan,
                }
            )
    return summarise(pd.DataFrame(rows), 100, 0.95, 0, keys=["attack", "eps", "n_attacked", "value"])


@pytest.mark.parametrize("kind", ["return_vs_eps", "episode_length", "ablation_architecture", "ablation_selection"])
def test_main_figures_write_pdf_and_png(summary, kind, tmp_path):
    figures.FIGURES[kind](summary, str(tmp_path / kind))
    assert (tmp_path / f"{kind}.png").stat().st_size > 5000 and (tmp_path / f"{kind}.pdf").stat().st_size > 1000


def test_same_data_gives_the_same_figure_bytes(summary, tmp_path):
    """No creation date in the PDF: rerunning a figure job on unchanged data leaves the file as it was."""
    figures.plot_return_vs_eps(summary, str(tmp_path / "a"))
    figures.plot_return_vs_eps(summary, str(tmp_path / "b"))
    for ext in ("pdf", "png"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()
    assert b"CreationDate" not in (tmp_path / "a.pdf").read_bytes()


@pytest.mark.parametrize(
    "ablation,values", [("samples", [10, 100, 1000]), ("pgd_steps", [1, 5, 20]), ("n_attacked", [1, 2, 3])]
)
def test_ablation_figures(ablation, values, tmp_path):
    s = ablation_summary(ablation, values)
    summary_path = tmp_path / "summary.csv"
    s.to_csv(summary_path, index=False)
    figures.draw_figure(f"ablation_{ablation}", str(summary_path), str(tmp_path / "fig"))
    assert (tmp_path / "fig.png").stat().st_size > 5000 and (tmp_path / "fig.pdf").exists()


def test_selection_without_targeted_attacks_still_draws(summary, tmp_path):
    ablation_figures.plot_selection(summary[~summary.attack.str.startswith("targeted")], str(tmp_path / "sel"))
    assert (tmp_path / "sel.png").exists()


def test_full_team_rows_are_those_with_every_agent_attacked(summary):
    full = full_team(summary)
    assert set(full[full.attack != "benign"].n_attacked) == {3} and "benign" in set(full.attack)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_attack_has_a_style_and_a_label(attack):
    assert plotting.style(attack) == ATTACKS[attack].style and label(attack) == ATTACKS[attack].label != attack


def test_styles_of_the_main_figure_differ():
    shown = [a for a in in_figure("eps_curves") if a != "benign"]
    assert len({(ATTACKS[a].style.palette, ATTACKS[a].style.marker) for a in shown}) == len(shown)


def test_architecture_panels_only_where_architectures_compare(summary):
    rows = summary.copy()
    other = rows[rows.env == rows.env.iloc[0]].assign(env="lbf-8x8-2p-3f")
    other = other[~other.attack.isin(["align-rnn", "align-transformer", "robust-align"])]
    both = pd.concat([rows, other], ignore_index=True)
    kept = ablation_figures.architecture_rows(both)
    assert set(kept.env) == set(rows.env)  # the env with Align-MLP alone is left out
    assert {"align-mlp", "align-rnn"} <= set(kept.attack)
    # with Align-MLP alone everywhere the figure still shows it
    assert set(ablation_figures.architecture_rows(other).env) == {"lbf-8x8-2p-3f"}


def test_eps_tick_labels_do_not_crowd():
    grid = [0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0]  # config/paper.yaml
    assert [x for x in plotting.sparse_log_labels(grid) if x] == ["0.02", "0.1", "0.2", "0.5", "1"]
    odd = [0.03, 0.04, 0.06, 0.07, 0.3]  # no 1-2-5 values: labels at least x1.55 apart
    assert plotting.sparse_log_labels(odd) == ["0.03", "", "0.06", "", "0.3"]


def test_panel_titles_say_where_victims_fail(tmp_path):
    victims = pd.DataFrame(
        {
            "env": ["vmas-balance"] * 3 + ["rware-tiny-2ag"] * 3 + ["mpe-simple_spread"] * 3,
            "algo": "qmix",
            "seed": [0, 1, 2] * 3,
            "passed": [True, False, True, False, False, False, True, True, True],
        }
    )
    path = tmp_path / "victims.csv"
    victims.to_csv(path, index=False)
    comp = competence(pd.read_csv(path))
    assert comp == {
        ("vmas-balance", "qmix"): (2, 3),
        ("rware-tiny-2ag", "qmix"): (0, 3),
        ("mpe-simple_spread", "qmix"): (3, 3),
    }
    assert plotting.env_title("vmas-balance", "qmix", comp).endswith("2 of 3 victims competent")
    assert "not competent" in plotting.env_title("rware-tiny-2ag", "qmix", comp)
    assert "\n" not in plotting.env_title("mpe-simple_spread", "qmix", comp)
    assert "\n" not in plotting.env_title("vmas-navigation", "qmix", comp)  # no threshold: no claim


def test_figures_draw_with_victims_table(summary, tmp_path):
    summary_path, victims_path = tmp_path / "summary.csv", tmp_path / "victims.csv"
    summary.to_csv(summary_path, index=False)
    pd.DataFrame({"env": sorted(set(summary.env)), "algo": "mappo", "seed": 0, "passed": False}).to_csv(
        victims_path, index=False
    )
    for kind in ["return_vs_eps", "episode_length", "ablation_architecture", "ablation_selection"]:
        figures.draw_figure(kind, str(summary_path), str(tmp_path / kind), str(victims_path))
        assert (tmp_path / f"{kind}.png").stat().st_size > 5000


def test_selection_legend_names_the_base_attacks():
    assert ablation_figures.selection_labels() == {
        "align-mlp": "Align, random agents",
        "targeted-align": r"Align, agents picked by $f_\theta$",
        "hadamard": "Hadamard, random agents",
        "targeted-hadamard": r"Hadamard, agents picked by $f_\theta$",
    }
