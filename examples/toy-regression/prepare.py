"""Frozen: writes the toy-regression dataset and the fixed training budget.

The data depend only on DATA_SEED, never on AUTORESEARCH_SEED, so every machine
prepares byte-identical data and a trial's seed only changes the training run.
"""
import json
import math
import os
import random

DATA_SEED = 20240601
N_TRAIN = 400
N_VAL = 200
NOISE = 0.1
# Fixed budget: examples (gradient evaluations) train.py may process in total.
BUDGET_EXAMPLES = 160000


def target(x):
    return math.sin(3.0 * x) + 0.3 * x * x - 0.2 * x


def sample(rng, n):
    xs = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    return [{"x": x, "y": target(x) + rng.gauss(0.0, NOISE)} for x in xs]


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.replace(tmp, path)


def main():
    out = os.environ["AUTORESEARCH_DATA"]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(DATA_SEED)
    write_json(os.path.join(out, "train.json"), sample(rng, N_TRAIN))
    write_json(os.path.join(out, "val.json"), sample(rng, N_VAL))
    write_json(os.path.join(out, "meta.json"), {
        "budget_examples": BUDGET_EXAMPLES,
        "input_dim": 1,
        "noise_std": NOISE,
    })
    print(f"prepared {N_TRAIN} train and {N_VAL} val points in {out}")


if __name__ == "__main__":
    main()
