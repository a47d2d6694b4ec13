"""The run record sums the jobs' benchmark files per rule and lands beside figures and tables."""

import json

from marl_attacks.reporting import runrecord

HEADER = "s\th:m:s\tmax_rss\n"


def test_run_record_sums_jobs_and_copies_the_config(tmp_path):
    bench = tmp_path / "benchmarks"
    for rel, secs in [
        ("evaluate_attacks/vmas-balance/mappo/seed0.tsv", [5.0]),
        ("evaluate_attacks/vmas-balance/mappo/seed1.tsv", [100.0, 7.5]),  # rerun: last row
        ("report/summarise.tsv", [2.0]),
    ]:
        path = bench / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER + "".join(f"{s}\t0:00:00\t1\n" for s in secs))
    cfg = tmp_path / "paper.yaml"
    cfg.write_text("run: paper\n")
    outs = [str(tmp_path / "figures"), str(tmp_path / "tables")]
    rec = runrecord.record(str(cfg), "paper", 1000.0, 4725.0, "snakemake --cores 2", str(bench), outs)
    assert rec["jobs_per_rule"] == {
        "evaluate_attacks": {"jobs": 2, "seconds": 12.5},
        "report": {"jobs": 1, "seconds": 2.0},
    }
    assert rec["wall_seconds"] == 3725.0 and rec["job_seconds_total"] == 14.5
    for d in outs:
        assert json.loads((tmp_path / d / "run.json").read_text())["config_sha256"] == rec["config_sha256"]
        assert (tmp_path / d / "config.yaml").read_text() == "run: paper\n"
        md = (tmp_path / d / "RUN.md").read_text()
        assert "1 h 02 min" in md and "| evaluate_attacks | 2 |" in md
