#!/usr/bin/env python3
"""Writes the CLI fuzz corpus that Tests/CLITests runs through the dreamprm binary: bad flags,
bad paths, malformed data files, damaged checkpoints and score caches for `train`,
`evaluate` and `score`, each with the exit code and the words its message must contain (the flag, file,
record or field at fault). A few well-formed oddities (a byte-order mark, a damaged score
cache that is scored anew) must be accepted.

Placeholders in arguments and paths: {work} the case's own directory, {model} the tiny
backbone, {sentinel} a finished run that no case may change. Standard library only.

    python3 tools/fuzz/make_cli_corpus.py
"""
import json, os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "CLITests", "Fixtures", "fuzz_corpus.json")


def train_record(i, domain="a", **over):
    r = {"id": f"{domain}-{i}", "sid": 1, "input": f"Question: what is {i} + 1?", "add": f"Step 1: the sum is {i + 1}.",
         "dataset": domain, "accuracy": (i % 3) / 2}
    r.update(over)
    return {k: v for k, v in r.items() if v is not DROP}


def meta_record(i, **over):
    r = {"id": i, "true_false": i % 2 == 0, "input": f"Question: {i} + 1?\n\nStep 1: add.\n\nStep 2: {i + 1}.\n\nFinal answer: {i + 1}"}
    r.update(over)
    return {k: v for k, v in r.items() if v is not DROP}


def test_record(i, **over):
    r = {"question": f"What is {i} + 2?", "candidates": [f"Step 1: add.\n\nStep 2: {i + 2}.\n\nFinal answer: {i + 2}",
                                                         f"Step 1: add.\n\nStep 2: {i + 3}.\n\nFinal answer: {i + 3}"],
         "true_false": [True, False], "answer": str(i + 2), "dataset": "d", "first_wrong_step": [None, 1]}
    r.update(over)
    return {k: v for k, v in r.items() if v is not DROP}


DROP = object()
TRAIN = [train_record(i, d) for d in "abc" for i in range(4)]
META = [meta_record(i) for i in range(4)]
TEST = [test_record(i) for i in range(3)]
BASE = {"train.json": json.dumps(TRAIN), "meta.jsonl": "\n".join(json.dumps(m) for m in META) + "\n", "test.json": json.dumps(TEST)}

cases = []


def case(name, command, args, expect, exit=2, files=None, setup=None):
    cases.append({"name": name, "command": command, "args": args, "exit": exit, "expect": expect,
                  "files": files or {}, "setup": setup or []})


def train(name, extra, expect, exit=2, files=None, setup=None, train_file="{work}/train.json", meta_file="{work}/meta.jsonl",
          out="{work}/run"):
    args = ["--train_json_file", train_file, "--meta_json_file", meta_file, "--weights_path", out, "--reward_model", "{model}",
            "--iteration_num", "2", "--batch_size", "2", "--unroll_steps", "1", "--save_every_iterations", "1", "--threads", "1"]
    case(name, "train", args + extra, expect, exit, files, setup)


def evaluate(name, extra, expect, exit=2, files=None, setup=None, test_file="{work}/test.json", prm=("P={sentinel}",)):
    args = ["--test_json_file", test_file, "--output", "{work}/eval", "--threads", "1"]
    for p in prm:
        args += ["--prm", p]
    case(name, "evaluate", args + extra, expect, exit, files, setup)


# ---- train: flag values --------------------------------------------------------------------
COUNTS = ["iteration_num", "batch_size", "meta_batch_size", "unroll_steps", "save_every_iterations", "scheduler_step_size",
          "gradient_accumulation", "threads"]
for flag in COUNTS:
    train(f"{flag} zero", [f"--{flag}", "0"], [f"--{flag}"])
    train(f"{flag} negative, spaced", [f"--{flag}", "-1"], [f"--{flag}", "-1"])
    train(f"{flag} negative, with =", [f"--{flag}=-3"], [f"--{flag}", "-3"])
    train(f"{flag} not a number", [f"--{flag}", "many"], [f"--{flag}", "many"])
for flag in ["lr", "meta_lr", "scheduler_gamma", "head_lr"]:
    for value in ["0", "-1", "nan", "inf", "-inf"]:
        train(f"{flag} {value}", [f"--{flag}", value], [f"--{flag}"])
    train(f"{flag} not a number", [f"--{flag}", "fast"], [f"--{flag}", "fast"])
for flag in ["weight_decay", "meta_weight_decay"]:
    for value in ["-0.1", "nan", "inf"]:
        train(f"{flag} {value}", [f"--{flag}", value], [f"--{flag}"])
for flag, value in [("precision", "fp8"), ("precision", ""), ("device", "gpu"), ("device", "cuda"), ("device", "cuda:-1"),
                    ("hypergradient", "magic"), ("scoring", "sometimes"), ("aggregation", "median-ish"), ("head_input", "eyes"),
                    ("head_init", "xavier")]:
    train(f"{flag} '{value}'", [f"--{flag}", value], [f"--{flag}"])
train("train_layers zero", ["--train_layers", "0"], ["--train_layers"])
train("train_layers negative", ["--train_layers", "-2"], ["--train_layers"])
train("train_layers beyond the model", ["--train_layers", "99"], ["--train_layers", "2 decoder layers"])
train("seed negative", ["--seed", "-1"], ["--seed"])
train("unknown flag", ["--learning_rate", "0.1"], ["--learning_rate"])
train("resume and overwrite", ["--resume", "--overwrite"], ["--overwrite", "--resume"])
train("resume without a checkpoint", ["--resume"], ["--resume", "no checkpoint"])
train("into a finished run without --resume", [], ["--weights_path", "earlier run", "--overwrite"], out="{sentinel}")
train("config file missing", ["--config", "{work}/nope.json"], ["nope.json"])
train("config file malformed", ["--config", "{work}/config.json"], ["config.json"], files={"config.json": "{ not json"})
train("config file with a bad value", ["--config", "{work}/config.json"], ["--meta_batch_size"], files={"config.json": json.dumps({"meta_batch_size": 0})})
train("config file with an unknown key", ["--config", "{work}/config.yaml"], ["--config", "config.yaml", "metaBatchSize"], files={"config.yaml": "metaBatchSize: 2\n"})
train("config file: an alias bomb", ["--config", "{work}/config.yaml"], ["config.yaml", "line 1", "alias"],
      files={"config.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nreport_to: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"})
train("config file: nested 100,000 deep", ["--config", "{work}/config.yaml"], ["config.yaml", "line 1", "16 deep"],
      files={"config.yaml": "report_to: " + "[" * 100000 + "]" * 100000 + "\n"})
train("config file: block nesting past 64 columns", ["--config", "{work}/config.yaml"], ["config.yaml", "line 34", "indented"],
      files={"config.yaml": "report_to:\n" + "".join("  " * i + "k:\n" for i in range(1, 60))})
train("config file over 1 MiB", ["--config", "{work}/config.yaml"], ["config.yaml", "bytes"],
      files={"config.yaml": "# " + "x" * (1 << 20) + "\nlr: 1e-4\n"})
train("config file: rollback: 1", ["--config", "{work}/config.yaml"], ["config.yaml", "'rollback' is a switch"], files={"config.yaml": "rollback: 1\n"})
train("config file: an ampersand inside a value is text", ["--config", "{work}/config.yaml"], ["--report_to", "a & b"],
      files={"config.yaml": "report_to: a & b\n"})
train("config file not a mapping", ["--config", "{work}/config.yaml"], ["config.yaml", "mapping"], files={"config.yaml": "- 1\n- 2\n"})

# ---- train: paths ---------------------------------------------------------------------------
train("train file missing", [], ["--train_json_file", "missing.json"], train_file="{work}/missing.json")
train("train file is a directory", [], ["--train_json_file", "directory"], train_file="{work}")
train("train file empty name", [], ["--train_json_file"], train_file="")
train("meta file missing", [], ["--meta_json_file", "missing.jsonl"], meta_file="{work}/missing.jsonl")
train("meta file is a directory", [], ["--meta_json_file", "directory"], meta_file="{work}")
train("output empty", [], ["--weights_path", "empty"], out="")
train("output is a file", [], ["--weights_path", "is a file"], out="{work}/train.json")
train("output parent is a file", [], ["--weights_path", "is a file"], out="{work}/train.json/run")
train("reward model missing", ["--reward_model", "{work}/no-model"], ["no-model"])
train("reward model empty", ["--reward_model", ""], ["--reward_model"])

# ---- train: data files ------------------------------------------------------------------------
def bad_train(name, records_or_text, expect, exit=2):
    text = records_or_text if isinstance(records_or_text, str) else json.dumps(records_or_text)
    train(name, [], expect, exit, files={"bad-train.json": text}, train_file="{work}/bad-train.json")


def bad_meta(name, records_or_text, expect, exit=2):
    text = records_or_text if isinstance(records_or_text, str) else "\n".join(json.dumps(r) for r in records_or_text)
    train(name, [], expect, exit, files={"bad-meta.jsonl": text}, meta_file="{work}/bad-meta.jsonl")


bad_train("train: empty file", "", ["bad-train.json", "empty"])
bad_train("train: whitespace only", "  \n\t ", ["bad-train.json", "empty"])
bad_train("train: truncated array", json.dumps(TRAIN)[:-40], ["bad-train.json", "malformed JSON"])
bad_train("train: empty array", "[]", ["bad-train.json", "no training records"])
bad_train("train: array of numbers", "[1, 2]", ["bad-train.json", "record 0", "object"])
bad_train("train: a pretty-printed object", json.dumps(TRAIN[0], indent=1), ["bad-train.json", "record 0", "malformed"])
bad_train("train: trailing garbage", json.dumps(TRAIN) + " ]]", ["bad-train.json", "malformed JSON"])
for field in ["input", "add", "dataset", "accuracy"]:
    bad_train(f"train: {field} missing", TRAIN[:2] + [train_record(9, **{field: DROP})], ["bad-train.json", "record 2", field, "missing"])
for field, value in [("input", 3), ("add", ["Step 1"]), ("dataset", None), ("accuracy", "0.5"), ("accuracy", True),
                     ("sid", "one"), ("sid", 0), ("sid", 1.5), ("times", "eight"), ("score", {}), ("image_path", 7),
                     ("ground_truth", 4)]:
    bad_train(f"train: {field} = {json.dumps(value)}", TRAIN[:3] + [train_record(9, **{field: value})], ["bad-train.json", "record 3", field])
for value in [1.5, -0.25]:
    bad_train(f"train: accuracy {value}", [train_record(0, accuracy=value)], ["bad-train.json", "record 0", "accuracy", "[0, 1]"])
bad_train("train: accuracy 1e309", json.dumps([train_record(0)])[:-1] + ', {"input": "q", "add": "Step 1: a", "dataset": "a", "accuracy": 1e309}]',
          ["bad-train.json", "record 1", "too large"])
bad_train("train: accuracy NaN token", '[{"input": "q", "add": "Step 1: a", "dataset": "a", "accuracy": NaN}]', ["bad-train.json", "malformed JSON"])
bad_train("train: dataset empty", [train_record(0, dataset="")], ["bad-train.json", "record 0", "dataset", "empty"])
bad_train("train: dataset blank", [train_record(0, dataset="   ")], ["bad-train.json", "record 0", "dataset", "empty"])
bad_train("train: image_path empty", [train_record(0, image_path="")], ["bad-train.json", "record 0", "image_path", "empty"])
bad_train("train: duplicate id and sid", [train_record(0), train_record(1), train_record(0)], ["bad-train.json", "record 2", "id", "record 0"])
bad_train("train: JSON Lines, bad line 3", "\n".join(json.dumps(r) for r in TRAIN[:2]) + "\n{oops}\n", ["bad-train.json", "record 2", "malformed"])
bad_train("train: JSON Lines, array on a line", json.dumps(TRAIN[0]) + "\n[1]\n", ["bad-train.json", "record 1", "object"])
bad_train("train: UTF-16", json.dumps(TRAIN), ["bad-train.json", "UTF-16"])
cases[-1]["encoding"] = "utf-16"
bad_train("train: invalid UTF-8", json.dumps(TRAIN), ["bad-train.json", "UTF-8", "offset"])
cases[-1]["inject_bytes"] = {"after": "Question: what is 0", "bytes": "fffe"}
bad_train("train: a byte-order mark is accepted", "\ufeff" + json.dumps(TRAIN), ["done"], exit=0)
bad_train("train: a record longer than the context", [train_record(0), train_record(1, add="Step 1: " + "lorem ipsum " * 400)],
          ["bad-train.json", "record 1", "512"])
bad_train("train: deeply nested value", TRAIN[:1] + [train_record(9, score=[[[[[[[[1]]]]]]]])], ["bad-train.json", "record 1", "score"])

bad_meta("meta: true_false as 1", [meta_record(0), meta_record(1, true_false=1)], ["bad-meta.jsonl", "record 1", "true_false"])
bad_meta("meta: true_false as \"true\"", [meta_record(0, true_false="true")], ["bad-meta.jsonl", "record 0", "true_false"])
bad_meta("meta: true_false missing", [meta_record(0, true_false=DROP)], ["bad-meta.jsonl", "record 0", "true_false", "missing"])
bad_meta("meta: input missing", [meta_record(0, input=DROP)], ["bad-meta.jsonl", "record 0", "input", "missing"])
bad_meta("meta: input a number", [meta_record(0, input=12)], ["bad-meta.jsonl", "record 0", "input"])
bad_meta("meta: image_path empty", [meta_record(0, image_path="")], ["bad-meta.jsonl", "record 0", "image_path", "empty"])
bad_meta("meta: id an object", [meta_record(0, id={"a": 1})], ["bad-meta.jsonl", "record 0", "id"])
bad_meta("meta: id beyond any integer", [meta_record(0, id=1e300)], ["bad-meta.jsonl", "record 0", "id"])
bad_train("train: id beyond any integer", [train_record(0, id=1e300)], ["bad-train.json", "record 0", "id"])
bad_train("train: id fractional", [train_record(0, id=2.5)], ["bad-train.json", "record 0", "id"])
bad_meta("meta: no chain has steps", [meta_record(0, input="Question only")], ["bad-meta.jsonl", "no usable meta chains"])
bad_meta("meta: empty file", "", ["bad-meta.jsonl", "empty"])
bad_meta("meta: malformed line", json.dumps(META[0]) + "\n{\"id\": 1, \n", ["bad-meta.jsonl", "record 1", "malformed"])
train("meta: no steps with --strict", ["--strict"], ["bad-meta.jsonl", "record 1", "Step N"],
      files={"bad-meta.jsonl": "\n".join(json.dumps(r) for r in [META[0], meta_record(1, input="no steps")])}, meta_file="{work}/bad-meta.jsonl")


# ---- train --reweighting instance-table|instance-net: 1.5 conversations -------------------------
def conversation(cid, labels, correct=None):
    turns = [{"from": "system", "value": "Judge each step."}, {"from": "human", "value": "Is all in order?"}]
    for i, label in enumerate(labels):
        turns += [{"from": "human", "value": f"Step {i + 1}: the cup is fine."}, {"from": "gpt", "value": label}]
    r = {"conversations": turns}
    if cid is not DROP:
        r["id"] = cid
    if correct is not None:
        r["true_false"] = correct
    return r


CONVERSATIONS = {"c-train.json": json.dumps([conversation(f"c{i}", ["+", "-"]) for i in range(3)]),
                 "c-meta.json": json.dumps([conversation("m0", ["+"], True), conversation("m1", ["-"], False)])}


def instances(name, method, train_records=None, meta_records=None, extra=(), expect=()):
    files = dict(CONVERSATIONS)
    if train_records is not None:
        files["c-train.json"] = json.dumps(train_records)
    if meta_records is not None:
        files["c-meta.json"] = json.dumps(meta_records)
    train(name, ["--reweighting", method, *extra], list(expect), files=files, train_file="{work}/c-train.json",
          meta_file="{work}/c-meta.json")


for method in ["instance-table", "instance-net"]:
    ok = conversation("c0", ["+"])
    instances(f"{method}: a conversation without labels", method, [ok, conversation("c1", [])],
              expect=["c-train.json", "record 1", "conversations"])
    instances(f"{method}: a label neither + nor -", method, [ok, conversation("c1", ["yes"])],
              expect=["c-train.json", "record 1", "conversations[3].value"])
    instances(f"{method}: an id used twice", method, [ok, ok], expect=["c-train.json", "record 1", "id"])
    instances(f"{method}: an id missing", method, [ok, conversation(DROP, ["+"])], expect=["c-train.json", "record 1", "id"])
    instances(f"{method}: an id beyond any integer", method, [ok, conversation(1e300, ["+"])], expect=["c-train.json", "record 1", "id"])
    if method == "instance-table":
        for value in ["nan", "1e400"]:
            instances(f"{method}: --initialization {value}", method, extra=["--initialization", value], expect=["--initialization"])
    instances(f"{method}: a meta conversation without true_false", method, meta_records=[conversation("m0", ["+"])],
              expect=["c-meta.json", "record 0", "true_false"])
    instances(f"{method}: --init_from not a run", method, extra=["--init_from", "{work}/no-run"], expect=["--init_from", "no-run"])
    instances(f"{method}: --init_from a scalar-head run", method, extra=["--init_from", "{sentinel}"], expect=["--init_from"])


# ---- train: damaged checkpoints (a copy of the sentinel run, resumed) ---------------------------
def damaged(name, steps, expect, exit=2):
    train(name, ["--resume", "--iteration_num", "6"], expect, exit, setup=[{"copy": "{sentinel}", "to": "{work}/run"}] + steps)


for f in ["model.safetensors", "optimizer-prm.safetensors", "optimizer-weights.safetensors", "rng.safetensors", "meta.json"]:
    damaged(f"checkpoint: {f} truncated", [{"truncate": f"{{work}}/run/checkpoint/{f}", "bytes": 40}], [f])
    damaged(f"checkpoint: {f} deleted", [{"delete": f"{{work}}/run/checkpoint/{f}"}], [f])
damaged("checkpoint: model.safetensors garbage", [{"write": "{work}/run/checkpoint/model.safetensors", "text": "garbage" * 20}], ["model.safetensors"])
damaged("checkpoint: meta.json of another format", [{"write": "{work}/run/checkpoint/meta.json",
                                                     "text": json.dumps({"format": 99, "step": 1, "optimizers": [], "metadata": {}})}], ["meta.json"])
damaged("checkpoint: a killed save's leftovers are cleaned", [{"mkdir": "{work}/run/.checkpoint.tmp-1-abc"}], ["done"], exit=0)
damaged("checkpoint: a moved-aside checkpoint is put back", [{"move": "{work}/run/checkpoint", "to": "{work}/run/.checkpoint.old-1-abc"}],
        ["restored checkpoint", "done"], exit=0)

# ---- evaluate -------------------------------------------------------------------------------------
evaluate("test file missing", [], ["--test_json_file", "missing.json"], test_file="{work}/missing.json")
evaluate("test file is a directory", [], ["--test_json_file", "directory"], test_file="{work}")
evaluate("output empty", ["--output", ""], ["--output", "empty"])
evaluate("output is a file", ["--output", "{work}/test.json"], ["--output", "is a file"])
evaluate("output parent is a file", ["--output", "{work}/test.json/eval"], ["--output", "is a file"])
for spec, words in [("P", ["--prm", "NAME=PATH"]), ("=x", ["--prm", "'=x'"]), ("P=", ["--prm", "NAME=PATH"]),
                    ("../../escaped={sentinel}", ["--prm", "plain name"]), ("a/b={sentinel}", ["--prm", "plain name"]),
                    (".hidden={sentinel}", ["--prm", "plain name"]), ("random={sentinel}", ["--prm", "baseline"]),
                    ("oracle={sentinel}", ["--prm", "baseline"]), ("self-consistency={sentinel}", ["--prm", "baseline"]),
                    ("P={work}/no-run", ["--prm", "does not exist"])]:
    evaluate(f"--prm '{spec}'", [], words, prm=(spec,))
evaluate("duplicate --prm names", [], ["--prm", "twice"], prm=("P={sentinel}", "P={sentinel}"))
for flag, value in [("aggregation", "median-ish"), ("tie-rule", "coin"), ("splitter", "lines"), ("splitter", "separator:"),
                    ("format", "csv"), ("device", "cuda"), ("device", "tpu")]:
    evaluate(f"{flag} '{value}'", [f"--{flag}", value], [f"--{flag}"])
evaluate("threads zero", ["--threads", "0"], ["--threads"])
evaluate("threads negative, spaced", ["--threads", "-2"], ["--threads"])
evaluate("seed not a number", ["--seed", "x"], ["--seed"])


def bad_test(name, records_or_text, expect, exit=2):
    text = records_or_text if isinstance(records_or_text, str) else json.dumps(records_or_text)
    evaluate(name, [], expect, exit, files={"bad-test.json": text}, test_file="{work}/bad-test.json")


bad_test("test: empty array", "[]", ["bad-test.json", "no test records"])
bad_test("test: malformed", "[{", ["bad-test.json", "malformed"])
for field in ["question", "candidates", "true_false"]:
    bad_test(f"test: {field} missing", [TEST[0], test_record(5, **{field: DROP})], ["bad-test.json", "record 1", field, "missing"])
bad_test("test: candidates empty", [test_record(0, candidates=[], true_false=[], first_wrong_step=DROP)], ["bad-test.json", "record 0", "candidates", "empty"])
bad_test("test: a candidate not a string", [test_record(0, candidates=["Step 1: a", 5])], ["bad-test.json", "record 0", "candidates[1]"])
bad_test("test: labels fewer than candidates", [test_record(0, true_false=[True])], ["bad-test.json", "record 0", "true_false"])
bad_test("test: a label as a string", [test_record(0, true_false=["true", False])], ["bad-test.json", "record 0", "true_false[0]"])
bad_test("test: a label as 1", [test_record(0, true_false=[1, False])], ["bad-test.json", "record 0", "true_false[0]"])
bad_test("test: first_wrong_step beyond the chain", [test_record(0, first_wrong_step=[None, 7])], ["bad-test.json", "record 0", "first_wrong_step[1]"])
bad_test("test: first_wrong_step negative", [test_record(0, first_wrong_step=[None, -1])], ["bad-test.json", "record 0", "first_wrong_step[1]"])
bad_test("test: first_wrong_step fractional", [test_record(0, first_wrong_step=[None, 0.5])], ["bad-test.json", "record 0", "first_wrong_step[1]"])
bad_test("test: first_wrong_step beyond any integer", [test_record(0, first_wrong_step=[1e300, None])], ["bad-test.json", "record 0", "first_wrong_step[0]"])
bad_test("test: first_wrong_step too few", [test_record(0, first_wrong_step=[None])], ["bad-test.json", "record 0", "first_wrong_step"])
bad_test("test: dataset empty", [test_record(0, dataset="")], ["bad-test.json", "record 0", "dataset", "empty"])
bad_test("test: image_path empty", [test_record(0, image_path="")], ["bad-test.json", "record 0", "image_path", "empty"])
bad_test("test: question a number", [test_record(0, question=4)], ["bad-test.json", "record 0", "question"])
bad_test("test: a candidate longer than the context", [TEST[0], test_record(1, candidates=["Step 1: " + "lorem ipsum " * 400, "Step 1: 3"], first_wrong_step=DROP)],
         ["bad-test.json", "record 1", "candidates[0]", "512"])
bad_test("test: UTF-16", json.dumps(TEST), ["bad-test.json", "UTF-16"])
cases[-1]["encoding"] = "utf-16"
bad_test("test: a byte-order mark is accepted", "\ufeff" + json.dumps(TEST), ["oracle"], exit=0)

# Damaged score caches are scored anew, never trusted: the case runs once to make its cache,
# the cache is damaged, and the second run must say it is not used.
for how in ["garbage", "too many questions", "one candidate short", "one more candidate", "an empty step list"]:
    evaluate(f"score cache: {how}", [], ["scores-P.json", "scoring anew", "oracle"], exit=0,
             setup=[{"run_case": True}, {"damage_cache": "{work}/eval/scores-P.json", "how": how}])
# A cache cut short is an interrupted scoring: its questions are kept, the rest scored.
evaluate("score cache: cut short", [], ["scores-P.json", "2 of 3 questions already scored", "oracle"], exit=0,
         setup=[{"run_case": True}, {"damage_cache": "{work}/eval/scores-P.json", "how": "too few questions"}])

# Corrupted PRM files given to evaluate.
evaluate("--prm file truncated", [], ["prm.safetensors"], prm=("P={work}/run",),
         setup=[{"copy": "{sentinel}", "to": "{work}/run"}, {"truncate": "{work}/run/prm.safetensors", "bytes": 64}])
evaluate("--prm file not safetensors", [], ["prm.safetensors"], prm=("P={work}/run",),
         setup=[{"copy": "{sentinel}", "to": "{work}/run"}, {"write": "{work}/run/prm.safetensors", "text": "{}"}])
evaluate("--prm directory without prm.safetensors", [], ["prm.safetensors"], prm=("P={work}",))

# ---- generate: sampling settings and prompts the model cannot read ------------------------------
def generate(name, extra, expect, prompt="Hello"):
    case(name, "generate", ["--model", "{model}", "--prompt", prompt, "--max-tokens", "2", "--threads", "1", *extra], expect)


generate("generate: temperature nan", ["--temperature", "nan"], ["--temperature"])
generate("generate: temperature negative", ["--temperature", "-1"], ["--temperature"])
generate("generate: top-p 0", ["--temperature", "1", "--top-p", "0"], ["--top-p"])
generate("generate: top-k 0", ["--temperature", "1", "--top-k", "0"], ["--top-k"])
generate("generate: max-tokens 0", ["--max-tokens", "0"], ["--max-tokens"])
generate("generate: an empty image path", ["--image", ""], ["--image"])
generate("generate: a prompt longer than the context", [], ["--prompt", "512"], prompt="word " * 600)


# ---- score ------------------------------------------------------------------------------------------
def score(name, extra, expect, exit=2, files=None, input_file="{work}/chains.jsonl", out="{work}/scores.jsonl", prm="{sentinel}"):
    args = ["--prm", prm, "--input", input_file, "--output", out, "--threads", "1"]
    case(name, "score", args + extra, expect, exit, files)


CHAINS = [{"id": "a", "question": "What is 2 + 3?", "steps": ["2 + 3 = 5.", "So 5."]},
          {"id": 7, "question": "What is 2 + 3?", "response": "Step 1: 2 + 3 = 6.\n\nFinal answer: 6"}]
BASE["chains.jsonl"] = "\n".join(json.dumps(c) for c in CHAINS) + "\n"


def bad_chains(name, lines, expect):
    score(name, [], expect, files={"bad.jsonl": "\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines)}, input_file="{work}/bad.jsonl")


score("score: well-formed chains", [], ["scored 2 chains of 1 questions"], exit=0)
score("score: input missing", [], ["--input", "missing.jsonl"], input_file="{work}/missing.jsonl")
score("score: input is a directory", [], ["--input", "directory"], input_file="{work}")
score("score: output is a directory", [], ["--output", "directory"], out="{work}")
score("score: output empty", [], ["--output", "empty"], out="")
score("score: output parent is a file", [], ["--output", "is a file"], out="{work}/chains.jsonl/out.jsonl")
score("score: --prm missing", [], ["--prm", "does not exist"], prm="{work}/no-run")
score("score: --prm not a PRM", [], ["--prm", "cannot load"], prm="{work}/chains.jsonl")
score("score: bad aggregation", ["--aggregation", "vote"], ["--aggregation", "vote"])
score("score: bad splitter", ["--splitter", "lines"], ["--splitter", "lines"])
score("score: threads zero", ["--threads", "0"], ["--threads"])
bad_chains("score: question missing", [{"steps": ["a"]}], ["bad.jsonl", "record 0", "question", "missing"])
bad_chains("score: neither steps nor response", [{"question": "q"}], ["bad.jsonl", "record 0", "steps", "missing"])
bad_chains("score: steps and response", [{"question": "q", "steps": ["a"], "response": "b"}], ["bad.jsonl", "record 0", "response"])
bad_chains("score: steps empty", [{"question": "q", "steps": []}], ["bad.jsonl", "record 0", "steps", "empty"])
bad_chains("score: a step not a string", [{"question": "q", "steps": ["a", 3]}], ["bad.jsonl", "record 0", "steps[1]"])
bad_chains("score: image_path empty", [{"question": "q", "steps": ["a"], "image_path": ""}], ["bad.jsonl", "record 0", "image_path", "empty"])
bad_chains("score: malformed line", [CHAINS[0], "{oops"], ["bad.jsonl", "record 1", "malformed"])
bad_chains("score: a chain longer than the context", [{"question": "q", "steps": ["lorem ipsum " * 400]}], ["bad.jsonl", "record 0", "512"])
bad_chains("score: empty file", [""], ["bad.jsonl", "empty"])

with open(OUT, "w") as f:
    json.dump({"base_files": BASE, "cases": cases}, f, indent=1, ensure_ascii=False)
counts = ", ".join(f"{sum(c['command'] == k for c in cases)} {k}" for k in sorted({c["command"] for c in cases}))
print(f"{len(cases)} cases ({counts}) to {OUT}")
