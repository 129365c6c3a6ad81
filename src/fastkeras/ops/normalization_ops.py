"""Batch normalization with the batch's statistics: one implementation of the statistics,
the normalization and the gradient, on (rows, features) arrays, used by the tape's op
(``batch_norm_training``, what BatchNormalization runs in training) and by the compiled
plans' CPU backend (fastkeras.device.backends.HostOps); the CUDA twin is
csrc/cuda/device_ops.cu.

Sums run in float64; the statistics are then rounded to the input's dtype, and the
normalization and the gradient are computed from the rounded values (as the GPU does).
"""
import math

import numpy as np

from fastkeras.ops.math import make
from fastkeras.ops.tensor import as_array

__all__ = ["batch_statistics", "normalize", "normalize_backward", "batch_norm_training"]


def batch_statistics(x):
    """(mean, variance) over the rows of x (m, n), each (n,) float64 (the biased variance,
    as Keras')."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=0)
    return mean, np.square(x64 - mean).mean(axis=0)


def normalize(x, mean, var, gamma, beta, epsilon, out=None):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta on x (m, n); mean, var, gamma, beta
    (n,) in x's dtype (gamma / beta None: 1 / 0)."""
    t = x.dtype.type
    inv = t(1) / np.sqrt(var + t(epsilon))
    scale = inv * gamma if gamma is not None else inv
    y = (x - mean) * scale + (beta if beta is not None else t(0))
    if out is None:
        return y
    out[...] = y
    return out


def normalize_backward(x, dy, mean, var, gamma, epsilon):
    """(dx, dgamma, dbeta) of training-mode normalization (mean, var: this batch's statistics
    of x, in x's dtype): dgamma and dbeta summed in float64 and rounded to x's dtype."""
    t = x.dtype.type
    m = x.shape[0]
    inv = t(1) / np.sqrt(var + t(epsilon))
    scale = inv * gamma if gamma is not None else inv
    dy64 = dy.astype(np.float64)
    xhat64 = (x.astype(np.float64) - mean) * (1.0 / np.sqrt(var.astype(np.float64) +
                                                            t(epsilon)))
    dgamma = (dy64 * xhat64).sum(axis=0).astype(x.dtype)
    dbeta = dy64.sum(axis=0).astype(x.dtype)
    xhat = (x - mean) * inv
    dx = scale / t(m) * (t(m) * dy - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def batch_norm_training(x, gamma, beta, axes, epsilon):
    """Batch normalization of Tensor x with its own statistics over every axis but the
    feature `axes` (gamma / beta shaped like those axes, or None). Returns (y, mean,
    variance): y a Tensor (gradients to x, gamma and beta), the statistics float64 arrays
    shaped like the feature axes (for the moving averages)."""
    a = as_array(x)
    axes = tuple(sorted(ax % a.ndim for ax in axes))
    rest = tuple(i for i in range(a.ndim) if i not in axes)
    perm = rest + axes
    moved = a.transpose(perm) if perm != tuple(range(a.ndim)) else a
    feat = tuple(a.shape[i] for i in axes)
    x2 = np.ascontiguousarray(moved).reshape(-1, math.prod(feat))
    mean64, var64 = batch_statistics(x2)
    mean, var = mean64.astype(a.dtype), var64.astype(a.dtype)
    g = None if gamma is None else as_array(gamma).reshape(-1).astype(a.dtype, copy=False)
    b = None if beta is None else as_array(beta).reshape(-1).astype(a.dtype, copy=False)
    y2 = normalize(x2, mean, var, g, b, epsilon)
    inverse = tuple(np.argsort(perm))

    def back(g2):
        return g2.reshape(moved.shape).transpose(inverse) if perm != tuple(range(a.ndim)) \
            else g2.reshape(a.shape)

    def backward(grad, needs):
        gy = np.ascontiguousarray(as_array(grad).transpose(perm)).reshape(x2.shape)
        dx, dgamma, dbeta = normalize_backward(x2, gy, mean, var, g, epsilon)
        out = [back(dx)]
        if gamma is not None:
            out.append(dgamma.reshape(np.shape(as_array(gamma))))
        if beta is not None:
            out.append(dbeta.reshape(np.shape(as_array(beta))))
        return tuple(out)

    inputs = (x,) + tuple(v for v in (gamma, beta) if v is not None)
    y = make(back(y2), inputs, backward)
    return y, mean64.reshape(feat), var64.reshape(feat)
