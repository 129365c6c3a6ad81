"""fastkeras.random: Keras 3's ``keras.random`` (normal, uniform, truncated_normal, randint,
categorical, dropout, shuffle, gamma, beta, binomial and SeedGenerator).

Seeds behave as Keras' do: an int seed is stateless (the same numbers on every call, and the
same numbers as the first draw of ``SeedGenerator(seed)``); a ``SeedGenerator`` advances its
``state`` on each call, so repeated calls differ but a run repeats; ``seed=None`` draws from
fastkeras' global generator, which ``keras.utils.set_random_seed`` seeds.

The numbers come from NumPy's PCG64 generator keyed by the seed state, so they are not the
numbers TensorFlow's Philox streams give for the same seed: the distributions are the same,
the values differ. The draws are constants for a GradientTape; ``dropout`` and ``shuffle``
are differentiable with respect to their inputs (the mask / permutation is a constant), and
so is anything built from a draw with ``fastkeras.ops`` (``mean + ops.exp(0.5 * log_var) *
normal(shape)``).
"""
import numbers

import numpy as np

from fastkeras import _rng
from fastkeras import config
from fastkeras.ops.tensor import Tensor, Variable, as_array

__all__ = ["normal", "uniform", "truncated_normal", "randint", "categorical", "dropout",
           "shuffle", "gamma", "beta", "binomial", "SeedGenerator"]

_MASK64 = (1 << 64) - 1


class SeedGenerator:
    """A stateful seed for the random functions (keras.random.SeedGenerator).

    ``state`` is a non-trainable int64 Variable ``[seed, counter]``; each random call given
    the generator reads the state and advances the counter, so the calls draw different
    numbers while a run with the same seed repeats them. Use it as a layer attribute::

        self.seed_generator = keras.random.SeedGenerator(1337)
        ...
        keras.random.normal((batch, dim), seed=self.seed_generator)

    ``seed=None`` takes an initial seed from fastkeras' global generator (fixed by
    ``keras.utils.set_random_seed``).
    """

    _is_seed_generator = True  # a layer holding one lists its state in layer.variables

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)  # Keras' custom-backend hook: one backend here
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        if name is None:
            from fastkeras.layers.base import _unique_name  # shared with layer names

            name = _unique_name("seed_generator")
        self.name = name
        self._initial_seed = seed
        if seed is None:
            seed = _rng.draw_seed()
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        seed = int(seed)
        if not -(1 << 63) <= seed < (1 << 63):
            raise ValueError(f"Argument `seed` must fit in 64 bits (the state is int64). "
                             f"Received: seed={seed}")
        self.state = Variable(np.array([seed, 0], np.int64), trainable=False,
                              name="seed_generator_state", dtype="int64")
        self.state.path = f"{name}/seed_generator_state"

    def next(self, ordered=True):
        """The current state (a Tensor ``[seed, counter]``), advancing it: ``ordered``
        increments the counter; otherwise the state is scrambled (Keras' unordered step)."""
        value = np.array(self.state._value, copy=True)
        if ordered:
            self.state.assign(value + np.array([0, 1], np.int64))
        else:
            self.state.assign((value + 1) * 5387 % 933199)
        return Tensor(value)

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __repr__(self):
        return f"<SeedGenerator name={self.name!r} state={self.state._value.tolist()}>"


# ------------------------------------------------------------------------------ helpers
def _generator(seed):
    """The numpy Generator a call draws from: keyed by [seed, 0] for an int (what
    SeedGenerator(seed)'s first draw gives, as in Keras), by the generator's state for a
    SeedGenerator, else fastkeras' global generator."""
    if isinstance(seed, SeedGenerator):
        key = seed.next()._value
        return np.random.default_rng([int(key[0]) & _MASK64, int(key[1]) & _MASK64])
    if seed is None:
        return _rng.generator()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng([int(seed) & _MASK64, 0])
    raise ValueError("Argument `seed` must be either an integer or an instance of "
                     f"`SeedGenerator`. Received: seed={seed!r} (of type {type(seed)})")


def _shape(shape, fn):
    """A tuple of non-negative ints from an int, a list / tuple (of ints or 0-d tensors)
    or a 1-D integer tensor."""
    if isinstance(shape, (Tensor, np.ndarray)):
        shape = as_array(shape).tolist()
        if not isinstance(shape, list):
            shape = [shape]
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{fn}: `shape` must be a tuple of integers, got {shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, (Tensor, np.ndarray)) and np.ndim(as_array(d)) == 0:
            d = as_array(d).item()
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or int(d) < 0:
            raise ValueError(f"{fn}: `shape` must be a tuple of non-negative integers (no "
                             f"None), got {shape!r}")
        out.append(int(d))
    return tuple(out)


def _dtype_name(dtype):
    return getattr(dtype, "name", None) or (dtype.__name__ if isinstance(dtype, type)
                                            else str(dtype))


def _float_dtype(dtype, fn):
    """np.dtype for a float dtype name (floatx by default; bfloat16 computes in float32,
    as fastkeras' layers do)."""
    name = _dtype_name(dtype) if dtype is not None else config.floatx()
    if name == "bfloat16":
        name = "float32"
    try:
        dt = np.dtype(name)
    except TypeError:
        raise ValueError(f"{fn}: invalid `dtype` {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"`keras.random.{fn}` requires a floating point `dtype`. "
                         f"Received: dtype={dtype} ")
    return dt


def _int_dtype(dtype, fn):
    try:
        dt = np.dtype(_dtype_name(dtype))
    except TypeError:
        raise ValueError(f"{fn}: invalid `dtype` {dtype!r}") from None
    if dt.kind not in "iu":
        raise ValueError(f"`keras.random.{fn}` requires an integer `dtype`. "
                         f"Received: dtype={dtype} ")
    return dt


def _param(value, name, fn, shape):
    """A distribution parameter as float64, broadcastable to the output shape."""
    a = np.asarray(as_array(value), dtype=np.float64)
    try:
        np.broadcast_shapes(a.shape, shape)
    except ValueError:
        raise ValueError(f"{fn}: `{name}` of shape {a.shape} does not broadcast to shape "
                         f"{shape}") from None
    if np.broadcast_shapes(a.shape, shape) != shape:
        raise ValueError(f"{fn}: `{name}` of shape {a.shape} would enlarge the output "
                         f"shape {shape}")
    return a


def _unit_uniform(gen, shape, dt):
    """Uniform draws in [0, 1) exactly representable in dt (so that casting never rounds
    a draw up to 1)."""
    if dt == np.float64:
        return gen.random(shape)
    if dt == np.float32:
        return gen.random(shape, dtype=np.float32)
    bits = np.finfo(dt).nmant + 1
    return (gen.integers(0, 1 << bits, size=shape) * (2.0 ** -bits)).astype(dt)


# ------------------------------------------------------------------------------ draws
def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution (keras.random.normal); dtype defaults to floatx."""
    shape = _shape(shape, "normal")
    dt = _float_dtype(dtype, "normal")
    m = _param(mean, "mean", "normal", shape)
    s = _param(stddev, "stddev", "normal", shape)
    z = _generator(seed).standard_normal(shape, dtype=np.float64 if dt == np.float64
                                         else np.float32)
    return Tensor((z * s.astype(z.dtype) + m.astype(z.dtype)).astype(dt))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from a uniform distribution on [minval, maxval) (keras.random.uniform)."""
    shape = _shape(shape, "uniform")
    dt = _float_dtype(dtype, "uniform")
    lo = _param(minval, "minval", "uniform", shape).astype(dt)
    hi = _param(maxval, "maxval", "uniform", shape).astype(dt)
    u = _unit_uniform(_generator(seed), shape, dt)
    return Tensor((lo + (hi - lo) * u).astype(dt))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples redrawn until within two standard deviations of the mean
    (keras.random.truncated_normal)."""
    shape = _shape(shape, "truncated_normal")
    dt = _float_dtype(dtype, "truncated_normal")
    m = _param(mean, "mean", "truncated_normal", shape)
    s = _param(stddev, "stddev", "truncated_normal", shape)
    gen = _generator(seed)
    n = int(np.prod(shape, dtype=np.int64))
    z = gen.standard_normal(n)
    bad = np.flatnonzero(np.abs(z) > 2.0)
    while bad.size:
        z[bad] = gen.standard_normal(bad.size)
        bad = bad[np.abs(z[bad]) > 2.0]
    out = (z.reshape(shape) * s + m).astype(dt)
    # rounding to a narrow float may push a draw past the bound: keep it inside
    lo, hi = (m - 2 * s).astype(dt), (m + 2 * s).astype(dt)
    return Tensor(np.clip(out, np.minimum(lo, hi), np.maximum(lo, hi)).astype(dt))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval) (keras.random.randint)."""
    shape = _shape(shape, "randint")
    dt = _int_dtype(dtype or "int32", "randint")
    lo = np.asarray(as_array(minval))
    hi = np.asarray(as_array(maxval))
    if lo.dtype.kind not in "iub" and np.any(lo != np.floor(lo)):
        raise ValueError(f"randint: `minval` must be an integer, got {minval!r}")
    if hi.dtype.kind not in "iub" and np.any(hi != np.floor(hi)):
        raise ValueError(f"randint: `maxval` must be an integer, got {maxval!r}")
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    if np.any(hi <= lo):
        raise ValueError(f"randint: `maxval` must be greater than `minval`, got minval="
                         f"{minval!r}, maxval={maxval!r}")
    info = np.iinfo(dt)
    if np.any(lo < info.min) or np.any(hi - 1 > info.max):
        raise ValueError(f"randint: [minval, maxval) = [{minval}, {maxval}) does not fit "
                         f"dtype {dt.name}")
    _param(lo, "minval", "randint", shape)
    _param(hi, "maxval", "randint", shape)
    out = _generator(seed).integers(lo, hi, size=shape, dtype=np.int64)
    return Tensor(out.astype(dt))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class indices drawn from the categorical distributions given by each row of the
    2-D ``logits`` (unnormalised log-probabilities); returns (batch_size, num_samples)."""
    lg = np.asarray(as_array(logits), dtype=np.float64)
    if lg.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape "
                         f"[batch_size, num_classes]. Received: logits={logits}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or \
            num_samples < 0:
        raise ValueError(f"categorical: `num_samples` must be a non-negative integer, got "
                         f"{num_samples!r}")
    dt = _int_dtype(dtype, "categorical")
    batch, classes = lg.shape
    if classes == 0:
        raise ValueError("categorical: `logits` must have at least one class")
    gen = _generator(seed)
    u = gen.random((batch, int(num_samples)))
    top = np.max(lg, axis=1, keepdims=True)
    p = np.exp(lg - np.where(np.isfinite(top), top, 0.0))
    cdf = np.cumsum(p, axis=1)
    out = np.empty((batch, int(num_samples)), np.int64)
    for i in range(batch):
        # first class whose cumulative mass exceeds u * total: zero-mass classes are
        # never chosen
        out[i] = np.searchsorted(cdf[i], u[i] * cdf[i, -1], side="right")
    return Tensor(np.minimum(out, classes - 1).astype(dt))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero entries with probability ``rate`` and scale the others by 1 / (1 - rate)
    (keras.random.dropout). ``noise_shape`` (None entries take the input's size) draws one
    mask broadcast over the other axes. Differentiable with respect to ``inputs``."""
    from fastkeras.ops import math as _m

    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
        raise ValueError(f"dropout: `rate` must be a float in [0, 1], got {rate!r}")
    x = as_array(inputs)
    if x.dtype.kind != "f":
        raise ValueError(f"dropout: `inputs` must be a floating point tensor, got dtype "
                         f"{x.dtype}")
    if rate == 1.0:
        return Tensor(np.zeros_like(x))
    if rate == 0.0:
        return inputs
    if noise_shape is None:
        ns = x.shape
    else:
        ns = list(_as_list(noise_shape, "noise_shape"))
        if len(ns) != x.ndim:
            raise ValueError(f"dropout: `noise_shape` {noise_shape} must have one entry per "
                             f"input axis (inputs of shape {x.shape})")
        ns = tuple(x.shape[i] if d is None else int(d) for i, d in enumerate(ns))
        if any(d not in (1, s) for d, s in zip(ns, x.shape)):
            raise ValueError(f"dropout: `noise_shape` {noise_shape} does not broadcast to "
                             f"the inputs' shape {x.shape}")
    keep = _unit_uniform(_generator(seed), ns, np.dtype(np.float32)) >= np.float32(rate)
    scale = x.dtype.type(1.0 / (1.0 - rate))
    mask = np.where(keep, scale, x.dtype.type(0))
    return _m.multiply(inputs if isinstance(inputs, Tensor) else x, mask)


def _as_list(value, name):
    if isinstance(value, (Tensor, np.ndarray)):
        return as_array(value).tolist()
    try:
        return list(value)
    except TypeError:
        raise ValueError(f"dropout: `{name}` must be a list of integers or None, got "
                         f"{value!r}") from None


def shuffle(x, axis=0, seed=None):
    """x with its slices along ``axis`` in a random order (keras.random.shuffle: whole
    slices move, as tf.gather does). Differentiable with respect to x."""
    from fastkeras.ops.array_ops import take

    a = as_array(x)
    if a.ndim == 0:
        raise ValueError("shuffle: `x` must have at least one dimension")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or \
            not -a.ndim <= axis < a.ndim:
        raise ValueError(f"shuffle: `axis` must be an integer in [{-a.ndim}, {a.ndim}), "
                         f"got {axis!r}")
    perm = _generator(seed).permutation(a.shape[axis])
    return take(x if isinstance(x, Tensor) else a, perm, axis=int(axis))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from a Gamma(alpha, 1) distribution (keras.random.gamma)."""
    shape = _shape(shape, "gamma")
    dt = _float_dtype(dtype, "gamma")
    a = _param(alpha, "alpha", "gamma", shape)
    if not np.all(a > 0):
        raise ValueError(f"gamma: `alpha` must be > 0, got {alpha!r}")
    return Tensor(_generator(seed).standard_gamma(a, size=shape).astype(dt))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples from a Binomial(counts, probabilities) distribution (keras.random.binomial);
    float (floatx) by default, as Keras."""
    shape = _shape(shape, "binomial")
    name = _dtype_name(dtype) if dtype is not None else config.floatx()
    dt = np.dtype("float32" if name == "bfloat16" else name)
    if dt.kind not in "fiu":
        raise ValueError(f"binomial: `dtype` must be a float or integer dtype, got {dtype!r}")
    n = _param(counts, "counts", "binomial", shape)
    p = _param(probabilities, "probabilities", "binomial", shape)
    if not np.all(n >= 0):
        raise ValueError(f"binomial: `counts` must be >= 0, got {counts!r}")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"binomial: `probabilities` must be in [0, 1], got {probabilities!r}")
    out = _generator(seed).binomial(np.floor(n).astype(np.int64), p, size=shape)
    return Tensor(out.astype(dt))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from a Beta(alpha, beta) distribution (keras.random.beta)."""
    shape = _shape(shape, "beta")
    dt = _float_dtype(dtype, "beta")
    a = _param(alpha, "alpha", "beta", shape)
    b = _param(beta, "beta", "beta", shape)
    if not (np.all(a > 0) and np.all(b > 0)):
        raise ValueError(f"beta: `alpha` and `beta` must be > 0, got alpha={alpha!r}, "
                         f"beta={beta!r}")
    out = _generator(seed).beta(a, b, size=shape).astype(dt)
    return Tensor(np.clip(out, 0, 1).astype(dt))
