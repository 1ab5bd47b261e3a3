#!/usr/bin/env python3
"""transformers side of `dreamprm bench rollouts`: SmolLM2-135M-Instruct from the same GGUF
(dequantised to float32), k sampled continuations of the same prompt token ids with
generate(num_return_sequences=k), the same temperature and top-p, and every row decoding
exactly --new-tokens (min_new_tokens bars EOS as the Swift side does). Prints one JSON object."""
import argparse, json, os, statistics, time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--top-p", type=float, default=0.95)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d, f = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    ids = torch.tensor([json.load(open(args.ids_file))])

    def rollouts():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=args.temperature,
                             top_p=args.top_p, top_k=0, num_return_sequences=args.k, max_new_tokens=args.new_tokens,
                             min_new_tokens=args.new_tokens, pad_token_id=model.config.eos_token_id)
        assert out.shape == (args.k, ids.shape[1] + args.new_tokens), out.shape

    with torch.no_grad():
        torch.manual_seed(1)
        rollouts()
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter(); rollouts(); times.append(time.perf_counter() - t0)
    print(json.dumps({"transformers_tokens_per_s": args.k * args.new_tokens / statistics.median(times),
                      "transformers": __import__("transformers").__version__, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
