"""keras-io guides/training_with_built_in_methods.py ("Using learning rate schedules")
and the keras.io optimizers/learning_rate_schedules API pages: every built-in schedule's
value at a few steps, a schedule's config round trip, the optimizer's learning_rate, and a
model trained with each schedule.

Port: data are random (64 x 8 regression), 4 steps per epoch.
"""
import numpy as np

from ..harness import history, seed_weights

SOURCE = "guides/training_with_built_in_methods.py; keras.io/api/optimizers/learning_rate_schedules/"

STEPS = [0, 1, 5, 10, 99, 100, 101, 250, 1000]


def run(lib):
    keras = lib.keras
    schedules = keras.optimizers.schedules
    out = {}
    made = {
        "exponential": schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96),
        "exponential_staircase": schedules.ExponentialDecay(0.1, decay_steps=100,
                                                            decay_rate=0.96, staircase=True),
        "piecewise": schedules.PiecewiseConstantDecay(boundaries=[100, 250],
                                                      values=[1.0, 0.5, 0.1]),
        "inverse_time": schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5),
        "cosine": schedules.CosineDecay(0.1, decay_steps=250, alpha=0.1),
        "cosine_warmup": schedules.CosineDecay(0.0, decay_steps=250, warmup_target=0.1,
                                               warmup_steps=100),
        "polynomial": schedules.PolynomialDecay(0.1, decay_steps=250, end_learning_rate=0.01,
                                                power=0.5),
        "polynomial_cycle": schedules.PolynomialDecay(0.1, decay_steps=100,
                                                      end_learning_rate=0.01, cycle=True),
        "cosine_restarts": schedules.CosineDecayRestarts(0.1, first_decay_steps=100),
    }
    for name, schedule in made.items():
        out[name] = [float(schedule(step)) for step in STEPS]
        config = schedule.get_config()
        again = type(schedule).from_config(config)
        out[name + "_config_keys"] = sorted(config)
        out[name + "_roundtrip"] = bool(np.allclose([float(again(s)) for s in STEPS],
                                                    out[name]))

    rng = np.random.default_rng(0)
    x = rng.random((64, 8)).astype("float32")
    y = rng.random((64, 1)).astype("float32")
    for name in ("exponential", "piecewise", "polynomial", "cosine_restarts"):
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(1)])
        seed_weights(model, 1)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=made[name]), loss="mse")
        h = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        out["fit_" + name] = history(h)
        out["lr_after_fit_" + name] = float(np.asarray(model.optimizer.learning_rate))
        out["iterations_" + name] = int(np.asarray(model.optimizer.iterations))

    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    out["adam_lr"] = float(np.asarray(optimizer.learning_rate))
    optimizer.learning_rate = 0.005
    out["adam_lr_assigned"] = float(np.asarray(optimizer.learning_rate))
    return out
