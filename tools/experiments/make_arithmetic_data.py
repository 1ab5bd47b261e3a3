"""A held-out controlled set for domain weights (issue 37): one-step arithmetic on one-digit
operands in the v1 format. Domains `add`, `sub`, `mul` are labelled truthfully (a wrong step is
off by 40 to 90); `noisy` holds more `add` records whose labels are corrupted: randomly permuted
among its records (`--corruption permute`, half of them then disagree with their step) or all
flipped (`flip`). Exactly half of each domain's steps are wrong, or a quarter with
`--balance unbalanced` (the clean domains' label means then differ from the noisy one's). The
meta set is 120 two-step chains (an add/sub/mul step, then an addition), exactly half wrong.

Unlike `make_controlled_data.py`, the domains differ in their texts, not only in their labels,
and the bad domain shares its format with a clean one (`add`). Standard library only.

Run: python3 tools/experiments/make_arithmetic_data.py OUT_DIR [--seed S] [--corruption permute|flip]
     [--balance balanced|unbalanced] [--per_domain N]
"""
import argparse
import json
import os
import random

OPS = {"add": ("+", lambda a, b: a + b), "sub": ("-", lambda a, b: a - b), "mul": ("*", lambda a, b: a * b)}


def step(rng, a, op, b, right):
    symbol, f = OPS[op]
    value = f(a, b) if right else f(a, b) + rng.choice([-1, 1]) * rng.randint(40, 90)
    return f"{a} {symbol} {b} = {value}", value


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--corruption", choices=["permute", "flip"], default="permute")
    p.add_argument("--balance", choices=["balanced", "unbalanced"], default="balanced")
    p.add_argument("--per_domain", type=int, default=64)
    args = p.parse_args()
    rng = random.Random(args.seed)
    n = args.per_domain
    wrong = n // 2 if args.balance == "balanced" else n // 4
    train = []
    for domain in ["add", "sub", "mul", "noisy"]:
        op = "add" if domain == "noisy" else domain
        truth = [i >= wrong for i in range(n)]
        rng.shuffle(truth)
        labels = truth[:]
        if domain == "noisy":
            if args.corruption == "flip":
                labels = [not t for t in truth]
            else:
                rng.shuffle(labels)
        for i in range(n):
            a, b = rng.randint(1, 9), rng.randint(1, 9)
            text, _ = step(rng, a, op, b, truth[i])
            train.append({"id": f"{domain}-{i}", "input": f"Question: What is {a} {OPS[op][0]} {b}?",
                          "add": f"Step 1: {text}.", "dataset": domain, "accuracy": 1.0 if labels[i] else 0.0})
    rng.shuffle(train)
    meta = []
    for m in range(120):
        op = ["add", "sub", "mul"][m % 3]
        a, b, c = rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9)
        # Even chains right; odd ones wrong in their first or their second step.
        first_right = m % 2 == 0 or m % 4 == 3
        second_right = m % 2 == 0 or m % 4 == 1
        first, value = step(rng, a, op, b, first_right)
        second, _ = step(rng, value, "add", c, second_right)
        question = f"Question: What is ({a} {OPS[op][0]} {b}) + {c}?"
        meta.append({"id": f"meta-{m}", "input": f"{question}\n\nStep 1: {first}.\n\nStep 2: {second}.",
                     "true_false": first_right and second_right})
    os.makedirs(args.out, exist_ok=True)
    for name, rows in [("train.json", train), ("meta.json", meta)]:
        with open(os.path.join(args.out, name + ".tmp"), "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(os.path.join(args.out, name + ".tmp"), os.path.join(args.out, name))


if __name__ == "__main__":
    main()
