#!/usr/bin/env bash
# Issue 37's held-out sets (tools/experiments/make_family_data.py: a family of three one-step
# tasks labelled truthfully, and noisy = more of the first task with corrupted labels) trained
# with each hypergradient method on SmolLM2, with the issue's flags: defaults except
# --iteration_num 300 --unroll_steps 1 --lr 1e-5 --meta_lr 0.05 --train_layers 4 --seed S.
# Prints one JSON line per run: the method, the weights, noisy's rank (1 = lowest), the run's
# verdict and each domain's mean alignment cosine with the meta gradient by parameter group.
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
        started=$(date +%s)
        "$BIN" train --train_json_file "$data/train.json" --meta_json_file "$data/meta.json" --weights_path "$run" \
            --iteration_num "$ITERATIONS" --unroll_steps 1 --lr 1e-5 --meta_lr 0.05 --train_layers 4 --seed "$seed" \
            --hypergradient "$method" --save_every_iterations 1000 --threads "$THREADS" $EXTRA > "$run.log" 2>&1 \
            || { tail -5 "$run.log"; exit 1; }
        python3 - "$run" "$method" "$seed" "$CORRUPTION" "$BALANCE" "$(( $(date +%s) - started ))" "$TAG" "$EXTRA" "$FAMILY" <<'PY'
import json, sys, collections
run, method, seed, corruption, balance, seconds, tag, extra, family = sys.argv[1:]
w = json.load(open(f"{run}/domain_weights.json"))
report = json.load(open(f"{run}/run_report.json"))
cos, centred, meta_accuracy = collections.defaultdict(list), collections.defaultdict(list), []
for line in open(f"{run}/metrics.jsonl"):
    m = json.loads(line)
    for key, value in m.get("alignment", {}).items():
        if key.endswith("/cosine"):
            cos[key[: -len("/cosine")]].append(value)
    h = m.get("hypergradient_by_domain")
    if h:  # only differences between domains move normalised weights
        for d, g in h.items():
            centred[d].append(g - sum(h.values()) / len(h))
    if "meta_accuracy" in m:
        meta_accuracy.append(m["meta_accuracy"])
def mean(x): return sum(x) / len(x)
def sd(x): return (sum((v - mean(x)) ** 2 for v in x) / (len(x) - 1)) ** 0.5
print(json.dumps({"tag": tag, "flags": extra, "family": family, "method": method, "seed": int(seed), "corruption": corruption,
                  "balance": balance,
                  "weights": {k: round(v, 3) for k, v in sorted(w.items())},
                  "noisy_rank": sorted(w, key=w.get).index("noisy") + 1,
                  "verdict": report.get("weightsVerdict", {}).get("summary"),
                  "mean_cosine": {k: round(sum(v) / len(v), 4) for k, v in sorted(cos.items())},
                  # a domain's hypergradient over the run: its mean against its batch-to-batch spread
                  "hypergradient_mean_over_sd": {d: round(mean(x) / sd(x), 3) for d, x in sorted(centred.items())},
                  "meta_accuracy_last_100": round(mean(meta_accuracy[-100:]), 3),
                  "seconds": int(seconds)}))
PY
    done
done
