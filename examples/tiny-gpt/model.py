"""Frozen: the GPT that train.py trains and evaluate.py scores, and the only way to save it.

The architecture is fixed here so that evaluate.py can rebuild any artifact from
data alone; train.py chooses its size (the CONFIG_BOUNDS fields) and how it is
trained. Three things that must not be train.py's live here:

- Causality. The attention mask is built by this file and is not part of the
  state dict, so it never travels in the artifact: the model evaluate.py scores is
  causal by construction, whatever weights it is given.
- The weight format. save_artifact writes raw little-endian float32 tensors after
  a JSON header (model.bin): a format that has no way to carry code, unlike a
  pickle or a TorchScript zip, which torch.load(weights_only=True) still runs.
- The budget meter. Every forward pass that builds a gradient charges its tokens
  against the manifest's train.workBudget (AUTORESEARCH_WORK_BUDGET) and stops the
  run past it with exit code WORK_BUDGET_EXIT (the runner's over-work-budget);
  save_artifact records the count, which evaluate.py reports for the runner to
  check. It stops honest overspending and any change of steps or batch; code that
  deliberately resets it is visible in the diff, and the runner's time limits are
  the hard bound.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Inclusive bounds on what train.py may choose; evaluate.py refuses anything else.
CONFIG_BOUNDS = {
    "n_layer": (1, 8),
    "n_head": (1, 16),
    "n_embd": (8, 512),
    "block_size": (8, 256),
}
MAX_PARAMS = 4_000_000
WEIGHTS_MAGIC = b"TINYGPT-F32-LE-1"
MAX_HEADER_BYTES = 1 << 20


def check_config(config, vocab_size):
    """Returns a clean config dict, or raises ValueError saying what is wrong."""
    if not isinstance(config, dict):
        raise ValueError("config must be a JSON object")
    clean = {"vocab_size": vocab_size}
    for key, (lo, hi) in CONFIG_BOUNDS.items():
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{key} must be an integer from {lo} to {hi}")
        clean[key] = value
    if config.get("vocab_size") != vocab_size:
        raise ValueError(f"vocab_size must be {vocab_size}, the size of the prepared vocabulary")
    if clean["n_embd"] % clean["n_head"] != 0:
        raise ValueError("n_embd must be a multiple of n_head")
    dropout = config.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError("dropout must be a number in [0, 1)")
    clean["dropout"] = float(dropout)
    if param_count(clean) > MAX_PARAMS:
        raise ValueError(f"the model would have {param_count(clean)} parameters, over the limit of {MAX_PARAMS}")
    return clean


def param_count(c):
    e, v, t = c["n_embd"], c["vocab_size"], c["block_size"]
    per_layer = 2 * 2 * e + (3 * e * e + 3 * e) + (e * e + e) + (4 * e * e + 4 * e) + (4 * e * e + e)
    return v * e + t * e + c["n_layer"] * per_layer + 2 * e + (e * v + v)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head = c["n_head"]
        self.qkv = nn.Linear(c["n_embd"], 3 * c["n_embd"])
        self.proj = nn.Linear(c["n_embd"], c["n_embd"])
        self.drop = nn.Dropout(c["dropout"])
        t = c["block_size"]
        # Not persistent: the mask is this file's, never the artifact's.
        self.register_buffer("mask", torch.tril(torch.ones(t, t)).view(1, 1, t, t), persistent=False)

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = self.qkv(x).split(e, dim=2)
        q, k, v = (z.view(b, t, self.n_head, e // self.n_head).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(e // self.n_head)
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, e)
        return self.drop(self.proj(y))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln1 = nn.LayerNorm(c["n_embd"])
        self.attn = Attention(c)
        self.ln2 = nn.LayerNorm(c["n_embd"])
        self.fc = nn.Linear(c["n_embd"], 4 * c["n_embd"])
        self.out = nn.Linear(4 * c["n_embd"], c["n_embd"])
        self.drop = nn.Dropout(c["dropout"])

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = self.config = dict(config)
        self.tok = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.pos = nn.Embedding(c["block_size"], c["n_embd"])
        self.drop = nn.Dropout(c["dropout"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.ln = nn.LayerNorm(c["n_embd"])
        self.head = nn.Linear(c["n_embd"], c["vocab_size"])

    def forward(self, idx):
        """Logits (batch, time, vocab) for token ids (batch, time), time <= block_size."""
        if torch.is_grad_enabled():
            charge_tokens(idx.numel())
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(self.tok(idx) + self.pos(pos))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


# The runner's code for "stopped at the work budget" (WORK_BUDGET_EXIT_CODE, docs/causes.md).
WORK_BUDGET_EXIT = 86


class BudgetExceeded(SystemExit):
    """Ends train at the budget. A SystemExit, so that `except Exception` does not swallow it."""

    def __init__(self, message):
        super().__init__(WORK_BUDGET_EXIT)
        self.message = message

    def __str__(self):
        return self.message


# Tokens through GPT.forward with gradients on, in this process (train.py's own, for the
# reference train.py; other processes it might start have meters of their own).
_meter = {"spent": 0}
# The manifest's train.workBudget.amount, passed by the runner; unset outside a run (no limit).
_BUDGET = os.environ.get("AUTORESEARCH_WORK_BUDGET")


def training_budget():
    """Training tokens train.py may use: the manifest's train.workBudget.amount."""
    if _BUDGET is None:
        raise RuntimeError("AUTORESEARCH_WORK_BUDGET is not set: run through autoresearch-run, or set it to train.workBudget.amount")
    return int(_BUDGET)


def charge_tokens(n):
    _meter["spent"] += int(n)
    if _BUDGET is not None and _meter["spent"] > int(_BUDGET):
        message = (f"training budget exceeded: {_meter['spent']} tokens through the model with "
                   f"gradients, the budget is {_BUDGET} (train.workBudget)")
        print(f"BudgetExceeded: {message}", file=sys.stderr, flush=True)
        raise BudgetExceeded(message)


def tokens_spent():
    return _meter["spent"]


def write_weights(path, tensors):
    """Writes named float32 tensors as WEIGHTS_MAGIC, a header length, a JSON header, raw data."""
    header = json.dumps([[name, list(t.shape)] for name, t in tensors.items()]).encode()
    with open(path, "wb") as f:
        f.write(WEIGHTS_MAGIC + len(header).to_bytes(8, "little") + header)
        for t in tensors.values():
            f.write(t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes())


def read_weights(path, expected):
    """Tensors shaped like `expected` (name -> tensor) from a write_weights file; ValueError otherwise.

    Only bytes are read: nothing in the file is unpickled, imported or run.
    """
    with open(path, "rb") as f:
        blob = f.read()
    if not blob.startswith(WEIGHTS_MAGIC):
        kind = " (a zip: a torch.save or TorchScript archive?)" if blob.startswith(b"PK") else ""
        raise ValueError(f"it is not in model.py's weight format{kind}; save it with model.save_artifact")
    start = len(WEIGHTS_MAGIC) + 8
    size = int.from_bytes(blob[len(WEIGHTS_MAGIC):start], "little")
    if size > MAX_HEADER_BYTES or start + size > len(blob):
        raise ValueError("its header is longer than the file or the limit")
    try:
        listed = json.loads(blob[start:start + size].decode())
    except ValueError as err:
        raise ValueError(f"its header is not JSON: {err}")
    wanted = [[name, list(t.shape)] for name, t in expected.items()]
    if listed != wanted:
        names = {e[0] for e in listed if isinstance(e, list) and e and isinstance(e[0], str)} if isinstance(listed, list) else set()
        extra = sorted(names - set(expected))
        hint = f" (it has {', '.join(extra[:4])}, which GPT(config) does not save" if extra else ""
        if any(name.endswith(".attn.mask") for name in extra):
            hint += "; the attention mask is model.py's, never the artifact's"
        hint += ")" if extra else ""
        raise ValueError(f"it must hold exactly GPT(config).state_dict()'s tensors, in order, with their shapes{hint}")
    count = sum(t.numel() for t in expected.values())
    if len(blob) - start - size != 4 * count:
        raise ValueError(f"it must hold {4 * count} bytes of float32 data after the header")
    flat = torch.from_numpy(np.frombuffer(blob, dtype="<f4", offset=start + size).astype(np.float32))
    out, at = {}, 0
    for name, ref in expected.items():
        out[name] = flat[at:at + ref.numel()].view(ref.shape).clone()
        at += ref.numel()
    return out


def save_artifact(model, out_dir, memory_gb=0.0):
    """What evaluate.py reads: model.json (config, the meter's count, memory) and model.bin (weights)."""
    write_weights(os.path.join(out_dir, "model.bin"), model.state_dict())
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump({**model.config, "memory_gb": memory_gb, "train_tokens": tokens_spent()}, f)
