#!/usr/bin/env bash
# The controlled flipped-instance experiment of DreamPRM-1.5 on the embedded backbone:
# a cold start (`--retrain`: the plain PRM on the training data) as in the papers, then
# `dreamprm train --reweighting instance-table` and `instance-net` from it (`--init_from`) on 32
# training conversations, a quarter of them with every judgement flipped, and a clean meta
# set. Both methods run side by side, one thread each. Prints, for each
# method, the AUC of "lower weight" as a detector of the flipped instances (1 = every flipped
# instance below every clean one, 0.5 = chance) and passes when both reach 0.8.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${EXPERIMENT_DIR:-runs/experiment-instances}
THREADS=${THREADS:-$(nproc)}
COLD_START=${EXPERIMENT_COLD_START:-60}
ITERATIONS=${EXPERIMENT_ITERATIONS:-150}
METHODS=${EXPERIMENT_METHODS:-instance-table instance-net}
export OMP_NUM_THREADS=$THREADS

build_log=$(mktemp)
if ! swift build -c release > "$build_log" 2>&1; then
    grep -E "error" "$build_log" | head -20; echo "the build failed (full log: $build_log)"; exit 1
fi
BIN=.build/release/dreamprm
# 32 instances, so that in 150 iterations of batch 4 each is in about 19 batches: a table
# entry moves only when its instance is in the batch (with 64 instances, about 9 visits each,
# the table reached an AUC of 0.647).
INSTANCES=${EXPERIMENT_INSTANCES:-32}
python3 tools/experiments/make_instance_data.py "$OUT/data" "$INSTANCES"
# The data-sized settings: batches of 4 instances, the top 4 layers trained; the rest are each
# method's defaults (METHOD.md §5).
COMMON=(--train_json_file "$OUT/data/train.json" --meta_json_file "$OUT/data/meta.json" --batch_size 4 --train_layers 4
        --save_every_iterations 1000 --seed "${SEED:-1}" --overwrite)
started=$(date +%s)
"$BIN" train --reweighting instance-table --retrain "${COMMON[@]}" --weights_path "$OUT/cold-start" --iteration_num "$COLD_START" --threads "$THREADS"
echo "cold start: $(( $(date +%s) - started )) s"
pids=()
for method in $METHODS; do
    ( started=$(date +%s)
      OMP_NUM_THREADS=1 "$BIN" train --reweighting "$method" "${COMMON[@]}" --init_from "$OUT/cold-start" --weights_path "$OUT/$method" \
          --iteration_num "$ITERATIONS" --meta_batch_size 4 --threads 1 > "$OUT/$method.log" 2>&1
      echo "$(( $(date +%s) - started ))" > "$OUT/$method.seconds" ) &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
status=0
for method in $METHODS; do
    python3 - "$OUT/$method/instance_weights.json" "$OUT/data/flipped.json" "$method" "$(cat "$OUT/$method.seconds")" <<'PY' || status=1
import json, sys
weights, flipped = json.load(open(sys.argv[1])), set(json.load(open(sys.argv[2])))
bad = [w for k, w in weights.items() if k in flipped]
good = [w for k, w in weights.items() if k not in flipped]
auc = sum(1.0 if b < g else 0.5 if b == g else 0.0 for b in bad for g in good) / (len(bad) * len(good))
mean = lambda xs: sum(xs) / len(xs)
print(f"{sys.argv[3]}: AUC {auc:.3f} (flipped mean weight {mean(bad):.4f}, clean {mean(good):.4f}); {sys.argv[4]} s (one thread, beside the other method)")
sys.exit(0 if auc >= 0.8 else 1)
PY
done
exit $status
