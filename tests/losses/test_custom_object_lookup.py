"""losses.get / metrics.get / activations.get find custom objects by name in a
custom_object_scope, the registry and custom_objects, as Keras does (compile(loss="my_loss")
inside a scope, Dense.from_config with a custom activation)."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras.saving import custom_object_scope, register_keras_serializable


def my_loss(y_true, y_pred):
    return fk.ops.mean(fk.ops.abs(y_true - y_pred), axis=-1)


def my_act(x):
    return fk.ops.relu(x) * 2.0


class MyMetric(fk.metrics.Mean):
    def __init__(self, name="my_metric", dtype=None):
        super().__init__(name=name, dtype=dtype)


def test_scope_resolves_losses_metrics_and_activations():
    with custom_object_scope({"my_loss": my_loss, "my_act": my_act, "MyMetric": MyMetric}):
        assert fk.losses.get("my_loss") is my_loss
        assert fk.activations.get("my_act") is my_act
        assert isinstance(fk.metrics.get("MyMetric"), MyMetric)
        layer = fk.layers.Dense.from_config({**fk.layers.Dense(2).get_config(),
                                             "activation": "my_act"})
        assert layer.activation is my_act
        m = fk.Sequential([fk.Input((3,)), fk.layers.Dense(2, activation="my_act")])
        m.compile("sgd", loss="my_loss", metrics=["MyMetric"])
        hist = m.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
        assert set(hist.history) >= {"loss", "my_metric"}
    with pytest.raises(ValueError, match="my_loss"):
        fk.losses.get("my_loss")
    with pytest.raises(ValueError, match="my_act"):
        fk.activations.get("my_act")


def test_registered_objects_resolve_without_a_scope():
    @register_keras_serializable(package="LookupTest")
    def lookup_test_loss(y_true, y_pred):
        return fk.ops.mean(fk.ops.square(y_true - y_pred), axis=-1)

    assert fk.losses.get("LookupTest>lookup_test_loss") is lookup_test_loss
    assert fk.losses.get("lookup_test_loss") is lookup_test_loss
    assert fk.losses.deserialize({"class_name": "MeanSquaredError", "config": {}}).name == \
        "mean_squared_error"
