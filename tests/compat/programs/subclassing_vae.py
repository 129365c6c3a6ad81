"""keras-io guides/making_new_layers_and_models_via_subclassing.py, "Putting it all
together": a variational autoencoder written as nested Layers (Sampling with
keras.random.normal, Encoder, Decoder) and a Model whose call adds the KL term with
add_loss, trained with compile(loss=MSE) + fit and with a custom loop.

Port: MNIST 784 -> digits 64 (original_dim 64, intermediate_dim 64, latent_dim 32 as in
the guide); 512 samples, epochs 2. The sampled noise differs between libraries, so only
structure, counts and finiteness are compared.
"""
import numpy as np

from ..harness import digits, history

SOURCE = "guides/making_new_layers_and_models_via_subclassing.py"


def run(lib):
    keras = lib.keras
    layers = keras.layers
    ops = keras.ops
    out = {}

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch = ops.shape(z_mean)[0]
            dim = ops.shape(z_mean)[1]
            epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class Encoder(layers.Layer):
        def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean = self.dense_mean(x)
            z_log_var = self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            return z_mean, z_log_var, z

    class Decoder(layers.Layer):
        def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            return self.dense_output(self.dense_proj(inputs))

    class VariationalAutoEncoder(keras.Model):
        def __init__(self, original_dim, intermediate_dim=64, latent_dim=32,
                     name="autoencoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.original_dim = original_dim
            self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
            self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
            self.add_loss(kl_loss)
            return reconstructed

    x_train, _ = digits(flat=True)
    x_train = x_train[:512]
    original_dim = 64
    vae = VariationalAutoEncoder(original_dim, 64, 32)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
    h = vae.fit(x_train, x_train, epochs=2, batch_size=64, verbose=0)
    out["history_keys"] = sorted(h.history)
    out["losses_finite"] = bool(np.isfinite(history(h)["loss"]).all())
    out["weights"] = len(vae.weights)
    out["params"] = vae.count_params()

    vae2 = VariationalAutoEncoder(original_dim, 64, 32)
    mse_loss_fn = keras.losses.MeanSquaredError()
    loss_metric = keras.metrics.Mean()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    for step in range(0, 512, 64):
        x_batch_train = x_train[step:step + 64]
        with lib.GradientTape() as tape:
            reconstructed = vae2(x_batch_train)
            loss = mse_loss_fn(x_batch_train, reconstructed)
            loss += sum(vae2.losses)
        grads = tape.gradient(loss, vae2.trainable_weights)
        optimizer.apply(grads, vae2.trainable_weights)
        loss_metric.update_state(loss)
    out["loop_loss_finite"] = bool(np.isfinite(float(loss_metric.result())))
    return out
