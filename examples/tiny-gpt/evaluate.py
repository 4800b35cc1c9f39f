"""Frozen: scores the artifact train.py left in AUTORESEARCH_OUT.

The artifact is data: model.json (the size of the model.py GPT, within its
bounds, and the training tokens model.py's meter counted, reported as "trained":
the runner refuses a count over the manifest's train.workBudget) and model.bin (raw
float32 tensors in model.py's format, read as bytes: nothing in it is
unpickled or run, so a pickle or TorchScript archive is refused, not loaded).

Causality is enforced, not sampled. The attention mask is built by model.py and
is not in the artifact, so the weights cannot open it; every other layer acts on
each position alone, and a masked weight is an exact zero, so a prediction at
position t is computed from characters up to t only, whatever the weights (a
sampled check can be passed by attention that looks ahead only on inputs the
check does not use). check_causal below is a tripwire for a mistake in model.py,
not the enforcement. Runs on the CPU, so the same weights give the same metric on
every machine. The validation text is read from AUTORESEARCH_HELDOUT, which
train.py never sees.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

from model import GPT, check_config, read_weights

MAX_WEIGHTS_BYTES = 64 << 20
MAX_CONFIG_BYTES = 64 << 10
# Largest change of a log-probability at or before a cut that later characters may cause.
CAUSAL_TOLERANCE = 1e-4
# The tripwire's random windows of the validation text and cuts in each.
CAUSAL_WINDOWS = 4
CAUSAL_CUTS = 8


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
    # Counted by model.py's meter and written by model.save_artifact; the runner compares it with the budget.
    spent = raw.get("train_tokens")
    if isinstance(spent, bool) or not isinstance(spent, int) or spent < 0:
        fail("model.json has no train_tokens count: save the model with model.save_artifact")

    weights_path = os.path.join(out_dir, "model.bin")
    regular_file(weights_path, MAX_WEIGHTS_BYTES)
    model = GPT(config)
    try:
        state = read_weights(weights_path, model.state_dict())
    except ValueError as err:
        fail(f"model.bin: {err}")
    for name, t in state.items():
        if not torch.isfinite(t).all():
            fail(f"{name} holds values that are not finite")
    model.load_state_dict(state, strict=True)
    return model.eval(), config, memory_gb, spent


def check_causal(model, ids, vocab_size, seed):
    """Tripwire: on random windows and cuts, changes every character after the cut and
    requires the log-probabilities up to it to stay put."""
    t_max = min(model.config["block_size"], len(ids))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(CAUSAL_WINDOWS):
        start = torch.randint(len(ids) - t_max + 1, (1,), generator=gen).item()
        x = ids[start:start + t_max]
        base = F.log_softmax(model(x[None]), dim=-1)[0]
        cuts = torch.randperm(t_max - 1, generator=gen)[:CAUSAL_CUTS].tolist()
        variants = x.repeat(len(cuts), 1)
        for row, t in enumerate(cuts):
            # A shift of 1..vocab-1 changes every later character.
            shift = torch.randint(1, vocab_size, (t_max - t - 1,), generator=gen)
            variants[row, t + 1:] = (x[t + 1:] + shift) % vocab_size
        logp = F.log_softmax(model(variants), dim=-1)
        for row, t in enumerate(cuts):
            change = (logp[row, :t + 1] - base[:t + 1]).abs().max().item()
            if not change <= CAUSAL_TOLERANCE:
                fail(f"model.py's GPT is not causal: changing the characters after position {t} of the window "
                     f"at {start} changes the predictions at or before it by {change:.3g}")


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
    held_out = os.environ["AUTORESEARCH_HELDOUT"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    result_path = os.environ["AUTORESEARCH_RESULT"]
    # Evaluate never sees the trial seed (train does, and could aim at it): the tripwire
    # draws its windows from the operating system instead.
    seed = int.from_bytes(os.urandom(8), "little") >> 1
    with open(os.path.join(data_dir, "meta.json")) as f:
        meta = json.load(f)
    vocab = meta["vocab"]
    with open(os.path.join(held_out, "val.txt"), encoding="ascii") as f:
        stoi = {ch: i for i, ch in enumerate(vocab)}
        ids = torch.tensor([stoi[ch] for ch in f.read()], dtype=torch.long)
    model, config, memory_gb, spent = load_model(out_dir, len(vocab))
    with torch.no_grad():
        check_causal(model, ids, len(vocab), seed)
        bpb, n_val = bits_per_byte(model, ids)
    if not math.isfinite(bpb):
        fail("validation bits per byte is not finite")
    params = sum(p.numel() for p in model.parameters())
    with open(result_path, "w") as f:
        json.dump({"metric": bpb, "val_bpb": bpb, "memory_gb": memory_gb, "params": params, "n_val": n_val,
                   "train_tokens": spent, "trained": spent, "config": config}, f)
    print(f"val_bpb: {bpb:.6f}")


if __name__ == "__main__":
    main()
