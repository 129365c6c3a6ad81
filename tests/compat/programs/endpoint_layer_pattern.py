"""keras-io examples/keras_recipes/endpoint_layer_pattern.py (Keras 3 version): a
LogisticEndpoint layer receiving the targets and sample weights as inputs and adding its
loss with add_loss; a functional model compiled without a loss and fit on a dict; an
inference-only model without targets sharing the weights (set_weights); the same endpoint
in a subclassed model taking a dict.

Port: tf.nn.softmax -> keras.ops.softmax; Keras 3 has no add_metric, so the accuracy
metric of the tf.keras 2 version is not logged; 1,000 x 764 random inputs -> 200 x 64.
"""
import numpy as np

from ..harness import history, seed_weights, to_numpy

SOURCE = "examples/keras_recipes/endpoint_layer_pattern.py"


def run(lib):
    keras = lib.keras
    ops = keras.ops
    out = {}
    rng = np.random.default_rng(0)

    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, logits, targets=None, sample_weight=None):
            if targets is not None:
                loss = self.loss_fn(targets, logits, sample_weight)
                self.add_loss(loss)
            return ops.softmax(logits)

    inputs = keras.Input((64,), name="inputs")
    logits = keras.layers.Dense(1)(inputs)
    targets = keras.Input((1,), name="targets")
    sample_weight = keras.Input((1,), name="sample_weight")
    preds = LogisticEndpoint()(logits, targets, sample_weight)
    model = keras.Model([inputs, targets, sample_weight], preds)
    seed_weights(model, 0)
    data = {"inputs": rng.random((200, 64)), "targets": rng.random((200, 1)),
            "sample_weight": rng.random((200, 1))}
    model.compile(keras.optimizers.Adam(1e-3))
    h = model.fit(data, epochs=2, verbose=0, shuffle=False)
    out["functional_history"] = history(h)

    inputs = keras.Input((64,), name="inputs")
    logits = keras.layers.Dense(1)(inputs)
    preds = LogisticEndpoint()(logits, targets=None, sample_weight=None)
    inference_model = keras.Model(inputs, preds)
    inference_model.set_weights(model.get_weights())
    preds = inference_model.predict(rng.random((20, 64)), verbose=0)
    out["inference_predictions"] = to_numpy(preds)[:3]

    class LogReg(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.logistic_endpoint = LogisticEndpoint()

        def call(self, inputs):
            logits = self.dense(inputs["inputs"])
            return self.logistic_endpoint(logits=logits, targets=inputs["targets"],
                                          sample_weight=inputs["sample_weight"])

    model = LogReg()
    model(data)
    seed_weights(model, 1)
    model.compile(keras.optimizers.Adam(1e-3))
    h = model.fit(data, epochs=2, verbose=0, shuffle=False)
    out["subclassed_history"] = history(h)
    return out
