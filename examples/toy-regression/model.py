"""Frozen: the model family train.py trains and evaluate.py scores, its gradients, and the only way to save it.

train.py chooses the width, the initialisation, the optimizer and the order of the
examples; the gradients come from here, and every example they are computed on is
charged to the work budget the manifest declares (train.workBudget, passed by the
runner as AUTORESEARCH_WORK_BUDGET). Past the budget the run stops with exit code
WORK_BUDGET_EXIT, which the runner reports as over-work-budget; save_artifact
records the count, which evaluate.py reports for the runner to check again. The
meter runs in train.py's own process: code written to reset it or to compute
gradients elsewhere is a deliberate cheat in a public diff, bounded by the runner's
time limits (docs/causes.md).
"""
import json
import math
import os
import sys

FAMILY = "mlp-tanh-1"
MAX_HIDDEN = 64
# The runner's code for "stopped at the work budget" (WORK_BUDGET_EXIT_CODE, docs/causes.md).
WORK_BUDGET_EXIT = 86


class BudgetExceeded(SystemExit):
    """Ends train at the budget. A SystemExit, so that `except Exception` does not swallow it."""

    def __init__(self, message):
        super().__init__(WORK_BUDGET_EXIT)
        self.message = message

    def __str__(self):
        return self.message


_meter = {"spent": 0}


def training_budget():
    """Examples train.py may compute gradients on: the manifest's train.workBudget.amount."""
    value = os.environ.get("AUTORESEARCH_WORK_BUDGET")
    if value is None:
        raise RuntimeError("AUTORESEARCH_WORK_BUDGET is not set: run through autoresearch-run, or set it to train.workBudget.amount")
    return int(value)


def examples_spent():
    return _meter["spent"]


def charge_examples(n):
    _meter["spent"] += int(n)
    budget = training_budget()
    if _meter["spent"] > budget:
        message = (f"training budget exceeded: gradients on {_meter['spent']} examples, "
                   f"the budget is {budget} (train.workBudget)")
        print(f"BudgetExceeded: {message}", file=sys.stderr, flush=True)
        raise BudgetExceeded(message)


def gradients(w1, b1, w2, b2, batch):
    """Gradients of the batch's mean squared error for the weights, as [gw1, gb1, gw2, gb2]; charges len(batch) examples."""
    charge_examples(len(batch))
    h, bs = len(w1), len(batch)
    gw1, gb1, gw2, gb2 = [0.0] * h, [0.0] * h, [0.0] * h, [0.0]
    for x, y in batch:
        hs = [math.tanh(w1[j] * x + b1[j]) for j in range(h)]
        d = 2.0 * (sum(w2[j] * hs[j] for j in range(h)) + b2 - y) / bs
        gb2[0] += d
        for j in range(h):
            gw2[j] += d * hs[j]
            dz = d * w2[j] * (1.0 - hs[j] * hs[j])
            gw1[j] += dz * x
            gb1[j] += dz
    return [gw1, gb1, gw2, gb2]


def predict(w1, b1, w2, b2, x):
    return b2 + sum(w2[j] * math.tanh(w1[j] * x + b1[j]) for j in range(len(w1)))


def save_artifact(out_dir, w1, b1, w2, b2, memory_gb=0.0):
    """What evaluate.py reads: model.json with the weights and the meter's count."""
    artifact = {
        "family": FAMILY,
        "hidden_units": len(w1),
        "w1": w1, "b1": b1, "w2": w2, "b2": b2,
        "memory_gb": memory_gb,
        "trained_examples": examples_spent(),
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(artifact, f)
