#!/usr/bin/env python3
"""PyTorch-Python side of `dreamprm bench core`: the same operations on the same shapes,
timed the same way (median over repetitions of a timed loop). Prints one JSON object."""
import argparse, json, statistics, time

import torch


def timed(fn, iters, reps):
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        out.append((time.perf_counter() - t0) / iters)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    small_a, small_b = torch.randn(64), torch.randn(64)
    m256 = torch.randn(256, 256)
    sm = torch.randn(64, 1024)
    x, y = torch.randn(64, 128), torch.randn(64, 1)
    mlp = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.GELU(), torch.nn.Linear(256, 256), torch.nn.GELU(),
                              torch.nn.Linear(256, 1))
    opt = torch.optim.AdamW(mlp.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(mlp(x), y)
        loss.backward()
        opt.step()

    results = {
        "add_64": timed(lambda: small_a + small_b, 20000, args.reps),
        "chain_64": timed(lambda: ((small_a * 2.0 + 1.0).relu() * small_b).sum(), 5000, args.reps),
        "matmul_256": timed(lambda: m256 @ m256, 200, args.reps),
        "softmax_64x1024": timed(lambda: torch.softmax(sm, dim=-1), 1000, args.reps),
        "mlp_train_step": timed(train_step, 200, args.reps),
    }
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "seconds": results}))


if __name__ == "__main__":
    main()
