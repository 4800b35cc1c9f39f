"""Frozen: the GPT that train.py trains and evaluate.py scores.

The architecture is fixed here so that evaluate.py can rebuild any artifact
from data alone; train.py chooses its size (the CONFIG_BOUNDS fields) and how it
is trained. Like nanoGPT, the causal mask is a buffer in the state dict, so it
travels in the artifact: evaluate.py therefore never assumes causality, it tests
it on the loaded model.
"""
import math

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
        self.register_buffer("mask", torch.tril(torch.ones(t, t)).view(1, 1, t, t))

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
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(self.tok(idx) + self.pos(pos))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))
