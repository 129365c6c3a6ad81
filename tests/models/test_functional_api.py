"""Functional-API details real Keras 3 programs use (issue 19, item 5), against tf.keras
with the same weights: ``layer.input`` / ``layer.output`` for feature extraction (the
keras-io sequential_model and functional_api guides), layers called with several tensors
positionally or by keyword (the endpoint-layer pattern), masks reaching custom layers
while the graph is built (the masking guide), dict outputs, and summary totals."""
import re

import numpy as np
import pytest

import fastkeras as fk
from fastkeras import ops


def _copy_weights(src_layers, dst_layers):
    for s, d in zip(src_layers, dst_layers):
        d.set_weights(s.get_weights())


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def _totals(model):
    lines = []
    model.summary(print_fn=lambda line="", *a, **k: lines.append(str(line)))
    text = "\n".join(lines)
    total = re.search(r"Total params: ([\d,]+)", text).group(1)
    trainable = re.search(r"Trainable params: ([\d,]+)", text).group(1)
    non = re.search(r"Non-trainable params: ([\d,]+)", text).group(1)
    return total, trainable, non


def _rows(model):
    return [(layer.name, type(layer).__name__,
             layer.count_params() if layer.built else 0) for layer in model.layers]


# ------------------------------------------------------------------ feature extraction
def _conv_sequential(lib):
    L = lib.layers
    return lib.Sequential([
        lib.Input(shape=(11, 11, 3), name="image"),
        L.Conv2D(4, 3, strides=2, activation="relu", name="c1"),
        L.Conv2D(4, 3, activation="relu", name="my_intermediate_layer"),
        L.Conv2D(2, 2, activation="relu", name="c3"),
    ], name="initial")


def test_sequential_feature_extraction_matches_keras(tf, rng):
    """keras-io guides/sequential_model.py, "Feature extraction with a Sequential
    model", with small shapes: every layer's output, then one intermediate layer's."""
    keras = tf.keras
    ref, ours = _conv_sequential(keras), _conv_sequential(fk)
    _copy_weights(ref.layers, ours.layers)
    x = rng.normal(size=(2, 11, 11, 3)).astype("float32")

    ref_fe = keras.Model(inputs=ref.inputs, outputs=[layer.output for layer in ref.layers])
    fe = fk.Model(inputs=ours.inputs, outputs=[layer.output for layer in ours.layers])
    ref_feats, feats = ref_fe(x), fe(x)
    assert len(feats) == len(ref_feats) == 3
    for a, b in zip(feats, ref_feats):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)
    assert fe.output_names == ref_fe.output_names == ["c1", "my_intermediate_layer", "c3"]
    # one call per layer: the extractor holds the same layers, each run once
    assert _rows(fe) == _rows(ref_fe)
    assert [layer.name for layer in fe.layers] == ["image", "c1", "my_intermediate_layer", "c3"]
    assert _totals(fe) == _totals(ref_fe) == _totals(ours) == _totals(ref)

    ref_mid = keras.Model(inputs=ref.inputs,
                          outputs=ref.get_layer(name="my_intermediate_layer").output)
    mid = fk.Model(inputs=ours.inputs,
                   outputs=ours.get_layer(name="my_intermediate_layer").output)
    np.testing.assert_allclose(_np(mid(x)), _np(ref_mid(x)), rtol=1e-5, atol=1e-6)
    assert mid.output_shape == ref_mid.output_shape == (None, 3, 3, 4)
    assert _totals(mid) == _totals(ref_mid)


def test_sequential_built_by_add_calls_each_layer_once(tf, rng):
    keras = tf.keras
    built = []
    for lib in (keras, fk):
        m = lib.Sequential()
        m.add(lib.Input((4,), name="x"))
        for i in range(3):
            m.add(lib.layers.Dense(3, name=f"d{i}"))
        m.pop()
        m.add(lib.layers.Dense(2, name="last"))
        built.append(m)
    ref, ours = built
    _copy_weights(ref.layers, ours.layers)
    # Keras rebuilds the graph on each add (several calls per layer); fastkeras calls
    # each new layer once, so each layer's first output is the one the model computes
    assert ours.layers[0].output is ours.layers[1].input
    assert ours.layers[-1].output is ours.output
    assert ours.output_shape == ref.output_shape == (None, 2)
    x = rng.normal(size=(3, 4)).astype("float32")
    fe = fk.Model(ours.inputs, [layer.output for layer in ours.layers])
    ref_fe = keras.Model(ref.inputs, [layer.output for layer in ref.layers])
    for a, b in zip(fe(x), ref_fe(x)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-6)
    assert _rows(fe) == _rows(ref_fe) and _totals(fe) == _totals(ref_fe)


def _functional_cnn(lib):
    L = lib.layers
    inputs = lib.Input(shape=(10, 10, 3), name="img")
    x = L.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.Conv2D(3, 2, activation="relu", name="conv_b")(x)
    x = L.Flatten(name="flat")(x)
    outputs = L.Dense(5, activation="softmax", name="probs")(x)
    return lib.Model(inputs, outputs, name="cnn")


def test_functional_feature_extraction_matches_keras(tf, rng):
    """keras-io guides/functional_api.py, "Extract and reuse nodes in the graph of
    layers": a model that returns every layer's activations (VGG19 there)."""
    keras = tf.keras
    ref, ours = _functional_cnn(keras), _functional_cnn(fk)
    _copy_weights(ref.layers, ours.layers)
    x = rng.normal(size=(3, 10, 10, 3)).astype("float32")
    ref_feat = keras.Model(inputs=ref.input, outputs=[layer.output for layer in ref.layers])
    feat = fk.Model(inputs=ours.input, outputs=[layer.output for layer in ours.layers])
    a, b = feat(x), ref_feat(x)
    assert len(a) == len(b) == 6  # the input layer's output is the image itself
    for u, v in zip(a, b):
        np.testing.assert_allclose(_np(u), _np(v), rtol=1e-5, atol=1e-6)
    assert [t.shape for t in feat.outputs] == [tuple(t.shape) for t in ref_feat.outputs]
    assert _rows(feat) == _rows(ref_feat)
    assert _totals(feat) == _totals(ref_feat) == _totals(ours) == _totals(ref)
    for lo, lr in zip(ours.layers, ref.layers):
        assert lo.output.shape == tuple(lr.output.shape)
    for lo, lr in zip(ours.layers[1:], ref.layers[1:]):
        assert lo.input.shape == tuple(lr.input.shape)
    assert ours.layers[0].input == ref.layers[0].input == []  # an input layer reads nothing


def test_input_output_of_layers_called_never_once_or_twice(tf):
    keras = tf.keras
    messages = []
    for lib in (keras, fk):
        d = lib.layers.Dense(2, name="lonely")
        for attr in ("output", "input"):
            with pytest.raises(AttributeError) as err:
                getattr(d, attr)
            messages.append(str(err.value))
    assert messages[:2] == messages[2:] == [
        "The layer lonely has never been called and thus has no defined output.",
        "The layer lonely has never been called and thus has no defined input."]

    shared = {}
    for lib in (keras, fk):
        a, b = lib.Input((3,)), lib.Input((3,))
        d = lib.layers.Dense(2)
        ya, yb = d(a), d(b)  # called twice: input / output are the first call's
        assert d.output is ya and d.input is a
        add = lib.layers.Add()
        s = add([ya, yb])
        assert add.input == [ya, yb] and add.output is s  # several inputs: a list
        shared[lib] = (d, add)
    d, add = shared[fk]
    # tf.keras 2's shapes (Keras 3 dropped them): the same for every call, or an error
    assert d.output_shape == (None, 2) and d.input_shape == (None, 3)
    assert add.input_shape == [(None, 2), (None, 2)]
    f = fk.layers.Flatten()
    f(fk.Input((2, 3)))
    f(fk.Input((4, 2)))
    with pytest.raises(AttributeError, match="multiple inbound nodes, with different output"):
        f.output_shape
    assert f.get_output_shape_at(1) == (None, 8) and f.get_input_shape_at(0) == (None, 2, 3)
    with pytest.raises(AttributeError, match="never been called and thus has no defined "
                                             "output shape"):
        fk.layers.Dense(1).output_shape
    # a custom layer may keep its own attribute of that name
    class Custom(fk.layers.Layer):
        def __init__(self):
            super().__init__()
            self.output_shape = (None, 7)

    assert Custom().output_shape == (None, 7)


# ------------------------------------------------------------------ several tensors
def _endpoint_classes(lib, ops_mod):
    class OldEndpoint(lib.layers.Layer):
        """keras-io "customizing what happens in fit" era: targets first, positionally."""

        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = lib.losses.BinaryCrossentropy(from_logits=True)
            self.accuracy_fn = lib.metrics.BinaryAccuracy(name="accuracy")

        def call(self, targets, logits, sample_weights=None):
            self.add_loss(self.loss_fn(targets, logits, sample_weights))
            self.accuracy_fn.update_state(targets, logits, sample_weights)
            return ops_mod.softmax(logits)

    class LogisticEndpoint(lib.layers.Layer):
        """keras-io examples/keras_recipes/endpoint_layer_pattern.py (Keras 3)."""

        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = lib.losses.BinaryCrossentropy(from_logits=True)
            self.accuracy_metric = lib.metrics.BinaryAccuracy(name="accuracy")

        def call(self, logits, targets=None, sample_weight=None):
            if targets is not None:
                self.add_loss(self.loss_fn(targets, logits, sample_weight))
                self.accuracy_metric.update_state(targets, logits, sample_weight)
            return ops_mod.softmax(logits)

    return OldEndpoint, LogisticEndpoint


def _endpoint_model(lib, ops_mod):
    _, LogisticEndpoint = _endpoint_classes(lib, ops_mod)
    inputs = lib.Input((5,), name="inputs")
    logits = lib.layers.Dense(1, name="dense")(inputs)
    targets = lib.Input((1,), name="targets")
    sample_weight = lib.Input((1,), name="sample_weight")
    endpoint = LogisticEndpoint(name="endpoint")
    preds = endpoint(logits, targets, sample_weight)
    return lib.Model([inputs, targets, sample_weight], preds), endpoint


def _endpoint_data(rng):
    return {"inputs": rng.normal(size=(6, 5)).astype("float32"),
            "targets": (rng.random((6, 1)) > 0.5).astype("float32"),
            "sample_weight": rng.random((6, 1)).astype("float32")}


def test_endpoint_layer_with_positional_tensors_matches_keras(tf, rng):
    keras = tf.keras
    ref, ref_end = _endpoint_model(keras, keras.ops)
    ours, end = _endpoint_model(fk, ops)
    # building the graph runs the layer on no real data: its metric is untouched
    assert [float(v.numpy()) for v in end.accuracy_metric.variables] == \
        [float(v.numpy()) for v in ref_end.accuracy_metric.variables] == [0.0, 0.0]
    assert end.metrics == [end.accuracy_metric] and len(ref_end.metrics) == 1
    assert [t.shape for t in end.input] == [tuple(t.shape) for t in ref_end.input]
    assert [l.name for l in ours.layers] == [l.name for l in ref.layers]
    assert _rows(ours) == _rows(ref) and _totals(ours) == _totals(ref)
    ours.set_weights(ref.get_weights())
    data = _endpoint_data(rng)
    np.testing.assert_allclose(_np(ours(data)), _np(ref(data)), rtol=1e-6)
    assert len(ours.losses) == len(ref.losses) == 1
    np.testing.assert_allclose(_np(ours.losses[0]), _np(ref.losses[0]), rtol=1e-6)
    np.testing.assert_allclose(_np(end.accuracy_metric.result()),
                               _np(ref_end.accuracy_metric.result()), rtol=1e-6)

    # a training step on the added loss alone (compile(optimizer) without a loss)
    with tf.GradientTape() as tape:
        ref(data, training=True)
        loss_ref = tf.add_n(ref.losses)
    g_ref = tape.gradient(loss_ref, ref.trainable_weights)
    with fk.GradientTape() as ftape:
        ours(data, training=True)
        loss = ours.losses[0]
    g = ftape.gradient(loss, ours.trainable_weights)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-7)

    # the inference-only model of the recipe: targets=None, sample_weight=None by keyword
    for lib, ops_mod, model in ((keras, keras.ops, ref), (fk, ops, ours)):
        _, LogisticEndpoint = _endpoint_classes(lib, ops_mod)
        inputs = lib.Input((5,), name="inputs")
        logits = lib.layers.Dense(1)(inputs)
        preds = LogisticEndpoint()(logits, targets=None, sample_weight=None)
        inference = lib.Model(inputs, preds)
        inference.set_weights(model.get_weights())
        if lib is keras:
            ref_pred = inference.predict(data["inputs"], verbose=0)
        else:
            pred = inference.predict(data["inputs"], verbose=0)
    np.testing.assert_allclose(pred, ref_pred, rtol=1e-6)


def test_old_endpoint_takes_targets_first(tf, rng):
    keras = tf.keras
    results = []
    for lib, ops_mod in ((keras, keras.ops), (fk, ops)):
        OldEndpoint, _ = _endpoint_classes(lib, ops_mod)
        inputs = lib.Input(shape=(3,), name="inputs")
        targets = lib.Input(shape=(4,), name="targets")
        logits = lib.layers.Dense(4, name="logits")(inputs)
        predictions = OldEndpoint(name="predictions")(targets, logits)
        model = lib.Model(inputs=[inputs, targets], outputs=predictions)
        results.append(model)
    ref, ours = results
    ours.set_weights(ref.get_weights())
    data = {"inputs": rng.normal(size=(5, 3)).astype("float32"),
            "targets": (rng.random((5, 4)) > 0.5).astype("float32")}
    np.testing.assert_allclose(_np(ours(data)), _np(ref(data)), rtol=1e-6)
    np.testing.assert_allclose(_np(ours.losses[0]), _np(ref.losses[0]), rtol=1e-6)
    assert _totals(ours) == _totals(ref)


def test_subclassed_model_calls_the_endpoint_by_keyword(tf, rng):
    keras = tf.keras
    models = []
    for lib, ops_mod in ((keras, keras.ops), (fk, ops)):
        _, LogisticEndpoint = _endpoint_classes(lib, ops_mod)

        class LogReg(lib.Model):
            def __init__(self):
                super().__init__()
                self.dense = lib.layers.Dense(1)
                self.logistic_endpoint = LogisticEndpoint()

            def call(self, inputs):
                logits = self.dense(inputs["inputs"])
                return self.logistic_endpoint(logits=logits, targets=inputs["targets"],
                                              sample_weight=inputs["sample_weight"])

        models.append(LogReg())
    ref, ours = models
    data = _endpoint_data(rng)
    ref(data)
    ours(data)
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(_np(ours(data)), _np(ref(data)), rtol=1e-6)
    np.testing.assert_allclose(_np(ours.losses[0]), _np(ref.losses[0]), rtol=1e-6)
    assert [m.name for m in ours.logistic_endpoint.metrics] == ["accuracy"]


def _keyword_model(lib, ops_mod):
    class Attend(lib.layers.Layer):
        """Tensors by keyword: query=, value= and an explicit mask=."""

        def call(self, query, value, mask=None):
            scores = ops_mod.matmul(query, ops_mod.transpose(value, (0, 2, 1)))
            if mask is not None:
                scores = scores + (1.0 - ops_mod.cast(mask, "float32"))[:, None, :] * -1e9
            return ops_mod.matmul(ops_mod.softmax(scores, axis=-1), value)

    q = lib.Input((3, 4), name="q")
    v = lib.Input((5, 4), name="v")
    m = lib.Input((5,), dtype="bool", name="m")
    x = lib.layers.Dense(4, name="proj")(q)
    a = Attend(name="attend")(query=x, value=v)
    b = Attend(name="attend_masked")(x, v, mask=m)
    out = lib.layers.Concatenate(name="cat")([a, b])
    return lib.Model([q, v, m], out), Attend


def test_keyword_tensors_in_the_graph_and_from_config(tf, rng):
    keras = tf.keras
    ref, _ = _keyword_model(keras, keras.ops)
    ours, Attend = _keyword_model(fk, ops)
    ours.set_weights(ref.get_weights())
    feed = [rng.normal(size=(2, 3, 4)).astype("float32"),
            rng.normal(size=(2, 5, 4)).astype("float32"),
            np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], bool)]
    y = _np(ours(feed))
    np.testing.assert_allclose(y, _np(ref(feed)), rtol=1e-5, atol=1e-6)
    assert ours.output_shape == ref.output_shape == (None, 3, 8)
    assert [t.shape for t in ours.get_layer("attend_masked").input] == [(None, 3, 4),
                                                                       (None, 5, 4), (None, 5)]
    assert _rows(ours) == _rows(ref) and _totals(ours) == _totals(ref)
    clone = fk.Model.from_config(ours.get_config(), custom_objects={"Attend": Attend})
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(_np(clone(feed)), y, rtol=1e-6)
    np.testing.assert_allclose(clone.predict(feed, verbose=0), y, rtol=1e-6)


def test_build_with_one_shape_per_argument(tf, rng):
    """A build(self, a_shape, b_shape) gets each call argument's shape by name."""
    keras = tf.keras
    outs = []
    for lib, ops_mod in ((keras, keras.ops), (fk, ops)):
        class Bilinear(lib.layers.Layer):
            def build(self, a_shape, b_shape):
                self.w = self.add_weight(shape=(a_shape[-1], b_shape[-1]),
                                         initializer="ones", name="w")

            def call(self, a, b):
                return ops_mod.sum(ops_mod.matmul(a, self.w) * b, axis=-1, keepdims=True)

        a, b = lib.Input((3,)), lib.Input((2,))
        layer = Bilinear()
        model = lib.Model([a, b], layer(a, b))
        assert tuple(layer.w.shape) == (3, 2)
        outs.append(model)
    xa = rng.normal(size=(4, 3)).astype("float32")
    xb = rng.normal(size=(4, 2)).astype("float32")
    np.testing.assert_allclose(_np(outs[1]([xa, xb])), _np(outs[0]([xa, xb])), rtol=1e-5)
    with pytest.raises(ValueError, match="`_shape` suffix"):
        class Bad(fk.layers.Layer):
            def build(self, a_shape, other):
                pass

            def call(self, a, b):
                return a

        Bad()(fk.Input((2,)), fk.Input((2,)))


# ------------------------------------------------------------------ masks
def _padded(rng):
    x = rng.integers(1, 9, size=(3, 6))
    x[0, 4:] = 0
    x[1, 2:] = 0
    return x


def test_masking_guide_mask_generating_layers(tf, rng):
    """guides/understanding_masking_and_padding.py: Embedding / Masking attach a mask
    to their outputs; TemporalSplit and CustomEmbedding compute their own."""
    keras = tf.keras
    padded = _padded(rng)
    for lib in (keras, fk):
        lib_out = lib.layers.Embedding(input_dim=9, output_dim=4, mask_zero=True)(padded)
        np.testing.assert_array_equal(_np(lib_out._keras_mask), padded != 0)
        unmasked = np.tile(padded[..., None], (1, 1, 3)).astype("float32")
        masked_embedding = lib.layers.Masking()(unmasked)
        np.testing.assert_array_equal(_np(masked_embedding._keras_mask), padded != 0)

    halves = {}
    for lib, ops_mod in ((keras, keras.ops), (fk, ops)):
        class TemporalSplit(lib.layers.Layer):
            def call(self, inputs):
                return ops_mod.split(inputs, 2, axis=1)

            def compute_mask(self, inputs, mask=None):
                if mask is None:
                    return None
                return ops_mod.split(mask, 2, axis=1)

        class CustomEmbedding(lib.layers.Layer):
            def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
                super().__init__(**kwargs)
                self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, \
                    mask_zero

            def build(self, input_shape):
                self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                                  initializer="random_normal",
                                                  dtype="float32")

            def call(self, inputs):
                return ops_mod.take(self.embeddings, ops_mod.cast(inputs, "int32"), axis=0)

            def compute_mask(self, inputs, mask=None):
                if not self.mask_zero:
                    return None
                return ops_mod.not_equal(inputs, 0)

        masked = lib.layers.Masking()(np.tile(padded[..., None], (1, 1, 3)).astype("float32"))
        first, second = TemporalSplit()(masked)
        halves[lib] = (_np(first._keras_mask), _np(second._keras_mask))
        layer = CustomEmbedding(9, 4, mask_zero=True)
        y = layer(padded)
        np.testing.assert_array_equal(_np(layer.compute_mask(padded)), padded != 0)
        np.testing.assert_array_equal(_np(y._keras_mask), padded != 0)
    for a, b in zip(halves[fk], halves[keras]):
        np.testing.assert_array_equal(a, b)


def _masked_classes(lib, ops_mod):
    class MyActivation(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True  # the mask passes through

        def call(self, inputs):
            return ops_mod.relu(inputs)

    class TemporalSoftmax(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None  # also while the graph is built
            float_mask = ops_mod.expand_dims(ops_mod.cast(mask, "float32"), -1)
            inputs_exp = ops_mod.exp(inputs) * float_mask
            inputs_sum = ops_mod.sum(inputs_exp, axis=1, keepdims=True)
            return inputs_exp / inputs_sum

    return MyActivation, TemporalSoftmax


def _masked_model(lib, ops_mod):
    MyActivation, TemporalSoftmax = _masked_classes(lib, ops_mod)
    inputs = lib.Input(shape=(None,), dtype="int32", name="tokens")
    x = lib.layers.Embedding(input_dim=9, output_dim=4, mask_zero=True, name="emb")(inputs)
    x = MyActivation(name="act")(x)
    seen = x._keras_mask
    x = lib.layers.Dense(1, name="score")(x)
    outputs = TemporalSoftmax(name="tsoftmax")(x)
    return lib.Model(inputs, outputs), seen, outputs


def test_masks_reach_custom_layers_while_the_graph_is_built(tf, rng):
    keras = tf.keras
    ref, ref_seen, ref_out = _masked_model(keras, keras.ops)
    ours, seen, out = _masked_model(fk, ops)
    # the symbolic mask: a bool KerasTensor of (batch, steps), as in Keras 3
    assert isinstance(seen, fk.layers.KerasTensor) and seen.dtype == np.dtype(bool)
    assert seen.shape == tuple(ref_seen.shape) == (None, None)
    assert out._keras_mask.shape == tuple(ref_out._keras_mask.shape)
    ours.set_weights(ref.get_weights())
    padded = _padded(rng)
    y, y_ref = ours(padded), ref(padded)
    np.testing.assert_allclose(_np(y), _np(y_ref), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(_np(y._keras_mask), _np(y_ref._keras_mask))
    assert _totals(ours) == _totals(ref) and _rows(ours) == _rows(ref)

    # Sequential and functional Embedding -> LSTM, and the guide's MyLayer, which passes
    # the embedding's compute_mask() to the LSTM itself
    for build in ("sequential", "functional", "subclassed"):
        models = []
        for lib in (keras, fk):
            L = lib.layers
            if build == "sequential":
                m = lib.Sequential([lib.Input((None,), dtype="int32"),
                                    L.Embedding(9, 4, mask_zero=True), L.LSTM(3)])
            elif build == "functional":
                i = lib.Input((None,), dtype="int32")
                m = lib.Model(i, L.LSTM(3)(L.Embedding(9, 4, mask_zero=True)(i)))
            else:
                class MyLayer(L.Layer):
                    def __init__(self, **kwargs):
                        super().__init__(**kwargs)
                        self.embedding = L.Embedding(input_dim=9, output_dim=4,
                                                     mask_zero=True)
                        self.lstm = L.LSTM(3)

                    def call(self, inputs):
                        x = self.embedding(inputs)
                        mask = self.embedding.compute_mask(inputs)
                        return self.lstm(x, mask=mask)

                m = MyLayer()
                m(padded)
            models.append(m)
        r, o = models
        o.set_weights(r.get_weights())
        np.testing.assert_allclose(_np(o(padded)), _np(r(padded)), rtol=1e-5, atol=1e-6)
        if build != "subclassed":
            assert _totals(o) == _totals(r)


def test_explicit_symbolic_mask_and_model_call_mask(rng):
    L = fk.layers
    i = fk.Input((None,), dtype="int32")
    e = L.Embedding(9, 4, mask_zero=True)(i)
    lstm = L.LSTM(3)
    auto = fk.Model(i, lstm(e))
    explicit = fk.Model(i, lstm(e, mask=e._keras_mask))  # the mask passed by hand
    padded = _padded(rng)
    np.testing.assert_allclose(_np(explicit(padded)), _np(auto(padded)), rtol=1e-6)
    # Model(x, mask=...) puts the mask on the inputs, as Keras does
    f = fk.Input((6, 4))
    seq = fk.Model(f, L.LSTM(3)(f))
    seq.set_weights(auto.layers[-1].get_weights())
    emb = auto.layers[1](padded)
    np.testing.assert_allclose(_np(seq(emb, mask=padded != 0)), _np(auto(padded)), rtol=1e-6)


# ------------------------------------------------------------------ dict outputs
def _dict_model(lib):
    x = lib.Input((3,), name="x")
    hb = lib.layers.Dense(2, name="zz")(x)
    ha = lib.layers.Dense(4, name="yy")(x)
    return lib.Model(x, {"b": hb, "a": ha})


def test_dict_outputs_are_ordered_as_keras_orders_them(tf, rng):
    keras = tf.keras
    ref, ours = _dict_model(keras), _dict_model(fk)
    # outputs flatten in sorted key order; output_names are the layers' names in it
    assert ours.output_names == ref.output_names == ["yy", "zz"]
    assert [t.shape for t in ours.outputs] == [tuple(t.shape) for t in ref.outputs]
    assert list(ours.output) == list(ref.output) == ["b", "a"]  # the dict as given
    assert [l.name for l in ours.layers] == [l.name for l in ref.layers] == ["x", "yy", "zz"]
    ours.set_weights(ref.get_weights())
    x = rng.normal(size=(4, 3)).astype("float32")
    p, p_ref = ours.predict(x, verbose=0), ref.predict(x, verbose=0)
    assert isinstance(p, dict) and list(p) == list(p_ref) == ["b", "a"]
    for k in p:
        np.testing.assert_allclose(p[k], p_ref[k], rtol=1e-6, atol=1e-6)
    y, y_ref = ours(x), ref(x)
    assert list(y) == list(y_ref) == ["b", "a"]
    for k in y:
        np.testing.assert_allclose(_np(y[k]), _np(y_ref[k]), rtol=1e-6)
    assert ours.output_shape == ref.output_shape == [(None, 4), (None, 2)]
    assert _totals(ours) == _totals(ref) and _rows(ours) == _rows(ref)

    # nested: a list inside the dict
    xi = ours.inputs[0]
    nested = fk.Model(xi, {"b": [ours.get_layer("zz").output, ours.get_layer("yy").output],
                           "a": ours.get_layer("yy").output})
    xr = ref.inputs[0]
    nested_ref = keras.Model(xr, {"b": [ref.get_layer("zz").output,
                                        ref.get_layer("yy").output],
                                  "a": ref.get_layer("yy").output})
    assert [t.shape for t in nested.outputs] == [tuple(t.shape) for t in nested_ref.outputs]
    p, p_ref = nested.predict(x, batch_size=2, verbose=0), nested_ref.predict(x, verbose=0)
    assert list(p) == list(p_ref) == ["b", "a"] and len(p["b"]) == len(p_ref["b"]) == 2
    np.testing.assert_allclose(p["b"][0], p_ref["b"][0], rtol=1e-6)
    np.testing.assert_allclose(p["a"], p_ref["a"], rtol=1e-6)


def test_dict_inputs_are_fed_by_name_in_keras_order(tf, rng):
    keras = tf.keras
    models = []
    for lib in (keras, fk):
        b, a = lib.Input((2,), name="b"), lib.Input((3,), name="a")
        out = lib.layers.Dense(1, name="d")(lib.layers.Concatenate()([b, a]))
        models.append(lib.Model({"b": b, "a": a}, out))
    ref, ours = models
    assert [t.shape for t in ours.inputs] == [tuple(t.shape) for t in ref.inputs]
    ours.set_weights(ref.get_weights())
    feed = {"a": rng.normal(size=(2, 3)).astype("float32"),
            "b": rng.normal(size=(2, 2)).astype("float32")}
    np.testing.assert_allclose(_np(ours(feed)), _np(ref(feed)), rtol=1e-6)
    with pytest.raises(ValueError, match=r"missing input\(s\) \['a'\]"):
        ours({"b": feed["b"]})


def test_mask_rules_with_several_tensor_arguments(tf, rng):
    """Keras 3 passes the input's mask to ``mask`` only when the call has one tensor
    argument: an LSTM given ``initial_state`` too runs unmasked (eager and in a graph),
    and a layer with ``<argument>_mask`` parameters gets each argument's mask."""
    keras = tf.keras
    padded = _padded(rng)
    h0 = rng.normal(size=(3, 2)).astype("float32")
    results = []
    for lib in (keras, fk):
        L = lib.layers
        emb = L.Embedding(9, 3, mask_zero=True)
        lstm = L.LSTM(2)
        e = emb(padded)
        eager = (lstm(e), lstm(e, initial_state=[h0, h0]))
        i, h = lib.Input((None,), dtype="int32"), lib.Input((2,))
        graph = lib.Model([i, h], lstm(emb(i), initial_state=[h, h]))
        results.append((emb, lstm, graph))
    (emb_r, lstm_r, graph_r), (emb_o, lstm_o, graph_o) = results
    emb_o.set_weights(emb_r.get_weights())
    lstm_o.set_weights(lstm_r.get_weights())
    e_r, e_o = emb_r(padded), emb_o(padded)
    for kw in ({}, {"initial_state": [h0, h0]}):
        np.testing.assert_allclose(_np(lstm_o(e_o, **kw)), _np(lstm_r(e_r, **kw)),
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(graph_o([padded, h0])), _np(graph_r([padded, h0])),
                               rtol=1e-5, atol=1e-6)

    seen = {}
    for lib in (keras, fk):
        class Pair(lib.layers.Layer):
            def call(self, a, b, a_mask=None, b_mask=None):
                seen[lib] = (None if a_mask is None else _np(a_mask),
                             None if b_mask is None else _np(b_mask))
                return a

        ea = lib.layers.Embedding(9, 3, mask_zero=True)(padded)
        Pair()(ea, lib.layers.Dense(3)(ea[:, :, :1] * 0 + 1.0))
    assert seen[fk][1] is None and seen[keras][1] is None
    np.testing.assert_array_equal(seen[fk][0], seen[keras][0])
    np.testing.assert_array_equal(seen[fk][0], padded != 0)
