"""50-step trajectories against tf.keras for every optimizer and option combination."""
import numpy as np
import pytest

import fastkeras as fk

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "learning_rate": 0.01}),
    ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.1, "learning_rate": 0.01}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5}),
    ("RMSprop", {"centered": True, "momentum": 0.3}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("Lion", {"learning_rate": 0.01}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("Adam", {"global_clipnorm": 1.0}),
    ("RMSprop", {"clipvalue": 0.3}),
    ("SGD", {"weight_decay": 0.05, "momentum": 0.5}),
    ("Adam", {"use_ema": True, "ema_momentum": 0.9}),
    ("SGD", {"use_ema": True, "ema_overwrite_frequency": 7}),
    ("Adam", {"gradient_accumulation_steps": 3}),
    ("Lion", {"weight_decay": 0.01, "clipnorm": 1.0}),
]


def _schedule_case(tf, module):
    return (tf.keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
            module.schedules.ExponentialDecay(0.1, 10, 0.5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_trajectory_matches_tf_keras(tf, rng, dtype, name, kwargs):
    shapes = [(7, 5), (13,), ()]
    inits = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[(rng.normal(size=s) * 2).astype(dtype) for s in shapes] for _ in range(50)]
    tf_vars = [tf.Variable(x) for x in inits]
    fk_vars = [fk.Variable(x) for x in inits]
    tf_opt = getattr(tf.keras.optimizers, name)(**kwargs)
    fk_opt = getattr(fk.optimizers, name)(**kwargs)
    for step, gs in enumerate(grads):
        tf_opt.apply_gradients(zip([tf.constant(g) for g in gs], tf_vars))
        fk_opt.apply_gradients(zip(gs, fk_vars))
        for a, b in zip(fk_vars, tf_vars):
            np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=f"step {step}", **TOL[dtype])
    assert int(fk_opt.iterations.numpy()) == int(tf_opt.iterations.numpy())
    if kwargs.get("use_ema"):
        tf_opt.finalize_variable_values(tf_vars)
        fk_opt.finalize_variable_values(fk_vars)
        for a, b in zip(fk_vars, tf_vars):
            np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL[dtype])


@pytest.mark.parametrize("schedule", ["exponential", "piecewise", "cosine", "inverse_time",
                                      "callable"])
def test_schedules_match_tf_keras(tf, rng, schedule):
    S = tf.keras.optimizers.schedules
    F = fk.optimizers.schedules
    pairs = {
        "exponential": (S.ExponentialDecay(0.1, 10, 0.5, staircase=True),
                        F.ExponentialDecay(0.1, 10, 0.5, staircase=True)),
        "piecewise": (S.PiecewiseConstantDecay([5, 20], [0.1, 0.05, 0.01]),
                      F.PiecewiseConstantDecay([5, 20], [0.1, 0.05, 0.01])),
        "cosine": (S.CosineDecay(0.1, 30, alpha=0.1, warmup_target=0.2, warmup_steps=5),
                   F.CosineDecay(0.1, 30, alpha=0.1, warmup_target=0.2, warmup_steps=5)),
        "inverse_time": (S.InverseTimeDecay(0.1, 4, 0.5), F.InverseTimeDecay(0.1, 4, 0.5)),
    }
    if schedule == "callable":
        tf_lr, fk_lr = (lambda: 0.05), (lambda: 0.05)
    else:
        tf_lr, fk_lr = pairs[schedule]
        for step in range(0, 60, 3):
            np.testing.assert_allclose(fk_lr(step), float(tf_lr(step)), rtol=1e-6)
    x = rng.normal(size=(4,)).astype(np.float32)
    tv, fv = tf.Variable(x), fk.Variable(x)
    to, fo = tf.keras.optimizers.Adam(tf_lr), fk.optimizers.Adam(fk_lr)
    for _ in range(40):
        g = rng.normal(size=4).astype(np.float32)
        to.apply_gradients([(tf.constant(g), tv)])
        fo.apply_gradients([(g, fv)])
    np.testing.assert_allclose(fv.numpy(), tv.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "Adagrad"])
def test_embedding_gradient_with_repeated_rows_is_summed_before_squaring(tf, name):
    """A token that appears twice in a batch gets one gradient row, the sum of its two
    occurrences, and the optimizer squares that sum. Keras 3 on TensorFlow receives the
    Embedding gradient as tf.IndexedSlices with one slice per occurrence and squares the
    slices before they are summed (its sparse-aware ops.square), so its second moments hold
    g1^2 + g2^2 instead of (g1 + g2)^2: fastkeras keeps the definition, which equals
    tf.keras given the same gradient dense."""
    ids = np.array([1, 1, 2, 4, 1])
    upstream = np.arange(10, dtype=np.float32).reshape(5, 2) / 4 - 1

    def run_tf(densify):
        emb = tf.keras.layers.Embedding(6, 2, embeddings_initializer="ones")
        emb.build((None,))
        opt = getattr(tf.keras.optimizers, name)(learning_rate=0.1)
        for _ in range(3):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(emb(tf.constant(ids)) * upstream)
            (grad,) = tape.gradient(loss, emb.trainable_variables)
            assert isinstance(grad, tf.IndexedSlices)
            if densify:
                grad = tf.convert_to_tensor(grad)
            opt.apply_gradients([(grad, emb.embeddings)])
        return emb.embeddings.numpy()

    emb = fk.layers.Embedding(6, 2, embeddings_initializer="ones")
    emb.build((None,))
    opt = getattr(fk.optimizers, name)(learning_rate=0.1)
    for _ in range(3):
        with fk.GradientTape() as tape:
            loss = fk.ops.sum(emb(ids) * upstream)
        opt.apply_gradients(zip(tape.gradient(loss, emb.trainable_variables),
                                emb.trainable_variables))
    ours = emb.embeddings.numpy()
    np.testing.assert_allclose(ours, run_tf(densify=True), rtol=1e-5, atol=1e-6)
    sparse = run_tf(densify=False)
    assert not np.allclose(ours[1], sparse[1], rtol=1e-4)  # row 1 repeats: Keras' quirk
    np.testing.assert_allclose(ours[[0, 2, 3, 4, 5]], sparse[[0, 2, 3, 4, 5]], rtol=1e-5,
                               atol=1e-6)
