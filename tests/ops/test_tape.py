"""GradientTape and Variable semantics (tf's)."""
import threading

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops


def test_variable_api():
    v = fk.Variable([1.0, 2.0], name="w")
    assert v.dtype == np.float32 and v.trainable and v.name == "w"
    v.assign([3.0, 4.0])
    v.assign_add([1.0, 1.0])
    v.assign_sub(np.array([0.5, 0.5]))
    np.testing.assert_allclose(v.numpy(), [3.5, 4.5])
    with pytest.raises(ValueError, match="assign: value has shape \\(3,\\)"):
        v.assign([1.0, 2.0, 3.0])
    assert "fastkeras.Variable 'w'" in repr(v)


def test_scalar_loss_gradient_like_tf_docs():
    x = fk.Variable(3.0)
    with fk.GradientTape() as tape:
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0


def test_non_persistent_tape_single_use():
    x = fk.Variable(2.0)
    with fk.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, x)


def test_persistent_tape_and_structures():
    a, b = fk.Variable(1.0), fk.Variable(2.0)
    with fk.GradientTape(persistent=True) as tape:
        y = a * b + b
    ga, gb = tape.gradient(y, [a, b])
    assert (float(ga), float(gb)) == (2.0, 2.0)
    d = tape.gradient(y, {"a": a, "b": (b,)})
    assert float(d["a"]) == 2.0 and float(d["b"][0]) == 2.0


def test_watch_constants_and_unconnected():
    x = fk.constant([1.0, 2.0])
    z = fk.Variable(1.0)
    with fk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.square(x))
    gx, gz = tape.gradient(y, [x, z])
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])
    assert gz is None
    with fk.GradientTape() as tape:
        y = z * 2.0
    w = fk.Variable(5.0)
    assert float(tape.gradient(y, w, unconnected_gradients="zero")) == 0.0


def test_untrainable_and_unwatched_variables():
    v = fk.Variable(2.0, trainable=False)
    with fk.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    u = fk.Variable(2.0)
    with fk.GradientTape(watch_accessed_variables=False) as tape:
        y = u * u
    assert tape.gradient(y, u) is None


def test_stop_recording_and_output_gradients():
    v = fk.Variable([1.0, 2.0])
    with fk.GradientTape() as tape:
        y = v * 3.0
        with tape.stop_recording():
            z = v * 100.0
        total = y + z
    g = tape.gradient(total, v, output_gradients=[np.array([1.0, 10.0])])
    np.testing.assert_allclose(g.numpy(), [3.0, 30.0])


def test_nested_tapes_second_derivative():
    x = fk.Variable(3.0, dtype="float64")
    with fk.GradientTape() as outer:
        with fk.GradientTape() as inner:
            y = x * x * x
        dy = inner.gradient(y, x)  # the returned Tensor is not recorded: first order only
    assert float(dy) == 27.0
    assert outer.gradient(y, x) is not None


def test_no_bookkeeping_outside_a_tape():
    from fastkeras.ops import tape as tape_mod

    assert not tape_mod.is_recording()
    t = ops.add(fk.Variable(1.0), 2.0)
    assert float(t) == 3.0


def test_tapes_are_per_thread():
    v = fk.Variable(2.0)
    results = []

    def worker():
        with fk.GradientTape() as tape:
            y = v * v * v
        results.append(float(tape.gradient(y, v)))

    with fk.GradientTape() as main_tape:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        y = v * 5.0
    assert results == [12.0] * 4
    assert float(main_tape.gradient(y, v)) == 5.0


def test_watch_rejects_non_tensors():
    with fk.GradientTape() as tape:
        with pytest.raises(TypeError, match="watch\\(\\) expects Tensors"):
            tape.watch(np.zeros(3))


def test_tensor_repr_and_numpy():
    t = fk.constant(0.5)
    assert repr(t) == "fastkeras.Tensor(0.5, shape=(), dtype=float32)"
    assert t.numpy() == np.float32(0.5)
    assert np.asarray(fk.constant([1, 2])).tolist() == [1, 2]


def test_slice_gradients_accumulate_without_touching_shared_arrays():
    import fastkeras as fk
    from fastkeras import ops

    x = fk.Variable(np.arange(12.0).reshape(3, 4))
    with fk.GradientTape() as tape:
        parts = [x[:, i] * (i + 1.0) for i in range(4)]  # basic slices
        fancy = ops.sum(x[np.array([0, 0, 2])])  # advanced index, repeated row
        total = ops.sum(ops.stack(parts)) + fancy + ops.sum(x)
    g = tape.gradient(total, x).numpy()
    expected = np.tile([1.0, 2.0, 3.0, 4.0], (3, 1)) + 1.0
    expected[0] += 2.0
    expected[2] += 1.0
    np.testing.assert_array_equal(g, expected)
    # an upstream gradient handed to several inputs is never modified in place
    up = np.ones((3, 4))
    with fk.GradientTape() as tape:
        y = x + 0.0
        z = y[0:2] * 1.0
    gy = tape.gradient([y, z], x, output_gradients=[up, np.ones((2, 4))]).numpy()
    assert up.tolist() == np.ones((3, 4)).tolist()
    np.testing.assert_array_equal(gy, np.vstack([np.full((2, 4), 2.0), np.ones((1, 4))]))
