"""Editable: turns LZ77 tokens into DEFLATE blocks with dynamic Huffman codes."""
from .bits import BitWriter
from .huffman import canonical_codes, code_lengths
from .matcher import tokens

BLOCK_TOKENS = 1000  # tokens per block: each block pays for its own code tables

LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
LENGTH_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


def _code(bases, value):
    """Index of the last base not above `value`."""
    lo, hi = 0, len(bases) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if bases[mid] <= value:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _symbols(block):
    """(literal/length symbol, extra, extra bits, distance symbol, extra, extra bits) per token."""
    out = []
    for t in block:
        if isinstance(t, int):
            out.append((t, 0, 0, None, 0, 0))
        else:
            length, dist = t
            lc = _code(LENGTH_BASE, length)
            dc = _code(DIST_BASE, dist)
            out.append((257 + lc, length - LENGTH_BASE[lc], LENGTH_EXTRA[lc], dc, dist - DIST_BASE[dc], DIST_EXTRA[dc]))
    return out


def _run_lengths(lengths):
    """The code lengths with DEFLATE's repeat codes 16, 17, 18, as (symbol, extra, extra bits)."""
    out = []
    i = 0
    while i < len(lengths):
        n = lengths[i]
        run = 1
        while i + run < len(lengths) and lengths[i + run] == n:
            run += 1
        if n == 0 and run >= 3:
            take = min(run, 138)
            out.append((18, take - 11, 7) if take >= 11 else (17, take - 3, 3))
        elif n != 0 and run >= 4:
            take = min(run - 1, 6) + 1
            out.append((n, 0, 0))
            out.append((16, take - 1 - 3, 2))
        else:
            take = 1
            out.append((n, 0, 0))
        i += take
    return out


def _write_block(writer, block, final):
    symbols = _symbols(block)
    lit_freq = [0] * 286
    dist_freq = [0] * 30
    for lit, _, _, dsym, _, _ in symbols:
        lit_freq[lit] += 1
        if dsym is not None:
            dist_freq[dsym] += 1
    lit_freq[256] += 1
    lit_len = code_lengths(lit_freq, 15)
    dist_len = code_lengths(dist_freq, 15)
    hlit = max(257, max(i for i, n in enumerate(lit_len) if n) + 1)
    hdist = max(1, max(i for i, n in enumerate(dist_len) if n) + 1)
    rle = _run_lengths(lit_len[:hlit] + dist_len[:hdist])
    cl_freq = [0] * 19
    for sym, _, _ in rle:
        cl_freq[sym] += 1
    cl_len = code_lengths(cl_freq, 7)
    hclen = 19
    while hclen > 4 and cl_len[CODE_LENGTH_ORDER[hclen - 1]] == 0:
        hclen -= 1

    writer.write(1 if final else 0, 1)
    writer.write(2, 2)  # dynamic Huffman codes
    writer.write(hlit - 257, 5)
    writer.write(hdist - 1, 5)
    writer.write(hclen - 4, 4)
    for sym in CODE_LENGTH_ORDER[:hclen]:
        writer.write(cl_len[sym], 3)
    cl_code = canonical_codes(cl_len)
    for sym, extra, nbits in rle:
        writer.write(cl_code[sym], cl_len[sym])
        if nbits:
            writer.write(extra, nbits)
    lit_code = canonical_codes(lit_len)
    dist_code = canonical_codes(dist_len)
    for lit, lextra, lbits, dsym, dextra, dbits in symbols:
        writer.write(lit_code[lit], lit_len[lit])
        if dsym is not None:
            if lbits:
                writer.write(lextra, lbits)
            writer.write(dist_code[dsym], dist_len[dsym])
            if dbits:
                writer.write(dextra, dbits)
    writer.write(lit_code[256], lit_len[256])


def compress(data):
    """Raw DEFLATE (no zlib header) of `data`."""
    data = bytes(data)
    stream = tokens(data)
    size = max(1, int(BLOCK_TOKENS))
    blocks = [stream[i:i + size] for i in range(0, len(stream), size)] or [[]]
    writer = BitWriter()
    for i, block in enumerate(blocks):
        _write_block(writer, block, i == len(blocks) - 1)
    return writer.finish()
