"""Editable: length-limited Huffman codes, canonical as DEFLATE requires."""
import heapq


def code_lengths(freqs, max_bits):
    """Code length per symbol (0 for unused symbols), none longer than `max_bits`.

    At least two symbols get a code, so that every code is complete.
    """
    freqs = list(freqs)
    used = [i for i, f in enumerate(freqs) if f > 0]
    for filler in range(len(freqs)):
        if len(used) >= 2:
            break
        if filler not in used:
            freqs[filler] = 1
            used.append(filler)
    while True:
        lengths = _huffman(freqs)
        if max(lengths) <= max_bits:
            return lengths
        # Too deep: flatten the frequencies and build again.
        freqs = [(f + 1) // 2 if f > 0 else 0 for f in freqs]


def _huffman(freqs):
    heap = [(f, i, (i,)) for i, f in enumerate(freqs) if f > 0]
    heapq.heapify(heap)
    lengths = [0] * len(freqs)
    order = len(freqs)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            lengths[s] += 1
        heapq.heappush(heap, (f1 + f2, order, a + b))
        order += 1
    return lengths


def canonical_codes(lengths):
    """The canonical code of each symbol, bit-reversed for DEFLATE's LSB-first bit order."""
    max_len = max(lengths)
    count = [0] * (max_len + 1)
    for n in lengths:
        if n:
            count[n] += 1
    next_code = [0] * (max_len + 2)
    code = 0
    for bits in range(1, max_len + 1):
        code = (code + count[bits - 1]) << 1
        next_code[bits] = code
    codes = [0] * len(lengths)
    for symbol, n in enumerate(lengths):
        if n:
            c = next_code[n]
            next_code[n] += 1
            codes[symbol] = int(format(c, f"0{n}b")[::-1], 2)
    return codes
