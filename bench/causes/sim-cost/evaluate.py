"""Frozen: scores params.json on a bowl in log space, plus seed noise.

loss = sum over the constants (three, plus KNOBS) of ln(value / optimum)^2, plus Gaussian noise of
standard deviation NOISE drawn from the trial's seed and the values (so paired
runs of two different candidates on one seed do not share their noise exactly).
"""
import hashlib
import json
import math
import os
import random
import sys

OPTIMUM = {"learning_rate": 0.04, "weight_decay": 0.025, "width_scale": 2.0}
NOISE = 0.01
# Extra constants knob_1 .. knob_KNOBS of train.py, each with optimum 1.0: the benchmarks set
# KNOBS in their copy (and add the constants to its train.py) to give many searchers
# independent directions; the cause itself has none.
KNOBS = 0
OPTIMUM.update({f"knob_{i}": 1.0 for i in range(1, KNOBS + 1)})


def fail(message):
    print(f"evaluate: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    path = os.path.join(os.environ["AUTORESEARCH_OUT"], "params.json")
    if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > 4096:
        fail("params.json is missing, not a regular file, or too large")
    with open(path) as f:
        params = json.load(f)
    loss = 0.0
    for name, optimum in OPTIMUM.items():
        value = params.get(name) if isinstance(params, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            fail(f"{name} must be a positive finite number")
        loss += math.log(value / optimum) ** 2
    key = json.dumps([os.environ["AUTORESEARCH_SEED"], [params[k] for k in sorted(OPTIMUM)]])
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    loss += rng.gauss(0.0, NOISE)
    with open(os.environ["AUTORESEARCH_RESULT"], "w") as f:
        json.dump({"metric": loss, "loss": loss}, f)
    print(f"loss: {loss:.6f}")


if __name__ == "__main__":
    main()
