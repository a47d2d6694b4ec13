"""Snakemake's own CPU on a long local run: its default job-rate limit (100/1s) against ``1000/10s``.

Found in the paper run (2026-12-02): the ``snakemake`` process itself took 44% of a core (13.7
CPU min in its first 31 min) while two jobs ran on the 2 cores. The cause, in snakemake 9's
``JobScheduler.schedule``: every pass of the scheduling loop arms a new ``threading.Timer`` of the
rate limiter's timespan (1 s by default) that releases the loop again, and every finished job
releases it once more, so each finished job leaves one more 1 Hz chain of passes behind; each
pass re-validates every ready job and stats every input of every ready job
(``update_input_sizes``), even when no core is free. ``--max-jobs-per-timespan 1000/10s`` (the
same 100 jobs per second) makes each chain tick every 10 s instead; its one cost is that
snakemake waits for its last timer, up to 10 s, before it exits.

Since 2026-12-02 the Snakefile also applies ``marl_attacks.snakemake_fixes``: one pending timer at
most, a daemon (no wait at exit). This script runs one synthetic workflow, ``--jobs`` independent
jobs that each sleep ``--sleep`` s and read a shared input file and one of their own, on 2 cores,
under both limits and under ``1000/10s`` with that fix, alternating, and prints snakemake's CPU
seconds (its process and its children: the jobs themselves only sleep) and wall seconds for each.

    python bench/snakemake_scheduler.py [--quick] [--jobs 300] [--sleep 2] [--repeats 1]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C

#: name -> (--max-jobs-per-timespan, whether the Snakefile applies marl_attacks.snakemake_fixes)
VARIANTS = {
    "default (100/1s)": (None, False),
    "1000/10s": ("1000/10s", False),
    "1000/10s + one timer": ("1000/10s", True),
}
FIX = "from marl_attacks.snakemake_fixes import keep_one_reevaluation_timer\nkeep_one_reevaluation_timer()\n"

SNAKEFILE = """
N = {jobs}
rule all:
    input: expand("out/{{i}}.txt", i=range(N))
rule inputs:
    output: "in/shared.txt", expand("in/{{i}}.txt", i=range(N))
    run:
        for f in output:
            with open(f, "w") as fh:
                fh.write("x" * 1000)
rule job:
    input: "in/shared.txt", "in/{{i}}.txt"
    output: "out/{{i}}.txt"
    shell: "sleep {sleep} && cp {{input[1]}} {{output}}"
"""


def run_once(snakemake: str, workdir: Path, limit: str | None, fixed: bool) -> dict:
    for sub in ("in", "out", ".snakemake"):
        shutil.rmtree(workdir / sub, ignore_errors=True)
    cmd = [snakemake, "-s", "Snakefile.fixed" if fixed else "Snakefile", "--cores", "2", "--quiet", "all"]
    if limit:
        cmd += ["--max-jobs-per-timespan", limit]
    log = workdir / "snakemake.log"
    # its output goes to a file: a pipe read only at exit would block snakemake once it filled
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: the CPU time of snakemake and its children
        wall = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"snakemake failed (rc {rc}) with limit {limit}: {log.read_text()[-2000:]}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall}


def main() -> None:
    p = C.parser(__doc__)
    p.add_argument("--jobs", type=int, default=None, help="independent jobs (default 300; quick: 60)")
    p.add_argument("--sleep", type=float, default=2.0, help="seconds each job sleeps")
    p.add_argument("--repeats", type=int, default=1, help="runs of each limit, alternating")
    a = p.parse_args()
    jobs = a.jobs or (60 if a.quick else 300)
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    print(C.machine_line(C.machine()))
    print(f"{jobs} jobs of {a.sleep} s on 2 cores (ideal wall {jobs * a.sleep / 2:.0f} s)")
    results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="sm-sched-") as tmp:
        workdir = Path(tmp)
        (workdir / "Snakefile").write_text(SNAKEFILE.format(jobs=jobs, sleep=a.sleep))
        (workdir / "Snakefile.fixed").write_text(FIX + SNAKEFILE.format(jobs=jobs, sleep=a.sleep))
        for _ in range(a.repeats):
            for name, (limit, fixed) in VARIANTS.items():
                r = run_once(snakemake, workdir, limit, fixed)
                results[name].append(r)
                print(f"  {name:18s} snakemake CPU {r['cpu_s']:7.1f} s, wall {r['wall_s']:7.1f} s")
    mean = {n: {k: sum(r[k] for r in rs) / len(rs) for k in ("cpu_s", "wall_s")} for n, rs in results.items()}
    d, t, f = (mean[name] for name in VARIANTS)
    ratio, ratio_fix = d["cpu_s"] / t["cpu_s"], t["cpu_s"] / f["cpu_s"]
    print(
        f"snakemake CPU, default / 1000/10s: {ratio:.1f}x ({d['cpu_s']:.1f} vs {t['cpu_s']:.1f} s);"
        f" 1000/10s / with one timer: {ratio_fix:.1f}x ({f['cpu_s']:.1f} s);"
        f" wall {d['wall_s']:.1f} / {t['wall_s']:.1f} / {f['wall_s']:.1f} s"
    )
    C.save(
        "snakemake_scheduler",
        {
            "snakemake_cpu_default_vs_1000_per_10s": round(ratio, 2),
            "snakemake_cpu_1000_per_10s_vs_one_timer": round(ratio_fix, 2),
        },
        {"jobs": jobs, "sleep_s": a.sleep, "repeats": a.repeats, "runs": results, "mean": mean},
        a.quick,
        a.no_save,
    )


if __name__ == "__main__":
    main()
