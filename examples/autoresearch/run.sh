#!/bin/sh
# Frozen: runs one upstream script (prepare.py or train.py) in the sandbox.
# Upstream keeps its data in ~/.cache/autoresearch; the runner gives each step its own
# HOME (the step's checkout), so that path is linked to AUTORESEARCH_DATA: prepare
# writes the shards and tokenizer there once per machine, train reads them read-only.
# The Python environment is the one made once per machine under /opt (README.md):
# the sandbox shows /opt read-only and has no network for uv to install anything.
set -eu
mkdir -p "$HOME/.cache"
ln -sfn "$AUTORESEARCH_DATA" "$HOME/.cache/autoresearch"
exec /opt/autoresearch/venv/bin/python "$@"
