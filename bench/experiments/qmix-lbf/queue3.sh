#!/usr/bin/env bash
# Third round: GRU agent with the time limit as terminal.
cd /work/wt-qmix-lbf
while kill -0 16497 2>/dev/null; do sleep 10; done
export PYTHONPATH=src OMP_NUM_THREADS=1
run() { echo "$(date +%T) start $*"; /work/main/.venv/bin/python bench/experiments/qmix-lbf/ablate.py "$@" > bench/experiments/qmix-lbf/logs/$1.log 2>&1; echo "$(date +%T) done rc=$? $1"; }
run tl-gru --tl-terminal --set agent=gru
