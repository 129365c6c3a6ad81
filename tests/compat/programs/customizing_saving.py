"""keras-io guides/customizing_saving_and_serialization.py: save_own_variables /
load_own_variables for an extra variable, save_assets / load_assets, get_build_config /
build_from_config with an extra build argument, and get_compile_config /
compile_from_config on a subclassed model with custom loss and metric functions.

Port: tf.Variable -> keras.Variable; tf.matmul / tf.reduce_sum / tf.reduce_mean /
tf.math.squared_difference -> keras.ops; np.random data with a fixed seed. The guide's
first model multiplies a Dense(1) output by a (10,) variable and fits (8,) targets, which
fails in Keras 3.15 itself ("Incompatible shapes: [8] vs. [8,10]"), so the port fits
(8, 10) targets; its load_own_variables assigns store[str(i)] to each of self.weights,
which in Keras 3.15 lists the extra variable first while Dense.save_own_variables stored
only kernel and bias (the reload fails in Keras itself), so the port loads the Dense part
with super().load_own_variables(store); and with a two-argument build(), Keras 3.15's
get_build_config() puts input_shape under "shapes_dict", so build_from_config looks there
too.
"""
import os

import numpy as np

from ..harness import tmpdir, to_numpy

SOURCE = "guides/customizing_saving_and_serialization.py"


def run(lib):
    keras = lib.keras
    ops = keras.ops
    out = {}
    rng = np.random.default_rng(0)

    @keras.saving.register_keras_serializable(package="my_custom_package")
    class LayerWithCustomVariables(keras.layers.Dense):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.stored_variables = keras.Variable(
                np.random.default_rng(1).random((10,)), name="special_arr", dtype="float32")

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["variables"] = np.asarray(self.stored_variables)

        def load_own_variables(self, store):
            self.stored_variables.assign(store["variables"])
            super().load_own_variables(store)

        def call(self, inputs):
            return super().call(inputs) * self.stored_variables

    with tmpdir() as d:
        model = keras.Sequential([LayerWithCustomVariables(1)])
        ref_input = rng.random((8, 10))
        ref_output = rng.random((8, 10))
        model.compile(optimizer="adam", loss="mean_squared_error")
        model.fit(ref_input, ref_output, verbose=0)
        model.save(os.path.join(d, "custom_vars_model.keras"))
        restored_model = keras.models.load_model(os.path.join(d, "custom_vars_model.keras"))
        out["stored_variables_equal"] = bool(np.allclose(
            to_numpy(model.layers[0].stored_variables),
            to_numpy(restored_model.layers[0].stored_variables)))

        @keras.saving.register_keras_serializable(package="my_custom_package")
        class LayerWithCustomAssets(keras.layers.Dense):
            def __init__(self, vocab=None, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.vocab = vocab

            def save_assets(self, inner_path):
                with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
                    f.write(self.vocab)

            def load_assets(self, inner_path):
                with open(os.path.join(inner_path, "vocabulary.txt"), "r") as f:
                    text = f.read()
                self.vocab = text.replace("<unk>", "little")

        model = keras.Sequential([LayerWithCustomAssets(vocab="Mary had a <unk> lamb.",
                                                        units=5)])
        model(rng.random((10, 10)))
        model.save(os.path.join(d, "custom_assets_model.keras"))
        restored_model = keras.models.load_model(os.path.join(d, "custom_assets_model.keras"))
        out["restored_vocab"] = restored_model.layers[0].vocab

        @keras.saving.register_keras_serializable(package="my_custom_package")
        class LayerWithCustomBuild(keras.layers.Layer):
            def __init__(self, units=32, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def call(self, inputs):
                return ops.matmul(inputs, self.w) + self.b

            def get_config(self):
                return dict(units=self.units, **super().get_config())

            def build(self, input_shape, layer_init):
                super().build(input_shape)
                self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                         initializer=layer_init, trainable=True)
                self.b = self.add_weight(shape=(self.units,), initializer=layer_init,
                                         trainable=True)
                self.layer_init = layer_init

            def get_build_config(self):
                build_config = super().get_build_config()
                build_config.update({"layer_init": self.layer_init})
                return build_config

            def build_from_config(self, config):
                shapes = config.get("shapes_dict", config)  # Keras 3.15 nests them there
                self.build(shapes["input_shape"], config["layer_init"])

        custom_layer = LayerWithCustomBuild(units=16)
        custom_layer.build(input_shape=(8,), layer_init="random_normal")
        model = keras.Sequential([custom_layer, keras.layers.Dense(1, activation="sigmoid")])
        model(rng.random((16, 8)))
        model.save(os.path.join(d, "custom_build_model.keras"))
        restored_model = keras.models.load_model(os.path.join(d, "custom_build_model.keras"))
        out["restored_layer_init"] = restored_model.layers[0].layer_init
        out["restored_built"] = bool(restored_model.built)

        @keras.saving.register_keras_serializable(package="my_custom_package")
        def small_square_sum_loss(y_true, y_pred):
            loss = ops.square(y_pred - y_true)
            loss = loss / 10.0
            return ops.sum(loss, axis=1)

        @keras.saving.register_keras_serializable(package="my_custom_package")
        def mean_pred(y_true, y_pred):
            return ops.mean(y_pred)

        @keras.saving.register_keras_serializable(package="my_custom_package")
        class ModelWithCustomCompile(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dense1 = keras.layers.Dense(8, activation="relu")
                self.dense2 = keras.layers.Dense(4, activation="softmax")

            def call(self, inputs):
                return self.dense2(self.dense1(inputs))

            def compile(self, optimizer, loss_fn, metrics):
                super().compile(optimizer=optimizer, loss=loss_fn, metrics=metrics)
                self.model_optimizer = optimizer
                self.loss_fn = loss_fn
                self.loss_metrics = metrics

            def get_compile_config(self):
                return {"model_optimizer": self.model_optimizer, "loss_fn": self.loss_fn,
                        "metric": self.loss_metrics}

            def compile_from_config(self, config):
                optimizer = keras.utils.deserialize_keras_object(config["model_optimizer"])
                loss_fn = keras.utils.deserialize_keras_object(config["loss_fn"])
                metrics = keras.utils.deserialize_keras_object(config["metric"])
                self.compile(optimizer=optimizer, loss_fn=loss_fn, metrics=metrics)

        model = ModelWithCustomCompile()
        model.compile(optimizer="SGD", loss_fn=small_square_sum_loss,
                      metrics=["accuracy", mean_pred])
        model.fit(rng.random((4, 8)), rng.random((4,)), verbose=0)
        model.save(os.path.join(d, "custom_compile_model.keras"))
        restored_model = keras.models.load_model(os.path.join(d, "custom_compile_model.keras"))
        out["restored_compile"] = [str(restored_model.model_optimizer),
                                   getattr(restored_model.loss_fn, "__name__", None),
                                   [getattr(m, "__name__", m) for m in restored_model.loss_metrics]]
    return out
