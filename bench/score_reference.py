#!/usr/bin/env python3
"""transformers side of `dreamprm bench score`: SmolLM2-135M-Instruct loaded from the same
GGUF (dequantised to float32) and the same random scalar head over the final hidden state,
one forward per step prefix (the plain way to score a chain with transformers), timed over
the same token sequences the Swift side scores. Prints one JSON object."""
import argparse, json, os, time

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--work", required=True, help="JSON: questions -> candidates -> prefixes as token ids")
    ap.add_argument("--head", required=True, help="safetensors with weight [1, H] and bias [1]")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d, f = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    head = load_file(args.head)
    work = json.load(open(args.work))

    def score(ids):
        h = model.model(input_ids=torch.tensor([ids])).last_hidden_state[0, -1]
        return (h @ head["weight"][0] + head["bias"][0]).item()

    with torch.no_grad():
        score(work[0][0][0])  # warm-up
        t0 = time.perf_counter()
        logits = [[[score(p) for p in cand] for cand in q] for q in work]
        seconds = time.perf_counter() - t0
    print(json.dumps({"transformers_per_prefix_seconds": seconds, "transformers_logits": logits, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
