"""keras-io guides/transfer_learning.py, "Fine-tuning": after the head is trained on the
frozen base (transfer_learning's workflow), the base is unfrozen, the model recompiled
with Adam(1e-5) and trained again; the base was called with training=False, which the
guide says keeps its BatchNormalization layers in inference mode.

Keras 3.15 does not do what its guide says here: its Functional passes fit's
training=True over the node's explicit training=False (models/functional.py
operation_fn), so the moving statistics change during fine-tuning; fastkeras keeps
training=False (findings F8). Port: as transfer_learning.
"""
import numpy as np

from ..harness import history, to_numpy
from .transfer_learning import workflow

SOURCE = "guides/transfer_learning.py"


def run(lib):
    keras = lib.keras
    out = {}
    model, base_model, xs, ys, moving_before = workflow(lib, out)
    base_model.trainable = True
    out["fine_tune_trainable_weights"] = len(model.trainable_weights)
    model.compile(optimizer=keras.optimizers.Adam(1e-5),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy()])
    h2 = model.fit(xs, ys, batch_size=50, epochs=2, validation_split=0.25, verbose=0,
                   shuffle=False)
    out["fine_tune_history"] = history(h2)
    out["bn_statistics_still_frozen"] = bool(np.array_equal(
        moving_before, to_numpy(base_model.layers[1].moving_mean)))
    return out
