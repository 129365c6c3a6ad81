"""Preprocessing layers against tf.keras (Keras 3) on the same inputs."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import layers as L


def _np(x):
    return np.asarray(x)


# ---------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("scale,offset,dtype", [(1 / 255, 0.0, "uint8"), (1 / 127.5, -1, "int32"),
                                                ([0.5, 2.0, 3.0], [1.0, 0.0, -1.0], "float32"),
                                                (2.0, 0.5, "float64")])
def test_rescaling_matches_keras(tf, rng, scale, offset, dtype):
    x = (rng.random((4, 3)) * 255).astype(dtype)
    ours = L.Rescaling(scale, offset)(x)
    theirs = tf.keras.layers.Rescaling(scale, offset)(x)
    assert str(ours.dtype) == theirs.dtype.name
    np.testing.assert_allclose(_np(ours), theirs.numpy(), rtol=1e-6)


def test_rescaling_config_and_dtype(tf):
    ours = L.Rescaling(0.5, offset=2.0, dtype="float64")
    theirs = tf.keras.layers.Rescaling(0.5, offset=2.0, dtype="float64")
    for k in ("scale", "offset"):
        assert ours.get_config()[k] == theirs.get_config()[k]
    assert str(ours(np.ones((2, 2), "int32")).dtype) == "float64"
    again = L.Rescaling.from_config(ours.get_config())
    assert again.scale == 0.5 and again.offset == 2.0


def test_rescaling_bad_scale():
    with pytest.raises(TypeError, match="scale"):
        L.Rescaling("big")


# ---------------------------------------------------------------- Normalization
def test_normalization_keras_doc_examples():
    # the values keras.layers.Normalization's docstring states
    layer = L.Normalization(axis=None)
    layer.adapt(np.array([1., 2., 3., 4., 5.], "float32"))
    np.testing.assert_allclose(_np(layer(np.array([1., 2., 3.], "float32"))),
                               [-1.4142135, -0.70710677, 0.], rtol=1e-6)
    a = np.array([[0., 7., 4.], [2., 9., 6.], [0., 7., 4.], [2., 9., 6.]], "float32")
    layer = L.Normalization(axis=-1)
    layer.adapt(a)
    np.testing.assert_allclose(_np(layer(a[:1])), [[-1., -1., -1.]])
    layer = L.Normalization(mean=3., variance=2.)
    np.testing.assert_allclose(_np(layer(np.array([[1.], [2.], [3.]], "float32"))),
                               [[-1.4142135], [-0.70710677], [0.]], rtol=1e-6)
    layer = L.Normalization(axis=-1, invert=True)
    layer.adapt(a)
    np.testing.assert_allclose(_np(layer(np.array([[1., 2., 3.]], "float32"))), [[2., 10., 8.]])


@pytest.mark.parametrize("axis", [-1, None, 1, (1, 2), (-1, 0)])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_adapt_array_matches_keras(tf, rng, axis, invert):
    x = (rng.normal(size=(6, 4, 3)) * 3 + 2).astype("float32")
    ours, theirs = L.Normalization(axis=axis, invert=invert), \
        tf.keras.layers.Normalization(axis=axis, invert=invert)
    ours.adapt(x)
    theirs.adapt(x)
    np.testing.assert_allclose(_np(ours(x)), theirs(x).numpy(), rtol=1e-5, atol=1e-5)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [str(w.numpy().dtype) for w in ours.weights] == \
        [str(w.numpy().dtype) for w in theirs.weights]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _batches(x, size):
    return [x[i:i + size] for i in range(0, len(x), size)]


def test_normalization_adapt_batches_matches_keras(tf, rng):
    x = (rng.normal(size=(23, 3)) * 5 + 7).astype("float32")
    y = np.zeros((23,), "float32")
    for data_of in (lambda: _batches(x, 5),
                    lambda: (b for b in _batches(x, 4)),
                    lambda: [(b, y[:len(b)]) for b in _batches(x, 6)]):
        ours, theirs = L.Normalization(), tf.keras.layers.Normalization()
        ours.adapt(data_of())
        theirs.adapt(data_of())
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(ours(x)), theirs(x).numpy(), rtol=1e-5, atol=1e-5)


def test_normalization_adapt_pydataset_matches_keras(tf, rng):
    x = (rng.normal(size=(17, 2)) * 2 - 1).astype("float32")

    def make(base):
        class Data(base):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                return x[i * 5:(i + 1) * 5], np.zeros((len(x[i * 5:(i + 1) * 5]),))
        return Data()

    ours, theirs = L.Normalization(), tf.keras.layers.Normalization()
    ours.adapt(make(fk.utils.PyDataset))
    theirs.adapt(make(tf.keras.utils.PyDataset))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mean,variance,axis", [(3., 2., -1), ([1., 2., 3.], [4., 5., 6.], -1),
                                                ([[1., 2., 3.]] * 4, [[4., 5., 6.]] * 4, (1, 2))])
def test_normalization_given_stats_matches_keras(tf, rng, mean, variance, axis):
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    ours = L.Normalization(axis=axis, mean=mean, variance=variance)
    theirs = tf.keras.layers.Normalization(axis=axis, mean=mean, variance=variance)
    np.testing.assert_allclose(_np(ours(x)), theirs(x).numpy(), rtol=1e-6)
    assert ours.weights == [] and theirs.weights == []
    oc, tc = ours.get_config(), theirs.get_config()
    for k in ("axis", "invert", "mean", "variance"):
        assert oc[k] == tc[k], k


def test_normalization_config_matches_keras(tf):
    oc, tc = L.Normalization().get_config(), tf.keras.layers.Normalization().get_config()
    for k in ("axis", "invert", "mean", "variance"):
        assert oc[k] == tc[k], k


def test_normalization_errors(tf):
    with pytest.raises(ValueError, match="variance"):
        L.Normalization(mean=1.)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1., 2.], variance=[1.])
    with pytest.raises(ValueError, match="rank of `mean`"):
        L.Normalization(axis=None, mean=[1., 2.], variance=[1., 1.])
    with pytest.raises(ValueError, match="axis"):
        L.Normalization(axis=3).adapt(np.ones((2, 3), "float32"))
    layer = L.Normalization()
    layer.adapt(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="empty iterable"):
        L.Normalization().adapt([])
    with pytest.raises(TypeError, match="Unsupported data type"):
        L.Normalization().adapt(3)
    with pytest.raises(ValueError, match="build"):
        L.Normalization().call(np.ones((2, 3), "float32"))


def test_normalization_in_model_saved_and_loaded(tf, rng, tmp_path):
    x = (rng.normal(size=(20, 3)) * 3 + 1).astype("float32")
    norm = L.Normalization()
    norm.adapt(x)
    inp = L.Input((3,))
    model = fk.Model(inp, L.Dense(2)(norm(L.Rescaling(2.0, 1.0)(inp))))
    expected = _np(model.predict(x, verbose=0))
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = fk.models.load_model(path)
    np.testing.assert_allclose(_np(again.predict(x, verbose=0)), expected, rtol=1e-6)
    # tf.keras reads the file: the same mean/variance weights and outputs
    theirs = tf.keras.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for a, b in zip(again.layers[2].get_weights(), theirs.layers[2].get_weights()):
        np.testing.assert_allclose(a, b)


def test_normalization_reads_keras_file(tf, rng, tmp_path):
    x = (rng.normal(size=(20, 4)) * 2 + 5).astype("float32")
    norm = tf.keras.layers.Normalization()
    norm.adapt(x)
    inp = tf.keras.Input((4,))
    theirs = tf.keras.Model(inp, tf.keras.layers.Dense(1)(norm(inp)))
    path = str(tmp_path / "t.keras")
    theirs.save(path)
    ours = fk.models.load_model(path)
    np.testing.assert_allclose(_np(ours.predict(x, verbose=0)), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize("mode", ["multi_hot", "one_hot", "count", "binary"])
@pytest.mark.parametrize("x", [[1, 2, 2], [[1, 2, 2], [0, 0, 3]], [[1], [3]], 2])
def test_category_encoding_matches_keras(tf, mode, x):
    x = np.array(x)
    ours = L.CategoryEncoding(4, output_mode=mode)
    theirs = tf.keras.layers.CategoryEncoding(4, output_mode=mode)
    out, ref = ours(x), theirs(x)
    assert tuple(out.shape) == tuple(ref.shape)
    assert ours.compute_output_shape(x.shape) == theirs.compute_output_shape(x.shape)
    assert str(out.dtype) == ref.dtype.name
    np.testing.assert_array_equal(_np(out), ref.numpy())
    oc, tc = ours.get_config(), theirs.get_config()
    assert (oc["num_tokens"], oc["output_mode"]) == (tc["num_tokens"], tc["output_mode"])


def test_category_encoding_count_weights_and_range(tf):
    x = np.array([[1, 2, 2, 7]])
    w = np.array([[.5, 1., 2., 4.]])
    ours = L.CategoryEncoding(4, output_mode="count")(x, count_weights=w)
    theirs = tf.keras.layers.CategoryEncoding(4, output_mode="count")(x, count_weights=w)
    np.testing.assert_allclose(_np(ours), theirs.numpy())
    with pytest.raises(ValueError, match="count_weights"):
        L.CategoryEncoding(4)(x, count_weights=w)
    with pytest.raises(ValueError, match="non-negative"):
        L.CategoryEncoding(4)(np.array([1, -1]))
    with pytest.raises(ValueError, match="num_tokens"):
        L.CategoryEncoding()
    with pytest.raises(ValueError, match="num_tokens"):
        L.CategoryEncoding(0)
    with pytest.raises(ValueError, match="output_mode"):
        L.CategoryEncoding(3, output_mode="tf_idf")


# ---------------------------------------------------------------- StringLookup / IntegerLookup
_KEYS = ("invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token", "output_mode",
         "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary", "vocabulary_size",
         "oov_method", "salt")


def _same_lookup(ours, theirs, x):
    out, ref = ours(x), theirs(x)
    ref = ref.numpy()
    if ref.dtype.kind in "SO":
        ref = ref.astype(str)
        np.testing.assert_array_equal(np.asarray(out), ref)
    else:
        assert str(out.dtype) == str(ref.dtype)
        np.testing.assert_allclose(_np(out), ref, rtol=1e-6)
    assert [str(v) for v in ours.get_vocabulary()] == [
        v.decode() if isinstance(v, bytes) else str(v) for v in theirs.get_vocabulary()]
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    oc, tc = ours.get_config(), theirs.get_config()
    assert [k for k in tc if k not in ("name", "dtype", "trainable")] == \
        [k for k in oc if k not in ("name", "dtype", "trainable")]
    for k in _KEYS:
        assert oc[k] == (tc[k].tolist() if hasattr(tc[k], "tolist") else tc[k]), k


@pytest.mark.parametrize("kw", [dict(), dict(mask_token=""), dict(num_oov_indices=0),
                                dict(output_mode="one_hot"), dict(output_mode="multi_hot"),
                                dict(output_mode="count", mask_token=""),
                                dict(output_mode="binary", num_oov_indices=0),
                                dict(output_mode="tf_idf", idf_weights=[.5, 1., 2.]),
                                dict(max_tokens=5, pad_to_max_tokens=True,
                                     output_mode="multi_hot")])
def test_string_lookup_vocabulary_matches_keras(tf, kw):
    vocab = ["a", "b", "c"]
    x = np.array([["a", "c", "b"], ["c", "c", "a"]])
    if kw.get("num_oov_indices", 1):
        x = np.array([["a", "z", "b"], ["c", "c", ""]]) if "mask_token" in kw else \
            np.array([["a", "z", "b"], ["c", "c", "q"]])
    _same_lookup(L.StringLookup(vocabulary=vocab, **kw),
                 tf.keras.layers.StringLookup(vocabulary=vocab, **kw), x)


@pytest.mark.parametrize("kw", [dict(), dict(mask_token="[MASK]"), dict(max_tokens=4),
                                dict(output_mode="tf_idf"), dict(output_mode="count")])
def test_string_lookup_adapt_matches_keras(tf, kw):
    data = np.array([["b", "a", "a"], ["c", "c", "d"], ["c", "e", "b"]])
    ours, theirs = L.StringLookup(**kw), tf.keras.layers.StringLookup(**kw)
    ours.adapt(data)
    theirs.adapt(data)
    _same_lookup(ours, theirs, np.array([["a", "b", "zz"], ["e", "c", "d"]]))


def test_string_lookup_invert_matches_keras(tf):
    kw = dict(vocabulary=["a", "b", "c"], invert=True, mask_token="[M]")
    _same_lookup(L.StringLookup(**kw), tf.keras.layers.StringLookup(**kw),
                 np.array([[0, 1, 2], [3, 4, 9]]))


@pytest.mark.parametrize("kw", [dict(), dict(mask_token=0, num_oov_indices=2),
                                dict(output_mode="multi_hot"), dict(output_mode="one_hot"),
                                dict(invert=True), dict(num_oov_indices=3, output_mode="count")])
def test_integer_lookup_matches_keras(tf, kw):
    data = np.array([5, 3, 3, 7, 12, 12, 12])
    ours, theirs = L.IntegerLookup(**kw), tf.keras.layers.IntegerLookup(**kw)
    ours.adapt(data)
    theirs.adapt(data)
    x = np.array([[0, 1, 2], [3, 4, 5]]) if kw.get("invert") else np.array([[0, 5, 8], [9, 3, 12]])
    _same_lookup(ours, theirs, x)
    kw2 = {k: v for k, v in kw.items()}
    _same_lookup(L.IntegerLookup(vocabulary=[12, 3, 7], **kw2),
                 tf.keras.layers.IntegerLookup(vocabulary=[12, 3, 7], **kw2), x)


def test_lookup_errors(tf, tmp_path):
    with pytest.raises(ValueError, match="max_tokens"):
        L.StringLookup(max_tokens=1)
    with pytest.raises(ValueError, match="num_oov_indices"):
        L.StringLookup(num_oov_indices=-1)
    with pytest.raises(ValueError, match="output_mode"):
        L.StringLookup(output_mode="nope")
    with pytest.raises(ValueError, match="invert"):
        L.StringLookup(invert=True, output_mode="one_hot")
    with pytest.raises(ValueError, match="repeated"):
        L.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="idf_weights"):
        L.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="OOV"):
        L.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["b"]))
    with pytest.raises(ValueError, match="static"):
        L.StringLookup(vocabulary=["a"]).adapt(np.array(["b"]))
    with pytest.raises(NotImplementedError, match="FarmHash"):
        L.StringLookup(vocabulary=["a"], num_oov_indices=2)(np.array(["b"]))


def test_lookup_vocabulary_file_path(tf, tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\n")
    x = np.array(["y", "q", "z"])
    # a path given in code is read (tf.keras gives the same indices)
    ours = L.StringLookup(vocabulary=str(path))
    theirs = tf.keras.layers.StringLookup(vocabulary=str(path))
    np.testing.assert_array_equal(_np(ours(x)), theirs(x).numpy())
    assert ours.get_config()["vocabulary"] is None
    # a path named by a loaded config is refused in safe mode
    from fastkeras.saving.serialization_lib import SafeModeScope
    with SafeModeScope(True), pytest.raises(ValueError, match="vocabulary file"):
        L.StringLookup.from_config({"vocabulary": str(path), "name": "s"})


def test_lookups_saved_with_vocabulary_assets(tf, tmp_path):
    import zipfile
    data = np.array([[3, 1, 1], [4, 4, 4], [5, 9, 2]])
    lookup = L.IntegerLookup(output_mode="multi_hot")
    lookup.adapt(data)
    inp = L.Input((3,), dtype="int64")
    model = fk.Model(inp, L.Dense(2)(lookup(inp)))
    x = np.array([[1, 4, 7], [9, 9, 2]])
    expected = _np(model.predict(x, verbose=0))
    path = str(tmp_path / "lookup.keras")
    model.save(path)
    names = zipfile.ZipFile(path).namelist()
    assert any(n.startswith("assets/") and n.endswith("vocabulary.txt") for n in names)
    again = fk.models.load_model(path)
    np.testing.assert_allclose(_np(again.predict(x, verbose=0)), expected, rtol=1e-6)
    assert again.layers[1].get_vocabulary() == lookup.get_vocabulary()
    theirs = tf.keras.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert [int(v) for v in theirs.layers[1].get_vocabulary()] == lookup.get_vocabulary()


def test_string_lookup_reads_keras_assets(tf, tmp_path):
    s = tf.keras.layers.StringLookup()
    s.adapt(np.array(["q", "w", "w", "e"]))
    inp = tf.keras.Input((2,), dtype="string")
    theirs = tf.keras.Model(inp, s(inp))
    path = str(tmp_path / "s.keras")
    theirs.save(path)
    ours_layer = L.StringLookup()
    with zipfile_dir(path) as d:
        ours_layer.load_assets(d)
    x = np.array([["w", "e"], ["zz", "q"]])
    np.testing.assert_array_equal(_np(ours_layer(x)), s(x).numpy())


def zipfile_dir(path):
    import contextlib
    import os
    import tempfile
    import zipfile

    @contextlib.contextmanager
    def ctx():
        with tempfile.TemporaryDirectory() as d:
            with zipfile.ZipFile(path) as z:
                members = [m for m in z.namelist() if m.endswith("vocabulary.txt")]
                with open(os.path.join(d, "vocabulary.txt"), "wb") as f:
                    f.write(z.read(members[0]))
            yield d
    return ctx()


# ---------------------------------------------------------------- Discretization
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_boundaries_match_keras(tf, rng, mode):
    x = rng.normal(size=(4, 3)).astype("float32")
    x[0, 0] = 0.0  # on a boundary
    kw = dict(bin_boundaries=[-0.5, 0.0, 0.5], output_mode=mode)
    ours, theirs = L.Discretization(**kw), tf.keras.layers.Discretization(**kw)
    out, ref = ours(x), theirs(x)
    assert str(out.dtype) == ref.dtype.name
    np.testing.assert_array_equal(_np(out), ref.numpy())
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))


@pytest.mark.parametrize("num_bins,epsilon", [(4, 0.01), (3, 0.1), (10, 0.01)])
def test_discretization_adapt_matches_keras(tf, rng, num_bins, epsilon):
    data = (rng.normal(size=(500, 2)) * 3).astype("float32")
    for make in (lambda: data, lambda: _batches(data, 64)):
        ours = L.Discretization(num_bins=num_bins, epsilon=epsilon)
        theirs = tf.keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        ours.adapt(make())
        theirs.adapt(make())
        np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries, rtol=1e-6)
        np.testing.assert_array_equal(_np(ours(data[:20])), theirs(data[:20]).numpy())
        oc, tc = ours.get_config(), theirs.get_config()
        for k in ("num_bins", "epsilon", "output_mode", "sparse"):
            assert oc[k] == tc[k]
        again = L.Discretization.from_config(oc)
        assert again.bin_boundaries == ours.bin_boundaries


def test_discretization_errors():
    with pytest.raises(ValueError, match="either"):
        L.Discretization()
    with pytest.raises(ValueError, match="Both"):
        L.Discretization(bin_boundaries=[0.], num_bins=2)
    with pytest.raises(ValueError, match="num_bins"):
        L.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match="output_mode"):
        L.Discretization(num_bins=2, output_mode="tf_idf")
    with pytest.raises(ValueError, match="num_bins"):
        L.Discretization(bin_boundaries=[0.]).adapt(np.ones((3,)))
    with pytest.raises(ValueError, match="adapt"):
        L.Discretization(num_bins=3)(np.ones((3,), "float32"))


# ---------------------------------------------------------------- Hashing
# fastkeras hashes with BLAKE2b, not TensorFlow's FarmHash (README): bins differ from
# tf.keras, so shapes, dtypes, configs, the mask bin and the distribution are compared.
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("x", [np.array([["a"], ["b"], ["zz"]]), np.array([[1, 2, 3], [4, 5, 6]]),
                               np.array(["p", "q"])])
def test_hashing_shapes_dtypes_config_match_keras(tf, mode, x):
    if mode == "one_hot" and x.ndim == 2 and x.shape[1] > 1:
        x = x[:, :1]
    ours = L.Hashing(7, output_mode=mode)
    theirs = tf.keras.layers.Hashing(7, output_mode=mode)
    out, ref = ours(x), theirs(x)
    assert tuple(out.shape) == tuple(ref.shape)
    assert ours.compute_output_shape(x.shape) == tuple(theirs.compute_output_shape(x.shape))
    assert str(out.dtype) == ref.dtype.name
    vals = _np(out)
    if mode == "int":
        assert vals.min() >= 0 and vals.max() < 7
    else:  # every row encodes as many ids as tf.keras' row does
        np.testing.assert_array_equal(vals.sum(-1) > 0, ref.numpy().sum(-1) > 0)
    oc, tc = ours.get_config(), theirs.get_config()
    for k in ("num_bins", "salt", "mask_value", "output_mode", "sparse"):
        assert oc[k] == tc[k], k


def test_hashing_mask_salt_and_distribution(tf):
    tokens = np.array([f"token{i}" for i in range(20000)] + [""] * 5)
    ours = L.Hashing(10, mask_value="")
    theirs = tf.keras.layers.Hashing(10, mask_value="")
    out, ref = _np(ours(tokens)), theirs(tokens).numpy()
    np.testing.assert_array_equal(out == 0, ref == 0)  # only the mask value lands in bin 0
    counts = np.bincount(out[:-5], minlength=10)[1:]
    ref_counts = np.bincount(ref[:-5], minlength=10)[1:]
    # both spread 20000 tokens evenly over bins 1..9 (within 5 standard deviations)
    expected = 20000 / 9
    sd = np.sqrt(expected * (1 - 1 / 9))
    assert np.all(np.abs(counts - expected) < 5 * sd)
    assert np.all(np.abs(ref_counts - expected) < 5 * sd)
    np.testing.assert_array_equal(_np(L.Hashing(10, mask_value="")(tokens)), out)  # stable
    salted = _np(L.Hashing(10, mask_value="", salt=[1, 2])(tokens))
    assert (salted != out).mean() > 0.8 and (salted[-5:] == 0).all()
    assert L.Hashing(3, salt=5).get_config()["salt"] == \
        tf.keras.layers.Hashing(3, salt=5).get_config()["salt"]
    ints = _np(L.Hashing(10)(np.array([3, 3, 4])))
    assert ints[0] == ints[1] == _np(L.Hashing(10)(np.array(["3"])))[0]  # ints hash as text


def test_hashing_errors():
    with pytest.raises(ValueError, match="num_bins"):
        L.Hashing(0)
    with pytest.raises(ValueError, match="num_bins"):
        L.Hashing(None)
    with pytest.raises(ValueError, match="output_mode"):
        L.Hashing(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="salt"):
        L.Hashing(3, salt="x")
    with pytest.raises(ValueError, match="dtype"):
        L.Hashing(3, dtype="float32")


def test_load_model_refuses_vocabulary_path_in_config(tmp_path):
    import json
    import zipfile
    from fastkeras.saving.errors import FileFormatError

    inp = L.Input((2,), dtype="int64")
    model = fk.Model(inp, L.IntegerLookup(vocabulary=[3, 4])(inp))
    good, bad = str(tmp_path / "good.keras"), str(tmp_path / "bad.keras")
    model.save(good)
    vocab = tmp_path / "v.txt"
    vocab.write_text("3\n4\n")
    with zipfile.ZipFile(good) as z:
        cfg = json.loads(z.read("config.json"))
        for layer in cfg["config"]["layers"]:
            if layer["class_name"] == "IntegerLookup":
                layer["config"]["vocabulary"] = str(vocab)
        with zipfile.ZipFile(bad, "w") as out:
            for name in z.namelist():
                out.writestr(name, json.dumps(cfg) if name == "config.json" else z.read(name))
    with pytest.raises((ValueError, FileFormatError), match="vocabulary file"):
        fk.models.load_model(bad)
    trusted = fk.models.load_model(bad, safe_mode=False)
    np.testing.assert_array_equal(_np(trusted.predict(np.array([[3, 9]]), verbose=0)),
                                  _np(model.predict(np.array([[3, 9]]), verbose=0)))
