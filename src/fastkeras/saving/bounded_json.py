"""JSON from a file, parsed only after its nesting depth is known to be small: a config
nested 10,000 deep would exhaust Python's recursion in json and in every walk after it."""
import json

import numpy as np

from fastkeras.saving.errors import FileFormatError

__all__ = ["loads", "MAX_DEPTH"]

MAX_DEPTH = 200  # a Keras config nests a few levels per nested model
# json.loads makes a Python object of every value (a 60 MB config of "{}," became 1.3 GB of
# dicts); a 2,000-layer functional config has ~10**5 containers and a few 10**5 values
MAX_CONTAINERS = 1_000_000
MAX_VALUES = 4_000_000
_QUOTE, _BACKSLASH, _SEPARATOR = ord('"'), ord("\\"), ord(",")
_STEP = np.zeros(256, np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_BLOCK = 1 << 20  # bytes per step of the scan: its temporaries stay a few MB


class _Extent:
    """What the scan found: the deepest nesting, the containers and the separators."""

    def __init__(self):
        self.depth = self.containers = self.separators = 0


def _scan(raw):
    """The deepest nesting of brackets outside strings, scanned block by block in linear
    time and bounded memory (a regex over strings took quadratic time on unterminated
    strings and ~100 bytes of backtracking state per character of a long string). A
    quote ends a string unless an odd run of backslashes precedes it; where the text is
    not JSON the count may differ, but only after the point where the parser fails."""
    extent = _Extent()
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
            separators = block == _SEPARATOR
        else:
            parity = np.cumsum(quote, dtype=np.int64) + inside
            outside = parity % 2 == 0
            steps = np.where(outside, _STEP[block], 0)  # brackets inside strings
            separators = (block == _SEPARATOR) & outside
            inside = int(parity[-1]) % 2
        extent.containers += int(np.count_nonzero(steps == 1))
        extent.separators += int(np.count_nonzero(separators))
        levels = np.cumsum(steps, dtype=np.int64) + level
        top, level = max(top, int(levels.max())), int(levels[-1])
    extent.depth = top
    return extent


def loads(text, name, what="config"):
    """json.loads(text), refused (FileFormatError naming `name`) when it is not JSON,
    nests deeper than MAX_DEPTH or holds more than MAX_CONTAINERS lists and objects or
    MAX_VALUES values."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    extent = _scan(raw)
    if extent.depth > MAX_DEPTH:
        raise FileFormatError(f"{name}: the {what} nests {extent.depth} levels deep (at most "
                              f"{MAX_DEPTH}); refused")
    if extent.containers > MAX_CONTAINERS or extent.separators + 1 > MAX_VALUES:
        raise FileFormatError(f"{name}: the {what} holds {extent.containers:,} lists and "
                              f"objects and {extent.separators + 1:,} values (at most "
                              f"{MAX_CONTAINERS:,} and {MAX_VALUES:,}); refused")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise FileFormatError(f"{name}: the {what} is not valid JSON ({e})") from e
