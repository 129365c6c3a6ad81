"""JSON from a file, parsed only after its nesting depth is known to be small: a config
nested 10,000 deep would exhaust Python's recursion in json and in every walk after it."""
import json
import re

import numpy as np

from fastkeras.saving.errors import FileFormatError

__all__ = ["loads", "MAX_DEPTH"]

MAX_DEPTH = 200  # a Keras config nests a few levels per nested model
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _depth(raw):
    skeleton = np.frombuffer(_STRING.sub(b'""', raw), np.uint8)
    step = np.zeros(256, np.int8)
    step[[ord("["), ord("{")]] = 1
    step[[ord("]"), ord("}")]] = -1
    levels = np.cumsum(step[skeleton], dtype=np.int64)
    return int(levels.max(initial=0))


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
