#!/usr/bin/env bash
# SmolLM2-135M as the policy on 20 reasoning-gym questions: `candidates`, then `label` on
# those candidates, then `train` (v1, and 1.5 on the conversations) and `evaluate` reading the
# files as written; prints the time of each phase. Needs `make models` and `pip install
# reasoning-gym`. Usage: scripts/data-pipeline-demo.sh [OUT_DIR] (default runs/data-pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/data-pipeline}
bin=.build/release/dreamprm
mkdir -p "$out"
questions=${QUESTIONS:-20} n=${CANDIDATES:-2}
[ -f "$out/questions.jsonl" ] || python3 tools/demo/build_policy_questions.py "$out/questions.jsonl" "$questions"
policy=(--policy smollm2-135m-instruct --prompt plain --temperature 0.7 --max_tokens "${MAX_TOKENS:-128}" --seed 1 --threads "${THREADS:-2}")

timed() { local name=$1; shift; local t0=$SECONDS; "$@"; echo "$name: $((SECONDS - t0)) s"; }
timed candidates $bin candidates --questions "$out/questions.jsonl" --n "$n" --output "$out/candidates.jsonl" "${policy[@]}" \
    $([ -f "$out/candidates.jsonl" ] && echo --resume)
timed label $bin label --candidates "$out/candidates.jsonl" --output "$out/labels.json" --max_rollouts "${MAX_ROLLOUTS:-8}" "${policy[@]}" \
    $([ -f "$out/labels.json.progress.jsonl" ] && echo --resume)
# The chains the policy got right or wrong are the meta set: v1 records and 1.5 conversations.
python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
sets = [json.loads(l) for l in open(f"{out}/candidates.jsonl")]
with open(f"{out}/meta.jsonl", "w") as f:
    for s in sets:
        # The v1 meta format marks steps `Step N`; the policy's paragraphs are its steps.
        steps = [p.strip() for p in s["candidates"][0].split("\n\n") if p.strip()]
        chain = "\n\n".join(f"Step {k + 1}: {p}" for k, p in enumerate(steps))
        f.write(json.dumps({"true_false": s["true_false"][0], "input": s["question"] + "\n\n" + chain}) + "\n")
convs = [json.loads(l) for l in open(f"{out}/labels.conversations.jsonl")]
with open(f"{out}/meta_1.5.jsonl", "w") as f:
    for c in convs[: max(1, len(convs) // 4)]:
        f.write(json.dumps(dict(c, id="meta-" + c["id"])) + "\n")
EOF
common=(--reward_model smollm2-135m-instruct --iteration_num 20 --batch_size 4 --meta_batch_size 2 --save_every_iterations 10 --threads "${THREADS:-2}")
timed train-v1 $bin train --train_json_file "$out/labels.json" --meta_json_file "$out/meta.jsonl" --weights_path "$out/run-v1" --overwrite "${common[@]}"
timed train-1.5 $bin train --train_json_file "$out/labels.conversations.jsonl" --meta_json_file "$out/meta_1.5.jsonl" \
    --weights_path "$out/run-1.5" --reweighting instance-table --overwrite "${common[@]}"
timed evaluate $bin evaluate --test_json_file "$out/candidates.jsonl" --prm "v1=$out/run-v1" --prm "g=$out/run-1.5" --output "$out/eval" --threads "${THREADS:-2}"
