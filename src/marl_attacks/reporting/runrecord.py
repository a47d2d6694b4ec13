"""The record of one whole-workflow run, written beside its figures and tables.

Snakemake knows each job's time (the rules' ``benchmark:`` files) but not the run's: this
writes, into each output folder (``figures/{run}/``, ``tables/{run}/``), ``run.json`` and
``RUN.md`` with the config file (and a copy of it, ``config.yaml``), its hash, the git commit,
the command, start and end times and the wall time, the machine, the package versions and the
job seconds per rule summed from ``benchmarks/{run}/``. After a run::

    start=$(date +%s); snakemake --cores 2 --configfile config/paper.yaml
    python -m marl_attacks.reporting.runrecord --config config/paper.yaml --started $start \\
        --command "snakemake --cores 2 --configfile config/paper.yaml"
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import platform
import shutil
import subprocess
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from .. import paths
from ..io import _git_commit, _versions, write_json, write_text


def read_benchmarks(bench_dir: str | Path) -> list[dict]:
    """One row per Snakemake job: rule (the first folder under ``bench_dir``), wildcards path,
    seconds, CPU seconds, max RSS, from the last row of its ``benchmark:`` file (where a job
    reran). bench/pipeline_cost.py reads them too."""
    bench_dir, rows = Path(bench_dir), []
    for f in sorted(bench_dir.rglob("*.tsv")):
        with f.open() as fh:
            recs = list(csv.DictReader(fh, delimiter="\t"))
        if not recs:
            continue
        r = recs[-1]
        rows.append(
            {
                "rule": f.relative_to(bench_dir).parts[0],
                "job": str(f.relative_to(bench_dir)),
                "s": float(r["s"]),
                "cpu_s": float(r.get("cpu_time") or 0),
                "max_rss_mb": float(r.get("max_rss") or 0),
            }
        )
    return rows


def job_seconds(bench_dir: str | Path) -> dict[str, dict]:
    """Per rule: number of jobs and summed seconds (:func:`read_benchmarks`)."""
    out: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0})
    for r in read_benchmarks(bench_dir):
        out[r["rule"]]["jobs"] += 1
        out[r["rule"]]["seconds"] += r["s"]
    return dict(sorted(out.items()))


def _dirty() -> bool | None:
    try:
        res = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        )
        return bool(res.stdout.strip()) if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _machine() -> dict:
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _fmt(seconds: float) -> str:
    h, rem = divmod(int(round(seconds)), 3600)
    return f"{h} h {rem // 60:02d} min" if h else f"{rem // 60} min {rem % 60:02d} s"


def record(
    config_path: str,
    run: str,
    started: float,
    ended: float,
    command: str,
    bench_dir: str,
    out_dirs: list[str],
    note: str = "",
    commit: str | None = None,
) -> dict:
    """Write ``run.json``, ``RUN.md`` and ``config.yaml`` into each of ``out_dirs``."""
    text = Path(config_path).read_text()
    jobs = job_seconds(bench_dir)
    rec = {
        "run": run,
        "config_file": config_path,
        "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "git_commit": commit or _git_commit(),
        "git_dirty": None if commit else _dirty(),
        "command": command,
        "started_utc": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "ended_utc": datetime.fromtimestamp(ended, timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(ended - started, 1),
        "job_seconds_total": round(sum(j["seconds"] for j in jobs.values()), 1),
        "jobs_per_rule": jobs,
        "machine": _machine(),
        "versions": _versions(),
        "note": note,
    }
    lines = [
        f"# Run `{run}`",
        "",
        f"- config: `{config_path}` (copied here as `config.yaml`; sha256 `{rec['config_sha256'][:16]}`)",
        f"- commit: `{rec['git_commit']}`" + (" (with uncommitted changes)" if rec["git_dirty"] else ""),
        f"- command: `{command}`",
        f"- started {rec['started_utc']}, ended {rec['ended_utc']}: wall time **{_fmt(rec['wall_seconds'])}**",
        f"- job time (sum over jobs, from `{bench_dir}`): {_fmt(rec['job_seconds_total'])}",
        f"- machine: {rec['machine']['cpu_count']} CPU cores ({rec['machine']['processor']}), "
        f"GPU: {rec['machine']['gpu'] or 'none'}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in rec["versions"].items()),
        *([f"- note: {note}"] if note else []),
        "",
        "| rule | jobs | job time |",
        "|---|---:|---:|",
    ]
    lines += [f"| {rule} | {j['jobs']} | {_fmt(j['seconds'])} |" for rule, j in jobs.items()]
    for d in out_dirs:
        Path(d).mkdir(parents=True, exist_ok=True)
        write_json(Path(d) / "run.json", rec)
        write_text(Path(d) / "RUN.md", "\n".join(lines) + "\n")
        shutil.copyfile(config_path, Path(d) / "config.yaml")
    return rec


def main(argv=None) -> None:
    from .. import config as cfgmod

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="the config file the run used")
    p.add_argument("--started", type=float, required=True, help="start of the run, seconds since the epoch")
    p.add_argument("--ended", type=float, default=None, help="end of the run (default: now)")
    p.add_argument("--command", required=True, help="the command that ran the workflow")
    p.add_argument("--commit", default=None, help="the commit the run ran at (default: HEAD now)")
    p.add_argument("--note", default="", help="anything else a reader needs (e.g. later invocations)")
    a = p.parse_args(argv)
    run = cfgmod.load(a.config)["run"]
    rec = record(
        a.config,
        run,
        a.started,
        a.ended or time.time(),
        a.command,
        paths.benchmarks_dir(run),
        [paths.figures_dir(run), paths.tables_dir(run)],
        a.note,
        a.commit,
    )
    print(
        f"run {run}: wall {_fmt(rec['wall_seconds'])}, job time {_fmt(rec['job_seconds_total'])}; "
        f"wrote {paths.figures_dir(run)}/RUN.md and {paths.tables_dir(run)}/RUN.md"
    )


if __name__ == "__main__":
    main()
