"""The source documents' custom losses, written with fastkeras.ops where the documents
write tf.*, against the same code on TensorFlow (values and gradients); and the
element-wise built-in losses they use against Keras."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops


def _doc_losses(lib, tfmath, Base):
    """The documents' code, parameterised by the library it runs on."""

    def custom_mean_squared_error(y_true, y_pred):
        return tfmath.mean(tfmath.square(y_true - y_pred))

    class CustomMSE(Base):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = tfmath.mean(tfmath.square(y_true - y_pred))
            reg = tfmath.mean(tfmath.square(0.5 - y_pred))
            return mse + reg * self.regularization_factor

    def focal_loss(gamma=2., alpha=0.75):
        def focal_loss_fixed(y_true, y_pred):
            bce = lib.losses.binary_crossentropy(y_true, y_pred)
            p_t = (y_true * y_pred) + ((1 - y_true) * (1 - y_pred))
            alpha_factor = y_true * alpha + (1 - y_true) * (1 - alpha)
            modulating_factor = tfmath.pow(1.0 - p_t, gamma)
            loss = tfmath.sum(alpha_factor * modulating_factor * bce, axis=-1)
            return loss
        return focal_loss_fixed

    class FocalLoss(Base):
        def __init__(self, gamma=2.0, alpha=0.75, name="focal_loss"):  # no super(): as written
            self.gamma = gamma
            self.alpha = alpha

        def call(self, y_true, y_pred):
            bce = lib.losses.binary_crossentropy(y_true, y_pred)
            p_t = (y_true * y_pred) + ((1 - y_true) * (1 - y_pred))
            alpha_factor = y_true * self.alpha + (1 - y_true) * (1 - self.alpha)
            modulating_factor = tfmath.pow(1.0 - p_t, self.gamma)
            loss = tfmath.sum(alpha_factor * modulating_factor * bce, axis=-1)
            return loss

    return custom_mean_squared_error, CustomMSE, focal_loss, FocalLoss


class _TFMath:
    def __init__(self, tf):
        self.tf = tf
        self.mean, self.square, self.pow = tf.math.reduce_mean, tf.square, tf.pow
        self.sum = tf.reduce_sum


class _FKMath:
    mean, square, pow, sum = ops.mean, ops.square, ops.power, ops.sum


def _run(fn, y_true, y_pred, lib_var, tape_cls, is_tf):
    v = lib_var(y_pred)
    with tape_cls() as tape:
        loss = fn(y_true, v)
        total = loss if np.ndim(loss) == 0 else (
            __import__("tensorflow").reduce_sum(loss) if is_tf else ops.sum(loss))
    g = tape.gradient(total, v)
    return np.asarray(loss), np.asarray(g)


@pytest.mark.parametrize("which", ["custom_mse_fn", "CustomMSE", "focal_fn", "FocalLoss"])
def test_document_custom_losses_match_tensorflow(tf, rng, which):
    import keras

    # focal loss as written expects a model's (batch, 1) outputs
    shape = (6, 1) if "ocal" in which else (6, 4)
    y_true = (rng.uniform(size=shape) > 0.5).astype("float64")
    y_pred = rng.uniform(0.05, 0.95, size=shape)
    tfl = _doc_losses(tf.keras, _TFMath(tf), keras.losses.Loss)
    fkl = _doc_losses(fk, _FKMath, fk.losses.Loss)
    pick = {"custom_mse_fn": lambda L: L[0], "CustomMSE": lambda L: L[1](0.4),
            "focal_fn": lambda L: L[2](), "FocalLoss": lambda L: L[3]()}[which]
    ref_fn, our_fn = pick(tfl), pick(fkl)
    if which == "FocalLoss":
        # tf.keras 3 refuses a Loss whose __init__ skips super().__init__; the
        # reference is the same computation through the function form
        ref_fn = tfl[2](2.0, 0.75)
        ref_loss, ref_g = _run(lambda a, b: tf.reduce_mean(ref_fn(a, b)), tf.constant(y_true),
                               y_pred, tf.Variable, tf.GradientTape, True)
    else:
        ref_loss, ref_g = _run(ref_fn, tf.constant(y_true), y_pred, tf.Variable,
                               tf.GradientTape, True)
    with fk.config.floatx_scope("float64") if hasattr(fk.config, "floatx_scope") else \
            _Floatx64():
        our_loss, our_g = _run(our_fn, y_true, y_pred, fk.Variable, fk.GradientTape, False)
    # the focal losses go through binary_crossentropy, which keeps tf.keras 2's epsilon
    # inside the logs (the documents' numbers); TensorFlow 2.21 has Keras 3's formula
    tol = 1e-6 if "ocal" in which else 1e-10
    np.testing.assert_allclose(our_loss, ref_loss, rtol=tol)
    np.testing.assert_allclose(our_g, ref_g, rtol=tol * 10, atol=1e-12)


class _Floatx64:
    def __enter__(self):
        self.old = fk.config.floatx()
        fk.config.set_floatx("float64")

    def __exit__(self, *a):
        fk.config.set_floatx(self.old)


CLASSES = {
    "binary_crossentropy": "BinaryCrossentropy", "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError", "huber": "Huber",
    "log_cosh": "LogCosh", "hinge": "Hinge", "squared_hinge": "SquaredHinge",
    "categorical_hinge": "CategoricalHinge", "kl_divergence": "KLDivergence",
    "poisson": "Poisson", "cosine_similarity": "CosineSimilarity",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "dice": "Dice", "tversky": "Tversky",
}
CASES = [
    ("binary_crossentropy", {}), ("binary_crossentropy", {"from_logits": True}),
    ("binary_crossentropy", {"label_smoothing": 0.2}), ("mean_squared_error", {}),
    ("mean_absolute_error", {}), ("mean_absolute_percentage_error", {}),
    ("mean_squared_logarithmic_error", {}), ("huber", {}), ("huber", {"delta": 0.3}),
    ("log_cosh", {}), ("hinge", {}), ("squared_hinge", {}), ("categorical_hinge", {}),
    ("kl_divergence", {}), ("poisson", {}), ("cosine_similarity", {}),
    ("binary_focal_crossentropy", {}),
    ("binary_focal_crossentropy", {"apply_class_balancing": True, "from_logits": True,
                                   "label_smoothing": 0.1}),
    ("categorical_focal_crossentropy", {}),
    ("categorical_focal_crossentropy", {"from_logits": True, "label_smoothing": 0.1,
                                        "gamma": 1.5}),
    ("dice", {}), ("dice", {"axis": -1}), ("tversky", {}),
    ("tversky", {"alpha": 0.3, "beta": 0.7, "axis": -1}),
]


def _loss_data(rng, name, kwargs, dtype):
    if name in ("kl_divergence", "categorical_focal_crossentropy", "categorical_hinge"):
        y_true = np.eye(3)[rng.integers(0, 3, 5)].astype(dtype)
    elif name == "mean_absolute_percentage_error":  # zeros in y_true: 1 / epsilon slopes
        y_true = rng.uniform(0.5, 1.5, size=(5, 3)).astype(dtype)
    else:
        y_true = (rng.uniform(size=(5, 3)) > 0.4).astype(dtype)
    y_pred = rng.uniform(0.01, 0.99, size=(5, 3)).astype(dtype)
    if kwargs.get("from_logits") or name in ("hinge", "squared_hinge", "huber", "log_cosh",
                                             "cosine_similarity"):
        y_pred = (rng.normal(size=(5, 3)) * 2).astype(dtype)
    return y_true, y_pred


@pytest.mark.parametrize("dtype,rtol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("name,kwargs", CASES)
def test_losses_match_keras(tf, rng, name, kwargs, dtype, rtol):
    import keras

    y_true, y_pred = _loss_data(rng, name, kwargs, dtype)
    if name == "binary_crossentropy" and not kwargs.get("from_logits"):
        rtol = max(rtol, 1e-6)  # tf.keras 2's epsilon inside the logs (the documents' numbers)
    ref = np.asarray(getattr(keras.losses, name)(y_true, y_pred, **kwargs))
    got = getattr(fk.losses, name)(y_true, y_pred, **kwargs).numpy()
    np.testing.assert_allclose(got, ref, rtol=rtol * 5, atol=rtol * 1e-3)
    cls = CLASSES[name]
    w = rng.uniform(size=5).astype(dtype)
    for red in ("sum_over_batch_size", "sum", "none"):
        ref_c = np.asarray(getattr(keras.losses, cls)(dtype=dtype, reduction=red, **kwargs)(
            y_true, y_pred, w))
        got_c = getattr(fk.losses, cls)(dtype=dtype, reduction=red, **kwargs)(
            y_true, y_pred, w).numpy()
        np.testing.assert_allclose(got_c, ref_c, rtol=rtol * 10, atol=rtol * 1e-3)
    assert fk.losses.get(name) is getattr(fk.losses, name)
    assert type(fk.losses.get(cls)).__name__ == cls


@pytest.mark.parametrize("name,kwargs", CASES)
def test_loss_gradients_by_finite_differences(rng, name, kwargs):
    from _gradcheck import check

    y_true, y_pred = _loss_data(rng, name, kwargs, "float64")
    old = fk.config.floatx()
    fk.config.set_floatx("float64")
    try:
        check(lambda v: getattr(fk.losses, name)(y_true, v, **kwargs), y_pred, rtol=1e-5,
              atol=1e-7)
    finally:
        fk.config.set_floatx(old)


def test_loss_aliases():
    L = fk.losses
    assert L.mse is L.mean_squared_error and L.MAE is L.mean_absolute_error
    assert L.kld is L.kl_divergence and L.kullback_leibler_divergence is L.kl_divergence
    assert L.get("logcosh") is L.log_cosh and L.get("mape") is L.mean_absolute_percentage_error
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        L.get("nope")


def test_binary_crossentropy_tf_keras_2_inside_keras_3_where_clipped(rng):
    """Float64: epsilon inside the logs after clipping, as tf.keras 2 computed it (the
    documents' numbers), except where clipping changed the probability: Keras 3's log(eps)."""
    y_true = (rng.uniform(size=(6, 4)) > 0.5).astype("float64")
    y_pred = rng.uniform(0.0, 1.0, size=(6, 4))
    y_pred[0, 0], y_pred[1, 1], y_pred[2, 2], y_pred[3, 3] = 0.0, 1.0, 1e-9, 1 - 1e-9
    eps = 1e-7
    p = np.clip(y_pred, eps, 1 - eps)
    inner = np.where((y_pred > eps) & (y_pred < 1 - eps), eps, 0.0)
    ref = -np.mean(y_true * np.log(p + inner) + (1 - y_true) * np.log(1 - p + inner), axis=-1)
    got = fk.losses.binary_crossentropy(y_true, y_pred).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-13)


def test_binary_crossentropy_on_exact_zeros_and_ones_equals_keras_3(tf):
    y_true = np.array([[0, 1, 1, 0], [1, 1, 0, 0]], "float32")
    y_pred = np.array([[0, 1, 0, 1], [0, 0, 1, 0.5]], "float32")
    want = tf.keras.losses.binary_crossentropy(y_true, y_pred).numpy()
    got = fk.losses.binary_crossentropy(y_true, y_pred).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    for lib_loss in (tf.keras.losses.BinaryCrossentropy(), fk.losses.BinaryCrossentropy()):
        assert float(lib_loss(y_true, y_pred)) == pytest.approx(float(np.mean(want)), rel=1e-6)
    m = fk.metrics.BinaryCrossentropy()
    m.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(float(np.mean(want)), rel=1e-6)


def _embeddings(rng, dtype, n=8, d=4):
    e = rng.normal(size=(n, d))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"remove_diagonal": False, "gamma": 10.0},
                                    {"margin": 0.25}])
def test_circle_loss_matches_keras(tf, rng, dtype, kwargs):
    labels = rng.integers(0, 3, 8)
    emb = _embeddings(rng, dtype)
    w = rng.uniform(size=8).astype(dtype)
    for red in ("sum_over_batch_size", "sum", "none"):
        want = np.asarray(tf.keras.losses.Circle(reduction=red, dtype=dtype, **kwargs)(
            labels, emb, sample_weight=w))
        got = fk.losses.Circle(reduction=red, dtype=dtype, **kwargs)(
            labels, emb, sample_weight=w).numpy()
        np.testing.assert_allclose(got, want, rtol=2e-5 if dtype == "float32" else 1e-10)


def test_circle_and_generalized_ce_gradients_by_finite_differences(rng):
    from _gradcheck import check

    labels = rng.integers(0, 3, 8)
    emb = _embeddings(rng, "float64")
    probs = rng.uniform(0.1, 1.0, size=(6, 4))
    probs /= probs.sum(axis=1, keepdims=True)
    old = fk.config.floatx()
    fk.config.set_floatx("float64")
    try:
        check(lambda v: fk.losses.circle(labels, v, gamma=5.0), emb, rtol=1e-5, atol=1e-7)
        check(lambda v: fk.losses.categorical_generalized_cross_entropy(
            rng.integers(0, 4, 6) * 0 + np.arange(6) % 4, v, q=0.3), probs, rtol=1e-5,
            atol=1e-7)
    finally:
        fk.config.set_floatx(old)


@pytest.mark.parametrize("q", [0.3, 0.5, 0.9])
def test_generalized_cross_entropy_matches_keras(tf, rng, q):
    labels = rng.integers(0, 4, 6)
    probs = rng.uniform(0.05, 1.0, size=(6, 4)).astype("float32")
    probs /= probs.sum(axis=1, keepdims=True)
    want = float(tf.keras.losses.CategoricalGeneralizedCrossEntropy(q=q)(labels, probs))
    got = float(fk.losses.CategoricalGeneralizedCrossEntropy(q=q)(labels, probs))
    assert got == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="q must be in the interval"):
        fk.losses.CategoricalGeneralizedCrossEntropy(q=1.5)


def test_new_losses_keep_keras_constructor_order_and_config(tf):
    for name, args in (("Dice", ("sum", "d", -1)), ("Tversky", (0.2, 0.8, "sum", "t", -1)),
                       ("Circle", (10.0, 0.3, False, "sum", "c")),
                       ("CategoricalGeneralizedCrossEntropy", (0.4, "sum", "g"))):
        want = getattr(tf.keras.losses, name)(*args).get_config()
        got = getattr(fk.losses, name)(*args).get_config()
        want.pop("dtype", None), got.pop("dtype", None)
        assert got == want, name
        assert type(getattr(fk.losses, name).from_config(got)).__name__ == name
