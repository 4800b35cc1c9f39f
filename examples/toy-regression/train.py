"""Editable: fits model.py's one-hidden-layer tanh MLP to the toy data by mini-batch SGD.

Tune the constants below, or change how training works (optimizer, schedule,
initialisation, the order of the examples). The budget is a fixed number of
examples (train.workBudget in autoresearch.json, AUTORESEARCH_WORK_BUDGET here):
model.py's gradients count every example and stop the run past it. Save with
model.save_artifact; evaluate.py scores the saved weights, not what this prints.
"""
import json
import os
import random
import resource

from model import gradients, save_artifact, training_budget

LEARNING_RATE = 0.01  # step size of SGD
BATCH_SIZE = 32  # examples per step; steps = budget // BATCH_SIZE
MOMENTUM = 0.0  # heavy-ball momentum
WEIGHT_DECAY = 0.001  # L2 penalty on all weights
HIDDEN_UNITS = 8  # width of the hidden layer (evaluate.py allows at most 64)
INIT_SCALE = 0.5  # std of the initial weights
LR_DECAY = 0.0  # fraction by which the step size decays linearly over training


def main():
    seed = int(os.environ["AUTORESEARCH_SEED"])
    data_dir = os.environ["AUTORESEARCH_DATA"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    with open(os.path.join(data_dir, "train.json")) as f:
        train = [(p["x"], p["y"]) for p in json.load(f)]
    budget = training_budget()

    rng = random.Random(seed)
    h = int(HIDDEN_UNITS)
    w1 = [rng.gauss(0.0, INIT_SCALE) for _ in range(h)]
    b1 = [rng.gauss(0.0, INIT_SCALE) for _ in range(h)]
    w2 = [rng.gauss(0.0, INIT_SCALE) for _ in range(h)]
    b2 = [0.0]
    params = [w1, b1, w2, b2]
    velocity = [[0.0] * len(p) for p in params]

    bs = max(1, int(BATCH_SIZE))
    steps = budget // bs
    order = []
    for step in range(steps):
        if len(order) < bs:
            refill = list(range(len(train)))
            rng.shuffle(refill)
            order.extend(refill)
        batch, order = order[:bs], order[bs:]
        grads = gradients(w1, b1, w2, b2[0], [train[i] for i in batch])
        lr = LEARNING_RATE * (1.0 - LR_DECAY * step / max(1, steps))
        for p, g, v in zip(params, grads, velocity):
            for k in range(len(p)):
                v[k] = MOMENTUM * v[k] + g[k] + WEIGHT_DECAY * p[k]
                p[k] -= lr * v[k]

    memory_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    save_artifact(out_dir, w1, b1, w2, b2[0], memory_gb)
    print(f"trained {steps} steps of {bs} examples, seed {seed}")


if __name__ == "__main__":
    main()
