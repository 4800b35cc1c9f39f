"""Frozen: the train step. Compresses every corpus file with the editable compressor.

Writes $AUTORESEARCH_OUT/<name>.deflate for each file listed in corpus.json. Nothing
here is trusted by evaluate.py, which decodes the files itself; the seed is not used
(the cause is deterministic).
"""
import json
import os
import sys
import time

# The encoder must be the candidate's own: the standard library's compressors, and any way
# to run one outside Python (a subprocess, a shared library), are refused from here on. An
# audit hook cannot be removed once added, so code under compressor/ cannot undo it.
REFUSED_MODULES = {"zlib", "lzma", "_lzma", "bz2", "_bz2", "gzip", "zipfile", "tarfile", "zipimport", "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "multiprocessing"}
REFUSED_EVENTS = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "subprocess.Popen", "ctypes.dlopen", "ctypes.dlsym"}


def _refuse(event, args):
    if event == "import" and str(args[0]).split(".")[0] in REFUSED_MODULES:
        raise ImportError(f"the compressor may not use {args[0]} (encode.py refuses the standard library's compressors)")
    if event in REFUSED_EVENTS:
        raise RuntimeError(f"the compressor may not run other programs or libraries ({event})")


sys.addaudithook(_refuse)

import compressor  # noqa: E402  (after the hook, so its imports are checked too)


def main():
    data_dir = os.environ["AUTORESEARCH_DATA"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    with open(os.path.join(data_dir, "corpus.json")) as f:
        names = json.load(f)
    started = time.monotonic()
    for name in names:
        with open(os.path.join(data_dir, name), "rb") as f:
            data = f.read()
        packed = compressor.compress(data)
        if not isinstance(packed, (bytes, bytearray)):
            raise SystemExit(f"compress() returned {type(packed).__name__}, not bytes, for {name}")
        with open(os.path.join(out_dir, name + ".deflate"), "wb") as f:
            f.write(packed)
        print(f"{name}: {len(data)} -> {len(packed)} bytes")
    print(f"encoded {len(names)} files in {time.monotonic() - started:.2f} s")


if __name__ == "__main__":
    main()
