"""Model.summary()'s table and the models' configs."""
from fastkeras.layers.base import InputLayer, KerasTensor, _flatten

__all__ = ["summary_lines", "graph_config", "graph_from_config", "sequential_config",
           "sequential_from_config"]


def _shape_text(shapes):
    if shapes is None:
        return "multiple"
    if len(shapes) == 1:
        return str(shapes[0])
    return "[" + ", ".join(str(s) for s in shapes) + "]"


def _layer_rows(model):
    """(name (type), output shape text, params, layer) per layer, in the model's order."""
    rows = []
    graph = model._graph
    for layer in model.layers:
        shapes = None
        if isinstance(layer, InputLayer):
            shapes = [layer.batch_shape]
            text = "[" + str(tuple(layer.batch_shape)) + "]"
        else:
            nodes = [n for n in layer._inbound if n.get("outputs") is not None]
            if graph is not None and nodes:
                shapes = [t.shape for t in _flatten(nodes[-1]["outputs"])]
            text = _shape_text(shapes)
        params = sum(int(w.numpy().size) for w in layer.weights) if layer.built else 0
        rows.append((f"{layer.name} ({type(layer).__name__})", text, params, layer))
    return rows


def summary_lines(model, width=65):
    cols = [int(width * 0.45), int(width * 0.85), width]
    rule, double = "_" * width, "=" * width

    def row(fields):
        line = ""
        for text, end in zip(fields, cols):
            line = (line + str(text))[:end - 1].ljust(end)
        return line.rstrip()

    lines = [f'Model: "{model.name}"', rule, row(["Layer (type)", "Output Shape", "Param #"]),
             double]
    rows = _layer_rows(model)
    for i, (name, shape, params, _) in enumerate(rows):
        lines.append(row([name, shape, params]))
        lines.append(double if i == len(rows) - 1 else rule)
    if not rows:
        lines.append(double)
    weights = model.weights if model.built else []
    seen, trainable, total = set(), 0, 0
    train_ids = {id(w) for w in model.trainable_weights} if model.built else set()
    for w in weights:
        if id(w) in seen:
            continue
        seen.add(id(w))
        n = int(w.numpy().size)
        total += n
        trainable += n if id(w) in train_ids else 0
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", rule]
    return lines


def _layer_config(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config(),
            "name": layer.name}


def _ref(t):
    """[layer name, node index, tensor index] of a symbolic tensor (Keras' layout)."""
    layer, node, idx = t._keras_history
    nodes = [n for n in layer._inbound if n.get("outputs") is not None]
    return [layer.name, next(i for i, n in enumerate(nodes) if n is node), idx]


def graph_config(model):
    """A functional model's config: its layers and, per call, the tensors feeding it."""
    layers = []
    for layer in model.layers:
        inbound = []
        for node in layer._inbound:
            if node.get("inputs") is None or node.get("outputs") is None:
                continue
            inbound.append([_ref(t) for t in _flatten(node["inputs"])
                            if isinstance(t, KerasTensor)])
        cfg = _layer_config(layer)
        cfg["inbound_nodes"] = inbound
        layers.append(cfg)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": [_ref(t) for t in model.inputs],
            "output_layers": [_ref(t) for t in model.outputs]}


def sequential_config(model):
    layers = []
    if model._input_kt is not None:
        layers.append(_layer_config(model._input_kt._keras_history[0]))
    layers += [_layer_config(l) for l in model.layers]
    return {"name": model.name, "trainable": model.trainable, "layers": layers}


def _layer_class(name, custom_objects):
    from fastkeras import layers as L

    cls = (custom_objects or {}).get(name) or getattr(L, name, None)
    if cls is None:
        raise ValueError(f"Unknown layer: {name!r}. Pass it in custom_objects")
    return cls


def sequential_from_config(cls, config, custom_objects=None):
    model = cls(name=config.get("name"))
    for item in config.get("layers", []):
        layer_cls = _layer_class(item["class_name"], custom_objects)
        if layer_cls is InputLayer:
            model.add(InputLayer.from_config(item["config"]).output)
        else:
            model.add(_from_config(layer_cls, item["config"], custom_objects))
    return model


def graph_from_config(cls, config, custom_objects=None):
    """Rebuild a functional model from graph_config: each layer from its config, then
    each recorded call replayed on the symbolic outputs of the layers feeding it."""
    created, outputs_of = {}, {}
    pending = list(config["layers"])
    for item in pending:
        layer_cls = _layer_class(item["class_name"], custom_objects)
        if layer_cls is InputLayer:
            layer = InputLayer.from_config(item["config"])
            outputs_of[layer.name] = [[layer.output]]
        else:
            layer = _from_config(layer_cls, item["config"], custom_objects)
        created[item["config"].get("name", item.get("name"))] = layer
    def tensors_in(call):  # [layer, node, tensor] refs of a call, in either format
        if isinstance(call, dict):
            return [h for h in _keras_refs(call.get("args", []))]
        return [tuple(r) for r in call]

    progress = True
    done = {n for n in outputs_of}
    while progress:
        progress = False
        for item in pending:
            name = item["config"].get("name", item.get("name"))
            if name in done:
                continue
            calls = item.get("inbound_nodes", [])
            if all(src in outputs_of and len(outputs_of[src]) > node
                   for call in calls for src, node, _ in tensors_in(call)):
                layer = created[name]
                outs = []  # per call, its output tensors
                for call in calls:
                    if isinstance(call, dict):  # Keras 3: args / kwargs with tensor refs
                        args = _replace_refs(call.get("args", []), outputs_of)
                        kwargs = _replace_refs(call.get("kwargs", {}), outputs_of)
                        out = layer(*args, **kwargs)
                    else:
                        ins = [outputs_of[src][node][idx] for src, node, idx in call]
                        out = layer(ins[0] if len(ins) == 1 else ins)
                    outs.append(_flatten(out))
                outputs_of[name] = outs
                done.add(name)
                progress = True
    missing = [i["config"].get("name") for i in pending
               if i["config"].get("name", i.get("name")) not in done]
    if missing:
        raise ValueError(f"Could not rebuild the model graph: layers {missing} have inputs "
                         "that are not produced by the config's layers")
    def refs(spec):  # [[name, node, idx], ...] or a single [name, node, idx]
        return [spec] if spec and isinstance(spec[0], str) else spec

    inputs = [outputs_of[n][k][i] for n, k, i in refs(config["input_layers"])]
    outputs = [outputs_of[n][k][i] for n, k, i in refs(config["output_layers"])]
    return cls(inputs=inputs[0] if len(inputs) == 1 else inputs,
               outputs=outputs[0] if len(outputs) == 1 else outputs, name=config.get("name"))


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


def _replace_refs(x, outputs_of):
    if _is_keras_tensor(x):
        name, node, idx = x["config"]["keras_history"]
        return outputs_of[name][node][idx]
    if isinstance(x, list):
        return [_replace_refs(v, outputs_of) for v in x]
    if isinstance(x, dict):
        return {k: _replace_refs(v, outputs_of) for k, v in x.items()}
    return x


def _from_config(layer_cls, config, custom_objects):
    """A layer from its config; a Lambda looks its function up in custom_objects."""
    from fastkeras.layers import Lambda

    if layer_cls is Lambda:
        return Lambda.from_config(config, custom_objects=custom_objects)
    return layer_cls.from_config(config)
