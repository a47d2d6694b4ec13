#!/usr/bin/env bash
# Start a one-node SLURM cluster on localhost (root, no systemd) for tests/test_cluster.py.
# Installs Debian's slurm-wlm and munge if missing. Prints the state folder; stop with stop-slurm.sh.
set -euo pipefail
STATE=${SLURM_TEST_STATE:-/tmp/marl-attacks-slurm}
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  echo "slurmctld/slurmd already running on this machine; stop them first" >&2
  exit 1
fi
mkdir -p "$STATE"/{spool,ctld,log,run} /etc/munge /var/log/munge /run/munge /var/lib/munge /etc/slurm
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || munged --force --pid-file "$STATE/run/munged.pid"
HOST=$(hostname -s)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=marltest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
DefMemPerCPU=1000
NodeName=$HOST CPUs=$(nproc --all) RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -c 2>/dev/null || slurmctld
slurmd
for _ in $(seq 50); do
  sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break
  sleep 0.2
done
sinfo
echo "$STATE"
