"""Cross-entropies of softmax / sigmoid outputs computed from the logits those activations
carry, as tf.keras does (exactly, without clipping), and the gradient of the from-logits
binary cross-entropy at a zero logit."""
import warnings

import numpy as np
import pytest

import fastkeras as fk

CASES = [("softmax", "sparse_categorical_crossentropy", np.array([2, 0])),
         ("softmax", "categorical_crossentropy", np.array([[0, 0, 1.0], [1, 0, 0]])),
         ("sigmoid", "binary_crossentropy", np.array([[0, 0, 1.0], [1, 1, 0]]))]
X = np.array([[30.0, 0.0, -30.0], [-20.0, 5.0, 40.0]], "float32")


def _model(lib, act, loss):
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(3, activation=act)])
    m.set_weights([np.eye(3, dtype="float32"), np.zeros(3, "float32")])
    m.compile(optimizer=lib.optimizers.SGD(0.01), loss=loss, metrics=[loss])
    return m


@pytest.mark.parametrize("act,loss,y", CASES, ids=[c[1] for c in CASES])
def test_saturated_outputs_lose_what_tf_keras_loses(tf, act, loss, y):
    tm, fm = _model(tf.keras, act, loss), _model(fk, act, loss)
    np.testing.assert_allclose(fm.evaluate(X, y, verbose=0), tm.evaluate(X, y, verbose=0),
                               rtol=1e-5)
    want = float(np.mean(tf.keras.losses.get(loss)(y, tm(X))))
    got = float(np.mean(fk.losses.get(loss)(y, fm(X)).numpy()))
    assert got == pytest.approx(want, rel=1e-5)
    assert got > 20  # not the clipped value -log(1e-7) = 16.1 per element
    th = tm.fit(X, y, epochs=3, batch_size=2, verbose=0).history
    fh = fm.fit(X, y, epochs=3, batch_size=2, verbose=0).history
    np.testing.assert_allclose(fh["loss"], th["loss"], rtol=1e-4, atol=1e-6)
    for a, b in zip(fm.get_weights(), tm.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_loss_classes_use_the_logits_and_warn_on_from_logits_true():
    logits = fk.ops.convert_to_tensor(X)
    probs = fk.activations.softmax(logits)
    exact = fk.losses.CategoricalCrossentropy(from_logits=True)(np.eye(3)[[2, 0]], logits)
    assert float(fk.losses.CategoricalCrossentropy()(np.eye(3)[[2, 0]], probs)) == \
        pytest.approx(float(exact), rel=1e-6)
    with pytest.warns(UserWarning, match="does not represent logits"):
        again = fk.losses.CategoricalCrossentropy(from_logits=True)(np.eye(3)[[2, 0]], probs)
    assert float(again) == pytest.approx(float(exact), rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plain array of probabilities: no logits, no warning
        fk.losses.categorical_crossentropy(np.eye(3)[[2, 0]], probs.numpy())


def test_gradients_flow_to_the_logits_by_finite_differences():
    from _gradcheck import check

    rng = np.random.default_rng(0)
    old = fk.config.floatx()
    fk.config.set_floatx("float64")
    try:
        x = rng.normal(size=(4, 3)) * 3
        x[0, 1] = 0.0  # exactly zero logit: the slope is sigmoid(0) - z, not -z
        z = (rng.random((4, 3)) > 0.5).astype("float64")
        check(lambda v: fk.losses.binary_crossentropy(z, fk.activations.sigmoid(v)), x,
              rtol=1e-6, atol=1e-8)
        check(lambda v: fk.losses.binary_crossentropy(z, v, from_logits=True), x,
              rtol=1e-6, atol=1e-8)
        labels = np.array([0, 2, 1, 1])
        check(lambda v: fk.losses.sparse_categorical_crossentropy(
            labels, fk.activations.softmax(v)), x, rtol=1e-6, atol=1e-8)
    finally:
        fk.config.set_floatx(old)


def test_logits_are_used_only_by_the_matching_cross_entropy():
    # tf.keras takes a sigmoid's logits for categorical_crossentropy (a softmax cross-entropy
    # of them) and a softmax's for binary_crossentropy; those are other functions than the
    # ones asked for, so fastkeras computes them from the probabilities
    x = fk.ops.convert_to_tensor(np.array([[2.0, -1.0, 0.5], [0.1, 0.2, -3.0]], "float32"))
    onehot = np.eye(3, dtype="float32")[[0, 2]]
    sig, soft = fk.activations.sigmoid(x), fk.activations.softmax(x)
    np.testing.assert_allclose(fk.losses.categorical_crossentropy(onehot, sig).numpy(),
                               fk.losses.categorical_crossentropy(onehot, sig.numpy()).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(fk.losses.binary_crossentropy(onehot, soft).numpy(),
                               fk.losses.binary_crossentropy(onehot, soft.numpy()).numpy(),
                               rtol=1e-6)
    along_rows = fk.activations.softmax(x, axis=0)  # not the loss's class axis: no logits
    assert getattr(along_rows, "_keras_logits", None) is None
