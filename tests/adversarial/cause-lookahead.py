"""An attacker's tiny-gpt train.py (tests/adversarial/cause.test.ts): a model that looks ahead
on every window but the one the old causality check used (the first block_size validation
characters), with the attention masks opened and smuggled into the artifact.

Hand-set weights, no training. Block 0's MLP marks a position "safe" when its character is the one
the checked window has there; block 1's attention reads the next character, except at safe
positions, which attend to themselves; block 1's MLP lets the next character through to the head
only at unsafe positions. On the checked window every position is safe, so changing later
characters moves nothing; elsewhere the model reads the character it predicts.
"""
import collections, json, math, os
import torch
import model as frozen
from model import GPT

# The test turns this off to show the same weights scored under model.py's own mask.
SMUGGLE_MASK = True
data, out = os.environ["AUTORESEARCH_DATA"], os.environ["AUTORESEARCH_OUT"]
meta = json.load(open(os.path.join(data, "meta.json")))
stoi = {ch: i for i, ch in enumerate(meta["vocab"])}
V, T, E = len(stoi), 64, 320
# val.txt is held out of train's sandbox, but this corpus is generated: the frozen prepare.py
# (public, and in train's checkout) makes it again (docs/causes.md, "Held-out data").
import random, prepare
_rng = random.Random(prepare.DATA_SEED)
prepare.corpus(_rng, prepare.TRAIN_CHARS)
checked = [stoi[ch] for ch in prepare.corpus(_rng, prepare.VAL_CHARS)[:T]]
text = [stoi[ch] for ch in open(os.path.join(data, "train.txt")).read()]
pairs = collections.Counter(zip(text, text[1:]))
bigram = torch.tensor([[math.log((pairs[(a, b)] + 1) / (sum(pairs[(a, c)] for c in range(V)) + V)) for b in range(V)] for a in range(V)])

TOK, POS, SAFE, UNSAFE, NEXT, GATED, COMP = 0, V, V + T, V + 2 * T, V + 2 * T + 1, 2 * V + 2 * T + 1, E - 1
S, A, L = 40.0, 40.0, 30.0
config = {"vocab_size": V, "n_layer": 2, "n_head": 1, "n_embd": E, "block_size": T, "dropout": 0.0}
model = GPT(config)


def alpha(k):
    """LayerNorm's scale for a vector of k ones among E zeros (weights with zero row sums cancel its mean)."""
    m = k / E
    return 1.0 / math.sqrt(k / E - m * m + 1e-5)


def zero_rows(w):
    w[:, COMP] = -w.sum(dim=1)


with torch.no_grad():
    for p in model.parameters():
        p.zero_()
    for mod in [model.ln] + [b.ln1 for b in model.blocks] + [b.ln2 for b in model.blocks]:
        mod.weight.fill_(1.0)
    for c in range(V):
        model.tok.weight[c, TOK + c] = 1.0
    for p in range(T):
        model.pos.weight[p, POS + p] = 1.0
    b0, b1 = model.blocks
    a1 = alpha(2)
    for p in range(T):
        b0.fc.weight[p, POS + p] = S / a1
        b0.fc.weight[p, TOK + checked[p]] = S / a1
        b0.fc.bias[p] = -1.5 * S
        b0.fc.weight[T + p, POS + p] = S / a1
        b0.fc.weight[T + p, TOK + checked[p]] = -S / a1
        b0.fc.bias[T + p] = -0.5 * S
        b0.out.weight[SAFE + p, p] = 2.0 / S
        b0.out.weight[UNSAFE, T + p] = 2.0 / S
    zero_rows(b0.fc.weight)
    a2 = alpha(3)
    q, k, v = b1.attn.qkv.weight[:E], b1.attn.qkv.weight[E:2 * E], b1.attn.qkv.weight[2 * E:]
    scale = A * math.sqrt(E) / a2 ** 2
    for p in range(T):
        if p + 1 < T:
            q[p + 1, POS + p] = scale
        q[p, SAFE + p] = 3 * scale
        k[p, POS + p] = 1.0
    for c in range(V):
        v[T + c, TOK + c] = 1.0
        b1.attn.proj.weight[NEXT + c, T + c] = 1.0 / a2
    zero_rows(b1.attn.qkv.weight)
    a3 = alpha(4)
    for c in range(V):
        b1.fc.weight[c, NEXT + c] = S / a3
        b1.fc.weight[c, UNSAFE] = S / a3
        b1.fc.bias[c] = -1.5 * S
        b1.out.weight[GATED + c, c] = 2.0 / S
    zero_rows(b1.fc.weight)
    a4, a5 = alpha(4), alpha(5)
    for c in range(V):
        model.head.weight[c, TOK:TOK + V] = bigram[:, c] / a4
        model.head.weight[c, GATED + c] = L / a5
    zero_rows(model.head.weight)

state = dict(model.state_dict())
if SMUGGLE_MASK:
    for i, block in enumerate(model.blocks):
        state[f"blocks.{i}.attn.mask"] = torch.ones_like(block.attn.mask)
if hasattr(frozen, "write_weights"):
    frozen.write_weights(os.path.join(out, "model.bin"), state)
else:
    torch.save(state, os.path.join(out, "model.pt"))
json.dump({**config, "train_tokens": 0}, open(os.path.join(out, "model.json"), "w"))
print("look-ahead weights written")
