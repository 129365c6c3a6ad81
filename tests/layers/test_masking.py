"""Masks travel from Embedding(mask_zero=True) / Masking through the layers that keep
them to the RNNs and GlobalAveragePooling1D, as in tf.keras: outputs and gradients
against Keras 3 with the same weights."""
import numpy as np
import pytest

import fastkeras as fk


def _stack(lib, rnn_cls, return_sequences, masking):
    L = lib.layers
    first = L.Masking(0.0) if masking else L.Embedding(9, 4, mask_zero=True)
    rnn = getattr(L, rnn_cls)(3, return_sequences=return_sequences)
    chain = [first, L.Dense(4, activation="tanh"), rnn]
    if return_sequences:
        chain.append(L.GlobalAveragePooling1D())
    return chain


def _run(chain, x):
    y = x
    for layer in chain:
        y = layer(y)
    return y


@pytest.mark.parametrize("masking", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("rnn_cls", ["SimpleRNN", "LSTM", "GRU"])
def test_masked_sequences_match_keras(tf, rng, rnn_cls, return_sequences, masking):
    import keras

    if masking:
        x = rng.normal(size=(3, 6, 2)).astype("float32")
        x[0, 4:] = 0.0  # padded tail
        x[1, :2] = 0.0  # padded head
        x[2, 3] = 0.0   # a hole
    else:
        x = rng.integers(1, 9, size=(3, 6))
        x[0, 4:] = 0
        x[1, :2] = 0
    ref = _stack(keras, rnn_cls, return_sequences, masking)
    ours = _stack(fk, rnn_cls, return_sequences, masking)
    _run(ref, x)
    _run(ours, x)
    for r, o in zip(ref, ours):
        w = [rng.normal(size=v.shape).astype("float32") * 0.5 for v in r.get_weights()]
        r.set_weights(w)
        o.set_weights(w)
    y_ref = _run(ref, x)
    y = _run(ours, x)
    np.testing.assert_allclose(y.numpy(), np.asarray(y_ref), rtol=2e-5, atol=2e-6)

    g = rng.normal(size=tuple(y_ref.shape)).astype("float32")
    rw = [v for layer in ref for v in layer.trainable_weights]
    ow = [v for layer in ours for v in layer.trainable_weights]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(_run(ref, x) * g)
    gr = tape.gradient(loss, rw)
    with fk.GradientTape() as ftape:
        floss = fk.ops.sum(_run(ours, x) * g)
    go = ftape.gradient(floss, ow)
    for a, b in zip(go, gr):
        np.testing.assert_allclose(a.numpy(), tf.convert_to_tensor(b).numpy(), rtol=2e-4,
                                   atol=2e-6)


def test_mask_propagation_rules():
    L = fk.layers
    x = np.array([[1, 2, 0, 0]])
    e = L.Embedding(5, 3, mask_zero=True)(x)
    assert e._keras_mask.tolist() == [[True, True, False, False]]
    d = L.Dense(2)(e)
    assert d._keras_mask.tolist() == [[True, True, False, False]]  # Dense keeps it
    f = L.Flatten()(d)
    assert f._keras_mask is None  # Flatten drops it
    s = L.LSTM(2)(d)
    assert s._keras_mask is None  # the last state has no time axis
    seq = L.LSTM(2, return_sequences=True)(d)
    assert seq._keras_mask.tolist() == [[True, True, False, False]]
    a = L.Add()([seq, L.Masking(0.0)(np.array([[[1.0, 1.0], [0, 0], [1, 1], [1, 1]]]))])
    assert a._keras_mask.tolist() == [[True, False, False, False]]  # merged with AND
