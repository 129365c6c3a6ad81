"""The TensorBoard callback: event files written with tensorboardX (the [tensorboard]
extra), readable by TensorBoard: epoch (and batch) scalars, weight histograms and the
layer graph."""
import os
import time

import numpy as np

from fastkeras.callbacks.callback import Callback

__all__ = ["TensorBoard"]


def _writer(logdir):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("The TensorBoard callback writes its logs with tensorboardX: "
                          "pip install \"fastkeras[tensorboard]\" (or pip install tensorboardX)"
                          ) from None
    return SummaryWriter(logdir=logdir)


def _graph_def(model):
    """The model's layers as a GraphDef: one node per layer (op = its class), inputs from
    the calls that feed it."""
    from tensorboardX.proto import attr_value_pb2, graph_pb2, node_def_pb2, versions_pb2

    from fastkeras.utils.plotting import model_graph

    nodes, edges = model_graph(model)
    graph = graph_pb2.GraphDef()
    for i, (layer, ins, outs) in enumerate(nodes):
        node = node_def_pb2.NodeDef(name=layer.name, op=type(layer).__name__)
        node.input.extend(nodes[a][0].name for a, b in edges if b == i)
        if outs:
            node.attr["output_shape"].CopyFrom(attr_value_pb2.AttrValue(s=str(outs).encode()))
        graph.node.append(node)
    graph.versions.CopyFrom(versions_pb2.VersionDef(producer=22))
    return graph


class TensorBoard(Callback):
    """Writes ``log_dir/train`` and ``log_dir/validation`` event files: ``epoch_<metric>``
    scalars each epoch, ``batch_<metric>`` every ``update_freq`` batches (an int, or
    "batch" for every batch), weight histograms every ``histogram_freq`` epochs, and the
    layer graph when ``write_graph``."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"`update_freq` must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}")
        self.update_freq = update_freq
        self._train = self._val = None
        self._step = 0

    def on_train_begin(self, logs=None):
        self._train = _writer(os.path.join(self.log_dir, "train"))
        self._val = _writer(os.path.join(self.log_dir, "validation"))
        self._step = 0
        if self.write_graph and self.model is not None and self.model.built:
            try:
                graph = _graph_def(self.model)
            except (ValueError, AttributeError):
                graph = None  # a subclassed model never traced: nothing to draw
            if graph is not None:
                from tensorboardX.proto import event_pb2

                self._train._get_file_writer().add_event(
                    event_pb2.Event(graph_def=graph.SerializeToString()))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._epoch_steps = getattr(self, "_epoch_steps", 0) + 1
        if self.update_freq != "epoch" and self._step % self.update_freq == 0:
            for k, v in (logs or {}).items():
                self._train.add_scalar(f"batch_{k}", float(v), self._step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for k, v in logs.items():
            if k.startswith("val_"):
                self._val.add_scalar(f"epoch_{k[4:]}", float(v), epoch)
            else:
                self._train.add_scalar(f"epoch_{k}", float(v), epoch)
        if self.write_steps_per_second:
            dt = time.perf_counter() - getattr(self, "_epoch_start", time.perf_counter())
            if dt > 0:
                self._train.add_scalar("epoch_steps_per_second", self._epoch_steps / dt, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for layer in self.model.layers:
                for w in layer.weights:
                    values = np.asarray(w.numpy(), dtype=np.float64).ravel()
                    if values.size:
                        self._train.add_histogram(f"{layer.name}/{w.name}", values, epoch)
        self._train.flush()
        self._val.flush()

    def on_train_end(self, logs=None):
        for w in (self._train, self._val):
            if w is not None:
                w.close()
        self._train = self._val = None
