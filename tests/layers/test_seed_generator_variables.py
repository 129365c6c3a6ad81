"""keras.random.SeedGenerator held by a layer, as Keras 3.15 tracks it: its ``state`` is in
``layer.variables`` and ``layer.non_trainable_variables`` (after the layer's own weights,
layer by layer), never in ``weights`` / ``non_trainable_weights`` / ``get_weights`` nor in
the saved files (``.weights.h5`` and ``.keras`` hold no seed state, so files move both ways
with tf.keras). Dropout (rate > 0) and the RNN cells hold one, as Keras' do."""
import zipfile

import h5py
import numpy as np
import pytest

import fastkeras as fk


def _noisy_class(k):
    class Noisy(k.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.sg = k.random.SeedGenerator(3)

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), name="w")

        def call(self, x, training=False):
            if training:
                return x * self.w + k.random.normal(k.ops.shape(x), seed=self.sg)
            return x * self.w
    return Noisy


def _counts(layer):
    return (len(layer.variables), len(layer.weights), len(layer.trainable_weights),
            len(layer.non_trainable_weights), len(layer.non_trainable_variables),
            len(layer.get_weights()))


def _model(k):
    inputs = k.Input((4,))
    x = k.layers.Dense(4)(inputs)
    x = k.layers.Dropout(0.5, seed=1)(x)
    return k.Model(inputs, _noisy_class(k)()(x))


@pytest.mark.parametrize("make", [
    lambda k: k.layers.Dropout(0.5, seed=1),
    lambda k: k.layers.Dropout(0.0),
    lambda k: _noisy_class(k)(),
    lambda k: k.layers.LSTM(3, dropout=0.2),
    lambda k: k.layers.GRU(3),
    lambda k: k.layers.SimpleRNN(3),
    lambda k: k.layers.GaussianNoise(0.3, seed=2),
], ids=["dropout", "dropout0", "custom", "lstm", "gru", "simple_rnn", "gaussian_noise"])
def test_which_lists_hold_the_seed_state(tf, make):
    ours, theirs = make(fk), make(tf.keras)
    shape = (None, 5, 2) if "RNN" in type(ours).__name__ or type(ours).__name__ in (
        "LSTM", "GRU") else (None, 4)
    ours.build(shape)
    theirs.build(shape)
    assert _counts(ours) == _counts(theirs)
    assert [v.name for v in ours.variables] == [v.name for v in theirs.variables]
    assert [v.trainable for v in ours.variables] == [v.trainable for v in theirs.variables]


def test_model_variables_order_matches_tf_keras(tf):
    ours, theirs = _model(fk), _model(tf.keras)
    assert _counts(ours) == _counts(theirs)
    assert [v.name for v in ours.variables] == [v.name for v in theirs.variables]
    assert [v.name for v in ours.non_trainable_variables] == \
        [v.name for v in theirs.non_trainable_variables]
    state = ours.non_trainable_variables[0]
    assert state.dtype == np.int64 and state.shape == (2,) and not state.trainable


def test_seed_state_advances_with_training_draws_and_symbolic_calls_leave_it(rng):
    model = _model(fk)
    states = [v for v in model.variables if "seed_generator" in v.name]
    before = [s.numpy().copy() for s in states]
    model(rng.random((2, 4)).astype("float32"))  # inference: no draw
    assert all(np.array_equal(s.numpy(), b) for s, b in zip(states, before))
    model(rng.random((2, 4)).astype("float32"), training=True)
    assert all(s.numpy()[1] == b[1] + 1 for s, b in zip(states, before))
    # a symbolic call (dummy runs infer the shapes) leaves the state as it was
    layer = _noisy_class(fk)()
    layer(fk.Input((4,)))
    assert layer.sg.state.numpy().tolist() == [3, 0]


def test_files_hold_no_seed_state_and_move_both_ways(tf, tmp_path, rng):
    ours, theirs = _model(fk), _model(tf.keras)
    theirs.set_weights([w * 0 + i for i, w in enumerate(ours.get_weights(), 1)])
    ours.set_weights(theirs.get_weights())
    x = rng.random((3, 4)).astype("float32")
    want = np.asarray(theirs(x))
    custom = {"Noisy": type(ours.layers[-1])}
    tf_custom = {"Noisy": type(theirs.layers[-1])}
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")

    def names(h5):
        found = []
        h5.visit(found.append)
        return sorted(found)

    with zipfile.ZipFile(tmp_path / "ours.keras") as a, zipfile.ZipFile(
            tmp_path / "theirs.keras") as b:
        with h5py.File(a.open("model.weights.h5")) as fa, \
                h5py.File(b.open("model.weights.h5")) as fb:
            assert names(fa) == names(fb)
            assert not any("seed" in n for n in names(fa))
    with h5py.File(tmp_path / "ours.weights.h5") as f:
        assert not any("seed" in n for n in names(f))
    for path in ("ours.keras", "theirs.keras"):
        loaded = fk.models.load_model(tmp_path / path, custom_objects=custom)
        np.testing.assert_allclose(loaded(x).numpy(), want, rtol=1e-6)
    in_tf = tf.keras.models.load_model(tmp_path / "ours.keras", custom_objects=tf_custom)
    np.testing.assert_allclose(np.asarray(in_tf(x)), want, rtol=1e-6)
    fresh = _model(fk)
    fresh.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(fresh(x).numpy(), want, rtol=1e-6)


def test_dropout_draws_repeat_with_a_seed_and_differ_between_calls(rng):
    x = np.ones((4, 50), "float32")
    a, b = fk.layers.Dropout(0.5, seed=7), fk.layers.Dropout(0.5, seed=7)
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert not np.array_equal(first, a(x, training=True).numpy())
    assert set(np.unique(first)) <= {0.0, 2.0} and 0.3 < np.mean(first == 0) < 0.7
