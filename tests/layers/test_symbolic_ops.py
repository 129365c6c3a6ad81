"""fastkeras.ops functions and Python operators applied to symbolic KerasTensors (Keras 3's
functional API): the same functional models built with fastkeras and with tf.keras give
symbolic tensors of equal shapes and dtypes and equal outputs on the same weights; the op
nodes are operations, not layers; configs and .keras files round trip and move both ways
with tf.keras; float64 gradients through the op nodes match finite differences; a
KerasTensor refuses to become a value (bool, array, number) as Keras' does."""
import json

import numpy as np
import pytest

import fastkeras as fk
from _gradcheck import numeric_grad  # tests/ is on sys.path (its conftest.py)


def _where_mean(k):
    inputs = k.Input((4,))
    mask = inputs > 0.5
    x = k.ops.where(mask, inputs, 0.0)
    return inputs, k.ops.mean(x, axis=-1, keepdims=True)


def _operators(k):
    inputs = k.Input((4,))
    a, b = inputs[:, :2], inputs[:, 2:]
    outs = [a + b, a - 1.5, 2.0 * b, a / (b + 3.0), (a * 7.0) // 2.0, (a * 7.0) % 3.0,
            a ** 2, -a, abs(a - 0.5), inputs[:, 0], inputs[..., None], inputs[:, 1:3],
            k.ops.cast(a > b, "float32"), k.ops.cast(a >= 0.5, "float32"),
            k.ops.cast(a < b, "float32"), k.ops.cast(a <= 0.5, "float32"),
            k.ops.cast(a != b, "float32"), (a > 0.2) & (b < 0.8), (a > 0.2) | (b < 0.8),
            ~(a > 0.5), 1.0 - a, 3.0 / (a + 1.0)]
    return inputs, outs


def _matmul(k):
    x = k.Input((3, 4))
    y = k.Input((4, 2))
    return [x, y], [x @ y, k.ops.matmul(x, y)]


def _array_ops(k):
    inputs = k.Input((6,))
    e = k.ops.expand_dims(inputs, -1)
    c = k.ops.concatenate([inputs, inputs * 2.0], axis=-1)
    i = k.ops.cast(inputs * 3.0, "int32")
    oh = k.ops.one_hot(k.ops.cast(inputs * 2.9, "int32"), 3)
    sm = k.ops.softmax(inputs)
    r = k.ops.reshape(inputs, (-1, 2, 3))
    t = k.ops.transpose(r, (0, 2, 1))
    s = k.ops.sum(r, axis=1)
    tk = k.ops.take(inputs, k.ops.cast(inputs[:, :2] * 5.0, "int32"), axis=1)
    st = k.ops.stack([inputs, sm], axis=1)
    p1, p2, p3 = k.ops.split(inputs, 3, axis=-1)
    sq = k.ops.squeeze(e, -1)
    mx = k.ops.max(r, axis=-1)
    am = k.ops.argmax(inputs, axis=-1)
    return inputs, [e, c, i, oh, sm, r, t, s, tk, st, p1, p2, p3, sq, mx, am]


def _with_dense(k, dtype="float32"):
    inputs = k.Input((5,), dtype=dtype)
    h = k.layers.Dense(6, activation="tanh", dtype=dtype)(inputs)
    g = k.ops.where(h > 0.0, h * h, -h) + k.ops.mean(h, axis=-1, keepdims=True)
    s = k.ops.softmax(g[:, :4])
    cat = k.ops.concatenate([s, k.ops.exp(h[:, 4:]) / 2.0], axis=-1)
    out = k.layers.Dense(2, dtype=dtype)(cat * k.ops.sum(inputs ** 2, axis=-1, keepdims=True))
    return inputs, out


BUILDERS = {"where_mean": _where_mean, "operators": _operators, "matmul": _matmul,
            "array_ops": _array_ops, "with_dense": _with_dense}


def _feeds(inputs, rng):
    flat = inputs if isinstance(inputs, list) else [inputs]
    return [rng.uniform(0.0, 1.0, (3,) + tuple(t.shape[1:])).astype(t.dtype.name
                                                                     if hasattr(t.dtype, "name")
                                                                     else t.dtype)
            for t in flat]


def _models(tf, name):
    fi, fo = BUILDERS[name](fk)
    ti, to = BUILDERS[name](tf.keras)
    fm, tm = fk.Model(fi, fo), tf.keras.Model(ti, to)
    fm.set_weights(tm.get_weights())
    return (fi, fo, fm), (ti, to, tm)


def _outputs(x):
    return x if isinstance(x, (list, tuple)) else [x]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_symbolic_ops_match_tf_keras(tf, rng, name):
    (fi, fo, fm), (ti, to, tm) = _models(tf, name)
    for f, t in zip(_outputs(fo), _outputs(to)):
        assert tuple(f.shape) == tuple(t.shape)
        assert f.dtype.name == t.dtype
    feeds = _feeds(fi, rng)
    x = feeds if len(feeds) > 1 else feeds[0]
    got, want = _outputs(fm.predict(x, verbose=0)), _outputs(tm.predict(x, verbose=0))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    # the op nodes are operations of the graph, not layers (Keras 3)
    assert [type(l).__name__ for l in fm.layers] == [type(l).__name__ for l in tm.layers]
    assert [type(o).__name__ for o in tm.operations] == [
        o.class_name if type(o).__name__ == "OpLayer" else type(o).__name__
        for o in fm.operations]


def test_shape_is_a_tuple_with_none(tf):
    assert fk.ops.shape(fk.Input((3, 4))) == (None, 3, 4)
    assert fk.ops.shape(fk.Input((3, 4))) == tf.keras.ops.shape(tf.keras.Input((3, 4)))
    split = fk.ops.split(fk.Input((4,)), 2, axis=-1)
    assert isinstance(split, list) and [t.shape for t in split] == [(None, 2), (None, 2)]


def test_boolean_model_output(tf, rng):
    # the case of keras' metrics tests: a model whose output is `inputs > 0.5`
    inputs = fk.Input(shape=(1,))
    model = fk.Model(inputs, inputs > 0.5)
    x = rng.random((8, 1))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x > 0.5)
    assert model.outputs[0].dtype == np.bool_


def _call_structure(entry):
    """A node entry's call arguments with each tensor reference as its dtype and shape
    (the producing layers' names depend on the name counters of each process)."""
    def strip(v):
        if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
            return ["tensor", v["config"]["dtype"], v["config"]["shape"]]
        if isinstance(v, list):
            return [strip(x) for x in v]
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()}
        return v
    return json.dumps(strip(json.loads(json.dumps(entry["inbound_nodes"]))))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_config_matches_tf_keras_and_round_trips(tf, rng, name):
    (fi, fo, fm), (ti, to, tm) = _models(tf, name)
    fc, tc = fm.get_config(), tm.get_config()
    for f, t in zip(fc["layers"], tc["layers"]):
        if f["module"].startswith("keras.src.ops"):
            assert (f["module"], f["class_name"], f["registered_name"]) == (
                t["module"], t["class_name"], t["registered_name"])
            assert set(f["config"]) <= set(t["config"])
            for key, value in f["config"].items():
                # (one_hot's dtype: None here, floatx written out by Keras; both load alike)
                if key != "name" and value is not None:
                    assert json.dumps(value) == json.dumps(t["config"][key]), (f, t)
            assert _call_structure(f) == _call_structure(t)
    feeds = _feeds(fi, rng)
    x = feeds if len(feeds) > 1 else feeds[0]
    want = _outputs(fm.predict(x, verbose=0))
    again = fk.Model.from_config(json.loads(json.dumps(fc)))
    again.set_weights(fm.get_weights())
    for g, w in zip(_outputs(again.predict(x, verbose=0)), want):
        np.testing.assert_array_equal(g, w)
    # a tf.keras config of the same model builds in fastkeras
    theirs = fk.Model.from_config(json.loads(json.dumps(tc)))
    theirs.set_weights(tm.get_weights())
    for g, w in zip(_outputs(theirs.predict(x, verbose=0)), want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["array_ops", "with_dense", "operators"])
def test_keras_files_move_both_ways(tf, rng, tmp_path, name):
    (fi, fo, fm), (ti, to, tm) = _models(tf, name)
    feeds = _feeds(fi, rng)
    x = feeds if len(feeds) > 1 else feeds[0]
    want = _outputs(tm.predict(x, verbose=0))
    fm.save(tmp_path / "ours.keras")
    tm.save(tmp_path / "theirs.keras")
    for loaded in (fk.models.load_model(tmp_path / "ours.keras"),
                   fk.models.load_model(tmp_path / "theirs.keras")):
        for g, w in zip(_outputs(loaded.predict(x, verbose=0)), want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    in_tf = tf.keras.models.load_model(tmp_path / "ours.keras")
    for g, w in zip(_outputs(in_tf.predict(x, verbose=0)), want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_constant_operands_and_indices_are_saved(tf, rng, tmp_path):
    def build(k):
        inputs = k.Input((5,))
        picked = k.ops.take(inputs, np.array([0, 3, 4]), axis=1)
        return inputs, [picked, inputs[:, None, ::2], inputs[..., 1:-1] * np.arange(3.0,
                                                                                    dtype="float32")]
    fi, fo = build(fk)
    ti, to = build(tf.keras)
    fm, tm = fk.Model(fi, fo), tf.keras.Model(ti, to)
    x = rng.random((2, 5)).astype("float32")
    want = tm.predict(x, verbose=0)
    fm.save(tmp_path / "m.keras")
    for model in (fm, fk.models.load_model(tmp_path / "m.keras"),
                  tf.keras.models.load_model(tmp_path / "m.keras")):
        for g, w in zip(model.predict(x, verbose=0), want):
            np.testing.assert_allclose(g, w, rtol=1e-6)


def test_fastkeras_only_op_round_trips_in_fastkeras(tmp_path, rng):
    # gather and mish have no keras.ops operation class: saved under module fastkeras.ops
    inputs = fk.Input((4, 3))
    out = fk.ops.mish(fk.ops.gather(inputs, [2, 0], axis=1))
    model = fk.Model(inputs, out)
    entries = {e["class_name"]: e for e in model.get_config()["layers"]}
    assert entries["Gather"]["module"] == "fastkeras.ops"
    assert entries["Mish"]["module"] == "fastkeras.ops"
    x = rng.random((2, 4, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = fk.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               fk.ops.mish(x[:, [2, 0]]).numpy(), rtol=1e-6)


def test_gradients_flow_through_op_nodes_float64(rng):
    inputs, out = _with_dense(fk, "float64")
    model = fk.Model(inputs, out)
    x = rng.uniform(-1.0, 1.0, (3, 5))

    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        loss = fk.ops.sum(model(v) ** 2)
    grads = tape.gradient(loss, [v] + model.trainable_weights)
    numeric = numeric_grad(lambda a: float(np.sum(model(a).numpy() ** 2)), x)
    np.testing.assert_allclose(grads[0].numpy(), numeric, rtol=1e-6, atol=1e-8)
    # the weights' gradients too (the first Dense kernel, read through the op nodes)
    kernel = model.trainable_weights[0]
    k0 = kernel.numpy().copy()

    def with_kernel(a):
        kernel.assign(a)
        return float(np.sum(model(x).numpy() ** 2))

    numeric_k = numeric_grad(with_kernel, k0)
    kernel.assign(k0)
    np.testing.assert_allclose(grads[1].numpy(), numeric_k, rtol=1e-6, atol=1e-8)


def test_model_with_ops_trains(rng):
    inputs, out = _with_dense(fk)
    model = fk.Model(inputs, out)
    model.compile(optimizer="adam", loss="mse")
    x = rng.random((16, 5)).astype("float32")
    y = rng.random((16, 2)).astype("float32")
    history = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]


def test_eager_floor_divide_and_mod_match_numpy_and_gradient(tf):
    a = np.array([[-3.5, 2.0, 7.25], [1.0, -0.5, 4.0]])
    b = np.array([[2.0, -1.5, 3.0], [0.75, 2.0, -2.5]])
    np.testing.assert_array_equal(fk.ops.floor_divide(a, b).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal(fk.ops.mod(a, b).numpy(), np.asarray(tf.math.floormod(a, b)))
    np.testing.assert_array_equal((fk.constant(a) // 2.0).numpy(), a // 2.0)
    np.testing.assert_array_equal((fk.constant(a) % 2.0).numpy(), a % 2.0)
    va, vb = fk.Variable(a), fk.Variable(b)
    with fk.GradientTape() as tape:
        y = fk.ops.sum(fk.ops.mod(va, vb) * fk.constant(a))
    ga, gb = tape.gradient(y, [va, vb])
    ta, tb = tf.Variable(a), tf.Variable(b)
    with tf.GradientTape() as ttape:
        ty = tf.reduce_sum(tf.math.floormod(ta, tb) * a)
    wa, wb = ttape.gradient(ty, [ta, tb])
    np.testing.assert_allclose(ga.numpy(), np.asarray(wa))
    np.testing.assert_allclose(gb.numpy(), np.asarray(wb))


def test_keras_tensor_has_no_value():
    x = fk.Input((2,))
    with pytest.raises(TypeError, match="cannot be used as a boolean"):
        bool(x > 0)
    with pytest.raises(ValueError, match="convert it to a NumPy array"):
        np.asarray(x)
    with pytest.raises(ValueError, match="convert it to a float"):
        float(x)
    with pytest.raises(NotImplementedError, match="Iterating"):
        iter(x)
    assert (x == x) is True  # == stays identity, as in Keras 3 (no __eq__ op)


def test_op_options_a_file_gives_that_fastkeras_lacks_are_refused():
    from fastkeras.layers.core import OpLayer

    assert OpLayer("max", arguments={"axis": 1, "initial": None}).arguments == {"axis": 1}
    with pytest.raises(ValueError, match="initial"):
        OpLayer("max", arguments={"axis": 1, "initial": 3.0})
    with pytest.raises(ValueError, match="Unknown op"):
        OpLayer("Tensor")
