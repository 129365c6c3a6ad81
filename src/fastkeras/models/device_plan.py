"""Training and inference with the weights and optimizer state resident on a device.

``model.compile(..., device="cuda")`` or ``fastkeras.config.set_device("cuda")`` runs fit /
evaluate / predict of a model that is one chain of Dense / Conv / pooling /
BatchNormalization / activation / Dropout / Flatten layers (see ``_steps`` for the exact
list) through a ``DevicePlan``: the weights, the optimizer's slots and BatchNormalization's
moving statistics are copied to the device when a call begins and stay there; each batch
is copied in once (x, then y and the sample weights; an x already in GPU memory is used
where it is), the forward pass, the loss and its gradient, the L1 / L2 penalties, the
backward pass and the fused optimizer step all run on the device, and only the per-row
losses and the predictions (for the metrics) come back. The host Variables are refreshed
from the device at the end of every epoch (before the callbacks run) and when the call
ends.

The plan is written against a small set of primitives (device_ops.h: products with
transposes, bias + activation, activation gradients, column sums, element-wise products,
row gathers, penalties, batch normalization, convolution and pooling passes, MSE, the fused
cross-entropy, and the fused optimizer step). ``CudaOps`` runs them on the GPU
(``fastkeras/cuda/device_ops.h``); ``HostOps`` runs the same primitives on NumPy arrays
with the CPU kernels, which is how the plan's logic is checked against the ordinary
(tape-based) fit on machines without a GPU.
"""
import threading

import numpy as np

from fastkeras import activations
from fastkeras.kernel_errors import KernelValueError, Status
from fastkeras.layers.base import InputLayer

__all__ = ["DevicePlan", "DeviceInput", "HostOps", "CudaOps", "ops_for"]

_LINEAR, _SOFTMAX = -1, -2  # FK_STEP_LINEAR / FK_STEP_SOFTMAX


# ------------------------------------------------------------------------------ primitives
class HostOps:
    """The plan's primitives on NumPy arrays (CPU kernels): the reference for CudaOps."""

    name = "cpu"

    def empty(self, shape, dtype):
        return np.empty(shape, dtype)

    def upload(self, a, out=None):
        a = np.ascontiguousarray(a)
        if out is None:
            return a.copy()
        out[...] = a
        return out

    def download(self, a):
        return np.array(a, copy=True)

    def view(self, a, shape):
        return a.reshape(shape)

    def rows(self, a, n):
        return a[:n]

    def conv(self, which, geom, a, b, bias, y, db=None):
        from fastkeras import config
        from fastkeras._kernels import conv as _kc

        nt, f = config.get_num_threads(), (lambda t: t.reshape(-1))
        if which == 0:
            _kc.forward(geom, f(a), f(b), bias, f(y), nt)
        elif which == 1:
            _kc.backward_data(geom, f(a), f(b), f(y), nt)
        else:
            _kc.backward_filter(geom, f(a), f(b), f(y), db, nt)

    def pool(self, which, geom, a, y, argmax):
        from fastkeras import config
        from fastkeras._kernels import pool as _kp

        nt, f = config.get_num_threads(), (lambda t: t.reshape(-1))
        if which == 0:
            _kp.max_forward(geom, f(a), f(y), argmax, nt)
        elif which == 1:
            _kp.max_backward(geom, f(a), argmax, f(y), nt)
        elif which == 2:
            _kp.avg_forward(geom, f(a), f(y), nt)
        else:
            _kp.avg_backward(geom, f(a), f(y), nt)

    def gemm(self, a, b, y, ta=False, tb=False, beta=0.0):
        from fastkeras.ops.products import matmul_array

        prod = matmul_array(a.T if ta else a, b.T if tb else b, "device plan gemm")
        if beta:
            y *= y.dtype.type(beta)
            y += prod
        else:
            y[...] = prod

    def bias_act(self, z, b, y, kind, alpha):
        from fastkeras import config
        from fastkeras._kernels import elementwise as _ke

        if b is not None:
            z += b
        if kind == _SOFTMAX:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            y[...] = e / e.sum(axis=1, keepdims=True)
        elif kind == _LINEAR:
            if y is not z:
                y[...] = z
        else:
            _ke.act_forward(kind, z.reshape(-1), y.reshape(-1), alpha, config.get_num_threads())

    def act_bwd(self, kind, alpha, x, fy, g, dx):
        from fastkeras import config
        from fastkeras._kernels import elementwise as _ke

        if kind == _SOFTMAX:
            dx[...] = fy * (g - np.sum(g * fy, axis=1, keepdims=True))
        elif kind == _LINEAR:
            dx[...] = g
        else:
            _ke.act_backward(kind, x.reshape(-1), fy.reshape(-1), g.reshape(-1),
                             dx.reshape(-1), alpha, config.get_num_threads())

    def col_sum(self, a, y):
        y[...] = a.sum(axis=0)

    def part(self, a, start, count):
        return a.reshape(-1)[start:start + count]

    def batchnorm(self, kind, a, b, c, d, y, z, w, eps, momentum):
        """device_ops.h's FK_DOP_BATCHNORM on (m, n) arrays (sums in float64)."""
        x, t = a, (y.dtype.type if y is not None else a.dtype.type)
        dy = c if kind >= 2 else None
        n = y.shape[1]
        if kind == 0:
            x64 = x.astype(np.float64)
            mean = x64.mean(axis=0)
            var = np.square(x64 - mean).mean(axis=0)
            z[:n], z[n:] = mean, var
            w[...] = w * t(momentum) + z * t(1.0 - momentum)
        stats = z if kind == 0 else d
        mean, var = stats[:n], stats[n:]
        inv = t(1) / np.sqrt(var + t(eps))
        gi = inv * b if b is not None else inv
        if kind <= 1:
            y[...] = (x - mean) * gi + (c if c is not None else t(0))
        elif kind == 3:
            y[...] = dy * gi
        else:
            m = x.shape[0]
            xhat64 = (x.astype(np.float64) - mean) * (1.0 / np.sqrt(var.astype(np.float64) +
                                                                    t(eps)))
            z[:n] = (dy.astype(np.float64) * xhat64).sum(axis=0)
            z[n:] = dy.astype(np.float64).sum(axis=0)
            xhat = (x - mean) * inv
            y[...] = gi / t(m) * (t(m) * dy - z[n:] - xhat * z[:n])

    def global_max(self, kind, x, ymax, g, out):
        """FK_DOP_GLOBAL_MAX on x (m, k, n): the max over k; its gradient shared by ties."""
        m, n = x.shape[0], x.shape[-1]
        x3 = x.reshape(m, -1, n)
        if kind == 0:
            out.reshape(m, n)[...] = x3.max(axis=1)
            return
        hit = x3 == ymax.reshape(m, 1, n)
        ties = hit.sum(axis=1, keepdims=True)
        share = np.where(ties > 0, g.reshape(m, 1, n) / np.maximum(ties, 1).astype(x.dtype), 0)
        out.reshape(m, -1, n)[...] = np.where(hit, share, 0).astype(x.dtype)

    def regularize(self, w, grad, l1, l2, out):
        t = w.dtype.type
        if grad is not None:
            grad += t(l1) * np.sign(w) + t(2) * t(l2) * w
        w64 = w.astype(np.float64)
        out[0] = l1 * np.abs(w64).sum() + l2 * np.square(w64).sum()

    def mul(self, a, b, y):
        np.multiply(a, b, out=y)

    def mse(self, pred, target, rowscale, grad_scale, grad, loss):
        d = pred - target
        loss[...] = np.mean(d * d, axis=1)
        if grad is not None:
            t = pred.dtype.type
            gs = t(2) / t(pred.shape[1]) * t(grad_scale)
            grad[...] = d * gs if rowscale is None else d * (rowscale[:, None] * gs)

    def xent(self, sparse, x, labels, rowscale, opts, grad, loss):
        from fastkeras import config
        from fastkeras._kernels import softmax_xent as _kx

        from_logits, ls, eps, ignore, grad_scale = opts
        fn = _kx.sparse if sparse else _kx.dense
        kw = dict(from_logits=from_logits, label_smoothing=ls, epsilon=eps)
        if sparse:
            kw["ignore_class"] = ignore
        lv, gv = fn(x, labels, rowscale, want_loss=True, want_grad=grad is not None,
                    grad_scale=grad_scale, n_threads=config.get_num_threads(), **kw)
        loss[...] = lv
        if grad is not None:
            grad[...] = gv

    def optimizer_step(self, args, params, grads, slots):
        from fastkeras import config
        from fastkeras._kernels import optim as _ko

        _ko.step(args, params, grads, slots, None, None, config.get_num_threads())


class CudaOps:
    """The plan's primitives on the GPU: DeviceArray buffers, fastkeras/cuda/device_ops.h.
    Every call checks the buffers' shapes and dtypes against the sizes it passes, so the
    C side never reads or writes past a buffer."""

    name = "cuda"

    def __init__(self):
        from fastkeras import cuda
        from fastkeras._kernels import devops

        cuda.require_available("device='cuda'")
        self._cuda, self._run = cuda, devops.run

    def empty(self, shape, dtype):
        return self._cuda.DeviceArray(shape, dtype)

    def upload(self, a, out=None):
        a = np.ascontiguousarray(a)
        if out is None:
            return self._cuda.DeviceArray.from_host(a)
        self._same(out, a.shape, a.dtype, "upload")
        if a.size:
            self._cuda._core().cuda_copy(out._ptr, a, False)
        return out

    def download(self, a):
        return self._cuda.to_host(a)

    def view(self, a, shape):
        return _View(a, shape)

    def rows(self, a, n):
        return _View(a, (n,) + tuple(a.shape[1:]), offset=0)

    def rows_of(self, inp, start, stop):
        """Rows start:stop of a DeviceInput, in place (no copy)."""
        base = _Wrapped(inp.view)
        row = int(np.prod(inp.view.shape[1:]))
        return _View(base, (stop - start,) + tuple(inp.view.shape[1:]), offset=start * row)

    def gather(self, inp, idx, y):
        """y = the rows idx (a device int64 array) of a DeviceInput."""
        base = _Wrapped(inp.view)
        rows, width = base.shape[0], int(np.prod(base.shape[1:]))
        self._same(idx, (y.shape[0],), np.int64, "gather idx")
        self._sized(y, y.shape[0] * width, base.dtype, "gather y")
        self._run("gather", base.dtype == np.float64, y.shape[0], width, rows, a=base._ptr,
                  b=idx._ptr, y=y._ptr)

    @staticmethod
    def _conv_sizes(g):
        n, sp_in, sp_out = g["n"], int(np.prod(g["in"])), int(np.prod(g["out"]))
        k = int(np.prod(g["k"]))
        return (n * sp_in * g["cin"], n * sp_out * g["cout"],
                k * (g["cin"] // max(g["groups"], 1)) * g["cout"])

    def _sized(self, arr, size, dtype, what):
        if arr is not None and (_size(arr) != size or arr.dtype != np.dtype(dtype)):
            raise ValueError(f"{what}: device buffer of {_size(arr)} {arr.dtype}, expected "
                             f"{size} {np.dtype(dtype)}")

    def conv(self, which, geom, a, b, bias, y, db=None):
        nx, ny, nw = self._conv_sizes(geom)
        dt = a.dtype
        sizes = {0: (nx, nw, ny), 1: (ny, nw, nx), 2: (nx, ny, nw)}[which]
        for arr, size, what in zip((a, b, y), sizes, ("conv a", "conv b", "conv y")):
            self._sized(arr, size, dt, what)
        self._sized(bias if which == 0 else db, geom["cout"], dt, "conv bias")
        self._op("conv", a, 0, 0, a=a, b=b, c=bias if which == 0 else None, y=y,
                 z=db if which == 2 else None, kind=which, conv=geom)

    def pool(self, which, geom, a, y, argmax):
        g = geom
        nx = g["n"] * int(np.prod(g["in"])) * g["c"]
        ny = g["n"] * int(np.prod(g["out"])) * g["c"]
        fwd = which in (0, 2)
        self._sized(a, nx if fwd else ny, a.dtype, "pool a")
        self._sized(y, ny if fwd else nx, a.dtype, "pool y")
        if which in (0, 1):
            self._sized(argmax, ny, np.uint8, "pool argmax")
        self._op("pool", a, 0, 0, a=a, y=y, b=argmax if which == 1 else None,
                 z=argmax if which == 0 else None, kind=which, pool=geom)

    @staticmethod
    def _same(arr, shape, dtype, what):
        if tuple(arr.shape) != tuple(shape) or arr.dtype != dtype:
            raise ValueError(f"{what}: device buffer {arr.shape} {arr.dtype}, expected "
                             f"{tuple(shape)} {np.dtype(dtype)}")

    def _op(self, op, ref, m, n, k=0, **kw):
        ptrs = {key: (0 if v is None else v._ptr) for key, v in kw.items()
                if key in ("a", "b", "c", "d", "y", "z", "w")}
        rest = {key: v for key, v in kw.items() if key not in ptrs}
        self._run(op, ref.dtype == np.float64, m, n, k, **ptrs, **rest)

    def gemm(self, a, b, y, ta=False, tb=False, beta=0.0):
        m, k = (a.shape[1], a.shape[0]) if ta else a.shape
        n = b.shape[0] if tb else b.shape[1]
        self._same(b, (n, k) if tb else (k, n), a.dtype, "gemm b")
        self._same(y, (m, n), a.dtype, "gemm y")
        self._op("gemm", a, m, n, k, a=a, b=b, y=y, ta=ta, tb=tb, beta=beta)

    def bias_act(self, z, b, y, kind, alpha):
        m, n = z.shape
        self._same(y, z.shape, z.dtype, "bias_act y")
        if b is not None:
            self._same(b, (n,), z.dtype, "bias_act b")
        self._op("bias_act", z, m, n, z=z, b=b, y=y, kind=kind, alpha=alpha)

    def act_bwd(self, kind, alpha, x, fy, g, dx):
        m, n = g.shape
        for arr, what in ((x, "x"), (fy, "f(x)"), (dx, "dx")):
            self._same(arr, g.shape, g.dtype, f"act_bwd {what}")
        self._op("act_bwd", g, m, n, a=x, b=fy, c=g, y=dx, kind=kind, alpha=alpha)

    def col_sum(self, a, y):
        m, n = a.shape
        self._same(y, (n,), a.dtype, "col_sum y")
        self._op("col_sum", a, m, n, a=a, y=y)

    def part(self, a, start, count):
        return _View(a, (count,), offset=start)

    def batchnorm(self, kind, a, b, c, d, y, z, w, eps, momentum):
        m, n = y.shape
        dt = y.dtype
        for arr, size, what in ((a, m * n, "x"), (c, n if kind <= 1 else m * n, "beta / dy"),
                                (b, n, "gamma"), (d, 2 * n, "stats"), (z, 2 * n, "stats out"),
                                (w, 2 * n, "moving stats")):
            self._sized(arr, size, dt, f"batchnorm {what}")
        self._op("batchnorm", y, m, n, a=a, b=b, c=c, d=d, y=y, z=z, w=w, kind=kind,
                 alpha=eps, beta=momentum)

    def global_max(self, kind, x, ymax, g, out):
        m, n = x.shape[0], x.shape[-1]
        k = _size(x) // max(m * n, 1)
        self._sized(ymax, m * n, x.dtype, "global_max max")
        self._sized(g, m * n, x.dtype, "global_max gradient")
        self._sized(out, m * n if kind == 0 else m * k * n, x.dtype, "global_max out")
        self._op("global_max", x, m, n, k, a=x, b=ymax, c=g, y=out, kind=kind)

    def regularize(self, w, grad, l1, l2, out):
        n = _size(w)
        if grad is not None:
            self._sized(grad, n, w.dtype, "regularize grad")
        self._same(out, (1,), w.dtype, "regularize out")
        self._op("regularize", w, 1, n, a=w, y=grad, z=out, alpha=l1, beta=l2)

    def mul(self, a, b, y):
        self._same(b, a.shape, a.dtype, "mul b")
        self._same(y, a.shape, a.dtype, "mul y")
        m, n = a.shape
        self._op("mul", a, m, n, a=a, b=b, y=y)

    def mse(self, pred, target, rowscale, grad_scale, grad, loss):
        m, n = pred.shape
        self._same(target, pred.shape, pred.dtype, "mse target")
        self._same(loss, (m,), pred.dtype, "mse loss")
        if rowscale is not None:
            self._same(rowscale, (m,), pred.dtype, "mse rowscale")
        if grad is not None:
            self._same(grad, pred.shape, pred.dtype, "mse grad")
        self._op("mse", pred, m, n, a=pred, b=target, c=rowscale, y=grad, z=loss,
                 alpha=grad_scale)

    def xent(self, sparse, x, labels, rowscale, opts, grad, loss):
        m, n = x.shape
        if sparse:
            self._same(labels, (m,), np.int64, "xent labels")
        else:
            self._same(labels, x.shape, x.dtype, "xent targets")
        self._same(loss, (m,), x.dtype, "xent loss")
        if rowscale is not None:
            self._same(rowscale, (m,), x.dtype, "xent rowscale")
        if grad is not None:
            self._same(grad, x.shape, x.dtype, "xent grad")
        try:
            self._op("xent_sparse" if sparse else "xent_dense", x, m, n, a=x, b=labels,
                     c=rowscale, y=grad, z=loss, xent=tuple(opts))
        except KernelValueError as exc:
            if sparse and exc.status is Status.LABEL:
                raise ValueError(f"`y_true` contains a label outside the valid range [0, {n}) "
                                 f"for y_pred with {n} classes") from None
            raise

    def optimizer_step(self, args, params, grads, slots):
        self._cuda.optimizer_step(args, params, grads, slots)


def _size(arr):
    return int(np.prod(arr.shape))


class _View:
    """Another shape of a device array (same memory, kept alive by the view), or rows
    start:stop of one (offset=start * row elements)."""

    def __init__(self, base, shape, offset=None):
        shape = tuple(int(d) for d in shape)
        if offset is None and int(np.prod(shape)) != _size(base):
            raise ValueError(f"cannot view a device array of shape {base.shape} as {shape}")
        offset = offset or 0
        if offset < 0 or offset + int(np.prod(shape)) > _size(base):
            raise ValueError(f"rows outside the device array of shape {base.shape}")
        self.base = base.base if isinstance(base, _View) else base
        self._ptr = base._ptr + offset * base.dtype.itemsize
        self.shape, self.dtype = shape, base.dtype

    @property
    def size(self):
        return _size(self)

    @property
    def __cuda_array_interface__(self):
        from fastkeras import cuda

        return cuda.interface_of(self._ptr, self.shape, self.dtype)


class _Wrapped:
    """A validated DeviceView (fastkeras.cuda.device_array) as the plan's arrays look."""

    def __init__(self, view):
        self.base, self._ptr, self.shape, self.dtype = view, view.ptr, view.shape, view.dtype


class DeviceInput:
    """A model input that lives in GPU memory (CuPy, PyTorch, JAX, DeviceArray, ...):
    fit / evaluate / predict of a device model take its rows where they are (a slice is a
    pointer offset, shuffled rows one gather on the device); a CPU model copies it to the
    host once. rows: None (all), (start, stop), or an int64 array of row indices."""

    def __init__(self, view, keep, rows=None):
        self.view, self.keep, self.rows = view, keep, rows

    @classmethod
    def of(cls, x, name):
        from fastkeras import cuda

        view = cuda.device_array(x, name)
        if view.dtype.kind not in "fiub" or len(view.shape) < 1:
            raise ValueError(f"`{name}`: a device input must be a numeric array with a batch "
                             f"axis, got shape {view.shape} of {view.dtype}")
        return cls(view, x)

    def _range(self):
        return (0, self.view.shape[0]) if self.rows is None else self.rows

    @property
    def shape(self):
        n = len(self.rows) if isinstance(self.rows, np.ndarray) else \
            self._range()[1] - self._range()[0]
        return (n,) + tuple(self.view.shape[1:])

    @property
    def ndim(self):
        return len(self.view.shape)

    @property
    def dtype(self):
        return self.view.dtype

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        if isinstance(self.rows, np.ndarray):
            return DeviceInput(self.view, self.keep, self.rows[idx])
        start, stop = self._range()
        if isinstance(idx, slice):
            a, b, step = idx.indices(stop - start)
            if step == 1:
                return DeviceInput(self.view, self.keep, (start + a, start + max(a, b)))
        return DeviceInput(self.view, self.keep, np.arange(start, stop, dtype=np.int64)[idx])

    def to_host(self):
        """The rows as a NumPy array (one device-to-host copy of the whole array)."""
        from fastkeras import cuda

        full = np.empty(self.view.shape, self.view.dtype)
        if full.size:
            cuda._core().cuda_copy(self.view.ptr, full, True)
        if isinstance(self.rows, np.ndarray):
            return full[self.rows]
        start, stop = self._range()
        return full[start:stop]


def ops_for(device):
    """The primitives of a device name ("cuda")."""
    if device == "cuda":
        return CudaOps()
    raise ValueError(f"no device plan for device {device!r}")


# ------------------------------------------------------------------------------ planning
def _activation_kinds():
    from fastkeras.serving import _kinds

    return _kinds()


def _refuse(what, why):
    raise ValueError(f"device training runs chains of Dense, Conv1D/2D/3D, pooling, global "
                     f"pooling, BatchNormalization, activation, Dropout and Flatten "
                     f"layers; {what} {why}")


class Step:
    """One layer of the plan: kind ("dense", "conv", "pool", "act", "dropout", "flatten"),
    the layer, its activation (kind, alpha), the per-sample input and output shapes, and
    for conv / pool the geometry (its "n" filled per batch) and pool's max / average."""

    __slots__ = ("kind", "layer", "act", "alpha", "in_shape", "out_shape", "geom", "is_max")

    def __init__(self, kind, layer, in_shape, out_shape, act=_LINEAR, alpha=0.0, geom=None,
                 is_max=False):
        self.kind, self.layer, self.act, self.alpha = kind, layer, act, alpha
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.geom, self.is_max = geom, is_max

    @property
    def trainable(self):
        return self.kind in ("dense", "conv", "bn") and self.layer.trainable and \
            bool(self.weights())

    def weights(self):
        if self.kind == "bn":
            return [v for v in (self.layer.gamma, self.layer.beta) if v is not None]
        if self.kind not in ("dense", "conv"):
            return []
        return [self.layer.kernel] + ([self.layer.bias] if self.layer.bias is not None else [])


def penalty_of(reg):
    """(l1, l2) of an L1 / L2 / L1L2 regularizer (float32-rounded coefficients, as the CPU
    path uses them), None for no regularizer; anything else is not computed on the device."""
    from fastkeras import regularizers as R

    if reg is None:
        return None
    if isinstance(reg, R.L1L2) and type(reg).__call__ is R.L1L2.__call__:
        return float(np.float32(reg.l1 or 0.0)), float(np.float32(reg.l2 or 0.0))
    return False


def _check_weight_options(layer, name, weights=("kernel", "bias")):
    """Constraints are refused; regularizers must be L1 / L2 / L1L2."""
    for w in weights:
        if getattr(layer, f"{w}_constraint", None) is not None:
            _refuse(name, f"has a {w}_constraint")
        if penalty_of(getattr(layer, f"{w}_regularizer", None)) is False:
            _refuse(name, f"has a {w}_regularizer other than L1 / L2 / L1L2")


def _activation_of(layer, kinds, name):
    act = kinds.get(layer.activation)
    if act is None:
        _refuse(name, f"has the activation {layer.activation!r}")
    return act


def _spatial_step(layer, t, name, shape, kinds):
    """The Step of a convolution or pooling layer on per-sample input `shape`."""
    from fastkeras.layers import convolutional as C
    from fastkeras.ops import convolution as _conv

    rank = layer.rank
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        _refuse(name, "is channels_first (channels_last only)")
    if len(shape) != rank + 1:
        _refuse(name, f"gets per-sample inputs of shape {shape}, expected rank {rank + 1}")
    spatial, c = shape[:-1], shape[-1]
    if isinstance(layer, C._GlobalPool):
        out = (1,) * rank + (c,) if layer.keepdims else (c,)
        if layer.kind != "average":  # ties share the gradient, as TensorFlow's reduce_max
            return Step("gmax", layer, shape, out)
        geom, _ = _conv.pool_geometry(1, spatial, c, tuple(spatial), tuple(spatial), "valid")
        return Step("pool", layer, shape, out, geom=geom, is_max=False)
    if isinstance(layer, C._Pool):
        is_max = layer.kind == "max"
        if is_max and (rank == 3 or int(np.prod(layer.pool_size)) > 256):
            _refuse(name, "is a 3-D max pooling (or has over 256 taps), whose ties go to "
                          "every maximum in TensorFlow")
        geom, out = _conv.pool_geometry(1, spatial, c, layer.pool_size, layer.strides,
                                        layer.padding)
        return Step("pool", layer, shape, out + (c,), geom=geom, is_max=is_max)
    if t.__mro__[1] is not C._Conv or layer.transpose:
        _refuse(name, "is not one")
    _check_weight_options(layer, name)
    act = _activation_of(layer, kinds, name)
    geom, out = _conv.conv_geometry(1, spatial, c, layer.kernel.shape, layer.strides,
                                    layer.padding, layer.dilation_rate)
    return Step("conv", layer, shape, out + (layer.filters,), *act, geom=geom)


def _steps(model):
    """The model's Steps, or a ValueError naming the first layer the device cannot run."""
    from fastkeras import layers as L
    from fastkeras.layers import convolutional as C
    from fastkeras.serving import InferenceRunner

    seq = InferenceRunner._layer_sequence(model)
    if seq is None:
        raise ValueError("device training runs models that are one chain of layers (a "
                         "Sequential model, or a functional model with one input and one "
                         "output and no branches); this model is not one")
    kinds = _activation_kinds()
    if not model.inputs:
        raise ValueError("device training needs a built model with an Input shape")
    shape = tuple(model.inputs[0].shape)[1:]
    if any(d is None for d in shape):
        raise ValueError(f"device training needs a fixed input shape, got {shape}")
    steps = []
    dtype = np.dtype(model.dtype)
    for layer in seq:
        t, name = type(layer), f"layer {layer.name!r} ({type(layer).__name__})"
        if t is InputLayer or t is L.Identity:
            continue
        if np.dtype(layer.compute_dtype) != dtype:
            _refuse(name, f"computes in {np.dtype(layer.compute_dtype)}, the model in {dtype} "
                          "(one dtype throughout)")
        if getattr(layer, "activity_regularizer", None) is not None:
            _refuse(name, "has an activity_regularizer")
        if t is L.Flatten:
            if getattr(layer, "data_format", "channels_last") != "channels_last":
                _refuse(name, "is channels_first (channels_last only)")
            steps.append(Step("flatten", layer, shape, (int(np.prod(shape)),)))
        elif t is L.Dropout:
            if layer.noise_shape is not None:
                _refuse(name, "has a noise_shape")
            steps.append(Step("dropout", layer, shape, shape))
        elif t is L.Dense:
            if len(shape) != 1:
                _refuse(name, f"gets per-sample inputs of shape {shape}: flatten them first "
                              "(rank 2 only)")
            _check_weight_options(layer, name)
            act = _activation_of(layer, kinds, name)
            steps.append(Step("dense", layer, shape, (layer.kernel.shape[1],), *act))
        elif t is L.BatchNormalization:
            if list(layer._ax) != [len(shape)]:
                _refuse(name, "normalises another axis than the last (channels_last only)")
            _check_weight_options(layer, name, ("gamma", "beta"))
            steps.append(Step("bn", layer, shape, shape))
        elif isinstance(layer, (C._Conv, C._Pool, C._GlobalPool)):
            steps.append(_spatial_step(layer, t, name, shape, kinds))
        else:
            act = None
            if t is L.Activation:
                act = kinds.get(layer.activation)
            elif t is L.ReLU and layer.max_value is None and not layer.threshold and \
                    not layer.negative_slope:
                act = kinds[activations.relu]
            elif t is L.LeakyReLU:
                act = (kinds[activations.leaky_relu][0],
                       float(np.float32(layer.negative_slope)))
            elif t is L.ELU:
                act = (kinds[activations.elu][0], layer.alpha)
            elif t is L.Softmax and layer.axis in (-1, len(shape)):
                act = (_SOFTMAX, 0.0)
            if act is None:
                _refuse(name, "is not one")
            steps.append(Step("act", layer, shape, shape, *act))
        shape = steps[-1].out_shape
    if not any(s.kind in ("dense", "conv") for s in steps):
        raise ValueError("device training: the model has no Dense or convolution layer")
    if len(shape) != 1:
        raise ValueError(f"device training: the model's output has per-sample shape {shape}; "
                         "the device computes losses on (batch, features) outputs")
    return steps


def _loss_spec(loss, dtype):
    """(kind, xent options, reduction) of a compiled loss the device computes."""
    from fastkeras import losses as Ls

    reduction = getattr(loss, "reduction", "sum_over_batch_size")
    if reduction in (None, "none"):
        raise ValueError("device training needs a reduced loss, got reduction='none'")
    fn, kw = getattr(loss, "fn", None), dict(getattr(loss, "_fn_kwargs", {}) or {})
    sparse = isinstance(loss, Ls.SparseCategoricalCrossentropy) or \
        fn is Ls.sparse_categorical_crossentropy
    xent = sparse or isinstance(loss, Ls.CategoricalCrossentropy) or \
        fn is Ls.categorical_crossentropy
    if not xent and not (fn is Ls.mean_squared_error and not kw):
        raise ValueError(f"device training computes the sparse / categorical cross-entropy "
                         f"and the mean squared error; the loss "
                         f"{getattr(loss, 'name', loss)!r} is not one of them")
    if np.dtype(loss._compute_dtype()) != dtype:
        raise ValueError(f"device training: the loss computes in {loss._compute_dtype()}, "
                         f"the model in {dtype}; give the loss dtype={dtype.name!r}")
    if not xent:
        return "mse", None, reduction
    get = kw.get if fn is not None else (lambda k, d: getattr(loss, k, d))
    if get("ignore_class", None) is not None:
        raise ValueError("device training: ignore_class is not supported on the device")
    if get("axis", -1) not in (-1, 1):
        raise ValueError("device training: the cross-entropy's class axis must be the last one")
    eps = 1e-7  # keras.config.epsilon(), as the CPU kernels use it
    opts = (bool(get("from_logits", False)), float(get("label_smoothing", 0.0)), eps, None, 1.0)
    return ("xent_sparse" if sparse else "xent_dense"), opts, reduction


def _check_optimizer(opt):
    from fastkeras.optimizers.optimizer import Optimizer

    name = type(opt).__name__
    if opt._kind is None or type(opt).update_step is not Optimizer.update_step:
        raise ValueError(f"device training runs the built-in optimizers' fused steps; {name} "
                         "has a custom update_step")
    for attr in ("clipnorm", "global_clipnorm", "gradient_accumulation_steps",
                 "loss_scale_factor"):
        if getattr(opt, attr, None):
            raise ValueError(f"device training: the optimizer's {attr} is not supported on "
                             "the device")
    if opt.use_ema:
        raise ValueError("device training: the optimizer's use_ema is not supported on the "
                         "device")


# ------------------------------------------------------------------------------ the plan
class DevicePlan:
    """A model's forward / backward / optimizer step on a device (see the module doc)."""

    def __init__(self, model, ops):
        self.model, self.ops = model, ops
        self.steps = _steps(model)
        self.dtype = np.dtype(model.dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"device training computes in float32 or float64, the model "
                             f"in {self.dtype}")
        # the weights' L1 / L2 penalties: (Variable, l1, l2)
        self.penalties = [(w, *penalty_of(getattr(w, "_regularizer", None)))
                          for w in self._weights() if getattr(w, "_regularizer", None)]
        if len(model.losses) != len(self.penalties):
            raise ValueError("device training: the model has added losses (add_loss), which "
                             "the device does not compute")
        self.in_shape = self.steps[0].in_shape
        self._bufs = {}
        self._params = []   # (host Variable, device array) of every weight the plan uses
        self._dev = {}      # id(host Variable) -> device array
        self._loss = None
        self.dirty = False  # the device weights are newer than the host's
        self.lock = threading.RLock()  # one fit / evaluate / predict at a time

    @classmethod
    def for_device(cls, model, device):
        """The plan of `model` on `device`: the model checked first (a ValueError naming what
        the device cannot run), then the device's primitives (RuntimeError without one)."""
        plan = cls(model, None)
        plan.ops = ops_for(device)
        return plan

    # ---- weights
    def _weights(self):
        return [w for st in self.steps for w in st.weights()]

    def upload(self, slots=True):
        """Copy the weights (and, with slots, the optimizer's slots when compiled) to the
        device."""
        opt = getattr(self.model, "optimizer", None) if slots else None
        variables = list(self._weights())
        trainable = list(self.model.trainable_weights)
        if opt is not None and trainable:
            if not opt.built:
                opt.build(trainable)
            for v in trainable:
                if id(v) in opt._index:
                    variables += [s for s in opt._slot_variables(v) if s is not None]
        self._params = []
        for v in variables:
            arr = np.ascontiguousarray(v.numpy())
            dev = self._dev.get(id(v))
            if dev is None or tuple(dev.shape) != arr.shape or dev.dtype != arr.dtype:
                dev = self.ops.upload(arr)
                self._dev[id(v)] = dev
            else:
                self.ops.upload(arr, out=dev)
            self._params.append((v, dev))
        for i, st in enumerate(self.steps):  # BatchNormalization's moving statistics
            if st.kind == "bn":
                host = np.concatenate([st.layer.moving_mean.numpy().reshape(-1),
                                       st.layer.moving_variance.numpy().reshape(-1)])
                self.ops.upload(host.astype(self.dtype), out=self._buf(("moving", i),
                                                                        host.shape))
        self.dirty = False

    def download(self):
        """Refresh the host Variables (weights and slots) from the device."""
        for v, dev in self._params:
            v.assign(self.ops.download(dev).reshape(v.shape))
        for i, st in enumerate(self.steps):
            if st.kind == "bn":
                mv = self.ops.download(self._bufs[("moving", i)])
                n = mv.size // 2
                st.layer.moving_mean.assign(mv[:n].reshape(st.layer.moving_mean.shape))
                st.layer.moving_variance.assign(mv[n:].reshape(st.layer.moving_variance.shape))
        self.dirty = False

    # ---- buffers, reused across batches of one size
    def _buf(self, key, shape, dtype=None):
        """The work buffer `key` with this shape: a smaller batch (fewer rows) gets the first
        rows of the buffer a larger one allocated, so an epoch's short last batch allocates
        nothing (device allocations synchronise the device)."""
        dtype, shape = np.dtype(dtype or self.dtype), tuple(shape)
        b = self._bufs.get(key)
        if b is not None and b.dtype == dtype and tuple(b.shape) == shape:
            return b
        if b is not None and b.dtype == dtype and len(shape) == len(b.shape) and shape and \
                tuple(b.shape[1:]) == shape[1:] and b.shape[0] >= shape[0]:
            return self.ops.rows(b, shape[0])
        b = self.ops.empty(shape, dtype)
        self._bufs[key] = b
        return b

    def _rows(self, arr):
        """A (rows, last axis) view of a device tensor, for the element-wise primitives."""
        return self.ops.view(arr, (int(np.prod(arr.shape[:-1])), arr.shape[-1]))

    # ---- data
    def _x(self, x):
        if isinstance(x, DeviceInput):
            return self._device_x(x)
        if isinstance(x, (list, tuple, dict)):
            raise ValueError("device training: the model takes one input array")
        x = np.asarray(x)
        self._check_batch(x.shape)
        shape = (len(x),) + self.in_shape
        return self.ops.upload(np.ascontiguousarray(x, dtype=self.dtype),
                               out=self._buf("x", shape))

    def _check_batch(self, shape):
        if not shape or shape[0] == 0:
            raise ValueError("`x` is an empty batch")
        if tuple(shape[1:]) != self.in_shape:
            raise ValueError(f"`x` has per-sample shape {tuple(shape[1:])}, the model expects "
                             f"{self.in_shape}")

    def _device_x(self, x):
        """A batch already in GPU memory: rows in place, or gathered on the device."""
        if not hasattr(self.ops, "gather"):
            raise ValueError(f"a device array input needs a GPU plan, not {self.ops.name}")
        if x.dtype != self.dtype:
            raise ValueError(f"`x` on the device holds {x.dtype}, the model computes in "
                             f"{self.dtype}: convert it on the device first")
        self._check_batch(x.shape)
        n = x.shape[0]
        if not isinstance(x.rows, np.ndarray):
            start, stop = x._range()
            return self.ops.rows_of(x, start, stop)
        idx = np.ascontiguousarray(x.rows, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= x.view.shape[0]):
            raise ValueError("row indices outside the device input")
        idx_d = self.ops.upload(idx, out=self._buf("idx", (n,), np.int64))
        out = self._buf("x", (n,) + self.in_shape)
        self.ops.gather(x, idx_d, self.ops.view(out, (n, int(np.prod(self.in_shape)))))
        return out

    @staticmethod
    def _geom(st, n):
        g = dict(st.geom)
        g["n"] = n
        return g

    # ---- forward / backward
    def forward(self, xd, training):
        """Per step (input, pre-activation, output, extra); the last output is the model's."""
        trace, cur = [], xd
        n = xd.shape[0]
        for i, st in enumerate(self.steps):
            out_shape = (n,) + st.out_shape
            extra, z = None, None
            if st.kind == "flatten":
                out = self.ops.view(cur, out_shape)
            elif st.kind == "dropout":
                layer = st.layer
                out = cur
                if training and layer.rate > 0:
                    keep = (layer._gen.random(cur.shape) >= layer.rate).astype(self.dtype)
                    if layer.rate < 1:  # as Dropout.call: zeros at rate 1, else / (1 - rate)
                        keep /= self.dtype.type(1 - layer.rate)
                    extra = self.ops.upload(keep, out=self._buf(("mask", i), cur.shape))
                    out = self._buf(("y", i), cur.shape)
                    self.ops.mul(self._rows(cur), self._rows(extra), self._rows(out))
            elif st.kind == "bn":
                layer, out = st.layer, self._buf(("y", i), out_shape)
                width = st.in_shape[-1]
                gamma = self._dev[id(layer.gamma)] if layer.gamma is not None else None
                beta = self._dev[id(layer.beta)] if layer.beta is not None else None
                moving = self._bufs[("moving", i)]
                if training and layer.trainable:  # the batch's statistics; moving ones updated
                    extra = self._buf(("bnstats", i), (2 * width,))
                    self.ops.batchnorm(0, self._rows(cur), gamma, beta, None, self._rows(out),
                                       extra, moving, layer.epsilon, layer.momentum)
                else:
                    self.ops.batchnorm(1, self._rows(cur), gamma, beta, moving,
                                       self._rows(out), None, None, layer.epsilon,
                                       layer.momentum)
            elif st.kind == "gmax":
                out = self._buf(("y", i), out_shape)
                self.ops.global_max(0, cur, None, None, out)
            elif st.kind == "pool":
                out = self._buf(("y", i), out_shape)
                if st.is_max:
                    extra = self._buf(("argmax", i), (int(np.prod(out_shape)),), np.uint8)
                self.ops.pool(0 if st.is_max else 2, self._geom(st, n), cur, out, extra)
            else:
                layer = st.layer
                bias = getattr(layer, "bias", None) if st.kind != "act" else None
                b = self._dev[id(bias)] if bias is not None else None
                z = self._buf(("z", i), out_shape)
                if st.kind == "dense":
                    self.ops.gemm(cur, self._dev[id(layer.kernel)], z)
                elif st.kind == "conv":
                    self.ops.conv(0, self._geom(st, n), cur, self._dev[id(layer.kernel)], b, z)
                    b = None  # added by the convolution
                else:
                    z = cur
                out = z if st.act == _LINEAR else self._buf(("y", i), out_shape)
                self.ops.bias_act(self._rows(z), b, self._rows(out), st.act, st.alpha)
            trace.append((cur, z, out, extra))
            cur = out
        return trace

    def backward(self, trace, g):
        """The weights' gradients {id(Variable): device array} from the output gradient."""
        grads = {}
        n = g.shape[0]
        trained = [i for i, st in enumerate(self.steps) if st.trainable]
        if not trained:
            return grads
        first = trained[0]  # nothing before this step needs a gradient
        for i in range(len(self.steps) - 1, first - 1, -1):
            st = self.steps[i]
            inp, z, out, extra = trace[i]
            in_shape = (n,) + st.in_shape
            if st.kind == "flatten":
                g = self.ops.view(g, in_shape)
                continue
            if st.kind == "dropout":
                if extra is not None:
                    gd = self._buf(("g", i), g.shape)
                    self.ops.mul(self._rows(g), self._rows(extra), self._rows(gd))
                    g = gd
                continue
            if st.kind == "bn":
                layer = st.layer
                gx = self._buf(("gx", i), in_shape)
                gamma = self._dev[id(layer.gamma)] if layer.gamma is not None else None
                if extra is None:  # frozen: the moving statistics, an affine map
                    self.ops.batchnorm(3, None, gamma, self._rows(g), self._bufs[("moving", i)],
                                       self._rows(gx), None, None, layer.epsilon,
                                       layer.momentum)
                else:
                    width = st.in_shape[-1]
                    dparams = self._buf(("dbn", i), (2 * width,))
                    self.ops.batchnorm(2, self._rows(inp), gamma, self._rows(g), extra,
                                       self._rows(gx), dparams, None, layer.epsilon,
                                       layer.momentum)
                    if layer.gamma is not None:
                        grads[id(layer.gamma)] = self.ops.part(dparams, 0, width)
                    if layer.beta is not None:
                        grads[id(layer.beta)] = self.ops.part(dparams, width, width)
                g = gx
                continue
            if st.kind == "gmax":
                gx = self._buf(("gx", i), in_shape)
                self.ops.global_max(1, inp, out, g, gx)
                g = gx
                continue
            if st.kind == "pool":
                gx = self._buf(("gx", i), in_shape)
                self.ops.pool(1 if st.is_max else 3, self._geom(st, n), g, gx, extra)
                g = gx
                continue
            if st.act != _LINEAR:
                gz = self._buf(("gz", i), g.shape)
                self.ops.act_bwd(st.act, st.alpha, self._rows(z), self._rows(out),
                                 self._rows(g), self._rows(gz))
                g = gz
            if st.kind == "act":
                continue
            layer = st.layer
            w = self._dev[id(layer.kernel)]
            if layer.trainable:
                dw = self._buf(("dw", i), layer.kernel.shape)
                db = self._buf(("db", i), layer.bias.shape) if layer.bias is not None else None
                if st.kind == "dense":
                    self.ops.gemm(inp, g, dw, ta=True)
                    if db is not None:
                        self.ops.col_sum(g, db)
                else:
                    self.ops.conv(2, self._geom(st, n), inp, g, None, dw, db)
                grads[id(layer.kernel)] = dw
                if db is not None:
                    grads[id(layer.bias)] = db
            if i > first:
                gx = self._buf(("gx", i), in_shape)
                if st.kind == "dense":
                    self.ops.gemm(g, w, gx, tb=True)
                else:
                    self.ops.conv(1, self._geom(st, n), g, w, None, gx)
                g = gx
        return grads

    # ---- loss
    def _prepare_loss(self, y, sw):
        m = self.model
        out = m._compiled_outputs[0]
        loss, weight = out.loss, out.weight
        if loss is None:
            raise ValueError("No loss to minimise: compile() the model with a `loss`")
        if self._loss is None or self._loss[0] is not loss:
            self._loss = (loss,) + _loss_spec(loss, self.dtype)
        _, kind, opts, reduction = self._loss
        out_w = self._out_width()
        y = np.asarray(y)
        n = y.shape[0] if y.ndim else 0
        if kind == "xent_sparse":
            from fastkeras.ops.crossentropy_ops import _labels

            lab = _labels(y, "y_true").reshape(-1)
            if lab.shape[0] != n or (y.ndim > 1 and y.size != n):
                raise ValueError(f"`y_true` must hold one integer label per sample, got shape "
                                 f"{y.shape}")
            yd = self.ops.upload(lab, out=self._buf("y", (n,), np.int64))
        else:
            t = np.ascontiguousarray(y, dtype=self.dtype)
            if t.ndim == 1 and out_w == 1:
                t = t.reshape(n, 1)
            if t.shape != (n, out_w):
                raise ValueError(f"`y_true` has shape {y.shape}, the model's output "
                                 f"(n, {out_w})")
            yd = self.ops.upload(t, out=self._buf("y", (n, out_w)))
        row_w = None
        if sw is not None:
            row_w = np.asarray(sw, np.float64).reshape(-1)
            if row_w.shape[0] != n:
                raise ValueError(f"`sample_weight` must have one entry per sample ({n})")
        if reduction == "sum":
            divisor = 1.0
        elif reduction == "mean_with_sample_weight" and row_w is not None:
            divisor = float(row_w.sum())
        else:
            divisor = float(n)
        scale = (0.0 if divisor == 0.0 else 1.0 / divisor) * weight
        rs = None if row_w is None else self.ops.upload(row_w.astype(self.dtype),
                                                        out=self._buf("sw", (n,)))
        return kind, opts, yd, rs, row_w, scale

    def _out_width(self):
        return self.steps[-1].out_shape[0]

    def _loss_and_grad(self, out, y, sw, want_grad):
        kind, opts, yd, rs, row_w, scale = self._prepare_loss(y, sw)
        n = out.shape[0]
        loss = self._buf("loss", (n,))
        grad = self._buf("gout", out.shape) if want_grad else None
        if kind == "mse":
            self.ops.mse(out, yd, rs, scale, grad, loss)
        else:
            o = opts[:4] + (scale,)
            self.ops.xent(kind == "xent_sparse", out, yd, rs, o, grad, loss)
        lv = self.ops.download(loss).astype(np.float64)
        total = float(lv.sum() if row_w is None else np.dot(lv, row_w)) * scale
        return np.asarray(total, dtype=self.dtype), grad

    def _penalties(self, grads):
        """The weights' L1 / L2 penalties (regularizers): their gradients added where grads
        holds the weight, their total value returned (one scalar per weight comes back)."""
        total = 0.0
        for i, (w, l1, l2) in enumerate(self.penalties):
            out = self._buf(("penalty", i), (1,))
            g = grads.get(id(w)) if grads is not None else None
            self.ops.regularize(self._dev[id(w)], g, l1, l2, out)
            total += float(self.ops.download(out)[0])
        return total

    # ---- steps
    def _ensure_compiled(self, y, n):
        m = self.model
        if m._compiled_outputs is None:
            m._build_compiled(y, np.empty((n, self._out_width()), self.dtype))

    def train_step(self, data):
        x, y, sw = data
        m = self.model
        xd = self._x(x)
        self._ensure_compiled(y, xd.shape[0])
        trace = self.forward(xd, training=True)
        out = trace[-1][2]
        total, g = self._loss_and_grad(out, y, sw, want_grad=True)
        grads = self.backward(trace, g)
        if self.penalties:
            total = np.asarray(total + self.dtype.type(self._penalties(grads)), self.dtype)
        self.dirty = True
        self._apply(grads)
        y_pred = self.ops.download(out)
        m._update_metrics(y, y_pred, sw, total, [total], xd.shape[0])
        return m._logs()

    def _apply(self, grads):
        opt = self.model.optimizer
        variables = [v for v in self.model.trainable_weights if id(v) in grads]
        if not variables:
            raise ValueError("No gradients: the loss does not depend on any trainable weight")
        lr = opt._current_lr()
        for args, idx in opt._fused_groups(variables, lr):
            vs = [variables[i] for i in idx]
            slots = [[None if s is None else self._dev[id(s)]
                      for s in (opt._slot_variables(v)[k] for v in vs)] for k in range(3)]
            self.ops.optimizer_step(args, [self._dev[id(v)] for v in vs],
                                    [grads[id(v)] for v in vs], slots)
        opt._iterations.assign(opt._iterations.numpy() + 1)

    def test_step(self, data):
        x, y, sw = data
        m = self.model
        xd = self._x(x)
        self._ensure_compiled(y, xd.shape[0])
        out = self.forward(xd, training=False)[-1][2]
        total, _ = self._loss_and_grad(out, y, sw, want_grad=False)
        if self.penalties:
            total = np.asarray(total + self.dtype.type(self._penalties(None)), self.dtype)
        m._update_metrics(y, self.ops.download(out), sw, total, [total], xd.shape[0])
        return m._logs()

    def predict_step(self, x):
        out = self.forward(self._x(x), training=False)[-1][2]
        return self.ops.download(out)

    def check_training(self):
        """Refuse, before anything runs, what the device cannot train."""
        m = self.model
        _check_optimizer(m.optimizer)
        outs = m._compiled_outputs
        loss = outs[0].loss if outs else None
        if loss is None:
            from fastkeras.models.compile_utils import resolve_loss

            spec = m._compile_args["loss"]
            if isinstance(spec, (list, tuple, dict)):
                raise ValueError("device training: the model has one output; give one loss")
            loss = resolve_loss(spec)
        if loss is None:
            raise ValueError("No loss to minimise: compile() the model with a `loss`")
        _loss_spec(loss, self.dtype)
