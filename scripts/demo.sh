#!/usr/bin/env bash
# The main job: demo data (built once); for each of 3 seeds a vanilla PRM and DreamPRM trained
# on one budget and both evaluated best-of-8 beside the baselines; then the mean over seeds.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DEMO_DATA:-demo/data}
RUNS=${DEMO_RUNS:-runs/demo}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${DEMO_ITERATIONS:-60}
SEEDS=${DEMO_SEEDS:-1 2 3}
export OMP_NUM_THREADS=$THREADS
started=$(date +%s)
say() { printf '\n== %s (%ds)\n' "$1" $(( $(date +%s) - started )); }

say "building"
. scripts/lib/demo-setup.sh

# One budget for both: the same iterations, batch, learning rate and trainable layers; the
# default head. DreamPRM adds an upper step every 3 iterations, on 10 meta chains, with the
# hypergradient taken on 2 training records of every domain: with the last lower batch (4
# records of 5 domains) and 2 meta chains the corrupted domain is missing from most upper
# steps, and its weight moved by noise.
COMMON=(--train_json_file "$DATA/train.json" --meta_json_file "$DATA/meta.json" --iteration_num "$ITERATIONS"
        --batch_size 4 --meta_batch_size 10 --lr 1e-4 --meta_lr 0.1 --unroll_steps 3 --hypergradient_batch_per_domain 2 --train_layers 4
        --save_every_iterations 20 --threads "$THREADS")
evals=(); trained=()
for seed in $SEEDS; do
    dir="$RUNS/seed-$seed"
    for run in vanilla dreamprm; do
        flags=(); [ "$run" = vanilla ] && flags=(--baseline)
        if [ -f "$dir/$run/prm.safetensors" ]; then
            say "seed $seed, $run: already trained ($dir/$run)"
            continue
        fi
        resume=(); [ -d "$dir/$run/checkpoint" ] && resume=(--resume)
        say "seed $seed: training the $run PRM"
        "$BIN" train "${COMMON[@]}" "${flags[@]}" "${resume[@]}" --seed "$seed" --weights_path "$dir/$run"
    done
    say "seed $seed: best-of-8 evaluation"
    "$BIN" evaluate --test_json_file "$DATA/test.json" --prm "DreamPRM=$dir/dreamprm" --prm "vanilla-PRM=$dir/vanilla" \
        --output "$dir/eval" --threads "$THREADS" > /dev/null
    evals+=(--eval "$dir/eval"); trained+=(--run "$dir/dreamprm")
done

say "plots of seed ${SEEDS%% *}'s DreamPRM run"
"$BIN" plot --run "$RUNS/seed-${SEEDS%% *}/dreamprm" --highlight products

say "mean over seeds (products has corrupted training labels)"
"$BIN" summarize "${evals[@]}" "${trained[@]}" --seeds "$(echo $SEEDS | tr ' ' ',')" --output "$RUNS/summary"
say "done: $RUNS/summary/summary.md; per seed $RUNS/seed-*/eval/report.md and score_distributions.png; plots in $RUNS/seed-${SEEDS%% *}/dreamprm"
