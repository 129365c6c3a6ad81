"""The keras.ops surface beyond the basics: float64 finite-difference gradients of
every differentiable op, values against TensorFlow / Keras, and bad input."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops
from _gradcheck import check  # tests/ is on sys.path (its conftest.py)

W = np.array([[0.3, -1.2, 2.0], [1.5, 0.7, -0.4]])
A4 = np.arange(12.0).reshape(3, 4) / 7.0


GRAD_CASES = [
    ("log1p", lambda v: ops.log1p(v * v), None),
    ("expm1", lambda v: ops.expm1(v), None),
    ("tanh", lambda v: ops.tanh(v), None),
    ("sin", lambda v: ops.sin(v), None),
    ("cos", lambda v: ops.cos(v), None),
    ("reciprocal", lambda v: ops.reciprocal(v * v + 1), None),
    ("rsqrt", lambda v: ops.rsqrt(v * v + 1), None),
    ("maximum", lambda v: ops.maximum(v, W), None),
    ("minimum", lambda v: ops.minimum(W, v), None),
    ("maximum_bcast", lambda v: ops.maximum(v, 0.1), None),
    ("clip", lambda v: ops.clip(v * 2, -0.5, 0.8), None),
    ("where", lambda v: ops.where(W > 0, v * 2, v * v), None),
    ("prod", lambda v: ops.prod(v, axis=1), None),
    ("prod_all", lambda v: ops.prod(v), None),
    ("prod_keep", lambda v: ops.prod(v, axis=0, keepdims=True) * W, None),
    ("var", lambda v: ops.var(v, axis=1), None),
    ("std", lambda v: ops.std(v), None),
    ("logsumexp", lambda v: ops.logsumexp(v, axis=1), None),
    ("logsumexp_all", lambda v: ops.logsumexp(v, keepdims=True) * W, None),
    ("einsum_mm", lambda v: ops.einsum("ij,jk->ik", v, A4), None),
    ("einsum_implicit", lambda v: ops.einsum("ij,jk", v, A4), None),
    ("einsum_trace_like", lambda v: ops.einsum("ij,ij->i", v, W), None),
    ("einsum_outer_sum", lambda v: ops.einsum("ij->j", v), None),
    ("einsum_ellipsis", lambda v: ops.einsum("...j,jk->...k", v, A4), None),
    ("einsum_self", lambda v: ops.einsum("ij,kj->ik", v, v), None),
    ("einsum_diagonal", lambda v: ops.einsum("ii->i", ops.reshape(ops.concatenate(
        [ops.flatten(v), ops.flatten(v)[:3]], 0), (3, 3))), None),
    ("einsum_trace", lambda v: ops.einsum("ii", ops.reshape(ops.concatenate(
        [ops.flatten(v), ops.flatten(v)[:3]], 0), (3, 3))) * v, None),
    ("einsum_repeated_contraction", lambda v: ops.einsum("iij,jk->ik", ops.reshape(
        ops.concatenate([ops.flatten(v), ops.flatten(v)[:2]], 0), (2, 2, 2)), A4[:2]), None),
    ("dot", lambda v: ops.dot(v, A4), None),
    ("dot_nd", lambda v: ops.dot(v, np.ones((2, 3, 2))), None),
    ("tensordot", lambda v: ops.tensordot(v, W, axes=([0, 1], [0, 1])), None),
    ("transpose", lambda v: ops.transpose(v) * W.T, None),
    ("expand_squeeze", lambda v: ops.squeeze(ops.expand_dims(v, 1), 1) * W, None),
    ("concatenate", lambda v: ops.concatenate([v, v * v, W], axis=1) * np.arange(9.0), None),
    ("stack", lambda v: ops.stack([v, v * 3], axis=1) * np.arange(6.0).reshape(2, 1, 3), None),
    ("split", lambda v: ops.split(v, [1], axis=1)[1] * ops.split(v, 3, axis=1)[0], None),
    ("take", lambda v: ops.take(v, np.array([[0, 2], [2, 2]]), axis=1), None),
    ("take_flat", lambda v: ops.take(v, np.array([5, 0, 5])), None),
    ("gather", lambda v: ops.gather(v, [1, 1, 0]), None),
    ("take_along_axis", lambda v: ops.take_along_axis(v, np.array([[2, 0], [1, 1]]), axis=1),
     None),
    ("tile", lambda v: ops.tile(v, (2, 3)) * np.arange(36.0).reshape(4, 9), None),
    ("repeat", lambda v: ops.repeat(v, 2, axis=1) * np.arange(12.0).reshape(2, 6), None),
    ("repeat_flat", lambda v: ops.repeat(v, [1, 2, 3, 1, 0, 2]), None),
    ("broadcast_to", lambda v: ops.broadcast_to(ops.sum(v, 0), (4, 3)) * np.arange(12.0)
     .reshape(4, 3), None),
    ("flip", lambda v: ops.flip(v, 1) * W, None),
    ("pad", lambda v: ops.pad(v, [[1, 0], [2, 1]]) * np.arange(18.0).reshape(3, 6), None),
    ("flatten", lambda v: ops.flatten(v) * np.arange(6.0), None),
    ("relu", lambda v: ops.relu(v), None),
    ("relu6", lambda v: ops.relu6(v * 5), None),
    ("leaky_relu", lambda v: ops.leaky_relu(v, 0.3), None),
    ("elu", lambda v: ops.elu(v, 0.7), None),
    ("selu", lambda v: ops.selu(v), None),
    ("gelu_approx", lambda v: ops.gelu(v), None),
    ("gelu_exact", lambda v: ops.gelu(v, approximate=False), None),
    ("erf", lambda v: ops.erf(v), None),
    ("sigmoid", lambda v: ops.sigmoid(v), None),
    ("hard_sigmoid", lambda v: ops.hard_sigmoid(v * 4), None),
    ("hard_silu", lambda v: ops.hard_silu(v * 4), None),
    ("silu", lambda v: ops.silu(v), None),
    ("softplus", lambda v: ops.softplus(v), None),
    ("softsign", lambda v: ops.softsign(v), None),
    ("mish", lambda v: ops.mish(v), None),
    ("log_sigmoid", lambda v: ops.log_sigmoid(v), None),
    ("softmax", lambda v: ops.softmax(v) * W, None),
    ("softmax_axis0", lambda v: ops.softmax(v, axis=0) * W, None),
    ("log_softmax", lambda v: ops.log_softmax(v) * W, None),
    ("negative", lambda v: ops.negative(v) * W, None),
    ("abs", lambda v: ops.abs(v) * W, None),
    ("cast", lambda v: ops.cast(v, "float64") * W, None),
    ("cumsum", lambda v: ops.cumsum(v, axis=1) * W, None),
    ("cumsum_flat", lambda v: ops.cumsum(v) * np.arange(6.0), None),
    ("true_divide", lambda v: ops.true_divide(W, ops.square(v) + 1.0), None),
    ("swapaxes", lambda v: ops.swapaxes(v, 0, 1) * W.T, None),
    ("moveaxis", lambda v: ops.moveaxis(ops.reshape(v, (1, 2, 3)), 0, 2) * np.arange(6.0)
     .reshape(2, 3, 1), None),
    ("separable_conv", lambda v: ops.separable_conv(ops.reshape(v, (1, 2, 3, 1)),
                                                     np.arange(4.0).reshape(2, 2, 1, 1) / 4,
                                                     np.array([[[[0.5, -1.0]]]]),
                                                     padding="same"), None),
    ("max_pool", lambda v: ops.max_pool(ops.reshape(v, (1, 2, 3, 1)), 2, 1, "same"), None),
    ("average_pool", lambda v: ops.average_pool(ops.reshape(v, (1, 2, 3, 1)), 2, 1, "same"),
     None),
    ("global_average_pool", lambda v: ops.global_average_pool(ops.reshape(v, (1, 2, 3, 1))) * 3,
     None),
    ("conv_transpose", lambda v: ops.conv_transpose(ops.reshape(v, (1, 2, 3, 1)),
                                                     np.arange(8.0).reshape(2, 2, 2, 1) / 8,
                                                     strides=2, padding="same"), None),
]


KINKED = ("relu", "leaky_relu", "elu", "selu", "relu6", "hard_sigmoid", "hard_silu", "clip",
          "maximum", "minimum", "maximum_bcast", "where", "abs", "max_pool")
X_SMOOTH = np.array([[-1.3, 0.45, -0.27], [1.1, -0.62, 0.83]])


@pytest.mark.parametrize("name,fn,_", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradient_by_finite_differences(rng, name, fn, _):
    x = rng.normal(size=(2, 3))
    if name in KINKED:
        x = X_SMOOTH  # away from every kink, where finite differences straddle two slopes
    check(fn, x)


def test_prod_gradient_with_zeros():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0]])
    v = fk.Variable(x)
    with fk.GradientTape() as tape:
        y = ops.sum(ops.prod(v, axis=1))
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def test_tensorflow_kink_conventions():
    x = fk.Variable(np.array([-3.0, 0.0, 6.0, 3.0]))
    with fk.GradientTape(persistent=True) as tape:
        r, r6, lk = ops.relu(x), ops.relu6(x), ops.leaky_relu(x, 0.2)
        mx = ops.maximum(x, np.zeros(4))
        cl = ops.clip(x, 0.0, 3.0)
    np.testing.assert_array_equal(tape.gradient(r, x).numpy(), [0, 0, 1, 1])
    np.testing.assert_array_equal(tape.gradient(r6, x).numpy(), [0, 0, 0, 1])
    np.testing.assert_allclose(tape.gradient(lk, x).numpy(), [0.2, 0.2, 1, 1])
    np.testing.assert_array_equal(tape.gradient(mx, x).numpy(), [0, 1, 1, 1])  # ties to x1
    np.testing.assert_array_equal(tape.gradient(cl, x).numpy(), [0, 1, 0, 1])  # bounds pass


KERAS_VALUE_CASES = [
    ("log1p", lambda o, x: o.log1p(o.abs(x))),
    ("maximum", lambda o, x: o.maximum(x, 0.2)),
    ("clip", lambda o, x: o.clip(x, -0.5, 0.5)),
    ("where", lambda o, x: o.where(x > 0, x, x * 3)),
    ("prod", lambda o, x: o.prod(x, axis=-1)),
    ("var", lambda o, x: o.var(x, axis=0)),
    ("std", lambda o, x: o.std(x)),
    ("logsumexp", lambda o, x: o.logsumexp(x, axis=1)),
    ("einsum", lambda o, x: o.einsum("bij,bjk->bik", x, x)),
    ("dot", lambda o, x: o.dot(x[0], x[1])),
    ("transpose", lambda o, x: o.transpose(x, (2, 0, 1))),
    ("concatenate", lambda o, x: o.concatenate([x, x], axis=-1)),
    ("stack", lambda o, x: o.stack([x, x], axis=1)),
    ("take", lambda o, x: o.take(x, np.array([2, 0]), axis=1)),
    ("one_hot", lambda o, x: o.one_hot(np.array([0, 2, 1, 5]), 3)),
    ("tile", lambda o, x: o.tile(x, (1, 2, 1))),
    ("repeat", lambda o, x: o.repeat(x, 2, axis=2)),
    ("relu", lambda o, x: o.relu(x)),
    ("relu6", lambda o, x: o.relu6(x * 4)),
    ("leaky_relu", lambda o, x: o.leaky_relu(x)),
    ("elu", lambda o, x: o.elu(x)),
    ("selu", lambda o, x: o.selu(x)),
    ("gelu", lambda o, x: o.gelu(x)),
    ("gelu_exact", lambda o, x: o.gelu(x, approximate=False)),
    ("sigmoid", lambda o, x: o.sigmoid(x * 10)),
    ("hard_sigmoid", lambda o, x: o.hard_sigmoid(x * 3)),
    ("hard_silu", lambda o, x: o.hard_silu(x * 3)),
    ("silu", lambda o, x: o.silu(x)),
    ("softplus", lambda o, x: o.softplus(x * 20)),
    ("softsign", lambda o, x: o.softsign(x)),
    ("log_sigmoid", lambda o, x: o.log_sigmoid(x * 20)),
    ("softmax", lambda o, x: o.softmax(x, axis=1)),
    ("log_softmax", lambda o, x: o.log_softmax(x)),
    ("erf", lambda o, x: o.erf(x)),
]


@pytest.mark.parametrize("dtype,rtol", [("float32", 1e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("name,fn", KERAS_VALUE_CASES, ids=[c[0] for c in KERAS_VALUE_CASES])
def test_values_match_keras(tf, rng, name, fn, dtype, rtol):
    import keras

    x = rng.normal(size=(3, 3, 3)).astype(dtype)
    if name.startswith("gelu") and dtype == "float64":
        rtol = 1e-7  # TensorFlow's fused Gelu kernel: ~5e-8 relative error in float64
    ref = np.asarray(fn(keras.ops, x))
    got = fn(ops, x).numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * 1e-2)


def test_python_operators_and_inputs():
    v = fk.Variable([1.0, -2.0, 3.0])
    assert ops.add([1.0, 2.0, 3.0], v).numpy().tolist() == [2.0, 0.0, 6.0]
    assert ops.maximum(v, 0).numpy().tolist() == [1.0, 0.0, 3.0]
    assert ops.shape(np.zeros((2, 5))) == (2, 5)
    assert ops.one_hot([1], 3).numpy().tolist() == [[0.0, 1.0, 0.0]]
    parts = ops.split(np.arange(6.0), 3)
    assert [p.numpy().tolist() for p in parts] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert ops.where([True, False, True])[0].numpy().tolist() == [0, 2]


def test_bad_input_names_the_problem():
    with pytest.raises(IndexError, match="take: indices"):
        ops.take(np.zeros(3), [3])
    with pytest.raises(TypeError, match="`indices` must hold integers"):
        ops.take(np.zeros(3), [0.5])
    with pytest.raises(ValueError, match="cannot squeeze axis"):
        ops.squeeze(np.zeros((2, 3)), axis=0)
    with pytest.raises(ValueError, match="same rank"):
        ops.concatenate([np.zeros((2, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match="`num_classes`"):
        ops.one_hot([0], 0)
    with pytest.raises(ValueError, match="einsum"):
        ops.einsum("ij,jk->ik", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="output_padding"):
        ops.conv_transpose(np.zeros((1, 4, 1)), np.zeros((3, 1, 1)), strides=2, output_padding=2)
    with pytest.raises(TypeError, match="must hold numbers"):
        ops.relu(np.array(["a"]))


def test_gelu_float64_matches_the_formula(rng):
    scipy_special = pytest.importorskip("scipy.special")
    x = rng.normal(size=1000) * 3
    exact = 0.5 * x * scipy_special.erfc(-x / np.sqrt(2))
    approx = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(ops.gelu(x, approximate=False).numpy(), exact, rtol=1e-13,
                               atol=1e-15)
    np.testing.assert_allclose(ops.gelu(x).numpy(), approx, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ops.erf(x).numpy(), scipy_special.erf(x), rtol=1e-15)
