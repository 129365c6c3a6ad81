"""plot_model: the model's layer graph drawn with matplotlib (the [plot] extra)."""
from fastkeras.layers.base import InputLayer, KerasTensor, _flatten

__all__ = ["plot_model", "model_graph"]


def model_graph(model):
    """(nodes, edges): nodes are (layer, input shapes, output shapes) in order; edges are
    (from index, to index) between layers, from the model's symbolic graph (a model
    without one, e.g. subclassed and never traced, gives its layers as a chain)."""
    layers = list(model.layers)
    if model._graph is None:
        return [(l, None, None) for l in layers], [(i, i + 1) for i in range(len(layers) - 1)]
    nodes, edges = [], []
    index = {id(l): i for i, l in enumerate(layers)}
    if hasattr(model, "_input_kt") and model._input_kt is not None:  # Sequential's input
        inp = model._input_kt._keras_history[0]
        layers.insert(0, inp)
        index = {id(l): i for i, l in enumerate(layers)}
    for i, layer in enumerate(layers):
        calls = [n for n in layer._inbound if n.get("outputs") is not None]
        call = calls[-1] if calls else None
        ins = None if call is None or call["inputs"] is None else \
            [t.shape for t in _flatten(call["inputs"]) if isinstance(t, KerasTensor)]
        outs = None if call is None else [t.shape for t in _flatten(call["outputs"])]
        if isinstance(layer, InputLayer):
            ins = outs = [layer.batch_shape]
        nodes.append((layer, ins, outs))
        for c in calls:  # a shared layer has one call per use
            for t in _flatten(c["inputs"]) if c["inputs"] is not None else []:
                src = t._keras_history[0] if isinstance(t, KerasTensor) else None
                if src is not None and id(src) in index and (index[id(src)], i) not in edges:
                    edges.append((index[id(src)], i))
    return nodes, edges


def _fmt(shapes):
    if shapes is None:
        return "?"
    return str(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(map(str, shapes)) + "]"


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", dpi=96, **kwargs):
    """Draw the model's layers and connections to ``to_file`` (png, jpg, pdf, svg...).

    Needs matplotlib: ``pip install "fastkeras[plot]"``."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyBboxPatch
    except ImportError:
        raise ImportError("plot_model needs matplotlib: pip install \"fastkeras[plot]\" "
                          "(or pip install matplotlib)") from None
    nodes, edges = model_graph(model)
    if not nodes:
        raise ValueError(f"Model {model.name!r} has no layers to plot")
    depth = [0] * len(nodes)
    for _ in range(len(nodes)):
        for a, b in edges:
            depth[b] = max(depth[b], depth[a] + 1)
    rows = {}
    for i, d in enumerate(depth):
        rows.setdefault(d, []).append(i)
    labels = []
    for layer, ins, outs in nodes:
        head = f"{layer.name}: {type(layer).__name__}" if show_layer_names else \
            type(layer).__name__
        if show_dtype:
            head += f" ({layer.dtype})"
        text = head + (f"\ninput: {_fmt(ins)}\noutput: {_fmt(outs)}" if show_shapes else "")
        labels.append(text)
    width = max(len(rows[d]) for d in rows)
    box_w, box_h, gap = 3.6, 1.0 if show_shapes else 0.5, 0.6
    fig_w = max(4.0, width * (box_w + 0.4))
    fig_h = max(2.0, len(rows) * (box_h + gap))
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=dpi)
    pos = {}
    for d, members in rows.items():
        for k, i in enumerate(members):
            x = (k + 0.5) * fig_w / len(members)
            y = fig_h - (d + 0.5) * (box_h + gap)
            if rankdir == "LR":
                x, y = (d + 0.5) * (box_w + gap), fig_h - (k + 0.5) * fig_h / len(members)
            pos[i] = (x, y)
            ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                        boxstyle="round,pad=0.05", fc="#eef3fb", ec="#34495e"))
            ax.text(x, y, labels[i], ha="center", va="center", fontsize=8, family="monospace")
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", xy=(x1, y1 + box_h / 2), xytext=(x0, y0 - box_h / 2),
                    arrowprops=dict(arrowstyle="->", color="#34495e"))
    ax.set_xlim(0, max(fig_w, max(p[0] for p in pos.values()) + box_w / 2))
    ax.set_ylim(0, fig_h)
    ax.axis("off")
    fig.savefig(to_file, bbox_inches="tight")
    plt.close(fig)
    return to_file
