"""Neural-network ops: the fused softmax cross-entropy (C kernel) with its backward.

``sparse_categorical_crossentropy`` and ``categorical_crossentropy`` follow
keras.ops (per-sample losses, differentiable with respect to ``output``). The
preparation helpers validate everything before a C kernel sees the data: every
error names the argument and says what was expected.
"""
import math

import numpy as np

from fastkeras import config
from fastkeras._kernels import softmax_xent as _kx
from fastkeras.kernel_errors import KernelValueError, Status
from fastkeras.ops import buffers
from fastkeras.ops import tape as _tape
from fastkeras.ops.math import make, unbroadcast
from fastkeras.ops.tensor import Tensor, as_array

__all__ = [
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "XentProblem",
    "prepare_sparse",
    "prepare_dense",
]


def float_input(x, name, dtype=None):
    """(compute array, result dtype): float32/float64 compute, half types widened."""
    v = as_array(x)
    if v.dtype.kind not in "fiub":
        raise TypeError(f"`{name}` must hold numbers, got dtype {v.dtype}")
    if dtype is not None:
        v = v.astype(np.dtype(dtype), copy=False)
    elif v.dtype.kind != "f":
        v = v.astype(np.dtype(config.floatx() if config.floatx() != "bfloat16" else "float32"))
    result_dtype = v.dtype
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float32)  # float16 / bfloat16: compute in float32, return input dtype
    return v, result_dtype


def _labels(y, name):
    v = as_array(y)
    if v.dtype.kind in "iub":
        return v.astype(np.int64, copy=False)
    if v.dtype.kind == "f":
        if not np.all(np.isfinite(v)):
            raise ValueError(f"`{name}` contains NaN or infinite labels")
        return v.astype(np.int64)
    raise TypeError(f"`{name}` must hold integer class indices, got dtype {v.dtype}")


def _class_axis(axis, ndim, name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis`={axis} is out of range for `{name}` of rank {ndim}")
    return int(axis) % ndim


class XentProblem:
    """A validated cross-entropy call, flattened to [N, C] for the kernel."""

    __slots__ = ("x", "y", "t", "batch_shape", "moved_shape", "axis", "result_dtype",
                 "orig_dtype", "opts", "valid")

    def kernel(self, gscale=None, want_loss=True, want_grad=False, grad_scale=1.0):
        """Run the fused kernel: (per-row loss or None, gradient or None)."""
        if want_grad and self.x.nbytes >= buffers.CACHE_MIN_BYTES:
            with buffers.cached():  # the gradient buffer comes from the buffer cache
                return self._kernel(gscale, want_loss, want_grad, grad_scale)
        return self._kernel(gscale, want_loss, want_grad, grad_scale)

    def _kernel(self, gscale, want_loss, want_grad, grad_scale):
        if self.y is None:
            return _kx.dense(self.x, self.t, gscale, want_loss=want_loss, want_grad=want_grad,
                             grad_scale=grad_scale, n_threads=config.get_num_threads(),
                             **self.opts)
        try:
            return _kx.sparse(self.x, self.y, gscale, want_loss=want_loss, want_grad=want_grad,
                              grad_scale=grad_scale, n_threads=config.get_num_threads(),
                              **self.opts)
        except KernelValueError as exc:
            # The kernel checks the label range in its single pass; the message
            # naming the offending label is only built on this error path.
            if exc.status is Status.LABEL:
                self._raise_label_error()
            raise

    def _raise_label_error(self):
        c = self.x.shape[1]
        y = self.y
        if "ignore_class" in self.opts:
            y = y[y != self.opts["ignore_class"]]
        bad = y[(y < 0) | (y >= c)]
        raise ValueError(
            f"`y_true` contains the label {int(bad[0])}, outside the valid range [0, {c}) "
            f"for y_pred with {c} classes"
        )

    def grad_to_input(self, grad):
        """Kernel gradient [N, C] back to the layout and dtype of y_pred."""
        grad = grad.reshape(self.moved_shape)
        if self.axis != len(self.moved_shape) - 1:
            grad = np.moveaxis(grad, -1, self.axis)
        return grad.astype(self.orig_dtype, copy=False)


def _finish(p, x, from_logits, label_smoothing, epsilon):
    if x.ndim < 1:
        raise ValueError(f"`y_pred` must have rank >= 1, got shape {x.shape}")
    if isinstance(label_smoothing, bool) or not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"`label_smoothing` must be in [0, 1], got {label_smoothing!r}")
    c = x.shape[-1]
    if c == 0:
        raise ValueError(f"`y_pred` has an empty class axis (shape {x.shape})")
    n = math.prod(x.shape[:-1])
    if n == 0:
        raise ValueError(f"`y_pred` is an empty batch (shape {x.shape}); expected at least one sample")
    p.moved_shape = x.shape
    p.batch_shape = x.shape[:-1]
    p.x = np.ascontiguousarray(x.reshape(n, c))
    eps = config.epsilon() if epsilon is None else float(epsilon)
    p.opts = {"from_logits": bool(from_logits), "label_smoothing": float(label_smoothing),
              "epsilon": eps}
    return n, c


def prepare_sparse(target, output, from_logits=False, axis=-1, ignore_class=None,
                   label_smoothing=0.0, dtype=None, epsilon=None):
    """Validate (y_true, y_pred) for integer labels and flatten them."""
    x, result_dtype = float_input(output, "y_pred", dtype)
    y = _labels(target, "y_true")
    if x.ndim < 1:
        raise ValueError(f"`y_pred` must have rank >= 1, got shape {x.shape}")
    ax = _class_axis(axis, x.ndim, "y_pred")
    if y.ndim == x.ndim and y.shape[ax] == 1:
        y = np.squeeze(y, axis=ax)
    if ax != x.ndim - 1:
        x = np.moveaxis(x, ax, -1)
    if y.shape != x.shape[:-1]:
        raise ValueError(
            "`y_true` must have the shape of `y_pred` without its class axis: got "
            f"y_true.shape={as_array(target).shape}, y_pred.shape={as_array(output).shape}"
        )
    p = XentProblem()
    p.axis, p.result_dtype, p.orig_dtype, p.t = ax, result_dtype, as_array(output).dtype, None
    n, c = _finish(p, x, from_logits, label_smoothing, epsilon)
    y = np.ascontiguousarray(y.reshape(n))
    if ignore_class is not None:
        if isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer)):
            raise TypeError(f"`ignore_class` must be an int or None, got {ignore_class!r}")
        p.opts["ignore_class"] = int(ignore_class)
        p.valid = y != ignore_class
    else:
        p.valid = None
    p.y = y  # the range [0, c) is checked by the kernel (see XentProblem.kernel)
    return p


def prepare_dense(target, output, from_logits=False, axis=-1, label_smoothing=0.0, dtype=None,
                  epsilon=None):
    """Validate (y_true, y_pred) for one-hot / probability targets and flatten them."""
    x, result_dtype = float_input(output, "y_pred", dtype)
    t = as_array(target)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"`y_true` must hold numbers, got dtype {t.dtype}")
    t = t.astype(x.dtype, copy=False)
    if x.ndim < 1 or t.ndim < 1:
        raise ValueError(
            f"`y_true` and `y_pred` must have rank >= 1, got shapes {t.shape} and {x.shape}"
        )
    if t.shape != x.shape:
        raise ValueError(
            "`y_true` and `y_pred` must have the same shape, got "
            f"y_true.shape={t.shape}, y_pred.shape={x.shape}"
        )
    ax = _class_axis(axis, x.ndim, "y_pred")
    if ax != x.ndim - 1:
        x, t = np.moveaxis(x, ax, -1), np.moveaxis(t, ax, -1)
    p = XentProblem()
    p.axis, p.result_dtype, p.orig_dtype, p.y, p.valid = ax, result_dtype, as_array(output).dtype, None, None
    n, c = _finish(p, x, from_logits, label_smoothing, epsilon)
    p.t = np.ascontiguousarray(t.reshape(n, c))
    return p


def _per_sample_op(p, target, output):
    """The per-sample loss as a tape op; backward is one fused kernel pass."""
    loss, _ = p.kernel()
    value = loss.reshape(p.batch_shape).astype(p.result_dtype, copy=False)

    def backward(g, needs):
        g_target = None
        if needs[0] and p.t is not None:
            g_target = _dense_target_grad(p, g)
        if not needs[1]:
            return g_target, None
        gs = np.ascontiguousarray(np.broadcast_to(g, p.batch_shape).reshape(-1), dtype=p.x.dtype)
        _, grad = p.kernel(gs, want_loss=False, want_grad=True)
        return g_target, p.grad_to_input(grad)

    return make(value, (target, output), backward)


def _dense_target_grad(p, g):
    """d loss / d y_true for dense targets: -(1 - ls) * log q (q = softmax or clipped probs)."""
    x = p.x.astype(np.float64)
    if p.opts["from_logits"]:
        m = x.max(axis=1, keepdims=True)
        logq = x - (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))
    else:
        eps = p.opts["epsilon"]
        logq = np.log(np.clip(x / x.sum(axis=1, keepdims=True), eps, 1 - eps))
    gt = -(1.0 - p.opts["label_smoothing"]) * logq
    gt = gt * np.broadcast_to(g, p.batch_shape).reshape(-1, 1)
    return p.grad_to_input(gt)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, *,
                                    ignore_class=None, label_smoothing=0.0):
    """Per-sample cross-entropy between integer labels and predictions (keras.ops).

    ``output`` holds logits (``from_logits=True``) or probabilities (clipped to
    [epsilon, 1 - epsilon] as Keras does). ``ignore_class`` gives 0 for labels
    equal to it; ``label_smoothing`` is a fastkeras extension (the same result as
    categorical cross-entropy on smoothed one-hot labels).
    """
    p = prepare_sparse(target, output, from_logits, axis, ignore_class, label_smoothing)
    return _per_sample_op(p, target, output)


def categorical_crossentropy(target, output, from_logits=False, axis=-1, *, label_smoothing=0.0):
    """Per-sample cross-entropy between one-hot/probability targets and predictions (keras.ops)."""
    p = prepare_dense(target, output, from_logits, axis, label_smoothing)
    return _per_sample_op(p, target, output)


def binary_crossentropy_from_logits(target, output):
    """Element-wise sigmoid cross-entropy of logits ``output`` against ``target``, as
    tf.nn.sigmoid_cross_entropy_with_logits computes it: max(x, 0) - x z + log1p(exp(-|x|)).
    The gradient is sigmoid(x) - z everywhere; composing relu and |x| would give -z at x = 0
    exactly (a zero logit, common with zero biases), where the true slope is 1/2 - z."""
    x = as_array(output)
    z = as_array(target).astype(x.dtype, copy=False)
    value = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))

    def backward(g, needs):
        gz = unbroadcast(-g * x, z.shape).astype(z.dtype) if needs[0] else None
        gx = None
        if needs[1]:
            sig = 0.5 * (1.0 + np.tanh(0.5 * x))
            gx = unbroadcast(g * (sig - z), x.shape).astype(x.dtype, copy=False)
        return gz, gx

    return make(value.astype(x.dtype, copy=False), (target, output), backward)


def tracked(x):
    """True when an active tape needs gradients through x."""
    return isinstance(x, Tensor) and _tape.tracked_by_any(x)
