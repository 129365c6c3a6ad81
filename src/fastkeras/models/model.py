"""``Model``: functional (``Model(inputs, outputs)``) and subclassed models, and
``Sequential``. Training (compile / fit / evaluate / predict) is in training.py."""
import numpy as np

from fastkeras.layers.base import (InputLayer, KerasTensor, Layer, _flatten, _map, _pack,
                                   _snake, _unique_name)
from fastkeras.models.training import TrainingMixin
from fastkeras import ops
from fastkeras.ops import tape as _tape
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["Model", "Sequential", "Functional"]


def _is_symbolic_structure(x):
    return x is not None and all(isinstance(t, KerasTensor) for t in _flatten(x)) and \
        len(_flatten(x)) > 0


def input_rank_adjustment(got, want):
    """Keras' _adjust_input_rank for an input of shape `got` fed to an Input of shape `want`:
    +1 (add a trailing axis of size 1), -1 (drop one) or 0."""
    if len(got) == len(want) - 1 and want and want[-1] == 1:
        return 1
    if len(got) == len(want) + 1 and got and got[-1] == 1:
        return -1
    return 0


class Model(TrainingMixin, Layer):
    """A trainable stack of layers (keras.Model).

    ``Model(inputs, outputs)`` builds a functional model from symbolic tensors; a
    subclass defines its layers in ``__init__`` and its forward pass in
    ``call(inputs, training=False)``."""

    _track_private_metrics = False

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if args else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        functional = _is_symbolic_structure(inputs) and outputs is not None
        name = kwargs.pop("name", None)
        if name is None:
            name = _unique_name("functional" if functional or type(self) is Model
                                else _snake(type(self).__name__))
        super().__init__(name=name, **kwargs)
        self._graph = None
        self._init_training_state()
        if functional:
            self._init_graph(inputs, outputs)
        elif inputs is not None or outputs is not None:
            raise ValueError("Model(inputs, outputs) needs symbolic tensors from "
                             "fastkeras.Input (and the layers called on them)")

    # ---------------------------------------------------------------- the graph
    def _init_graph(self, inputs, outputs):
        flat_out = _flatten(outputs)
        for t in flat_out:
            if not isinstance(t, KerasTensor):
                raise ValueError(f"Model outputs must be symbolic tensors produced by layers, "
                                 f"got {type(t).__name__}")
        flat_in = _flatten(inputs)
        order, first_seen = _walk_graph(flat_out)
        input_nodes = {id(t._keras_history[1]) for t in flat_in}
        for node in order:
            if node["inputs"] is None and id(node) not in input_nodes:
                raise ValueError(f"Graph disconnected: the output depends on the input "
                                 f"{node['layer'].name!r}, which is not in the model's inputs")
        self._graph = {"inputs": inputs, "outputs": outputs,
                       "nodes": [n for n in order if n["inputs"] is not None]}
        object.__setattr__(self, "_layers", _keras_layer_order(flat_in, order, first_seen))
        self.built = True
        self._output_dtypes = [t.dtype for t in flat_out]

    def layer_chain(self):
        """The model's layers in call order when the model is one chain (one input, one
        output, every layer called once on the previous layer's one output with no extra
        arguments), else None. Subclasses that define their own ``call`` compute something
        else: None. The fast paths (fastkeras.device) lower only chains."""
        if type(self).call is not Model.call or self._graph is None:
            return None
        ins, outs = self.inputs, self.outputs
        if len(ins) != 1 or len(outs) != 1:
            return None
        chain, previous = [], ins[0]
        for node in self._graph["nodes"]:
            given = [v for v in _flatten([node["inputs"], list(node["args"]), node["kwargs"]])
                     if isinstance(v, KerasTensor)]
            produced = _flatten(node["outputs"])
            if len(given) != 1 or given[0] is not previous or node["args"] or node["kwargs"] \
                    or len(produced) != 1:
                return None
            chain.append(node["layer"])
            previous = produced[0]
        return chain if previous is outs[0] else None

    @property
    def inputs(self):
        return None if self._graph is None else _flatten(self._graph["inputs"])

    @property
    def outputs(self):
        return None if self._graph is None else _flatten(self._graph["outputs"])

    @property
    def input(self):
        """The model's inputs as given to ``Model(inputs, outputs)``; a model without a
        graph of its own answers as a layer does (its first call's, or AttributeError)."""
        return self._node_values("input") if self._graph is None else self._graph["inputs"]

    @property
    def output(self):
        """The model's outputs as given (a dict stays a dict, in its own key order)."""
        return self._node_values("output") if self._graph is None else self._graph["outputs"]

    @property
    def input_shape(self):
        ins = self.inputs
        if not ins:
            raise AttributeError(f"Model {self.name!r} has no defined input shape yet")
        return ins[0].shape if len(ins) == 1 else [t.shape for t in ins]

    @property
    def output_shape(self):
        outs = self.outputs
        if not outs:
            raise AttributeError(f"Model {self.name!r} has no defined output shape yet: call "
                                 "it on data, or give its first layer an input shape")
        return outs[0].shape if len(outs) == 1 else [t.shape for t in outs]

    @property
    def output_names(self):
        """The names of the layers producing the outputs, in the order of ``outputs``
        (Keras 3: a dict of outputs is flattened in sorted key order)."""
        outs = self.outputs
        if not outs:
            return ["output_1"]
        names = []
        for t in outs:
            n = t._keras_history[0].name
            names.append(n if n not in names else f"{n}_{len(names)}")
        return names

    def _feed(self, inputs):
        """The input values in the order of the graph's input tensors."""
        spec = self._graph["inputs"]
        flat_in = _flatten(spec)
        if isinstance(inputs, dict) and not isinstance(spec, dict):
            names = [t._keras_history[0].name for t in flat_in]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r}: missing input(s) {missing}; the inputs "
                                 f"are named {names}")
            return [inputs[n] for n in names]
        if isinstance(spec, dict) and isinstance(inputs, dict):
            missing = [k for k in spec if k not in inputs]
            if missing:
                raise ValueError(f"Model {self.name!r}: missing input(s) {missing}; the inputs "
                                 f"are {list(spec)}")
            return _flatten({k: inputs[k] for k in spec})
        vals = _flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(vals) != len(flat_in):
            raise ValueError(f"Model {self.name!r} expects {len(flat_in)} input(s), got "
                             f"{len(vals)}")
        return vals

    def _run_graph(self, inputs, training=None, mask=None):
        flat_in = _flatten(self._graph["inputs"])
        values = {}
        masks = [None] * len(flat_in) if mask is None else (
            _flatten(mask) if isinstance(mask, (list, tuple, dict)) else [mask])
        for kt, v, m in zip(flat_in, self._feed(inputs), masks + [None] * len(flat_in)):
            x = v if isinstance(v, Tensor) else Tensor(as_array(v))
            if x.dtype != kt.dtype and x.dtype.kind in "biuf" and kt.dtype.kind in "biuf":
                x = ops.cast(x, kt.dtype)  # Keras: each input in its Input's dtype
            if m is not None:  # Keras: the masks given to the call go on the inputs
                x = Tensor(x._value)
                x._keras_mask = np.asarray(as_array(m), dtype=bool)
            want = tuple(kt.shape)
            got = tuple(x.shape)
            adjust = input_rank_adjustment(got, want)
            if adjust:
                x = ops.expand_dims(x, -1) if adjust > 0 else ops.squeeze(x, -1)
                got = tuple(x.shape)
            if len(got) != len(want) or any(w is not None and w != g
                                            for w, g in zip(want, got)):
                raise ValueError(f"Input {kt._keras_history[0].name!r} of model {self.name!r} "
                                 f"expects shape {want}, got {got}")
            values[id(kt)] = x
        def value(t):
            if not isinstance(t, KerasTensor):
                return t
            if t._keras_history is None and t._mask_source is not None:  # x._keras_mask
                return getattr(values[id(t._mask_source)], "_keras_mask", None)
            return values[id(t)]

        for node in self._graph["nodes"]:
            layer = node["layer"]
            args = _map(value, node["inputs"])
            kw = _map(value, node["kwargs"]) if node["kwargs"] else {}
            if training is not None and layer._call_has_training and kw.get("training") is None:
                kw["training"] = training
            out = layer(args, *_map(value, node["args"]), **kw)
            for kt, o in zip(_flatten(node["outputs"]), _flatten(out)):
                values[id(kt)] = o
        return _map(lambda t: values[id(t)], self._graph["outputs"])

    def call(self, inputs, training=None, mask=None):
        if self._graph is None:
            raise NotImplementedError(f"Model {type(self).__name__!r} must define "
                                      "call(inputs, training=False), or be built from "
                                      "Model(inputs, outputs)")
        return self._run_graph(inputs, training, mask)

    def build(self, input_shape):
        if self._graph is None and type(self).call is not Model.call:
            shapes = input_shape
            dummy = _map_shape_zeros(shapes, self.dtype)
            saved = self._state_snapshot()  # a build creates weights, it does not train
            try:
                with _tape.paused():
                    self.call(dummy)
            finally:
                self._restore_state(saved)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self._graph is not None:
            return _map(lambda t: t.shape, self._graph["outputs"])
        return super().compute_output_shape(input_shape)

    def _convert(self, x):
        """A functional model does not autocast its inputs (Keras 3): each is cast to its
        Input's dtype when the graph runs, so a float64 input stays float64."""
        if self._graph is None or isinstance(x, KerasTensor):
            return super()._convert(x)
        return x if isinstance(x, Tensor) else Tensor(as_array(x))

    # ---------------------------------------------------------------- introspection
    @property
    def layers(self):
        """The model's layers; the ops applied to its symbolic tensors (``inputs > 0.5``)
        are operations of the graph, not layers (Keras 3: ``model.operations``)."""
        return [l for l in self._layers if not getattr(l, "_is_op_node", False)]

    @property
    def operations(self):
        """Every operation of the graph in order: the layers and the recorded ops."""
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range for a model with "
                                 f"{len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[l.name for l in layers]}")

    def _maybe_build(self, inputs):
        if not self.built and isinstance(inputs, Tensor):
            self._last_input_shape = (None,) + tuple(inputs.shape[1:])  # for save's config
        super()._maybe_build(inputs)

    def predict(self, x, *args, **kwargs):
        """As TrainingMixin.predict, with the outputs in the model's output structure
        (Keras 3: a dict of outputs predicts a dict, in the dict's own key order)."""
        out = super().predict(x, *args, **kwargs)
        spec = self._graph["outputs"] if self._graph is not None else None
        if isinstance(out, list) and _nested(spec) and len(out) == len(_flatten(spec)):
            return _pack(spec, out)
        return out

    def compile_for_inference(self, device="cpu", quantize=None, calibration=None):
        """A planned, thread-safe forward pass for serving (fastkeras.serving):
        ``runner(x)`` returns what ``predict(x)`` returns, with the least overhead.
        device="cuda" runs a chain of Dense / BatchNormalization / activation / Dropout /
        softmax layers on the GPU (weights copied once, each batch copied in and out once).
        quantize="int8" runs the Dense layers with int8 weights (per output channel) and
        int8 inputs, scaled from ``calibration`` (representative inputs) or per row
        (fastkeras.serving_quantize)."""
        from fastkeras.serving import InferenceRunner

        return InferenceRunner(self, device, quantize=quantize, calibration=calibration)

    def save(self, filepath, overwrite=True, **kwargs):
        """Save architecture, weights and optimizer state to a ``.keras`` file."""
        from fastkeras.saving.model_file import save_model

        save_model(self, filepath, overwrite=overwrite)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Write the model for other runtimes (Keras 3's ``Model.export``). fastkeras writes
        ``format="onnx"`` only (fastkeras.saving.onnx_export; kwargs: ``opset_version``);
        Keras' default "tf_saved_model" (and "tfsm_layer", "openvino", "litert") needs
        TensorFlow's writers, so any other format is a ValueError."""
        if format != "onnx":
            raise ValueError(f"export: format={format!r} is not one fastkeras writes; it "
                             "writes format='onnx' (model.save() writes a .keras file)")
        from fastkeras.saving.onnx_export import export_onnx

        export_onnx(self, filepath, verbose=verbose, input_signature=input_signature,
                    **kwargs)

    def get_compile_config(self):
        """compile()'s settings as a file records them ({} before compile); a subclass that
        overrides compile() overrides this and compile_from_config, as in Keras."""
        from fastkeras.saving.model_file import _compile_config

        return _compile_config(self) or {}

    def compile_from_config(self, config):
        """Compile with the settings get_compile_config() recorded (what load_model calls;
        names resolve through the registry and the active custom_object_scope)."""
        from fastkeras.saving.model_file import restore_compile

        restore_compile(self, config)

    def to_json(self, **kwargs):
        """A JSON string of the model's config (Keras 3's ``serialize_keras_object`` layout);
        ``keras.models.model_from_json`` reads it back. kwargs go to json.dumps."""
        from fastkeras.saving.model_file import model_to_json

        return model_to_json(self, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights (and the optimizer's state) to a ``.weights.h5`` file."""
        from fastkeras.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Read weights written by ``save_weights`` (a ``.weights.h5`` file), or a Keras 2
        HDF5 weights file by layer order (skip_mismatch: for those, weights of other shapes
        are left as they are, with a warning)."""
        from fastkeras.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False):
        """Print the layer table (name and type, output shape, parameters) and totals."""
        from fastkeras.models.summary import summary_lines

        out = print_fn or print
        for line in summary_lines(self, line_length or 65):
            out(line)

    def get_config(self):
        if self._graph is None:
            return {"name": self.name, "trainable": self.trainable}
        from fastkeras.models.configs import graph_config

        return graph_config(self)


def _nested(spec):
    """Whether an output structure is more than one tensor or a flat list of them."""
    if isinstance(spec, dict):
        return True
    return isinstance(spec, (list, tuple)) and any(isinstance(v, (list, tuple, dict))
                                                   for v in spec)


def _model_from_config(cls, config, custom_objects=None):
    if "layers" not in config:  # a subclassed model: its constructor takes its config
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(f"Unable to revive model {cls.__name__} from config: its "
                            f"get_config() must return the constructor's arguments ({e})"
                            ) from None
    from fastkeras.models.configs import graph_from_config

    return graph_from_config(cls, config, custom_objects)


Model.from_config = classmethod(_model_from_config)


def _map_shape_zeros(shapes, dtype):
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, (int, np.integer))
                                         for d in shapes):
        return np.zeros(tuple(1 if d is None else d for d in shapes), dtype)
    if isinstance(shapes, (list, tuple)):
        return [_map_shape_zeros(s, dtype) for s in shapes]
    if isinstance(shapes, dict):  # a subclassed model fed a dict (the endpoint recipe)
        return {k: _map_shape_zeros(s, dtype) for k, s in shapes.items()}
    raise TypeError(f"not a shape: {shapes!r}")


Functional = Model


def _node_tensors(node):
    """The symbolic tensors a recorded call reads: its inputs, and any in its other
    arguments (a mask passed explicitly, as Keras files record it)."""
    if node["inputs"] is None:
        return []
    out = []
    for t in _flatten([node["inputs"], list(node["args"]), node["kwargs"]]):
        if not isinstance(t, KerasTensor):
            continue
        while t._keras_history is None and t._mask_source is not None:
            t = t._mask_source  # a symbolic mask: the call reads the tensor it belongs to
        if t._keras_history is None:
            raise ValueError(f"Layer {node['layer'].name!r} was called on a KerasTensor that "
                             "no layer produced; use fastkeras.Input or a layer's output")
        out.append(t)
    return out


def _walk_graph(flat_out):
    """Depth-first from the outputs: the recorded calls in post-order (each after the calls
    it reads) and, per layer id, the order in which the walk first met the layer."""
    first_seen, post_order, done = {}, [], set()

    def walk(kt):
        node = kt._keras_history[1]
        if id(node) in done:
            return
        first_seen.setdefault(id(node["layer"]), len(first_seen))
        for t in _node_tensors(node):
            walk(t)
        done.add(id(node))
        post_order.append(node)

    for t in flat_out:
        walk(t)
    return post_order, first_seen


def _keras_layer_order(flat_in, post_order, first_seen):
    """The model's layers in Keras 3's order (weights files and summaries depend on it):
    by depth from the outputs, deepest first, ties in the order a depth-first walk from
    the outputs first met them; inputs that feed nothing come first."""
    first_seen = dict(first_seen)
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(post_order):
        layer = node["layer"]
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(layer), 0))
        layer_depth[id(layer)] = node_depth[id(node)] = depth
        layers[id(layer)] = layer
        for t in _node_tensors(node):
            parent = id(t._keras_history[1])
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in flat_in:  # inputs no output depends on
        layer = t._keras_history[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], first_seen[id(layer)], layers[id(layer)] = 0, -1, layer
    return sorted(layers.values(), key=lambda l: (-layer_depth[id(l)], first_seen[id(l)]))


class Sequential(Model):
    """A linear stack of layers (keras.Sequential): a list, or ``add`` one by one; the
    first layer's ``input_shape`` (or an ``Input``) fixes the input, else the model is
    built on the first data it sees."""

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name or _unique_name("sequential"), trainable=trainable)
        self._input_kt = None
        self._seq = []
        self._seq_outputs = []
        object.__setattr__(self, "_layers", [])
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    @property
    def layers(self):
        return list(self._seq)

    def layer_chain(self):
        """The stack's layers (None for a subclass with its own call)."""
        return list(self.layers) if type(self).call is Sequential.call else None

    def add(self, layer, rebuild=True):
        """Append a layer (or an ``Input``, which fixes the model's input shape). Each
        layer is called once on the symbolic input, so ``layer.output`` is the tensor the
        model computes (the feature-extraction pattern)."""
        if isinstance(layer, KerasTensor):
            if self._input_kt is not None or self._seq:
                raise ValueError("Sequential: an Input can only be the first thing added")
            self._input_kt = layer
            return
        if isinstance(layer, InputLayer):
            return self.add(layer.output, rebuild)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if any(layer is l for l in self._seq):
            raise ValueError(f"Layer {layer.name!r} is already in the model")
        if any(layer.name == l.name for l in self._seq):
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name {layer.name!r} is already the name of a layer in "
                             f"this model")
        if not self._seq and self._input_kt is None and layer._batch_input_shape is not None:
            from fastkeras.layers.base import Input

            self._input_kt = Input(batch_shape=layer._batch_input_shape,
                                   dtype=layer.dtype)
        self._seq.append(layer)
        self._layers.append(layer)
        if not rebuild:
            return
        if self._graph is not None and len(self._seq_outputs) == len(self._seq) - 1:
            self._extend(layer)  # the layers before keep their calls
        else:
            self._rebuild()

    def pop(self):
        """Remove the last layer."""
        if not self._seq:
            raise TypeError("There are no layers in the model")
        layer = self._seq.pop()
        self._layers.remove(layer)
        if self._graph is not None and len(self._seq_outputs) == len(self._seq) + 1 and \
                self._seq:
            self._seq_outputs.pop()
            self._set_output(self._seq_outputs[-1])
        else:
            self._rebuild()
        return layer

    def _extend(self, layer):
        x = layer(self._seq_outputs[-1] if self._seq_outputs else self._input_kt)
        if isinstance(x, (list, tuple)) and len(x) == 1:
            x = x[0]
        self._seq_outputs.append(x)
        self._set_output(x)

    def _set_output(self, x):
        self._graph = {"inputs": self._input_kt, "outputs": x, "nodes": None}
        self._output_dtypes = [t.dtype for t in _flatten(x)]
        self.built = True

    def _rebuild(self):
        self._graph = None
        self._seq_outputs = []
        if self._input_kt is None and len(self._seq) > 1:
            self._input_from_first_model()
        if self._input_kt is None or not self._seq:
            return
        for layer in self._seq:
            self._extend(layer)

    def _input_from_first_model(self):
        """Keras 3: a first layer that knows its input shape (a functional model, a
        built Sequential, with one input) gives the model its input, so the model is
        built as it is made (``Sequential([base_model, GlobalAveragePooling2D(),
        Dense(5)])`` has its head's weights at once). Its input takes the first layer's
        dtype, as Keras' InputLayer does."""
        from fastkeras.layers.base import Input

        first = self._seq[0]
        inputs = first.inputs if isinstance(first, Model) else None
        if not inputs or len(inputs) != 1:
            return
        self._input_kt = Input(batch_shape=inputs[0].shape, dtype=first.compute_dtype)

    def build(self, input_shape=None):
        if self._graph is None and input_shape is not None and self._seq:
            from fastkeras.layers.base import Input

            self._input_kt = Input(batch_shape=(None,) + tuple(input_shape[1:]))
            self._rebuild()
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if self._graph is None and self._input_kt is None and self._seq:
            shape = as_array(inputs).shape if not isinstance(inputs, Tensor) else inputs.shape
            self.build(shape)
        x = inputs
        fast = not training and not _tape.is_recording()
        for i, layer in enumerate(self._seq):
            if fast and i and layer.built and layer.activity_regularizer is None and \
                    type(x) is Tensor and x._keras_mask is None and \
                    type(layer).compute_mask is Layer.compute_mask:
                # inference between built layers: the previous layer's output already has
                # the right dtype and shape, so the call goes straight to `call`
                x = layer.call(x, training=False) if layer._call_has_training else layer.call(x)
                continue
            kw = {"training": training} if training is not None and layer._call_has_training \
                else {}
            x = layer(x, **kw)
        return x

    def get_config(self):
        from fastkeras.models.configs import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fastkeras.models.configs import sequential_from_config

        return sequential_from_config(cls, config, custom_objects)
