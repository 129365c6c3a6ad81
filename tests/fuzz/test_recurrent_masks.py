"""Masks through the recurrent layers, fuzzed. The oracle is Keras' definition of a mask: a
masked step leaves the states alone, so a sample's final output (and the output at each of
its unmasked steps) equals the same layer run on the sequence of its unmasked steps only;
a masked step repeats the previous output (zeros before the first unmasked step, or always
with zero_output_for_mask). Masks of every pattern (all masked, leading, trailing, holes),
NaN and infinity hidden under the mask, go_backwards, bool / int / float masks, gradients
(none reach masked inputs; the weights' equal the compacted runs'), wrong mask shapes."""
import numpy as np
from hypothesis import strategies as st

import fastkeras as fk
from fastkeras import ops

from ._fuzzing import _refused, fuzz

RNNS = ["SimpleRNN", "GRU", "LSTM"]


def _layer(cls, units, f, dtype, seed, **kwargs):
    layer = getattr(fk.layers, cls)(units, dtype=dtype, seed=seed, **kwargs)
    layer.build((None, None, f))
    rng = np.random.default_rng(seed)  # non-trivial biases too
    layer.set_weights([rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()])
    return layer


def _expected(layer, x, mask, units):
    """Run each sample's unmasked steps alone and place the outputs where Keras puts them."""
    b, t = mask.shape
    layer.return_sequences = True
    seq = np.zeros((b, t, units))
    last = np.zeros((b, units))
    for i in range(b):
        keep = np.flatnonzero(mask[i])
        compact = np.asarray(layer(x[i:i + 1, keep])[0]) if keep.size \
            else np.zeros((0, units))
        order = range(t - 1, -1, -1) if layer.go_backwards else range(t)
        seen = 0
        for p, step in enumerate(order):
            if mask[i, step]:
                # the compacted run processes the unmasked steps in the same order
                seen += 1
                seq[i, p] = compact[seen - 1]
            elif seen and not layer.zero_output_for_mask:
                seq[i, p] = compact[seen - 1]
        if keep.size:  # with zero_output_for_mask a masked last step outputs zeros (Keras)
            last[i] = seq[i, -1] if layer.zero_output_for_mask else compact[-1]
    return seq, last


def _call(layer, x, mask, return_sequences):
    layer.return_sequences = return_sequences
    return np.asarray(layer(x, mask=mask))


@fuzz(cls=st.sampled_from(RNNS), b=st.integers(1, 3), t=st.integers(1, 6), f=st.integers(1, 3),
      units=st.integers(1, 3), backwards=st.booleans(), zero_out=st.booleans(),
      dtype=st.sampled_from(["float32", "float64"]), hide=st.sampled_from([None, np.nan, np.inf]),
      mask_dtype=st.sampled_from([bool, np.int64, np.float32]), seed=st.integers(0, 2 ** 31))
def test_masked_rnn_is_the_rnn_of_the_unmasked_steps(cls, b, t, f, units, backwards, zero_out,
                                                    dtype, hide, mask_dtype, seed):
    rng = np.random.default_rng(seed)
    layer = _layer(cls, units, f, dtype, seed, go_backwards=backwards,
                   zero_output_for_mask=zero_out)
    x = rng.normal(size=(b, t, f)).astype(dtype)
    mask = rng.random((b, t)) < rng.choice([0.0, 0.3, 0.7, 1.0])
    if hide is not None:
        x[~mask] = hide  # whatever sits under the mask never reaches the outputs
    ref_seq, ref_last = _expected(_layer(cls, units, f, dtype, seed, go_backwards=backwards,
                                         zero_output_for_mask=zero_out),
                                  np.where(mask[..., None], x, 0).astype(dtype), mask, units)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    with np.errstate(invalid="ignore"):  # inf * 0 in the masked steps' projections
        seq = _call(layer, x, mask.astype(mask_dtype), True)
        last = _call(layer, x, mask.astype(mask_dtype), False)
    np.testing.assert_allclose(seq, ref_seq, **tol)
    np.testing.assert_allclose(last, ref_last, **tol)


@fuzz(cls=st.sampled_from(RNNS), b=st.integers(1, 3), t=st.integers(1, 5), f=st.integers(1, 3),
      seed=st.integers(0, 2 ** 31))
def test_masked_gradients_are_the_unmasked_steps_gradients(cls, b, t, f, seed):
    rng = np.random.default_rng(seed)
    layer = _layer(cls, 2, f, "float64", seed)
    x = rng.normal(size=(b, t, f))
    mask = rng.random((b, t)) < 0.6
    w_out = rng.normal(size=(b, 2))

    def grads(xs, m, w):
        xv = fk.Variable(xs)
        with fk.GradientTape() as tape:
            loss = ops.sum(ops.multiply(layer(xv, mask=m), w))
        g = tape.gradient(loss, [xv] + layer.trainable_weights)
        return [np.zeros(v.shape) if gi is None else np.asarray(gi)
                for gi, v in zip(g, [xv] + layer.trainable_weights)]

    got = grads(x, mask, w_out)
    assert not np.any(got[0][~mask]), "a gradient reached a masked step"
    ref_w = [np.zeros_like(g) for g in got[1:]]
    for i in range(b):
        keep = np.flatnonzero(mask[i])
        if keep.size:
            gi = grads(x[i:i + 1, keep], None, w_out[i:i + 1])
            np.testing.assert_allclose(got[0][i, keep], gi[0][0], rtol=1e-10, atol=1e-12)
            ref_w = [r + g for r, g in zip(ref_w, gi[1:])]
    for g, r in zip(got[1:], ref_w):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@fuzz(cls=st.sampled_from(RNNS), b=st.integers(1, 3), t=st.integers(1, 5),
      mask_shape=st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple),
      kind=st.sampled_from(["bool", "str", "object"]))
def test_bad_masks_are_refused(cls, b, t, mask_shape, kind):
    layer = _layer(cls, 2, 2, "float32", 0)
    x = np.ones((b, t, 2), np.float32)
    mask = np.ones(mask_shape, dtype={"bool": bool, "str": "U2", "object": object}[kind])
    if kind == "bool" and mask_shape == (b, t):
        assert np.asarray(layer(x, mask=mask)).shape == (b, 2)
        return
    assert _refused(layer, x, mask=mask)


@fuzz(cls=st.sampled_from(RNNS), b=st.integers(1, 3), t=st.integers(1, 6),
      zero_rows=st.floats(0, 1), seed=st.integers(0, 2 ** 31))
def test_masking_layer_gives_the_rnn_its_mask(cls, b, t, zero_rows, seed):
    """Masking in a Sequential model hands the recurrent layer the mask of non-zero steps."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(b, t, 3)).astype("float32")
    x[rng.random((b, t)) < zero_rows] = 0.0
    rnn = _layer(cls, 2, 3, "float32", seed)
    model = fk.Sequential([fk.Input((t, 3)), fk.layers.Masking(0.0), rnn])
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               np.asarray(rnn(x, mask=np.any(x != 0, axis=-1))), rtol=1e-6,
                               atol=1e-7)
