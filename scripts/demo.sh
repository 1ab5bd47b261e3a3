#!/usr/bin/env bash
# The main job: demo data (built once), a vanilla PRM and DreamPRM trained on one budget,
# both evaluated best-of-8 beside the baselines; prints the table and where the plots are.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DEMO_DATA:-demo/data}
RUNS=${DEMO_RUNS:-runs/demo}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${DEMO_ITERATIONS:-100}
export OMP_NUM_THREADS=$THREADS
started=$(date +%s)
say() { printf '\n== %s (%ds)\n' "$1" $(( $(date +%s) - started )); }

say "building"
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling dreamprm|Build complete" || true
BIN=.build/release/dreamprm
test -x "$BIN"

if [ ! -f "$DATA/test.json" ]; then
    say "building demo data into $DATA (reasoning-gym from PyPI into .demo-python)"
    python3 -m pip install --quiet --disable-pip-version-check --target .demo-python reasoning-gym
    PYTHONPATH=.demo-python python3 tools/demo/build_demo_data.py "$DATA"
fi

# One budget for both: the same iterations, batch, learning rate and trainable layers.
COMMON=(--train_json_file "$DATA/train.json" --meta_json_file "$DATA/meta.json" --iteration_num "$ITERATIONS"
        --batch_size 4 --meta_batch_size 4 --lr 1e-4 --meta_lr 0.1 --unroll_steps 5 --train_layers 4 --head_input hidden
        --save_every_iterations 25 --seed 1 --threads "$THREADS")
for run in vanilla dreamprm; do
    flags=(); [ "$run" = vanilla ] && flags=(--baseline)
    if [ -f "$RUNS/$run/prm.safetensors" ]; then
        say "$run: already trained ($RUNS/$run)"
        continue
    fi
    resume=(); [ -d "$RUNS/$run/checkpoint" ] && resume=(--resume)
    say "training $run PRM"
    "$BIN" train "${COMMON[@]}" "${flags[@]}" "${resume[@]}" --weights_path "$RUNS/$run"
done

say "plots of the DreamPRM run"
"$BIN" plot --run "$RUNS/dreamprm" --highlight products

say "best-of-8 evaluation"
"$BIN" evaluate --test_json_file "$DATA/test.json" --prm "DreamPRM=$RUNS/dreamprm" --prm "vanilla-PRM=$RUNS/vanilla" \
    --output "$RUNS/eval" --threads "$THREADS"

say "learned domain weights (products has corrupted labels)"
cat "$RUNS/dreamprm/domain_weights.json"
say "done: table $RUNS/eval/report.md; plots $RUNS/eval/scaling.png, $RUNS/dreamprm/{domain_weights,weight_trajectories,training_losses}.png"
