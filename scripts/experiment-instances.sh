#!/usr/bin/env bash
# The controlled flipped-instance experiment of DreamPRM-1.5 on the embedded backbone:
# `dreamprm train --reweighting instance-table` and `instance-net` on 64 training conversations,
# a quarter of them with every judgement flipped, and a clean meta set. Prints, for each
# method, the AUC of "lower weight" as a detector of the flipped instances (1 = every flipped
# instance below every clean one, 0.5 = chance) and passes when both reach 0.8.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${EXPERIMENT_DIR:-runs/experiment-instances}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${EXPERIMENT_ITERATIONS:-200}
METHODS=${EXPERIMENT_METHODS:-instance-table instance-net}
export OMP_NUM_THREADS=$THREADS

build_log=$(mktemp)
if ! swift build -c release > "$build_log" 2>&1; then
    grep -E "error" "$build_log" | head -20; echo "the build failed (full log: $build_log)"; exit 1
fi
BIN=.build/release/dreamprm
python3 tools/experiments/make_instance_data.py "$OUT/data"
status=0
for method in $METHODS; do
    started=$(date +%s)
    # The method's defaults (METHOD.md §5) but the data-sized settings: batches of 4 instances,
    # 4 meta conversations per upper step, the top 4 layers trained.
    "$BIN" train --reweighting "$method" --train_json_file "$OUT/data/train.json" --meta_json_file "$OUT/data/meta.json" \
        --weights_path "$OUT/$method" --overwrite --iteration_num "$ITERATIONS" --batch_size 4 --meta_batch_size 4 \
        --train_layers 4 --save_every_iterations 1000 --seed "${SEED:-1}" --threads "$THREADS"
    python3 - "$OUT/$method/instance_weights.json" "$OUT/data/flipped.json" "$method" "$(( $(date +%s) - started ))" <<'PY' || status=1
import json, sys
weights, flipped = json.load(open(sys.argv[1])), set(json.load(open(sys.argv[2])))
bad = [w for k, w in weights.items() if k in flipped]
good = [w for k, w in weights.items() if k not in flipped]
auc = sum(1.0 if b < g else 0.5 if b == g else 0.0 for b in bad for g in good) / (len(bad) * len(good))
mean = lambda xs: sum(xs) / len(xs)
print(f"{sys.argv[3]}: AUC {auc:.3f} (flipped mean weight {mean(bad):.4f}, clean {mean(good):.4f}); {sys.argv[4]} s")
sys.exit(0 if auc >= 0.8 else 1)
PY
done
exit $status
