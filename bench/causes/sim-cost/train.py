"""Editable: the hyperparameters of the simulated run (positive numbers).

evaluate.py scores them; what this prints is ignored. The constants sit apart,
with comments between them, so that changes to different constants by different
workers merge cleanly (git conflicts on changes to adjacent lines).
"""
import json
import os

# Step size of the simulated optimizer.
LEARNING_RATE = 0.01

# L2 penalty on the simulated weights.
WEIGHT_DECAY = 0.1

# Multiplier on the simulated model's width.
WIDTH_SCALE = 1.0

if __name__ == "__main__":
    # Every constant above by its name in lower case (a benchmark's copy may add KNOB_1, ...);
    # not the INERT_ ones a copy may add, which nothing scores, so that hundreds of them keep
    # params.json under evaluate.py's 4 KiB.
    params = {name.lower(): value for name, value in sorted(globals().items()) if name.isupper() and not name.startswith("INERT_")}
    with open(os.path.join(os.environ["AUTORESEARCH_OUT"], "params.json"), "w") as f:
        json.dump(params, f)
    print("params", params)
