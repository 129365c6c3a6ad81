"""MultiHeadAttention, Attention and AdditiveAttention against tf.keras (Keras 3) on the
same weights and inputs: outputs, attention scores, masks (Keras masks of the query /
value / key, attention_mask, causal), float32 and float64, weights layout, configs, inside
a functional model and under fit; float64 gradients by finite differences; errors."""
import numpy as np
import pytest

import fastkeras as fk
from _gradcheck import check  # tests/ is on sys.path (its conftest.py)

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _close(got, want, dtype):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert _np(g).shape == tuple(np.asarray(w).shape)
        np.testing.assert_allclose(_np(g), np.asarray(w), **TOL[dtype])


def _pair(tf, kwargs, dtype, *shapes):
    """(tf.keras MHA, fastkeras MHA), built on inputs of these shapes, same weights."""
    t = tf.keras.layers.MultiHeadAttention(dtype=dtype, **kwargs)
    f = fk.layers.MultiHeadAttention(dtype=dtype, **kwargs)
    xs = [np.zeros(s, dtype) for s in shapes]
    t(*xs)
    f(*xs)
    assert [w.shape for w in f.get_weights()] == [tuple(w.shape) for w in t.get_weights()]
    f.set_weights(t.get_weights())
    return t, f


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [
    dict(num_heads=2, key_dim=4),
    dict(num_heads=3, key_dim=2, value_dim=5, output_shape=7),
    dict(num_heads=2, key_dim=3, use_bias=False),
    dict(num_heads=2, key_dim=3, output_shape=(2, 3)),
    dict(num_heads=2, key_dim=3, value_dim=2, use_gate=True),
    dict(num_heads=2, key_dim=3, sliding_window=2),
])
@pytest.mark.parametrize("call", [{}, {"use_causal_mask": True},
                                  {"return_attention_scores": True},
                                  {"return_attention_scores": True, "use_causal_mask": True}])
def test_mha_matches_tf_keras(tf, rng, dtype, kwargs, call):
    q = rng.normal(size=(2, 4, 6)).astype(dtype)
    v = rng.normal(size=(2, 4, 5)).astype(dtype)
    k = rng.normal(size=(2, 4, 3)).astype(dtype)
    t, f = _pair(tf, kwargs, dtype, q.shape, v.shape, k.shape)
    _close(f(q, v, k, **call), t(q, v, k, **call), dtype)
    t2, f2 = _pair(tf, kwargs, dtype, q.shape, v.shape)
    _close(f2(q, value=v, **call), t2(q, value=v, **call), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scores", [False, True])
def test_mha_attention_axes_matches_tf_keras(tf, rng, dtype, scores):
    kwargs = dict(num_heads=2, key_dim=2, attention_axes=(1, 2))
    q = rng.normal(size=(2, 3, 4, 5)).astype(dtype)
    v = rng.normal(size=(2, 2, 3, 5)).astype(dtype)
    t, f = _pair(tf, kwargs, dtype, q.shape, v.shape)
    _close(f(q, v, return_attention_scores=scores), t(q, v, return_attention_scores=scores),
           dtype)
    kwargs = dict(num_heads=2, key_dim=2, attention_axes=2)
    t, f = _pair(tf, kwargs, dtype, q.shape, q.shape)
    _close(f(q, q, return_attention_scores=scores), t(q, q, return_attention_scores=scores),
           dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_mha_masks_match_tf_keras(tf, rng, dtype, scores, causal):
    """Keras masks of query and value (from Embedding(mask_zero=True)) combined with
    attention_mask and the causal mask; the output carries the query's mask."""
    ids_q = np.array([[3, 1, 2, 0, 0], [4, 4, 1, 2, 0]])
    ids_v = np.array([[1, 2, 0, 0, 0], [5, 1, 2, 3, 4]])
    att = rng.random((2, 5, 5)) > 0.3
    emb = rng.normal(size=(6, 4)).astype(dtype)
    te = tf.keras.layers.Embedding(6, 4, mask_zero=True, dtype=dtype)
    fe = fk.layers.Embedding(6, 4, mask_zero=True, dtype=dtype)
    te.build((None, 5))
    fe.build((None, 5))
    te.set_weights([emb])
    fe.set_weights([emb])
    t, f = _pair(tf, dict(num_heads=2, key_dim=3), dtype, (2, 5, 4), (2, 5, 4))
    for extra in ({}, {"attention_mask": att}):
        kw = dict(return_attention_scores=scores, use_causal_mask=causal, **extra)
        want = t(te(ids_q), te(ids_v), **kw)
        got = f(fe(ids_q), fe(ids_v), **kw)
        _close(got, want, dtype)
        out = got[0] if scores else got
        np.testing.assert_array_equal(out._keras_mask, ids_q != 0)
        got = f(fe(ids_q), fe(ids_v), fe(ids_v), **kw)  # key's mask too
        _close(got, t(te(ids_q), te(ids_v), te(ids_v), **kw), dtype)


def test_mha_weights_config_and_errors(tf):
    f = fk.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5)
    t = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4,
                                           output_shape=5)
    f(np.zeros((1, 2, 6), "float32"), np.zeros((1, 3, 7), "float32"))
    t(np.zeros((1, 2, 6), "float32"), np.zeros((1, 3, 7), "float32"))
    assert [w.shape for w in f.weights] == [tuple(w.shape) for w in t.weights]
    fc, tc = f.get_config(), t.get_config()
    for key in ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "use_gate",
                "output_shape", "attention_axes", "sliding_window", "kernel_regularizer",
                "seed"):
        assert fc[key] == tc[key], key
    for key in ("kernel_initializer", "bias_initializer"):
        assert fc[key]["class_name"] == tc[key]["class_name"]
    g = fk.layers.MultiHeadAttention.from_config(fc)
    assert g.get_config() == fc
    assert (f.num_heads, f.key_dim, f.value_dim) == (2, 3, 4)
    for bad, name in ((dict(num_heads=0, key_dim=2), "num_heads"),
                      (dict(num_heads=2, key_dim=1.5), "key_dim"),
                      (dict(num_heads=2, key_dim=2, value_dim=-1), "value_dim"),
                      (dict(num_heads=2, key_dim=2, attention_axes="x"), "attention_axes")):
        with pytest.raises(ValueError, match=name):
            fk.layers.MultiHeadAttention(**bad)
        with pytest.raises(ValueError, match=name):
            tf.keras.layers.MultiHeadAttention(**bad)
    m = fk.layers.MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match="value` and `key"):
        m(np.zeros((1, 2, 3)), np.zeros((1, 4, 3)), np.zeros((1, 5, 3)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mha_functional_model_and_fit(tf, rng, dtype):
    def build(lib):
        q = lib.keras.Input((4, 6), dtype=dtype) if lib is tf else fk.Input((4, 6), dtype=dtype)
        L = tf.keras.layers if lib is tf else fk.layers
        o, s = L.MultiHeadAttention(2, 3, dtype=dtype)(q, q, return_attention_scores=True,
                                                       use_causal_mask=True)
        o = L.GlobalAveragePooling1D(dtype=dtype)(o)
        o = L.Dense(1, dtype=dtype)(o)
        M = tf.keras.Model if lib is tf else fk.Model
        return M(q, o), M(q, s)

    tmodel, tscores = build(tf)
    fmodel, fscores = build(fk)
    fmodel.set_weights(tmodel.get_weights())
    x = rng.normal(size=(8, 4, 6)).astype(dtype)
    y = rng.normal(size=(8, 1)).astype(dtype)
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0), dtype)
    _close(fscores.predict(x, verbose=0), tscores.predict(x, verbose=0), dtype)
    assert fscores.output_shape == (None, 2, 4, 4)
    for m in (tmodel, fmodel):
        lib = tf.keras if m is tmodel else fk
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        m.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)
    for a, b in zip(fmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, **tol)


def test_keras_files_both_ways(tf, rng, tmp_path):
    """.keras files with MultiHeadAttention / Attention / AdditiveAttention: fastkeras's
    load in tf.keras and tf.keras's in fastkeras, same predictions."""
    x = rng.normal(size=(2, 4, 6)).astype("float32")

    def build(L, M, Input):
        i = Input((4, 6))
        o = L.MultiHeadAttention(2, 3)(i, i, use_causal_mask=True)
        o = L.MultiHeadAttention(2, 2, use_gate=True)(o, i)
        o = L.Attention(use_scale=True)([o, i])
        return M(i, L.AdditiveAttention()([o, o]))

    fm = build(fk.layers, fk.Model, fk.Input)
    fm.save(tmp_path / "fk.keras")
    t = tf.keras.models.load_model(tmp_path / "fk.keras")
    _close(t.predict(x, verbose=0), fm.predict(x, verbose=0), "float32")
    tm = build(tf.keras.layers, tf.keras.Model, tf.keras.Input)
    tm.save(tmp_path / "tf.keras")
    f = fk.models.load_model(tmp_path / "tf.keras")
    _close(f.predict(x, verbose=0), tm.predict(x, verbose=0), "float32")


def test_mha_dropout_training_only(rng):
    m = fk.layers.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    x = rng.normal(size=(2, 4, 6)).astype("float32")
    a, b = m(x, x), m(x, x)
    np.testing.assert_array_equal(_np(a), _np(b))
    _, s = m(x, x, training=True, return_attention_scores=True)
    np.testing.assert_allclose(_np(s).sum(-1), 1, rtol=1e-5)  # scores before dropout
    assert not np.allclose(_np(m(x, x, training=True)), _np(a))


def test_mha_gradients_float64(rng):
    m = fk.layers.MultiHeadAttention(2, 2, dtype="float64")
    q = rng.normal(size=(2, 3, 4))
    v = rng.normal(size=(2, 3, 4))
    att = np.array([[[1, 1, 0], [1, 0, 1], [1, 1, 1]]] * 2, bool)
    m(q, v)
    check(lambda x: m(x, v, attention_mask=att), q, rtol=1e-6, atol=1e-8)
    check(lambda x: m(q, x, use_causal_mask=True), v, rtol=1e-6, atol=1e-8)
    w = m.weights[0]
    w0 = w.numpy().copy()

    def f(k):
        w.assign(k.numpy() if hasattr(k, "numpy") else k)
        return m(q, v)
    with fk.GradientTape() as tape:
        out = fk.ops.sum(m(q, v))
    analytic = tape.gradient(out, w).numpy()
    from _gradcheck import numeric_grad
    numeric = numeric_grad(lambda k: float(np.sum(f(k).numpy())), w0)
    w.assign(w0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


# ---- Attention / AdditiveAttention ------------------------------------------------------

ATT = [("Attention", {}), ("Attention", {"use_scale": True}),
       ("Attention", {"score_mode": "concat"}),
       ("Attention", {"score_mode": "concat", "use_scale": True}),
       ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,kwargs", ATT)
@pytest.mark.parametrize("call", [{}, {"return_attention_scores": True},
                                  {"use_causal_mask": True, "return_attention_scores": True}])
def test_attention_matches_tf_keras(tf, rng, dtype, cls, kwargs, call):
    q = rng.normal(size=(2, 4, 3)).astype(dtype)
    v = rng.normal(size=(2, 4, 3)).astype(dtype)
    k = rng.normal(size=(2, 4, 3)).astype(dtype)
    t = getattr(tf.keras.layers, cls)(dtype=dtype, **kwargs)
    f = getattr(fk.layers, cls)(dtype=dtype, **kwargs)
    t([q, v, k])
    f([q, v, k])
    wts = [rng.normal(size=w.shape).astype(dtype) for w in t.get_weights()]
    t.set_weights(wts)
    f.set_weights(wts)
    assert [w.shape for w in f.weights] == [tuple(w.shape) for w in t.weights]
    _close(f([q, v, k], **call), t([q, v, k], **call), dtype)
    _close(f([q, v], **call), t([q, v], **call), dtype)
    qm = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool)
    vm = np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool)
    _close(f([q, v], mask=[qm, vm], **call), t([q, v], mask=[qm, vm], **call), dtype)
    assert f.get_config() == {**t.get_config(), **{"dtype": f.get_config()["dtype"]}}


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_attention_keras_masks_in_functional_model(tf, rng, cls):
    ids = np.array([[1, 2, 0, 0], [3, 1, 2, 4]])
    emb = rng.normal(size=(5, 3)).astype("float32")

    def build(lib, L, M, Input):
        i = Input((4,), dtype="int32")
        e = L.Embedding(5, 3, mask_zero=True)(i)
        a = getattr(L, cls)()([e, e])
        return M(i, L.GlobalAveragePooling1D()(a))

    tm = build(tf, tf.keras.layers, tf.keras.Model, tf.keras.Input)
    fm = build(fk, fk.layers, fk.Model, fk.Input)
    wts = [emb] + [rng.normal(size=w.shape).astype("float32")
                   for w in tm.get_weights()[1:]]
    tm.set_weights(wts)
    fm.set_weights(wts)
    _close(fm.predict(ids, verbose=0), tm.predict(ids, verbose=0), "float32")


@pytest.mark.parametrize("cls,kwargs", ATT)
def test_attention_gradients_float64(rng, cls, kwargs):
    layer = getattr(fk.layers, cls)(dtype="float64", **kwargs)
    q = rng.normal(size=(2, 3, 4))
    v = rng.normal(size=(2, 3, 4))
    layer([q, v])
    if layer.weights:
        layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])
    vm = np.array([[1, 1, 0], [1, 1, 1]], bool)
    check(lambda x: layer([x, v], mask=[None, vm]), q)
    check(lambda x: layer([q, x], use_causal_mask=True), v)


def test_attention_errors(tf):
    for lib in (fk.layers, tf.keras.layers):
        with pytest.raises(ValueError, match="score_mode"):
            lib.Attention(score_mode="sum")
        a = lib.Attention()
        with pytest.raises(ValueError, match="list of inputs"):
            a(np.zeros((1, 2, 3), "float32"))
        with pytest.raises(ValueError, match="length 2 or 3"):
            a([np.zeros((1, 2, 3), "float32")])
