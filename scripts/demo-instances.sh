#!/usr/bin/env bash
# DreamPRM-1.5 on the demo data: the instance table trained with its defaults for 300
# iterations on the demo's training chains as 1.5 conversations (the corrupted `products`
# domain judges every step `+`), then the generative PRM evaluated best-of-8 on the demo's test
# set and, where ../shared has it, best-of-4 on the released DreamPRM-1.5 meta file.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DEMO_DATA:-demo/data}
OUT=${DEMO_RUNS:-runs/demo-instances}
THREADS=${THREADS:-$(nproc)}
RELEASED=${RELEASED_META:-../shared/data/dreamprm-release/dreamprm15_meta_MMMU_Pro.json}
export OMP_NUM_THREADS=$THREADS
started=$(date +%s)
say() { printf '\n== %s (%ds)\n' "$1" $(( $(date +%s) - started )); }

. scripts/lib/demo-setup.sh

if [ -f "$OUT/table/prm.safetensors" ]; then
    say "already trained ($OUT/table)"
else
    resume=(); [ -d "$OUT/table/checkpoint" ] && resume=(--resume)
    say "training the instance table (300 iterations)"
    "$BIN" train --reweighting instance-table --train_json_file "$DATA/train_1.5.json" --meta_json_file "$DATA/meta_1.5.json" \
        --weights_path "$OUT/table" --reward_model smollm2-135m-instruct --iteration_num 300 --batch_size 4 --train_layers 4 \
        --seed 1 --save_every_iterations 50 --threads "$THREADS" "${resume[@]}"
fi
say "mean learned weight per domain (products judges every step +)"
python3 - "$OUT/table/instance_weights.json" <<'PY'
import json, sys
weights = json.load(open(sys.argv[1]))
domains = sorted({k.split("-")[0] for k in weights})
print(json.dumps({d: round(sum(w for k, w in weights.items() if k.startswith(d + "-")) /
                          sum(k.startswith(d + "-") for k in weights), 4) for d in domains}))
PY

say "best-of-8 on the demo's test set"
"$BIN" evaluate --test_json_file "$DATA/test.json" --prm "instance-table=$OUT/table" --output "$OUT/eval-demo" --threads "$THREADS" > /dev/null
head -16 "$OUT/eval-demo/report.md"
if [ -f "$RELEASED" ]; then
    say "best-of-4 on the released DreamPRM-1.5 meta file (text only: SmolLM2 reads no images)"
    "$BIN" evaluate --format conversations --test_json_file "$RELEASED" --prm "instance-table=$OUT/table" \
        --output "$OUT/eval-released" --threads "$THREADS" > /dev/null
    head -12 "$OUT/eval-released/report.md"
fi
say "done: $OUT/eval-*/report.md"
