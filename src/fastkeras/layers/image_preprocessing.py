"""Image preprocessing and augmentation layers, as Keras 3.15 has them: Resizing, CenterCrop,
RandomCrop, RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast and
RandomBrightness.

Inputs are batched (N, H, W, C) or unbatched (H, W, C) images ("channels_last"; "channels_first"
is taken too). Resampling follows TensorFlow's kernels, which tf.keras uses: ``tf.image.resize``
(half-pixel centres; bicubic with Keys' a = -0.5 and TensorFlow's 1024-entry weight table; area
as ResizeArea; lanczos and antialiasing as ScaleAndTranslate) and ``ImageProjectiveTransformV3`` (coordinates in float32, TensorFlow's reflect /
wrap / nearest / constant fill rules, round-half-away nearest sampling). Every resampling is a
fixed linear map of the input (weights and indices computed with NumPy), applied by ops whose
backward is the transposed map, so gradients with respect to the images flow through the tape.

The random layers are the identity at inference (``training=False``, as in ``predict``) and
augment when ``training`` is True (inside ``fit``, or a direct call without ``training``, as in
Keras). Draws come from a ``fastkeras.random.SeedGenerator(seed)`` per layer: a seed makes a
run repeatable, but the numbers are not TensorFlow's (see ``fastkeras.random``)."""
import functools
import math
import numbers

import numpy as np

from fastkeras import _rng, ops
from fastkeras import random as _random
from fastkeras.layers.base import Layer
from fastkeras.layers.convolutional import _fmt
from fastkeras.ops.math import make
from fastkeras.ops.products import matmul_array
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation",
           "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"]

_RESIZE_METHODS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
_F32 = np.float32


class UnsupportedOptionError(ValueError, NotImplementedError):
    """An option value Keras refuses with NotImplementedError (unknown fill_mode or
    interpolation) or one fastkeras does not implement: catchable as either."""


# ------------------------------------------------------------------ argument checks
def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _positive_int(value, name, layer):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or \
            value < 1:
        raise ValueError(f"{layer}: `{name}` must be a positive integer. Received: "
                         f"{name}={value!r}")
    return int(value)


def _base_factor(factor, bounds):
    """Keras' BaseImagePreprocessingLayer._set_factor: a number f gives
    (max(-|f|, low), |f|); a pair is sorted; both checked against ``bounds``."""
    msg = ("The `factor` argument should be a number (or a list of two numbers) in the range "
           f"[{bounds[0]}, {bounds[1]}]. Received: factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_is_number(f) for f in factor):
            raise ValueError(msg)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        lower, upper = sorted(factor)
    elif _is_number(factor):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(msg)
        factor = abs(factor)
        lower, upper = max(-factor, bounds[0]), factor
    else:
        raise ValueError(msg)
    return lower, upper


def _pair_factor(factor, name, message, low_open):
    """RandomZoom / RandomTranslation factors: each end in [-1, 1] ((-1, 1] for zoom)."""
    def check(v):
        if not _is_number(v) or v > 1.0 or (v <= -1.0 if low_open else v < -1.0):
            raise ValueError(message + f"Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message + f"Received: {name}={factor}")
        check(factor[0])
        check(factor[1])
        return tuple(sorted(factor))
    check(factor)
    return -abs(factor), abs(factor)


def _check_options(fill_mode, interpolation):
    if fill_mode not in _FILL_MODES:
        raise UnsupportedOptionError(f"Unknown `fill_mode` {fill_mode}. Expected of one "
                                     f"{_FILL_MODES}.")
    if interpolation not in _AFFINE_INTERPOLATIONS:
        raise UnsupportedOptionError(f"Unknown `interpolation` {interpolation}. Expected of "
                                     f"one {_AFFINE_INTERPOLATIONS}.")


# ------------------------------------------------------------------ resampling ops
def _apply_separable(x, wy, wx):
    """y[n, o, p, c] = sum_h sum_w wy[o, h] * x[n, h, w, c] * wx[p, w] (two batched matrix
    products; the backward is the transposed map)."""
    a = as_array(x)
    n, h, w, c = a.shape
    o, p = wy.shape[0], wx.shape[0]
    wy = wy.astype(a.dtype)
    wx = wx.astype(a.dtype)
    rows = matmul_array(wy, a.reshape(n, h, w * c), "resize")  # (n, o, w * c)
    out = matmul_array(wx, rows.reshape(n * o, w, c), "resize").reshape(n, o, p, c)

    def backward(g, needs):
        gw = matmul_array(wx.T, g.reshape(n * o, p, c), "resize")  # (n * o, w, c)
        return (matmul_array(wy.T, gw.reshape(n, o, w * c), "resize").reshape(a.shape),)

    return make(out, (x,), backward)


def _apply_gather(x, idx, w, const, out_hw):
    """y[n, p, c] = sum_k w[k][n, p] * x[n, idx[k][n, p], c] + const[n, p], with idx[k]
    flat indices into each image's H * W pixels (lists over the K taps); the backward
    scatters the weighted gradient."""
    a = as_array(x)
    n, h, wd, c = a.shape
    flat = a.reshape(n * h * wd, c)
    offset = (np.arange(n) * h * wd)[:, None]
    where = [i + offset for i in idx]  # into the whole batch
    wt = [v.astype(a.dtype) for v in w]
    out = np.repeat(const.astype(a.dtype)[..., None], c, axis=-1)
    for pos, v in zip(where, wt):
        out += v[..., None] * flat[pos]
    out = out.reshape((n,) + tuple(out_hw) + (c,))

    def backward(g, needs):
        gg = g.reshape(n, -1, c)
        full = np.zeros((n * h * wd, c), g.dtype)
        for pos, v in zip(where, wt):
            pos = pos.reshape(-1)
            for ch in range(c):
                full[:, ch] += np.bincount(pos, weights=(v * gg[:, :, ch]).reshape(-1),
                                           minlength=n * h * wd)
        return (full.reshape(a.shape),)

    return make(out, (x,), backward)


# 1-D resize weights (out_size, in_size), as TensorFlow's resize kernels compute them in float32
@functools.lru_cache(maxsize=64)
def _bilinear_matrix(in_size, out_size):
    scale = _F32(in_size) / _F32(out_size)
    src = (np.arange(out_size, dtype=_F32) + _F32(0.5)) * scale - _F32(0.5)
    lo_f = np.floor(src)
    lo = np.maximum(lo_f, 0).astype(np.int64)
    hi = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
    lerp = src - lo_f
    m = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    np.add.at(m, (rows, lo), (_F32(1) - lerp).astype(np.float64))
    np.add.at(m, (rows, hi), lerp.astype(np.float64))
    return m


def _nearest_index(in_size, out_size):
    scale = _F32(in_size) / _F32(out_size)
    src = np.floor((np.arange(out_size, dtype=_F32) + _F32(0.5)) * scale)
    return np.clip(src, 0, in_size - 1).astype(np.int64)


_CUBIC_TABLE_SIZE = 1024


def _cubic_table(a=-0.5):
    """TensorFlow's bicubic coefficient table: kernel values at i / 1024 and 1 + i / 1024
    (computed in double from a float32 x, stored as float32)."""
    t = np.zeros((_CUBIC_TABLE_SIZE + 1, 2), _F32)
    for i in range(_CUBIC_TABLE_SIZE + 1):
        x = float(_F32(i * 1.0 / _CUBIC_TABLE_SIZE))
        t[i, 0] = ((a + 2) * x - (a + 3)) * x * x + 1
        x = float(_F32(x) + _F32(1.0))
        t[i, 1] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return t


_CUBIC = []


@functools.lru_cache(maxsize=64)
def _bicubic_matrix(in_size, out_size):
    if not _CUBIC:
        _CUBIC.append(_cubic_table())
    table = _CUBIC[0]
    scale = _F32(in_size) / _F32(out_size)
    m = np.zeros((out_size, in_size), np.float64)
    for o in range(out_size):
        loc = (_F32(o) + _F32(0.5)) * scale - _F32(0.5)
        base = int(np.floor(loc))
        offset = int(np.rint(_F32(loc - _F32(base)) * _F32(_CUBIC_TABLE_SIZE)))
        taps = [(base - 1, table[offset, 1]), (base, table[offset, 0]),
                (base + 1, table[_CUBIC_TABLE_SIZE - offset, 0]),
                (base + 2, table[_CUBIC_TABLE_SIZE - offset, 1])]
        # samples outside the image get weight 0 and the rest are renormalised (TF2's rule)
        kept = [(i, wt) if 0 <= i < in_size else (min(max(i, 0), in_size - 1), _F32(0))
                for i, wt in taps]
        total = _F32(sum(_F32(wt) for _, wt in kept))
        inv = _F32(1) / total if abs(total) >= 1000 * np.finfo(_F32).tiny else _F32(1)
        for i, wt in kept:
            m[o, i] += float(_F32(wt) * inv)
    return m


@functools.lru_cache(maxsize=64)
def _area_matrix(in_size, out_size):
    """ResizeArea's box weights, the 1 / scale normalisation folded in."""
    scale = _F32(in_size) / _F32(out_size)
    m = np.zeros((out_size, in_size), np.float64)
    for o in range(out_size):
        lo = _F32(o) * scale
        hi = _F32(o + 1) * scale
        for i in range(int(np.floor(lo)), int(np.ceil(hi))):
            if i < lo:
                part = scale if i + 1 > hi else _F32(i + 1) - lo
            else:
                part = hi - _F32(i) if i + 1 > hi else _F32(1.0)
            m[o, min(i, in_size - 1)] += float(part)
    return m / float(scale)


_PI = _F32(3.14159265359)


def _lanczos(radius):
    def kernel(x):
        x = np.abs(x).astype(_F32)
        safe = np.where(x <= _F32(1e-3), _F32(1), x)
        value = _F32(radius) * np.sin(_PI * safe) * np.sin(_PI * safe / _F32(radius)) / \
            (_PI * _PI * safe * safe)
        return np.where(x > radius, _F32(0), np.where(x <= _F32(1e-3), _F32(1), value))
    return kernel, float(radius)


def _triangle(x):
    x = np.abs(x).astype(_F32)
    return np.where(x < 1, _F32(1) - x, _F32(0))


def _keys_cubic(x):
    x = np.abs(x).astype(_F32)
    near = ((_F32(1.5) * x - _F32(2.5)) * x) * x + _F32(1)
    far = ((_F32(-0.5) * x + _F32(2.5)) * x - _F32(4)) * x + _F32(2)
    return np.where(x >= 2, _F32(0), np.where(x >= 1, far, near))


_KERNELS = {"lanczos3": _lanczos(3), "lanczos5": _lanczos(5), "bilinear": (_triangle, 1.0),
            "bicubic": (_keys_cubic, 2.0)}


@functools.lru_cache(maxsize=64)
def _kernel_matrix(in_size, out_size, method, antialias):
    """TensorFlow's ScaleAndTranslate weights (no translation): the kernel centred on each
    output pixel's source position, widened by the downscale factor when antialiasing,
    clipped to the image and renormalised."""
    kernel, radius = _KERNELS[method]
    scale = _F32(out_size) / _F32(in_size)
    inv_scale = _F32(1.0 / float(scale))
    kernel_scale = max(inv_scale, _F32(1)) if antialias else _F32(1)
    reach = _F32(radius) * kernel_scale
    m = np.zeros((out_size, in_size), np.float64)
    for o in range(out_size):
        sample = (_F32(o) + _F32(0.5)) * inv_scale
        if sample < 0 or sample > in_size:
            continue
        start = min(max(int(np.ceil(sample - reach - _F32(0.5))), 0), in_size - 1)
        end = min(max(int(np.floor(sample + reach - _F32(0.5))), 0), in_size - 1) + 1
        src = np.arange(start, end)
        weights = kernel((src.astype(_F32) + _F32(0.5) - sample) / kernel_scale)
        total = _F32(np.sum(weights, dtype=_F32))
        if abs(total) >= 1000 * np.finfo(_F32).tiny:
            m[o, start:end] = (weights * (_F32(1) / total)).astype(np.float64)
    return m


def _resize_nhwc(x, height, width, method, antialias=False):
    """tf.image.resize(x, (height, width), method, antialias) of a (N, H, W, C) float
    tensor: nearest gathers (values copied exactly), the others are separable matrices
    (ResizeBilinear / ResizeBicubic / ResizeArea, or ScaleAndTranslate for lanczos and
    antialiased bilinear / bicubic)."""
    _, h, w, _ = as_array(x).shape
    if method == "nearest":
        return ops.take(ops.take(x, _nearest_index(h, height), axis=1),
                        _nearest_index(w, width), axis=2)
    if method.startswith("lanczos") or (antialias and method != "area"):
        return _apply_separable(x, _kernel_matrix(h, height, method, bool(antialias)),
                                _kernel_matrix(w, width, method, bool(antialias)))
    build = {"bilinear": _bilinear_matrix, "bicubic": _bicubic_matrix,
             "area": _area_matrix}[method]
    return _apply_separable(x, build(h, height), build(w, width))


def _round_half_away(v):
    """std::round (halves away from zero); floor(v + 0.5) would round 0.49999997 up."""
    a = np.abs(v)
    low = np.floor(a)
    return np.sign(v) * np.where(a - low >= 0.5, low + 1, low)


def _map_coordinates(c, size, mode):
    """TensorFlow's MapCoordinate for one axis (float32 coordinates)."""
    if mode == "constant":
        return c
    if mode == "nearest" or size <= 1:
        return np.clip(c, 0, size - 1).astype(_F32)
    size_f = _F32(size)
    if mode == "reflect":
        sz2 = _F32(2 * size)
        neg = c + sz2 * np.trunc(-c / sz2)
        neg = np.where(neg < -size_f, neg + sz2, -neg - _F32(1))
        pos = c - sz2 * np.trunc(c / sz2)
        pos = np.where(pos >= size_f, sz2 - pos - _F32(1), pos)
    else:  # wrap
        sz = _F32(size - 1)
        neg = c + size_f * (np.trunc(-c / sz) + _F32(1))
        pos = c - size_f * np.trunc(c / sz)
    out = np.where(c < 0, neg, np.where(c > size_f - 1, pos, c))
    return np.clip(out, 0, size - 1).astype(_F32)


def _projective_transform(x, transforms, interpolation, fill_mode, fill_value):
    """ImageProjectiveTransformV3 of a (N, H, W, C) float tensor with (N, 8) transforms
    mapping output pixel (x, y) to input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1."""
    n, h, w, _ = as_array(x).shape
    t = np.asarray(transforms, _F32).reshape(n, 8)
    yy, xx = np.meshgrid(np.arange(h, dtype=_F32), np.arange(w, dtype=_F32), indexing="ij")
    xx, yy = xx.reshape(1, -1), yy.reshape(1, -1)
    col = [t[:, i:i + 1] for i in range(8)]
    proj = col[6] * xx + col[7] * yy + _F32(1)
    ok = proj != 0
    safe = np.where(ok, proj, _F32(1))
    in_x = _map_coordinates((col[0] * xx + col[1] * yy + col[2]) / safe, w, fill_mode)
    in_y = _map_coordinates((col[3] * xx + col[4] * yy + col[5]) / safe, h, fill_mode)
    fill = float(fill_value)
    if interpolation == "nearest":
        corners = [(_round_half_away(in_y), _round_half_away(in_x), np.ones_like(in_x))]
    else:
        y0, x0 = np.floor(in_y), np.floor(in_x)
        y1, x1 = y0 + _F32(1), x0 + _F32(1)
        corners = [(y0, x0, (x1 - in_x) * (y1 - in_y)), (y0, x1, (in_x - x0) * (y1 - in_y)),
                   (y1, x0, (x1 - in_x) * (in_y - y0)), (y1, x1, (in_x - x0) * (in_y - y0))]
    idx, wts = [], []
    const = np.zeros(in_x.shape, np.float64)
    for cy, cx, wt in corners:
        inside = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w) & ok
        wt = wt.astype(np.float64)
        idx.append(np.where(inside, cy * w + cx, 0).astype(np.int64))
        wts.append(np.where(inside, wt, 0.0))
        const += np.where(inside, 0.0, np.where(ok, wt, 0.0) * fill)
    const = np.where(ok, const, fill)
    return _apply_gather(x, idx, wts, const, (h, w))


# ------------------------------------------------------------------ the base class
class _ImageLayer(Layer):
    """Shared plumbing: rank checks, channels_first / unbatched to (N, H, W, C) and back."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _fmt(data_format)

    def _hw_axes(self, ndim):
        return (ndim - 2, ndim - 1) if self.data_format == "channels_first" else \
            (ndim - 3, ndim - 2)

    def _check_rank(self, inputs):
        shape = tuple(as_array(inputs).shape)
        if len(shape) not in (3, 4):
            raise ValueError("Expected image tensor to have rank 3 (single image) or 4 (batch "
                             f"of images). Received: data.shape={shape}")
        return shape

    def _to_nhwc(self, x):
        """(x as (N, H, W, C), a function taking such a result back to the input layout)."""
        rank = len(as_array(x).shape)
        if rank == 3:
            x = ops.expand_dims(x, 0)
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 3, 1))

        def back(y):
            if self.data_format == "channels_first":
                y = ops.transpose(y, (0, 3, 1, 2))
            return ops.squeeze(y, 0) if rank == 3 else y

        return x, back

    def _float(self, inputs):
        return ops.cast(inputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    @property
    def _output_dtypes(self):  # Keras' symbolic outputs are in the compute dtype
        return [np.dtype(self.compute_dtype)]

    def get_config(self):
        c = super().get_config()
        c["data_format"] = self.data_format
        return c


def _hw_shape(shape, fmt, height, width):
    shape = list(shape)
    if fmt == "channels_last":
        shape[-3], shape[-2] = height, width
    else:
        shape[-2], shape[-1] = height, width
    return tuple(shape)


def _aspect_crop_box(height, width, target_h, target_w, f32=False):
    """The largest centred window of the target aspect ratio (Keras' crop_to_aspect_ratio /
    smart_resize); ``f32``: the divisions in float32 as the TF backend's resize does them."""
    div = (lambda a, b: float(_F32(a) / _F32(b))) if f32 else (lambda a, b: float(a) / b)
    crop_h = max(min(height, int(div(width * target_h, target_w))), 1)
    crop_w = max(min(width, int(div(height * target_w, target_h))), 1)
    return int(div(height - crop_h, 2)), int(div(width - crop_w, 2)), crop_h, crop_w


def _saturate_cast(y, dtype):
    info = np.iinfo(dtype)
    return ops.cast(ops.clip(y, float(info.min), float(info.max)), dtype)


# ------------------------------------------------------------------ deterministic layers
class Resizing(_ImageLayer):
    """Resizes images to (height, width) with tf.image.resize's numbers ("bilinear",
    "nearest", "bicubic", "area", "lanczos3", "lanczos5"; ``antialias`` widens the kernel
    when downsampling, as TensorFlow's ScaleAndTranslate), optionally cropping or padding to
    the target aspect ratio first. Integer images are rounded and saturated back to their
    dtype, as Keras does."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "Resizing")
        self.width = _positive_int(width, "width", "Resizing")
        if interpolation not in _RESIZE_METHODS:
            raise ValueError(f"Invalid value for argument `interpolation`. Expected of one "
                             f"{_RESIZE_METHODS}. Received: interpolation={interpolation}")
        if fill_mode != "constant":
            raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is "
                             f"supported. Received: fill_mode={fill_mode}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can "
                             "be `True`.")
        if not _is_number(fill_value):
            raise ValueError(f"Resizing: `fill_value` must be a number. Received: "
                             f"fill_value={fill_value!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def call(self, inputs):
        self._check_rank(inputs)
        in_dtype = as_array(inputs).dtype
        x = inputs if in_dtype.kind == "f" else ops.cast(inputs, "float32")
        x, back = self._to_nhwc(x)
        h, w = as_array(x).shape[1:3]
        if self.crop_to_aspect_ratio:
            hs, ws, ch, cw = _aspect_crop_box(h, w, self.height, self.width, f32=True)
            x = x[:, hs:hs + ch, ws:ws + cw, :]
        elif self.pad_to_aspect_ratio:
            ph = max(h, int(_F32(w * self.height) / _F32(self.width)))
            pw = max(w, int(_F32(h * self.width) / _F32(self.height)))
            hs, ws = int(_F32(ph - h) / 2), int(_F32(pw - w) / 2)
            x = ops.pad(x, ((0, 0), (hs, hs), (ws, ws), (0, 0)),
                        constant_values=self.fill_value)
        y = back(_resize_nhwc(x, self.height, self.width, self.interpolation,
                              self.antialias))
        if in_dtype.kind in "iu":
            if self.interpolation != "nearest":
                y = ops.round(y)
            return _saturate_cast(y, in_dtype)
        if in_dtype.kind == "b":
            return ops.cast(y, in_dtype)
        return y

    def compute_output_shape(self, input_shape):
        return _hw_shape(input_shape, self.data_format, self.height, self.width)

    def get_config(self):
        c = super().get_config()
        c.update(height=self.height, width=self.width, interpolation=self.interpolation,
                 crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                 pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                 fill_value=self.fill_value, antialias=self.antialias)
        return c


def _smart_resize(x, height, width):
    """keras.preprocessing.image.smart_resize of (N, H, W, C): the largest centred crop of
    the target aspect ratio, then a bilinear resize."""
    h, w = as_array(x).shape[1:3]
    hs, ws, ch, cw = _aspect_crop_box(h, w, height, width)
    return _resize_nhwc(x[:, hs:hs + ch, ws:ws + cw, :], height, width, "bilinear")


class CenterCrop(_ImageLayer):
    """Crops the central (height, width) window; an image smaller than that on either side
    is cropped to the target aspect ratio and resized instead (Keras' smart_resize). The
    output is in the compute dtype."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "CenterCrop")
        self.width = _positive_int(width, "width", "CenterCrop")

    def call(self, inputs):
        self._check_rank(inputs)
        x, back = self._to_nhwc(self._float(inputs))
        h, w = as_array(x).shape[1:3]
        if h >= self.height and w >= self.width:
            hs, ws = (h - self.height) // 2, (w - self.width) // 2
            return back(x[:, hs:hs + self.height, ws:ws + self.width, :])
        return back(_smart_resize(x, self.height, self.width))

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError("`input_shape` must be a non-nested tuple or list of rank-1 with "
                             "size 3 (unbatched) or 4 (batched). ")
        return _hw_shape(input_shape, self.data_format, self.height, self.width)

    def get_config(self):
        c = super().get_config()
        c.update(height=self.height, width=self.width)
        return c


# ------------------------------------------------------------------ random layers
class _RandomLayer(_ImageLayer):
    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = seed
        self.generator = _random.SeedGenerator(seed)

    @property
    def seed_generator(self):
        return self.generator

    def _uniform(self, shape, low, high, dtype="float32"):
        return as_array(_random.uniform(shape, low, high, dtype=dtype, seed=self.generator))

    def get_config(self):
        c = super().get_config()
        c["seed"] = self.seed
        return c


class RandomCrop(_RandomLayer):
    """In training, crops a random (height, width) window (one offset per batch, as Keras);
    an input not larger than the window on both sides is cropped by Keras' aspect rule and
    resized. At inference the input is returned unchanged (Keras 3.15)."""

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        if seed is None:  # Keras writes a concrete seed into the config
            seed = int(_rng.draw_seed()) % (1 << 31)
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        self.height = _positive_int(height, "height", "RandomCrop")
        self.width = _positive_int(width, "width", "RandomCrop")
        self.autocast = False  # Keras: no input conversion; inference keeps the dtype

    def call(self, inputs, training=True):
        shape = self._check_rank(inputs)
        if not training:
            return inputs
        ha, wa = self._hw_axes(len(shape))
        ih, iw = shape[ha], shape[wa]
        if ih > self.height and iw > self.width:
            hs = int(self._uniform((), 0.0, float(ih - self.height + 1))[()])
            ws = int(self._uniform((), 0.0, float(iw - self.width + 1))[()])
        else:
            hs, ws, _, _ = _aspect_crop_box(ih, iw, self.height, self.width)
        x, back = self._to_nhwc(self._float(inputs))
        x = x[:, hs:hs + self.height, ws:ws + self.width, :]
        if tuple(as_array(x).shape[1:3]) != (self.height, self.width):
            x = _resize_nhwc(x, self.height, self.width, "bilinear")
        return back(x)

    def compute_output_shape(self, input_shape):
        ha, wa = self._hw_axes(len(input_shape))
        shape = list(input_shape)
        shape[ha], shape[wa] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        c = super().get_config()
        c.update(height=self.height, width=self.width)
        return c


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(_RandomLayer):
    """In training, flips each image with probability 1/2: "horizontal" (left-right),
    "vertical" (up-down) or "horizontal_and_vertical" (both axes together, one draw per
    image, as Keras 3). The output is in the compute dtype."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in _FLIP_MODES:
            raise ValueError(f"RandomFlip: `mode` must be one of {_FLIP_MODES}. Received: "
                             f"mode={mode!r}")
        self.mode = mode

    def call(self, inputs, training=True):
        shape = self._check_rank(inputs)
        x = self._float(inputs)
        if not training:
            return x
        n = shape[0] if len(shape) == 4 else 1
        flips = self._uniform((n,), 0.0, 1.0) <= 0.5
        x, back = self._to_nhwc(x)
        axes = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (1, 2)}
        flipped = ops.flip(x, axis=axes[self.mode])
        m = flips.astype(as_array(x).dtype).reshape(n, 1, 1, 1)
        return back(ops.add(ops.multiply(flipped, m), ops.multiply(x, 1 - m)))

    def get_config(self):
        c = super().get_config()
        c["mode"] = self.mode
        return c


class _AffineLayer(_RandomLayer):
    """Layers drawing one projective transform per image and resampling with TF's rules."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        _check_options(fill_mode, interpolation)
        if not _is_number(fill_value):
            raise ValueError(f"{type(self).__name__}: `fill_value` must be a number. "
                             f"Received: fill_value={fill_value!r}")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _transforms(self, n, h, w):
        raise NotImplementedError

    def call(self, inputs, training=True):
        self._check_rank(inputs)
        x = self._float(inputs)
        if not training:
            return x
        x, back = self._to_nhwc(x)
        n, h, w, _ = as_array(x).shape
        t = self._transforms(n, h, w)
        return back(_projective_transform(x, t, self.interpolation, self.fill_mode,
                                          self.fill_value))

    def get_config(self):
        c = super().get_config()
        c.update(fill_mode=self.fill_mode, interpolation=self.interpolation,
                 fill_value=self.fill_value)
        return c


def _rotation_matrices(angle_deg, h, w):
    """Keras' _compute_affine_matrix for a rotation about the image centre, in float32."""
    angle = angle_deg.astype(_F32) * _F32(math.pi / 180.0)
    cx, cy = _F32(0.5) * (_F32(w) - 1), _F32(0.5) * (_F32(h) - 1)
    cos, sin = np.cos(angle).astype(_F32), np.sin(angle).astype(_F32)
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = cx - cx * a0 - cy * a1
    b2 = cy - cx * b0 - cy * b1
    z = np.zeros_like(a0)
    return np.stack([a0, a1, a2, b0, b1, b2, z, z], axis=1).astype(_F32)


class RandomRotation(_AffineLayer):
    """In training, rotates each image about its centre by an angle drawn uniformly from
    ``factor * 360`` degrees (a number f: [-f, f]; a pair: [low, high])."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.factor = _base_factor(factor or 0.0, (-1, 1))

    def _transforms(self, n, h, w):
        angle = self._uniform((n,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        return _rotation_matrices(angle, h, w)

    def get_config(self):
        c = super().get_config()
        c["factor"] = self.factor
        return c


_ZOOM_ERROR = ("The `height_factor` and `width_factor` arguments should be a number (or a list "
               "of two numbers) in the range (-1.0, 1.0]. ")
_TRANSLATION_ERROR = ("The `factor` argument should be a number (or a list of two numbers) in "
                      "the range [-1.0, 1.0]. ")


class RandomZoom(_AffineLayer):
    """In training, zooms each image about its centre by 1 + a factor drawn from
    ``height_factor`` (and ``width_factor``; None: the same zoom on both axes). Positive
    factors zoom out, negative ones zoom in (Keras' sign)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _pair_factor(height_factor, "height_factor",
                                                            _ZOOM_ERROR, low_open=True)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _pair_factor(width_factor, "width_factor",
                                                              _ZOOM_ERROR, low_open=True)

    def _transforms(self, n, h, w):
        zy = self._uniform((n,), 1.0 + self.height_lower, 1.0 + self.height_upper)
        zx = zy if self.width_factor is None else \
            self._uniform((n,), 1.0 + self.width_lower, 1.0 + self.width_upper)
        zx, zy = zx.astype(_F32), zy.astype(_F32)
        x_off = (_F32(w) - _F32(1)) / _F32(2) * (_F32(1) - zx)
        y_off = (_F32(h) - _F32(1)) / _F32(2) * (_F32(1) - zy)
        z = np.zeros_like(zx)
        return np.stack([zx, z, x_off, z, zy, y_off, z, z], axis=1)

    def get_config(self):
        c = super().get_config()
        c.update(height_factor=self.height_factor, width_factor=self.width_factor)
        return c


class RandomTranslation(_AffineLayer):
    """In training, shifts each image by fractions of its height and width drawn from
    ``height_factor`` and ``width_factor`` (positive: down / right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _pair_factor(
            height_factor, "height_factor", _TRANSLATION_ERROR, low_open=False)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _pair_factor(
            width_factor, "width_factor", _TRANSLATION_ERROR, low_open=False)

    def _transforms(self, n, h, w):
        ty = (self._uniform((n,), self.height_lower, self.height_upper) * _F32(h)).astype(_F32)
        tx = (self._uniform((n,), self.width_lower, self.width_upper) * _F32(w)).astype(_F32)
        one, z = np.ones_like(tx), np.zeros_like(tx)
        return np.stack([one, z, -tx, z, one, -ty, z, z], axis=1)

    def get_config(self):
        c = super().get_config()
        c.update(height_factor=self.height_factor, width_factor=self.width_factor)
        return c


def _value_range(value_range, layer):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or \
            not all(_is_number(v) for v in value_range):
        raise ValueError("The `value_range` argument should be a list of two numbers. "
                         f"Received: value_range={value_range}")
    return value_range


class RandomContrast(_RandomLayer):
    """In training, scales each image's deviation from its per-channel mean by a factor
    drawn from [1 - lower, 1 + upper] (Keras' reading of ``factor``), then clips to
    ``value_range``. Integer images are computed in the compute dtype (TensorFlow refuses
    them)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _base_factor(factor, (0, 1))
        self.value_range = _value_range(value_range, "RandomContrast")

    def call(self, inputs, training=True):
        shape = self._check_rank(inputs)
        if not training:
            return inputs
        x = inputs if as_array(inputs).dtype.kind == "f" else self._float(inputs)
        dt = as_array(x).dtype
        n = shape[0] if len(shape) == 4 else 1
        f = self._uniform((n,), 1.0 - self.factor[0], 1.0 + self.factor[1],
                          dtype=self.compute_dtype).astype(dt)
        f = f.reshape((n, 1, 1, 1) if len(shape) == 4 else (1, 1, 1))
        ha, wa = self._hw_axes(len(shape))
        mean = ops.mean(x, axis=(ha, wa), keepdims=True)
        y = ops.add(ops.multiply(ops.subtract(x, mean), f), mean)
        return ops.clip(y, self.value_range[0], self.value_range[1])

    def get_config(self):
        c = super().get_config()
        c.update(factor=self.factor, value_range=self.value_range)
        return c


class RandomBrightness(_RandomLayer):
    """In training, adds ``delta * (high - low)`` to each image, delta drawn from ``factor``
    (a number f: [-f, f]), then clips to ``value_range``. Integer images stay integers (the
    delta truncated, as TensorFlow's cast does)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _base_factor(factor, (-1, 1))
        self.value_range = sorted(_value_range(value_range, "RandomBrightness"))

    def call(self, inputs, training=True):
        shape = self._check_rank(inputs)
        if not training:
            return inputs
        dt = as_array(inputs).dtype
        n = shape[0] if len(shape) == 4 else 1
        delta = self._uniform((n,), self.factor[0], self.factor[1]) * \
            _F32(self.value_range[1] - self.value_range[0])
        delta = delta.reshape((n, 1, 1, 1) if len(shape) == 4 else (1, 1, 1))
        lo, hi = self.value_range
        if dt.kind in "iu":
            x = as_array(inputs).astype(np.int64) + np.trunc(delta).astype(np.int64)
            return Tensor(np.clip(x, lo, hi).astype(dt))
        return ops.clip(ops.add(inputs, delta.astype(dt)), lo, hi)

    def get_config(self):
        c = super().get_config()
        c.update(factor=self.factor, value_range=self.value_range)
        return c
