"""Data for the controlled flipped-instance experiment of DreamPRM-1.5 (`make
experiment-instances`): training conversations whose steps say that an object is fine or
broken (each step its own object), judged `+` for fine and `-` for broken, except a quarter of the instances (chosen at
random) with every judgement flipped; and a clean meta set of conversations whose steps are
all fine (correct chains) or all broken (wrong chains).

Writes train.json, meta.json and flipped.json (the ids of the flipped instances) into OUT_DIR.
Standard library only.

Run: python3 tools/experiments/make_instance_data.py OUT_DIR [INSTANCES] [SEED]
"""
import json
import os
import random
import sys

SYSTEM = "You judge each step of a report: answer + if the step is right and - if it is wrong."
NOUNS = ["box", "cup", "lamp", "door", "pipe", "gate", "wheel", "shelf"]
COLOURS = ["red", "blue", "green", "grey", "white", "black", "brown", "yellow"]


def conversation(rng, steps, labels):
    turns = [{"from": "system", "value": SYSTEM}, {"from": "human", "value": "### Question:\nIs everything in order?"}]
    for (thing, ok), label in zip(steps, labels):
        turns.append({"from": "human", "value": f"The {thing} is {'fine' if ok else 'broken'}."})
        turns.append({"from": "gpt", "value": "+" if label else "-"})
    return turns


def main(out, instances=64, seed=7):
    rng = random.Random(seed)
    flipped = set(rng.sample(range(instances), instances // 4))
    train = []
    for i in range(instances):
        # Every step names its own object (colour, noun, room), so a PRM that memorises an
        # instance's judgements sees them as its own, not as those of a shared text.
        steps = [(f"{rng.choice(COLOURS)} {rng.choice(NOUNS)} in room {2 * i + k}", rng.random() < 0.5) for k in range(2)]
        truth = [ok for _, ok in steps]
        labels = [not t for t in truth] if i in flipped else truth
        train.append({"id": f"instance-{i}", "conversations": conversation(rng, steps, labels)})
    meta = []
    for i in range(16):
        correct = i % 2 == 0
        steps = [(f"{rng.choice(COLOURS)} {rng.choice(NOUNS)} in hall {2 * i + k}", correct) for k in range(2)]
        meta.append({"id": f"meta-{i}", "true_false": correct, "conversations": conversation(rng, steps, [correct] * 2)})
    os.makedirs(out, exist_ok=True)
    for name, value in [("train.json", train), ("meta.json", meta), ("flipped.json", sorted(f"instance-{i}" for i in flipped))]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(value, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:]))
