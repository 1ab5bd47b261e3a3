"""Data for the controlled corrupted-domain experiment (`make experiment`): four domains of
v1 training records whose single step is right or wrong by one word, three labelled truthfully
and one (`corrupted`) with its labels randomly permuted among its own records (half of them
then disagree with the step), and a clean meta set of two-step chains.

Every domain holds the same texts, so nothing but the step's verdict word tells a record's
label; only the labels differ between domains. Standard library only.

Run: python3 tools/experiments/make_controlled_data.py OUT_DIR [RECORDS_PER_DOMAIN]
"""
import json
import os
import random
import sys

DOMAINS = ["alpha", "beta", "gamma", "corrupted"]
NOUNS = ["box", "cup", "lamp", "door", "pipe", "gate"]


def step(noun, ok):
    return f"the {noun} is {'fine' if ok else 'broken'}."


def main(out, per_domain=48):
    rng = random.Random(20)
    verdicts = [i % 2 == 0 for i in range(per_domain)]
    # A permutation that keeps exactly half of the labels right: coin flips, not inverted labels.
    while True:
        permuted = verdicts[:]
        rng.shuffle(permuted)
        if sum(a == b for a, b in zip(verdicts, permuted)) == per_domain // 2:
            break
    train = []
    for domain in DOMAINS:
        labels = permuted if domain == "corrupted" else verdicts
        for i, ok in enumerate(verdicts):
            noun = NOUNS[(i // 2) % len(NOUNS)]
            train.append({"id": f"{domain}-{i}", "input": f"Question: is the {noun} in order?",
                          "add": f"Step 1: {step(noun, ok)}", "dataset": domain, "accuracy": 1.0 if labels[i] else 0.0})
    rng.shuffle(train)
    meta = []
    for m in range(16):
        steps = [True, True] if m % 2 == 0 else [(m // 2) % 2 == 0, (m // 2) % 2 == 1]
        noun = NOUNS[m % len(NOUNS)]
        chain = "\n\n".join(f"Step {k + 1}: {step(noun, ok)}" for k, ok in enumerate(steps))
        meta.append({"id": f"meta-{m}", "input": f"Question: is the {noun} in order?\n\n{chain}", "true_false": all(steps)})
    os.makedirs(out, exist_ok=True)
    for name, rows in [("train.json", train), ("meta.json", meta)]:
        with open(os.path.join(out, name + ".tmp"), "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
