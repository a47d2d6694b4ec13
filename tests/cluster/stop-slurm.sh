#!/usr/bin/env bash
# Stop the daemons started by start-slurm.sh, by their pid files.
STATE=${SLURM_TEST_STATE:-/tmp/marl-attacks-slurm}
for pid in "$STATE"/run/slurmd.pid "$STATE"/run/slurmctld.pid "$STATE"/run/munged.pid; do
  [ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
done
exit 0
