"""Frozen: scores the artifact train.py left in AUTORESEARCH_OUT.

The artifact is data: model.json (the size of the model.py GPT, within its
bounds) and model.pt (a plain dict of tensors, loaded with weights_only=True, so
no pickled code runs). Before scoring, the loaded model must be causal: a
prediction may not change when later characters do. Runs on the CPU, so the
same weights give the same metric on every machine.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from model import GPT, check_config

MAX_WEIGHTS_BYTES = 64 << 20
MAX_CONFIG_BYTES = 64 << 10
# Largest change of a log-probability at or before a cut that later characters may cause;
# it also bounds what peeking could gain, to about 1e-4 bits per character.
CAUSAL_TOLERANCE = 1e-4


def fail(message):
    print(f"evaluate: {message}", file=sys.stderr)
    sys.exit(1)


def regular_file(path, limit):
    if os.path.islink(path) or not os.path.isfile(path):
        fail(f"{os.path.basename(path)} is missing or not a regular file")
    if os.path.getsize(path) > limit:
        fail(f"{os.path.basename(path)} is larger than {limit} bytes")


def load_model(out_dir, vocab_size):
    config_path = os.path.join(out_dir, "model.json")
    regular_file(config_path, MAX_CONFIG_BYTES)
    with open(config_path) as f:
        try:
            raw = json.load(f)
        except ValueError as err:
            fail(f"model.json is not JSON: {err}")
    try:
        config = check_config(raw, vocab_size)
    except ValueError as err:
        fail(f"model.json: {err}")
    memory = raw.get("memory_gb", 0.0)
    ok = isinstance(memory, (int, float)) and not isinstance(memory, bool) and math.isfinite(memory)
    # Reported by train.py itself: kept for the results log only, never for scoring.
    memory_gb = min(max(float(memory), 0.0), 1024.0) if ok else 0.0

    weights_path = os.path.join(out_dir, "model.pt")
    regular_file(weights_path, MAX_WEIGHTS_BYTES)
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling error: the file is not plain tensors
        fail(f"model.pt is not a plain dict of tensors: {err}")
    model = GPT(config)
    expected = model.state_dict()
    if not isinstance(state, dict) or set(state) != set(expected):
        fail("model.pt must hold exactly the tensors of model.py's GPT for this config")
    for name, ref in expected.items():
        t = state[name]
        if not isinstance(t, torch.Tensor) or t.dtype != torch.float32 or t.shape != ref.shape:
            fail(f"{name} must be a float32 tensor of shape {tuple(ref.shape)}")
        if not torch.isfinite(t).all():
            fail(f"{name} holds values that are not finite")
    model.load_state_dict(state, strict=True)
    return model.eval(), config, memory_gb


def check_causal(model, ids, vocab_size, seed):
    """For every cut t, replaces all characters after t and requires identical log-probabilities up to t."""
    t_max = min(model.config["block_size"], len(ids))
    x = ids[:t_max]
    base = F.log_softmax(model(x[None]), dim=-1)[0]
    gen = torch.Generator().manual_seed(seed)
    cuts = list(range(t_max - 1))
    for i in range(0, len(cuts), 32):
        chunk = cuts[i:i + 32]
        variants = x.repeat(len(chunk), 1)
        for row, t in enumerate(chunk):
            # A shift of 1..vocab-1 changes every later character.
            shift = torch.randint(1, vocab_size, (t_max - t - 1,), generator=gen)
            variants[row, t + 1:] = (x[t + 1:] + shift) % vocab_size
        logp = F.log_softmax(model(variants), dim=-1)
        for row, t in enumerate(chunk):
            change = (logp[row, :t + 1] - base[:t + 1]).abs().max().item()
            if not change <= CAUSAL_TOLERANCE:
                fail(f"the model is not causal: changing the characters after position {t} changes "
                     f"the predictions at or before it by {change:.3g} (tolerance {CAUSAL_TOLERANCE})")


def bits_per_byte(model, ids):
    """Every character after the first is predicted once, in windows of the model's context."""
    t = model.config["block_size"]
    starts = range(0, len(ids) - 1, t)
    full = [s for s in starts if s + t + 1 <= len(ids)]
    batches = [torch.stack([ids[s:s + t + 1] for s in full[i:i + 64]]) for i in range(0, len(full), 64)]
    batches += [ids[s:][None] for s in starts if s + t + 1 > len(ids)]
    total, count = 0.0, 0
    for batch in batches:
        logits = model(batch[:, :-1])
        total += F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten(), reduction="sum").item()
        count += batch[:, 1:].numel()
    # The corpus is ASCII: one character is one byte.
    return total / math.log(2) / count, count


def main():
    data_dir = os.environ["AUTORESEARCH_DATA"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    result_path = os.environ["AUTORESEARCH_RESULT"]
    seed = int(os.environ.get("AUTORESEARCH_SEED", "0"))
    with open(os.path.join(data_dir, "meta.json")) as f:
        vocab = json.load(f)["vocab"]
    with open(os.path.join(data_dir, "val.txt"), encoding="ascii") as f:
        stoi = {ch: i for i, ch in enumerate(vocab)}
        ids = torch.tensor([stoi[ch] for ch in f.read()], dtype=torch.long)
    model, config, memory_gb = load_model(out_dir, len(vocab))
    with torch.no_grad():
        check_causal(model, ids, len(vocab), seed)
        bpb, n_val = bits_per_byte(model, ids)
    if not math.isfinite(bpb):
        fail("validation bits per byte is not finite")
    params = sum(p.numel() for p in model.parameters())
    with open(result_path, "w") as f:
        json.dump({"metric": bpb, "val_bpb": bpb, "memory_gb": memory_gb, "params": params, "n_val": n_val,
                   "config": config}, f)
    print(f"val_bpb: {bpb:.6f}")


if __name__ == "__main__":
    main()
