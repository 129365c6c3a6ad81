"""Model.summary()'s table."""
from fastkeras.layers.base import InputLayer, _flatten

__all__ = ["summary_lines"]


def _size(w):
    """A weight's number of values (from its shape: no copy of the values)."""
    n = 1
    for d in w.shape:
        n *= int(d)
    return n


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
        params = sum(_size(w) for w in layer.weights) if layer.built else 0
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
        n = _size(w)
        total += n
        trainable += n if id(w) in train_ids else 0
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", rule]
    return lines
