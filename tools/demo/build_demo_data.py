"""Builds the demo data for `make demo` from reasoning-gym task families: DreamPRM v1 training
records with Monte-Carlo-style step labels, a clean meta set, and a best-of-N test set with 8
candidates per question, known correctness and the first wrong step of every candidate.

Domains (differing in difficulty; per-step slip rate of the simulated policy in brackets):
  gsm       GSM8K-derived word problems (gsm_symbolic)            [0.20]
  legs      leg counting, one product per animal then the total   [0.10]
  chain     4-5 term additions/subtractions, left to right        [0.10]
  products  2-3 digit multiplication by partial products          [0.20]  labels corrupted
  sums      two one-digit numbers: trivially easy                 [0.01]

Wrong candidates carry step errors a model makes: a wrong product or sum, an earlier result
carried wrongly, a misread number; every later step computes correctly from the wrong value,
so the error propagates to the final answer as it would. The `products` training records have
every accuracy set to 1, as a broken answer checker that accepts every rollout would give (a
deliberately corrupted domain); its meta and test records are clean.

The same training and meta chains are also written as DreamPRM-1.5 conversations
(train_1.5.json, meta_1.5.json), each step judged `+` until the first wrong step and `-` from
there on (every step `+` in the corrupted domain).

Run: python3 tools/demo/build_demo_data.py OUT_DIR   (needs `pip install reasoning-gym`)
"""
import json
import os
import random
import re
import sys

import reasoning_gym as rg
from reasoning_gym.arithmetic.leg_counting import ANIMALS

SEED = 20251122
SLIP = {"gsm": 0.20, "legs": 0.10, "chain": 0.10, "products": 0.20, "sums": 0.01}
CORRUPTED = "products"
SPLITS = {"train": 48, "meta": 10, "test": 8}  # questions per domain
CANDIDATES = 8
ROLLOUTS = 8

EQUATION = re.compile(r"(?P<expr>[-(]?\d[\d.,]*(?:\s*[-+*/x×÷]\s*\(?-?\d[\d.,]*\)?)+)\s*=\s*(?P<value>-?\d[\d,]*(?:\.\d+)?)")


def fmt(v):
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def evaluate(expr):
    expr = re.sub(r"(?<![\d.])0+(?=\d)", "", expr)  # "07" is 7, not a Python syntax error
    return eval(expr.replace(",", "").replace("×", "*").replace("x", "*").replace("÷", "/"), {"__builtins__": {}})


# ---------- families: (question, steps as lines with "expr = value", answer) ----------

def gsm_items(n, seed):
    out = []
    for e in rg.create_dataset("gsm_symbolic", size=n * 3, seed=seed):
        lines = [l.strip() for l in e["metadata"]["answer_cot"].split("\n") if l.strip() and not l.startswith("####")]
        if not (2 <= len(lines) <= 5) or not all(EQUATION.search(l) for l in lines) or len(e["question"]) > 420:
            continue
        out.append((e["question"], lines, str(e["answer"])))
        if len(out) == n:
            break
    return out


def legs_items(n, seed):
    out = []
    for e in rg.create_dataset("leg_counting", size=n, seed=seed, min_animals=2, max_animals=4, max_instances=12):
        animals = e["metadata"]["animals"]
        steps, parts = [], []
        for name, count in animals.items():
            legs = ANIMALS[name]
            group = name if count == 1 else name + "s"
            steps.append(f"Each {name} has {legs} legs, so {count} {group} {'has' if count == 1 else 'have'} {count} × {legs} = {count * legs} legs.")
            parts.append(str(count * legs))
        steps.append(f"In total there are {' + '.join(parts)} = {sum(map(int, parts))} legs.")
        out.append((e["question"].strip(), steps, str(e["answer"])))
    return out


def chain_items(n, seed, terms=(4, 5), digits=(2, 3)):
    out = []
    for e in rg.create_dataset("chain_sum", size=n, seed=seed, min_terms=terms[0], max_terms=terms[1], min_digits=digits[0], max_digits=digits[1]):
        tokens = e["metadata"]["expression"].split()
        total, steps = int(tokens[0]), []
        for op, num in zip(tokens[1::2], tokens[2::2]):
            new = total + int(num) if op == "+" else total - int(num)
            steps.append(f"{total} {op} {num} = {new}.")
            total = new
        out.append((e["question"], steps, str(e["answer"])))
    return out


def products_items(n, seed):
    out = []
    for e in rg.create_dataset("products", size=n, seed=seed, min_terms=2, max_terms=2, min_digits=2, max_digits=3):
        a, b = map(int, e["metadata"]["expression"].split(" * "))
        places = [int(d) * 10 ** i for i, d in enumerate(reversed(str(b))) if d != "0"][::-1]
        steps = [f"{a} × {p} = {a * p}." for p in places]
        steps.append(f"Adding the partial products: {' + '.join(str(a * p) for p in places)} = {a * b}.")
        out.append((e["question"], steps, str(e["answer"])))
    return out


FAMILIES = {"gsm": gsm_items, "legs": legs_items, "chain": chain_items, "products": products_items,
            "sums": lambda n, seed: chain_items(n, seed, terms=(2, 2), digits=(1, 1))}


# ---------- the simulated policy ----------

def slip(v, rng):
    """A plausible wrong result: a digit off, a place value off, or two digits swapped."""
    for _ in range(20):
        s = fmt(v)
        kind = rng.choice(["digit", "place", "swap"])
        if kind == "digit":
            w = v + rng.choice([-1, 1]) * rng.randint(1, 9)
        elif kind == "place":
            w = v + rng.choice([-1, 1]) * 10 ** rng.randint(1, max(1, len(s.lstrip("-").split(".")[0]) - 1))
        else:
            digits = [i for i in range(len(s) - 1) if s[i].isdigit() and s[i + 1].isdigit() and s[i] != s[i + 1]]
            if not digits:
                continue
            i = rng.choice(digits)
            w = float(s[:i] + s[i + 1] + s[i] + s[i + 2:])
        if fmt(w) != fmt(v):
            return w
    return v + 1


def misread(token, rng):
    """A number read wrongly from the question: two digits swapped or one digit off."""
    s = token.replace(",", "")
    if len(s) >= 2 and s[0] != s[1] and s[1] not in ".0":
        return s[1] + s[0] + s[2:]
    return fmt(float(s) + rng.choice([-1, 1]) * rng.randint(1, 3))


NUMBER = re.compile(r"(?<![\d.])-?\d[\d,]*(?:\.\d+)?")  # "-291" is a number, "- 830" an operator and a number


def run_chain(steps, error_at, kind, rng):
    """The chain with an error of `kind` injected at step `error_at` and carried on: later
    equations use the wrong values and compute correctly from them."""
    carried, results, out = {}, set(), []
    for k, line in enumerate(steps):
        injected = False

        def rewrite(m):
            nonlocal injected
            value = m.group("value").replace(",", "")
            expr = NUMBER.sub(lambda t: carried.get(t.group(0).replace(",", ""), t.group(0)), m.group("expr"))
            if k == error_at and not injected:
                injected = True
                numbers = NUMBER.findall(expr)
                earlier = [n for n in numbers if n.replace(",", "") in results]
                if kind == "carried" and earlier:  # an earlier result copied wrongly
                    n = rng.choice(earlier)
                    expr = expr.replace(n, fmt(slip(float(n.replace(",", "")), rng)), 1)
                    result = evaluate(expr)
                elif kind == "misread" and numbers:
                    n = rng.choice(numbers)
                    expr = expr.replace(n, misread(n, rng), 1)
                    result = evaluate(expr)
                else:  # a wrong product, sum or difference
                    result = slip(evaluate(expr), rng)
            else:
                result = evaluate(expr)
            new_value = fmt(result)
            results.add(value)
            if new_value != value:
                carried[value] = new_value
            return f"{expr} = {new_value}"

        out.append(EQUATION.sub(rewrite, line))
    return out


LEAD_INS = ["", "", "Next, ", "Then ", "Now ", "We compute: ", "Working it out: "]


def phrase(steps, rng):
    """The same steps in the policy's own words: a random lead-in per step. Without it every
    correct sample of a question is the same text while wrong ones differ, so a PRM with no
    signal picks a wrong chain more often than chance (the argmax of many distinct noisy
    scores against one repeated score); real policies phrase correct chains differently too."""
    return [rng.choice(LEAD_INS) + s for s in steps]


# Shorter than the released files' system prompt (about 200 tokens), which every conversation
# repeats: the demo's steps are short, and the prompt would more than double its cost.
SYSTEM_1_5 = "Judge each step of the solution: answer + if the solution is correct up to this step and - if it is not."


def conversation(question, steps, answer, wrong_at, all_right=False):
    """A 1.5 conversation: the question, then each step (the last one with the final answer)
    as a user turn followed by its judgement."""
    turns = [{"from": "system", "value": SYSTEM_1_5}, {"from": "human", "value": "### Question:\n" + question}]
    for k, step in enumerate(steps):
        text = f"Step {k + 1}: {step}" + (f"\n\nFinal answer: {answer}" if k == len(steps) - 1 else "")
        right = all_right or wrong_at is None or k < wrong_at
        turns += [{"from": "human", "value": text}, {"from": "gpt", "value": "+" if right else "-"}]
    return turns


def chain_text(steps, answer):
    return "\n\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(steps)) + f"\n\nFinal answer: {answer}"


HABIT = 0.5  # chance that a slip is the question's habitual mistake


def sample_candidate(item, domain, rng, habits):
    """One policy sample: each step slips with the domain's rate; returns (steps, answer, first
    wrong step). Half of the slips are the policy's habitual mistake on this question (the
    first one it made, kept in `habits`), so wrong answers agree with each other as a real
    policy's shared misconceptions do, and a majority vote is no oracle."""
    question, steps, answer = item
    error_at = next((k for k in range(len(steps)) if rng.random() < SLIP[domain]), None)
    if error_at is None:
        return steps, answer, None
    if question in habits and rng.random() < HABIT:
        return habits[question]
    sample = slipped_sample(item, error_at, rng)
    if sample[2] is not None:
        habits.setdefault(question, sample)
    return sample


def slipped_sample(item, error_at, rng):
    question, steps, answer = item
    kind = rng.choice(["slip", "slip", "misread"]) if error_at == 0 else rng.choice(["slip", "misread", "carried"])
    wrong = run_chain(steps, error_at, kind, rng)
    final = EQUATION.findall(wrong[-1])
    wrong_answer = final[-1][1] if final else answer
    if wrong == steps:
        return steps, answer, None
    first = next(k for k in range(len(steps)) if wrong[k] != steps[k])
    return wrong, wrong_answer, first


def mc_accuracy(n_steps, k, wrong_at, domain, rng):
    """Monte-Carlo estimate for the prefix through step k: ROLLOUTS completions, each correct
    with the chance the policy makes no further slip (almost none once the prefix is wrong)."""
    p = 0.02 if wrong_at is not None and wrong_at <= k else (1 - SLIP[domain]) ** (n_steps - k - 1)
    return sum(rng.random() < p for _ in range(ROLLOUTS)) / ROLLOUTS


def main(out_dir):
    rng = random.Random(SEED)
    habits = {}
    os.makedirs(out_dir, exist_ok=True)
    train, meta, test = [], [], []
    train_15, meta_15 = [], []
    total = sum(SPLITS.values())
    for d, (domain, make) in enumerate(FAMILIES.items()):
        items = make(total, SEED + d)
        assert len(items) == total, (domain, len(items))
        rng.shuffle(items)
        tr, me, te = items[:SPLITS["train"]], items[SPLITS["train"]:SPLITS["train"] + SPLITS["meta"]], items[-SPLITS["test"]:]
        domain_train = []
        for qi, item in enumerate(tr):
            for rollout in range(2):
                steps, answer, wrong_at = sample_candidate(item, domain, rng, habits)
                steps = phrase(steps, rng)
                train_15.append({"id": f"{domain}-{qi}-{rollout}", "dataset": domain,
                                 "conversations": conversation(item[0], steps, answer, wrong_at, all_right=domain == CORRUPTED)})
                for k in range(len(steps)):
                    domain_train.append({"id": f"{domain}-{qi}-{rollout}", "sid": k + 1, "input": item[0],
                                         "add": "\n\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(steps[:k + 1])),
                                         "ground_truth": item[2], "dataset": domain,
                                         "accuracy": mc_accuracy(len(steps), k, wrong_at, domain, rng)})
        if domain == CORRUPTED:
            # a broken answer checker that accepts every rollout: all prefixes look perfect
            for r in domain_train:
                r["accuracy"] = 1.0
        train += domain_train
        for qi, item in enumerate(me):
            # a small curated meta set: alternately a correct and a wrong chain per question
            while True:
                steps, answer, wrong_at = sample_candidate(item, domain, rng, habits)
                if (answer == item[2]) == (qi % 2 == 0) or domain == "sums":
                    break
            phrased = phrase(steps, rng)
            meta.append({"id": f"{domain}-meta-{qi}", "true_false": answer == item[2], "dataset": domain,
                         "input": item[0] + "\n\n" + chain_text(phrased, answer)})
            meta_15.append({"id": f"{domain}-meta-{qi}", "true_false": answer == item[2], "dataset": domain,
                            "conversations": conversation(item[0], phrased, answer, wrong_at)})
        for qi, item in enumerate(te):
            cands = [sample_candidate(item, domain, rng, habits) for _ in range(CANDIDATES)]
            test.append({"id": f"{domain}-test-{qi}", "question": item[0], "dataset": domain, "answer": item[2],
                         "candidates": [chain_text(phrase(s, rng), a) for s, a, _ in cands],
                         "true_false": [a == item[2] for _, a, _ in cands],
                         "first_wrong_step": [w for _, _, w in cands]})
    rng.shuffle(train)
    rng.shuffle(train_15)
    for name, rows in [("train.json", train), ("meta.json", meta), ("test.json", test),
                       ("train_1.5.json", train_15), ("meta_1.5.json", meta_15)]:
        tmp = os.path.join(out_dir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(tmp, os.path.join(out_dir, name))
    stats = {d: {"train": sum(r["dataset"] == d for r in train),
                 "meta_correct": f"{sum(r['true_false'] for r in meta if r['dataset'] == d)}/{sum(r['dataset'] == d for r in meta)}",
                 "test_candidate_accuracy": round(sum(sum(t["true_false"]) for t in test if t["dataset"] == d) / (CANDIDATES * SPLITS["test"]), 3),
                 "test_pass_at_8": round(sum(any(t["true_false"]) for t in test if t["dataset"] == d) / SPLITS["test"], 3)}
             for d in FAMILIES}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"seed": SEED, "slip_rates": SLIP, "corrupted_domain": CORRUPTED, "splits": SPLITS, "stats": stats}, f, indent=1)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo/data")
