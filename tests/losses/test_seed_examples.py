"""The examples of ../shared/seeds/001 (section 6), with the exact numbers they print."""
import math

import numpy as np

import fastkeras as keras


def test_categorical_crossentropy_seed_6_2():
    y_true = [[0, 1, 0], [0, 0, 1]]
    y_pred = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    loss = keras.losses.categorical_crossentropy(y_true, y_pred)
    assert loss.shape == (2,)
    out = loss.numpy()
    assert out.dtype == np.float32
    assert repr(out) == "array([0.05129331, 2.3025851 ], dtype=float32)"
    assert math.isclose(out[0], -math.log(0.95), rel_tol=1e-6)
    assert math.isclose(out[1], -math.log(0.1), rel_tol=1e-6)


def test_sparse_categorical_crossentropy_seed_6_3():
    y_true = [1, 2, 3]
    y_pred = [[0.05, 0.90, 0, 0.05], [0.1, 0.8, 0.05, 0.05], [0.15, 0.1, 0.5, 0.25]]
    loss = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    assert repr(loss.numpy()) == "array([0.10536067, 2.9957323 , 1.3862944 ], dtype=float32)"


def test_class_forms_reduce_to_the_mean():
    y_true = [1, 2, 3]
    y_pred = [[0.05, 0.90, 0, 0.05], [0.1, 0.8, 0.05, 0.05], [0.15, 0.1, 0.5, 0.25]]
    per_sample = keras.losses.sparse_categorical_crossentropy(y_true, y_pred).numpy()
    reduced = keras.losses.SparseCategoricalCrossentropy()(y_true, y_pred).numpy()
    np.testing.assert_allclose(reduced, per_sample.mean(), rtol=1e-6)
    cce = keras.losses.CategoricalCrossentropy()
    np.testing.assert_allclose(
        cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy(),
        (0.05129331 + 2.3025851) / 2,
        rtol=1e-6,
    )


def test_binary_crossentropy_seed_6_1():
    # the documents: array([0.9162905 , 0.71355796], dtype=float32)
    y_true = [[0, 1], [0, 0]]
    y_pred = [[0.6, 0.4], [0.4, 0.6]]
    loss = keras.losses.binary_crossentropy(y_true, y_pred)
    assert loss.shape == (2,)
    assert repr(loss.numpy()) == "array([0.9162905 , 0.71355796], dtype=float32)"
