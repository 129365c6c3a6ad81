"""CTC: ops.ctc_loss and losses.CTC against tf.keras (values and gradients), finite
differences in float64, and bad input."""
import numpy as np
import pytest

import fastkeras as fk


def _case(seed, n=3, frames=9, classes=5, max_len=4):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, max_len + 1, n)
    labels = np.zeros((n, max_len), np.int64)
    for b, k in enumerate(lengths):
        labels[b, :k] = rng.integers(1, classes, k)
    return labels, rng.normal(size=(n, frames, classes)).astype("float32")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
def test_ctc_loss_and_gradient_match_tf_keras(tf, seed, reduction):
    y, x = _case(seed)
    xt = tf.Variable(x)
    with tf.GradientTape() as tape:
        want = tf.keras.losses.CTC(reduction=reduction)(y, xt)
        total = tf.reduce_sum(want)
    want_g = tape.gradient(total, xt).numpy()
    xv = fk.Variable(x)
    with fk.GradientTape() as tape:
        got = fk.losses.CTC(reduction=reduction)(y, xv)
        total = fk.ops.sum(got)
    got_g = tape.gradient(total, xv).numpy()
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-4, atol=1e-6)


def test_ops_ctc_loss_with_lengths_and_blank_matches_keras(tf):
    import keras

    y, x = _case(7, n=4, frames=10, classes=6)
    y = np.where(y == 0, 0, y)
    label_len = np.array([2, 0, 3, 1])
    y = np.where(np.arange(4)[None, :] < label_len[:, None], np.maximum(y, 1), 0)
    out_len = np.array([10, 7, 9, 4])
    for blank in (0, 5):
        yy = np.where(y == blank, (blank + 1) % 6, y) if blank else y
        want = keras.ops.convert_to_numpy(
            keras.ops.ctc_loss(yy, x, label_len, out_len, mask_index=blank))
        got = fk.ops.ctc_loss(yy, x, label_len, out_len, mask_index=blank).numpy()
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)


def test_ctc_gradient_by_finite_differences():
    from _gradcheck import check

    y, x = _case(3, n=2, frames=6, classes=4, max_len=3)
    old = fk.config.floatx()
    fk.config.set_floatx("float64")
    try:
        check(lambda v: fk.ops.ctc_loss(y, v, np.sum(y != 0, axis=1), np.full(2, 6)),
              x.astype("float64"), rtol=1e-6, atol=1e-8)
    finally:
        fk.config.set_floatx(old)


def test_ctc_impossible_labelling_costs_inf():
    # four repeated labels need seven frames; TensorFlow reports a large finite value
    # (708.08, its log floor), fastkeras the exact -log 0
    loss = fk.losses.CTC(reduction=None)(np.array([[1, 1, 1, 1]]),
                                         np.zeros((1, 4, 3), "float32"))
    assert np.isinf(loss.numpy()).all()


def test_ctc_bad_input():
    with pytest.raises(ValueError, match="y_true"):
        fk.losses.CTC()(np.zeros((2, 3, 1)), np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="y_pred"):
        fk.losses.CTC()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="labels must be in"):
        fk.ops.ctc_loss(np.array([[7]]), np.zeros((1, 3, 3)), [1], [3])
    with pytest.raises(ValueError, match="output_length"):
        fk.ops.ctc_loss(np.array([[1]]), np.zeros((1, 3, 3)), [1], [4])
    with pytest.raises(ValueError, match="mask_index"):
        fk.ops.ctc_loss(np.array([[1]]), np.zeros((1, 3, 3)), [1], [3], mask_index=3)
