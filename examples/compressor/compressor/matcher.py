"""Editable: finds repeated strings (LZ77) with hash chains.

A token is a literal byte (an int) or a (length, distance) pair that copies `length`
bytes from `distance` bytes back. DEFLATE allows lengths 3..258 and distances 1..32768.
"""
WINDOW_SIZE = 1024  # how far back a match may start (at most 32768)
MAX_CHAIN = 4  # candidates tried per position: more finds longer matches, slower
MIN_MATCH = 5  # shortest match worth a token (DEFLATE allows 3)
NICE_LENGTH = 32  # stop searching once a match this long is found
LAZY_MATCHING = 0  # 1: before taking a match, see whether the next byte starts a longer one

_MAX_MATCH = 258  # DEFLATE's longest match: a limit of the format, not a knob


def _longest(data, pos, head, prev, window, chain, nice):
    """The longest earlier match for data[pos:], as (length, distance); length 0 when none."""
    end = min(len(data), pos + _MAX_MATCH)
    best_len, best_dist = 0, 0
    candidate = head.get(data[pos:pos + 3], -1)
    tries = 0
    while candidate >= 0 and pos - candidate <= window and tries < chain:
        tries += 1
        if best_len == 0 or (pos + best_len < end and data[candidate + best_len] == data[pos + best_len]):
            length = 0
            while pos + length < end and data[candidate + length] == data[pos + length]:
                length += 1
            if length > best_len:
                best_len, best_dist = length, pos - candidate
                if length >= nice:
                    break
        candidate = prev[candidate]
    return best_len, best_dist


def tokens(data):
    """LZ77 tokens of `data` (bytes)."""
    window = max(1, min(32768, int(WINDOW_SIZE)))
    chain = max(1, int(MAX_CHAIN))
    min_match = max(3, min(_MAX_MATCH, int(MIN_MATCH)))
    nice = max(min_match, min(_MAX_MATCH, int(NICE_LENGTH)))
    head = {}
    prev = [-1] * len(data)
    out = []

    def insert(i):
        if i + 3 <= len(data):
            key = data[i:i + 3]
            prev[i] = head.get(key, -1)
            head[key] = i

    pos = 0
    pending = None
    while pos < len(data):
        length, dist = pending if pending is not None else _longest(data, pos, head, prev, window, chain, nice)
        pending = None
        if length >= min_match and LAZY_MATCHING > 0 and length < nice and pos + 1 < len(data):
            insert(pos)
            following = _longest(data, pos + 1, head, prev, window, chain, nice)
            if following[0] > length:
                out.append(data[pos])
                pos += 1
                pending = following
                continue
            for i in range(pos + 1, pos + length):
                insert(i)
            out.append((length, dist))
            pos += length
            continue
        if length >= min_match:
            for i in range(pos, pos + length):
                insert(i)
            out.append((length, dist))
            pos += length
        else:
            insert(pos)
            out.append(data[pos])
            pos += 1
    return out
