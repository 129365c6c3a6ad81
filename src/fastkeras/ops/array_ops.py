"""Shape and indexing ops (keras.ops names), each with its backward beside it."""
import builtins

import numpy as np

from fastkeras._limits import check_allocation, check_result
from fastkeras.ops import tape as _tape
from fastkeras.ops.math import _norm_axis, make, unbroadcast
from fastkeras.ops.tensor import Tensor, as_array, _floatx_dtype, convert_to_tensor

__all__ = [
    "array", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "take",
    "take_along_axis", "one_hot", "tile", "repeat", "broadcast_to", "flip", "pad", "zeros",
    "ones", "zeros_like", "ones_like", "full", "full_like", "eye", "shape", "size",
    "convert_to_numpy", "flatten", "ravel", "gather", "swapaxes", "moveaxis",
]


def array(x, dtype=None):
    """keras.ops.array: a Tensor holding x. Without ``dtype``, Python ints (and lists of
    them) become int32 and Python floats floatx, as in Keras; numpy arrays keep theirs."""
    if dtype is None and not isinstance(x, (np.ndarray, np.generic, Tensor)):
        kind = np.asarray(x).dtype.kind
        dtype = "int32" if kind in "iu" else (_floatx_dtype() if kind == "f" else None)
    return convert_to_tensor(x, dtype=dtype)


def transpose(x, axes=None):
    a = as_array(x)
    perm = tuple(range(a.ndim))[::-1] if axes is None else tuple(int(i) % builtins.max(a.ndim, 1)
                                                                for i in axes)
    if sorted(perm) != list(range(a.ndim)):
        raise ValueError(f"`axes` {axes!r} is not a permutation of the {a.ndim} axes")
    inv = tuple(np.argsort(perm))
    return make(np.transpose(a, perm), (x,), lambda g, needs: (np.transpose(g, inv),))


def swapaxes(x, axis1, axis2):
    a = as_array(x)
    perm = list(range(a.ndim))
    i, j = int(axis1) % a.ndim, int(axis2) % a.ndim
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    a = as_array(x)
    src = [int(s) % a.ndim for s in np.atleast_1d(source)]
    dst = [int(d) % a.ndim for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: `source` {source!r} and `destination` {destination!r} "
                         "must have the same number of entries")
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def expand_dims(x, axis):
    a = as_array(x)
    out = np.expand_dims(a, axis)
    return make(out, (x,), lambda g, needs: (np.reshape(g, a.shape),))


def squeeze(x, axis=None):
    a = as_array(x)
    if axis is not None:
        for ax in _norm_axis(axis, a.ndim):
            if a.shape[ax] != 1:
                raise ValueError(f"cannot squeeze axis {ax} of size {a.shape[ax]} "
                                 f"(shape {a.shape})")
    out = np.squeeze(a, axis=axis if axis is None else _norm_axis(axis, a.ndim))
    return make(out, (x,), lambda g, needs: (np.reshape(g, a.shape),))


def flatten(x):
    """All elements as a 1-D tensor (numpy's ravel)."""
    a = as_array(x)
    return make(a.reshape(-1), (x,), lambda g, needs: (np.reshape(g, a.shape),))


ravel = flatten


def _seq(xs, name):
    if isinstance(xs, Tensor) or isinstance(xs, np.ndarray):
        raise TypeError(f"`{name}` expects a list or tuple of tensors")
    xs = list(xs)
    if not xs:
        raise ValueError(f"`{name}` needs at least one tensor")
    return xs


def concatenate(xs, axis=0):
    xs = _seq(xs, "concatenate")
    arrays = [as_array(x) for x in xs]
    nd = arrays[0].ndim
    if builtins.any(a.ndim != nd for a in arrays):
        raise ValueError(f"concatenate: all inputs must have the same rank, got shapes "
                         f"{[a.shape for a in arrays]}")
    ax = int(axis) % builtins.max(nd, 1)
    total = builtins.sum(a.size for a in arrays)  # a config may repeat a tensor 1000s of times
    check_result(total, lambda: ((total,), np.result_type(*arrays)), "ops.concatenate")
    out = np.concatenate(arrays, axis=ax)
    bounds = np.cumsum([a.shape[ax] for a in arrays])[:-1]

    def backward(g, needs):
        parts = np.split(g, bounds, axis=ax)
        return tuple(p if n else None for p, n in zip(parts, needs))

    return make(out, tuple(xs), backward)


def stack(xs, axis=0):
    xs = _seq(xs, "stack")
    arrays = [as_array(x) for x in xs]
    total = len(arrays) * arrays[0].size
    check_result(total, lambda: ((total,), np.result_type(*arrays)), "ops.stack")
    out = np.stack(arrays, axis=axis)
    ax = int(axis) % out.ndim

    def backward(g, needs):
        return tuple(np.take(g, i, axis=ax) if n else None for i, n in enumerate(needs))

    return make(out, tuple(xs), backward)


def split(x, indices_or_sections, axis=0):
    """Split into a list of tensors (keras.ops.split); each piece is differentiable."""
    a = as_array(x)
    ax = int(axis) % builtins.max(a.ndim, 1)
    pieces = np.split(a, indices_or_sections, axis=ax)
    starts = np.cumsum([0] + [p.shape[ax] for p in pieces])
    outs = []
    for k, p in enumerate(pieces):
        lo, hi = int(starts[k]), int(starts[k + 1])

        def backward(g, needs, lo=lo, hi=hi):
            idx = [slice(None)] * a.ndim
            idx[ax] = slice(lo, hi)
            return (_tape.SliceGrad(a.shape, g.dtype, tuple(idx), g),)

        outs.append(make(np.array(p), (x,), backward))
    return outs


def _indices(indices, name="indices"):
    i = as_array(indices)
    if i.dtype.kind not in "iu":
        if i.dtype.kind == "f" and np.all(np.isfinite(i)) and np.all(i == np.round(i)):
            i = i.astype(np.int64)
        else:
            raise TypeError(f"`{name}` must hold integers, got dtype {i.dtype}")
    return i


def _scatter_flat(shape, idx, g):
    """Zeros of shape (flattened) with g added at the flat indices idx (repeats add)."""
    full = np.zeros(int(np.prod(shape)), g.dtype)
    np.add.at(full, idx.reshape(-1), g.reshape(-1))
    return full.reshape(shape)


def take(x, indices, axis=None):
    """Elements at indices along axis (keras.ops.take / tf.gather); the gradient
    scatters back, adding repeated indices."""
    a = as_array(x)
    idx = _indices(indices)
    size = a.size if axis is None else a.shape[int(axis) % builtins.max(a.ndim, 1)]
    if idx.size and (idx.max() >= size or idx.min() < -size):
        raise IndexError(f"take: indices must be in [{-size}, {size}), got "
                         f"[{idx.min()}, {idx.max()}]")
    check_result(a.size * idx.size, lambda: ((idx.size * (a.size // builtins.max(size, 1))
                                              if axis is not None else idx.size,), a.dtype),
                 "ops.take")
    out = np.take(a, idx, axis=axis)

    def backward(g, needs):
        if axis is None:
            return (_scatter_flat(a.shape, idx, g),)
        ax = int(axis) % a.ndim
        full = np.zeros(a.shape, g.dtype)
        gm = np.moveaxis(g.reshape(a.shape[:ax] + idx.shape + a.shape[ax + 1:]),
                         list(range(ax, ax + idx.ndim)), list(range(idx.ndim)))
        fm = np.moveaxis(full, ax, 0)
        np.add.at(fm, idx, gm)
        return (full,)

    return make(out, (x,), backward)


def gather(x, indices, axis=0):
    """tf.gather (axis defaults to 0)."""
    return take(x, indices, axis=axis)


def take_along_axis(x, indices, axis=None):
    a = as_array(x)
    idx = _indices(indices)

    def out_shape():  # indices broadcast against x off the axis
        if axis is None or a.ndim != idx.ndim:
            return (idx.size,)
        ax = int(axis) % a.ndim
        sa, si = list(a.shape), list(idx.shape)
        sa[ax] = si[ax] = 1
        try:
            shape = list(np.broadcast_shapes(tuple(sa), tuple(si)))
        except ValueError:
            return (0,)  # numpy says what is wrong
        shape[ax] = idx.shape[ax]
        return shape

    check_result(a.size * idx.size, lambda: (out_shape(), a.dtype), "ops.take_along_axis")
    out = np.take_along_axis(a, idx, axis=axis)

    def backward(g, needs):
        if axis is None:
            return (_scatter_flat(a.shape, idx, g),)
        full = np.zeros(a.shape, g.dtype)
        ax = int(axis) % a.ndim
        grid = list(np.indices(idx.shape, sparse=True))
        grid[ax] = idx
        np.add.at(full, tuple(grid), g)
        return (full,)

    return make(out, (x,), backward)


def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot encoding (keras.ops.one_hot); out-of-range indices give all-zero rows."""
    idx = _indices(x, "x")
    if isinstance(num_classes, bool) or int(num_classes) < 1:
        raise ValueError(f"`num_classes` must be a positive integer, got {num_classes!r}")
    n = int(num_classes)
    check_allocation(idx.shape + (n,), dtype or _floatx_dtype(), "ops.one_hot")
    out = (idx[..., None] == np.arange(n)).astype(dtype or _floatx_dtype())
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return Tensor(out)


def tile(x, repeats):
    a = as_array(x)
    reps = (int(repeats),) if np.ndim(repeats) == 0 else tuple(int(r) for r in repeats)
    check_allocation((a.size,) + reps, a.dtype, "ops.tile")
    out = np.tile(a, reps)

    def backward(g, needs):
        r = (1,) * (out.ndim - len(reps)) + reps
        shp = (1,) * (out.ndim - a.ndim) + a.shape
        inter = []
        for k, s in zip(r, shp):
            inter += [k, s]
        summed = g.reshape(inter).sum(axis=tuple(range(0, 2 * out.ndim, 2)))
        return (summed.reshape(a.shape),)

    return make(out, (x,), backward)


def repeat(x, repeats, axis=None):
    a = as_array(x)
    check_allocation((int(np.max(repeats, initial=0)), a.size), a.dtype, "ops.repeat")
    out = np.repeat(a, repeats, axis=axis)

    def backward(g, needs):
        src = a.reshape(-1) if axis is None else a
        ax = 0 if axis is None else int(axis) % a.ndim
        reps = np.broadcast_to(np.asarray(repeats), (src.shape[ax],))
        owners = np.repeat(np.arange(src.shape[ax]), reps)
        full = np.zeros(src.shape, g.dtype)
        np.add.at(np.moveaxis(full, ax, 0), owners, np.moveaxis(g, ax, 0))
        return (full.reshape(a.shape),)

    return make(out, (x,), backward)


def broadcast_to(x, shape):
    a = as_array(x)
    check_allocation(tuple(shape), a.dtype, "ops.broadcast_to")
    out = np.broadcast_to(a, tuple(shape)).copy()
    return make(out, (x,), lambda g, needs: (unbroadcast(g, a.shape),))


def flip(x, axis=None):
    a = as_array(x)
    return make(np.flip(a, axis), (x,), lambda g, needs: (np.flip(g, axis),))


def pad(x, pad_width, mode="constant", constant_values=0):
    """Pad (keras.ops.pad, constant mode differentiable)."""
    a = as_array(x)
    if mode != "constant":
        return Tensor(np.pad(a, pad_width, mode=mode))
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2))
    if np.any(pw < 0):
        raise ValueError(f"`pad_width` must be >= 0, got {pad_width!r}")
    check_allocation([int(n) + int(lo) + int(hi) for n, (lo, hi) in zip(a.shape, pw)],
                     a.dtype, "ops.pad")
    out = np.pad(a, pw, mode="constant", constant_values=constant_values)
    sl = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(pw, a.shape))
    return make(out, (x,), lambda g, needs: (g[sl],))


def _created(shape, dtype, op):
    """The shape and dtype of a new array, checked against memory (and a load's budget)."""
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    dtype = np.dtype(dtype or _floatx_dtype())
    check_allocation([int(d) for d in shape], dtype, f"ops.{op}")
    return shape, dtype


def zeros(shape, dtype=None):
    return Tensor(np.zeros(*_created(shape, dtype, "zeros")))


def ones(shape, dtype=None):
    return Tensor(np.ones(*_created(shape, dtype, "ones")))


def full(shape, fill_value, dtype=None):
    shape, dtype = _created(shape, dtype, "full")
    return Tensor(np.full(shape, as_array(fill_value), dtype))


def zeros_like(x, dtype=None):
    return Tensor(np.zeros_like(as_array(x), dtype=dtype))


def ones_like(x, dtype=None):
    return Tensor(np.ones_like(as_array(x), dtype=dtype))


def full_like(x, fill_value, dtype=None):
    return Tensor(np.full_like(as_array(x), as_array(fill_value), dtype=dtype))


def eye(N, M=None, k=0, dtype=None):
    _, dtype = _created((N, N if M is None else M), dtype, "eye")
    return Tensor(np.eye(N, M, k, dtype=dtype))


def shape(x):
    """The static shape as a tuple of ints (keras.ops.shape)."""
    return tuple(as_array(x).shape)


def size(x):
    return int(as_array(x).size)


def convert_to_numpy(x):
    return np.array(as_array(x), copy=True)
