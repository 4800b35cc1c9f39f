"""Frozen: writes the toy-regression dataset: training data and the held-out validation split.

The data depend only on DATA_SEED, never on AUTORESEARCH_SEED, so every machine
prepares byte-identical data and a trial's seed only changes the training run.
The validation split goes to AUTORESEARCH_HELDOUT (prepare.heldOut), which the
runner shows to evaluate.py and never to train.py. The training budget is the
manifest's (train.workBudget), not the data's.
"""
import json
import math
import os
import random

DATA_SEED = 20240601
N_TRAIN = 400
N_VAL = 200
NOISE = 0.1


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
    held_out = os.environ["AUTORESEARCH_HELDOUT"]
    rng = random.Random(DATA_SEED)
    write_json(os.path.join(out, "train.json"), sample(rng, N_TRAIN))
    write_json(os.path.join(held_out, "val.json"), sample(rng, N_VAL))
    write_json(os.path.join(out, "meta.json"), {
        "input_dim": 1,
        "noise_std": NOISE,
    })
    print(f"prepared {N_TRAIN} train points in {out} and {N_VAL} held-out val points in {held_out}")


if __name__ == "__main__":
    main()
