"""Frozen: stands in for a training run of fixed cost, then runs train.py.

The cost is a sleep, so many simulated workers fit on a few cores while each run
still takes as long as TRAIN_SECONDS. It is here, protected, so no edit to train.py
can make a run cheaper. The benchmarks rewrite this constant in their copy.
"""
import runpy
import time

TRAIN_SECONDS = 1.0

time.sleep(TRAIN_SECONDS)
runpy.run_path("train.py", run_name="__main__")
