"""ONNX export (``model.export(path, format="onnx")``): every exported file is run by
onnxruntime (CPU, one thread) and compared with model.predict, at batch 1 and 7 (the
batch axis is dynamic); layers the export cannot write raise OnnxExportError naming the
layer, and nothing is written."""
import functools
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import fastkeras as fk  # noqa: E402
from fastkeras.saving.onnx_export import OnnxExportError  # noqa: E402
from _layer_cases import CASES  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)

# parity-suite configurations the export refuses (each raises OnnxExportError)
REFUSED = set()


def _session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _randomise(model, rng):
    for w in model.weights:
        v = rng.normal(size=w.shape) * 0.5
        if "variance" in w.name or "variance" in getattr(w, "path", ""):
            v = np.abs(v) + 0.5
        w.assign(v.astype(w.dtype))


def _inputs(rng, model, batch):
    out = []
    for t in model.inputs:
        shape = (batch,) + tuple(t.shape[1:])
        if np.dtype(t.dtype).kind in "iu":
            out.append(rng.integers(0, 7, size=shape).astype(t.dtype))
        else:
            out.append(rng.normal(size=shape).astype(t.dtype))
    return out


def _check(model, tmp_path, rng, batches=(1, 7), tol=TOL, **export_kwargs):
    """Export `model`, run the file and compare it with predict; returns the ModelProto."""
    path = tmp_path / f"{model.name}.onnx"
    model.export(str(path), format="onnx", verbose=False, **export_kwargs)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    sess = _session(path)
    names = [i.name for i in sess.get_inputs()]
    assert names == [t._keras_history[0].name for t in model.inputs]
    assert [o.name for o in sess.get_outputs()] == list(model.output_names)
    for batch in batches:
        xs = _inputs(rng, model, batch)
        got = sess.run(None, dict(zip(names, xs)))
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == np.shape(w)
            np.testing.assert_allclose(g, w, **tol)
    return proto


def _case_model(case, dtype="float32"):
    name, cls, kwargs, shape, _ = case
    shapes = shape if isinstance(shape, list) else [shape]
    inputs = [fk.Input(s[1:], dtype=dtype, name=f"in{k}") for k, s in enumerate(shapes)]
    layer = getattr(fk.layers, cls)(dtype=dtype, **kwargs)
    out = layer(inputs if isinstance(shape, list) else inputs[0])
    return fk.Model(inputs if isinstance(shape, list) else inputs[0], out, name=name), layer


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_case_matches_predict(case, tmp_path, rng):
    model, layer = _case_model(case)
    _randomise(model, rng)
    if case[0] in REFUSED:
        path = tmp_path / "refused.onnx"
        with pytest.raises(OnnxExportError, match=f"{layer.name}.*{case[1]}"):
            model.export(str(path), format="onnx", verbose=False)
        assert not path.exists()
        return
    _check(model, tmp_path, rng)


ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "softplus",
               "softsign", "swish", "silu", "leaky_relu", "relu6", "hard_sigmoid",
               "hard_silu", "linear", "exponential", "log_softmax", "mish", "log_sigmoid"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activations(activation, tmp_path, rng):
    inp = fk.Input((6,), name="x")
    out = fk.layers.Dense(5, activation=activation)(fk.layers.Dense(4)(inp))
    model = fk.Model(inp, out)
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_gelu_tanh_approximation(tmp_path, rng):
    approx = functools.partial(fk.activations.gelu, approximate=True)
    inp = fk.Input((6,), name="x")
    model = fk.Model(inp, fk.layers.Dense(5, activation=approx)(inp))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_softmax_and_log_softmax_axes_after_convolution(axis, tmp_path, rng):
    # the softmax reads a tensor held channels first inside the graph: its axis is mapped
    inp = fk.Input((5, 6, 3), name="img")
    x = fk.layers.Conv2D(4, 3, padding="same")(inp)
    a = fk.layers.Softmax(axis=axis)(x)
    b = fk.layers.Activation("log_softmax")(x)
    model = fk.Model(inp, [a, b])
    _randomise(model, rng)
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("kwargs", [dict(), dict(max_value=6.0), dict(negative_slope=0.1),
                                    dict(threshold=0.3), dict(max_value=2.0, threshold=-0.5,
                                                              negative_slope=0.2)])
def test_relu_layer_options(kwargs, tmp_path, rng):
    inp = fk.Input((3, 4), name="x")
    model = fk.Model(inp, fk.layers.ReLU(**kwargs)(inp))
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("kwargs", [dict(), dict(center=False), dict(scale=False),
                                    dict(rms_scaling=True), dict(axis=1), dict(axis=[1, 2])])
def test_layer_normalization_options(kwargs, tmp_path, rng):
    inp = fk.Input((3, 5), name="x")
    model = fk.Model(inp, fk.layers.LayerNormalization(**kwargs)(inp))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("kwargs", [dict(), dict(center=False, scale=False), dict(axis=1),
                                    dict(axis=[1, 3])])
def test_batch_normalization_after_convolution(kwargs, tmp_path, rng):
    inp = fk.Input((5, 6, 3), name="img")
    x = fk.layers.Conv2D(4, 3)(inp)
    model = fk.Model(inp, fk.layers.BatchNormalization(**kwargs)(x))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("conv", [
    dict(cls="Conv1D", kwargs=dict(filters=3, kernel_size=4, strides=3, padding="same"),
         shape=(10, 2)),
    dict(cls="Conv1D", kwargs=dict(filters=3, kernel_size=2, padding="causal", dilation_rate=3,
                                   use_bias=False), shape=(9, 2)),
    dict(cls="Conv2D", kwargs=dict(filters=4, kernel_size=(2, 4), strides=(2, 3),
                                   padding="same"), shape=(7, 10, 3)),
    dict(cls="Conv2D", kwargs=dict(filters=6, kernel_size=3, groups=3, padding="same",
                                   dilation_rate=2, activation="tanh"), shape=(8, 7, 3)),
    dict(cls="Conv3D", kwargs=dict(filters=2, kernel_size=(2, 3, 2), strides=2,
                                   padding="same"), shape=(5, 6, 4, 2)),
    dict(cls="DepthwiseConv2D", kwargs=dict(kernel_size=3, strides=2, padding="same",
                                            use_bias=False), shape=(7, 8, 3)),
    dict(cls="DepthwiseConv1D", kwargs=dict(kernel_size=2, depth_multiplier=3), shape=(6, 2)),
    dict(cls="SeparableConv2D", kwargs=dict(filters=5, kernel_size=2, depth_multiplier=2,
                                            strides=2, activation="relu"), shape=(7, 7, 3)),
    dict(cls="MaxPooling2D", kwargs=dict(pool_size=(2, 3), strides=(1, 2), padding="same"),
         shape=(5, 7, 2)),
    dict(cls="AveragePooling2D", kwargs=dict(pool_size=3, strides=2, padding="same"),
         shape=(6, 7, 2)),
    dict(cls="AveragePooling1D", kwargs=dict(pool_size=2, padding="same"), shape=(5, 3)),
    dict(cls="MaxPooling3D", kwargs=dict(pool_size=2, padding="same"), shape=(3, 5, 4, 2)),
    dict(cls="GlobalMaxPooling2D", kwargs=dict(keepdims=True), shape=(4, 5, 3)),
    dict(cls="GlobalAveragePooling2D", kwargs=dict(data_format="channels_first"),
         shape=(3, 4, 5)),
], ids=lambda c: f"{c['cls']}-{'-'.join(f'{k}{v}' for k, v in c['kwargs'].items())}")
def test_convolution_and_pooling_geometry(conv, tmp_path, rng):
    inp = fk.Input(conv["shape"], name="x")
    model = fk.Model(inp, getattr(fk.layers, conv["cls"])(**conv["kwargs"])(inp))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("transpose", [
    dict(cls="Conv2DTranspose", kwargs=dict(filters=3, kernel_size=2, strides=3,
                                            padding="valid"), shape=(3, 4, 2)),
    dict(cls="Conv2DTranspose", kwargs=dict(filters=2, kernel_size=(3, 4), strides=(2, 1),
                                            padding="same", activation="relu"),
         shape=(4, 5, 3)),
    dict(cls="Conv2DTranspose", kwargs=dict(filters=2, kernel_size=3, dilation_rate=2,
                                            padding="same", use_bias=False), shape=(5, 4, 2)),
    dict(cls="Conv2DTranspose", kwargs=dict(filters=2, kernel_size=4, strides=3,
                                            padding="same", output_padding=(2, 1)),
         shape=(3, 3, 2)),
    dict(cls="Conv1DTranspose", kwargs=dict(filters=2, kernel_size=5, strides=2,
                                            padding="same"), shape=(5, 3)),
    dict(cls="Conv3DTranspose", kwargs=dict(filters=2, kernel_size=3, strides=2,
                                            padding="same"), shape=(2, 3, 2, 2)),
    dict(cls="Conv2DTranspose", kwargs=dict(filters=2, kernel_size=3, strides=2,
                                            data_format="channels_first"), shape=(2, 3, 4)),
], ids=lambda c: f"{c['cls']}-{'-'.join(f'{k}{v}' for k, v in c['kwargs'].items())}")
def test_transposed_convolution_geometry(transpose, tmp_path, rng):
    inp = fk.Input(transpose["shape"], name="x")
    layer = getattr(fk.layers, transpose["cls"])(**transpose["kwargs"])
    model = fk.Model(inp, layer(inp))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


@pytest.mark.parametrize("shapes,axes,normalize", [
    ([(4,), (4,)], 1, True), ([(3, 4), (5, 4)], 2, False), ([(3, 4), (3, 5)], 1, True),
    ([(4,), (4, 3)], (1, 1), False), ([(3, 4), (4,)], (2, 1), False),
    ([(3, 4), (4, 2)], (2, 1), False)])
def test_dot(shapes, axes, normalize, tmp_path, rng):
    a, c = fk.Input(shapes[0], name="a"), fk.Input(shapes[1], name="c")
    model = fk.Model([a, c], fk.layers.Dot(axes=axes, normalize=normalize)([a, c]))
    _check(model, tmp_path, rng)


def _ops(proto, op_type):
    return [n for n in proto.graph.node if n.op_type == op_type]


def test_a_convolution_run_stays_channels_first(tmp_path, rng):
    inp = fk.Input((12, 12, 3), name="img")
    x = fk.layers.ZeroPadding2D(1)(inp)
    x = fk.layers.Conv2D(8, 3, strides=2, use_bias=False)(x)
    x = fk.layers.BatchNormalization()(x)
    x = fk.layers.ReLU()(x)
    x = fk.layers.MaxPooling2D(2, padding="same")(x)
    y = fk.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = fk.layers.Add()([x, y])
    x = fk.layers.SeparableConv2D(6, 3, padding="same")(x)
    x = fk.layers.PReLU(shared_axes=[1, 2])(x)
    x = fk.layers.UpSampling2D(2)(x)
    x = fk.layers.Cropping2D(((1, 0), (0, 1)))(x)
    x = fk.layers.Conv2D(4, 1)(x)
    x = fk.layers.GlobalAveragePooling2D()(x)
    out = fk.layers.Dense(3, activation="softmax")(x)
    model = fk.Model(inp, out)
    _randomise(model, rng)
    proto = _check(model, tmp_path, rng)
    assert len(_ops(proto, "Transpose")) == 1  # in at the input; the pooling leaves (N, C)


def test_channels_first_output_is_transposed_back(tmp_path, rng):
    inp = fk.Input((6, 6, 2), name="img")
    x = fk.layers.Conv2D(3, 3)(inp)
    model = fk.Model(inp, [x, fk.layers.Flatten()(x)])
    _randomise(model, rng)
    proto = _check(model, tmp_path, rng)
    assert len(_ops(proto, "Transpose")) == 2  # in once, back once (shared by both outputs)


def test_functional_dag_with_several_inputs_and_outputs(tmp_path, rng):
    a = fk.Input((4,), name="a")
    b = fk.Input((6,), name="b")
    shared = fk.layers.Dense(5, activation="relu", name="shared")
    ha = shared(fk.layers.Dense(6)(a))
    hb = shared(b)
    merged = fk.layers.Concatenate()([ha, hb, fk.layers.Subtract()([ha, hb])])
    out1 = fk.layers.Dense(2, name="head1")(merged)
    out2 = fk.layers.Average(name="head2")([ha, hb])
    out3 = fk.layers.Maximum(name="head3")([ha, hb, fk.layers.Minimum()([ha, hb])])
    model = fk.Model([a, b], [out1, out2, out3])
    _randomise(model, rng)
    proto = _check(model, tmp_path, rng)
    kernels = [i for i in proto.graph.initializer if i.name.startswith("shared/kernel")]
    assert len(kernels) == 1  # a shared layer's weights are written once


def test_nested_models(tmp_path, rng):
    inner = fk.Sequential([fk.Input((4,)), fk.layers.Dense(6, activation="tanh"),
                           fk.layers.Dropout(0.5)], name="inner")
    i2 = fk.Input((6,))
    branch = fk.Model(i2, [fk.layers.Dense(3)(i2), fk.layers.Dense(2)(i2)], name="branch")
    x = fk.Input((4,), name="x")
    p, q = branch(inner(x))
    outer = fk.Model(x, fk.layers.Concatenate()([p, q]), name="outer")
    stacked = fk.Sequential([fk.Input((4,), name="s"), outer, fk.layers.Dense(2)])
    _randomise(stacked, rng)
    _check(stacked, tmp_path, rng)


def test_sequential_built_from_input_shape(tmp_path, rng):
    model = fk.Sequential([fk.layers.Dense(8, activation="relu", input_shape=(5,)),
                           fk.layers.BatchNormalization(), fk.layers.Dense(3)])
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_embedding_and_lstm_text_model(tmp_path, rng):
    ids = fk.Input((6,), dtype="int32", name="tokens")
    x = fk.layers.Embedding(7, 4)(ids)
    x = fk.layers.LSTM(5, return_sequences=True, go_backwards=True)(x)
    x = fk.layers.GRU(3, reset_after=True)(x)
    model = fk.Model(ids, fk.layers.Dense(2, activation="sigmoid")(x))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_float_ids_are_cast_for_embedding(tmp_path, rng):
    model = fk.Sequential([fk.Input((3,), name="ids"), fk.layers.Embedding(7, 2)])
    _randomise(model, rng)
    path = tmp_path / "emb.onnx"
    model.export(str(path), format="onnx", verbose=False)
    ids = np.array([[0, 3, 6], [1.0, 2, 5]], np.float32)
    got = _session(path).run(None, {"ids": ids})[0]
    np.testing.assert_allclose(got, model.predict(ids, verbose=0), **TOL)


def test_float64_model(tmp_path, rng):
    # compared with the layers' own forward pass: predict's fused float64 tanh (the C
    # chain) differs from tanh by ~5e-8, more than this tolerance
    inp = fk.Input((5,), dtype="float64", name="x")
    x = fk.layers.Dense(4, activation="tanh", dtype="float64")(inp)
    model = fk.Model(inp, fk.layers.Dense(2, dtype="float64")(x))
    _randomise(model, rng)
    path = tmp_path / "f64.onnx"
    model.export(str(path), format="onnx", verbose=False)
    proto = onnx.load(str(path))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    x = rng.normal(size=(7, 5))
    np.testing.assert_allclose(_session(path).run(None, {"x": x})[0], model(x).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_file_metadata(tmp_path, rng, capsys):
    model = fk.Sequential([fk.Input((3, 4), name="features"), fk.layers.Dense(2)],
                          name="meta")
    path = tmp_path / "meta.onnx"
    model.export(str(path), format="onnx")
    assert "Saved ONNX model" in capsys.readouterr().out
    proto = onnx.load(str(path))
    assert proto.opset_import[0].domain == "" and proto.opset_import[0].version == 17
    assert proto.ir_version == 8
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 4]
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "batch"
    assert proto.graph.output[0].name == model.output_names[0]


@pytest.mark.parametrize("opset", [18, 20])
def test_later_opsets(opset, tmp_path, rng):
    inp = fk.Input((5, 5, 2), name="img")
    x = fk.layers.Conv2D(3, 3, padding="same")(inp)
    x = fk.layers.LayerNormalization(axis=[1, 2])(x)
    x = fk.layers.GlobalMaxPooling2D()(x)
    model = fk.Model(inp, x)
    _randomise(model, rng)
    proto = _check(model, tmp_path, rng, opset_version=opset)
    assert proto.opset_import[0].version == opset


def test_unknown_time_axis_is_dynamic(tmp_path, rng):
    inp = fk.Input((None, 3), name="seq")
    x = fk.layers.Conv1D(4, 3, padding="same")(inp)
    model = fk.Model(inp, fk.layers.SimpleRNN(2)(x))
    _randomise(model, rng)
    path = tmp_path / "dyn.onnx"
    model.export(str(path), format="onnx", verbose=False)
    sess = _session(path)
    for steps in (4, 9):
        x = rng.normal(size=(3, steps, 3)).astype(np.float32)
        np.testing.assert_allclose(sess.run(None, {"seq": x})[0], model.predict(x, verbose=0),
                                   **TOL)


# ------------------------------------------------------------------------------ refusals
def _refused(model, tmp_path, pattern):
    path = tmp_path / "refused.onnx"
    with pytest.raises(OnnxExportError, match=pattern):
        model.export(str(path), format="onnx", verbose=False)
    assert not path.exists()


def test_refuses_a_lambda_layer(tmp_path):
    inp = fk.Input((3,), name="x")
    x = fk.layers.Dense(2)(inp)
    model = fk.Model(inp, fk.layers.Lambda(lambda t: t * 2, name="double")(x))
    _refused(model, tmp_path, r"layer 'double' \(Lambda\) has no ONNX conversion")


def test_refuses_masks(tmp_path):
    ids = fk.Input((5,), dtype="int32", name="ids")
    x = fk.layers.Embedding(9, 3, mask_zero=True, name="emb")(ids)
    model = fk.Model(ids, fk.layers.LSTM(2)(x))
    _refused(model, tmp_path, r"layer 'emb' \(Embedding\) has mask_zero=True")


def test_refuses_an_unknown_activation(tmp_path):
    inp = fk.Input((3,), name="x")
    model = fk.Model(inp, fk.layers.Dense(2, activation=lambda t: t, name="d")(inp))
    _refused(model, tmp_path, r"layer 'd' \(Dense\) has the activation")


def test_refuses_return_state(tmp_path):
    inp = fk.Input((4, 3), name="x")
    out, h, c = fk.layers.LSTM(2, return_state=True, name="rnn")(inp)
    _refused(fk.Model(inp, out), tmp_path, r"layer 'rnn' \(LSTM\) has return_state")


def test_refuses_a_subclassed_model(tmp_path):
    class Custom(fk.Model):
        def __init__(self):
            super().__init__()
            self.d = fk.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    model = Custom()
    model(np.zeros((1, 3), np.float32))
    _refused(model, tmp_path, r"\(Custom\) defines its own call")


def test_refuses_a_call_in_training_mode(tmp_path):
    inp = fk.Input((3,), name="x")
    model = fk.Model(inp, fk.layers.Dropout(0.5, name="drop")(inp, training=True))
    _refused(model, tmp_path, r"layer 'drop' \(Dropout\) is called with training=True")


def test_refuses_a_model_without_inputs(tmp_path):
    model = fk.Sequential([fk.layers.Dense(2)], name="unbuilt")
    _refused(model, tmp_path, r"model 'unbuilt' \(Sequential\) has no recorded graph")


def test_refusal_is_a_value_error():
    assert issubclass(OnnxExportError, ValueError)


def test_other_formats_and_arguments(tmp_path):
    model = fk.Sequential([fk.Input((3,), name="x"), fk.layers.Dense(2)])
    for fmt in ("tf_saved_model", "tfsm_layer", "openvino", "keras"):
        with pytest.raises(ValueError, match="writes format='onnx'"):
            model.export(str(tmp_path / "m"), format=fmt)
    with pytest.raises(ValueError, match="writes format='onnx'"):
        model.export(str(tmp_path / "m"))  # Keras' default: a SavedModel
    with pytest.raises(ValueError, match="input_signature must be None"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", input_signature=[(None, 3)])
    with pytest.raises(ValueError, match="opset_version must be one of"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", opset_version=13)
    with pytest.raises(ValueError, match="unexpected arguments"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", dynamic_axes=True)
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------------------ more layers
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("rnn", ["LSTM", "GRU", "SimpleRNN"])
def test_bidirectional(rnn, merge_mode, tmp_path, rng):
    inp = fk.Input((5, 3), name="seq")
    inner = getattr(fk.layers, rnn)(4, return_sequences=merge_mode != "sum")
    out = fk.layers.Bidirectional(inner, merge_mode=merge_mode)(inp)
    model = fk.Model(inp, list(out) if merge_mode is None else out)
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_time_distributed(tmp_path, rng):
    inp = fk.Input((4, 6, 6, 2), name="frames")
    x = fk.layers.TimeDistributed(fk.layers.Conv2D(3, 3, activation="relu"))(inp)
    x = fk.layers.TimeDistributed(fk.layers.GlobalAveragePooling2D())(x)
    x = fk.layers.TimeDistributed(fk.layers.Dense(2))(x)
    model = fk.Model(inp, x)
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_preprocessing_and_other_normalizations(tmp_path, rng):
    norm = fk.layers.Normalization(axis=-1)
    norm.adapt(rng.normal(size=(20, 5, 5, 3)) * 3 + 1)
    inp = fk.Input((5, 5, 3), name="img")
    x = fk.layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = norm(x)
    x = fk.layers.Conv2D(4, 3, padding="same")(x)
    x = fk.layers.GroupNormalization(groups=2)(x)
    x = fk.layers.Normalization(axis=-1, mean=[0.1, 0.2, 0.3, 0.4], variance=[1, 2, 3, 4],
                                invert=True)(x)
    x = fk.layers.UnitNormalization(axis=[1, 2])(x)
    model = fk.Model(inp, x)
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_integer_image_rescaled(tmp_path, rng):
    inp = fk.Input((4, 4, 3), dtype="uint8", name="img")
    x = fk.layers.Rescaling(1 / 255.0)(inp)
    model = fk.Model(inp, fk.layers.Conv2D(2, 3)(x))
    _randomise(model, rng)
    path = tmp_path / "u8.onnx"
    model.export(str(path), format="onnx", verbose=False)
    img = rng.integers(0, 256, size=(3, 4, 4, 3)).astype(np.uint8)
    np.testing.assert_allclose(_session(path).run(None, {"img": img})[0],
                               model.predict(img, verbose=0), **TOL)


@pytest.mark.parametrize("name,kwargs", [
    ("MobileNetV2", dict(alpha=0.35)), ("ResNet50V2", dict()), ("DenseNet121", dict()),
    ("EfficientNetB0", dict())])
def test_applications(name, kwargs, tmp_path, rng):
    from fastkeras import applications

    model = getattr(applications, name)(weights=None, input_shape=(32, 32, 3), classes=5,
                                        classifier_activation=None, **kwargs)
    proto = _check(model, tmp_path, rng, batches=(2,), tol=dict(rtol=1e-4, atol=1e-4))
    assert len(_ops(proto, "Transpose")) == 1


def test_every_layer_the_inference_plan_lowers_has_a_rule():
    import inspect

    from fastkeras import layers as L
    from fastkeras.device import steps
    from fastkeras.saving.onnx_export import rule_for_class

    public = [c for c in vars(L).values() if inspect.isclass(c)]
    for types, _, exact in steps._rules():
        for t in types:
            classes = [t] if exact else [c for c in public if issubclass(c, t)]
            assert classes, t
            for c in classes:
                assert rule_for_class(c) is not None, c.__name__


@pytest.mark.parametrize("opset", [17, 18])
def test_ops_on_symbolic_tensors(opset, tmp_path, rng):
    from fastkeras import ops

    a = fk.Input((3, 4), name="a")
    c = fk.Input((4,), name="c")
    x = fk.layers.Conv1D(4, 1)(a)  # held channels first: the ops read Keras' axes
    y = (x + 1.0) * 2.0 - ops.exp(x) / (ops.abs(a) + 0.5)
    y = ops.maximum(y, -1.0) ** 2 + ops.square(ops.tanh(y)) + ops.sqrt(ops.abs(y))
    outs = [
        ops.mean(y, axis=-1, keepdims=True),
        ops.sum(y, axis=(1, 2)),
        ops.max(y, axis=1) - ops.min(y, axis=1),
        ops.reshape(ops.transpose(y, (0, 2, 1)), (-1, 12)),
        ops.concatenate([ops.expand_dims(c, 1), y], axis=1),
        ops.squeeze(ops.expand_dims(c, 1), 1),
        ops.matmul(y, ops.expand_dims(c, -1)),
        y[:, 0],
        y[:, -1, 1:3],
        y[:, 1:, ::-2],
        ops.softmax(y, axis=1),
        ops.cast(ops.relu(y), "float32") * ops.sigmoid(a),
    ]
    model = fk.Model([a, c], outs)
    _randomise(model, rng)
    _check(model, tmp_path, rng, opset_version=opset)


def test_refuses_an_op_without_a_conversion(tmp_path):
    from fastkeras import ops

    a = fk.Input((3, 4), name="a")
    model = fk.Model(a, ops.argmax(a, axis=-1))
    _refused(model, tmp_path, r"\(Argmax\) is the op 'argmax'")


@pytest.mark.parametrize("kwargs,call", [
    (dict(num_heads=2, key_dim=3), dict()),
    (dict(num_heads=3, key_dim=2, value_dim=4, use_bias=False, output_shape=5), dict()),
    (dict(num_heads=2, key_dim=4, dropout=0.3), dict(use_causal_mask=True)),
    (dict(num_heads=1, key_dim=3, use_gate=True), dict(key=True)),
    (dict(num_heads=2, key_dim=2, sliding_window=2), dict()),
])
def test_multi_head_attention(kwargs, call, tmp_path, rng):
    q = fk.Input((5, 6), name="q")
    v = fk.Input((5, 4), name="v")
    layer = fk.layers.MultiHeadAttention(**kwargs)
    if call.pop("key", False):
        k = fk.Input((5, 3), name="k")
        out, inputs = layer(q, v, key=k, **call), [q, v, k]
    else:
        out, inputs = layer(q, v, **call), [q, v]
    model = fk.Model(inputs, out)
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_transformer_block(tmp_path, rng):
    tokens = fk.Input((6,), dtype="int32", name="tokens")
    x = fk.layers.Embedding(7, 8)(tokens)
    att = fk.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x, use_causal_mask=True)
    x = fk.layers.LayerNormalization(epsilon=1e-6)(x + att)
    ff = fk.layers.Dense(8)(fk.layers.Dense(16, activation="gelu")(x))
    x = fk.layers.LayerNormalization(epsilon=1e-6)(fk.layers.Add()([x, ff]))
    x = fk.layers.GlobalAveragePooling1D()(x)
    model = fk.Model(tokens, fk.layers.Dense(3, activation="softmax")(x))
    _randomise(model, rng)
    _check(model, tmp_path, rng)


def test_image_preprocessing_at_inference(tmp_path, rng):
    inp = fk.Input((9, 8, 3), name="img")
    x = fk.layers.RandomFlip()(inp)
    x = fk.layers.RandomRotation(0.2)(x)
    x = fk.layers.RandomZoom(0.1)(x)
    x = fk.layers.RandomTranslation(0.1, 0.1)(x)
    x = fk.layers.RandomContrast(0.2)(x)
    x = fk.layers.RandomBrightness(0.2, value_range=(-5, 5))(x)
    x = fk.layers.CenterCrop(6, 5)(x)
    x = fk.layers.Conv2D(2, 3)(x)
    model = fk.Model(inp, [x, fk.layers.CenterCrop(4, 3)(x)])
    _randomise(model, rng)
    _check(model, tmp_path, rng)
