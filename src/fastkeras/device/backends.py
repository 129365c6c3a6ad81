"""The plan's primitives, one class per backend: ``HostOps`` (NumPy arrays, the CPU kernels)
and ``CudaOps`` (device buffers, fastkeras/cuda/device_ops.h). Both take the same arguments;
the passes of the multi-pass primitives are named by the enums below (their values are
device_ops.h's `kind` numbers)."""
from enum import IntEnum

import numpy as np

from fastkeras.device.arrays import DeviceView, WrappedView, size_of
from fastkeras.device.steps import LINEAR, SOFTMAX
from fastkeras.kernel_errors import KernelValueError, Status

__all__ = ["HostOps", "CudaOps", "ops_for", "ConvPass", "PoolPass", "BatchNormPass",
           "GlobalMaxPass"]

_LINEAR, _SOFTMAX = LINEAR.code, SOFTMAX.code


class ConvPass(IntEnum):
    FORWARD = 0
    BACKWARD_DATA = 1
    BACKWARD_FILTER = 2


class PoolPass(IntEnum):
    MAX_FORWARD = 0
    MAX_BACKWARD = 1
    AVERAGE_FORWARD = 2
    AVERAGE_BACKWARD = 3


class BatchNormPass(IntEnum):
    TRAINING_FORWARD = 0   # the batch's statistics, moving ones updated
    INFERENCE_FORWARD = 1  # the moving statistics
    TRAINING_BACKWARD = 2
    FROZEN_BACKWARD = 3    # the affine map of the moving statistics


class GlobalMaxPass(IntEnum):
    FORWARD = 0
    BACKWARD = 1


class HostOps:
    """The plan's primitives on NumPy arrays (CPU kernels): the reference for CudaOps."""

    name = "cpu"

    def __init__(self, shares_host_memory=True):
        # True: the plan works on the host Variables' own buffers (the compiled CPU path);
        # False: it keeps copies as a device plan does (the GPU plan's reference on the host)
        self.shares_host_memory = bool(shares_host_memory)

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
        if which == ConvPass.FORWARD:
            _kc.forward(geom, f(a), f(b), bias, f(y), nt)
        elif which == ConvPass.BACKWARD_DATA:
            _kc.backward_data(geom, f(a), f(b), f(y), nt)
        else:
            _kc.backward_filter(geom, f(a), f(b), f(y), db, nt)

    def pool(self, which, geom, a, y, argmax):
        from fastkeras import config
        from fastkeras._kernels import pool as _kp

        nt, f = config.get_num_threads(), (lambda t: t.reshape(-1))
        if which == PoolPass.MAX_FORWARD:
            _kp.max_forward(geom, f(a), f(y), argmax, nt)
        elif which == PoolPass.MAX_BACKWARD:
            _kp.max_backward(geom, f(a), argmax, f(y), nt)
        elif which == PoolPass.AVERAGE_FORWARD:
            _kp.avg_forward(geom, f(a), f(y), nt)
        else:
            _kp.avg_backward(geom, f(a), f(y), nt)

    def gemm(self, a, b, y, ta=False, tb=False, beta=0.0):
        from fastkeras.ops.products import matmul_array

        a, b = a.T if ta else a, b.T if tb else b
        if beta:
            prod = matmul_array(a, b, "device plan gemm")
            y *= y.dtype.type(beta)
            y += prod
        else:  # straight into the plan's buffer (a temporary only when y is a strided view)
            matmul_array(a, b, "device plan gemm", out=y)

    def bias_act(self, z, b, y, kind, alpha):
        from fastkeras import config
        from fastkeras._kernels import elementwise as _ke

        if b is not None:
            z += b
        if kind == _SOFTMAX:
            from fastkeras.ops.activation_ops import softmax_values

            y[...] = softmax_values(z, (1,))
        elif kind == _LINEAR:
            if y is not z:
                y[...] = z
        else:
            _ke.act_forward(kind, z.reshape(-1), y.reshape(-1), alpha, config.get_num_threads())

    def act_bwd(self, kind, alpha, x, fy, g, dx):
        from fastkeras import config
        from fastkeras._kernels import elementwise as _ke

        if kind == _SOFTMAX:
            from fastkeras.ops.activation_ops import softmax_gradient

            dx[...] = softmax_gradient(fy, g, (1,))
        elif kind == _LINEAR:
            dx[...] = g
        else:
            _ke.act_backward(kind, x.reshape(-1), fy.reshape(-1), g.reshape(-1),
                             dx.reshape(-1), alpha, config.get_num_threads())

    def col_sum(self, a, y):
        np.add.reduce(a, axis=0, out=y)

    def part(self, a, start, count):
        return a.reshape(-1)[start:start + count]

    def batchnorm(self, kind, a, b, c, d, y, z, w, eps, momentum):
        """device_ops.h's FK_DOP_BATCHNORM on (m, n) arrays, with the tape's implementation
        (fastkeras.ops.normalization_ops)."""
        from fastkeras.ops import normalization_ops as _bn

        n = y.shape[1]
        t = y.dtype.type
        if kind == BatchNormPass.TRAINING_FORWARD:
            z[:n], z[n:] = _bn.batch_statistics(a)
            w[...] = w * t(momentum) + z * t(1.0 - momentum)
        if kind in (BatchNormPass.TRAINING_FORWARD, BatchNormPass.INFERENCE_FORWARD):
            stats = z if kind == BatchNormPass.TRAINING_FORWARD else d
            _bn.normalize(a, stats[:n], stats[n:], b, c, eps, out=y)
        elif kind == BatchNormPass.FROZEN_BACKWARD:  # an affine map of the moving statistics
            inv = t(1) / np.sqrt(d[n:] + t(eps))
            y[...] = c * (inv * b if b is not None else inv)
        else:
            dx, z[:n], z[n:] = _bn.normalize_backward(a, c, d[:n], d[n:], b, eps)
            y[...] = dx

    def global_max(self, kind, x, ymax, g, out):
        """FK_DOP_GLOBAL_MAX on x (m, k, n): the max over k; its gradient shared by ties."""
        m, n = x.shape[0], x.shape[-1]
        x3 = x.reshape(m, -1, n)
        if kind == GlobalMaxPass.FORWARD:
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
    shares_host_memory = False

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
        return DeviceView(a, shape)

    def rows(self, a, n):
        return DeviceView(a, (n,) + tuple(a.shape[1:]), offset=0)

    def rows_of(self, inp, start, stop):
        """Rows start:stop of a DeviceInput, in place (no copy)."""
        base = WrappedView(inp.view)
        row = int(np.prod(inp.view.shape[1:]))
        return DeviceView(base, (stop - start,) + tuple(inp.view.shape[1:]), offset=start * row)

    def gather(self, inp, idx, y):
        """y = the rows idx (a device int64 array) of a DeviceInput."""
        base = WrappedView(inp.view)
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
        if arr is not None and (size_of(arr) != size or arr.dtype != np.dtype(dtype)):
            raise ValueError(f"{what}: device buffer of {size_of(arr)} {arr.dtype}, expected "
                             f"{size} {np.dtype(dtype)}")

    def conv(self, which, geom, a, b, bias, y, db=None):
        nx, ny, nw = self._conv_sizes(geom)
        dt = a.dtype
        sizes = {0: (nx, nw, ny), 1: (ny, nw, nx), 2: (nx, ny, nw)}[which]
        for arr, size, what in zip((a, b, y), sizes, ("conv a", "conv b", "conv y")):
            self._sized(arr, size, dt, what)
        self._sized(bias if which == ConvPass.FORWARD else db, geom["cout"], dt, "conv bias")
        self._op("conv", a, 0, 0, a=a, b=b, c=bias if which == ConvPass.FORWARD else None, y=y,
                 z=db if which == ConvPass.BACKWARD_FILTER else None, kind=which, conv=geom)

    def pool(self, which, geom, a, y, argmax):
        g = geom
        nx = g["n"] * int(np.prod(g["in"])) * g["c"]
        ny = g["n"] * int(np.prod(g["out"])) * g["c"]
        fwd = which in (PoolPass.MAX_FORWARD, PoolPass.AVERAGE_FORWARD)
        self._sized(a, nx if fwd else ny, a.dtype, "pool a")
        self._sized(y, ny if fwd else nx, a.dtype, "pool y")
        if which in (PoolPass.MAX_FORWARD, PoolPass.MAX_BACKWARD):
            self._sized(argmax, ny, np.uint8, "pool argmax")
        self._op("pool", a, 0, 0, a=a, y=y, b=argmax if which == PoolPass.MAX_BACKWARD else None,
                 z=argmax if which == PoolPass.MAX_FORWARD else None, kind=which, pool=geom)

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
        return DeviceView(a, (count,), offset=start)

    def batchnorm(self, kind, a, b, c, d, y, z, w, eps, momentum):
        m, n = y.shape
        dt = y.dtype
        for arr, size, what in ((a, m * n, "x"), (c, n if kind in (BatchNormPass.TRAINING_FORWARD, BatchNormPass.INFERENCE_FORWARD) else m * n, "beta / dy"),
                                (b, n, "gamma"), (d, 2 * n, "stats"), (z, 2 * n, "stats out"),
                                (w, 2 * n, "moving stats")):
            self._sized(arr, size, dt, f"batchnorm {what}")
        self._op("batchnorm", y, m, n, a=a, b=b, c=c, d=d, y=y, z=z, w=w, kind=kind,
                 alpha=eps, beta=momentum)

    def global_max(self, kind, x, ymax, g, out):
        m, n = x.shape[0], x.shape[-1]
        k = size_of(x) // max(m * n, 1)
        self._sized(ymax, m * n, x.dtype, "global_max max")
        self._sized(g, m * n, x.dtype, "global_max gradient")
        self._sized(out, m * n if kind == GlobalMaxPass.FORWARD else m * k * n, x.dtype, "global_max out")
        self._op("global_max", x, m, n, k, a=x, b=ymax, c=g, y=out, kind=kind)

    def regularize(self, w, grad, l1, l2, out):
        n = size_of(w)
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


def ops_for(device):
    """The primitives of a device name ("cuda")."""
    if device == "cuda":
        return CudaOps()
    raise ValueError(f"no device plan for device {device!r}")

