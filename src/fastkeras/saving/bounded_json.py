"""JSON from a file, parsed only after its nesting depth is known to be small: a config
nested 10,000 deep would exhaust Python's recursion in json and in every walk after it."""
import json

import numpy as np

from fastkeras.saving.errors import FileFormatError

__all__ = ["loads", "MAX_DEPTH"]

MAX_DEPTH = 200  # a Keras config nests a few levels per nested model
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_STEP = np.zeros(256, np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_BLOCK = 1 << 20  # bytes per step of the scan: its temporaries stay a few MB


def _depth(raw):
    """The deepest nesting of brackets outside strings, scanned block by block in linear
    time and bounded memory (a regex over strings took quadratic time on unterminated
    strings and ~100 bytes of backtracking state per character of a long string). A
    quote ends a string unless an odd run of backslashes precedes it; where the text is
    not JSON the count may differ, but only after the point where the parser fails."""
    data = np.frombuffer(raw, np.uint8)
    level = top = 0
    inside = 0  # 1 when the block starts inside a string
    run = 0  # backslashes just before the block
    for at in range(0, data.size, _BLOCK):
        block = data[at:at + _BLOCK]
        quote = block == _QUOTE
        slash = block == _BACKSLASH
        if run or slash.any():  # drop the quotes an odd run of backslashes escapes
            idx = np.arange(block.size, dtype=np.int64)
            last = np.maximum.accumulate(np.where(slash, -1, idx))
            prev = np.concatenate(([-1], last[:-1]))  # last non-backslash before each byte
            slashes = idx - 1 - prev + np.where(prev < 0, run, 0)  # the run just before it
            quote &= slashes % 2 == 0
            run = block.size - 1 - int(last[-1]) + (run if last[-1] < 0 else 0)
        else:
            run = 0
        if not quote.any():
            if inside:
                continue  # the whole block is inside one string
            steps = _STEP[block]
        else:
            parity = np.cumsum(quote, dtype=np.int64) + inside
            steps = np.where(parity % 2 == 1, 0, _STEP[block])  # brackets inside strings
            inside = int(parity[-1]) % 2
        levels = np.cumsum(steps, dtype=np.int64) + level
        top, level = max(top, int(levels.max())), int(levels[-1])
    return top


def loads(text, name, what="config"):
    """json.loads(text), refused (FileFormatError naming `name`) when it is not JSON or
    nests deeper than MAX_DEPTH."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    depth = _depth(raw)
    if depth > MAX_DEPTH:
        raise FileFormatError(f"{name}: the {what} nests {depth} levels deep (at most "
                              f"{MAX_DEPTH}); refused")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise FileFormatError(f"{name}: the {what} is not valid JSON ({e})") from e
