"""Every layer against tf.keras (Keras 3) with the same weights copied in: outputs,
and gradients with respect to the inputs and every trainable weight, for a random
upstream gradient. float32 at rtol 1e-5, float64 at 1e-10."""
import numpy as np
import pytest

import fastkeras as fk

TOL = {"float32": (1e-5, 1e-5), "float64": (1e-10, 1e-10)}

# (id, layer class name, kwargs, input shape(s), training)
CASES = [
    ("dense_relu", "Dense", dict(units=5, activation="relu"), (3, 4), False),
    ("dense_3d", "Dense", dict(units=3, use_bias=False), (2, 3, 4), False),
    ("dense_gelu", "Dense", dict(units=4, activation="gelu"), (3, 4), False),
    ("activation_selu", "Activation", dict(activation="selu"), (3, 4), False),
    ("activation_softmax", "Activation", dict(activation="softmax"), (3, 4), False),
    ("activation_swish", "Activation", dict(activation="swish"), (3, 4), False),
    ("activation_hard_sigmoid", "Activation", dict(activation="hard_sigmoid"), (3, 4), False),
    ("activation_softplus", "Activation", dict(activation="softplus"), (3, 4), False),
    ("activation_mish", "Activation", dict(activation="mish"), (3, 4), False),
    ("conv1d_causal", "Conv1D", dict(filters=4, kernel_size=3, padding="causal"), (2, 9, 3),
     False),
    ("conv1d_same_dil", "Conv1D", dict(filters=4, kernel_size=3, padding="same",
                                       dilation_rate=2), (2, 9, 3), False),
    ("conv2d_same_s2", "Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same",
                                      activation="relu"), (2, 7, 8, 3), False),
    ("conv2d_rect_dil", "Conv2D", dict(filters=3, kernel_size=(3, 2), dilation_rate=2),
     (2, 9, 8, 2), False),
    ("conv2d_groups", "Conv2D", dict(filters=4, kernel_size=3, groups=2), (2, 6, 6, 4), False),
    ("conv3d", "Conv3D", dict(filters=2, kernel_size=2), (2, 4, 5, 3, 2), False),
    ("conv2d_transpose", "Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2,
                                                 padding="same"), (2, 4, 5, 2), False),
    ("conv2d_transpose_op", "Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2,
                                                    output_padding=1), (2, 4, 4, 3), False),
    ("conv1d_transpose", "Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2),
     (2, 5, 3), False),
    ("depthwise2d", "DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2), (2, 6, 6, 3),
     False),
    ("separable2d", "SeparableConv2D", dict(filters=4, kernel_size=3, padding="same"),
     (2, 6, 6, 3), False),
    ("maxpool1d", "MaxPooling1D", dict(pool_size=2), (2, 7, 3), False),
    ("maxpool2d_same", "MaxPooling2D", dict(pool_size=3, strides=2, padding="same"),
     (2, 7, 6, 3), False),
    ("maxpool3d", "MaxPooling3D", dict(pool_size=2), (2, 4, 4, 4, 2), False),
    ("avgpool2d_same", "AveragePooling2D", dict(pool_size=2, padding="same"), (2, 5, 5, 3),
     False),
    ("avgpool1d", "AveragePooling1D", dict(pool_size=3, strides=1), (2, 6, 2), False),
    ("gap2d", "GlobalAveragePooling2D", dict(), (2, 4, 5, 3), False),
    ("gmp1d_keep", "GlobalMaxPooling1D", dict(keepdims=True), (2, 6, 3), False),
    ("gmp3d", "GlobalMaxPooling3D", dict(), (2, 3, 3, 3, 2), False),
    ("zeropad2d", "ZeroPadding2D", dict(padding=((1, 2), (0, 1))), (2, 3, 4, 2), False),
    ("zeropad1d", "ZeroPadding1D", dict(padding=2), (2, 3, 2), False),
    ("crop2d", "Cropping2D", dict(cropping=((1, 0), (0, 2))), (2, 5, 6, 2), False),
    ("upsample2d", "UpSampling2D", dict(size=(2, 3)), (2, 3, 4, 2), False),
    ("upsample2d_bilinear", "UpSampling2D", dict(size=2, interpolation="bilinear"),
     (2, 3, 4, 2), False),
    ("upsample1d", "UpSampling1D", dict(size=3), (2, 3, 2), False),
    ("bn_train", "BatchNormalization", dict(), (6, 4), True),
    ("bn_infer", "BatchNormalization", dict(), (6, 4), False),
    ("bn_axis1_train", "BatchNormalization", dict(axis=1, momentum=0.9), (4, 3, 5), True),
    ("layernorm", "LayerNormalization", dict(), (3, 5), False),
    ("layernorm_axes", "LayerNormalization", dict(axis=[1, 2]), (2, 3, 4), False),
    ("flatten", "Flatten", dict(), (2, 3, 4), False),
    ("reshape", "Reshape", dict(target_shape=(3, -1)), (2, 12), False),
    ("permute", "Permute", dict(dims=(2, 1)), (2, 3, 4), False),
    ("repeat_vector", "RepeatVector", dict(n=3), (2, 4), False),
    ("dropout_infer", "Dropout", dict(rate=0.5), (3, 4), False),
    ("relu_layer", "ReLU", dict(max_value=1.5, negative_slope=0.1, threshold=0.2), (3, 4),
     False),
    ("leaky_relu", "LeakyReLU", dict(negative_slope=0.2), (3, 4), False),
    ("prelu", "PReLU", dict(alpha_initializer="random_uniform", shared_axes=[1]), (2, 3, 4),
     False),
    ("elu", "ELU", dict(alpha=0.7), (3, 4), False),
    ("softmax_axis", "Softmax", dict(axis=1), (2, 3, 4), False),
    ("add", "Add", dict(), [(3, 4), (3, 4), (3, 4)], False),
    ("subtract", "Subtract", dict(), [(3, 4), (3, 4)], False),
    ("multiply", "Multiply", dict(), [(3, 4), (3, 4)], False),
    ("average", "Average", dict(), [(3, 4), (3, 4)], False),
    ("maximum", "Maximum", dict(), [(3, 4), (3, 4)], False),
    ("minimum", "Minimum", dict(), [(3, 4), (3, 4)], False),
    ("concatenate", "Concatenate", dict(axis=1), [(3, 4), (3, 2)], False),
    ("dot", "Dot", dict(axes=1), [(3, 4), (3, 4)], False),
    ("conv2d_channels_first", "Conv2D", dict(filters=3, kernel_size=3, padding="same",
                                             data_format="channels_first"), (2, 2, 5, 6), False),
    ("conv3d_transpose", "Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2),
     (1, 2, 3, 2, 3), False),
    ("depthwise1d", "DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"),
     (2, 7, 3), False),
    ("separable1d", "SeparableConv1D", dict(filters=4, kernel_size=3), (2, 7, 3), False),
    ("avgpool3d", "AveragePooling3D", dict(pool_size=2), (2, 4, 4, 4, 2), False),
    ("gap1d", "GlobalAveragePooling1D", dict(), (2, 6, 3), False),
    ("gap3d_keep", "GlobalAveragePooling3D", dict(keepdims=True), (2, 3, 3, 3, 2), False),
    ("zeropad3d", "ZeroPadding3D", dict(padding=1), (1, 2, 3, 2, 2), False),
    ("crop1d", "Cropping1D", dict(cropping=(1, 2)), (2, 6, 3), False),
    ("crop3d", "Cropping3D", dict(cropping=1), (1, 4, 5, 4, 2), False),
    ("upsample3d", "UpSampling3D", dict(size=2), (1, 2, 3, 2, 2), False),
    ("maxpool2d_channels_first", "MaxPooling2D", dict(pool_size=2, data_format="channels_first"),
     (2, 3, 4, 6), False),
    ("flatten_channels_first", "Flatten", dict(data_format="channels_first"), (2, 3, 2, 2),
     False),
    ("simple_rnn", "SimpleRNN", dict(units=4), (2, 5, 3), False),
    ("simple_rnn_seq_back", "SimpleRNN", dict(units=3, return_sequences=True,
                                              go_backwards=True), (2, 4, 3), False),
    ("lstm", "LSTM", dict(units=3), (2, 5, 4), False),
    ("lstm_seq", "LSTM", dict(units=3, return_sequences=True), (2, 4, 2), False),
    ("gru", "GRU", dict(units=3), (2, 5, 4), False),
    ("gru_reset_before", "GRU", dict(units=3, reset_after=False, return_sequences=True),
     (2, 4, 3), False),
]


# float64 cases where TensorFlow itself is less precise than float64: its fused Gelu kernel
# (~5e-8 relative error) and tf.image.resize (computes bilinear resizing in float32)
F64_LOOSE = {"dense_gelu": 1e-7, "upsample2d_bilinear": 1e-6}
# TensorFlow has no float64 kernel for these on the CPU: the reference runs in float32
TF_NO_F64 = {"maxpool3d", "avgpool3d", "conv2d_channels_first"}


def _inputs(rng, shape, dtype):
    if isinstance(shape, list):
        return [rng.normal(size=s).astype(dtype) for s in shape]
    return rng.normal(size=shape).astype(dtype)


def _randomise_weights(tf_layer, rng):
    # non-trivial values everywhere (biases, BN statistics...) so every path is exercised
    new = []
    for w in tf_layer.get_weights():
        v = rng.normal(size=w.shape) * 0.5
        if "variance" in getattr(w, "name", ""):
            v = np.abs(v) + 0.5
        new.append(v.astype(w.dtype))
    names = [v.name for v in tf_layer.weights]
    for i, n in enumerate(names):
        if "variance" in n:
            new[i] = np.abs(new[i]) + 0.5
    tf_layer.set_weights(new)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_keras(tf, rng, case, dtype):
    import keras

    name, cls, kwargs, shape, training = case
    x = _inputs(rng, shape, dtype)
    ref_dtype = "float32" if dtype == "float64" and name in TF_NO_F64 else dtype
    ref_layer = getattr(keras.layers, cls)(dtype=ref_dtype, **kwargs)
    our_layer = getattr(fk.layers, cls)(dtype=dtype, **kwargs)
    ref_layer(x) if not isinstance(x, list) else ref_layer([tf.constant(v) for v in x])
    _randomise_weights(ref_layer, rng)
    our_layer(x)
    our_layer.set_weights(ref_layer.get_weights())

    xs = x if isinstance(x, list) else [x]
    tx = [tf.Variable(v.astype(ref_dtype)) for v in xs]
    with tf.GradientTape() as tape:
        y_ref = ref_layer(tx if isinstance(x, list) else tx[0], training=training)
        g = rng.normal(size=tuple(y_ref.shape)).astype(dtype)
        loss = tf.reduce_sum(y_ref * g)
    ref_grads = tape.gradient(loss, tx + list(ref_layer.trainable_weights))

    fx = [fk.Variable(v) for v in xs]
    with fk.GradientTape() as ftape:
        y = our_layer(fx if isinstance(x, list) else fx[0], training=training)
        floss = fk.ops.sum(fk.ops.multiply(y, g))
    our_grads = ftape.gradient(floss, fx + list(our_layer.trainable_weights))

    rtol, atol = TOL[ref_dtype]
    if dtype == "float64" and name in F64_LOOSE:
        rtol = atol = F64_LOOSE[name]
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), np.asarray(y_ref), rtol=rtol, atol=atol)
    assert len(our_grads) == len(ref_grads)
    for k, (a, b) in enumerate(zip(our_grads, ref_grads)):
        if b is None:
            assert a is None or np.allclose(a.numpy(), 0)
            continue
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=rtol, atol=atol * 10,
                                   err_msg=f"gradient {k}")
    # the non-trainable state (BatchNormalization's moving statistics) moves alike
    for a, b in zip(our_layer.non_trainable_weights, ref_layer.non_trainable_weights):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=rtol, atol=atol)


def test_embedding_matches_keras(tf, rng):
    import keras

    ids = rng.integers(0, 7, size=(3, 4))
    ref, ours = keras.layers.Embedding(7, 5), fk.layers.Embedding(7, 5)
    ref(ids)
    ours(ids)
    ours.set_weights(ref.get_weights())
    g = rng.normal(size=(3, 4, 5)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ref(ids) * g)
    gr = tape.gradient(loss, ref.trainable_weights)[0]
    with fk.GradientTape() as ftape:
        floss = fk.ops.sum(ours(ids) * g)
    go = ftape.gradient(floss, ours.trainable_weights)[0]
    np.testing.assert_allclose(go.numpy(), tf.convert_to_tensor(gr).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours(ids).numpy(), ref(ids).numpy())
