"""``keras.models.clone_model``: the same architecture with new layers (new weights)."""
from fastkeras.layers.base import InputLayer, KerasTensor, _flatten

__all__ = ["clone_model"]


def _default_clone(layer):
    """type(layer).from_config(layer.get_config()), keeping the layer's own custom
    activation functions (its config names them; registered or not, they are the same
    functions) and the registered objects in scope."""
    from fastkeras.saving.object_registration import CustomObjectScope, known_objects
    from fastkeras.saving.serialization_lib import builtin_object

    config = layer.get_config()
    for key in ("activation", "recurrent_activation"):
        fn = getattr(layer, key, None)
        if callable(fn) and isinstance(config.get(key), str) and \
                builtin_object("activations", config[key], "function") is None:
            config[key] = fn
    with CustomObjectScope(known_objects()):
        return type(layer).from_config(config)


def _check_clone(clone, layer):
    from fastkeras.layers.base import Layer

    if not isinstance(clone, Layer):
        raise TypeError(f"clone_model: `clone_function` must return a layer; for layer "
                        f"{layer.name!r} it returned {type(clone).__name__}")
    return clone


def _objects_of(spec, out):
    """The functions and custom classes a compile() spec names, by the names their
    entries carry (so that the clone's compile config resolves them)."""
    import inspect

    from fastkeras.saving.object_registration import get_registered_name

    if isinstance(spec, (list, tuple)):
        for s in spec:
            _objects_of(s, out)
    elif isinstance(spec, dict):
        for s in spec.values():
            _objects_of(s, out)
    elif spec is not None and not isinstance(spec, (str, int, float)):
        obj = spec if callable(spec) and not hasattr(spec, "get_config") else type(spec)
        if inspect.isclass(spec):
            obj = spec
        name = getattr(obj, "__name__", None)
        if name is not None:
            out[name] = obj
            out[get_registered_name(obj)] = obj
    return out


def _compiled_like(new, model):
    """Compile the clone as the original was, from its compile config (a fresh optimizer,
    fresh loss and metric objects), as Keras' compile_from_config does."""
    if not getattr(model, "compiled", False) or getattr(model, "_compile_args", None) is None:
        return new
    from fastkeras.saving.model_file import _compile_config, compile_from

    args = model._compile_args
    compile_from(new, _compile_config(model), _objects_of(list(args.values()), {}))
    return new


def _clone_sequential(model, clone_function, input_tensors):
    from fastkeras.models.model import Sequential

    layers = [_check_clone(clone_function(l), l) for l in model.layers]
    new = Sequential(name=model.name, trainable=model.trainable)
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)):
            if len(input_tensors) != 1:
                raise ValueError("clone_model: `input_tensors` must contain a single tensor "
                                 "for a Sequential model")
            input_tensors = input_tensors[0]
        if not isinstance(input_tensors, KerasTensor):
            raise ValueError("clone_model: `input_tensors` must be a KerasTensor (from "
                             f"keras.Input). Received invalid value: {input_tensors!r}")
        new.add(input_tensors)
    elif model._input_kt is not None:
        from fastkeras.layers.base import Input

        kt = model._input_kt
        source = kt._keras_history[0] if kt._keras_history else None
        new.add(Input(batch_shape=kt.shape, dtype=kt.dtype,
                      name=source.name if isinstance(source, InputLayer) else None))
    for layer in layers:
        new.add(layer)
    return new


def _clone_functional(model, clone_function, input_tensors):
    from fastkeras.layers.core import OpLayer
    from fastkeras.models.configs import graph_config, graph_from_config, make_layer

    config = graph_config(model)
    by_name = {l.name: l for l in model.layers}
    inputs_of = None
    if input_tensors is not None:
        given = _flatten(input_tensors)
        if len(given) != len(model.inputs) or not all(isinstance(t, KerasTensor)
                                                      for t in given):
            raise ValueError(f"clone_model: `input_tensors` must be {len(model.inputs)} "
                             "KerasTensor(s) (from keras.Input), one per model input. "
                             f"Received: {input_tensors!r}")
        inputs_of = {t._keras_history[0].name: g for t, g in zip(model.inputs, given)}
    clones = {}

    def make(entry):
        layer = by_name.get(entry.get("name"))
        if layer is None or isinstance(layer, (InputLayer, OpLayer)):
            return make_layer(entry)  # inputs and keras.ops nodes: new ones from the config
        if id(layer) not in clones:  # a shared layer is cloned once
            clones[id(layer)] = _check_clone(clone_function(layer), layer)
        return clones[id(layer)]

    return graph_from_config(type(model), config, make=make, inputs_of=inputs_of)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new Sequential or functional model with the same layers' configs and new weights
    (clone_function(layer) makes each layer; default ``type(layer).from_config(
    layer.get_config())``), on new inputs or on `input_tensors`. A compiled model's clone
    is compiled the same way, with a fresh optimizer. A subclassed model is rebuilt from
    its config (clone_function and input_tensors are then refused, as in Keras)."""
    from fastkeras.models.model import Model, Sequential

    if kwargs:
        raise ValueError(f"clone_model: unexpected keyword argument(s): {tuple(kwargs)}")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model: `model` must be a keras Model, got "
                        f"{type(model).__name__}")
    if call_function is not None:
        raise NotImplementedError("clone_model: `call_function` is not supported by fastkeras")
    if clone_function is not None and not callable(clone_function):
        raise ValueError("Expected `clone_function` argument to be a callable. Received: "
                         f"clone_function={clone_function!r}")
    base = clone_function or _default_clone
    if recursive:
        def clone(layer):
            if isinstance(layer, Model) and (isinstance(layer, Sequential) or
                                             layer._graph is not None):
                return clone_model(layer, clone_function=clone_function, recursive=True)
            return base(layer)
    else:
        clone = base
    if isinstance(model, Sequential):
        return _compiled_like(_clone_sequential(model, clone, input_tensors), model)
    if model._graph is not None:
        return _compiled_like(_clone_functional(model, clone, input_tensors), model)
    if clone_function is not None or input_tensors is not None:
        raise ValueError("Arguments `clone_function` and `input_tensors` are only supported "
                         "for Sequential models or Functional models. Received model of type "
                         f"'{type(model).__name__}', with clone_function={clone_function} and "
                         f"input_tensors={input_tensors}")
    from fastkeras.saving.serialization_lib import deserialize_keras_object, \
        serialize_keras_object

    entry = serialize_keras_object(model)
    entry.pop("compile_config", None)
    new = deserialize_keras_object(entry, custom_objects={type(model).__name__: type(model)})
    return _compiled_like(new, model)
