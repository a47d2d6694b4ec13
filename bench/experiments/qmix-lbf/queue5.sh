#!/usr/bin/env bash
# Fifth round: the GRU agent with the time limit as terminal (now the QmixConfig option) at 2M, and a second seed.
cd /work/wt-qmix-lbf
while kill -0 17615 2>/dev/null; do sleep 10; done
export PYTHONPATH=src OMP_NUM_THREADS=1
run() { echo "$(date +%T) start $*"; /work/main/.venv/bin/python bench/experiments/qmix-lbf/ablate.py "$@" > bench/experiments/qmix-lbf/logs/$1.log 2>&1; echo "$(date +%T) done rc=$? $1"; }
run tlopt-gru-2M --steps 2050000 --set agent=gru time_limit_terminal=true
run tlopt-gru-seed1 --seed 1 --set agent=gru time_limit_terminal=true
