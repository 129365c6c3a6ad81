"""keras-io guides/making_new_layers_and_models_via_subclassing.py: a Linear layer with
weights made in __init__ and then in build(), a non-trainable ComputeSum state,
recursively composed layers (MLPBlock), add_loss from an inner layer (reset on each call),
kernel regularizer losses, the losses in a custom loop and in fit, and get_config /
from_config.

Port: tf.* -> keras.ops; the random training data keep the guide's shapes; the model
compiled without a loss is a fresh one (see the comment there).
"""
import numpy as np

from ..harness import history, seed_weights, shape, to_numpy

SOURCE = "guides/making_new_layers_and_models_via_subclassing.py"


def run(lib):
    keras = lib.keras
    ops = keras.ops
    out = {}

    class Linear(keras.layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal",
                                     trainable=True)
            self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    x = ops.ones((2, 2))
    linear_layer = Linear(4, 2)
    seed_weights(linear_layer, 0)
    out["linear"] = to_numpy(linear_layer(x))
    out["weights_are_attributes"] = (len(linear_layer.weights) == 2
                                     and linear_layer.weights[0] is linear_layer.w
                                     and linear_layer.weights[1] is linear_layer.b)

    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,),
                                         trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    my_sum = ComputeSum(2)
    y1 = to_numpy(my_sum(x)).copy()
    y2 = to_numpy(my_sum(x)).copy()
    out["compute_sum"] = [y1, y2]
    out["compute_sum_counts"] = [len(my_sum.weights), len(my_sum.non_trainable_weights),
                                 len(my_sum.trainable_weights)]

    class LazyLinear(keras.layers.Layer):
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                     trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    lazy = LazyLinear(32)
    out["lazy_weights_before"] = len(lazy.weights)
    out["lazy_output_shape"] = shape(lazy(x).shape)

    class MLPBlock(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1 = LazyLinear(32)
            self.linear_2 = LazyLinear(32)
            self.linear_3 = LazyLinear(1)

        def call(self, inputs):
            x = self.linear_1(inputs)
            x = keras.activations.relu(x)
            x = self.linear_2(x)
            x = keras.activations.relu(x)
            return self.linear_3(x)

    mlp = MLPBlock()
    y = mlp(ops.ones(shape=(3, 64)))
    out["mlp_counts"] = [len(mlp.weights), len(mlp.trainable_weights)]
    seed_weights(mlp, 1)
    out["mlp_output"] = to_numpy(mlp(np.linspace(-1, 1, 192, dtype="float32").reshape(3, 64)))

    class ActivityRegularizationLayer(keras.layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * ops.mean(inputs))
            return inputs

    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    counts = [len(layer.losses)]
    _ = layer(ops.zeros((1, 1)))
    counts.append(len(layer.losses))
    _ = layer(ops.ones((1, 1)))
    counts.append(len(layer.losses))
    out["outer_losses_counts"] = counts
    out["outer_loss_value"] = float(to_numpy(layer.losses[0]))

    class OuterLayerWithKernelRegularizer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))

        def call(self, inputs):
            return self.dense(inputs)

    layer = OuterLayerWithKernelRegularizer()
    _ = layer(ops.zeros((1, 1)))
    seed_weights(layer, 2)
    _ = layer(ops.zeros((1, 1)))
    out["kernel_reg_losses"] = [float(to_numpy(v)) for v in layer.losses]

    # the losses in a custom training loop
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    h = model.fit(rng.random((2, 3)), rng.random((2, 3)), verbose=0)
    out["add_loss_fit"] = history(h)
    # a fresh model: Keras 3.15's compile() keeps the previous compiled loss when given
    # none, so recompiling the same model would still add the mse (findings F3)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ActivityRegularizationLayer()(inputs))
    model.compile(optimizer="adam")
    h = model.fit(rng.random((2, 3)), rng.random((2, 3)), verbose=0)
    out["add_loss_only_fit"] = history(h)

    class ConfigLinear(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                     trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config

    layer = ConfigLinear(64, name="my_linear")
    config = layer.get_config()
    new_layer = ConfigLinear.from_config(config)
    out["config_units_name"] = [config["units"], config["name"], new_layer.units, new_layer.name]
    out["config_has_trainable_dtype"] = ["trainable" in config, "dtype" in config]
    return out
