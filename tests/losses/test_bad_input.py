"""Bad input gets a Python exception naming the argument; never a crash or a wrong number."""
import numpy as np
import pytest

import fastkeras as keras
from fastkeras import losses


def logits(n=4, c=3, dtype=np.float32):
    return np.arange(n * c, dtype=dtype).reshape(n, c) / 10


@pytest.mark.parametrize("fn", [losses.sparse_categorical_crossentropy,
                                losses.SparseCategoricalCrossentropy(from_logits=True)])
@pytest.mark.parametrize("bad", [3, -1, 100])
def test_label_out_of_range(fn, bad):
    with pytest.raises(ValueError, match=rf"`y_true` contains the label {bad}, outside the valid range \[0, 3\)"):
        fn([0, 1, bad, 2], logits())


def test_mismatched_batch_sizes():
    with pytest.raises(ValueError, match=r"`y_true` must have the shape of `y_pred`.*\(3,\).*\(4, 3\)"):
        losses.sparse_categorical_crossentropy([0, 1, 2], logits())
    with pytest.raises(ValueError, match=r"`y_true` and `y_pred` must have the same shape"):
        losses.categorical_crossentropy(np.eye(3)[:2], logits())


def test_wrong_rank():
    with pytest.raises(ValueError, match="`y_true` must have the shape of `y_pred`"):
        losses.sparse_categorical_crossentropy(np.zeros((4, 2), np.int64), logits())
    with pytest.raises(ValueError, match="rank >= 1"):
        losses.sparse_categorical_crossentropy(0, 1.0)
    with pytest.raises(ValueError, match="rank >= 1"):
        losses.categorical_crossentropy(1.0, 1.0)


def test_non_numeric_dtypes():
    with pytest.raises(TypeError, match="`y_pred` must hold numbers"):
        losses.sparse_categorical_crossentropy([0, 1], [["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match="`y_true` must hold integer class indices"):
        losses.sparse_categorical_crossentropy(["a", "b", "c", "d"], logits())
    with pytest.raises(TypeError, match="`y_true` must hold numbers"):
        losses.categorical_crossentropy(np.array([["x"] * 3] * 4), logits())
    with pytest.raises(TypeError, match="`sample_weight` must hold numbers"):
        losses.SparseCategoricalCrossentropy()([0, 1, 2, 0], logits(), sample_weight=["a"] * 4)


def test_nan_labels_refused():
    with pytest.raises(ValueError, match="`y_true` contains NaN or infinite labels"):
        losses.sparse_categorical_crossentropy([0.0, np.nan, 1.0, 2.0], logits())


def test_empty_batch_and_empty_classes():
    with pytest.raises(ValueError, match="`y_pred` is an empty batch"):
        losses.sparse_categorical_crossentropy(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="`y_pred` is an empty batch"):
        losses.CategoricalCrossentropy()(np.zeros((0, 3)), np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="empty class axis"):
        losses.sparse_categorical_crossentropy(np.zeros(2, np.int64), np.zeros((2, 0), np.float32))


def test_bad_options():
    with pytest.raises(ValueError, match="`label_smoothing` must be in \\[0, 1\\]"):
        losses.categorical_crossentropy(np.eye(3), np.eye(3), label_smoothing=1.5)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        losses.CategoricalCrossentropy(reduction="average")
    with pytest.raises(ValueError, match="`axis`=5 is out of range"):
        losses.categorical_crossentropy(np.eye(3), np.eye(3), axis=5)
    with pytest.raises(ValueError, match="`axis` must be of type `int`"):
        losses.categorical_crossentropy(np.eye(3), np.eye(3), axis=True)
    with pytest.raises(TypeError, match="`ignore_class` must be an int"):
        losses.sparse_categorical_crossentropy([0, 1, 2, 0], logits(), ignore_class="x")


def test_bad_sample_weight_shape():
    with pytest.raises(ValueError, match="`sample_weight` with shape \\(3,\\) cannot be applied"):
        losses.SparseCategoricalCrossentropy()([0, 1, 2, 0], logits(), sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="`sample_weight` with shape \\(3,\\) cannot be applied"):
        losses.SparseCategoricalCrossentropy(reduction="none")([0, 1, 2, 0], logits(),
                                                               sample_weight=[1, 2, 3])


def test_nan_logits_give_nan_not_garbage():
    x = logits()
    x[1, 2] = np.nan
    out = losses.sparse_categorical_crossentropy([0, 1, 2, 0], x, from_logits=True).numpy()
    assert np.isnan(out[1]) and np.all(np.isfinite(out[[0, 2, 3]]))
    v = keras.Variable(x)
    with keras.GradientTape() as tape:
        loss = losses.SparseCategoricalCrossentropy(from_logits=True)([0, 1, 2, 0], v)
    g = tape.gradient(loss, v).numpy()
    assert np.all(np.isnan(g[1])) and np.all(np.isfinite(g[[0, 2, 3]]))


def test_huge_logits_stay_finite():
    x = np.array([[1e30, -1e30, 0.0], [3e38, 3e38, -3e38]], np.float32)
    out = losses.sparse_categorical_crossentropy([1, 0], x, from_logits=True).numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [2e30, np.log(2.0)], rtol=1e-6)


def test_kernel_level_errors_name_the_c_function():
    from fastkeras._kernels import softmax_xent as kx

    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="fk_softmax_xent_sparse: label out of range"):
        kx.sparse(x, np.array([0, 7], np.int64))
    with pytest.raises(ValueError, match="labels has 3 rows, expected 2"):
        kx.sparse(x, np.array([0, 1, 2], np.int64))
    with pytest.raises(ValueError, match="fk_softmax_xent_dense: invalid argument value"):
        kx.dense(x, x, label_smoothing=2.0)
    with pytest.raises(ValueError, match="targets has shape"):
        kx.dense(x, np.zeros((2, 4), np.float32))
    with pytest.raises((ValueError, TypeError)):
        kx.sparse(np.zeros((2, 3), np.float32)[:, ::2], np.array([0, 1], np.int64))
