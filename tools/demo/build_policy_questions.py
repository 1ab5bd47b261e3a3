"""Writes reasoning-gym questions for a policy to answer (`dreamprm candidates`, `dreamprm label`):
JSON Lines of {id, question, answer, dataset}, half two-term sums and half leg counting, so a
small policy gets some right and some wrong.

Run: python3 tools/demo/build_policy_questions.py OUT.jsonl [COUNT]   (needs `pip install reasoning-gym`)
"""
import json
import sys

import reasoning_gym as rg


def main(out, count=20):
    families = [("chain_sum", dict(min_terms=2, max_terms=2, min_digits=1, max_digits=2)),
                ("leg_counting", dict(min_animals=1, max_animals=2, max_instances=3))]
    rows = []
    for name, options in families:
        for i, e in enumerate(rg.create_dataset(name, size=count // len(families), seed=7, **options)):
            rows.append({"id": f"{name}-{i}", "question": e["question"], "answer": str(e["answer"]), "dataset": name})
    with open(out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20)
