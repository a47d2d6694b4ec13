"""bench/env_mutations.py cannot rot unnoticed: every mutation's source snippet still occurs
exactly once in its file, its replacement changes the file and still parses, its tests exist, and
every rule family has a mutation. (The mutation runs themselves take minutes: a bench script.)"""

import importlib.util
import sys

from conftest import ROOT


def _load():
    spec = importlib.util.spec_from_file_location("env_mutations", ROOT / "bench" / "env_mutations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_mutation_snippet_occurs_once_and_every_family_is_covered():
    em = _load()
    assert em.check() == []
    assert {m.family for m in em.MUTATIONS} == set(em.FAMILIES)
    assert all(m.tests for m in em.MUTATIONS)


def test_check_reports_a_stale_snippet(tmp_path):
    em = _load()
    m = em.MUTATIONS[0]
    (tmp_path / m.file).parent.mkdir(parents=True)
    edited = m.old.replace(" ", "  ", 1)  # the source reformatted: the snippet no longer matches
    (tmp_path / m.file).write_text((em.ROOT / m.file).read_text().replace(m.old, edited))
    problems = em.check([m], root=tmp_path)
    assert problems == [f"{m.name}: snippet occurs 0 times in {m.file} (must be once): {m.old!r}"]
