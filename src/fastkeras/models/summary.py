"""Model.summary()'s table and the models' configs."""
from fastkeras.layers.base import InputLayer, KerasTensor, _flatten

__all__ = ["summary_lines", "graph_config", "sequential_config", "sequential_from_config"]


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


def graph_config(model):
    """A functional model's config: its layers and, per call, the layers feeding it."""
    layers = []
    for layer in model.layers:
        inbound = []
        for node in layer._inbound:
            if node.get("inputs") is None:
                continue
            inbound.append([[t._keras_history[0].name, 0, t._keras_history[2]]
                            for t in _flatten(node["inputs"]) if isinstance(t, KerasTensor)])
        cfg = _layer_config(layer)
        cfg["inbound_nodes"] = inbound
        layers.append(cfg)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": [[t._keras_history[0].name, 0, 0] for t in model.inputs],
            "output_layers": [[t._keras_history[0].name, 0, t._keras_history[2]]
                              for t in model.outputs]}


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
            model.add(InputLayer(**item["config"]).output)
        else:
            model.add(layer_cls.from_config(item["config"]))
    return model
