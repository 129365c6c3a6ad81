"""Model configs in Keras 3's schema, so that ``.keras`` files move both ways between
fastkeras and tf.keras: every object is ``{"module", "class_name", "config",
"registered_name"}``, layer dtypes are ``DTypePolicy`` dicts, each layer carries its
``build_config`` and a functional layer's ``inbound_nodes`` hold its calls as
``{"args", "kwargs"}`` with ``__keras_tensor__`` references ``[layer, node, tensor]``.
The readers also take the Keras 2 layouts (``[[layer, node, tensor, kwargs], ...]``)."""
import inspect

import numpy as np

from fastkeras.layers.base import InputLayer, KerasTensor, _flatten, _map, _snake
from fastkeras.ops.tensor import Tensor, as_array

__all__ = ["layer_entry", "model_entry", "graph_config", "graph_from_config",
           "sequential_config", "sequential_from_config", "dtype_policy", "make_layer"]


def dtype_policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def _class_names(obj):
    """(module, class_name, registered_name) as Keras 3 writes them."""
    from fastkeras.models.model import Model, Sequential

    cls = type(obj)
    if cls.__module__.startswith("fastkeras."):
        if cls is Sequential:
            return "keras", "Sequential", None
        if cls is Model and obj._graph is not None:
            return "keras.src.models.functional", "Functional", "Functional"
        return "keras.layers", cls.__name__, None
    from fastkeras.saving.object_registration import get_registered_name

    # a user's class: found again through the registry ("package>Name") or custom_objects
    module = None if cls.__module__ == "__main__" else cls.__module__
    return module, cls.__name__, get_registered_name(cls)


def _json_shape(shape):
    if isinstance(shape, dict):
        return {k: _json_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool))
            for d in shape):
        return [None if d is None else int(d) for d in shape]
    if isinstance(shape, (list, tuple)):
        return [_json_shape(s) for s in shape]
    return shape


def layer_entry(layer):
    """One layer (or nested model) as a Keras 3 config entry."""
    from fastkeras.layers.core import OpLayer

    if isinstance(layer, OpLayer):
        return {"module": layer.module, "class_name": layer.class_name,
                "config": layer.get_config(),  # Keras 3 names its operations so
                "registered_name": layer.class_name
                if layer.module.startswith("keras.src.ops.") else None}
    module, class_name, registered = _class_names(layer)
    cfg = dict(layer.get_config())
    if isinstance(layer, InputLayer):
        cfg.setdefault("ragged", False)
        cfg.setdefault("optional", False)
    else:
        cfg.pop("batch_input_shape", None)  # Keras 3 models keep it in their InputLayer
        if isinstance(cfg.get("dtype"), str):
            cfg["dtype"] = dtype_policy(cfg["dtype"])
    entry = {"module": module, "class_name": class_name, "config": cfg,
             "registered_name": registered}
    if not isinstance(layer, InputLayer):
        build = layer.get_build_config()
        if build is None and getattr(layer, "_build_input_shape", None) is not None:
            build = {"input_shape": layer._build_input_shape}
        if build is not None:
            entry["build_config"] = _json_shape(build)
    return entry


def model_entry(model):
    """A whole model's entry (the top of config.json) with its build config."""
    entry = layer_entry(model)
    shape = getattr(model, "_last_input_shape", None)  # a subclassed model: its first data
    if model._graph is not None:
        shapes = [t.shape for t in model.inputs]
        shape = shapes[0] if len(shapes) == 1 else shapes
    entry["build_config"] = {"input_shape": _json_shape(shape)}
    return entry


def _tensor_ref(t, index_of):
    layer, node, idx = t._keras_history
    return {"class_name": "__keras_tensor__",
            "config": {"shape": _json_shape(t.shape),
                       "dtype": "string" if t.dtype == object else t.dtype.name,
                       "keras_history": [layer.name, index_of(layer, node), idx]}}


def _call_args(value, ref):
    """A call's arguments with each KerasTensor as a reference; values that are not
    JSON (arrays, objects) are refused with the argument named."""
    if isinstance(value, KerasTensor):
        return ref(value)
    if isinstance(value, (list, tuple)):
        return [_call_args(v, ref) for v in value]
    if isinstance(value, dict):
        return {k: _call_args(v, ref) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (Tensor, np.ndarray)) and np.ndim(as_array(value)) == 0:
        return as_array(value).item()  # a constant operand of an op (`x != 0`)
    if isinstance(value, slice):  # an op's index (`x[:, 0]`), as Keras 3 writes it
        return {"class_name": "__slice__", "config": {
            "start": _call_args(value.start, ref), "stop": _call_args(value.stop, ref),
            "step": _call_args(value.step, ref)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, (Tensor, np.ndarray)) and as_array(value).dtype.kind in "biuf":
        a = as_array(value)  # a constant array operand (`ops.take(x, [0, 2])`)
        return {"class_name": "__tensor__" if isinstance(value, Tensor) else "__numpy__",
                "config": {"value": a.tolist(), "dtype": a.dtype.name}}
    raise ValueError(f"A layer call argument of type {type(value).__name__} cannot be saved in "
                     "a model config: pass tensors through Input, other arguments as "
                     "numbers, strings or lists")


def graph_config(model):
    """A functional model's config: its layers and, per call within this model, the
    tensors feeding it (node indices count only this model's calls of each layer).
    A symbolic mask passed explicitly (``layer(x, mask=x._keras_mask)``) is left out
    where the call is given that mask anyway (the mask of its input); otherwise it is
    written as Keras 3 writes it, the ``keras.ops`` nodes computing it (NotEqual, Any)."""
    from fastkeras.layers.core import OpLayer

    nodes = model._graph["nodes"]
    in_model = {id(n) for n in nodes}

    def model_nodes(layer):
        if isinstance(layer, InputLayer):
            return [n for n in layer._inbound if n.get("outputs") is not None]
        return [n for n in layer._inbound if id(n) in in_model]

    def index_of(layer, node):
        return next(i for i, n in enumerate(model_nodes(layer)) if n is node)

    operations = model.operations if hasattr(model, "operations") else model.layers
    masks = _MaskNodes({l.name for l in operations})

    def ref(t):
        if _is_symbolic_mask(t):
            return masks.ref(t, ref)
        return _tensor_ref(t, index_of)

    layers = []
    for layer in operations:
        entry = layer_entry(layer)
        entry["name"] = layer.name
        calls = []
        for n in ([] if isinstance(layer, InputLayer) else model_nodes(layer)):
            if isinstance(layer, OpLayer):
                args, kwargs = list(n["inputs"]), dict(n["kwargs"])
            else:
                args = [n["inputs"], *n["args"]]
                kwargs = _without_implied_masks(layer, args, dict(n["kwargs"]))
            calls.append({"args": _call_args(args, ref), "kwargs": _call_args(kwargs, ref)})
        entry["inbound_nodes"] = calls
        layers.append(entry)

    def refs(structure):  # as Keras 3 writes them: the structure the model was given
        return _map(lambda t: ref(t)["config"]["keras_history"], structure)

    return {"name": model.name, "trainable": model.trainable,
            "layers": masks.placed(layers), "input_layers": refs(model._graph["inputs"]),
            "output_layers": refs(model._graph["outputs"])}


def _is_symbolic_mask(t):
    return isinstance(t, KerasTensor) and t._keras_history is None and \
        t._mask_source is not None


def _same_structure(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))
    return a is b


def _without_implied_masks(layer, args, kwargs):
    """A call's kwargs without the symbolic masks passed explicitly that the call would be
    given anyway (Keras fills ``mask`` from the input's mask), so that the file replays
    the same call with the layers' own masks; the kwargs unchanged otherwise."""
    explicit = {k: v for k, v in kwargs.items()
                if any(_is_symbolic_mask(t) for t in _flatten(v))}
    if not explicit:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k not in explicit}
    try:
        filled, _ = layer._fill_masks(tuple(args), rest)
    except (TypeError, ValueError):
        return kwargs
    if all(_same_structure(filled.get(k), v) for k, v in explicit.items()):
        return rest
    return kwargs


class _MaskNodes:
    """The keras.ops nodes standing for symbolic masks in a config, as Keras 3 records
    the masks it computes: an Embedding(mask_zero=True)'s is NotEqual(inputs, 0), a
    Masking's Any(NotEqual(inputs, mask_value), axis=-1). Other masks (a custom
    compute_mask) have no ops to record them by."""

    def __init__(self, taken):
        self.taken = set(taken)
        self.refs = {}
        self.after = {}  # producing layer's name -> the op entries for its masks

    def _name(self, base):
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def _op(self, producer, class_name, args, options, shape):
        name = self._name(_snake(class_name))
        self.after.setdefault(producer.name, []).append({
            "module": "keras.src.ops.numpy", "class_name": class_name,
            "config": {"name": name, **options}, "registered_name": None, "name": name,
            "inbound_nodes": [{"args": args, "kwargs": {}}]})
        return {"class_name": "__keras_tensor__",
                "config": {"shape": _json_shape(shape), "dtype": "bool",
                           "keras_history": [name, 0, 0]}}

    def ref(self, mask, tensor_ref):
        if id(mask) in self.refs:
            return self.refs[id(mask)]
        from fastkeras.layers.core import Embedding, Masking

        source = mask._mask_source
        producer, node, _ = source._keras_history if source._keras_history else (None,) * 3
        x = node["inputs"] if node is not None else None
        own = producer is not None and type(producer).compute_mask in (
            Embedding.compute_mask, Masking.compute_mask)
        if own and isinstance(x, KerasTensor) and isinstance(producer, Embedding) and \
                producer.mask_zero:
            out = self._op(producer, "NotEqual", [tensor_ref(x), 0], {}, mask.shape)
        elif own and isinstance(x, KerasTensor) and isinstance(producer, Masking):
            value = producer.mask_value
            value = value.item() if isinstance(value, np.generic) else value
            ne = self._op(producer, "NotEqual", [tensor_ref(x), value], {}, x.shape)
            out = self._op(producer, "Any", [ne], {"axis": -1, "keepdims": False},
                           mask.shape)
        else:
            what = producer.name if producer is not None else "a tensor"
            raise ValueError(f"A call is given `mask=` the symbolic mask of {what!r}, which a "
                             "model config cannot record: only the masks of Embedding "
                             "(mask_zero=True) and Masking outputs, or the mask the call's "
                             "input carries, can be saved. Let the mask flow to the layer "
                             "(drop `mask=`), or compute it with a layer")
        self.refs[id(mask)] = out
        return out

    def placed(self, layers):
        """The layer entries with each op entry after the layer whose mask it computes
        (the order Keras lists them in)."""
        out = []
        for entry in layers:
            out.append(entry)
            out.extend(self.after.get(entry["name"], []))
        return out


def sequential_config(model):
    layers = []
    if model._input_kt is not None:
        layers.append(layer_entry(model._input_kt._keras_history[0]))
    layers += [layer_entry(l) for l in model.layers]
    config = {"name": model.name, "trainable": model.trainable,
              "dtype": dtype_policy(model.dtype), "layers": layers}
    if model._input_kt is not None:
        config["build_input_shape"] = _json_shape(model._input_kt.shape)
    return config
def _layer_class(item, custom_objects):
    """The class of a config entry: a custom object (registry, custom_object_scope or
    custom_objects, by registered name, class name or the name after "package>"), then
    fastkeras' models and layers. Nothing is imported from the entry's module."""
    from fastkeras.layers.base import Layer
    from fastkeras.saving.object_registration import custom_class
    from fastkeras.saving.serialization_lib import _family, builtin_object

    name = item["class_name"]
    cls = custom_class(name, item.get("registered_name"), custom_objects)
    if cls is None:
        family = _family(item.get("module"))
        if family not in ("keras", "models"):
            family = "layers"
        cls = builtin_object(family, name) or builtin_object("models", name)
        if cls is not None and family is not None and item.get("module"):
            from fastkeras.saving.serialization_lib import _builtin_checked

            _builtin_checked(item, name, cls)  # a built-in claiming a registered name
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"Unknown layer: {name!r}. Please ensure you are using a "
                         "`keras.utils.custom_object_scope` or pass it in custom_objects "
                         "(or register it with keras.saving.register_keras_serializable)")
    return cls


# config keys whose values name functions or objects (a custom one resolves by its name)
_OBJECT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def _names_object(key):
    return key in ("activation", "recurrent_activation") or key.endswith(_OBJECT_SUFFIXES)


def _builtin_name(key, name):
    """Whether `name` is one of fastkeras' own objects for the config key (then a custom
    object matches it only by its exact name)."""
    from fastkeras.saving.serialization_lib import builtin_object

    if key in ("activation", "recurrent_activation", "function"):
        return builtin_object("activations", name, "function") is not None
    family = {"_initializer": "initializers", "_regularizer": "regularizers",
              "_constraint": "constraints"}[next(s for s in _OBJECT_SUFFIXES if key.endswith(s))]
    import importlib

    module = importlib.import_module(f"fastkeras.{family}")
    return name in getattr(getattr(module, "_family", None), "names", {})


def _revive(key, value, known, safe_mode):
    """A config value naming a custom object: the object (a class named by a string is
    instantiated, as Keras' get functions do); anything else unchanged."""
    from fastkeras.saving.object_registration import lookup
    from fastkeras.saving.serialization_lib import _deserialize

    if isinstance(value, str):
        obj = lookup(value, known, suffix=not _builtin_name(key, value))
        if obj is None:
            return value
        return obj() if isinstance(obj, type) else obj
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        if value["class_name"] == "function":
            name = value.get("config")
            obj = lookup(name, known, suffix=isinstance(name, str) and
                         not _builtin_name(key, name))
            return value if obj is None else obj
        names = (value.get("registered_name"), value["class_name"])
        if any(isinstance(n, str) and n in known for n in names):
            return _deserialize(value, known, safe_mode)
    return value


def _revive_objects(cls, config, known, safe_mode):
    """The layer config with custom activations, initializers, regularizers, constraints
    (and a Lambda's function) replaced by the objects they name."""
    from fastkeras.layers import Lambda

    out = {}
    for key, value in config.items():
        if _names_object(key) or (key == "function" and issubclass(cls, Lambda)):
            value = _revive(key, value, known, safe_mode)
        out[key] = value
    return out


def _from_config(cls, config, known):
    from fastkeras.saving.serialization_lib import _takes

    if _takes(cls.from_config, "custom_objects"):
        return cls.from_config(config, custom_objects=known)
    return cls.from_config(config)


def make_layer(item, custom_objects=None, cls=None):
    """A layer (or nested model) from its entry, with the custom objects (custom_objects,
    the active custom_object_scope and the registry) in scope. A Lambda takes its function
    from them by name; Keras ops recorded in the graph become OpLayers."""
    from fastkeras.layers.core import OpLayer
    from fastkeras.saving.object_registration import CustomObjectScope, known_objects
    from fastkeras.saving.serialization_lib import in_safe_mode

    module = item.get("module") or ""
    if module.startswith("keras.src.ops.") or module.startswith("keras.ops") or \
            module == "fastkeras.ops":
        from fastkeras.ops.symbolic import op_name_for

        config = dict(item["config"])  # a keras.ops function applied in the graph
        name = config.pop("name", None)
        return OpLayer(op_name_for(item["class_name"]), module=module,
                       class_name=item["class_name"], arguments=config, name=name)
    cls = cls or _layer_class(item, custom_objects)
    known = known_objects(custom_objects)
    config = item["config"]
    if cls is InputLayer:
        return InputLayer.from_config(config)
    if isinstance(config, dict):
        safe_mode = in_safe_mode()
        config = _revive_objects(cls, config, known, True if safe_mode is None else safe_mode)
    with CustomObjectScope(known):
        layer = _from_config(cls, config, known)
        build = item.get("build_config")
        if build and not layer.built and _builds_from_config(layer):
            layer.build_from_config(build)
            layer.built = True
    return layer


def _builds_from_config(layer):
    """Whether a loaded layer is built from its ``build_config`` before the graph calls
    it (Keras builds every layer so): where the call could not rebuild it as it was, a
    ``build_from_config`` of its own or a build taking more than shapes
    (``build(input_shape, layer_init)``). Others build on their first call, from the
    shapes the graph gives them."""
    from fastkeras.layers.base import Layer, _build_params
    from fastkeras.models.model import Model

    if isinstance(layer, Model):
        return False
    if type(layer).build_from_config is not Layer.build_from_config:
        return True
    params = _build_params(layer)
    return len(params) > 1 and not all(p.endswith("_shape") for p in params)


_make_layer = make_layer


def sequential_from_config(cls, config, custom_objects=None):
    model = cls(name=config.get("name"))
    for item in config.get("layers", []):
        layer = make_layer(item, custom_objects)
        model.add(layer.output if isinstance(layer, InputLayer) else layer)
    if model._input_kt is None and config.get("build_input_shape"):
        model.build(tuple(config["build_input_shape"]))
    return model


def _refs_of(call):
    """The (layer, node, tensor) references one recorded call reads, in either format."""
    if isinstance(call, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        return list(_keras_refs([call.get("args", []), call.get("kwargs", {})]))
    return [tuple(r[:3]) for r in call]  # Keras 2: [[layer, node, tensor, kwargs], ...]


def _replay(layer, call, outputs_of):
    from fastkeras.layers.core import OpLayer

    if isinstance(call, dict):
        args = _replace_refs(call.get("args", []), outputs_of)
        kwargs = _without_default_training(layer, _replace_refs(call.get("kwargs", {}),
                                                                outputs_of))
        if isinstance(layer, OpLayer):  # an op takes its arguments as one list
            return layer(args, **kwargs)
        return layer(*args, **kwargs)
    ins = [outputs_of[r[0]][r[1]][r[2]] for r in call]
    kwargs = call[0][3] if call and len(call[0]) > 3 and isinstance(call[0][3], dict) else {}
    return layer(ins[0] if len(ins) == 1 else ins, **_without_default_training(layer, kwargs))


def _without_default_training(layer, kwargs):
    """A recorded call's kwargs without a `training` equal to the default of the layer's
    `call`. Keras writes that default into every node it records (Dropout's False, the
    augmentation layers' True) and then lets the model's own `training` override it; a
    fastkeras node keeps an explicit `training` (a frozen base called with
    training=False), so the written defaults are dropped here, where they cannot be told
    apart from explicit ones, and a loaded Dropout drops out in `fit` again."""
    if "training" not in kwargs:
        return kwargs
    try:
        param = inspect.signature(layer.call).parameters.get("training")
    except (TypeError, ValueError):
        return kwargs
    if param is None or param.default is inspect.Parameter.empty or \
            kwargs["training"] != param.default:
        return kwargs
    return {k: v for k, v in kwargs.items() if k != "training"}


def graph_from_config(cls, config, custom_objects=None, make=None, inputs_of=None):
    """Rebuild a functional model from its config: each layer from its entry, then each
    recorded call replayed, call by call, once the tensors it reads exist. clone_model
    passes `make(entry)` for the layers and `inputs_of` (input layer name -> tensor)."""
    from fastkeras.models.model import Model

    layers, outputs_of, todo = {}, {}, []
    for item in config["layers"]:
        name = item.get("name") or item["config"].get("name")
        if inputs_of is not None and name in inputs_of:
            outputs_of[name] = [[inputs_of[name]]]
            continue
        layer = make(item) if make is not None else make_layer(item, custom_objects)
        layers[name] = layer
        calls = list(item.get("inbound_nodes", []))
        if isinstance(layer, InputLayer):
            outputs_of[name] = [[layer.output]]
        else:
            # Keras 2 counted a nested model's own construction as its node 0, so the
            # calls its configs refer to start at 1
            legacy = any(not isinstance(c, dict) for c in calls)
            nested = isinstance(layer, Model) and layer._graph is not None
            outputs_of[name] = [None] if legacy and nested else []
            todo.append((name, calls))
    progress = True
    while progress:
        progress = False
        for name, calls in todo:
            while calls and all(src in outputs_of and len(outputs_of[src]) > node
                                for src, node, _ in _refs_of(calls[0])):
                outputs_of[name].append(_flatten(_replay(layers[name], calls.pop(0),
                                                         outputs_of)))
                progress = True
    stuck = [name for name, calls in todo if calls]
    if stuck:
        raise ValueError(f"Could not rebuild the model graph: layers {stuck} have inputs "
                         "that are not produced by the config's layers")

    def tensors(spec):
        """The tensors a config's input_layers / output_layers name, in its structure
        (Keras 3: one [name, node, idx], or a list, tuple or dict of them, nested); a
        list of one (Keras 2 always wrote lists) is its tensor."""
        try:
            out = _tensors_of(spec, outputs_of)
        except (KeyError, IndexError, TypeError, ValueError):
            raise ValueError(f"The model config names inputs or outputs {spec!r} that its "
                             "layers do not produce") from None
        return out[0] if isinstance(out, list) and len(out) == 1 else out

    return cls(inputs=tensors(config["input_layers"]),
               outputs=tensors(config["output_layers"]), name=config.get("name"))


def _is_ref(spec):
    return isinstance(spec, (list, tuple)) and 3 <= len(spec) <= 4 and \
        isinstance(spec[0], str)


def _tensors_of(spec, outputs_of):
    if _is_ref(spec):
        name, node, idx = spec[:3]
        if not (isinstance(node, int) and isinstance(idx, int)):
            raise TypeError(spec)
        return outputs_of[name][node][idx]
    if isinstance(spec, dict):
        return {k: _tensors_of(v, outputs_of) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)) and spec:
        out = [_tensors_of(v, outputs_of) for v in spec]
        return out if isinstance(spec, list) else tuple(out)
    raise ValueError(spec)


def _is_keras_tensor(x):
    return isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"


def _keras_refs(x):
    if _is_keras_tensor(x):
        yield tuple(x["config"]["keras_history"])
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _keras_refs(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _keras_refs(v)


_CONSTANT_CLASSES = frozenset({"__slice__", "__ellipsis__", "__numpy__", "__tensor__"})


def _constant(x, outputs_of):
    """A constant argument of a call as Keras 3 writes it (an index, an array)."""
    kind, c = x["class_name"], x.get("config") or {}
    if kind == "__ellipsis__":
        return Ellipsis
    if kind == "__slice__":
        return slice(*(_replace_refs(c.get(k), outputs_of) for k in ("start", "stop", "step")))
    dtype = np.dtype(c.get("dtype") or "float32")
    if dtype.kind not in "biuf":
        raise ValueError(f"A constant call argument has dtype {dtype}: only numbers load")
    value = np.array(c.get("value"), dtype=dtype)
    return Tensor(value) if kind == "__tensor__" else value


def _replace_refs(x, outputs_of):
    if _is_keras_tensor(x):
        name, node, idx = x["config"]["keras_history"]
        return outputs_of[name][node][idx]
    if isinstance(x, dict) and x.get("class_name") in _CONSTANT_CLASSES and \
            set(x) <= {"class_name", "config"}:
        return _constant(x, outputs_of)
    if isinstance(x, list):
        return [_replace_refs(v, outputs_of) for v in x]
    if isinstance(x, dict):
        return {k: _replace_refs(v, outputs_of) for k, v in x.items()}
    return x
