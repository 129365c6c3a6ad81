"""float64 finite-difference checks of every op with a backward."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import losses, ops

from _gradcheck import check  # tests/ is on sys.path (its conftest.py)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_xent_gradient(rng, from_logits, label_smoothing):
    x = rng.normal(size=(6, 5))
    if not from_logits:
        x = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    y = rng.integers(0, 5, size=6)
    check(lambda v: losses.sparse_categorical_crossentropy(
        y, v, from_logits=from_logits, label_smoothing=label_smoothing), x)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("from_logits", [True, False])
def test_dense_xent_gradient(rng, from_logits, label_smoothing):
    x = rng.normal(size=(4, 6))
    if not from_logits:
        x = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    t = rng.uniform(size=(4, 6))
    t /= t.sum(1, keepdims=True)
    check(lambda v: losses.categorical_crossentropy(
        t, v, from_logits=from_logits, label_smoothing=label_smoothing), x)


@pytest.mark.parametrize("from_logits", [True, False])
def test_dense_xent_gradient_wrt_targets(rng, from_logits):
    x = rng.normal(size=(3, 4))
    if not from_logits:
        x = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    t = rng.uniform(size=(3, 4))
    check(lambda v: losses.categorical_crossentropy(v, x, from_logits=from_logits,
                                                    label_smoothing=0.1), t)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_reduced_class_gradient_with_weights(rng, reduction):
    x = rng.normal(size=(7, 4, 3))
    y = rng.integers(0, 3, size=(7, 4))
    sw = rng.uniform(size=(7, 4))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction,
                                                dtype="float64")
    check(lambda v: loss(y, v, sample_weight=sw), x)
    dense = losses.CategoricalCrossentropy(from_logits=True, reduction=reduction,
                                           dtype="float64", label_smoothing=0.05)
    t = np.eye(3)[y]
    check(lambda v: dense(t, v, sample_weight=sw), x)


def test_differentiable_sample_weight(rng):
    """A sample weight that is itself watched takes the generic (unfused) path."""
    x = rng.normal(size=(5, 3))
    y = rng.integers(0, 3, size=5)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    check(lambda w: loss(y, x, sample_weight=w), rng.uniform(size=5))


def test_class_axis_first(rng):
    x = rng.normal(size=(4, 3, 2))
    t = rng.uniform(size=(4, 3, 2))
    check(lambda v: losses.categorical_crossentropy(t, v, from_logits=True, axis=1), x)


@pytest.mark.parametrize("name,fn,positive", [
    ("add", lambda v: ops.add(v, np.arange(3.0)), False),
    ("subtract", lambda v: ops.subtract(2.0, v), False),
    ("multiply", lambda v: ops.multiply(v, v), False),
    ("divide", lambda v: ops.divide(v, np.array([1.5, 2.0, 3.0])), False),
    ("divide_rhs", lambda v: ops.divide(1.0, v), True),
    ("power", lambda v: ops.power(v, 3.0), False),
    ("power_exponent", lambda v: ops.power(2.0, v), False),
    ("square", lambda v: ops.square(v), False),
    ("sqrt", lambda v: ops.sqrt(v), True),
    ("exp", lambda v: ops.exp(v), False),
    ("log", lambda v: ops.log(v), True),
    ("mean_axis", lambda v: ops.mean(v * v, axis=1), False),
    ("sum_keepdims", lambda v: ops.sum(v, axis=0, keepdims=True) * v, False),
    ("reshape", lambda v: ops.reshape(v, (-1,)) * np.arange(6.0), False),
    ("getitem", lambda v: v[1:, ::2] * 3.0, False),
    ("matmul", lambda v: ops.matmul(v, np.arange(12.0).reshape(3, 4)), False),
    ("max_axis", lambda v: ops.max(v, axis=1) * 2.0, False),
    ("min_all", lambda v: ops.min(v * v), False),
    ("global_max", lambda v: ops.global_max_pool(ops.reshape(v, (1, 2, 3, 1))), False),
    ("matmul_left", lambda v: np.arange(4.0).reshape(2, 2) @ v, False),
    ("matmul_vec", lambda v: ops.matmul(v, np.array([1.0, -2.0, 0.5])), False),
    ("matmul_batched", lambda v: ops.matmul(np.ones((3, 4, 2)), v), False),
    ("operators", lambda v: (v * 2.0 - 1.0) / (v * v + 1.0) + (-v) ** 2, False),
    ("broadcast", lambda v: v + ops.sum(v, axis=1, keepdims=True), False),
])
def test_math_op_gradients(rng, name, fn, positive):
    x = rng.uniform(0.5, 2.0, size=(2, 3)) if positive else rng.normal(size=(2, 3))
    if name in ("add", "divide", "subtract", "divide_rhs", "power", "power_exponent", "square",
                "sqrt", "exp", "log"):
        x = x[0]
    check(fn, x)
