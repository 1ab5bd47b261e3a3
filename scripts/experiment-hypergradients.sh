#!/usr/bin/env bash
# Issue 37's held-out arithmetic set (add, sub, mul truthful; noisy = add with corrupted labels)
# trained with each hypergradient method on SmolLM2, with the issue's flags: defaults except
# --iteration_num 300 --unroll_steps 1 --lr 1e-5 --meta_lr 0.05 --train_layers 4 --seed S.
# Prints one JSON line per run: the method, the weights, noisy's rank (1 = lowest), the run's
# verdict and each domain's mean alignment cosine with the meta gradient by parameter group.
#   METHODS="darts darts-step" SEEDS="1" CORRUPTION=permute BALANCE=balanced scripts/experiment-hypergradients.sh
# EXTRA adds flags to every run and TAG names them (e.g. EXTRA="--meta_batch_size 8" TAG=meta8).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${EXPERIMENT_DIR:-runs/experiment-hypergradients}
THREADS=${THREADS:-$(nproc)}
ITERATIONS=${EXPERIMENT_ITERATIONS:-300}
METHODS=${METHODS:-darts darts-step}
SEEDS=${SEEDS:-1}
CORRUPTION=${CORRUPTION:-permute}
BALANCE=${BALANCE:-balanced}
EXTRA=${EXTRA:-}
TAG=${TAG:-defaults}
export OMP_NUM_THREADS=$THREADS

build_log=$(mktemp)
if ! swift build -c release > "$build_log" 2>&1; then
    grep -E "error" "$build_log" | head -20; echo "the build failed (full log: $build_log)"; exit 1
fi
BIN=.build/release/dreamprm

for seed in $SEEDS; do
    data="$OUT/data-$CORRUPTION-$BALANCE-$seed"
    python3 tools/experiments/make_arithmetic_data.py "$data" --seed "$seed" --corruption "$CORRUPTION" --balance "$BALANCE"
    for method in $METHODS; do
        run="$OUT/$TAG-$method-$CORRUPTION-$BALANCE-$seed"
        rm -rf "$run"
        started=$(date +%s)
        "$BIN" train --train_json_file "$data/train.json" --meta_json_file "$data/meta.json" --weights_path "$run" \
            --iteration_num "$ITERATIONS" --unroll_steps 1 --lr 1e-5 --meta_lr 0.05 --train_layers 4 --seed "$seed" \
            --hypergradient "$method" --save_every_iterations 1000 --threads "$THREADS" $EXTRA > "$run.log" 2>&1 \
            || { tail -5 "$run.log"; exit 1; }
        python3 - "$run" "$method" "$seed" "$CORRUPTION" "$BALANCE" "$(( $(date +%s) - started ))" "$TAG" "$EXTRA" <<'PY'
import json, sys, collections
run, method, seed, corruption, balance, seconds, tag, extra = sys.argv[1:]
w = json.load(open(f"{run}/domain_weights.json"))
report = json.load(open(f"{run}/run_report.json"))
cos = collections.defaultdict(list)
for line in open(f"{run}/metrics.jsonl"):
    for key, value in json.loads(line).get("alignment", {}).items():
        if key.endswith("/cosine"):
            cos[key[: -len("/cosine")]].append(value)
print(json.dumps({"tag": tag, "flags": extra, "method": method, "seed": int(seed), "corruption": corruption, "balance": balance,
                  "weights": {k: round(v, 3) for k, v in sorted(w.items())},
                  "noisy_rank": sorted(w, key=w.get).index("noisy") + 1,
                  "verdict": report.get("weightsVerdict", {}).get("summary"),
                  "mean_cosine": {k: round(sum(v) / len(v), 4) for k, v in sorted(cos.items())},
                  "seconds": int(seconds)}))
PY
    done
done
