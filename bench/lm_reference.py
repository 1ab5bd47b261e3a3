#!/usr/bin/env python3
"""transformers side of `dreamprm bench lm`: SmolLM2-135M-Instruct loaded from the same
GGUF (dequantised to float32), prefill of the same prompt (logits of the last position
only) and greedy decoding with a KV cache, timed like the Swift side. Prints one JSON object."""
import argparse, json, os, statistics, time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--prompt-file", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--decode-tokens", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d, f = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    ids = tok(open(args.prompt_file).read(), add_special_tokens=False, return_tensors="pt").input_ids

    def prefill():
        return model(input_ids=ids, use_cache=True, logits_to_keep=1)

    def decode():
        out = prefill()
        past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        t0 = time.perf_counter()
        for _ in range(args.decode_tokens):
            out = model(input_ids=nxt, past_key_values=past, use_cache=True)
            past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        return time.perf_counter() - t0

    with torch.no_grad():
        prefill()
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter(); prefill(); times.append(time.perf_counter() - t0)
        decode_times = [decode() for _ in range(args.reps)]
    print(json.dumps({"transformers_prefill_tokens_per_s": ids.shape[1] / statistics.median(times),
                      "transformers_decode_tokens_per_s": args.decode_tokens / statistics.median(decode_times),
                      "prompt_tokens": ids.shape[1], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
