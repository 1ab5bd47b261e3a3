#!/usr/bin/env bash
# The controlled corrupted-domain experiment on the embedded backbone: `dreamprm train` with
# its default head (standardised logits head) and full fine-tuning of SmolLM2-135M-Instruct,
# on 4 domains whose labels are truthful except one's (randomly permuted, half of them wrong).
# Passes when the corrupted domain ends with the lowest weight; prints the weights and margin.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${EXPERIMENT_DIR:-runs/experiment}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${EXPERIMENT_ITERATIONS:-50}
export OMP_NUM_THREADS=$THREADS
started=$(date +%s)

# A failed build stops here: an older binary must not run in its place.
build_log=$(mktemp)
if ! swift build -c release > "$build_log" 2>&1; then
    grep -E "error" "$build_log" | head -20; echo "the build failed (full log: $build_log)"; exit 1
fi
BIN=.build/release/dreamprm
python3 tools/experiments/make_controlled_data.py "$OUT/data"
rm -rf "$OUT/dreamprm"
# Defaults everywhere (lr 5e-7, AdamW, darts, head) but the data-sized ones: 192 records, so
# batches of 8 and an upper step after every lower step.
"$BIN" train --train_json_file "$OUT/data/train.json" --meta_json_file "$OUT/data/meta.json" --weights_path "$OUT/dreamprm" \
    --iteration_num "$ITERATIONS" --batch_size 8 --meta_batch_size 8 --unroll_steps 1 --meta_lr 0.05 \
    --save_every_iterations 1000 --seed "${SEED:-1}" --threads "$THREADS"

python3 - "$OUT/dreamprm/domain_weights.json" "$(( $(date +%s) - started ))" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
clean = min(v for k, v in w.items() if k != "corrupted")
print("weights:", ", ".join(f"{k} {v:.3f}" for k, v in sorted(w.items())))
print(f"corrupted {w['corrupted']:.3f}, lowest clean domain {clean:.3f}, margin {clean - w['corrupted']:.3f}; {sys.argv[2]} s")
sys.exit(0 if w["corrupted"] < clean else 1)
PY
