"""One fix to Snakemake's local scheduler, applied by the Snakefile (``snakemake`` pinned to 9.27.1).

Snakemake 9's ``JobScheduler.schedule`` ends every scheduling pass by arming a new
``threading.Timer`` of the job-rate limiter's timespan (``--max-jobs-per-timespan``, default
``100/1s``) that wakes the loop again; every finished job wakes it once more. So each finished job
leaves one more self-renewing chain of timers behind, for as long as any job waits to run, and every
pass resets every ready job's params and resources and runs the job selector. In the paper run
(609 jobs on 2 cores) the snakemake process took 44% of a core by the 236th job under the default
limit, and 17% on average (23% by the end) under ``1000/10s`` (``bench/snakemake_scheduler.py``).

The limiter needs one pending re-evaluation at most: a pass looks at every ready job.
:func:`keep_one_reevaluation_timer` makes ``JobScheduler._schedule_reevalutation`` (sic) arm a
timer only when none is pending, as a daemon thread, so Snakemake no longer waits up to one
timespan for its last timer before it exits. The timer marks itself spent before it wakes the loop,
so the pass it starts always arms the next one: a limited job is never left without a wake-up.
"""

from __future__ import annotations

import threading

#: the private method this replaces; tests/test_snakemake_fixes.py fails if the pinned Snakemake lacks it
TARGET = "snakemake.scheduling.job_scheduler.JobScheduler._schedule_reevalutation"


def _schedule_one_reevaluation(self, delay: float) -> None:
    """``JobScheduler._schedule_reevalutation`` with at most one timer pending per scheduler."""
    lock = self.__dict__.setdefault("_reevaluation_lock", threading.Lock())
    with lock:
        if self.__dict__.get("_reevaluation_pending"):
            return
        self._reevaluation_pending = True

    def wake() -> None:
        with lock:
            self._reevaluation_pending = False  # before the release: the pass it starts re-arms
        self._open_jobs.release()

    timer = threading.Timer(delay, wake)
    timer.daemon = True
    timer.start()


def keep_one_reevaluation_timer() -> bool:
    """Patch Snakemake's scheduler (see the module doc); True when applied (or already), False when
    this Snakemake has no such method (the workflow then runs with Snakemake's own behaviour)."""
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError:
        return False
    if not hasattr(JobScheduler, "_schedule_reevalutation"):
        return False
    JobScheduler._schedule_reevalutation = _schedule_one_reevaluation
    return True
