#!/usr/bin/env bash
# Issue 37's held-out sets (tools/experiments/make_family_data.py: a family of three one-step
# tasks labelled truthfully, and noisy = more of the first task with corrupted labels) trained
# with each hypergradient method on SmolLM2, with the issue's flags: defaults except
# --iteration_num 300 --unroll_steps 1 --lr 1e-5 --meta_lr 0.05 --train_layers 4 --seed S.
# Prints one JSON line per run (tools/experiments/summarise_runs.py; --markdown makes a table of
# several): the upper level's settings, the weights, noisy's rank (1 = lowest), the verdict, each
# domain's hypergradient mean over its spread, and the meta batches' accuracy and loss.
#   FAMILY=arithmetic METHODS="darts darts-step" SEEDS="1" CORRUPTION=permute BALANCE=balanced \
#       scripts/experiment-hypergradients.sh
# EXTRA adds flags to every run and TAG names them (e.g. EXTRA="--meta_batch_size 8" TAG=meta8).
# The binary is copied into the output folder first, so a rebuild does not touch running runs.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${EXPERIMENT_DIR:-runs/experiment-hypergradients}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${EXPERIMENT_ITERATIONS:-300}
METHODS=${METHODS:-darts darts-step}
SEEDS=${SEEDS:-1}
FAMILY=${FAMILY:-arithmetic}
CORRUPTION=${CORRUPTION:-permute}
BALANCE=${BALANCE:-balanced}
EXTRA=${EXTRA:-}
TAG=${TAG:-defaults}
export OMP_NUM_THREADS=$THREADS

build_log=$(mktemp)
if ! swift build -c release > "$build_log" 2>&1; then
    grep -E "error" "$build_log" | head -20; echo "the build failed (full log: $build_log)"; exit 1
fi
mkdir -p "$OUT"
BIN=$(mktemp "$OUT/dreamprm.XXXXXX")
cp .build/release/dreamprm "$BIN" && chmod +x "$BIN"
trap 'rm -f "$BIN"' EXIT

for seed in $SEEDS; do
    data="$OUT/data-$FAMILY-$CORRUPTION-$BALANCE-$seed"
    python3 tools/experiments/make_family_data.py "$data" --family "$FAMILY" --seed "$seed" --corruption "$CORRUPTION" \
        --balance "$BALANCE"
    for method in $METHODS; do
        run="$OUT/$TAG-$method-$FAMILY-$CORRUPTION-$BALANCE-$seed"
        rm -rf "$run"
        "$BIN" train --train_json_file "$data/train.json" --meta_json_file "$data/meta.json" --weights_path "$run" \
            --iteration_num "$ITERATIONS" --unroll_steps 1 --lr 1e-5 --meta_lr 0.05 --train_layers 4 --seed "$seed" \
            --hypergradient "$method" --save_every_iterations 1000 --threads "$THREADS" $EXTRA > "$run.log" 2>&1 \
            || { tail -5 "$run.log"; exit 1; }
        python3 tools/experiments/summarise_runs.py "$run"
    done
done
