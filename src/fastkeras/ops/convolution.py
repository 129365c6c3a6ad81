"""Convolution and pooling ops (keras.ops names) on the C kernels, with backward.

Shapes follow tf.keras: inputs are (batch..., spatial..., channels) for
"channels_last" (the default) or (batch..., channels, spatial...) for
"channels_first"; extra leading batch dimensions are accepted (tf.keras 2
does, Keras 3 does not) and flattened into the batch. Kernels are
(spatial..., in_channels / groups, out_channels); ``groups`` is inferred
from the kernel as keras.ops.conv does.
"""
import contextlib
import contextvars
import enum
import math

import numpy as np

from fastkeras import config
from fastkeras._limits import check_allocation
from fastkeras._kernels import conv as _kc
from fastkeras._kernels import pool as _kp
from fastkeras.ops import buffers
from fastkeras.ops.math import make
from fastkeras.ops.tensor import as_array

__all__ = [
    "conv",
    "conv_transpose",
    "depthwise_conv",
    "separable_conv",
    "max_pool",
    "average_pool",
    "global_average_pool",
    "global_max_pool",
    "conv_output_shape",
]

_PADDINGS = ("valid", "same", "causal")


class ConvAlgorithm(enum.IntEnum):
    """How the C core forms a convolution's products (conv.h's fk_conv_algo). AUTO takes
    Winograd F(2x2,3x3) for 2-D 3x3 stride-1 undilated convolutions with 8+ channels from
    8192 output positions, im2col products elsewhere; WINOGRAD takes it wherever the
    geometry allows (tests use it to reach that path on small shapes); IM2COL never."""
    AUTO = 0
    IM2COL = 1
    WINOGRAD = 2


_ALGORITHM = contextvars.ContextVar("fastkeras_conv_algorithm", default=ConvAlgorithm.AUTO)


@contextlib.contextmanager
def convolution_algorithm(algorithm):
    """Within the block, convolutions of this thread / task use ``algorithm`` (a
    ConvAlgorithm or its name, e.g. "winograd"); the numbers agree to rounding."""
    if isinstance(algorithm, str):
        try:
            algorithm = ConvAlgorithm[algorithm.upper()]
        except KeyError:
            raise ValueError(f"`algorithm` must be one of "
                             f"{[a.name.lower() for a in ConvAlgorithm]}, got {algorithm!r}") from None
    algorithm = ConvAlgorithm(algorithm)
    token = _ALGORITHM.set(algorithm)
    try:
        yield
    finally:
        _ALGORITHM.reset(token)


def _tuple(value, n, name, minimum=1):
    """An int or a sequence of n ints, each in [minimum, 2**63 - 1] (the C core's int64)."""
    msg = f"`{name}` must be an int or a tuple of {n} ints, got {value!r}"
    if _is_int(value):
        out = (int(value),) * n
    else:
        try:
            items = tuple(value)
        except TypeError:
            raise ValueError(msg) from None
        if len(items) != n or not all(_is_int(v) for v in items):
            raise ValueError(msg)
        out = tuple(int(v) for v in items)
    if any(v < minimum for v in out):
        raise ValueError(f"`{name}` values must be >= {minimum}, got {value!r}")
    if any(v >= 1 << 63 for v in out):
        raise ValueError(f"`{name}` values must be below 2**63, got {value!r}")
    return out


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _data_format(data_format):
    fmt = data_format or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            f"`data_format` must be 'channels_last' or 'channels_first', got {data_format!r}")
    return fmt


def _padding(padding, nd, allow_causal):
    p = str(padding).lower() if isinstance(padding, str) else padding
    if p not in _PADDINGS or (p == "causal" and not allow_causal):
        allowed = "'valid', 'same' or 'causal' (1-D convolution only)" if allow_causal or nd == 1 \
            else "'valid' or 'same'"
        raise ValueError(f"`padding` must be {allowed}, got {padding!r}")
    return p


def _float_pair(a, b, names):
    """Compute arrays in a common float32/float64 dtype; returns (a, b, dtype)."""
    va, vb = as_array(a), as_array(b)
    for v, n in zip((va, vb), names):
        if v.dtype.kind not in "fiub":
            raise TypeError(f"`{n}` must hold numbers, got dtype {v.dtype}")
    dt = np.result_type(va.dtype, vb.dtype)
    if dt != np.float64:
        dt = np.dtype(np.float32) if dt.kind != "f" or dt.itemsize <= 4 else np.dtype(np.float64)
    if dt.kind == "f" and dt.itemsize < 4:
        dt = np.dtype(np.float32)
    return va.astype(dt, copy=False), vb.astype(dt, copy=False), dt


def _to_channels_last(x, nd, fmt):
    """(batch..., spatial..., C) view/copy and the batch shape."""
    if fmt == "channels_first":
        x = np.moveaxis(x, x.ndim - nd - 1, -1)
    batch = x.shape[: x.ndim - nd - 1]
    return np.ascontiguousarray(x), batch


def _from_channels_last(y, nd, fmt):
    if fmt == "channels_first":
        y = np.moveaxis(y, -1, y.ndim - nd - 1)
    return y


def _pad3(values, nd, fill):
    return (fill,) * (3 - nd) + tuple(values)


_MAX_SPAN = 1 << 61  # positions the C core's window arithmetic (int64) handles with room


def _check_span(span, strides, window):
    """Refuse geometries whose window positions the C core could not index in int64."""
    if span > _MAX_SPAN:
        raise ValueError(f"`strides` {tuple(strides)} with {window} span more than 2**61 "
                         f"positions")


def conv_output_shape(in_sizes, kernel_size, strides, padding, dilation, window=None):
    """(out sizes, padding before) per spatial dim, by tf.keras' rules. `window` names the
    window in the error for geometries too large to index."""
    window = window or f"kernel size {tuple(kernel_size)} and `dilation_rate` {tuple(dilation)}"
    out, pad = [], []
    for i, k, s, d in zip(in_sizes, kernel_size, strides, dilation):
        eff = (k - 1) * d + 1
        _check_span(i * s + eff, strides, window)
        if padding == "valid":
            o, p = (i - eff) // s + 1 if i >= eff else 0, 0
        elif padding == "same":
            o = -(-i // s)
            p = max((o - 1) * s + eff - i, 0) // 2
        else:  # causal: left padding only
            p = eff - 1
            o = (i + p - eff) // s + 1
        out.append(o)
        pad.append(p)
    return tuple(out), tuple(pad)


def _conv_problem(x, kernel, strides, padding, data_format, dilation_rate):
    xv, kv, dt = _float_pair(x, kernel, ("inputs", "kernel"))
    nd = kv.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(
            f"`kernel` must have rank 3, 4 or 5 (spatial dims, in_channels/groups, filters), "
            f"got shape {kv.shape}")
    if xv.ndim < nd + 2:
        raise ValueError(
            f"`inputs` for a {nd}-D convolution must have rank >= {nd + 2} "
            f"(batch, spatial dims, channels), got shape {xv.shape}")
    fmt = _data_format(data_format)
    pad_mode = _padding(padding, nd, nd == 1)
    strides = _tuple(strides, nd, "strides")
    dil = _tuple(dilation_rate, nd, "dilation_rate")
    if max(strides) > 1 and max(dil) > 1:
        raise ValueError(
            f"`strides` > 1 is not supported together with `dilation_rate` > 1: got "
            f"strides={strides}, dilation_rate={dil}")
    xc, batch = _to_channels_last(xv, nd, fmt)
    cin = xc.shape[-1]
    cin_g, cout = kv.shape[-2], kv.shape[-1]
    if cin < 1:
        raise ValueError(f"`inputs` has no channels: shape {xv.shape}")
    if cin_g < 1 or cout < 1 or cin % cin_g:
        raise ValueError(
            f"`kernel` expects {cin_g} input channels per group, which does not divide the "
            f"{cin} channels of `inputs` (inputs shape {xv.shape}, kernel shape {kv.shape})")
    groups = cin // cin_g
    if cout % groups:
        raise ValueError(
            f"the {cout} filters of `kernel` are not divisible by groups={groups}")
    spatial = xc.shape[len(batch):-1]
    if min(spatial) < 1:
        raise ValueError(f"`inputs` has an empty spatial dimension: shape {xv.shape}")
    geom, out = conv_geometry(math.prod(batch), spatial, cin, kv.shape, strides, pad_mode, dil)
    return xc, np.ascontiguousarray(kv), dt, geom, batch, out, nd, fmt


def conv_geometry(n, spatial, cin, kernel_shape, strides, pad_mode, dil):
    """(geometry dict for the C kernels, output spatial sizes) of a channels-last
    convolution of n images; strides / dil as tuples, pad_mode "valid" / "same" / "causal"."""
    nd = len(spatial)
    ksz = tuple(kernel_shape[:nd])
    out, pad = conv_output_shape(spatial, ksz, strides, pad_mode, dil)
    if min(out) < 1:
        raise ValueError(
            f"the kernel (size {tuple(ksz)}, dilation {dil}) is larger than the "
            f"{'padded ' if pad_mode != 'valid' else ''}input (spatial size {tuple(spatial)})")
    cout = kernel_shape[-1]
    geom = {
        "n": n, "in": _pad3(spatial, nd, 1), "out": _pad3(out, nd, 1), "k": _pad3(ksz, nd, 1),
        "stride": _pad3(strides, nd, 1), "dil": _pad3(dil, nd, 1), "pad": _pad3(pad, nd, 0),
        "cin": cin, "cout": cout, "groups": cin // kernel_shape[-2],
        "algo": int(_ALGORITHM.get()),
    }
    return geom, tuple(out)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1, *,
         bias=None):
    """N-D convolution (keras.ops.conv), differentiable in inputs, kernel and bias.

    ``bias`` (fastkeras extension) is added in the same pass; ``padding`` is
    "valid", "same" or, for 1-D, "causal".
    """
    xc, kc, dt, geom, batch, out, nd, fmt = _conv_problem(
        inputs, kernel, strides, padding, data_format, dilation_rate)
    bv = None
    if bias is not None:
        bv = as_array(bias)
        if bv.dtype.kind not in "fiub":
            raise TypeError(f"`bias` must hold numbers, got dtype {bv.dtype}")
        if bv.shape != (geom["cout"],):
            raise ValueError(f"`bias` must have shape ({geom['cout']},), got {bv.shape}")
        bv = np.ascontiguousarray(bv, dtype=dt)
    y = buffers.empty(batch + out + (geom["cout"],), dt)
    nt = config.get_num_threads()
    _kc.forward(geom, xc.reshape(-1), kc.reshape(-1), bv, y.reshape(-1), nt)
    x_dtype, k_dtype = as_array(inputs).dtype, as_array(kernel).dtype

    def backward(g, needs):
        gc, _ = _to_channels_last(np.asarray(g, dtype=dt), nd, fmt)
        gx = gk = gb = None
        if needs[0]:
            dx = buffers.empty(xc.shape, dt)
            _kc.backward_data(geom, gc.reshape(-1), kc.reshape(-1), dx.reshape(-1), nt)
            gx = _from_channels_last(dx, nd, fmt).astype(x_dtype, copy=False)
        if needs[1] or (len(needs) > 2 and needs[2]):
            dk = np.empty(kc.shape, dtype=dt)
            db = np.empty(geom["cout"], dtype=dt) if len(needs) > 2 and needs[2] else None
            _kc.backward_filter(geom, xc.reshape(-1), gc.reshape(-1), dk.reshape(-1), db, nt)
            gk = dk.astype(k_dtype, copy=False) if needs[1] else None
            gb = db
        return (gx, gk, gb) if bias is not None else (gx, gk)

    value = _from_channels_last(y, nd, fmt)
    inputs_ = (inputs, kernel, bias) if bias is not None else (inputs, kernel)
    return make(value, inputs_, backward)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution (keras.ops.depthwise_conv): kernel (spatial..., C, multiplier).

    Runs as a grouped convolution with groups = C; output channel c*multiplier+m."""
    kv = as_array(kernel)
    if kv.ndim < 3:
        raise ValueError(f"`kernel` must have rank >= 3, got shape {kv.shape}")
    from fastkeras.ops.math import reshape

    k2 = reshape(kernel, kv.shape[:-2] + (1, kv.shape[-2] * kv.shape[-1]))
    return conv(inputs, k2, strides, padding, data_format, dilation_rate)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1, *, bias=None):
    """Transposed convolution (keras.ops.conv_transpose): the gradient of a
    convolution with respect to its input. kernel is (spatial..., filters,
    in_channels); the output size follows tf.keras' deconv_output_length."""
    xv, kv, dt = _float_pair(inputs, kernel, ("inputs", "kernel"))
    nd = kv.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"`kernel` must have rank 3, 4 or 5 (spatial dims, filters, "
                         f"in_channels), got shape {kv.shape}")
    if xv.ndim < nd + 2:
        raise ValueError(f"`inputs` for a {nd}-D transposed convolution must have rank >= "
                         f"{nd + 2}, got shape {xv.shape}")
    fmt = _data_format(data_format)
    pad_mode = _padding(padding, nd, False)
    strides = _tuple(strides, nd, "strides")
    dil = _tuple(dilation_rate, nd, "dilation_rate")
    opad = None if output_padding is None else _tuple(output_padding, nd, "output_padding",
                                                      minimum=0)
    if max(strides) > 1 and max(dil) > 1:
        raise ValueError(
            f"`strides` > 1 is not supported together with `dilation_rate` > 1: got "
            f"strides={strides}, dilation_rate={dil}")
    xc, batch = _to_channels_last(xv, nd, fmt)
    cout, cin = kv.shape[-2], kv.shape[-1]  # transposed: filters out, in_channels in
    if xc.shape[-1] != cin:
        raise ValueError(f"`inputs` has {xc.shape[-1]} channels, but `kernel` (shape "
                         f"{kv.shape}) expects {cin}")
    spatial = xc.shape[len(batch):-1]
    ksz = kv.shape[:nd]
    big, pad = [], []
    for k_i, (i, k, s, d) in enumerate(zip(spatial, ksz, strides, dil)):
        eff = (k - 1) * d + 1
        _check_span(i * s + eff, strides, f"kernel size {tuple(ksz)} and `dilation_rate` {dil}")
        if opad is None:
            L = i * s + max(eff - s, 0) if pad_mode == "valid" else i * s
        else:
            if opad[k_i] >= s:
                raise ValueError(f"`output_padding` {opad} must be smaller than `strides` "
                                 f"{strides}")
            L = (i - 1) * s + eff - 2 * (eff // 2 if pad_mode == "same" else 0) + opad[k_i]
        p = max((i - 1) * s + eff - L, 0) // 2 if pad_mode == "same" else 0
        big.append(L)
        pad.append(p)
    n = math.prod(batch)
    geom = {
        "n": n, "in": _pad3(big, nd, 1), "out": _pad3(spatial, nd, 1), "k": _pad3(ksz, nd, 1),
        "stride": _pad3(strides, nd, 1), "dil": _pad3(dil, nd, 1), "pad": _pad3(pad, nd, 0),
        "cin": cout, "cout": cin, "groups": 1, "algo": int(_ALGORITHM.get()),
    }
    check_allocation(batch + tuple(big) + (cout,), dt,
                     f"conv_transpose output (strides={strides}, dilation_rate={dil})")
    kc = np.ascontiguousarray(kv)
    nt = config.get_num_threads()
    y = np.empty(batch + tuple(big) + (cout,), dt)
    if n:
        _kc.backward_data(geom, xc.reshape(-1), kc.reshape(-1), y.reshape(-1), nt)
    bv = None
    if bias is not None:
        bv = as_array(bias)
        if bv.shape != (cout,):
            raise ValueError(f"`bias` must have shape ({cout},), got {bv.shape}")
        y += bv.astype(dt, copy=False)
    x_dtype, k_dtype = as_array(inputs).dtype, as_array(kernel).dtype

    def backward(g, needs):
        gc, _ = _to_channels_last(np.asarray(g, dtype=dt), nd, fmt)
        gx = gk = gb = None
        if needs[0]:
            dx = np.empty(xc.shape, dt)
            if n:
                _kc.forward(geom, gc.reshape(-1), kc.reshape(-1), None, dx.reshape(-1), nt)
            gx = _from_channels_last(dx, nd, fmt).astype(x_dtype, copy=False)
        if needs[1]:
            dk = np.zeros(kc.shape, dtype=dt)
            if n:
                _kc.backward_filter(geom, gc.reshape(-1), xc.reshape(-1), dk.reshape(-1), None, nt)
            gk = dk.astype(k_dtype, copy=False)
        if bias is not None and needs[2]:
            gb = gc.reshape(-1, cout).sum(axis=0)
        return (gx, gk, gb) if bias is not None else (gx, gk)

    value = _from_channels_last(y, nd, fmt)
    inputs_ = (inputs, kernel, bias) if bias is not None else (inputs, kernel)
    return make(value, inputs_, backward)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """Depthwise convolution followed by a 1x1 pointwise one (keras.ops.separable_conv)."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def _pool_problem(inputs, pool_size, strides, padding, data_format):
    xv = as_array(inputs)
    if xv.dtype.kind not in "fiub":
        raise TypeError(f"`inputs` must hold numbers, got dtype {xv.dtype}")
    dt = np.dtype(np.float64) if xv.dtype == np.float64 else np.dtype(np.float32)
    xv = xv.astype(dt, copy=False)
    if isinstance(pool_size, (int, np.integer)):
        nd = xv.ndim - 2
        if nd not in (1, 2, 3):
            raise ValueError(
                f"`inputs` must have rank 3, 4 or 5 for pooling with an int pool_size, "
                f"got shape {xv.shape}")
    else:
        try:
            if isinstance(pool_size, str):
                raise TypeError(pool_size)
            nd = len(tuple(pool_size))
        except TypeError:
            raise ValueError(f"`pool_size` must be an int or a tuple of 1, 2 or 3 ints, "
                             f"got {pool_size!r}") from None
        if nd not in (1, 2, 3):
            raise ValueError(f"`pool_size` must have 1, 2 or 3 entries, got {pool_size!r}")
    if xv.ndim < nd + 2:
        raise ValueError(
            f"`inputs` for {nd}-D pooling must have rank >= {nd + 2}, got shape {xv.shape}")
    fmt = _data_format(data_format)
    pad_mode = _padding(padding, nd, False)
    k = _tuple(pool_size, nd, "pool_size")
    s = k if strides is None else _tuple(strides, nd, "strides")
    xc, batch = _to_channels_last(xv, nd, fmt)
    spatial = xc.shape[len(batch):-1]
    geom, out = pool_geometry(math.prod(batch), spatial, xc.shape[-1], k, s, pad_mode)
    return xc, dt, geom, batch, out, nd, fmt


def pool_geometry(n, spatial, c, k, s, pad_mode):
    """(geometry dict for the C kernels, output spatial sizes) of channels-last pooling."""
    nd = len(spatial)
    out, pad = conv_output_shape(spatial, k, s, pad_mode, (1,) * nd, f"`pool_size` {k}")
    if min(out) < 1:
        raise ValueError(
            f"`pool_size` {k} is larger than the input's spatial size {tuple(spatial)} "
            f"with padding='valid'")
    geom = {"n": n, "in": _pad3(spatial, nd, 1), "out": _pad3(out, nd, 1),
            "k": _pad3(k, nd, 1), "stride": _pad3(s, nd, 1), "pad": _pad3(pad, nd, 0), "c": c}
    return geom, tuple(out)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling (keras.ops.max_pool).

    Gradients follow TensorFlow: in 1-D and 2-D each window's gradient goes to
    its first maximum (window order); in 3-D every element equal to the
    window's maximum receives it (TensorFlow's MaxPool3DGrad)."""
    xc, dt, geom, batch, out, nd, fmt = _pool_problem(inputs, pool_size, strides, padding,
                                                      data_format)
    y = buffers.empty(batch + out + (geom["c"],), dt)
    ties = nd == 3
    taps = geom["k"][0] * geom["k"][1] * geom["k"][2]
    # a byte per output records the window position of its (first) maximum
    argmax = None if ties or taps > 256 else buffers.empty((y.size,), np.uint8)
    nt = config.get_num_threads()
    _kp.max_forward(geom, xc.reshape(-1), y.reshape(-1), argmax, nt)
    x_dtype = as_array(inputs).dtype

    def backward(g, needs):
        gc, _ = _to_channels_last(np.asarray(g, dtype=dt), nd, fmt)
        dx = buffers.empty(xc.shape, dt)
        if argmax is None:
            _kp.max_backward_recompute(geom, xc.reshape(-1), y.reshape(-1), gc.reshape(-1),
                                       dx.reshape(-1), ties, nt)
        else:
            _kp.max_backward(geom, gc.reshape(-1), argmax, dx.reshape(-1), nt)
        return (_from_channels_last(dx, nd, fmt).astype(x_dtype, copy=False),)

    return make(_from_channels_last(y, nd, fmt), (inputs,), backward)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling (keras.ops.average_pool); "same" padding is not counted in the mean."""
    xc, dt, geom, batch, out, nd, fmt = _pool_problem(inputs, pool_size, strides, padding,
                                                      data_format)
    y = buffers.empty(batch + out + (geom["c"],), dt)
    nt = config.get_num_threads()
    _kp.avg_forward(geom, xc.reshape(-1), y.reshape(-1), nt)
    x_dtype = as_array(inputs).dtype

    def backward(g, needs):
        gc, _ = _to_channels_last(np.asarray(g, dtype=dt), nd, fmt)
        dx = buffers.empty(xc.shape, dt)
        _kp.avg_backward(geom, gc.reshape(-1), dx.reshape(-1), nt)
        return (_from_channels_last(dx, nd, fmt).astype(x_dtype, copy=False),)

    return make(_from_channels_last(y, nd, fmt), (inputs,), backward)


def _global_axes(x, data_format, nd):
    v = as_array(x)
    if v.ndim < 3:
        raise ValueError(f"`inputs` for global pooling must have rank >= 3, got shape {v.shape}")
    fmt = _data_format(data_format)
    nd = v.ndim - 2 if nd is None else nd
    if nd < 1 or v.ndim < nd + 2:
        raise ValueError(f"`inputs` of shape {v.shape} has no {nd} spatial dimensions")
    if fmt == "channels_last":
        return tuple(range(v.ndim - nd - 1, v.ndim - 1))
    return tuple(range(v.ndim - nd, v.ndim))


def global_average_pool(inputs, data_format=None, keepdims=False, spatial_dims=None):
    """Mean over the spatial axes (what GlobalAveragePooling1D/2D/3D compute)."""
    from fastkeras.ops.math import mean

    return mean(inputs, axis=_global_axes(inputs, data_format, spatial_dims), keepdims=keepdims)


def global_max_pool(inputs, data_format=None, keepdims=False, spatial_dims=None):
    """Maximum over the spatial axes (GlobalMaxPooling1D/2D/3D); tied maxima share the
    gradient equally, as TensorFlow's reduce_max does."""
    from fastkeras.ops.math import max as max_

    return max_(inputs, axis=_global_axes(inputs, data_format, spatial_dims), keepdims=keepdims)
