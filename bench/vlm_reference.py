#!/usr/bin/env python3
"""transformers side of `dreamprm bench vlm`: Qwen2VLForConditionalGeneration built from the
same config.json with random weights; times, as the Swift side does, the vision tower and
merger on random patches of the same grid (no graph) and one training step of the v1
scalar-head PRM on the same token ids (image features on the pad tokens, get_rope_index
positions, the top --train-layers decoder layers, the final norm and a Linear(vocab -> 1) head
trained by AdamW, MSE of the sigmoid against 0.7). Prints one JSON object."""
import argparse, json, resource, statistics, time

import torch
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration


def median_seconds(body, reps):
    body()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); body(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--ids-file", required=True)
    ap.add_argument("--grid", required=True, help="t,h,w")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--train-layers", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = Qwen2VLConfig(**json.load(open(args.config)))
    started = time.perf_counter()
    model = Qwen2VLForConditionalGeneration(config).float().eval()
    built = time.perf_counter() - started
    t, h, w = map(int, args.grid.split(","))
    grid = torch.tensor([[t, h, w]])
    v = config.vision_config
    patches = torch.randn(t * h * w, v.in_chans * v.temporal_patch_size * v.patch_size * v.patch_size)

    features = {}
    def vision():
        with torch.no_grad():
            features["x"] = torch.cat(model.model.get_image_features(patches, grid).pooler_output)
    vision_seconds = median_seconds(vision, args.reps)

    ids = torch.tensor([json.load(open(args.ids_file))])
    image = ids == config.image_token_id
    positions, _ = model.model.get_rope_index(ids, image.int(), grid)
    language = model.model.language_model
    for p in model.parameters():
        p.requires_grad_(False)
    if args.train_layers > 0:
        for layer in language.layers[-args.train_layers:]:
            layer.requires_grad_(True)
        language.norm.requires_grad_(True)
    head = torch.nn.Linear(config.text_config.vocab_size, 1)
    trainable = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=1e-5)
    target = torch.tensor([0.7])

    def step():
        optimizer.zero_grad()
        embedded = language.embed_tokens(ids).masked_scatter(image.unsqueeze(-1), features["x"])
        hidden = language(inputs_embeds=embedded, position_ids=positions).last_hidden_state
        z = head(model.lm_head(hidden[:, -1]).float()).squeeze(-1)
        torch.nn.functional.mse_loss(torch.sigmoid(z), target).backward()
        optimizer.step()
    step_seconds = median_seconds(step, args.reps)
    print(json.dumps({"transformers_vision_seconds": vision_seconds, "transformers_train_step_seconds": step_seconds,
                      "transformers_build_seconds": built,
                      "transformers_peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
                      "torch": torch.__version__, "transformers": __import__("transformers").__version__}))


if __name__ == "__main__":
    main()
