"""pad_sequences (keras.utils.pad_sequences / keras.preprocessing.sequence.pad_sequences)."""
import numbers

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (or truncate) a list of sequences to one length: a NumPy array of shape
    ``(len(sequences), maxlen) + sample_shape``.

    ``maxlen`` defaults to the longest sequence; ``padding`` / ``truncating`` ("pre" or
    "post") say on which side values are added / removed; ``value`` fills the padding
    (a string needs ``dtype=object`` or a string dtype). Each sequence's items may be
    arrays of one shape (the sample shape, taken from the first non-empty sequence)."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood (`padding` must be "pre" '
                         'or "post")')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood (`truncating` must '
                         'be "pre" or "post")')
    if maxlen is not None and (isinstance(maxlen, bool) or
                               not isinstance(maxlen, numbers.Integral) or maxlen < 0):
        raise ValueError(f"`maxlen` must be a non-negative integer or None, got {maxlen!r}")
    lengths, sample_shape = [], None
    for x in sequences:
        try:
            n = len(x)
        except TypeError:
            raise ValueError("`sequences` must be a list of iterables. "
                             f"Found non-iterable: {x}") from None
        lengths.append(n)
        if sample_shape is None and n:
            sample_shape = np.asarray(x).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: `sequences` is empty; pass `maxlen` to get an "
                             "empty (0, maxlen) array")
        maxlen = max(lengths)
    maxlen = int(maxlen)
    is_str_dtype = dtype is not object and np.dtype(dtype).kind in "SU"
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                         f"{type(value)}\nYou should set `dtype=object` for variable length "
                         "strings.")
    out = np.full((len(lengths), maxlen) + tuple(sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, (s, n) in enumerate(zip(sequences, lengths)):
        if not n:
            continue
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(sample_shape):
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {i} "
                             f"is different from expected shape {tuple(sample_shape)}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
