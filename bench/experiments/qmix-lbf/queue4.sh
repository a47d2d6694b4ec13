#!/usr/bin/env bash
# Fourth round: the helpful changes combined (500k).
cd /work/wt-qmix-lbf
while kill -0 16949 2>/dev/null; do sleep 10; done
export PYTHONPATH=src OMP_NUM_THREADS=1
run() { echo "$(date +%T) start $*"; /work/main/.venv/bin/python bench/experiments/qmix-lbf/ablate.py "$@" > bench/experiments/qmix-lbf/logs/$1.log 2>&1; echo "$(date +%T) done rc=$? $1"; }
run tl-nonorm --tl-terminal --set normalise_state=false
run tl-nonorm-nstep1 --tl-terminal --set normalise_state=false n_step=1
run tl-nonorm-train4 --tl-terminal --set normalise_state=false train_steps=4
