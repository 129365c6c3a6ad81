"""The fused recurrences (fastkeras.ops.recurrent_ops, csrc/recurrent.c): SimpleRNN, LSTM,
GRU (both reset_after modes) over a whole sequence in one C call, against the step-by-step
path and against tf.keras (Keras 3) on the same weights: outputs, states and gradients
(inputs, weights, initial states), masks with a fully masked row, go_backwards,
return_sequences / return_state, zero_output_for_mask, stateful, Bidirectional,
recurrent dropout, float32 and float64; every gradient by finite differences in float64;
which configurations fall back to the step path; bad arguments."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras.ops import recurrent_ops as R
from _gradcheck import numeric_grad  # tests/ is on sys.path (its conftest.py)

CELLS = {
    "simple": lambda L, **kw: L.SimpleRNN(3, **kw),
    "lstm": lambda L, **kw: L.LSTM(3, **kw),
    "gru": lambda L, **kw: L.GRU(3, **kw),
    "gru_reset_before": lambda L, **kw: L.GRU(3, reset_after=False, **kw),
}
TOL = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-10)}


def _mask():
    m = np.ones((3, 6), bool)
    m[0, 4:] = False  # padded tail
    m[1, :] = False   # a fully masked row
    m[2, 0] = False   # masked first step
    m[2, 3] = False   # a hole
    return m


def _layer(name, dtype, rng, **kw):
    layer = CELLS[name](fk.layers, dtype=dtype, **kw)
    layer.build((3, 6, 4))
    weights = [rng.normal(size=w.shape).astype(dtype) * 0.5 for w in layer.get_weights()]
    layer.set_weights(weights)
    return layer, weights


class _Counter:
    def __init__(self, monkeypatch):
        self.n = 0
        real = R.recurrence

        def counted(*a, **k):
            self.n += 1
            return real(*a, **k)
        monkeypatch.setattr(R, "recurrence", counted)


def _run(layer, x, mask=None, h0=None, training=False):
    """Outputs and gradients of sum(out^2) w.r.t. the inputs, weights and initial states."""
    xv = fk.Variable(x)
    srcs = [xv] + list(layer.trainable_weights)
    init = None
    if h0 is not None:
        init = [fk.Variable(h) for h in h0]
        srcs += init
    with fk.GradientTape() as tape:
        outs = layer(xv, mask=mask, initial_state=init, training=training)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        loss = sum(fk.ops.sum(fk.ops.square(o)) for o in outs)
    grads = tape.gradient(loss, srcs)
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


def _close(a, b, dtype):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, **TOL[dtype])


CONFIGS = [
    dict(),
    dict(return_sequences=True, return_state=True, mask=True),
    dict(go_backwards=True, return_sequences=True, mask=True),
    dict(go_backwards=True, return_state=True, zero_output_for_mask=True, mask=True),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
@pytest.mark.parametrize("name", list(CELLS))
def test_fused_matches_step_path(name, cfg, dtype, rng, monkeypatch):
    kw = dict(CONFIGS[cfg])
    use_mask = kw.pop("mask", False)
    layer, _ = _layer(name, dtype, rng, **kw)
    x = rng.normal(size=(3, 6, 4)).astype(dtype)
    n = 2 if name == "lstm" else 1
    h0 = [rng.normal(size=(3, 3)).astype(dtype) for _ in range(n)]
    mask = _mask() if use_mask else None
    counter = _Counter(monkeypatch)
    fused = _run(layer, x, mask, h0)
    assert counter.n == 1
    with R.step_path():
        step = _run(layer, x, mask, h0)
    assert counter.n == 1
    _close(fused[0], step[0], dtype)
    _close(fused[1], step[1], dtype)


def _keras_run(tf, layer, x, mask, h0):
    xv = tf.Variable(x)
    init = [tf.Variable(h) for h in h0] if h0 is not None else None
    with tf.GradientTape() as tape:
        outs = layer(xv, mask=None if mask is None else tf.constant(mask), initial_state=init)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        loss = sum(tf.reduce_sum(tf.square(o)) for o in outs)
    srcs = [xv] + list(layer.trainable_weights) + (init or [])
    grads = tape.gradient(loss, srcs)
    return [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]


@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("cfg", [1, 3])
def test_fused_matches_keras(name, cfg, tf, rng):
    import keras

    kw = dict(CONFIGS[cfg])
    use_mask = kw.pop("mask", False)
    ours, weights = _layer(name, "float64", rng, **kw)
    ref = CELLS[name](keras.layers, dtype="float64", **kw)
    ref.build((3, 6, 4))
    ref.set_weights(weights)
    x = rng.normal(size=(3, 6, 4))
    h0 = [rng.normal(size=(3, 3)) for _ in range(2 if name == "lstm" else 1)]
    mask = _mask() if use_mask else None
    got = _run(ours, x, mask, h0)
    want = _keras_run(tf, ref, x, mask, h0)
    _close(got[0], want[0], "float64")
    _close(got[1], want[1], "float64")


@pytest.mark.parametrize("name", list(CELLS))
def test_fused_gradients_by_finite_differences(name, rng):
    layer, _ = _layer(name, "float64", rng, return_sequences=True, return_state=True,
                      go_backwards=name == "gru")
    x = rng.normal(size=(3, 6, 4))
    n = 2 if name == "lstm" else 1
    h0 = [rng.normal(size=(3, 3)) for _ in range(n)]
    mask = _mask()
    _, grads = _run(layer, x, mask, h0)
    weights = layer.get_weights()

    def loss(values):
        layer.set_weights(values[1:1 + len(weights)])
        outs = layer(values[0], mask=mask, initial_state=values[1 + len(weights):])
        return float(sum(np.sum(np.square(o.numpy())) for o in outs))

    values = [x] + weights + h0
    for i, g in enumerate(grads):
        def f(a, i=i):
            return loss(values[:i] + [a] + values[i + 1:])
        np.testing.assert_allclose(g, numeric_grad(f, values[i]), rtol=1e-6, atol=1e-7)
    layer.set_weights(weights)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_rnn_of_a_plain_cell_is_fused_and_matches(name, rng, monkeypatch):
    cell = fk.layers.LSTMCell(3) if name == "lstm" else fk.layers.GRUCell(3)
    layer = fk.layers.RNN(cell, return_sequences=True)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    layer(x)
    counter = _Counter(monkeypatch)
    fused = _run(layer, x, _mask())
    with R.step_path():
        step = _run(layer, x, _mask())
    assert counter.n == 1
    _close(fused[0], step[0], "float32")
    _close(fused[1], step[1], "float32")


def test_uncovered_configurations_take_the_step_path(rng, monkeypatch):
    class MyCell(fk.layers.SimpleRNNCell):
        pass

    x = rng.normal(size=(2, 4, 3)).astype("float32")
    counter = _Counter(monkeypatch)
    for layer in (fk.layers.RNN(MyCell(3)), fk.layers.LSTM(3, activation="softsign"),
                  fk.layers.GRU(3, recurrent_activation="silu"),
                  fk.layers.RNN([fk.layers.LSTMCell(3), fk.layers.GRUCell(2)])):
        layer(x)
    assert counter.n == 0
    fk.layers.LSTM(3, activation="relu", recurrent_activation="hard_sigmoid")(x)
    fk.layers.SimpleRNN(3, activation="linear")(x)
    assert counter.n == 2


def test_stateful_fused_matches_step_path(rng):
    x = [rng.normal(size=(3, 6, 4)) for _ in range(2)]
    for name in ("lstm", "gru"):
        a, w = _layer(name, "float64", rng, stateful=True, return_sequences=True)
        b, _ = _layer(name, "float64", rng, stateful=True, return_sequences=True)
        b.set_weights(w)
        for xi in x:
            ya = a(xi).numpy()
            with R.step_path():
                yb = b(xi).numpy()
            np.testing.assert_allclose(ya, yb, rtol=1e-10, atol=1e-12)
            for s, t in zip(a.states, b.states):
                np.testing.assert_allclose(s.numpy(), t.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["lstm", "gru_reset_before"])
def test_bidirectional_fused_matches_keras(name, tf, rng):
    import keras

    x = rng.normal(size=(3, 6, 4))
    mask = _mask()
    ours = fk.layers.Bidirectional(CELLS[name](fk.layers, return_sequences=True,
                                               dtype="float64"), dtype="float64")
    ref = keras.layers.Bidirectional(CELLS[name](keras.layers, return_sequences=True,
                                                 dtype="float64"), dtype="float64")
    ours.build((3, 6, 4))
    ref.build((3, 6, 4))
    weights = [rng.normal(size=w.shape) * 0.5 for w in ref.get_weights()]
    ref.set_weights(weights)
    ours.set_weights(weights)
    got = _run(ours, x, mask)
    want = _keras_run(tf, ref, x, mask, None)
    _close(got[0], want[0], "float64")
    _close(got[1], want[1], "float64")


@pytest.mark.parametrize("name", list(CELLS))
def test_dropout_masks_match_the_step_path(name, rng):
    """Input and recurrent dropout (training): the same per-sequence masks (same seed)
    give the same numbers on both paths."""
    a, w = _layer(name, "float64", rng, dropout=0.3, recurrent_dropout=0.4, seed=7,
                  return_sequences=True)
    b, _ = _layer(name, "float64", rng, dropout=0.3, recurrent_dropout=0.4, seed=7,
                  return_sequences=True)
    b.set_weights(w)
    x = rng.normal(size=(3, 6, 4))
    fused = _run(a, x, _mask(), training=True)
    with R.step_path():
        step = _run(b, x, _mask(), training=True)
    _close(fused[0], step[0], "float64")
    _close(fused[1], step[1], "float64")


def test_bad_arguments_raise_naming_them():
    spec = R.RecurrenceSpec(cell=R.Cell.LSTM)
    xp, k, h = np.zeros((2, 5, 12)), np.zeros((3, 12)), np.zeros((2, 3))
    R.recurrence(xp, k, None, h, h, spec)  # fine
    cases = [
        (dict(xp=np.zeros((2, 5))), "xp"),
        (dict(xp=np.zeros((2, 5, 8))), "xp"),
        (dict(recurrent_kernel=np.zeros((3, 9))), "recurrent_kernel"),
        (dict(h0=np.zeros((2, 4))), "h0"),
        (dict(c0=np.zeros((3, 3))), "c0"),
        (dict(c0=None), "c0"),
        (dict(recurrent_bias=np.zeros(11)), "recurrent_bias"),
        (dict(mask=np.ones((2, 4), bool)), "mask"),
        (dict(rec_mask=np.ones((2, 2))), "rec_mask"),
    ]
    for change, name in cases:
        args = dict(xp=xp, recurrent_kernel=k, recurrent_bias=None, h0=h, c0=h, mask=None,
                    rec_mask=None)
        args.update(change)
        with pytest.raises(ValueError, match=name):
            R.recurrence(spec=spec, **args)
    with pytest.raises(TypeError, match="recurrent_kernel"):
        R.recurrence(xp, k.astype("float32"), None, h, h, spec)
    with pytest.raises(ValueError, match="activation"):
        R.recurrence(xp, k, None, h, h, R.RecurrenceSpec(cell=R.Cell.LSTM, activation=7))
