"""Frozen: scores the artifact train.py left in AUTORESEARCH_OUT.

The artifact is plain JSON that this file interprets itself; no code from the
candidate runs here, and nothing train.py printed is read. The validation split
is read from AUTORESEARCH_HELDOUT, which train.py never sees. The count of
examples model.py's meter charged is reported as "trained": the runner refuses a
count over the manifest's train.workBudget.
"""
import json
import math
import os
import sys

from model import FAMILY, MAX_HIDDEN, predict

MAX_ARTIFACT_BYTES = 1 << 20


def fail(message):
    print(f"evaluate: {message}", file=sys.stderr)
    sys.exit(1)


def finite_list(value, n, name):
    if not isinstance(value, list) or len(value) != n:
        fail(f"{name} must be a list of {n} numbers")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            fail(f"{name} holds a value that is not a finite number")
    return [float(v) for v in value]


def load_model(path):
    if os.path.islink(path) or not os.path.isfile(path):
        fail("model.json is missing or not a regular file")
    if os.path.getsize(path) > MAX_ARTIFACT_BYTES:
        fail("model.json is too large")
    with open(path) as f:
        try:
            model = json.load(f)
        except ValueError as err:
            fail(f"model.json is not JSON: {err}")
    if not isinstance(model, dict) or model.get("family") != FAMILY:
        fail(f'model.json must describe family "{FAMILY}"')
    h = model.get("hidden_units")
    if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= MAX_HIDDEN:
        fail(f"hidden_units must be an integer from 1 to {MAX_HIDDEN}")
    w1 = finite_list(model.get("w1"), h, "w1")
    b1 = finite_list(model.get("b1"), h, "b1")
    w2 = finite_list(model.get("w2"), h, "w2")
    (b2,) = finite_list([model.get("b2")], 1, "b2")
    memory = model.get("memory_gb", 0.0)
    ok = isinstance(memory, (int, float)) and not isinstance(memory, bool) and math.isfinite(memory)
    # Reported by train.py itself: kept for the results log only, never for scoring.
    memory_gb = min(max(float(memory), 0.0), 1024.0) if ok else 0.0
    # Counted by model.py's meter and written by model.save_artifact.
    trained = model.get("trained_examples")
    if isinstance(trained, bool) or not isinstance(trained, int) or trained < 0:
        fail("model.json has no trained_examples count: save the model with model.save_artifact")
    return w1, b1, w2, b2, memory_gb, trained


def main():
    held_out = os.environ["AUTORESEARCH_HELDOUT"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    result_path = os.environ["AUTORESEARCH_RESULT"]
    w1, b1, w2, b2, memory_gb, trained = load_model(os.path.join(out_dir, "model.json"))
    with open(os.path.join(held_out, "val.json")) as f:
        val = [(p["x"], p["y"]) for p in json.load(f)]
    total = 0.0
    for x, y in val:
        total += (predict(w1, b1, w2, b2, x) - y) ** 2
    mse = total / len(val)
    if not math.isfinite(mse):
        fail("validation MSE is not finite")
    with open(result_path, "w") as f:
        json.dump({"metric": mse, "val_mse": mse, "memory_gb": memory_gb, "n_val": len(val), "trained": trained}, f)
    print(f"val_mse: {mse:.6f}")


if __name__ == "__main__":
    main()
