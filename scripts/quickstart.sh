#!/usr/bin/env bash
# The README's quick start on examples/: a small DreamPRM run on the embedded model, best-of-N
# evaluation (both test formats) and scoring of chains; prints the time it took.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${QUICKSTART_DIR:-runs/quickstart}
BIN=.build/release/dreamprm
started=$(date +%s)
rm -rf "$OUT"
"$BIN" train --train_json_file examples/v1_train.json --meta_json_file examples/v1_meta.jsonl --weights_path "$OUT/prm" \
    --iteration_num 10 --batch_size 2 --unroll_steps 5 --train_layers 1 --head_input hidden --lr 1e-4
"$BIN" evaluate --test_json_file examples/best_of_n_test.json --prm "quick=$OUT/prm" --output "$OUT/eval" > /dev/null
"$BIN" evaluate --test_json_file examples/conversations_1.5.jsonl --format conversations --prm "quick=$OUT/prm" --output "$OUT/eval-1.5" > /dev/null
"$BIN" score --prm "$OUT/prm" --input examples/chains.jsonl --output "$OUT/scores.jsonl"
echo "quick start done in $(( $(date +%s) - started )) s: $OUT/eval/report.md, $OUT/eval-1.5/report.md, $OUT/scores.jsonl"
