"""fastkeras.random against Keras 3's keras.random: names, signatures, dtypes, shapes and
errors equal; distributions checked statistically (the numbers themselves come from NumPy's
generator, not TensorFlow's, so they differ); seeds reproducible; draws usable under a
GradientTape, inside layers and inside a custom train_step."""
import inspect

import numpy as np
import pytest

import fastkeras as keras
from fastkeras import ops

stats = pytest.importorskip("scipy.stats")

FUNCTIONS = ["normal", "uniform", "truncated_normal", "randint", "categorical", "dropout",
             "shuffle", "gamma", "beta", "binomial"]
P_MIN = 1e-4  # loose: a correct sampler fails a test once in 10,000 runs


def _np(x):
    return np.asarray(x)


# ------------------------------------------------------------------ API parity with Keras
def test_public_names_equal_keras(tf):
    theirs = {n for n in dir(tf.keras.random) if not n.startswith("_")}
    ours = set(keras.random.__all__)
    assert ours == theirs
    assert all(hasattr(keras.random, n) for n in ours)


@pytest.mark.parametrize("name", FUNCTIONS + ["SeedGenerator"])
def test_signatures_equal_keras(tf, name):
    ours = inspect.signature(getattr(keras.random, name))
    theirs = inspect.signature(getattr(tf.keras.random, name))
    assert [(p.name, p.default, p.kind) for p in ours.parameters.values()] == \
        [(p.name, p.default, p.kind) for p in theirs.parameters.values()]


def _calls(random, x_ones):
    return {
        "normal": lambda **k: random.normal((2, 3), **k),
        "uniform": lambda **k: random.uniform((2, 3), **k),
        "truncated_normal": lambda **k: random.truncated_normal((2, 3), **k),
        "gamma": lambda **k: random.gamma((2, 3), 2.0, **k),
        "beta": lambda **k: random.beta((2, 3), 2.0, 3.0, **k),
        "binomial": lambda **k: random.binomial((2, 3), 10, 0.5, **k),
        "randint": lambda **k: random.randint((2, 3), 0, 10, **k),
        "categorical": lambda **k: random.categorical(np.zeros((2, 4), "float32"), 3, **k),
        "dropout": lambda **k: random.dropout(x_ones, 0.5, **k),
        "shuffle": lambda **k: random.shuffle(x_ones, **k),
    }


@pytest.mark.parametrize("name", FUNCTIONS)
def test_default_dtype_and_shape_equal_keras(tf, name):
    ours = _calls(keras.random, np.ones((2, 3), "float32"))[name](seed=1)
    theirs = _calls(tf.keras.random, np.ones((2, 3), "float32"))[name](seed=1)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert np.dtype(ours.dtype).name == theirs.dtype.name


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name", ["normal", "uniform", "truncated_normal", "gamma", "beta",
                                  "binomial"])
def test_float_dtypes_equal_keras(tf, name, dtype):
    ours = _calls(keras.random, None)[name](dtype=dtype, seed=3)
    theirs = _calls(tf.keras.random, None)[name](dtype=dtype, seed=3)
    assert np.dtype(ours.dtype).name == theirs.dtype.name == dtype


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "int8", "int16", "int32",
                                   "int64"])
def test_int_dtypes_equal_keras(tf, dtype):
    ours = keras.random.randint((2, 3), 0, 10, dtype=dtype, seed=1)
    theirs = tf.keras.random.randint((2, 3), 0, 10, dtype=dtype, seed=1)
    assert np.dtype(ours.dtype).name == theirs.dtype.name == dtype
    logits = np.eye(4) * 1e5 + 1e6
    ours = keras.random.categorical(logits, 10, dtype=dtype, seed=1)
    theirs = tf.keras.random.categorical(logits, 10, dtype=dtype, seed=1)
    assert np.dtype(ours.dtype).name == theirs.dtype.name == dtype


def test_dropout_keeps_input_dtype():
    for dtype in ("float16", "float32", "float64"):
        x = np.ones((3, 5), dtype)
        assert keras.random.dropout(x, rate=0.8, seed=0).dtype == np.dtype(dtype)


def test_floatx_is_the_default_dtype():
    previous = keras.config.floatx()
    try:
        keras.config.set_floatx("float64")
        for name in ("normal", "uniform", "truncated_normal", "gamma", "beta", "binomial"):
            assert _calls(keras.random, None)[name](seed=0).dtype == np.float64, name
    finally:
        keras.config.set_floatx(previous)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), [2, 3], ()])
def test_shapes(shape):
    for fn in (keras.random.normal, keras.random.uniform, keras.random.truncated_normal):
        assert fn(shape, seed=10).shape == tuple(shape)
    assert keras.random.randint(shape, 0, 5, seed=1).shape == tuple(shape)
    assert keras.random.gamma(shape, 1.0, seed=1).shape == tuple(shape)


def test_shape_from_ops_shape_and_tensors():
    z = ops.zeros((4, 2))
    batch, dim = ops.shape(z)[0], ops.shape(z)[1]
    assert keras.random.normal(shape=(batch, dim)).shape == (4, 2)
    assert keras.random.normal(keras.constant([3, 2], "int32"), seed=1).shape == (3, 2)


# ------------------------------------------------------------------ errors (Keras' tests)
def test_keras_error_cases(tf):
    with pytest.raises(ValueError, match="`logits` should be a 2-D tensor"):
        keras.random.categorical(np.ones((5,)), 5)
    with pytest.raises(ValueError, match="`logits` should be a 2-D tensor"):
        keras.random.categorical(np.ones((5, 5, 5)), 5)
    with pytest.raises(ValueError, match="`keras.random.randint` requires an integer `dtype`."):
        keras.random.randint((3, 4), minval=0, maxval=10, dtype="float64")
    with pytest.raises(ValueError,
                       match="`keras.random.uniform` requires a floating point `dtype`."):
        keras.random.uniform((3, 4), minval=0, maxval=10, dtype="int64")
    # the same calls fail in Keras too
    with pytest.raises(ValueError):
        tf.keras.random.randint((3, 4), minval=0, maxval=10, dtype="float64")
    with pytest.raises(ValueError, match="Argument `seed` must be either an integer"):
        keras.random.normal((2,), seed="invalid_seed")
    with pytest.raises(ValueError, match="Argument `seed` must be either an integer"):
        tf.keras.random.normal((2,), seed="invalid_seed")


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="`shape`"):
        keras.random.normal((None, 3))
    with pytest.raises(ValueError, match="`shape`"):
        keras.random.uniform("ab")
    with pytest.raises(ValueError, match="`rate`"):
        keras.random.dropout(np.ones(3, "float32"), 1.5)
    with pytest.raises(ValueError, match="`noise_shape`"):
        keras.random.dropout(np.ones((2, 3), "float32"), 0.5, noise_shape=(2, 2))
    with pytest.raises(ValueError, match="`noise_shape`"):
        keras.random.dropout(np.ones((2, 3), "float32"), 0.5, noise_shape=(2,))
    with pytest.raises(ValueError, match="`inputs`"):
        keras.random.dropout(np.ones((2, 3), "int32"), 0.5)
    with pytest.raises(ValueError, match="`maxval`"):
        keras.random.randint((2,), 5, 5)
    with pytest.raises(ValueError, match="`alpha`"):
        keras.random.gamma((2,), 0.0)
    with pytest.raises(ValueError, match="`probabilities`"):
        keras.random.binomial((2,), 10, 1.5)
    with pytest.raises(ValueError, match="`counts`"):
        keras.random.binomial((2,), -1, 0.5)
    with pytest.raises(ValueError, match="`alpha` and `beta`"):
        keras.random.beta((2,), 1.0, -1.0)
    with pytest.raises(ValueError, match="`mean`"):
        keras.random.normal((2, 3), mean=np.zeros(4))
    with pytest.raises(ValueError, match="`num_samples`"):
        keras.random.categorical(np.zeros((2, 3)), -1)
    with pytest.raises(ValueError, match="`axis`"):
        keras.random.shuffle(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="`keras.random.normal` requires a floating point `dtype`"):
        keras.random.normal((2,), dtype="int32")


# ------------------------------------------------------------------ seeds
def test_int_seed_is_stateless():
    for name, call in _calls(keras.random, np.ones((2, 3), "float32")).items():
        np.testing.assert_array_equal(_np(call(seed=42)), _np(call(seed=42)), err_msg=name)
    a = _np(keras.random.normal((100,), seed=1))
    b = _np(keras.random.normal((100,), seed=2))
    assert not np.array_equal(a, b)


def test_int_seed_equals_first_draw_of_a_seed_generator(tf):
    # Keras: draw_seed(42) is [42, 0], SeedGenerator(42)'s first state
    theirs = tf.keras.random.normal((3,), seed=42).numpy()
    np.testing.assert_array_equal(
        theirs, tf.keras.random.normal((3,), seed=tf.keras.random.SeedGenerator(42)).numpy())
    ours = _np(keras.random.normal((3,), seed=42))
    np.testing.assert_array_equal(
        ours, _np(keras.random.normal((3,), seed=keras.random.SeedGenerator(42))))


def test_seed_generator_advances_and_repeats():
    g = keras.random.SeedGenerator(7)
    first = [_np(keras.random.normal((4,), seed=g)) for _ in range(3)]
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert _np(g.state).tolist() == [7, 3]
    h = keras.random.SeedGenerator(7)
    again = [_np(keras.random.normal((4,), seed=h)) for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_seed_generator_api_matches_keras(tf):
    ours, theirs = keras.random.SeedGenerator(12345), tf.keras.random.SeedGenerator(12345)
    assert np.dtype(ours.state.dtype).name == theirs.state.dtype == "int64"
    assert _np(ours.state).tolist() == theirs.state.numpy().tolist() == [12345, 0]
    for ordered in (True, False, True):
        np.testing.assert_array_equal(_np(ours.next(ordered=ordered)),
                                      theirs.next(ordered=ordered).numpy())
        np.testing.assert_array_equal(_np(ours.state), theirs.state.numpy())
    assert ours.state.trainable is False and theirs.state.trainable is False
    assert ours.state.name == "seed_generator_state"
    named = keras.random.SeedGenerator(seed=42, name="sg")
    assert named.get_config() == tf.keras.random.SeedGenerator(seed=42, name="sg").get_config()
    assert named.get_config() == {"seed": 42, "name": "sg"}
    clone = keras.random.SeedGenerator.from_config(named.get_config())
    assert clone.name == "sg" and _np(clone.state).tolist() == [42, 0]
    unseeded = keras.random.SeedGenerator()
    assert unseeded.get_config()["seed"] is None and _np(unseeded.state).shape == (2,)


def test_seed_generator_names_are_unique():
    keras.utils.set_random_seed(0)
    a, b = keras.random.SeedGenerator(1), keras.random.SeedGenerator(1)
    assert a.name.startswith("seed_generator") and a.name != b.name


def test_seed_generator_errors_as_keras(tf):
    with pytest.raises(ValueError, match="Argument `seed` must be an integer"):
        keras.random.SeedGenerator(seed="invalid_seed")
    with pytest.raises(ValueError, match="Argument `seed` must be an integer"):
        tf.keras.random.SeedGenerator(seed="invalid_seed")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        keras.random.SeedGenerator(invalid_arg="unexpected_value")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        tf.keras.random.SeedGenerator(invalid_arg="unexpected_value")


def test_large_seeds():
    for s in [2**31 - 1, 2**31, 2**32 - 1, 2**40]:
        assert keras.random.uniform((2, 2), seed=s).shape == (2, 2)
        assert keras.random.normal((2,), seed=keras.random.SeedGenerator(s)).shape == (2,)


def test_unseeded_calls_follow_set_random_seed():
    keras.utils.set_random_seed(123)
    a = [_np(keras.random.normal((5,))), _np(keras.random.uniform((5,))),
         _np(keras.random.normal((5,), seed=keras.random.SeedGenerator()))]
    keras.utils.set_random_seed(123)
    b = [_np(keras.random.normal((5,))), _np(keras.random.uniform((5,))),
         _np(keras.random.normal((5,), seed=keras.random.SeedGenerator()))]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(_np(keras.random.normal((5,))), a[0])  # the stream moves on


# ------------------------------------------------------------------ distributions
N = 20000


def test_normal_distribution(tf):
    x = _np(keras.random.normal((N,), mean=10.0, stddev=3.0, seed=1)).astype(np.float64)
    assert stats.kstest(x, "norm", args=(10.0, 3.0)).pvalue > P_MIN
    theirs = tf.keras.random.normal((N,), mean=10.0, stddev=3.0, seed=1).numpy()
    assert stats.ks_2samp(x, theirs).pvalue > P_MIN
    # per-element parameters broadcast as in TensorFlow
    m = _np(keras.random.normal((N, 2), mean=[0.0, 5.0], stddev=[1.0, 0.5], seed=2))
    np.testing.assert_allclose(m.mean(axis=0), [0, 5], atol=0.05)
    np.testing.assert_allclose(m.std(axis=0), [1, 0.5], rtol=0.05)


def test_uniform_distribution(tf):
    x = _np(keras.random.uniform((N,), minval=-1.0, maxval=3.0, seed=1)).astype(np.float64)
    assert x.min() >= -1.0 and x.max() < 3.0
    assert stats.kstest(x, "uniform", args=(-1.0, 4.0)).pvalue > P_MIN
    theirs = tf.keras.random.uniform((N,), minval=-1.0, maxval=3.0, seed=1).numpy()
    assert stats.ks_2samp(x, theirs).pvalue > P_MIN
    for dtype in ("float16", "float32", "float64"):
        u = _np(keras.random.uniform((N,), dtype=dtype, seed=4))
        assert u.min() >= 0 and u.max() < 1, dtype


def test_truncated_normal_distribution(tf):
    x = _np(keras.random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=1)).astype(float)
    assert x.min() >= 1.0 - 4.0 and x.max() <= 1.0 + 4.0
    assert stats.kstest(x, "truncnorm", args=(-2, 2, 1.0, 2.0)).pvalue > P_MIN
    theirs = tf.keras.random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=1).numpy()
    assert stats.ks_2samp(x, theirs).pvalue > P_MIN
    for shape, mean, std in [((5,), 0, 1), ((2, 3), 10, 3), ((2, 3, 4), 0, 1)]:
        r = _np(keras.random.truncated_normal(shape, mean=mean, stddev=std, seed=10))
        assert r.max() <= mean + 2 * std and r.min() >= mean - 2 * std


def test_randint_distribution(tf):
    x = _np(keras.random.randint((N,), 3, 9, seed=1))
    assert x.min() == 3 and x.max() == 8
    counts = np.bincount(x - 3, minlength=6)
    assert stats.chisquare(counts).pvalue > P_MIN
    for shape, lo, hi, dtype in [((5,), 0, 10, "uint16"), ((2, 3), 0, 10, "uint32"),
                                 ((2, 3, 4), 0, 2, "int8"), ((2, 3), -1, 1, "int16"),
                                 ((2, 3), 1, 3, "int32")]:
        r = _np(keras.random.randint(shape, minval=lo, maxval=hi, seed=10, dtype=dtype))
        assert r.shape == shape and r.max() < hi and r.min() >= lo and r.dtype == dtype


def test_categorical_keras_cases():
    for num_samples, batch_size in [(1, 1), (5, 2), (10, 4), (15, 8)]:
        logits = np.eye(batch_size) * 1e5 + 1e6
        res = _np(keras.random.categorical(logits, num_samples, seed=10))
        assert res.shape == (batch_size, num_samples)
        np.testing.assert_array_equal(res, np.tile(np.arange(batch_size)[:, None],
                                                   (1, num_samples)))


def test_categorical_distribution():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]]) + 1e-30)
    logits[1, 2] = -np.inf  # an impossible class is never drawn
    x = _np(keras.random.categorical(logits, N, seed=3))
    for row, probs in zip(x, [[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]]):
        counts = np.bincount(row, minlength=3)
        expected = np.array(probs) * N
        keep = expected > 0
        assert np.all(counts[~keep] == 0)
        assert stats.chisquare(counts[keep], expected[keep]).pvalue > P_MIN


def test_gamma_distribution(tf):
    for alpha in (0.5, 2.0):
        x = _np(keras.random.gamma((N,), alpha, seed=1)).astype(np.float64)
        assert x.min() > 0
        assert stats.kstest(x, "gamma", args=(alpha,)).pvalue > P_MIN
        theirs = tf.keras.random.gamma((N,), alpha, seed=1).numpy()
        assert stats.ks_2samp(x, theirs).pvalue > P_MIN


def test_beta_distribution_keras_cases(tf):
    x = _np(keras.random.beta((10000,), 3.0, 2.0, dtype="float16", seed=10)).astype(float)
    assert x.min() >= 0 and x.max() <= 1
    assert abs(x.mean() - 0.6) < 0.01 and abs(x.var() - 0.04) < 0.01
    a, b = np.array([[7.0, 0.5, 1.5]]), np.array([[15.0, 0.9, 4.5]])
    y = _np(keras.random.beta((10000, 3), a, b, seed=10)).astype(float)
    np.testing.assert_allclose(y.mean(axis=0), (a / (a + b)).ravel(), atol=0.01, rtol=0.01)
    np.testing.assert_allclose(y.var(axis=0), (a * b / ((a + b) ** 2 * (a + b + 1))).ravel(),
                               atol=0.005, rtol=0.005)
    z = _np(keras.random.beta((N,), 2.0, 5.0, seed=2)).astype(np.float64)
    assert stats.kstest(z, "beta", args=(2.0, 5.0)).pvalue > P_MIN
    assert stats.ks_2samp(z, tf.keras.random.beta((N,), 2.0, 5.0, seed=2).numpy()).pvalue > P_MIN


def test_binomial_distribution_keras_cases():
    for shape, counts, probs, dtype in [
            ((5, 2), 5e4, 0.5, "float16"), ((2,), 1e5, 0.5, "float32"),
            ((2, 3), [[1e5, 2e5, 3e5], [4e5, 5e5, 6e5]],
             [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "float32")]:
        v = keras.random.binomial(shape, counts, probs, seed=10, dtype=dtype)
        assert v.shape == shape and v.dtype == dtype
        v = _np(v).astype(np.float64)
        assert np.all(np.array(counts) >= v)
        np.testing.assert_allclose(v / np.array(counts), np.ones(shape) * np.array(probs),
                                   rtol=0.005, atol=0.005)
    x = _np(keras.random.binomial((N,), 10, 0.3, seed=1)).astype(int)
    counts = np.bincount(x, minlength=11)
    expected = stats.binom.pmf(np.arange(11), 10, 0.3) * N
    keep = expected > 5
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > P_MIN


def test_dropout_keras_cases():
    x = ops.ones((10, 10))
    np.testing.assert_array_equal(_np(keras.random.dropout(x, rate=0, seed=0)), _np(x))
    r = _np(keras.random.dropout(x, rate=0.5, seed=0))
    assert r.max() == 2.0 and np.sum(r == 0) > 2
    assert set(np.unique(r)) <= {0.0, 2.0}
    np.testing.assert_array_equal(_np(keras.random.dropout(x, rate=1.0, seed=0)),
                                  np.zeros((10, 10)))
    y = keras.random.dropout(ops.ones((2, 3, 5, 7)), rate=0.3, noise_shape=[None, 3, 5, None],
                             seed=0)
    assert y.shape == (2, 3, 5, 7)


def test_dropout_rate_and_scale(tf):
    x = np.full((200, 100), 3.0, "float32")
    r = _np(keras.random.dropout(x, rate=0.3, seed=1))
    kept = r != 0
    assert abs(kept.mean() - 0.7) < 0.01
    # scaled as TensorFlow scales: x * (1 / (1 - rate)) in the input dtype
    theirs = tf.keras.random.dropout(x, rate=0.3, seed=1).numpy()
    assert np.unique(r[kept]).tolist() == np.unique(theirs[theirs != 0]).tolist()
    # noise_shape: one mask shared along the axes of size 1
    shared = _np(keras.random.dropout(np.ones((4, 6, 8), "float32"), 0.5, noise_shape=(4, 1, 8),
                                      seed=2))
    assert np.all(shared == shared[:, :1, :])


def test_shuffle_keras_cases(tf):
    x = np.arange(100).reshape(10, 10)
    y = _np(keras.random.shuffle(x, seed=0))
    assert not np.all(x == y)
    np.testing.assert_array_equal(np.sum(x, axis=0), np.sum(y, axis=0))
    assert not np.allclose(np.sum(x, axis=1), np.sum(y, axis=1))
    y = _np(keras.random.shuffle(x, axis=1, seed=0))
    assert not np.all(x == y)
    np.testing.assert_array_equal(np.sum(x, axis=1), np.sum(y, axis=1))
    assert not np.allclose(np.sum(x, axis=0), np.sum(y, axis=0))
    # whole slices move (TensorFlow's backend gathers rows)
    t = tf.keras.random.shuffle(x, seed=0).numpy()
    assert sorted(map(tuple, y.T)) == sorted(map(tuple, x.T))
    for out in (_np(keras.random.shuffle(x, seed=0)), t):
        assert sorted(map(tuple, out)) == sorted(map(tuple, x))
    # every permutation of 3 rows appears, about equally often
    seen = {}
    for s in range(600):
        key = tuple(_np(keras.random.shuffle(np.arange(3), seed=s)))
        seen[key] = seen.get(key, 0) + 1
    assert len(seen) == 6 and stats.chisquare(list(seen.values())).pvalue > P_MIN


# ------------------------------------------------------------------ gradients
def test_reparameterisation_gradients_float64():
    rng = np.random.default_rng(0)
    mean = keras.Variable(rng.normal(size=(4, 3)), dtype="float64")
    log_var = keras.Variable(rng.normal(size=(4, 3)), dtype="float64")
    w = rng.normal(size=(4, 3))

    def loss(m, lv):
        eps = keras.random.normal((4, 3), dtype="float64", seed=5)  # the same draw each time
        z = m + ops.exp(0.5 * lv) * eps
        return ops.sum(ops.square(z) * w)

    with keras.GradientTape() as tape:
        value = loss(mean, log_var)
    g_mean, g_lv = tape.gradient(value, [mean, log_var])
    eps = _np(keras.random.normal((4, 3), dtype="float64", seed=5))
    z = _np(mean) + np.exp(0.5 * _np(log_var)) * eps
    np.testing.assert_allclose(_np(g_mean), 2 * z * w, rtol=1e-12)
    np.testing.assert_allclose(_np(g_lv), 2 * z * w * 0.5 * np.exp(0.5 * _np(log_var)) * eps,
                               rtol=1e-12)
    # finite differences
    h = 1e-6
    for var, grad in ((mean, g_mean), (log_var, g_lv)):
        base = _np(var).copy()
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                b = base.copy()
                b[idx] += sign * h
                var.assign(b)
                fd[idx] += sign * float(loss(mean, log_var)) / (2 * h)
        var.assign(base)
        np.testing.assert_allclose(_np(grad), fd, rtol=1e-6, atol=1e-8)


def test_dropout_and_shuffle_are_differentiable():
    x = keras.Variable(np.arange(1.0, 13.0).reshape(3, 4), dtype="float64")
    w = np.arange(12.0).reshape(3, 4)
    with keras.GradientTape() as tape:
        d = keras.random.dropout(x, 0.5, seed=3)
        loss = ops.sum(d * w)
    mask = (_np(d) != 0) * 2.0
    np.testing.assert_allclose(_np(tape.gradient(loss, x)), mask * w)
    with keras.GradientTape() as tape:
        s = keras.random.shuffle(x, axis=1, seed=3)
        loss = ops.sum(s * w)
    g = _np(tape.gradient(loss, x))
    perm = [int(np.where(_np(x)[0] == v)[0][0]) for v in _np(s)[0]]
    expected = np.zeros((3, 4))
    expected[:, perm] = w
    np.testing.assert_allclose(g, expected)


# ------------------------------------------------------------------ in layers and train steps
class Sampling(keras.layers.Layer):
    """The keras-io VAE sampling layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def _encoder():
    inputs = keras.Input(shape=(6,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    z_mean = keras.layers.Dense(2, name="z_mean")(h)
    z_log_var = keras.layers.Dense(2, name="z_log_var")(h)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(inputs, [z_mean, z_log_var, z])


def test_sampling_layer_in_a_functional_model():
    keras.utils.set_random_seed(0)
    encoder = _encoder()
    assert encoder.outputs[2].shape == (None, 2)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    m, lv, z1 = (_np(t) for t in encoder(x))
    z2 = _np(encoder(x)[2])
    assert z1.shape == (5, 2) and not np.array_equal(z1, z2)  # the generator advances
    # z = mean + std * eps, with eps standard normal draws
    eps = (z1 - m) / np.exp(0.5 * lv)
    assert np.all(np.isfinite(eps)) and np.abs(eps).max() < 6


def test_seed_generator_in_a_custom_train_step():
    class VAE(keras.Model):
        def __init__(self, encoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(6)])
            self.noise = keras.random.SeedGenerator(42)
            self.tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.tracker]

        def train_step(self, data):
            noisy = data + 0.01 * keras.random.normal(ops.shape(data), seed=self.noise)
            with keras.GradientTape() as tape:
                z_mean, z_log_var, z = self.encoder(noisy)
                rec = ops.mean(ops.square(self.decoder(z) - data))
                kl = -0.5 * ops.mean(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
                loss = rec + kl
            grads = tape.gradient(loss, self.trainable_weights)
            assert all(g is not None for g in grads)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.tracker.update_state(loss)
            return {"loss": self.tracker.result()}

    def run():
        keras.utils.set_random_seed(1)
        vae = VAE(_encoder())
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
        h = vae.fit(x, epochs=3, batch_size=16, verbose=0, shuffle=False)
        return h.history["loss"], _np(vae.noise.state)

    losses, state = run()
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert state.tolist() == [42, 12]  # one draw per step: 3 epochs x 4 batches
    again, _ = run()
    np.testing.assert_array_equal(losses, again)  # seeded runs repeat
