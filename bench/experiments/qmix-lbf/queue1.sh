#!/usr/bin/env bash
# First round of one-change ablations (500k steps each), one at a time.
cd /work/wt-qmix-lbf
export PYTHONPATH=src OMP_NUM_THREADS=1
run() { echo "$(date +%T) start $*"; /work/main/.venv/bin/python bench/experiments/qmix-lbf/ablate.py "$@" > bench/experiments/qmix-lbf/logs/$1.log 2>&1; echo "$(date +%T) done rc=$? $1"; }
mkdir -p bench/experiments/qmix-lbf/logs
run baseline
run tl-terminal --tl-terminal
run nstep1 --set n_step=1
run no-std-rewards --set standardise_rewards=false
run eps-500k --set eps_anneal_steps=500000
run gru --set agent=gru
