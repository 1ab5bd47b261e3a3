"""Summarises domain-weight runs on the held-out sets of issue 37 (make_family_data.py), one per
run directory: the upper level's settings (from config.json), the final weights and the bad
domain's rank (1 = lowest), the run's verdict, each domain's hypergradient mean over its
batch-to-batch spread (centred across domains at each upper step, since only differences move
normalised weights; positive pushes a weight down), and the meta batches' accuracy and loss at
the start and the end, and the mean alignment cosines. Prints one JSON line per run, or with --markdown a table.

Run: python3 tools/experiments/summarise_runs.py [--markdown] RUN_DIR...
Standard library only.
"""
import argparse
import json
import os


def mean(x):
    return sum(x) / len(x) if x else float("nan")


def sd(x):
    m = mean(x)
    return (sum((v - m) ** 2 for v in x) / (len(x) - 1)) ** 0.5 if len(x) > 1 else float("nan")


def summarise(run, bad="noisy"):
    config = json.load(open(os.path.join(run, "config.json")))
    report = json.load(open(os.path.join(run, "run_report.json")))
    weights = json.load(open(os.path.join(run, "domain_weights.json")))
    # The data folder is named data-FAMILY-CORRUPTION-BALANCE-SEED (or data-CORRUPTION-BALANCE-SEED: arithmetic).
    data = os.path.basename(os.path.dirname(config["train_json_file"]))
    parts = data.split("-")[1:]
    family = parts[0] if len(parts) == 4 else "arithmetic"
    corruption, balance = parts[-3], parts[-2]
    centred, accuracy, loss, cosine = {}, [], [], {}
    for line in open(os.path.join(run, "metrics.jsonl")):
        m = json.loads(line)
        for key, value in m.get("alignment", {}).items():
            if key.endswith("/cosine"):
                cosine.setdefault(key[: -len("/cosine")], []).append(value)
        h = m.get("hypergradient_by_domain")
        if h:
            for d, g in h.items():
                centred.setdefault(d, []).append(g - mean(list(h.values())))
        if "meta_accuracy" in m:
            accuracy.append(m["meta_accuracy"])
            loss.append(m["meta_loss"])
    return {
        "run": os.path.basename(run.rstrip("/")), "family": family, "corruption": corruption, "balance": balance,
        "seed": config["seed"], "hypergradient": config["hypergradient"], "batch_size": config["batch_size"],
        "meta_batch_size": config["meta_batch_size"],
        "hypergradient_batch_per_domain": config["hypergradient_batch_per_domain"],
        "batch_strata": config.get("batch_strata", "none"), "meta_loss": config.get("meta_loss", "squared"),
        "weights": {k: round(v, 3) for k, v in sorted(weights.items())},
        "bad_rank": sorted(weights, key=weights.get).index(bad) + 1,
        "verdict": report.get("weightsVerdict", {}).get("summary"),
        "hypergradient_mean_over_sd": {d: round(mean(x) / sd(x), 3) for d, x in sorted(centred.items())},
        # each domain's alignment with the meta gradient by parameter group, averaged over the run
        "mean_cosine": {k: round(mean(v), 4) for k, v in sorted(cosine.items())},
        "meta_accuracy_first_100": round(mean(accuracy[:100]), 3), "meta_accuracy_last_100": round(mean(accuracy[-100:]), 3),
        "meta_loss_first_100": round(mean(loss[:100]), 4), "meta_loss_last_100": round(mean(loss[-100:]), 4),
        "seconds": round(report["seconds"]),
    }


def markdown(rows):
    out = ["| family | labels | seed | upper level | weights | bad's rank | verdict | meta acc. (first → last 100) | meta loss (first → last 100) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        upper = (f"{r['meta_loss']}, strata {r['batch_strata']}, hyper {r['hypergradient_batch_per_domain'] or 'last batch'}, "
                 f"meta {r['meta_batch_size']}, batch {r['batch_size']}")
        weights = ", ".join(f"{k} {v:.2f}" for k, v in r["weights"].items())
        verdict = "yes" if ": yes" in (r["verdict"] or "") else "no"
        out.append(f"| {r['family']} | {r['balance']}, {r['corruption']} | {r['seed']} | {upper} | {weights} | {r['bad_rank']} | "
                   f"{verdict} | {r['meta_accuracy_first_100']:.2f} → {r['meta_accuracy_last_100']:.2f} | "
                   f"{r['meta_loss_first_100']:.3f} → {r['meta_loss_last_100']:.3f} |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="+")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args()
    rows = [summarise(run) for run in args.runs]
    print(markdown(rows) if args.markdown else "\n".join(json.dumps(r) for r in rows))


if __name__ == "__main__":
    main()
