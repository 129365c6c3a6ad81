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

import numpy as np

from fastkeras import activations, config
from fastkeras.layers.base import InputLayer, KerasTensor, _flatten
from fastkeras.ops import tape as _tape
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["InferenceRunner"]

_LINEAR, _SOFTMAX = -1, -2


def _kinds():
    from fastkeras._kernels import elementwise

    k = elementwise.KINDS
    return {activations.relu: (k["relu"], 0.0), activations.relu6: (k["relu6"], 0.0),
            activations.elu: (k["elu"], 1.0), activations.selu: (k["selu"], 0.0),
            activations.sigmoid: (k["sigmoid"], 0.0), activations.tanh: (k["tanh"], 0.0),
            activations.softplus: (k["softplus"], 0.0),
            activations.softsign: (k["softsign"], 0.0), activations.silu: (k["silu"], 0.0),
            activations.hard_sigmoid: (k["hard_sigmoid"], 0.0),
            activations.hard_silu: (k["hard_silu"], 0.0), activations.mish: (k["mish"], 0.0),
            activations.log_sigmoid: (k["log_sigmoid"], 0.0),
            activations.gelu: (k["gelu_erf"], 0.0),
            activations.leaky_relu: (k["leaky_relu"], float(np.float32(0.2))),
            activations.linear: (_LINEAR, 0.0), activations.softmax: (_SOFTMAX, 0.0)}


def _activation_step(fn, kinds):
    """(kind, alpha) of an activation function the C kernels compute, else None."""
    return kinds.get(fn)


def _layer_steps(layer, kinds):
    """The chain steps of one layer, or None when it is not a last-axis layer the chain
    computes (it then runs its own inference code)."""
    from fastkeras import layers as L

    t = type(layer)
    if t in (L.Dropout, L.Identity):
        return []
    if t is L.Activation:
        act = _activation_step(layer.activation, kinds)
        return None if act is None else [("act",) + act]
    if t is L.Dense:
        act = _activation_step(layer.activation, kinds)
        if act is None:
            return None
        bias = None if layer.bias is None else layer.bias.numpy()
        return [("dense", layer.kernel.numpy(), bias) + act]
    if t is L.ReLU and layer.max_value is None and not layer.threshold and \
            not layer.negative_slope:
        return [("act", kinds[activations.relu][0], 0.0)]
    if t is L.LeakyReLU:  # the slope in float32, as ops.leaky_relu (and TensorFlow) use it
        return [("act", kinds[activations.leaky_relu][0],
                 float(np.float32(layer.negative_slope)))]
    if t is L.ELU:
        return [("act", kinds[activations.elu][0], layer.alpha)]
    if t is L.Softmax and layer.axis in (-1,):
        return [("act", _SOFTMAX, 0.0)]
    if t is L.BatchNormalization and len(layer._bshape) >= 2 and \
            list(layer._ax) == [len(layer._bshape) - 1]:
        var = layer.moving_variance.numpy().astype(np.float64)
        scale = 1.0 / np.sqrt(var + layer.epsilon)
        if layer.gamma is not None:
            scale = scale * layer.gamma.numpy()
        shift = -layer.moving_mean.numpy() * scale
        if layer.beta is not None:
            shift = shift + layer.beta.numpy()
        return [("affine", scale, shift, _LINEAR, 0.0)]
    return None


def _fold(steps):
    """Merge activation steps into the step before them (which then must be linear):
    [("dense", W, b, kind, alpha) | ("affine", s, t, kind, alpha)]."""
    out = []
    for s in steps:
        if s[0] == "act":
            if out and out[-1][3] == _LINEAR:
                out[-1] = out[-1][:3] + (s[1], s[2])
            else:
                width = out[-1][1].shape[-1] if out else None
                if width is None:
                    return None  # an activation first: left to the layer itself
                out.append(("affine", np.ones(width), np.zeros(width), s[1], s[2]))
        else:
            out.append(s)
    return out


class _ChainStage:
    """Consecutive last-axis layers as one C call on (rows, features) views."""

    def __init__(self, steps, dtype, device="cpu"):
        from fastkeras._kernels import chain

        self.steps = steps
        self.chain = chain.DenseChain([(s[0], s[1], s[2], s[3], s[4]) for s in steps], dtype,
                                      device)
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
        from fastkeras.models import device_plan as dp

        try:
            self.plan = dp.DevicePlan.for_device(model, "cuda")
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
    (_kernels.chain.ConvPlan) with the geometry worked out once."""

    def __init__(self, layer, in_shape, act, dtype):
        from fastkeras._kernels import chain
        from fastkeras.ops import convolution as _c

        probe = np.zeros((1,) + tuple(in_shape[1:]), dtype)
        _, kc, _, geom, _, out, _, _ = _c._conv_problem(
            probe, layer.kernel.numpy().astype(dtype), layer.strides, layer.padding,
            "channels_last", layer.dilation_rate)
        geom = dict(geom, in_shape=tuple(in_shape[1:]), out_shape=tuple(out) + (geom["cout"],))
        bias = None if layer.bias is None else layer.bias.numpy()
        self.plan = chain.ConvPlan(geom, kc, bias, act[0], act[1], dtype)
        self.dtype = np.dtype(dtype)
        self.layer = layer


class _PoolStage(_PlannedStage):
    def __init__(self, layer, in_shape, dtype):
        from fastkeras._kernels import chain
        from fastkeras.ops import convolution as _c

        probe = np.zeros((1,) + tuple(in_shape[1:]), dtype)
        _, _, geom, _, out, _, _ = _c._pool_problem(probe, layer.pool_size, layer.strides,
                                                   layer.padding, "channels_last")
        geom = dict(geom, in_shape=tuple(in_shape[1:]), out_shape=tuple(out) + (geom["c"],))
        self.plan = chain.PoolPlan(geom, layer.kind == "max", dtype)
        self.dtype = np.dtype(dtype)
        self.layer = layer


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


def _array_stage(layer, kinds, dtype):
    """A stage on arrays for a convolution / pooling / flatten layer with a known input
    shape, or None (the layer then runs its own code)."""
    from fastkeras import layers as L
    from fastkeras.layers import convolutional as C

    shape = getattr(layer, "_build_input_shape", None)
    if not isinstance(shape, tuple) or any(d is None for d in shape[1:]):
        return None
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt != "channels_last":
        return None
    t = type(layer)
    if isinstance(layer, C._Conv) and t.__mro__[1] is C._Conv and not layer.transpose:
        act = _activation_step(layer.activation, kinds)
        return None if act is None else _ConvStage(layer, shape, act, dtype)
    if isinstance(layer, C._Pool):
        return _PoolStage(layer, shape, dtype)
    if isinstance(layer, C._GlobalPool):
        return _ReduceStage(layer.kind, tuple(range(1, layer.rank + 1)), layer.keepdims)
    if t is L.Flatten:
        return _ReduceStage("flatten")
    return None


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

    def __init__(self, model, device="cpu"):
        if not model.built or (model._graph is None and not model.layers):
            raise ValueError("compile_for_inference needs a built model: give it an Input "
                             "(or call it on data once) first")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"compile_for_inference: device must be 'cpu' or 'cuda', got "
                             f"{device!r}")
        self.model = model
        self.device = device
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self):
        """Re-read the model's weights (after more training)."""
        with self._lock:
            self._stages, self._dtype, self._in_shape = self._plan(self.model)

    # ------------------------------------------------------------------ planning
    @staticmethod
    def _layer_sequence(model):
        """The model's layers in order when it is a simple chain, else None."""
        from fastkeras.models.model import Sequential

        if isinstance(model, Sequential):
            return [l for l in model.layers]
        graph = model._graph
        if graph is None or len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
        seq, t = [], model.outputs[0]
        while True:
            layer, node, _ = t._keras_history
            if isinstance(layer, InputLayer):
                break
            ins = [v for v in _flatten([node["inputs"], list(node["args"]), node["kwargs"]])
                   if isinstance(v, KerasTensor)]
            if len(ins) != 1 or node["args"] or node["kwargs"] or \
                    len(_flatten(node["outputs"])) != 1:
                return None
            seq.append(layer)
            t = ins[0]
        if t is not model.inputs[0]:
            return None
        return seq[::-1]

    def _plan(self, model):
        stages, dtype, shape = self._plan_stages(model)  # planned on the CPU first
        if self.device == "cuda":
            # a chain of Dense / BatchNormalization / activation / Dropout / softmax layers
            # runs as one planned GPU chain; any other model through the device plan (Conv,
            # pooling, ...; fastkeras.models.device_plan), or is refused naming the layer
            if stages is None or len(stages) != 1 or not isinstance(stages[0], _ChainStage):
                return [_DevicePlanStage(model)], dtype, shape
            stages = [_ChainStage(stages[0].steps, dtype, "cuda")]  # the weights go over
        return stages, dtype, shape

    def _plan_stages(self, model):
        inputs = model.inputs
        shape = tuple(inputs[0].shape) if inputs and len(inputs) == 1 else None
        dtype = np.dtype(model.dtype)
        from fastkeras import layers as L

        layers = self._layer_sequence(model)
        if layers is None or any(isinstance(l, L.Masking) or getattr(l, "mask_zero", False)
                                 for l in layers):
            return None, dtype, shape  # the graph itself (masks travel between its layers)
        kinds = _kinds()
        stages, pending = [], []

        def flush():
            steps = _fold(pending) if pending else []
            if steps:
                stages.append(_ChainStage(steps, dtype))
            elif pending:  # not foldable: back to the layers themselves
                stages.extend(_LayerStage(l) for l in pending_layers)
            pending.clear()
            pending_layers.clear()

        pending_layers = []
        for layer in layers:
            plain = layer.dtype == dtype.name and layer.activity_regularizer is None
            steps = _layer_steps(layer, kinds) if plain else None
            if steps is not None:
                pending.extend(steps)
                pending_layers.append(layer)
                continue
            flush()
            stage = _array_stage(layer, kinds, dtype) if plain else None
            stages.append(stage if stage is not None else _LayerStage(layer))
        flush()
        return stages, dtype, shape

    # ------------------------------------------------------------------ running
    def _check(self, x):
        want = self._in_shape
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
                lines.append(f"C chain: {s.chain.n_in} -> {s.chain.n_out} ({s.dtype})")
            elif isinstance(s, _DevicePlanStage):
                lines.append(f"GPU plan: {len(s.plan.steps)} steps ({s.plan.dtype})")
            elif isinstance(s, _LayerStage):
                lines.append(f"layer: {s.layer.name} ({type(s.layer).__name__})")
            else:
                lines.append(f"C kernel: {type(s).__name__.strip('_')}")
        return lines
