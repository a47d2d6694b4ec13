#!/usr/bin/env bash
# Second round: time limit as terminal combined with one more change each, and the remaining single changes.
cd /work/wt-qmix-lbf
while kill -0 15804 2>/dev/null; do sleep 10; done
export PYTHONPATH=src OMP_NUM_THREADS=1
run() { echo "$(date +%T) start $*"; /work/main/.venv/bin/python bench/experiments/qmix-lbf/ablate.py "$@" > bench/experiments/qmix-lbf/logs/$1.log 2>&1; echo "$(date +%T) done rc=$? $1"; }
run tl-nstep1 --tl-terminal --set n_step=1
run no-masks --no-masks
run no-norm-state --set normalise_state=false
run tl-train4 --tl-terminal --set train_steps=4
run tl-buffer250k --tl-terminal --set buffer_size=250000
