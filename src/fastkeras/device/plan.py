"""The training plan: a lowered model's forward pass, loss and gradient, backward pass and
fused optimizer step, run step by step on one backend.

``DevicePlan(model, HostOps())`` is the compiled CPU path of fit / evaluate / predict /
train_on_batch (the default on the CPU for every model ``lower`` covers: see
``fastkeras.models.training``); ``DevicePlan.for_device(model, "cuda")`` runs the same steps
on the GPU (``compile(..., device="cuda")``), with the weights, the optimizer's slots and
BatchNormalization's moving statistics resident there: copied to the device when a call
begins, back to the host Variables at the end of every epoch and when the call ends. Each
batch is copied in once (an x already in GPU memory is used where it is); only the per-row
losses and the predictions (for the metrics) come back.

On the CPU the plan works on the host Variables' own buffers (``HostOps.shares_host_memory``):
nothing is copied, and callbacks see and set the weights between any two batches.
"""
import math
import threading
from dataclasses import dataclass
from enum import Enum

import numpy as np

from fastkeras.device.arrays import DeviceInput
from fastkeras.device.backends import (BatchNormPass, ConvPass, GlobalMaxPass, PoolPass,
                                       ops_for)
from fastkeras.device.steps import NotLowerable, PoolMode, StepKind, lower

__all__ = ["DevicePlan", "LossKind", "LossSpec", "penalty_of", "check_optimizer"]


class LossKind(Enum):
    MSE = "mse"
    SPARSE_CROSSENTROPY = "xent_sparse"
    CROSSENTROPY = "xent_dense"


@dataclass(frozen=True)
class LossSpec:
    """A compiled loss the plan computes: its kind, the cross-entropy's options
    (from_logits, label_smoothing, epsilon, ignore_class, grad_scale) and the reduction."""
    kind: LossKind
    xent_options: tuple
    reduction: str


@dataclass
class Trace:
    """What the forward pass of one step keeps for the backward pass: its input, its
    pre-activation (dense / conv / activation steps), its output, and the step's extra
    (the dropout mask, max pooling's argmax, batch normalization's batch statistics)."""
    inp: object
    z: object
    out: object
    extra: object


@dataclass
class LossBatch:
    """One batch's loss inputs on the backend: the targets, the per-row weights (on the
    backend, and as float64 on the host), and the scale of the reduction."""
    spec: LossSpec
    targets: object
    rowscale: object
    row_weights: object
    scale: float


def _warn_logits(kind):
    from fastkeras.losses.crossentropy import warn_not_logits

    name = "sparse_categorical_crossentropy" if kind is LossKind.SPARSE_CROSSENTROPY else \
        "categorical_crossentropy"
    warn_not_logits(name, "softmax", stacklevel=5)


def _refuse(why):
    raise ValueError(f"the plan runs chains of Dense, Conv1D/2D/3D, pooling, global pooling, "
                     f"BatchNormalization, activation, Dropout and Flatten layers; {why}")


def training_steps(model):
    """The model's steps when the plan can train every one, else a ValueError naming the
    first layer it cannot."""
    try:
        steps = lower(model)
    except NotLowerable as exc:
        _refuse(str(exc))
    for st in steps:
        if st.training_refusal:
            _refuse(st.training_refusal)
    if not any(s.kind in (StepKind.DENSE, StepKind.CONV) for s in steps):
        raise ValueError("the plan: the model has no Dense or convolution layer")
    shape = steps[-1].out_shape
    if len(shape) != 1:
        raise ValueError(f"the plan: the model's output has per-sample shape {shape}; the "
                         "plan computes losses on (batch, features) outputs")
    return steps


def penalty_of(reg):
    """(l1, l2) of an L1 / L2 / L1L2 regularizer (float32-rounded coefficients, as the CPU
    path uses them), None for no regularizer; anything else is not computed on the device."""
    from fastkeras import regularizers as R

    if reg is None:
        return None
    if isinstance(reg, R.L1L2) and type(reg).__call__ is R.L1L2.__call__:
        return float(np.float32(reg.l1 or 0.0)), float(np.float32(reg.l2 or 0.0))
    return False


def loss_spec(loss, dtype):
    """(kind, xent options, reduction) of a compiled loss the device computes."""
    from fastkeras import losses as Ls

    reduction = getattr(loss, "reduction", "sum_over_batch_size")
    if reduction in (None, "none"):
        raise ValueError("the plan needs a reduced loss, got reduction='none'")
    fn, kw = getattr(loss, "fn", None), dict(getattr(loss, "fn_kwargs", {}) or {})
    sparse = isinstance(loss, Ls.SparseCategoricalCrossentropy) or \
        fn is Ls.sparse_categorical_crossentropy
    xent = sparse or isinstance(loss, Ls.CategoricalCrossentropy) or \
        fn is Ls.categorical_crossentropy
    if not xent and not (fn is Ls.mean_squared_error and not kw):
        raise ValueError(f"the plan computes the sparse / categorical cross-entropy "
                         f"and the mean squared error; the loss "
                         f"{getattr(loss, 'name', loss)!r} is not one of them")
    if np.dtype(loss.dtype) != dtype:
        raise ValueError(f"the plan: the loss computes in {loss.dtype}, "
                         f"the model in {dtype}; give the loss dtype={dtype.name!r}")
    if not xent:
        return LossSpec(LossKind.MSE, None, reduction)
    get = kw.get if fn is not None else (lambda k, d: getattr(loss, k, d))
    if get("ignore_class", None) is not None:
        raise ValueError("the plan: ignore_class is not supported by the plan")
    if get("axis", -1) not in (-1, 1):
        raise ValueError("the plan: the cross-entropy's class axis must be the last one")
    eps = 1e-7  # keras.config.epsilon(), as the CPU kernels use it
    opts = (bool(get("from_logits", False)), float(get("label_smoothing", 0.0)), eps, None, 1.0)
    return LossSpec(LossKind.SPARSE_CROSSENTROPY if sparse else LossKind.CROSSENTROPY, opts,
                    reduction)


def check_optimizer(opt):
    name = type(opt).__name__
    if not opt.runs_fused_steps:
        raise ValueError(f"the plan runs the built-in optimizers' fused steps; {name} "
                         "has a custom update_step")
    for attr in ("clipnorm", "global_clipnorm", "gradient_accumulation_steps",
                 "loss_scale_factor"):
        if getattr(opt, attr, None):
            raise ValueError(f"the plan: the optimizer's {attr} is not supported by the plan")
    if opt.use_ema:
        raise ValueError("the plan: the optimizer's use_ema is not supported by the plan")



class DevicePlan:
    """A model's forward / backward / optimizer step on a device (see the module doc)."""

    def __init__(self, model, ops):
        self.model, self.ops = model, ops
        self.steps = training_steps(model)
        self.dtype = np.dtype(model.dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"the plan computes in float32 or float64, the model "
                             f"in {self.dtype}")
        # the weights' L1 / L2 penalties: (Variable, l1, l2)
        self.penalties = [(w, *penalty_of(w.regularizer))
                          for w in self._weights() if w.regularizer is not None]
        if len(model.losses) != len(self.penalties):
            raise ValueError("the plan: the model has added losses (add_loss), which "
                             "the device does not compute")
        self.in_shape = self.steps[0].in_shape
        # the output is a softmax that keeps its logits: the cross-entropies take the
        # logits (the last step's pre-activation), as on the tape, and their gradient
        # enters the backward pass below the softmax
        self.logits_output = self.steps[-1].activation.keeps_logits
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

    def _variables(self, slots):
        """The Variables the plan reads and writes: the steps' weights and, with slots, the
        optimizer's slots of the trainable ones (the optimizer built if it is not yet)."""
        opt = getattr(self.model, "optimizer", None) if slots else None
        variables = list(self._weights())
        trainable = list(self.model.trainable_weights)
        if opt is not None and trainable:
            if not opt.built:
                opt.build(trainable)
            for v in trainable:
                if opt.tracks(v):
                    variables += [s for s in opt.slot_variables(v) if s is not None]
        return variables

    def upload(self, slots=True):
        """Copy the weights (and, with slots, the optimizer's slots when compiled) to the
        device; on the host, bind the plan to the Variables' own buffers."""
        variables = self._variables(slots)
        self._params = []
        for v in variables:
            if self.ops.shares_host_memory:
                self._params.append((v, None))
                continue
            arr = np.ascontiguousarray(v.numpy())
            dev = self._dev.get(id(v))
            if dev is None or tuple(dev.shape) != arr.shape or dev.dtype != arr.dtype:
                dev = self.ops.upload(arr)
                self._dev[id(v)] = dev
            else:
                self.ops.upload(arr, out=dev)
            self._params.append((v, dev))
        self._bind()
        self.dirty = False

    def _bind(self):
        """On the host: the plan's weights are the Variables' current buffers (an assign
        replaces a Variable's buffer, so this runs before every batch), and the moving
        statistics are read. On a device: the moving statistics are copied in."""
        if self.ops.shares_host_memory:
            for v, _ in self._params:
                self._dev[id(v)] = v.buffer
        for i, st in enumerate(self.steps):  # BatchNormalization's moving statistics
            if st.kind is StepKind.BATCHNORM:
                host = np.concatenate([st.layer.moving_mean.numpy().reshape(-1),
                                       st.layer.moving_variance.numpy().reshape(-1)])
                self.ops.upload(host.astype(self.dtype), out=self._buf(("moving", i),
                                                                        host.shape))

    def download(self):
        """Refresh the host Variables (weights and slots) from the device (on the host,
        only the moving statistics: the weights are the Variables' own buffers)."""
        if not self.ops.shares_host_memory:
            for v, dev in self._params:
                v.assign(self.ops.download(dev).reshape(v.shape))
        self._store_moving()
        self.dirty = False

    def _store_moving(self):
        for i, st in enumerate(self.steps):
            if st.kind is StepKind.BATCHNORM:
                mv = self.ops.download(self._bufs[("moving", i)])
                n = mv.size // 2
                st.layer.moving_mean.assign(mv[:n].reshape(st.layer.moving_mean.shape))
                st.layer.moving_variance.assign(mv[n:].reshape(st.layer.moving_variance.shape))

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
        shape = arr.shape
        if len(shape) == 2:
            return arr
        return self.ops.view(arr, (math.prod(shape[:-1]), shape[-1]))

    # ---- data
    def _x(self, x):
        if isinstance(x, DeviceInput):
            return self._device_x(x)
        if isinstance(x, (list, tuple, dict)):
            raise ValueError("the plan: the model takes one input array")
        x = np.asarray(x)
        if self.ops.shares_host_memory and x.ndim and len(x) and \
                tuple(x.shape[1:]) != self.in_shape:  # as the model's own call takes it
            from fastkeras.models.model import input_rank_adjustment

            adjust = input_rank_adjustment(x.shape, (None,) + self.in_shape)
            if adjust:
                x = x[..., None] if adjust > 0 else x[..., 0]
            else:
                self._layer_error(x)
        self._check_batch(x.shape)
        if self.ops.shares_host_memory:  # the batch itself (the plan never writes to it)
            return np.ascontiguousarray(x, dtype=self.dtype)
        shape = (len(x),) + self.in_shape
        return self.ops.upload(np.ascontiguousarray(x, dtype=self.dtype),
                               out=self._buf("x", shape))

    def _layer_error(self, x):
        """A batch the layers refuse: the error the model's own call gives (the one the tape
        path raises), from one sample."""
        from fastkeras.ops.tape import paused

        with paused():
            self.model(x[:1], training=False)

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
        g = dict(st.geometry)
        g["n"] = n
        return g

    def _param(self, variable):
        return None if variable is None else self._dev[id(variable)]

    # ---- forward / backward
    def forward(self, xd, training):
        """One Trace per step; the last one's output is the model's."""
        trace, cur = [], xd
        n = xd.shape[0]
        for i, st in enumerate(self.steps):
            out_shape = (n,) + st.out_shape
            extra, z, kind = None, None, st.kind
            if kind is StepKind.FLATTEN:
                out = self.ops.view(cur, out_shape)
            elif kind is StepKind.DROPOUT:
                layer = st.layer
                out = cur
                if training and layer.rate > 0:
                    keep = np.broadcast_to(layer.keep_mask(cur.shape, self.dtype), cur.shape)
                    extra = self.ops.upload(keep, out=self._buf(("mask", i), cur.shape))
                    out = self._buf(("y", i), cur.shape)
                    self.ops.mul(self._rows(cur), self._rows(extra), self._rows(out))
            elif kind is StepKind.BATCHNORM:
                layer, out = st.layer, self._buf(("y", i), out_shape)
                gamma, beta = self._param(layer.gamma), self._param(layer.beta)
                moving = self._bufs[("moving", i)]
                if training and layer.trainable:  # the batch's statistics; moving ones updated
                    extra = self._buf(("bnstats", i), (2 * st.in_shape[-1],))
                    self.ops.batchnorm(BatchNormPass.TRAINING_FORWARD, self._rows(cur), gamma,
                                       beta, None, self._rows(out), extra, moving,
                                       layer.epsilon, layer.momentum)
                else:
                    self.ops.batchnorm(BatchNormPass.INFERENCE_FORWARD, self._rows(cur), gamma,
                                       beta, moving, self._rows(out), None, None,
                                       layer.epsilon, layer.momentum)
            elif kind is StepKind.GLOBAL_POOL and st.pool_mode is PoolMode.MAX:
                out = self._buf(("y", i), out_shape)
                self.ops.global_max(GlobalMaxPass.FORWARD, cur, None, None, out)
            elif kind in (StepKind.POOL, StepKind.GLOBAL_POOL):
                out = self._buf(("y", i), out_shape)
                if st.pool_mode is PoolMode.MAX:
                    extra = self._buf(("argmax", i), (int(np.prod(out_shape)),), np.uint8)
                    self.ops.pool(PoolPass.MAX_FORWARD, self._geom(st, n), cur, out, extra)
                else:
                    self.ops.pool(PoolPass.AVERAGE_FORWARD, self._geom(st, n), cur, out, None)
            else:  # dense, conv, activation: a linear part, then bias and activation
                b = self._param(getattr(st.layer, "bias", None)) \
                    if kind is not StepKind.ACTIVATION else None
                z = self._buf(("z", i), out_shape)
                if kind is StepKind.DENSE:
                    self.ops.gemm(cur, self._dev[id(st.layer.kernel)], z)
                elif kind is StepKind.CONV:
                    self.ops.conv(ConvPass.FORWARD, self._geom(st, n), cur,
                                  self._dev[id(st.layer.kernel)], b, z)
                    b = None  # added by the convolution
                else:
                    z = cur
                act = st.activation
                out = z if act.is_linear else self._buf(("y", i), out_shape)
                self.ops.bias_act(self._rows(z), b, self._rows(out), act.code, act.alpha)
            trace.append(Trace(cur, z, out, extra))
            cur = out
        return trace

    def backward(self, trace, g, at_logits=False):
        """The weights' gradients {id(Variable): device array} from the output gradient
        (at_logits: g is the last step's pre-activation's)."""
        grads = {}
        n = g.shape[0]
        trained = [i for i, st in enumerate(self.steps) if st.trainable]
        if not trained:
            return grads
        first = trained[0]  # nothing before this step needs a gradient
        for i in range(len(self.steps) - 1, first - 1, -1):
            st, tr = self.steps[i], trace[i]
            kind, layer = st.kind, st.layer
            in_shape = (n,) + st.in_shape
            if kind is StepKind.FLATTEN:
                g = self.ops.view(g, in_shape)
                continue
            if kind is StepKind.DROPOUT:
                if tr.extra is not None:
                    gd = self._buf(("g", i), g.shape)
                    self.ops.mul(self._rows(g), self._rows(tr.extra), self._rows(gd))
                    g = gd
                continue
            if kind is StepKind.BATCHNORM:
                gx = self._buf(("gx", i), in_shape)
                gamma = self._param(layer.gamma)
                if tr.extra is None:  # frozen: the moving statistics, an affine map
                    self.ops.batchnorm(BatchNormPass.FROZEN_BACKWARD, None, gamma, self._rows(g),
                                       self._bufs[("moving", i)], self._rows(gx), None, None,
                                       layer.epsilon, layer.momentum)
                else:
                    width = st.in_shape[-1]
                    dparams = self._buf(("dbn", i), (2 * width,))
                    self.ops.batchnorm(BatchNormPass.TRAINING_BACKWARD, self._rows(tr.inp), gamma,
                                       self._rows(g), tr.extra, self._rows(gx), dparams, None,
                                       layer.epsilon, layer.momentum)
                    if layer.gamma is not None:
                        grads[id(layer.gamma)] = self.ops.part(dparams, 0, width)
                    if layer.beta is not None:
                        grads[id(layer.beta)] = self.ops.part(dparams, width, width)
                g = gx
                continue
            if kind is StepKind.GLOBAL_POOL and st.pool_mode is PoolMode.MAX:
                gx = self._buf(("gx", i), in_shape)
                self.ops.global_max(GlobalMaxPass.BACKWARD, tr.inp, tr.out, g, gx)
                g = gx
                continue
            if kind in (StepKind.POOL, StepKind.GLOBAL_POOL):
                gx = self._buf(("gx", i), in_shape)
                which = PoolPass.MAX_BACKWARD if st.pool_mode is PoolMode.MAX else \
                    PoolPass.AVERAGE_BACKWARD
                self.ops.pool(which, self._geom(st, n), g, gx, tr.extra)
                g = gx
                continue
            act = st.activation
            if not act.is_linear and not (at_logits and i == len(self.steps) - 1):
                gz = self._buf(("gz", i), g.shape)
                self.ops.act_bwd(act.code, act.alpha, self._rows(tr.z), self._rows(tr.out),
                                 self._rows(g), self._rows(gz))
                g = gz
            if kind is StepKind.ACTIVATION:
                continue
            w = self._dev[id(layer.kernel)]
            if layer.trainable:
                dw = self._buf(("dw", i), layer.kernel.shape)
                db = self._buf(("db", i), layer.bias.shape) if layer.bias is not None else None
                if kind is StepKind.DENSE:
                    self.ops.gemm(tr.inp, g, dw, ta=True)
                    if db is not None:
                        self.ops.col_sum(g, db)
                else:
                    self.ops.conv(ConvPass.BACKWARD_FILTER, self._geom(st, n), tr.inp, g, None,
                                  dw, db)
                grads[id(layer.kernel)] = dw
                if db is not None:
                    grads[id(layer.bias)] = db
            if i > first:
                gx = self._buf(("gx", i), in_shape)
                if kind is StepKind.DENSE:
                    self.ops.gemm(g, w, gx, tb=True)
                else:
                    self.ops.conv(ConvPass.BACKWARD_DATA, self._geom(st, n), g, w, None, gx)
                g = gx
        return grads

    # ---- loss
    def _loss_spec(self):
        out = self.model.compiled_output()
        if out.loss is None:
            raise ValueError("No loss to minimise: compile() the model with a `loss`")
        if self._loss is None or self._loss[0] is not out.loss:
            self._loss = (out.loss, loss_spec(out.loss, self.dtype))
        return self._loss[1], out.weight

    def _prepare_loss(self, y, sw):
        spec, weight = self._loss_spec()
        out_w = self._out_width()
        y = np.asarray(y)
        n = y.shape[0] if y.ndim else 0
        if spec.kind is LossKind.SPARSE_CROSSENTROPY:
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
        if spec.reduction == "sum":
            divisor = 1.0
        elif spec.reduction == "mean_with_sample_weight" and row_w is not None:
            divisor = float(row_w.sum())
        else:
            divisor = float(n)
        scale = (0.0 if divisor == 0.0 else 1.0 / divisor) * weight
        rs = None if row_w is None else self.ops.upload(row_w.astype(self.dtype),
                                                        out=self._buf("sw", (n,)))
        return LossBatch(spec, yd, rs, row_w, scale)

    def _out_width(self):
        return self.steps[-1].out_shape[0]

    def _loss_and_grad(self, trace, y, sw, want_grad):
        """(total loss, its gradient, whether that gradient is the last step's
        pre-activation's) of the batch."""
        lb = self._prepare_loss(y, sw)
        out = trace[-1].out
        n = out.shape[0]
        loss = self._buf("loss", (n,))
        grad = self._buf("gout", out.shape) if want_grad else None
        at_logits = False
        if lb.spec.kind is LossKind.MSE:
            self.ops.mse(out, lb.targets, lb.rowscale, lb.scale, grad, loss)
        else:
            opts = lb.spec.xent_options[:4] + (lb.scale,)
            if self.logits_output:
                if opts[0]:
                    _warn_logits(lb.spec.kind)
                out, at_logits = trace[-1].z, True
                opts = (True,) + opts[1:]
            self.ops.xent(lb.spec.kind is LossKind.SPARSE_CROSSENTROPY, out, lb.targets,
                          lb.rowscale, opts, grad, loss)
        lv = self.ops.download(loss).astype(np.float64)
        total = float(lv.sum() if lb.row_weights is None else np.dot(lv, lb.row_weights))
        return np.asarray(total * lb.scale, dtype=self.dtype), grad, at_logits

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
        self.model.compiled_output(y, np.empty((n, self._out_width()), self.dtype))

    def _logits(self, trace):
        """The softmax output's logits for the metrics (None: the output keeps none, or
        compile() has no metric that reads them)."""
        out = self.model.compiled_output() if self.logits_output else None
        if out is None or not (out.metrics or out.weighted_metrics):
            return None
        return self.ops.download(trace[-1].z)

    def _begin(self):
        if self.ops.shares_host_memory:
            self._bind()

    def train_step(self, data):
        x, y, sw = data
        m = self.model
        self._begin()
        xd = self._x(x)
        self._ensure_compiled(y, xd.shape[0])
        trace = self.forward(xd, training=True)
        out = trace[-1].out
        total, g, at_logits = self._loss_and_grad(trace, y, sw, want_grad=True)
        grads = self.backward(trace, g, at_logits)
        if self.penalties:
            total = np.asarray(total + self.dtype.type(self._penalties(grads)), self.dtype)
        self.dirty = not self.ops.shares_host_memory
        self._apply(grads)
        if self.ops.shares_host_memory:
            self._store_moving()
        return m.record_batch(y, self.ops.download(out), sw, total, xd.shape[0],
                              self._logits(trace))

    def _apply(self, grads):
        opt = self.model.optimizer
        variables = [v for v in self.model.trainable_weights if id(v) in grads]
        if not variables:
            raise ValueError("No gradients: the loss does not depend on any trainable weight")
        for step in opt.fused_steps(variables):
            slots = [[None if s is None else self._dev[id(s)] for s in lst]
                     for lst in step.slots]
            self.ops.optimizer_step(step.args, [self._dev[id(v)] for v in step.variables],
                                    [grads[id(v)] for v in step.variables], slots)
        opt.count_step()

    def test_step(self, data):
        x, y, sw = data
        m = self.model
        self._begin()
        xd = self._x(x)
        self._ensure_compiled(y, xd.shape[0])
        trace = self.forward(xd, training=False)
        out = trace[-1].out
        total = self._loss_and_grad(trace, y, sw, want_grad=False)[0]
        if self.penalties:
            total = np.asarray(total + self.dtype.type(self._penalties(None)), self.dtype)
        return m.record_batch(y, self.ops.download(out), sw, total, xd.shape[0],
                              self._logits(trace))

    def predict_step(self, x):
        self._begin()
        out = self.forward(self._x(x), training=False)[-1].out
        return self.ops.download(out)

    def check_call(self, kind):
        """Refuse, before anything runs, what the plan cannot run for a 'train', 'test' or
        'predict' call: the optimizer (train) and the loss (train, test)."""
        if kind == "predict":
            return
        m = self.model
        if kind == "train":
            check_optimizer(m.optimizer)
            if not any(st.trainable for st in self.steps):
                raise ValueError("the plan: the model has no trainable weight")
        out = m.compiled_output()
        loss = out.loss if out is not None else None
        if loss is None:
            from fastkeras.models.compile_utils import resolve_loss

            spec = m.compiled_loss_spec()
            if isinstance(spec, (list, tuple, dict)):
                raise ValueError("the plan: the model has one output; give one loss")
            loss = resolve_loss(spec)
        if loss is None:
            raise ValueError("No loss to minimise: compile() the model with a `loss`")
        loss_spec(loss, self.dtype)
