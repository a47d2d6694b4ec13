"""pyproject.toml and environment.yml pin the same versions."""

import re

import tomllib
import yaml
from conftest import ROOT


def _pins(lines):
    pins = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;]+)\s*", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    py_pins = _pins(project["dependencies"])
    extras = {k: _pins(v) for k, v in project["optional-dependencies"].items()}
    assert extras["smax"] and not set(extras["smax"]) & set(py_pins)
    for pins in extras.values():  # the conda environment is the full one: every extra too
        py_pins |= pins
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = _pins(pip_block)
    assert py_pins, "pyproject.toml pins nothing"
    assert py_pins == conda_pins


def test_every_dependency_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    unpinned = [d for d in deps if "==" not in d]
    assert not unpinned
    assert "torch==2.13.0" in project["dependencies"]
