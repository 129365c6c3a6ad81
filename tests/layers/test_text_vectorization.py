"""keras.layers.TextVectorization against tf.keras (Keras 3.15) on the same texts."""
import json
import zipfile

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import layers as L

TEXTS = ["The cat sat on the mat.", "the CAT, the dog!", "Dog; sat   on\tthe mat\n",
         "", "A dog? A cat... and a bird's nest", "bird bird cat"]
# ties (counts 2, 2, 1, 1), non-ASCII tokens, ASCII-only lowercasing, whitespace TF splits on
TIES = ["zeta alpha Émile", "alpha zeta beta", "émile über", "Über gamma", "ß ss ß",
        "«quoted» …dots… ¿qué?", "tab\tnl\nnbsp\xa0kept ideo\u3000space"]


def _tv_pair(tf, kw, adapt=TEXTS):
    ours, theirs = L.TextVectorization(**kw), tf.keras.layers.TextVectorization(**kw)
    if adapt is not None:
        ours.adapt(adapt)
        theirs.adapt(adapt)
    return ours, theirs


def _vocab(layer, **kw):
    return [v.decode() if isinstance(v, bytes) else str(v)
            for v in layer.get_vocabulary(**kw)]


def _check(ours, theirs, x):
    a, b = np.asarray(ours(x)), theirs(x).numpy()
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    return a


CONFIGS = [
    {},
    dict(output_sequence_length=4),
    dict(output_sequence_length=12, ngrams=2),
    dict(ngrams=(1, 3)),
    dict(max_tokens=5),
    dict(max_tokens=6, output_sequence_length=3),
    dict(output_mode="multi_hot"),
    dict(output_mode="binary", ngrams=2),
    dict(output_mode="count"),
    dict(output_mode="count", max_tokens=8, pad_to_max_tokens=True),
    dict(output_mode="tf_idf"),
    dict(output_mode="tf-idf", ngrams=(2,)),
    dict(output_mode="tf_idf", max_tokens=7, pad_to_max_tokens=True),
    dict(output_mode="multi_hot", max_tokens=4),
    dict(standardize="lower"),
    dict(standardize="strip_punctuation"),
    dict(standardize=None),
    dict(split="character"),
    dict(split="character", ngrams=2, output_mode="count"),
    dict(split=None),
    dict(split=None, output_mode="multi_hot"),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in
                                                                 kw.items()) or "default")
def test_adapt_and_call_match_keras(tf, kw):
    ours, theirs = _tv_pair(tf, kw)
    assert _vocab(ours) == _vocab(theirs)
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    x = TEXTS + ["unseen words here", "cat"]
    if kw.get("split", "whitespace") is None:
        x = np.array(x)[:, None]
    out = _check(ours, theirs, x)
    assert out.dtype == (np.int64 if kw.get("output_mode", "int") == "int" else np.float32)


def test_vocabulary_order_ties_and_unicode_match_keras(tf):
    for kw in ({}, dict(standardize=None), dict(split="character"), dict(ngrams=2)):
        ours, theirs = _tv_pair(tf, kw, adapt=TIES)
        assert _vocab(ours) == _vocab(theirs)
        _check(ours, theirs, TIES)
    ours = L.TextVectorization()
    ours.adapt(TIES)
    vocab = ours.get_vocabulary()
    # TF lowercases ASCII only ("Émile" stays), strips only ASCII punctuation, and splits
    # on ASCII whitespace only (U+00A0 and U+3000 stay inside tokens)
    assert "Émile" in vocab and "émile" in vocab and "Über" in vocab
    assert "«quoted»" in vocab and "…dots…" in vocab and "¿qué" in vocab
    assert "nbsp\xa0kept" in vocab and "ideo\u3000space" in vocab
    assert vocab[:4] == ["", "[UNK]", "ß", "zeta"]  # counts 2: ties by the larger token


def test_inputs_list_array_bytes_scalar_and_tensors(tf):
    ours, theirs = _tv_pair(tf, dict(output_sequence_length=5))
    strings = ["the cat", "a dog sat", "bird"]
    expected = theirs(strings).numpy()
    for x in (strings, tuple(strings), np.array(strings), np.array(strings)[:, None],
              np.array([s.encode() for s in strings]), np.array(strings, dtype=object),
              tf.constant(strings), fk.ops.convert_to_tensor(np.array(strings)[:, None])):
        np.testing.assert_array_equal(np.asarray(ours(x)), expected)
    _check(ours, theirs, "the cat sat")  # a scalar: one sequence
    np.testing.assert_array_equal(np.asarray(ours(b"the cat sat")),
                                  theirs("the cat sat").numpy())
    free, free_tf = _tv_pair(tf, {})
    _check(free, free_tf, "the cat sat")
    _check(free, free_tf, ["", ""])  # nothing but padding: shape (2, 0) in both


def test_encoding_decodes_bytes():
    layer = L.TextVectorization(vocabulary=["café", "thé"], encoding="latin-1")
    x = np.array(["café thé".encode("latin-1"), "thé".encode("latin-1")])
    np.testing.assert_array_equal(np.asarray(layer(x)), [[2, 3], [3, 0]])
    assert layer.get_config()["encoding"] == "latin-1"


def test_callable_standardize_and_split_match_keras(tf):
    # Keras hands a callable tf.strings on TensorFlow and NumPy strings on other backends
    # (fastkeras' case): the same rule written for each
    def ours_std(x):
        return np.char.replace(np.char.lower(x), "<br />", " ")

    def theirs_std(x):
        return tf.strings.regex_replace(tf.strings.lower(x), "<br />", " ")

    def ours_split(x):
        return [s.split("-") for s in x.tolist()]

    def theirs_split(x):
        return tf.strings.split(x, sep="-")

    texts = ["A<br />B-c d-e", "x-Y-<br />z", "a-a-b"]
    for o_kw, t_kw in ((dict(standardize=ours_std), dict(standardize=theirs_std)),
                       (dict(split=ours_split), dict(split=theirs_split)),
                       (dict(standardize=ours_std, split=ours_split, ngrams=2),
                        dict(standardize=theirs_std, split=theirs_split, ngrams=2))):
        ours, theirs = L.TextVectorization(**o_kw), tf.keras.layers.TextVectorization(**t_kw)
        ours.adapt(texts)
        theirs.adapt(texts)
        assert _vocab(ours) == _vocab(theirs)
        _check(ours, theirs, texts)
    # a split callable may also return an array (one row per string)
    layer = L.TextVectorization(split=lambda x: np.char.split(x, "-"), standardize="lower",
                                vocabulary=["a", "b"])
    np.testing.assert_array_equal(np.asarray(layer(["a-b", "b-z-a"])), [[2, 3, 0], [3, 1, 2]])


@pytest.mark.parametrize("kw", [dict(), dict(output_sequence_length=6, ngrams=2),
                                dict(output_mode="multi_hot"), dict(output_mode="count"),
                                dict(output_mode="multi_hot", max_tokens=10,
                                     pad_to_max_tokens=True)])
def test_given_vocabulary_matches_keras(tf, kw):
    vocab = ["the", "cat", "dog", "the cat", "sat"]
    ours, theirs = _tv_pair(tf, dict(kw, vocabulary=vocab), adapt=None)
    assert _vocab(ours) == _vocab(theirs)
    assert _vocab(ours, include_special_tokens=False) == \
        _vocab(theirs, include_special_tokens=False)
    _check(ours, theirs, TEXTS)
    assert ours.get_config()["vocabulary"] == vocab


def test_given_vocabulary_and_idf_weights_match_keras(tf):
    vocab, idf = ["the", "cat", "dog", "sat"], [0.5, 1.5, 2.0, 0.25]
    kw = dict(output_mode="tf_idf", vocabulary=vocab, idf_weights=idf)
    ours, theirs = _tv_pair(tf, kw, adapt=None)
    assert _vocab(ours) == _vocab(theirs)
    _check(ours, theirs, TEXTS)
    for pad in (False, True):  # set_vocabulary replaces a vocabulary (OOV slot included)
        ours, theirs = _tv_pair(tf, dict(output_mode="tf_idf", max_tokens=8,
                                         pad_to_max_tokens=pad), adapt=None)
        ours.set_vocabulary(["[UNK]"] + vocab, idf_weights=[0.1] + idf)
        theirs.set_vocabulary(["[UNK]"] + vocab, idf_weights=[0.1] + idf)
        _check(ours, theirs, TEXTS)
    ours, theirs = _tv_pair(tf, {}, adapt=None)
    ours.set_vocabulary(vocab)
    theirs.set_vocabulary(vocab)
    _check(ours, theirs, TEXTS)
    with pytest.raises(ValueError, match="Cannot adapt"):
        ours.adapt(TEXTS)


def test_adapt_on_generator_sequence_and_steps(tf):
    def batches():
        for i in range(0, len(TEXTS), 2):
            yield TEXTS[i:i + 2]

    for kw in ({}, dict(output_mode="tf_idf")):
        ours, theirs = _tv_pair(tf, kw, adapt=None)
        ours.adapt(batches())
        theirs.adapt(batches())
        assert _vocab(ours) == _vocab(theirs)
        _check(ours, theirs, TEXTS)
    ours, theirs = _tv_pair(tf, {}, adapt=None)
    ours.adapt(batches(), steps=2)
    theirs.adapt(batches(), steps=2)
    assert _vocab(ours) == _vocab(theirs)

    class Texts(fk.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.array(TEXTS[2 * i:2 * i + 2])

    seq = L.TextVectorization()
    seq.adapt(Texts())
    ours = L.TextVectorization()
    ours.adapt(TEXTS, batch_size=2)
    assert seq.get_vocabulary() == ours.get_vocabulary()
    seq.adapt(Texts(), steps=1)  # adapt starts again from empty counts
    assert set(seq.get_vocabulary()[2:]) == {"the", "cat", "sat", "on", "mat", "dog"}


def test_config_keys_and_round_trip(tf):
    for kw in ({}, dict(max_tokens=9, ngrams=(1, 2), output_sequence_length=4,
                        standardize="lower", split="character"),
               dict(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[1.0, 2.0]),
               dict(output_mode="count", max_tokens=5, pad_to_max_tokens=True)):
        ours, theirs = _tv_pair(tf, kw, adapt=None if "vocabulary" in kw else TEXTS)
        oc, tc = ours.get_config(), theirs.get_config()
        assert set(oc) == set(tc)
        for key in tc:
            if key not in ("name", "dtype"):
                assert oc[key] == tc[key], key
        again = L.TextVectorization.from_config(json.loads(json.dumps(oc)))
        skip = ("name", "vocabulary_size")  # the size of the vocabulary it holds (none yet)
        assert {k: v for k, v in again.get_config().items() if k not in skip} == \
            {k: v for k, v in oc.items() if k not in skip}
        # the saved size shapes the outputs before the vocabulary is loaded from the assets
        assert again.compute_output_shape((None, 1)) == ours.compute_output_shape((None, 1))
        if "vocabulary" in kw:
            np.testing.assert_array_equal(np.asarray(again(TEXTS)), np.asarray(ours(TEXTS)))
        # a tf.keras config builds the same layer
        mine = L.TextVectorization.from_config(
            {k: v for k, v in tc.items() if k not in ("name", "dtype")})
        assert {k: v for k, v in mine.get_config().items() if k not in skip} == \
            {k: v for k, v in oc.items() if k not in skip}
        assert mine.compute_output_shape((None, 1)) == ours.compute_output_shape((None, 1))
    assert L.TextVectorization(ngrams=(1, 3)).get_config()["ngrams"] == (1, 3)
    assert L.TextVectorization.from_config({"ngrams": [1, 3]})._ngrams == (1, 3)


def _string_model(tv, keras):
    inp = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Embedding(30, 4, name="emb")(tv(inp))
    out = keras.layers.Dense(2, name="out")(keras.layers.GlobalAveragePooling1D()(x))
    return keras.Model(inp, out)


def test_string_input_and_end_to_end_model(tf):
    inp = L.Input(shape=(1,), dtype="string")
    assert inp.shape == (None, 1) and inp.dtype == np.dtype(object)
    assert inp._keras_history[0].get_config()["dtype"] == "string"
    tv = L.TextVectorization(output_sequence_length=6)
    tv.adapt(TEXTS)
    ids = tv(inp)
    assert ids.shape == (None, 6) and ids.dtype == np.int64
    hot = L.TextVectorization(output_mode="multi_hot", vocabulary=["a", "b", "c"])(inp)
    # ([UNK], a, b, c); Keras 3.15 declares (None, 1, 4) but returns (batch, 4)
    assert hot.shape == (None, 4) and hot.dtype == np.float32
    assert L.TextVectorization()(inp).shape == (None, None)
    model = _string_model(tv, fk)
    raw = ["the cat sat", "a bird", "unknown dog"]
    expected = np.asarray(model.predict(np.array(raw)[:, None], verbose=0))
    assert expected.shape == (3, 2)
    for x in (raw, np.array(raw), np.array([s.encode() for s in raw]),
              fk.ops.convert_to_tensor([[s] for s in raw])):
        np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), expected,
                                   rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model(np.array(raw)[:, None])), expected, rtol=1e-6)
    # the same weights in tf.keras give the same outputs
    ttv = tf.keras.layers.TextVectorization(output_sequence_length=6)
    ttv.adapt(TEXTS)
    theirs = _string_model(ttv, tf.keras)
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(theirs.predict(tf.constant(np.array(raw)[:, None]), verbose=0),
                               expected, rtol=1e-5, atol=1e-6)
    # a model taking the token ids, wrapped end to end (keras-io's text classification)
    ids_in = L.Input(shape=(None,), dtype="int64")
    inner = fk.Model(ids_in, L.Dense(1)(L.GlobalAveragePooling1D()(L.Embedding(30, 3)(ids_in))))
    s_in = L.Input(shape=(1,), dtype="string")
    end_to_end = fk.Model(s_in, inner(tv(s_in)))
    np.testing.assert_allclose(np.asarray(end_to_end.predict(raw, verbose=0)),
                               np.asarray(inner.predict(np.asarray(tv(raw)), verbose=0)),
                               rtol=1e-6)


def test_keras_file_round_trip_and_tf_keras_reads_it(tf, tmp_path):
    tv = L.TextVectorization(max_tokens=20, output_sequence_length=5)
    tv.adapt(TEXTS)
    model = _string_model(tv, fk)
    x = np.array(["the cat sat on", "a dog", "zzz"])[:, None]
    expected = np.asarray(model.predict(x, verbose=0))
    path = str(tmp_path / "tv.keras")
    model.save(path)
    names = zipfile.ZipFile(path).namelist()
    assert "assets/layers/text_vectorization/vocabulary.txt" in names
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert cfg["config"]["layers"][1]["config"]["vocabulary"] is None  # in the assets
    again = fk.models.load_model(path)
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), expected, rtol=1e-6)
    assert again.layers[1].get_vocabulary() == tv.get_vocabulary()
    theirs = tf.keras.models.load_model(path)
    np.testing.assert_allclose(theirs.predict(tf.constant(x), verbose=0), expected,
                               rtol=1e-5, atol=1e-6)
    assert _vocab(theirs.layers[1]) == tv.get_vocabulary()


def test_reads_tf_keras_file(tf, tmp_path):
    for kw in (dict(output_sequence_length=5), dict(output_mode="count", ngrams=2)):
        ttv = tf.keras.layers.TextVectorization(**kw)
        ttv.adapt(TEXTS)
        inp = tf.keras.Input(shape=(1,), dtype="string")
        theirs = tf.keras.Model(inp, tf.keras.layers.Dense(3)(
            tf.keras.layers.Flatten()(tf.keras.layers.Embedding(40, 2)(ttv(inp)))
            if "output_sequence_length" in kw else ttv(inp)))
        path = str(tmp_path / "theirs.keras")
        theirs.save(path)
        ours = fk.models.load_model(path)
        x = np.array(["the cat sat on the mat", "bird dog", ""])[:, None]
        np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)),
                                   theirs.predict(tf.constant(x), verbose=0),
                                   rtol=1e-5, atol=1e-6)
        assert ours.layers[1].get_vocabulary() == _vocab(ttv)


def test_tf_idf_adapted_keras_file_round_trip(tmp_path):
    tv = L.TextVectorization(output_mode="tf_idf", max_tokens=12, pad_to_max_tokens=True)
    tv.adapt(TEXTS)
    inp = L.Input(shape=(1,), dtype="string")
    model = fk.Model(inp, L.Dense(2)(tv(inp)))
    x = np.array(TEXTS)[:, None]
    expected = np.asarray(model.predict(x, verbose=0))
    path = str(tmp_path / "idf.keras")
    model.save(path)
    again = fk.models.load_model(path)
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), expected, rtol=1e-6)
    np.testing.assert_allclose(again.layers[1]._lookup_layer.idf_weights,
                               tv._lookup_layer.idf_weights)


def test_vocabulary_file_and_safe_mode(tmp_path):
    from fastkeras.saving.serialization_lib import SafeModeScope

    path = tmp_path / "vocab.txt"
    path.write_text("the\ncat\ndog\n", encoding="utf-8")
    layer = L.TextVectorization(vocabulary=str(path))
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "cat", "dog"]
    np.testing.assert_array_equal(np.asarray(layer(["the dog bird"])), [[2, 4, 1]])
    cfg = layer.get_config()
    assert cfg["vocabulary"] is None  # the file's words go into the archive's assets
    with SafeModeScope(True), pytest.raises(ValueError, match="vocabulary file"):
        L.TextVectorization.from_config(dict(cfg, vocabulary=str(path)))
    with SafeModeScope(False):
        trusted = L.TextVectorization.from_config(dict(cfg, vocabulary=str(path)))
    assert trusted.get_vocabulary() == layer.get_vocabulary()
    # a vocabulary path written into a saved model's config is refused when loading
    inp = L.Input(shape=(1,), dtype="string")
    model = fk.Model(inp, L.TextVectorization(vocabulary=["the", "cat", "dog"])(inp))
    good, bad = str(tmp_path / "good.keras"), str(tmp_path / "bad.keras")
    model.save(good)
    with zipfile.ZipFile(good) as z:
        cfg = json.loads(z.read("config.json"))
        for entry in cfg["config"]["layers"]:
            if entry["class_name"] == "TextVectorization":
                entry["config"]["vocabulary"] = str(path)
        with zipfile.ZipFile(bad, "w") as out:
            for name in z.namelist():
                out.writestr(name, json.dumps(cfg) if name == "config.json" else z.read(name))
    from fastkeras.saving.errors import FileFormatError
    with pytest.raises((ValueError, FileFormatError), match="vocabulary file"):
        fk.models.load_model(bad)
    loaded = fk.models.load_model(bad, safe_mode=False)
    np.testing.assert_array_equal(np.asarray(loaded.predict(["dog the x"], verbose=0)),
                                  [[4, 2, 1]])


@pytest.mark.parametrize("kw,match", [
    (dict(standardize="upper"), "Unknown value for `standardize` argument of "
                                "TextVectorization"),
    (dict(split="comma"), "Unknown value for `split` argument"),
    (dict(output_mode="words"), "Unknown value for `output_mode` argument"),
    (dict(ngrams=[1, 2]), "`ngrams` must be None, an integer, or a tuple of integers"),
    (dict(ngrams=(1, "2")), "`ngrams` must be None"),
    (dict(output_sequence_length=2.5), "`output_sequence_length` must be either None or an "
                                       "integer"),
    (dict(output_mode="count", output_sequence_length=3), "`output_sequence_length` must not "
                                                          "be set"),
    (dict(sparse=True), "`sparse=True`"),
    (dict(ragged=True), "`ragged=True`"),
    (dict(max_tokens=1), "`max_tokens` must be greater than 1"),
    (dict(pad_to_max_tokens=True, output_mode="count"), "must set `max_tokens`"),
    (dict(output_mode="tf_idf", vocabulary=["a"]), "`idf_weights` argument must also be "
                                                   "provided"),
    (dict(idf_weights=[1.0], vocabulary=["a"]), "`idf_weights` should only be set"),
    (dict(vocabulary=["a", "a"]), "repeated term"),
    (dict(encoding="no-such-codec"), "`encoding`"),
])
def test_bad_arguments(tf, kw, match):
    with pytest.raises(ValueError, match=match.replace("[", r"\[").replace("(", r"\(")):
        L.TextVectorization(**kw)
    if kw.get("standardize") or kw.get("split") or kw.get("output_mode") == "words" or \
            "ngrams" in kw or "output_sequence_length" in kw:
        with pytest.raises(ValueError, match=match.replace("[", r"\[")):
            tf.keras.layers.TextVectorization(**kw)


def test_bad_inputs():
    layer = L.TextVectorization(vocabulary=["a"])
    with pytest.raises(ValueError, match="the last shape dimension must be 1"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="inputs must be strings"):
        layer(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="idf weights"):
        L.TextVectorization(output_mode="tf_idf")(["a"])


def test_keras_docstring_examples():
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    np.testing.assert_array_equal(np.asarray(layer([["foo qux bar"], ["qux baz"]])),
                                  [[4, 1, 3, 0], [1, 2, 0, 0]])
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4,
                                vocabulary=["earth", "wind", "and", "fire"])
    assert layer.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["earth", "wind", "and",
                                                                  "fire"]
    assert layer.vocabulary_size() == 6


def test_adapt_many_documents_and_tf_data_match_keras(tf):
    rng = np.random.default_rng(3)
    words = np.array("alpha beta gamma delta eps zeta eta theta iota kappa".split())
    docs = [" ".join(rng.choice(words, size=int(n))) for n in rng.integers(0, 40, 600)]
    docs[7] = " ".join(rng.choice(words, size=900))  # one long document among many
    for kw in (dict(max_tokens=8), dict(output_mode="tf_idf", ngrams=2)):
        ours, theirs = _tv_pair(tf, kw, adapt=docs)
        assert _vocab(ours) == _vocab(theirs)
        _check(ours, theirs, docs[:50])
    data = tf.data.Dataset.from_tensor_slices(docs[:100]).batch(16)
    ours, theirs = _tv_pair(tf, dict(output_mode="count"), adapt=None)
    ours.adapt(data)
    theirs.adapt(data)
    assert _vocab(ours) == _vocab(theirs)
    _check(ours, theirs, docs[:20])
