"""The Layer API, the documents' shape examples, initializers, regularizers,
constraints, activations by name, utils, and clear errors on bad input."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras import layers


def test_document_shapes():
    x = fk.Input(shape=(16,))
    y = layers.Dense(32, activation="relu")(x)
    assert layers.Dense(32)(y).shape == (None, 32)
    assert layers.Reshape((3, 4))(fk.Input(shape=(12,))).shape == (None, 3, 4)
    c = layers.Conv2D(64, 3, 3)(fk.Input(shape=(3, 32, 32)))
    assert c.shape == (None, 1, 10, 64)
    assert layers.Flatten()(c).shape == (None, 640)
    x = np.random.default_rng(0).normal(size=(4, 28, 28, 3)).astype("float32")
    assert layers.Conv2D(2, 3, activation="relu", input_shape=(28, 28, 3))(x).shape == \
        (4, 26, 26, 2)
    assert layers.Conv2D(2, 3, activation="relu", dilation_rate=2)(x).shape == (4, 24, 24, 2)
    assert layers.Conv2D(2, 3, padding="same")(x).shape == (4, 28, 28, 2)
    assert layers.Conv2D(2, 3)(np.zeros((4, 7, 28, 28, 3))).shape == (4, 7, 26, 26, 2)
    assert layers.Conv1D(32, 3)(np.zeros((4, 10, 128))).shape == (4, 8, 32)
    assert layers.Conv1D(32, 3)(np.zeros((4, 7, 10, 128))).shape == (4, 7, 8, 32)
    assert layers.Conv3D(2, 3)(np.zeros((4, 28, 28, 28, 1))).shape == (4, 26, 26, 26, 2)


def test_document_pooling_and_relu_examples():
    pool = layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="valid")
    x = fk.ops.reshape(fk.constant([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]]), [1, 3, 3, 1])
    assert pool(x).numpy().reshape(2, 2).tolist() == [[5, 6], [8, 9]]
    x = np.arange(1, 17, dtype="float32").reshape(1, 4, 4, 1)
    out = layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="valid")(x)
    assert out.shape == (1, 2, 2, 1) and out.numpy().reshape(2, 2).tolist() == [[6, 8], [14, 16]]
    foo = fk.constant([-10, -5, 0.0, 4, 10], dtype="float32")
    r = fk.activations.relu(foo, alpha=0.5, threshold=5, max_value=8).numpy()
    assert r.tolist() == [-7.5, -5.0, -2.5, -0.5, 8.0]
    a = fk.constant([-20, -5, -1.0, 0.0, 1.0, 5, 20], dtype="float32")
    np.testing.assert_allclose(fk.activations.sigmoid(a).numpy(),
                               [2.0611537e-09, 6.6928566e-03, 2.6894143e-01, 5.0000000e-01,
                                7.3105860e-01, 9.9330711e-01, 1.0000000e+00], rtol=1e-6)
    t = fk.activations.tanh(fk.constant([-3.0, -1.0, 0.0, 1.0, 3.0])).numpy()
    np.testing.assert_allclose(t, [-0.9950547, -0.7615942, 0., 0.7615942, 0.9950547], rtol=1e-6)
    s = fk.activations.softmax(fk.constant([[-3.0, 2.0], [-1.0, 2.0], [0.0, 2.0], [1.0, 2.0],
                                            [3.0, 2.0]])).numpy()
    np.testing.assert_allclose(s[:, 0], [0.00669285, 0.04742587, 0.11920291, 0.26894143,
                                         0.7310586], rtol=1e-6)


def test_weights_names_and_counts():
    d = layers.Dense(4, name="d")
    assert not d.built and d.weights == []
    with pytest.raises(ValueError, match="not built"):
        d.count_params()
    d(np.zeros((2, 3), "float32"))
    assert d.built and [w.name for w in d.weights] == ["kernel", "bias"]
    assert d.count_params() == 16
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    bn = layers.BatchNormalization()
    bn(np.zeros((2, 3), "float32"))
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    w = d.get_weights()
    d.set_weights([np.ones_like(w[0]), np.zeros_like(w[1])])
    assert d(np.ones((1, 3), "float32")).numpy().tolist() == [[3.0] * 4]
    with pytest.raises(ValueError, match="expects 2 weights"):
        d.set_weights([w[0]])
    with pytest.raises(ValueError, match="has shape"):
        d.set_weights([w[0].T, w[1]])


def test_unique_default_names():
    layers.base.clear_session()
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.Conv2D(1, 1).name == "conv2d"
    assert layers.SimpleRNN(1).name == "simple_rnn"
    assert layers.GlobalAveragePooling2D().name == "global_average_pooling2d"


def test_subclassed_layer_with_add_weight_and_add_loss():
    class Linear(layers.Layer):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            self.add_loss(fk.ops.sum(self.w) * 0.0 + 1.5)
            return fk.ops.matmul(inputs, self.w) + self.b

    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = [Linear(3), Linear(1)]
            self.scale = fk.Variable(2.0)

        def call(self, x):
            return self.inner[1](self.inner[0](x)) * self.scale

    blk = Block()
    y = blk(np.ones((4, 5), "float32"))
    assert y.shape == (4, 1)
    assert len(blk.trainable_weights) == 5  # 2 + 2 + the tracked Variable
    assert [float(v) for v in blk.losses] == [1.5, 1.5]
    with fk.GradientTape() as tape:
        loss = fk.ops.sum(blk(np.ones((4, 5), "float32")))
    grads = tape.gradient(loss, blk.trainable_weights)
    assert all(g is not None for g in grads)


def test_regularizers_and_activity_regularizer_losses():
    d = layers.Dense(2, kernel_regularizer=fk.regularizers.l1_l2(l1=0.1, l2=0.2),
                     bias_regularizer="l2", activity_regularizer=fk.regularizers.L1(0.5))
    x = np.ones((4, 3), "float32")
    y = d(x)
    k, b = d.get_weights()
    b = np.array([0.5, -1.0], "float32")
    d.set_weights([k, b])
    y = d(x)
    losses = [float(v) for v in d.losses]
    expected = [0.5 * np.abs(y.numpy()).sum() / 4, 0.1 * np.abs(k).sum() + 0.2 * (k ** 2).sum(),
                0.01 * (b ** 2).sum()]
    np.testing.assert_allclose(sorted(losses), sorted(expected), rtol=1e-6)
    # the penalties are differentiable
    with fk.GradientTape() as tape:
        total = fk.ops.sum(fk.ops.stack([fk.ops.convert_to_tensor(v) for v in d.losses[1:]]))
    g = tape.gradient(total, d.kernel).numpy()
    np.testing.assert_allclose(g, 0.1 * np.sign(k) + 0.4 * k, rtol=1e-5)


def test_constraints_project():
    w = np.array([[3.0, 0.1], [4.0, -0.2]])
    np.testing.assert_allclose(fk.constraints.MaxNorm(2.0)(w), w * [2 / (5 + 1e-7), 1.0], rtol=1e-6)
    np.testing.assert_allclose(fk.constraints.UnitNorm()(w),
                               w / (np.linalg.norm(w, axis=0) + 1e-7))
    assert fk.constraints.NonNeg()(w).tolist() == [[3.0, 0.1], [4.0, 0.0]]
    mm = fk.constraints.MinMaxNorm(1.0, 2.0, rate=0.5)(w)
    n = np.linalg.norm(w, axis=0)
    np.testing.assert_allclose(mm, w * (0.5 * np.clip(n, 1, 2) + 0.5 * n) / (1e-7 + n))
    # an optimizer applies a layer's constraint after each step
    d = layers.Dense(2, kernel_constraint=fk.constraints.NonNeg())
    d(np.ones((1, 2), "float32"))
    d.kernel.assign(-np.ones((2, 2)))
    opt = fk.optimizers.SGD(0.1)
    opt.apply_gradients([(np.zeros((2, 2), "float32"), d.kernel)])
    assert (d.kernel.numpy() >= 0).all()


@pytest.mark.parametrize("name,std,limit", [
    ("glorot_uniform", None, np.sqrt(6 / (200 + 300))),
    ("he_uniform", None, np.sqrt(6 / 200)),
    ("lecun_uniform", None, np.sqrt(3 / 200)),
    ("glorot_normal", np.sqrt(2 / 500), None),
    ("he_normal", np.sqrt(2 / 200), None),
    ("lecun_normal", np.sqrt(1 / 200), None),
])
def test_variance_scaling_statistics(name, std, limit):
    v = fk.initializers.get(name)((200, 300))
    assert v.dtype == np.float32 and v.shape == (200, 300)
    if limit is not None:
        assert np.abs(v).max() <= limit and np.abs(v).max() > 0.99 * limit
        np.testing.assert_allclose(v.std(), limit / np.sqrt(3), rtol=0.02)
    else:
        np.testing.assert_allclose(v.std(), std, rtol=0.02)
        assert np.abs(v).max() <= 2 * std / 0.87962566103423978 + 1e-6  # truncated at 2 sigma


def test_initializers_misc_and_seeds():
    I = fk.initializers
    q = I.Orthogonal(gain=2.0, seed=1)((6, 4))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    assert I.Identity()((3, 3)).tolist() == np.eye(3).tolist()
    assert I.Constant(0.5)((2,)).tolist() == [0.5, 0.5]
    a, b = I.GlorotUniform(seed=3)((4, 4)), I.GlorotUniform(seed=3)((4, 4))
    np.testing.assert_array_equal(a, b)  # a seeded initializer repeats
    fk.utils.set_random_seed(7)
    x1 = layers.Dense(3)(np.ones((1, 2), "float32")).numpy()
    fk.utils.set_random_seed(7)
    x2 = layers.Dense(3)(np.ones((1, 2), "float32")).numpy()
    np.testing.assert_array_equal(x1, x2)
    tn = I.TruncatedNormal(stddev=1.0, seed=0)((10000,))
    assert np.abs(tn).max() <= 2.0
    assert I.get("ones")((2,), dtype="float64").dtype == np.float64
    with pytest.raises(ValueError, match="Unknown initializer"):
        I.get("nope")
    with pytest.raises(ValueError, match="Orthogonal"):
        I.Orthogonal()((3,))


def test_variables_are_c_ordered_whatever_the_initializer_returns():
    """Orthogonal with rows < columns builds a transposed array; the variable (and every
    assignment) must still be C-ordered, as the fused optimizer kernels require. Found
    training an LSTM (its recurrent kernel is (units, 4 units)) with any optimizer."""
    q = fk.initializers.Orthogonal(seed=1)((4, 16))
    v = fk.Variable(q)
    assert v._value.flags.c_contiguous
    v.assign(np.asfortranarray(np.ones((4, 16))))
    assert v._value.flags.c_contiguous
    fk.utils.set_random_seed(1)
    m = fk.Sequential([layers.Input((5, 3)), layers.LSTM(4), layers.Dense(2)])
    m.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(12, 5, 3)).astype(np.float32)
    before = [w.copy() for w in m.get_weights()]
    m.fit(x, np.zeros((12, 2), np.float32), epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_to_categorical():
    y = fk.utils.to_categorical([0, 2, 1], num_classes=3)
    assert y.dtype == np.float32 and y.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert fk.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    with pytest.raises(ValueError, match="out of range"):
        fk.utils.to_categorical([3], num_classes=3)
    with pytest.raises(ValueError, match=">= 0"):
        fk.utils.to_categorical([-1])


def test_dropout_training_flag():
    d = layers.Dropout(0.5, seed=1)
    x = np.ones((1000,), "float32")
    assert d(x).numpy().tolist() == x.tolist()
    y = d(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 400 < (y == 0).sum() < 600
    with layers.base.training_mode(True):
        assert (d(x).numpy() == 0).any()


def test_get_config_round_trip():
    for layer in [layers.Dense(3, activation="relu", kernel_regularizer="l2"),
                  layers.Conv2D(4, 3, strides=2, padding="same"),
                  layers.LSTM(5, return_sequences=True),
                  layers.BatchNormalization(momentum=0.9),
                  layers.Dropout(0.2), layers.Reshape((2, -1)),
                  layers.MaxPooling2D(3), layers.Embedding(10, 4)]:
        cfg = layer.get_config()
        clone = type(layer).from_config(cfg)
        assert clone.get_config() == cfg


def test_activation_lookup():
    assert fk.activations.get("relu") is fk.activations.relu
    assert fk.activations.get(None) is fk.activations.linear
    assert fk.activations.serialize(fk.activations.gelu) == "gelu"
    with pytest.raises(ValueError, match="Unknown activation function: 'relu7'"):
        layers.Dense(2, activation="relu7")


def test_bad_input_names_layer_and_argument():
    d = layers.Dense(3, name="head")
    d(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="head.*expected axis -1 of input shape to have value 4"):
        d(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match="expected min_ndim=2"):
        layers.Dense(2)(np.zeros(3, "float32"))
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="`rate` must be in"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.LSTM(2)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="larger than"):
        layers.Conv2D(2, 5)(np.zeros((1, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="indices must be in"):
        layers.Embedding(5, 2)(np.array([[5]]))
    with pytest.raises(ValueError, match="Reshape"):
        layers.Reshape((5,))(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="list of at least 2"):
        layers.Add()(np.zeros((2, 3), "float32"))
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(2, unitz=3)
    with pytest.raises(ValueError, match="Concatenate"):
        layers.Concatenate()([fk.Input(shape=(2, 3)), fk.Input(shape=(4, 5))])
