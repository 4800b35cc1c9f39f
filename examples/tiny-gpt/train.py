"""Editable: trains the character-level GPT of model.py on the prepared corpus.

Tune the constants below, or change how training works (optimizer, schedule,
initialisation, batching). The budget is a fixed number of training tokens
(steps x BATCH_SIZE x BLOCK_SIZE): train.workBudget in autoresearch.json,
model.training_budget() here. model.py's GPT counts every token it trains on and
stops the run past the budget. Save with
model.save_artifact (the only format evaluate.py reads); evaluate.py scores the
saved weights and ignores whatever this prints.
"""
import json
import os
import resource

import torch
import torch.nn.functional as F

from model import GPT, save_artifact, training_budget

LEARNING_RATE = 1e-3  # AdamW step size, constant after warm-up
WARMUP_STEPS = 20  # linear warm-up from zero
BATCH_SIZE = 32  # sequences per step; steps = budget // (BATCH_SIZE * BLOCK_SIZE)
BLOCK_SIZE = 64  # context length in characters (model.py allows 8 to 256)
N_LAYER = 2  # transformer blocks
N_HEAD = 4  # attention heads; N_EMBD must be a multiple
N_EMBD = 64  # width
DROPOUT = 0.0
WEIGHT_DECAY = 0.0
BETA2 = 0.99
GRAD_CLIP = 1.0  # max gradient norm (0: none)
INIT_STD = 0.02  # std of the initial weights


def main():
    seed = int(os.environ["AUTORESEARCH_SEED"])
    data_dir = os.environ["AUTORESEARCH_DATA"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    with open(os.path.join(data_dir, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(data_dir, "train.txt"), encoding="ascii") as f:
        text = f.read()
    stoi = {ch: i for i, ch in enumerate(meta["vocab"])}
    data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config = {"vocab_size": len(stoi), "n_layer": N_LAYER, "n_head": N_HEAD, "n_embd": N_EMBD,
              "block_size": BLOCK_SIZE, "dropout": DROPOUT}
    model = GPT(config)
    for name, p in model.named_parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, 0.0, INIT_STD)
        elif name.endswith("bias"):
            torch.nn.init.zeros_(p)
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, betas=(0.9, BETA2), weight_decay=WEIGHT_DECAY)

    steps = training_budget() // (BATCH_SIZE * BLOCK_SIZE)
    for step in range(steps):
        starts = torch.randint(len(data) - BLOCK_SIZE - 1, (BATCH_SIZE,), generator=gen)
        x = torch.stack([data[s:s + BLOCK_SIZE] for s in starts]).to(device)
        y = torch.stack([data[s + 1:s + BLOCK_SIZE + 1] for s in starts]).to(device)
        for group in opt.param_groups:
            group["lr"] = LEARNING_RATE * min(1.0, (step + 1) / max(1, WARMUP_STEPS))
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if GRAD_CLIP > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"step {step}/{steps} loss {loss.item():.4f}", flush=True)

    memory_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    if device == "cuda":
        memory_gb = torch.cuda.max_memory_allocated() / 1024 ** 3
    save_artifact(model, out_dir, memory_gb)
    print(f"trained {steps} steps of {BATCH_SIZE}x{BLOCK_SIZE} tokens on {device}, seed {seed}")


if __name__ == "__main__":
    main()
