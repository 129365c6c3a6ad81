"""compile_for_inference(): the planned inference path gives predict's numbers for every
kind of model it plans (and falls back to the graph for the rest), refuses bad inputs,
and is safe to call from many threads at once, as predict and model(x) are."""
import threading

import numpy as np
import pytest

import fastkeras as fk

L = fk.layers


def _mlp(dtype):
    return fk.Sequential([fk.Input((12,), dtype=dtype), L.Dense(16, activation="relu"),
                          L.BatchNormalization(), L.Dropout(0.5), L.Dense(8),
                          L.LeakyReLU(0.1), L.Dense(6, activation="tanh"), L.Activation("gelu"),
                          L.Dense(4, activation="softmax")])


def _cnn(dtype):
    return fk.Sequential([fk.Input((9, 9, 2), dtype=dtype),
                          L.Conv2D(8, 3, padding="same", activation="relu"),
                          L.Conv2D(12, 3, strides=2, activation="elu"), L.MaxPooling2D(2),
                          L.Conv2D(16, 1, activation="sigmoid"), L.AveragePooling2D(1),
                          L.Flatten(), L.Dense(5, activation="softmax")])


def _cnn_gap(dtype):
    return fk.Sequential([fk.Input((10, 3), dtype=dtype), L.Conv1D(6, 3, padding="causal"),
                          L.GlobalAveragePooling1D(), L.Dense(3)])


def _chain(dtype):
    x = fk.Input((7,), dtype=dtype)
    h = L.Dense(9, activation="swish")(x)
    h = L.Reshape((3, 3))(h)  # not planned: runs its own code between two C chains
    h = L.Flatten()(h)
    return fk.Model(x, L.Dense(2)(h))


def _branches(dtype):
    a, b = fk.Input((5,), dtype=dtype), fk.Input((3,), dtype=dtype)
    h = L.Concatenate()([L.Dense(4, activation="relu")(a), b])
    return fk.Model([a, b], [L.Dense(2)(h), L.Dense(1)(h)])


def _masked(dtype):
    return fk.Sequential([fk.Input((6,), dtype="int32"), L.Embedding(9, 4, mask_zero=True,
                                                                       dtype=dtype),
                          L.LSTM(3, dtype=dtype), L.Dense(2, dtype=dtype)])


MODELS = {"mlp": _mlp, "cnn": _cnn, "cnn_gap": _cnn_gap, "chain": _chain,
          "branches": _branches, "masked": _masked}


def _inputs(model, n, rng):
    xs = []
    for t in model.inputs:
        shape = (n,) + tuple(t.shape[1:])
        xs.append(rng.integers(0, 9, size=shape).astype("int32") if t.dtype.kind == "i"
                  else rng.normal(size=shape).astype(t.dtype))
    return xs if len(xs) > 1 else xs[0]


def _randomise(model, rng):
    model.set_weights([(np.abs(rng.normal(size=w.shape)) + 0.5 if "variance" in w.name else
                        rng.normal(size=w.shape) * 0.5).astype(w.dtype) for w in model.weights])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_runner_matches_predict(rng, kind, dtype):
    previous = fk.config.floatx()
    fk.config.set_floatx(dtype)  # every layer in dtype
    try:
        model = MODELS[kind](dtype)
    finally:
        fk.config.set_floatx(previous)
    _randomise(model, rng)
    runner = model.compile_for_inference()
    # BatchNormalization runs folded into one scale and shift: rounding differs slightly
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for n in (1, 5, 70):
        x = _inputs(model, n, rng)
        # predict casts float arrays to floatx first (Keras' array adapter); the runner
        # keeps the model's dtype, so the reference runs with floatx set to it
        fk.config.set_floatx(dtype)
        try:
            want = model.predict(x, verbose=0, batch_size=128)
        finally:
            fk.config.set_floatx(previous)
        got = runner(x)
        for a, b in zip(got if isinstance(got, list) else [got],
                        want if isinstance(want, list) else [want]):
            assert a.dtype == np.dtype(dtype) and a.shape == b.shape
            np.testing.assert_allclose(a, b, **tol)
    lines = runner.describe()
    if kind == "mlp":  # the whole MLP is one C call
        assert lines == [f"C chain: 12 -> 4 ({dtype})"]
    if kind == "cnn":
        # float32: the direct kernel (AVX2 / AVX-512) or im2col; float64: im2col
        algos = ("direct", "im2col") if dtype == "float32" else ("im2col",)
        assert lines[:2] == [f"C kernel: ConvStage ({lines[0][21:-1]})"] * 2, lines
        assert lines[0][21:-1] in algos, lines
    if kind == "chain":
        assert [l.split(":")[0] for l in lines] == ["C chain", "layer", "C kernel", "C chain"]
    if kind in ("branches", "masked"):
        assert lines[0].startswith("graph")


def test_runner_batches_weights_snapshot_and_errors(rng):
    model = _mlp("float32")
    runner = model.compile_for_inference()
    x = rng.normal(size=(50, 12)).astype("float32")
    np.testing.assert_allclose(runner(x, batch_size=8), runner(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(runner(x.astype("float64")), runner(x), rtol=1e-6)
    before = runner(x)
    _randomise(model, rng)  # the runner keeps the weights it was made with...
    np.testing.assert_array_equal(runner(x), before)
    runner.refresh()  # ...until refreshed
    np.testing.assert_allclose(runner(x), model.predict(x, verbose=0), rtol=2e-6, atol=2e-6)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 12\)"):
        runner(np.zeros((3, 11), "float32"))
    with pytest.raises(ValueError, match="numeric"):
        runner(np.array([["a"] * 12]))
    with pytest.raises(ValueError, match="built model"):
        fk.Sequential([L.Dense(2)]).compile_for_inference()


def _hammer(fns, inputs, repeats=20):
    """Run every fn on every input from 8 threads at once; returns [thread][call] outputs."""
    results = [[] for _ in range(8)]
    errors = []
    start = threading.Barrier(8)

    def work(t):
        try:
            start.wait()
            for r in range(repeats):
                for i, x in enumerate(inputs):
                    fn = fns[(t + r + i) % len(fns)]
                    results[t].append((i, fn(x)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_eight_threads_give_the_serial_results(rng, kind):
    """predict, model(x) and the runner from 8 threads on one shared model: every result is
    bit for bit the serial one (kernels release the GIL; nothing shared is written)."""
    model = MODELS[kind]("float32")
    _randomise(model, rng)
    runner = model.compile_for_inference()
    inputs = [_inputs(model, n, rng) for n in (1, 3, 40, 64)]
    serial = {"predict": [model.predict(x, verbose=0) for x in inputs],
              "call": [np.asarray(model(x)) for x in inputs],
              "runner": [runner(x) for x in inputs]}
    fns = [lambda x: ("predict", model.predict(x, verbose=0)),
           lambda x: ("call", np.asarray(model(x))), lambda x: ("runner", runner(x))]
    for per_thread in _hammer(fns, inputs):
        for i, (name, out) in per_thread:
            np.testing.assert_array_equal(out, serial[name][i])


def test_an_unbuilt_model_is_built_once_by_racing_threads(rng):
    model = fk.Sequential([L.Dense(8, activation="relu"), L.Dense(3)])
    x = rng.normal(size=(4, 5)).astype("float32")
    _hammer([lambda v: np.asarray(model(v))], [x], repeats=2)
    assert len(model.weights) == 4
    np.testing.assert_array_equal(np.asarray(model(x)), model.predict(x, verbose=0))


def test_planned_kernels_refuse_mismatched_arrays(rng):
    """The conv / pool plans check size, dtype and layout before the GIL is released."""
    model = _cnn("float32")
    runner = model.compile_for_inference()
    conv, pool = runner._stages[0].plan, runner._stages[2].plan
    good = np.zeros((2, 9, 9, 2), "float32")
    assert conv.run(good).shape == (2, 9, 9, 8)
    for bad, msg in ((np.zeros((2, 9, 9, 3), "float32"), "shape"),
                     (good.astype("float64"), "float32"),
                     (np.zeros((2, 9, 9, 4), "float32")[..., ::2], "contiguous"),
                     (np.zeros(5, "float32"), "shape")):
        with pytest.raises(ValueError, match=msg):
            conv.run(bad)
    with pytest.raises(ValueError, match="shape"):
        pool.run(np.zeros((2, 3, 3, 12), "float32"))
    assert conv.run(np.zeros((0, 9, 9, 2), "float32")).shape == (0, 9, 9, 8)
