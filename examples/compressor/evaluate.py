"""Frozen: decodes what the train step wrote and scores it in bits per byte.

The format is raw DEFLATE (RFC 1951), decoded by the system's zlib, never by the
candidate's code. A file that does not decode to the corpus file exactly fails the run:
a wrong output is not a small one.
"""
import json
import os
import sys
import zlib

# A stored (uncompressed) DEFLATE block costs 5 bytes per 65535: anything near this is no compression.
MAX_OVERHEAD_BYTES = 1024


def fail(message):
    print(f"evaluate: {message}", file=sys.stderr)
    sys.exit(1)


def decode(path, original):
    if os.path.islink(path) or not os.path.isfile(path):
        fail(f"{os.path.basename(path)} is missing or not a regular file")
    size = os.path.getsize(path)
    if size > len(original) + MAX_OVERHEAD_BYTES:
        fail(f"{os.path.basename(path)} is {size} bytes, more than the input ({len(original)}) plus {MAX_OVERHEAD_BYTES}")
    with open(path, "rb") as f:
        packed = f.read()
    decoder = zlib.decompressobj(-15)
    try:
        # Bounded: a stream that would expand past the input is cut off, then refused below.
        out = decoder.decompress(packed, len(original) + 1)
    except zlib.error as err:
        fail(f"{os.path.basename(path)} is not valid raw DEFLATE: {err}")
    if not decoder.eof or decoder.unconsumed_tail or decoder.unused_data:
        fail(f"{os.path.basename(path)} is not one complete DEFLATE stream (truncated, too long, or trailing bytes)")
    if out != original:
        at = next((i for i, (a, b) in enumerate(zip(out, original)) if a != b), min(len(out), len(original)))
        fail(f"{os.path.basename(path)} does not decode to the input: {len(out)} bytes instead of {len(original)}, first difference at byte {at}")
    return len(packed)


def main():
    data_dir = os.environ["AUTORESEARCH_DATA"]
    out_dir = os.environ["AUTORESEARCH_OUT"]
    with open(os.path.join(data_dir, "corpus.json")) as f:
        names = json.load(f)
    packed_total = 0
    original_total = 0
    per_file = {}
    reference = 0
    for name in names:
        with open(os.path.join(data_dir, name), "rb") as f:
            original = f.read()
        packed = decode(os.path.join(out_dir, name + ".deflate"), original)
        packed_total += packed
        original_total += len(original)
        per_file[name] = round(8 * packed / len(original), 4)
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        reference += len(z.compress(original) + z.flush())
    bpb = 8 * packed_total / original_total
    with open(os.environ["AUTORESEARCH_RESULT"], "w") as f:
        json.dump({"metric": bpb, "bits_per_byte": bpb, "compressed_bytes": packed_total, "input_bytes": original_total,
                   "zlib9_bits_per_byte": 8 * reference / original_total, "per_file": per_file}, f)
    print(f"bits_per_byte: {bpb:.6f} ({packed_total} of {original_total} bytes; zlib -9: {8 * reference / original_total:.4f})")


if __name__ == "__main__":
    main()
