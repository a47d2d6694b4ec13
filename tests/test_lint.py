"""The code stays linted and formatted: ruff (lint and format) and snakefmt, as configured in
pyproject.toml, over the whole repository. Fast: a few seconds."""

import subprocess
import sys

import pytest
from conftest import ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("snakefmt", "--check", "Snakefile", "workflow/rules"),
    ],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_linter_is_clean(command):
    res = run(*command)
    assert res.returncode == 0, f"{' '.join(command)} (run it without --check to fix):\n{res.stdout}{res.stderr}"[
        -4000:
    ]


def test_rules_and_scripts_take_the_config_only_through_params():
    """No rule names a conda environment (jobs import this package from the checkout; see
    environment.yml) and no script reads the Snakemake config behind params: (a value the rule
    does not see cannot trigger a rerun)."""
    rules = [p for p in (ROOT / "workflow/rules").glob("*.smk")] + [ROOT / "Snakefile"]
    assert not [p.name for p in rules if "conda:" in p.read_text()]
    scripts = list((ROOT / "workflow/scripts").glob("*.py"))
    assert scripts and not [p.name for p in scripts if "snakemake.config" in p.read_text()]
