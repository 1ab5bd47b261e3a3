"""Held-out controlled sets for domain weights (issue 37), in the v1 format: one family of
one-step tasks per set. Each family has three clean domains (labelled truthfully) and `noisy`,
more records of the first domain's task whose labels are corrupted: randomly permuted among its
records (`--corruption permute`, half of them then disagree with their step) or all flipped
(`flip`). Exactly half of each domain's steps are wrong, or a quarter with `--balance
unbalanced` (the clean domains' label means then differ from a flipped noisy one's). The meta
set is 120 two-step chains, half of them wrong (in their first or second step): a step of one of
the three tasks, then a step of the first task, so the bad domain shares its format with what
the meta set checks last.

Families:
  arithmetic  add, sub, mul of one-digit operands ("3 + 4 = 7"; a wrong result is off by 40 to 90)
  letters     length, first and last letter of a common word ("'garden' has 6 letters.")
  compare     the larger of two numbers, parity, rounding to tens ("52 is larger than 37.")

The arithmetic family draws exactly what the earlier make_arithmetic_data.py drew for a seed.
Standard library only.

Run: python3 tools/experiments/make_family_data.py OUT_DIR [--family arithmetic|letters|compare]
     [--seed S] [--corruption permute|flip] [--balance balanced|unbalanced] [--per_domain N]
"""
import argparse
import json
import os
import random

OPS = {"add": ("+", lambda a, b: a + b), "sub": ("-", lambda a, b: a - b), "mul": ("*", lambda a, b: a * b)}
WORDS = ["garden", "apple", "river", "window", "planet", "bridge", "candle", "forest", "yellow", "market",
         "silver", "orange", "pencil", "island", "winter", "monkey", "castle", "ladder", "rocket", "basket",
         "tiger", "cloud", "stone", "violin", "rabbit", "shadow", "kitten", "meadow", "anchor", "lemon"]


class Arithmetic:
    tasks = ["add", "sub", "mul"]

    @staticmethod
    def _step(rng, a, op, b, right):
        symbol, f = OPS[op]
        value = f(a, b) if right else f(a, b) + rng.choice([-1, 1]) * rng.randint(40, 90)
        return f"{a} {symbol} {b} = {value}", value

    def record(self, rng, task, right):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        text, _ = self._step(rng, a, task, b, right)
        return f"Question: What is {a} {OPS[task][0]} {b}?", f"Step 1: {text}."

    def chain(self, rng, task, first_right, second_right):
        a, b, c = rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9)
        first, value = self._step(rng, a, task, b, first_right)
        second, _ = self._step(rng, value, "add", c, second_right)
        return f"Question: What is ({a} {OPS[task][0]} {b}) + {c}?", [f"{first}.", f"{second}."]


class Letters:
    tasks = ["length", "first", "last"]

    @staticmethod
    def _step(rng, word, task, right):
        if task == "length":
            n = len(word) if right else len(word) + rng.choice([-1, 1]) * rng.randint(2, 4)
            return f'"{word}" has {n} letters'
        letter = word[0] if task == "first" else word[-1]
        if not right:
            letter = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c not in word])
        return f'The {task} letter of "{word}" is {letter}'

    QUESTIONS = {"length": 'How many letters are in the word "{w}"?', "first": 'What is the first letter of the word "{w}"?',
                 "last": 'What is the last letter of the word "{w}"?'}

    def record(self, rng, task, right):
        word = rng.choice(WORDS)
        return "Question: " + self.QUESTIONS[task].format(w=word), f"Step 1: {self._step(rng, word, task, right)}."

    def chain(self, rng, task, first_right, second_right):
        word, other = rng.sample(WORDS, 2)
        asked = {"length": "how many letters it has", "first": "its first letter", "last": "its last letter"}[task]
        question = f'Question: For the word "{word}", say {asked}; then how many letters are in "{other}"?'
        return question, [f"{self._step(rng, word, task, first_right)}.", f"{self._step(rng, other, 'length', second_right)}."]


class Compare:
    tasks = ["larger", "parity", "round"]

    @staticmethod
    def _larger(a, b, right):
        big, small = (a, b) if a > b else (b, a)
        return f"{big} is larger than {small}" if right else f"{small} is larger than {big}"

    @staticmethod
    def _step(rng, task, a, b, right):
        if task == "larger":
            return Compare._larger(a, b, right), max(a, b)
        if task == "parity":
            even = (a % 2 == 0) == right
            return f"{a} is {'even' if even else 'odd'}", a
        value = int(round(a / 10.0)) * 10 if a % 10 != 5 else a + 5
        if not right:
            value += rng.choice([-1, 1]) * rng.randint(2, 4) * 10
        return f"{a} rounded to the nearest ten is {value}", value

    QUESTIONS = {"larger": "Which is larger, {a} or {b}?", "parity": "Is {a} even or odd?",
                 "round": "What is {a} rounded to the nearest ten?"}

    def _pair(self, rng):
        a, b = rng.sample(range(11, 99), 2)
        return a, b

    def record(self, rng, task, right):
        a, b = self._pair(rng)
        text, _ = self._step(rng, task, a, b, right)
        return "Question: " + self.QUESTIONS[task].format(a=a, b=b), f"Step 1: {text}."

    def chain(self, rng, task, first_right, second_right):
        a, b = self._pair(rng)
        c = rng.choice([x for x in range(11, 99) if x not in (a, b)])
        first, value = self._step(rng, task, a, b, first_right)
        if task != "larger":
            value = a if task == "parity" else (int(round(a / 10.0)) * 10 if a % 10 != 5 else a + 5)
        while c == value:
            c += 1
        asked = self.QUESTIONS[task].format(a=a, b=b)[:-1]
        question = f"Question: {asked}; then which is larger, that number or {c}?"
        return question, [f"{first}.", f"{self._larger(value, c, second_right)}."]


FAMILIES = {"arithmetic": Arithmetic(), "letters": Letters(), "compare": Compare()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--family", choices=sorted(FAMILIES), default="arithmetic")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--corruption", choices=["permute", "flip"], default="permute")
    p.add_argument("--balance", choices=["balanced", "unbalanced"], default="balanced")
    p.add_argument("--per_domain", type=int, default=64)
    args = p.parse_args()
    family = FAMILIES[args.family]
    rng = random.Random(args.seed)
    n = args.per_domain
    wrong = n // 2 if args.balance == "balanced" else n // 4
    train = []
    for domain in family.tasks + ["noisy"]:
        task = family.tasks[0] if domain == "noisy" else domain
        truth = [i >= wrong for i in range(n)]
        rng.shuffle(truth)
        labels = truth[:]
        if domain == "noisy":
            if args.corruption == "flip":
                labels = [not t for t in truth]
            else:
                rng.shuffle(labels)
        for i in range(n):
            question, step = family.record(rng, task, truth[i])
            train.append({"id": f"{domain}-{i}", "input": question, "add": step, "dataset": domain,
                          "accuracy": 1.0 if labels[i] else 0.0})
    rng.shuffle(train)
    meta = []
    for m in range(120):
        task = family.tasks[m % 3]
        # Even chains right; odd ones wrong in their first or their second step.
        first_right = m % 2 == 0 or m % 4 == 3
        second_right = m % 2 == 0 or m % 4 == 1
        question, (first, second) = family.chain(rng, task, first_right, second_right)
        meta.append({"id": f"meta-{m}", "input": f"{question}\n\nStep 1: {first}\n\nStep 2: {second}",
                     "true_false": first_right and second_right})
    os.makedirs(args.out, exist_ok=True)
    for name, rows in [("train.json", train), ("meta.json", meta)]:
        with open(os.path.join(args.out, name + ".tmp"), "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(os.path.join(args.out, name + ".tmp"), os.path.join(args.out, name))


if __name__ == "__main__":
    main()
