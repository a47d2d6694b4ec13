"""The fix to Snakemake's scheduler timers (marl_attacks.snakemake_fixes)."""

import threading
import time

from snakemake.scheduling.job_scheduler import JobScheduler

from marl_attacks.snakemake_fixes import _schedule_one_reevaluation, keep_one_reevaluation_timer


class FakeScheduler:
    """The one attribute the method touches: the semaphore that wakes the scheduling loop."""

    def __init__(self):
        self._open_jobs = threading.Semaphore(0)

    def wakes(self, within: float) -> int:
        """How many times the loop would be woken within ``within`` seconds."""
        deadline, n = time.monotonic() + within, 0
        while self._open_jobs.acquire(timeout=max(deadline - time.monotonic(), 0)):
            n += 1
        return n


def test_the_pinned_snakemake_has_the_method_and_the_patch_replaces_it():
    assert hasattr(JobScheduler, "_schedule_reevalutation")  # else Snakemake changed: recheck the fix
    original = JobScheduler._schedule_reevalutation
    try:
        assert keep_one_reevaluation_timer()
        assert JobScheduler._schedule_reevalutation is _schedule_one_reevaluation
    finally:
        JobScheduler._schedule_reevalutation = original


def test_many_requests_arm_one_timer_that_wakes_the_loop_once():
    s = FakeScheduler()
    for _ in range(50):  # 50 finished jobs' passes: Snakemake's own method would arm 50 timers
        _schedule_one_reevaluation(s, 0.05)
    assert s.wakes(within=0.5) == 1


def test_a_pass_after_the_wake_arms_the_next_timer():
    """The timer is spent before it wakes the loop, so the pass it starts re-arms (no lost wake-up)."""
    s = FakeScheduler()
    _schedule_one_reevaluation(s, 0.02)
    for _ in range(3):
        assert s._open_jobs.acquire(timeout=1.0)
        _schedule_one_reevaluation(s, 0.02)  # what the woken pass does at its end
    assert s.wakes(within=0.3) == 1


def test_timers_are_daemons_so_snakemake_does_not_wait_for_them_at_exit():
    s = FakeScheduler()
    before = set(threading.enumerate())
    _schedule_one_reevaluation(s, 60)
    new = [t for t in threading.enumerate() if t not in before]
    assert len(new) == 1 and new[0].daemon
    new[0].cancel()
