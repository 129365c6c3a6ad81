"""A low-latency, thread-safe inference path for built models.

``runner = model.compile_for_inference()`` (or ``fastkeras.serving.InferenceRunner(model)``)
plans the forward pass once: each maximal run of Dense / BatchNormalization / activation /
Dropout layers on the last axis becomes one C call (``_kernels.chain``: BLAS products, bias,
activation and softmax for the whole run, without the GIL), and the other layers run their
inference code directly on arrays, with no tape, no training flags and no per-call Python
bookkeeping. ``runner(x)`` returns NumPy arrays equal to ``model.predict(x)`` (to float
rounding; the products are the same BLAS calls, the softmax is computed in C).

The runner copies the weights when it is made: later training does not change it (make a new
one, or call ``runner.refresh()``). It holds no mutable state, so any number of threads may
call it at once.
"""
import threading
from dataclasses import dataclass

import numpy as np

from fastkeras import config
from fastkeras.device.steps import (LINEAR, Activation, NotLowerable, PoolMode, StepKind,
                                    layer_chain, lower_layer)
from fastkeras.layers.base import _flatten
from fastkeras.ops import tape as _tape
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["InferenceRunner"]

@dataclass
class _ChainEntry:
    """One entry of a DenseChain (dense_chain.h): "dense" (weight (in, out), bias) or
    "affine" (scale and shift (out,)), then its activation."""
    kind: str
    weight: np.ndarray
    bias: np.ndarray
    activation: Activation

    def as_chain_step(self):
        return (self.kind, self.weight, self.bias, self.activation.code, self.activation.alpha)


_CHAIN_KINDS = (StepKind.DENSE, StepKind.BATCHNORM, StepKind.ACTIVATION, StepKind.DROPOUT)


def _batchnorm_affine(layer):
    """Inference BatchNormalization as scale and shift (the moving statistics folded)."""
    var = layer.moving_variance.numpy().astype(np.float64)
    scale = 1.0 / np.sqrt(var + layer.epsilon)
    if layer.gamma is not None:
        scale = scale * layer.gamma.numpy()
    shift = -layer.moving_mean.numpy() * scale
    if layer.beta is not None:
        shift = shift + layer.beta.numpy()
    return scale, shift


def _fold(steps):
    """The DenseChain entries of last-axis steps: activations merged into the entry before
    them (which then must be linear), dropout dropped; None when an activation comes first
    (left to the layer itself)."""
    out = []
    for st in steps:
        if st.kind is StepKind.DROPOUT:
            continue
        if st.kind is StepKind.DENSE:
            bias = None if st.layer.bias is None else st.layer.bias.numpy()
            out.append(_ChainEntry("dense", st.layer.kernel.numpy(), bias, st.activation))
        elif st.kind is StepKind.BATCHNORM:
            out.append(_ChainEntry("affine", *_batchnorm_affine(st.layer), LINEAR))
        elif out and out[-1].activation.is_linear:
            out[-1].activation = st.activation
        elif out:
            width = out[-1].weight.shape[-1]
            out.append(_ChainEntry("affine", np.ones(width), np.zeros(width), st.activation))
        else:
            return None
    return out


class _ChainStage:
    """Consecutive last-axis layers as one C call on (rows, features) views."""

    def __init__(self, steps, dtype, device="cpu"):
        from fastkeras._kernels import chain

        self.steps = steps  # _ChainEntry records
        self.chain = chain.DenseChain([e.as_chain_step() for e in steps], dtype, device)
        self.dtype = np.dtype(dtype)

    def __call__(self, x):
        if x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=self.dtype)
        threads = config.get_num_threads()
        if x.ndim == 2:
            return self.chain.run(x, threads)
        lead = x.shape[:-1]
        return self.chain.run(x.reshape(-1, x.shape[-1]), threads).reshape(lead + (-1,))


class _DevicePlanStage:
    """A whole model on the GPU through the training plan's forward pass: the weights go
    over once (when planned, and on refresh), each call copies the batch in and the output
    out; calls are serialised, as the plan reuses its device buffers."""

    def __init__(self, model):
        from fastkeras.device.plan import DevicePlan

        try:
            self.plan = DevicePlan.for_device(model, "cuda")
        except ValueError as exc:
            raise ValueError(f"compile_for_inference(device='cuda'): {exc}") from None
        self.plan.upload(slots=False)
        self.lock = threading.Lock()

    def __call__(self, x):
        with self.lock:
            return self.plan.predict_step(x)


class _PlannedStage:
    """A stage whose C call was planned once (self.plan: a chain.ConvPlan / PoolPlan)."""

    def __call__(self, x):
        if x.dtype != self.dtype or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=self.dtype)
        return self.plan.run(x, config.get_num_threads())


class _ConvStage(_PlannedStage):
    """A channels-last convolution (+ bias) and its activation: one GIL-free C call
    (_kernels.chain.ConvPlan) with the geometry worked out once (the step's)."""

    def __init__(self, step, dtype, int8_x_scale=None):
        from fastkeras._kernels import chain

        layer = step.layer
        geom = dict(step.geometry, in_shape=step.in_shape, out_shape=step.out_shape)
        bias = None if layer.bias is None else layer.bias.numpy()
        kernel = np.ascontiguousarray(layer.kernel.numpy(), dtype=dtype)
        self.plan = chain.ConvPlan(geom, kernel, bias, step.activation.code,
                                   step.activation.alpha, dtype, int8_x_scale=int8_x_scale)
        self.dtype = np.dtype(dtype)
        self.layer = layer
        self.step = step

    @property
    def quantizable(self):
        """Whether the int8 convolution computes this one (float32, groups 1, no softmax)."""
        from fastkeras._kernels import chain

        return (self.dtype == np.float32 and self.step.geometry["groups"] == 1 and
                self.step.activation.code != chain.STEP_SOFTMAX)


class _PoolStage(_PlannedStage):
    def __init__(self, step, dtype):
        from fastkeras._kernels import chain

        geom = dict(step.geometry, in_shape=step.in_shape, out_shape=step.out_shape)
        self.plan = chain.PoolPlan(geom, step.pool_mode is PoolMode.MAX, dtype)
        self.dtype = np.dtype(dtype)
        self.layer = step.layer


class _GlobalAveragePoolStage(_PlannedStage):
    """Global average pooling as one C pooling window over every position (the step's
    geometry), reshaped to (batch, channels) or kept (batch, 1, ..., channels)."""

    def __init__(self, step, dtype):
        from fastkeras._kernels import chain

        geom = dict(step.geometry, in_shape=step.in_shape,
                    out_shape=(1,) * (len(step.in_shape) - 1) + step.in_shape[-1:])
        self.plan = chain.PoolPlan(geom, False, dtype)
        self.dtype = np.dtype(dtype)
        self.out_shape = step.out_shape
        self.layer = step.layer

    def __call__(self, x):
        y = super().__call__(x)
        return y.reshape((len(y),) + self.out_shape)


class _ReduceStage:
    """Global pooling (mean / max over the spatial axes) and Flatten, on arrays."""

    def __init__(self, kind, axes=None, keepdims=False):
        self.kind, self.axes, self.keepdims = kind, axes, keepdims

    def __call__(self, x):
        if self.kind == "flatten":
            return x.reshape(len(x), -1)
        if not self.keepdims:  # (batch, positions, channels): one reduction over axis 1
            flat = x.reshape(len(x), -1, x.shape[-1])
            if self.kind == "average":
                return np.add.reduce(flat, axis=1) * x.dtype.type(1.0 / flat.shape[1])
            return np.maximum.reduce(flat, axis=1)
        fn = np.mean if self.kind == "average" else np.max
        return fn(x, axis=self.axes, keepdims=True).astype(x.dtype, copy=False)


def _array_stage(step, dtype):
    """The stage of a convolution / pooling / flatten step."""
    if step.kind is StepKind.CONV:
        return _ConvStage(step, dtype)
    if step.kind is StepKind.POOL:
        return _PoolStage(step, dtype)
    if step.kind is StepKind.GLOBAL_POOL and step.geometry is not None:
        return _GlobalAveragePoolStage(step, dtype)
    if step.kind is StepKind.GLOBAL_POOL:
        rank = step.layer.rank
        return _ReduceStage(step.pool_mode.value, tuple(range(1, rank + 1)), step.layer.keepdims)
    return _ReduceStage("flatten")


class _LayerStage:
    """A layer the chain does not compute: its own inference code on arrays."""

    def __init__(self, layer):
        self.layer = layer
        self.kwargs = {"training": False} if layer._call_has_training else {}

    def __call__(self, x):
        x = self.layer._convert(x) if not isinstance(x, Tensor) else x
        return as_array(self.layer.call(x, **self.kwargs))


class InferenceRunner:
    """``model.compile_for_inference()``: ``runner(x)`` -> NumPy outputs, thread-safe.

    Sequential models (and functional models that are a single chain of one-input
    layers) run as planned stages; any other functional model runs its graph with
    recording off. ``batch_size`` splits large inputs like ``predict`` does."""

    def __init__(self, model, device="cpu", quantize=None, calibration=None):
        if not model.built or (model._graph is None and not model.layers):
            raise ValueError("compile_for_inference needs a built model: give it an Input "
                             "(or call it on data once) first")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"compile_for_inference: device must be 'cpu' or 'cuda', got "
                             f"{device!r}")
        from fastkeras.serving_quantize import check_quantize

        self._calibration = check_quantize(quantize, calibration, device, model.dtype)
        self.model = model
        self.device = device
        self.quantize = quantize
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self):
        """Re-read the model's weights (after more training)."""
        with self._lock:
            self._stages, self._dtype, self._in_shape = self._plan(self.model)

    # ------------------------------------------------------------------ planning
    def _plan(self, model):
        stages, dtype, shape = self._plan_stages(model)  # planned on the CPU first
        if self.quantize == "int8":
            from fastkeras.serving_quantize import quantize_stages

            cal = self._calibration
            if cal is not None:
                try:
                    self._check(cal, shape)
                except ValueError as exc:
                    raise ValueError(f"compile_for_inference: calibration: {exc}") from None
            return quantize_stages(stages, cal, model.name), dtype, shape
        if self.device == "cuda":
            # a chain of Dense / BatchNormalization / activation / Dropout / softmax layers
            # runs as one planned GPU chain; any other model through the device plan (Conv,
            # pooling, ...; fastkeras.models.device_plan), or is refused naming the layer
            if stages is None or len(stages) != 1 or not isinstance(stages[0], _ChainStage):
                return [_DevicePlanStage(model)], dtype, shape
            stages = [_ChainStage(stages[0].steps, dtype, "cuda")]  # the weights go over
        return stages, dtype, shape

    def _plan_stages(self, model):
        """The stages of a chain model: each layer lowered (fastkeras.device.steps), runs of
        last-axis steps merged into one C chain, convolution / pooling steps as planned C
        calls, and the layers without a fast path running their own inference code."""
        inputs = model.inputs
        shape = tuple(inputs[0].shape) if inputs and len(inputs) == 1 else None
        dtype = np.dtype(model.dtype)
        from fastkeras import layers as L

        layers = layer_chain(model)
        if layers is None or any(isinstance(l, L.Masking) or getattr(l, "mask_zero", False)
                                 for l in layers):
            return None, dtype, shape  # the graph itself (masks travel between its layers)
        stages, pending, pending_layers = [], [], []

        def flush():
            entries = _fold(pending) if pending else []
            if entries:
                stages.append(_ChainStage(entries, dtype))
            elif pending_layers:  # not foldable: back to the layers themselves
                stages.extend(_LayerStage(l) for l in pending_layers)
            pending.clear()
            pending_layers.clear()

        sample = shape[1:] if shape is not None else None
        for layer in layers:
            built = getattr(layer, "_build_input_shape", None)
            if isinstance(built, tuple):
                sample = tuple(built[1:])
            try:
                if sample is None:
                    raise NotLowerable("input shape unknown")
                steps = lower_layer(layer, sample, dtype)
            except NotLowerable:
                flush()
                stages.append(_LayerStage(layer))
                sample = None
                continue
            if steps:
                sample = steps[-1].out_shape
            if all(st.kind in _CHAIN_KINDS for st in steps):
                pending.extend(steps)
                pending_layers.append(layer)
                continue
            flush()
            stages.extend(_array_stage(st, dtype) for st in steps)
        flush()
        return stages, dtype, shape

    # ------------------------------------------------------------------ running
    def _check(self, x, want=None):
        want = self._in_shape if want is None else want
        if want is not None:
            if x.ndim != len(want) or any(w is not None and w != g
                                          for w, g in zip(want[1:], x.shape[1:])):
                raise ValueError(f"Model {self.model.name!r} expects inputs of shape "
                                 f"{want}, got {x.shape}")
        if x.dtype.kind not in "biuf":
            raise ValueError(f"expected numeric inputs, got dtype {x.dtype}")

    def _run(self, x):
        if self._stages is None:
            with _tape.paused():
                out = self.model(x, training=False)
            outs = [as_array(o) for o in _flatten(out)]
            return outs[0] if len(outs) == 1 and not isinstance(out, (list, tuple)) else outs
        with _tape.paused():
            for stage in self._stages:
                x = stage(x)
        return as_array(x)

    def __call__(self, x, batch_size=None):
        if isinstance(x, (list, tuple, dict)) and self._stages is None:
            return self._run(x)
        x = np.asarray(x)
        self._check(x)
        if x.dtype != self._dtype and x.dtype.kind == "f":
            x = x.astype(self._dtype)
        if batch_size is None or len(x) <= batch_size:
            return self._run(x)
        parts = [self._run(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        if isinstance(parts[0], list):
            return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]
        return np.concatenate(parts)

    predict = __call__

    def describe(self):
        """One line per stage: what runs in C as one call, what runs layer by layer."""
        if self._stages is None:
            return [f"graph: {self.model.name} (recording off)"]
        lines = []
        for s in self._stages:
            if isinstance(s, _ChainStage):
                int8 = [e for e in s.steps if e.kind == "dense_int8"]
                how = ""
                if int8:
                    static = "static" if int8[0].weight.x_scale > 0 else "per-row"
                    how = (f", {len(int8)} of {len(s.steps)} steps int8 ({static} input "
                           f"scales)")
                lines.append(f"C chain: {s.chain.n_in} -> {s.chain.n_out} ({s.dtype}{how})")
            elif isinstance(s, _DevicePlanStage):
                lines.append(f"GPU plan: {len(s.plan.steps)} steps ({s.plan.dtype})")
            elif isinstance(s, _LayerStage):
                lines.append(f"layer: {s.layer.name} ({type(s.layer).__name__})")
            elif isinstance(s, _ConvStage):
                lines.append(f"C kernel: ConvStage ({s.plan.algorithm})")
            else:
                lines.append(f"C kernel: {type(s).__name__.strip('_')}")
        return lines
