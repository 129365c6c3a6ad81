"""ops.arange with float steps and ops.array, against keras.ops (tf.keras 3) values and dtypes."""
import numpy as np
import pytest

from fastkeras import ops

CASES = [(0, 1, 0.1), (0.5,), (1, 2.5, 0.5), (0, 5), (5, 0, -1), (0.0, 1.0, 0.3), (2, 10, 3),
         (10, 2, -3), (-1.5, 2.25, 0.25), (3.0,), (0, 1, 1 / 3), (1e-3, 2e-3, 1e-4)]


@pytest.mark.parametrize("args", CASES, ids=str)
def test_arange_matches_keras(tf, args):
    import keras

    want = keras.ops.convert_to_numpy(keras.ops.arange(*args))
    got = ops.arange(*args).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float64", "int64", "float32"])
def test_arange_with_dtype(tf, dtype):
    import keras

    want = keras.ops.convert_to_numpy(keras.ops.arange(0, 2, 0.25 if "float" in dtype else 1,
                                                       dtype=dtype))
    got = ops.arange(0, 2, 0.25 if "float" in dtype else 1, dtype=dtype).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_arange_refuses_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        ops.arange(0, 1, 0.0)
    with pytest.raises(ValueError, match="finite"):
        ops.arange(0, float("inf"), 0.5)
    with pytest.raises(TypeError, match="stop"):
        ops.arange(0, "a")
    assert ops.arange(1, 0).shape == (0,)  # numpy's rule (tf.range raises)


def test_array_is_a_function_with_keras_dtypes(tf):
    import keras

    for x in ([1, 2, 3], [1.0, 2.0], np.array([1.0, 2.0]), 3, 2.5, [[True, False]]):
        want = keras.ops.convert_to_numpy(keras.ops.array(x))
        got = ops.array(x).numpy()
        assert got.dtype == want.dtype, x
        np.testing.assert_array_equal(got, want)
    assert ops.array([1, 2], dtype="float64").numpy().dtype == np.float64


def test_sum_and_mean_of_a_list_of_tensors_keep_the_gradient():
    import fastkeras as fk

    v = fk.Variable(np.array([1.0, 2.0], "float32"))
    with fk.GradientTape(persistent=True) as tape:
        parts = [fk.ops.sum(v * v), fk.ops.sum(3.0 * v)]
        total, avg = ops.sum(parts), ops.mean(parts)
    np.testing.assert_allclose(tape.gradient(total, v).numpy(), [5.0, 7.0])
    np.testing.assert_allclose(tape.gradient(avg, v).numpy(), [2.5, 3.5])
    assert float(ops.sum([1.0, 2.0])) == 3.0


def test_utils_pack_and_unpack_x_y_sample_weight(tf):
    import fastkeras as fk

    for data in ((1, 2), (1, 2, 3), (1,), 5):
        assert fk.utils.unpack_x_y_sample_weight(data) == \
            tf.keras.utils.unpack_x_y_sample_weight(data)
    assert fk.utils.pack_x_y_sample_weight(1) == tf.keras.utils.pack_x_y_sample_weight(1)
    assert fk.utils.pack_x_y_sample_weight(1, 2) == tf.keras.utils.pack_x_y_sample_weight(1, 2)


def test_ops_nn_namespace_has_keras_names(tf):
    import keras

    import fastkeras as fk

    assert fk.ops.nn.sigmoid is fk.ops.sigmoid and fk.ops.nn.softmax is fk.ops.softmax
    for name in fk.ops.nn.__all__:
        assert hasattr(keras.ops.nn, name), name
    x = np.array([[-1.0, 0.5, 2.0]], "float32")
    np.testing.assert_allclose(fk.ops.nn.sigmoid(x).numpy(),
                               keras.ops.convert_to_numpy(keras.ops.nn.sigmoid(x)), rtol=1e-6)
