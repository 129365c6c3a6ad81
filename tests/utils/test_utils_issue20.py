"""Issue 20 utilities against Keras 3 / tf.keras on the same inputs: keras.backend (Keras
3's names and the tf.keras 2 functions), keras.config additions, pad_sequences (Keras' own
unit-test cases), normalize, split_dataset, timeseries_dataset_from_array (Keras' unit-test
cases, NumPy batches usable by fit) and the keras.preprocessing aliases."""
import inspect
import json
import random

import numpy as np
import pytest

import fastkeras as keras
from fastkeras import ops


def _np(x):
    return np.asarray(x)


# ============================================================== keras.backend (Keras 3)
KERAS3_BACKEND = ["backend", "clear_session", "epsilon", "set_epsilon", "floatx",
                  "set_floatx", "image_data_format", "set_image_data_format",
                  "is_keras_tensor", "standardize_dtype", "result_type", "is_float_dtype",
                  "is_int_dtype", "get_uid"]


def test_backend_has_keras3_names(tf):
    import keras as k3

    theirs = {n for n in dir(k3.backend) if not n.startswith("_")}
    assert theirs == set(KERAS3_BACKEND)
    for name in KERAS3_BACKEND:
        assert callable(getattr(keras.backend, name)), name
    assert set(KERAS3_BACKEND) <= set(keras.backend.__all__)


def test_backend_name_and_settings(tf):
    assert keras.backend.backend() == keras.config.backend() == "fastkeras"
    assert keras.backend.epsilon() == tf.keras.backend.epsilon() == 1e-7
    assert keras.backend.floatx() == tf.keras.backend.floatx() == "float32"
    assert keras.backend.image_data_format() == tf.keras.backend.image_data_format() == \
        keras.config.image_data_format() == "channels_last"
    keras.backend.set_epsilon(1e-5)
    try:
        assert keras.backend.epsilon() == keras.config.epsilon() == 1e-5
    finally:
        keras.backend.set_epsilon(1e-7)
    keras.backend.set_floatx("float64")
    try:
        assert keras.config.floatx() == "float64"
    finally:
        keras.backend.set_floatx("float32")
    keras.backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="`data_format` argument must be one of"):
        keras.backend.set_image_data_format("channels_middle")
    with pytest.raises(ValueError, match="`data_format` argument must be one of"):
        tf.keras.backend.set_image_data_format("channels_middle")
    with pytest.raises(NotImplementedError, match="`data_format`"):
        keras.config.set_image_data_format("channels_first")


@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int8", "uint16", "bool",
                                   "bfloat16", "string", np.float64, np.int32, bool, int,
                                   float, str, "int", np.dtype("uint8"), "complex64"])
def test_standardize_dtype_equals_keras(tf, dtype):
    assert keras.backend.standardize_dtype(dtype) == tf.keras.backend.standardize_dtype(dtype)
    d = keras.backend.standardize_dtype(dtype)
    assert keras.backend.is_float_dtype(d) == tf.keras.backend.is_float_dtype(d)
    assert keras.backend.is_int_dtype(d) == tf.keras.backend.is_int_dtype(d)


def test_standardize_dtype_errors(tf):
    for bad in ("float", "foo", 3):
        with pytest.raises(ValueError, match="Invalid dtype"):
            keras.backend.standardize_dtype(bad)
        with pytest.raises(ValueError, match="Invalid dtype"):
            tf.keras.backend.standardize_dtype(bad)


RESULT_TYPE_CASES = [
    (), ("int32", "float32"), ("int8", "uint8"), ("uint8", "int16"), ("int32", "int64"),
    ("bfloat16", int), ("bfloat16", float), ("float16", "bfloat16"), ("int64", float),
    ("bool", int), ("bool", "bool"), ("int8", int), ("uint32", "int32"), ("uint64", "int8"),
    (int, float), (int, int), (float,), (int,), ("complex64", int), ("float64", "int8"),
    ("float16", "float32", "int64"), (None, "int32"), ("uint16", "float16"),
    ("complex64", "float64"),
]


@pytest.mark.parametrize("dtypes", RESULT_TYPE_CASES)
def test_result_type_equals_keras(tf, dtypes):
    assert keras.backend.result_type(*dtypes) == tf.keras.backend.result_type(*dtypes)


def test_result_type_follows_floatx(tf):
    keras.config.set_floatx("float64")
    tf.keras.backend.set_floatx("float64")
    try:
        for dtypes in [(int, float), (float,), ("bool", float), ()]:
            assert keras.backend.result_type(*dtypes) == \
                tf.keras.backend.result_type(*dtypes)
    finally:
        keras.config.set_floatx("float32")
        tf.keras.backend.set_floatx("float32")


def test_result_type_errors(tf):
    with pytest.raises(ValueError, match="float8"):
        keras.backend.result_type("float8_e4m3fn", "float32")
    with pytest.raises(ValueError, match="Invalid dtype"):
        keras.backend.result_type("nope")


def test_is_keras_tensor(tf):
    x = keras.Input((3,))
    assert keras.backend.is_keras_tensor(x) and keras.backend.is_keras_tensor(
        keras.layers.Dense(2)(x))
    assert not keras.backend.is_keras_tensor(np.zeros(2))
    assert not keras.backend.is_keras_tensor(ops.zeros((2,)))
    assert tf.keras.backend.is_keras_tensor(tf.keras.Input((3,)))
    assert not tf.keras.backend.is_keras_tensor(np.zeros(2))


def test_get_uid_and_clear_session_as_keras(tf):
    def sequence(k):
        k.backend.clear_session()
        first = k.layers.Dense(2).name
        uids = [k.backend.get_uid("dense"), k.backend.get_uid("dense"),
                k.backend.get_uid("my_prefix")]
        after = k.layers.Dense(2).name
        k.backend.clear_session()
        again = k.layers.Dense(2).name
        return first, uids, after, again, k.backend.get_uid("")

    assert sequence(keras) == sequence(tf.keras) == \
        ("dense", [2, 3, 1], "dense_3", "dense", 1)
    keras.utils.clear_session(free_memory=False)
    assert keras.layers.Dense(1).name == "dense"
    assert inspect.signature(keras.backend.clear_session).parameters["free_memory"].default


# ============================================================== keras.backend (tf.keras 2)
def test_int_shape_ndim_dtype_learning_phase(tf):
    K, TK = keras.backend, tf.keras.backend
    x = np.zeros((2, 3), "float32")
    assert K.int_shape(x) == TK.int_shape(x) == (2, 3)
    assert K.int_shape(keras.Input((3,))) == TK.int_shape(tf.keras.Input((3,))) == (None, 3)
    assert K.int_shape(ops.zeros((4,))) == (4,)
    assert K.ndim(ops.zeros((2, 3, 4))) == TK.ndim(tf.zeros((2, 3, 4))) == 3
    assert K.dtype(ops.zeros((2,))) == TK.dtype(tf.zeros((2,))) == "float32"
    assert K.count_params(ops.zeros((2, 3))) == TK.count_params(tf.zeros((2, 3))) == 6
    np.testing.assert_array_equal(_np(K.shape(x)), TK.shape(x).numpy())
    assert K.shape(x).dtype == TK.shape(x).dtype.as_numpy_dtype
    assert K.learning_phase() == 0
    K.set_learning_phase(1)
    try:
        assert K.learning_phase() == 1
    finally:
        K.set_learning_phase(0)
    with pytest.raises(ValueError, match="learning phase"):
        K.set_learning_phase(2)


def test_variables_and_values(tf):
    K, TK = keras.backend, tf.keras.backend
    v = K.variable(np.ones((2, 2)))
    tv = TK.variable(np.ones((2, 2)))
    assert v.dtype == tv.dtype.as_numpy_dtype == np.float32
    K.set_value(v, [[1, 2], [3, 4]])
    TK.set_value(tv, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(K.get_value(v), TK.get_value(tv))
    K.batch_set_value([(v, np.zeros((2, 2)))])
    assert K.batch_get_value([v])[0].tolist() == [[0, 0], [0, 0]]
    K.update_add(v, np.ones((2, 2)))
    K.update_sub(v, 0.5 * np.ones((2, 2)))
    assert K.eval(v).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    K.update(v, np.full((2, 2), 3.0))
    assert K.get_value(v).tolist() == [[3, 3], [3, 3]]
    for ours, theirs in [(K.zeros((2, 3)), TK.zeros((2, 3))), (K.ones((2,)), TK.ones((2,))),
                         (K.eye(3), TK.eye(3)), (K.constant([1, 2]), TK.constant([1, 2])),
                         (K.arange(5), TK.arange(5)), (K.arange(-3), TK.arange(-3)),
                         (K.arange(1, 7, 2), TK.arange(1, 7, 2))]:
        np.testing.assert_array_equal(_np(ours), np.asarray(theirs))
        assert _np(ours).dtype == np.asarray(theirs).dtype
    assert isinstance(K.zeros((2, 2)), keras.Variable)
    assert K.cast_to_floatx([1, 2]).dtype == TK.cast_to_floatx([1, 2]).dtype
    assert not K.is_sparse(ops.zeros((2,)))
    with K.name_scope("block"):
        pass


X = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
X3 = np.random.default_rng(2).normal(size=(2, 3, 4)).astype("float32")
P = np.random.default_rng(3).uniform(0.05, 0.95, size=(3, 4)).astype("float32")
T = (np.random.default_rng(4).uniform(size=(3, 4)) > 0.5).astype("float32")
ONEHOT = np.eye(4, dtype="float32")[[0, 2, 3]]

LEGACY_CASES = [
    ("abs", (X,), {}), ("all", (X > 0,), {"axis": 1}), ("any", (X > 0,), {}),
    ("argmax", (X,), {}), ("argmin", (X,), {"axis": 0}), ("clip", (X, -0.5, 0.5), {}),
    ("clip", (X, 0.5, -0.5), {}), ("cos", (X,), {}), ("sin", (X,), {}), ("exp", (X,), {}),
    ("log", (P,), {}), ("pow", (P, 3), {}), ("round", (X * 3,), {}), ("sign", (X,), {}),
    ("sqrt", (X,), {}), ("square", (X,), {}), ("maximum", (X, P), {}),
    ("minimum", (X, P), {}), ("equal", (X, X), {}), ("not_equal", (X, P), {}),
    ("greater", (X, P), {}), ("greater_equal", (X, P), {}), ("less", (X, P), {}),
    ("less_equal", (X, P), {}), ("cumsum", (X,), {"axis": 1}), ("cumsum", (X,), {}),
    ("max", (X,), {"axis": 1, "keepdims": True}), ("min", (X,), {}),
    ("mean", (X,), {"axis": 0}), ("mean", (X > 0,), {}), ("sum", (X,), {"axis": -1}),
    ("prod", (P,), {"axis": 1}), ("std", (X,), {"axis": 1}), ("var", (X,), {}),
    ("reshape", (X, (2, 6)), {}), ("flatten", (X3,), {}), ("batch_flatten", (X3,), {}),
    ("expand_dims", (X,), {}), ("expand_dims", (X, 0), {}), ("squeeze", (X[:1],), {"axis": 0}),
    ("stack", ([X, P],), {}), ("stack", ([X, P],), {"axis": 1}),
    ("concatenate", ([X, P],), {}), ("concatenate", ([X, P],), {"axis": 0}),
    ("transpose", (X,), {}), ("permute_dimensions", (X3, (2, 0, 1)), {}),
    ("tile", (X, (2, 1)), {}), ("tile", (X[0], 3), {}), ("repeat", (X, 3), {}),
    ("repeat_elements", (X, 2, 1), {}), ("gather", (X, [2, 0]), {}),
    ("one_hot", (np.array([0, 2, 1]), 3), {}), ("dot", (X, Y), {}),
    ("dot", (X3, Y), {}), ("dot", (X3, np.ones((3, 4, 2), "float32")), {}),
    ("batch_dot", (X3, np.ones((2, 4, 5), "float32")), {}),
    ("batch_dot", (X3, np.ones((2, 3, 5), "float32")), {"axes": (1, 1)}),
    ("batch_dot", (X, P), {"axes": 1}), ("batch_dot", (X[:, None, :], P[:, :, None]), {}),
    ("l2_normalize", (X,), {"axis": 1}), ("l2_normalize", (X,), {}),
    ("relu", (X,), {}), ("relu", (X,), {"alpha": 0.1}), ("relu", (X,), {"max_value": 0.5}),
    ("relu", (X,), {"alpha": 0.1, "max_value": 1.0, "threshold": 0.2}),
    ("elu", (X,), {}), ("elu", (X,), {"alpha": 0.5}), ("sigmoid", (X,), {}),
    ("hard_sigmoid", (X * 4,), {}), ("tanh", (X,), {}), ("softmax", (X,), {}),
    ("softmax", (X3,), {"axis": 1}), ("softplus", (X,), {}), ("softsign", (X,), {}),
    ("binary_crossentropy", (T, P), {}), ("binary_crossentropy", (T, X), {"from_logits": True}),
    ("categorical_crossentropy", (ONEHOT, P), {}),
    ("categorical_crossentropy", (ONEHOT, X), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (np.array([0, 2, 3]), P / P.sum(1, keepdims=True)), {}),
    ("sparse_categorical_crossentropy", (np.array([[0], [2], [3]]), X), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (np.array([[0, 1, 2, 1], [2, 1, 0, 0]]), X3 ** 2),
     {"axis": 1}),
    ("switch", (X > 0, X, P), {}), ("switch", (X3[..., 0] > 0, X3, 2 * X3), {}),
    ("stop_gradient", (X,), {}), ("cast", (X, "int32"), {}), ("zeros_like", (X,), {}),
    ("ones_like", (X,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", LEGACY_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LEGACY_CASES)])
def test_tf_keras2_backend_functions_equal_tf_keras(tf, name, args, kwargs):
    def to_tf(a):  # tf.keras 2's functions take tensors
        if isinstance(a, np.ndarray):
            return tf.constant(a)
        if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
            return [tf.constant(v) for v in a]
        return a

    ours = getattr(keras.backend, name)(*args, **kwargs)
    theirs = getattr(tf.keras.backend, name)(*[to_tf(a) for a in args], **kwargs)
    theirs = np.asarray(theirs)
    ours = _np(ours)
    assert ours.shape == theirs.shape
    if theirs.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)


def test_switch_with_a_scalar_condition_and_callables(tf):
    K = keras.backend
    assert K.switch(True, lambda: 1.0, lambda: 2.0) == 1.0
    np.testing.assert_array_equal(_np(K.switch(np.array(False), X, P)), P)
    with pytest.raises(ValueError, match="Rank of `condition`"):
        K.switch(np.ones((3, 4, 1), bool), X, P)


def test_backend_errors_name_the_argument(tf):
    K = keras.backend
    with pytest.raises(ValueError, match="1D"):
        K.softmax(np.ones(3, "float32"))
    with pytest.raises(ValueError, match="rank 2"):
        K.repeat(X3, 2)
    with pytest.raises(ValueError, match="batch_dot"):
        K.batch_dot(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="batch_dot"):
        K.batch_dot(X3, np.ones((2, 5, 5), "float32"))


def test_backend_functions_are_differentiable():
    K = keras.backend
    x = keras.Variable(np.array([[0.3, -1.2, 2.0]]), dtype="float64")
    with keras.GradientTape() as tape:
        y = K.sum(K.square(K.relu(x)) + K.mean(K.exp(x), axis=-1, keepdims=True))
    g = _np(tape.gradient(y, x))
    xv = _np(x)
    np.testing.assert_allclose(g, 2 * np.maximum(xv, 0) + np.exp(xv))


def test_backend_random_functions(tf):
    K = keras.backend
    assert K.random_normal((2, 3), seed=1).shape == (2, 3)
    np.testing.assert_array_equal(_np(K.random_uniform((4,), seed=2)),
                                  _np(keras.random.uniform((4,), seed=2)))
    b = _np(K.random_bernoulli((2000,), p=0.3, seed=3))
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.05
    t = _np(K.truncated_normal((500,), seed=4))
    assert np.abs(t).max() <= 2
    d = _np(K.dropout(np.ones((50, 50), "float32"), 0.5, seed=5))
    assert set(np.unique(d)) == {0.0, 2.0}


# ============================================================== pad_sequences (Keras' tests)
def test_pad_sequences_keras_cases(tf):
    pad = keras.utils.pad_sequences
    a = [[1], [1, 2], [1, 2, 3]]
    assert pad(a, maxlen=3, padding="pre").tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3]]
    assert pad(a, maxlen=3, padding="post").tolist() == [[1, 0, 0], [1, 2, 0], [1, 2, 3]]
    assert pad(a, maxlen=2, truncating="pre").tolist() == [[0, 1], [1, 2], [2, 3]]
    assert pad(a, maxlen=2, truncating="post").tolist() == [[0, 1], [1, 2], [1, 2]]
    assert pad(a, maxlen=3, value=1).tolist() == [[1, 1, 1], [1, 1, 2], [1, 2, 3]]
    assert pad(a).dtype == np.int32


def test_pad_sequences_float_keras_cases():
    pad = keras.utils.pad_sequences
    a = [[1.2], [1.2, 2.3], [1.2, 2.3, 3.4]]
    for kwargs, expected in [
            (dict(padding="pre"), [[0, 0, 1.2], [0, 1.2, 2.3], [1.2, 2.3, 3.4]]),
            (dict(padding="post"), [[1.2, 0, 0], [1.2, 2.3, 0], [1.2, 2.3, 3.4]]),
            (dict(maxlen=2, truncating="pre"), [[0, 1.2], [1.2, 2.3], [2.3, 3.4]]),
            (dict(maxlen=2, truncating="post"), [[0, 1.2], [1.2, 2.3], [1.2, 2.3]]),
            (dict(value=1), [[1, 1, 1.2], [1, 1.2, 2.3], [1.2, 2.3, 3.4]])]:
        kwargs.setdefault("maxlen", 3)
        b = pad(a, dtype="float32", **kwargs)
        assert b.dtype == np.float32
        np.testing.assert_allclose(b, expected, rtol=1e-6)


def test_pad_sequences_str_keras_cases():
    pad = keras.utils.pad_sequences
    a = [["1"], ["1", "2"], ["1", "2", "3"]]
    assert pad(a, maxlen=3, padding="pre", value="pad", dtype=object).tolist() == \
        [["pad", "pad", "1"], ["pad", "1", "2"], ["1", "2", "3"]]
    assert pad(a, maxlen=3, padding="post", value="pad", dtype="<U3").tolist() == \
        [["1", "pad", "pad"], ["1", "2", "pad"], ["1", "2", "3"]]
    assert pad(a, maxlen=2, truncating="pre", value="pad", dtype=object).tolist() == \
        [["pad", "1"], ["1", "2"], ["2", "3"]]
    assert pad(a, maxlen=2, truncating="post", value="pad", dtype="<U3").tolist() == \
        [["pad", "1"], ["1", "2"], ["1", "2"]]
    with pytest.raises(ValueError, match="`dtype` int32 is not compatible with "):
        pad(a, maxlen=2, truncating="post", value="pad")


def test_pad_sequences_vector_keras_cases():
    pad = keras.utils.pad_sequences
    a = [[[1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]
    assert pad(a, maxlen=3, padding="pre").tolist() == \
        [[[0, 0], [0, 0], [1, 1]], [[0, 0], [2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]
    assert pad(a, maxlen=3, padding="post").tolist() == \
        [[[1, 1], [0, 0], [0, 0]], [[2, 1], [2, 2], [0, 0]], [[3, 1], [3, 2], [3, 3]]]
    assert pad(a, maxlen=2, truncating="pre").tolist() == \
        [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 2], [3, 3]]]
    assert pad(a, maxlen=2, truncating="post").tolist() == \
        [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2]]]
    assert pad(a, maxlen=3, value=1).tolist() == \
        [[[1, 1], [1, 1], [1, 1]], [[1, 1], [2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]


def test_pad_sequences_equals_keras_on_random_cases(tf):
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(1, 50, size=rng.integers(0, 12))) for _ in range(30)]
    seqs.append(np.arange(1, 15))  # arrays too
    for kwargs in [{}, {"maxlen": 5}, {"maxlen": 20, "padding": "post"},
                   {"maxlen": 4, "truncating": "post", "value": -1},
                   {"dtype": "float64", "value": 0.5}]:
        ours = keras.utils.pad_sequences(seqs, **kwargs)
        theirs = tf.keras.utils.pad_sequences(seqs, **kwargs)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    # maxlen=0 (Keras 3.15 raises: s[-0:] keeps the whole sequence): an empty array
    assert keras.utils.pad_sequences(seqs, maxlen=0).shape == (len(seqs), 0)


def test_pad_sequences_errors(tf):
    pad = keras.utils.pad_sequences
    with pytest.raises(ValueError, match="`sequences` must be iterable"):
        pad(5)
    with pytest.raises(ValueError, match="list of iterables"):
        pad([[1], 2])
    with pytest.raises(ValueError, match="`padding`"):
        pad([[1]], padding="middle")
    with pytest.raises(ValueError, match="`truncating`"):
        pad([[1]], truncating="middle")
    with pytest.raises(ValueError, match="`maxlen`"):
        pad([[1]], maxlen=-1)
    with pytest.raises(ValueError, match="Shape of sample"):
        pad([[[1, 1]], [[1, 1, 1]]])
    with pytest.raises(ValueError, match="Shape of sample"):
        tf.keras.utils.pad_sequences([[[1, 1]], [[1, 1, 1]]])


def test_pad_sequences_aliases():
    assert keras.preprocessing.sequence.pad_sequences is keras.utils.pad_sequences


# ============================================================== normalize
def test_normalize_equals_keras(tf):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[1] = 0
    for kwargs in [{}, {"order": 1}, {"order": 3}, {"axis": 1}, {"axis": -1, "order": 2}]:
        ours = keras.utils.normalize(x, **kwargs)
        theirs = tf.keras.utils.normalize(x, **kwargs)
        assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    x32 = x.astype("float32")
    assert keras.utils.normalize(x32).dtype == tf.keras.utils.normalize(x32).dtype
    # lists / tensors: Keras' ops.normalize (epsilon-clamped)
    lst = [[3.0, 4.0], [0.0, 0.0], [1e-9, 0.0]]
    for kwargs in [{}, {"order": 1}, {"order": 3}, {"axis": 0}]:
        ours = keras.utils.normalize(lst, **kwargs)
        theirs = tf.keras.utils.normalize(lst, **kwargs)
        assert isinstance(ours, keras.Tensor)
        np.testing.assert_allclose(_np(ours), np.asarray(theirs), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="`order` must be an int >= 1"):
        keras.utils.normalize([[1.0, 2.0]], order=0)


def test_normalize_along_the_given_axis():
    # deliberate difference: Keras 3.15's NumPy path re-inserts the norm at the last axis
    x = np.array([[3.0, 4.0], [4.0, 3.0]])
    np.testing.assert_allclose(keras.utils.normalize(x, axis=0),
                               x / np.linalg.norm(x, axis=0, keepdims=True))
    v = keras.utils.normalize(np.array([3.0, 4.0]))
    assert v.shape == (2,) and v.tolist() == [0.6, 0.8]


# ============================================================== split_dataset
def _tf_split(tf, dataset, **kwargs):
    left, right = tf.keras.utils.split_dataset(dataset, **kwargs)

    def stack(ds):
        items = [tuple(np.asarray(t) for t in e) if isinstance(e, tuple) else np.asarray(e)
                 for e in ds]
        if isinstance(items[0], tuple):
            return tuple(np.stack(col) for col in zip(*items))
        return np.stack(items)
    return stack(left), stack(right)


@pytest.mark.parametrize("kwargs", [dict(left_size=0.8), dict(right_size=3),
                                    dict(left_size=4, right_size=3), dict(left_size=0.25),
                                    dict(left_size=0.6, shuffle=True, seed=7),
                                    dict(right_size=0.3, shuffle=True, seed=123)])
def test_split_dataset_equals_keras(tf, kwargs):
    x = np.arange(40, dtype="float32").reshape(10, 4)
    y = np.arange(10)
    for data in (x, (x, y), [x, y]):
        ours = keras.utils.split_dataset(data, **kwargs)
        theirs = _tf_split(tf, data, **kwargs)
        for o, t in zip(ours, theirs):
            if isinstance(t, tuple):
                assert isinstance(o, tuple) and len(o) == len(t)
                for oa, ta in zip(o, t):
                    np.testing.assert_array_equal(oa, ta)
            else:
                np.testing.assert_array_equal(o, t)


def test_split_dataset_output_trains():
    x = np.random.default_rng(0).normal(size=(50, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    (xl, yl), (xr, yr) = keras.utils.split_dataset((x, y), left_size=0.8, shuffle=True,
                                                   seed=1)
    assert xl.shape == (40, 3) and xr.shape == (10, 3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    h = model.fit(xl, yl, validation_data=(xr, yr), epochs=2, verbose=0)
    assert np.isfinite(h.history["val_loss"]).all()


def test_split_dataset_errors(tf):
    x = np.zeros((10, 2))
    for kwargs, exc, pattern in [
            ({}, ValueError, "At least one of the `left_size` or `right_size`"),
            (dict(left_size=1.5), ValueError, "`left_size` should be either"),
            (dict(left_size=10), ValueError, "`left_size` should be either"),
            (dict(right_size=-1), ValueError, "`right_size` should be either"),
            (dict(left_size=0.6, right_size=0.6), ValueError, "greater than 1"),
            (dict(left_size="a"), TypeError, "`left_size`"),
            (dict(left_size=0.01), ValueError, "will be empty")]:
        with pytest.raises(exc, match=pattern):
            keras.utils.split_dataset(x, **kwargs)
        with pytest.raises(exc, match=pattern):
            tf.keras.utils.split_dataset(x, **kwargs)
    with pytest.raises(ValueError, match="different lengths"):
        keras.utils.split_dataset((np.zeros(3), np.zeros(4)), left_size=1)
    with pytest.raises(ValueError, match="`numpy.ndarray`"):
        keras.utils.split_dataset([[1, 2, 3]], left_size=1)
    with pytest.raises(TypeError, match="`dataset`"):
        keras.utils.split_dataset({"a": x}, left_size=1)


# ============================================================== timeseries_dataset_from_array
ts = keras.utils.timeseries_dataset_from_array


def test_timeseries_basics_keras_case():
    data = np.arange(100)
    dataset = ts(data, data * 2, sequence_length=9, batch_size=5)
    batches = list(dataset)
    assert len(batches) == len(dataset) == 19
    for i, (inputs, targets) in enumerate(batches):
        assert inputs.shape == ((5, 9) if i < 18 else (2, 9))
        np.testing.assert_array_equal(inputs[:, 0] * 2, targets)
        for j in range(len(inputs)):
            np.testing.assert_array_equal(inputs[j], np.arange(i * 5 + j, i * 5 + j + 9))


def test_timeseries_regression_keras_case():
    data = np.arange(10)
    batches = list(ts(data, data[3:], sequence_length=3, batch_size=1))
    assert len(batches) == 7
    for i, (inputs, targets) in enumerate(batches):
        assert inputs.shape == (1, 3)
        assert targets[0] == data[3 + i]
        np.testing.assert_array_equal(inputs[0], data[i:i + 3])


def test_timeseries_no_targets_sampling_rate_stride_keras_cases():
    batches = list(ts(np.arange(50), None, sequence_length=10, batch_size=5))
    assert len(batches) == 9 and batches[-1].shape == (1, 10)
    for i, batch in enumerate(batches):
        for j in range(len(batch)):
            np.testing.assert_array_equal(batch[j], np.arange(i * 5 + j, i * 5 + j + 10))
    data = np.arange(100)
    batches = list(ts(data, data * 2, sequence_length=9, batch_size=5, sampling_rate=2))
    assert len(batches) == 17 and batches[16][0].shape == (4, 9)
    for i, (inputs, targets) in enumerate(batches):
        np.testing.assert_array_equal(inputs[:, 0] * 2, targets)
        for j in range(len(inputs)):
            np.testing.assert_array_equal(inputs[j], np.arange(i * 5 + j, i * 5 + j + 18, 2))
    batches = list(ts(data, data * 2, sequence_length=9, batch_size=5, sequence_stride=3))
    assert len(batches) == 7 and batches[6][0].shape == (1, 9)
    for i, (inputs, _) in enumerate(batches):
        for j in range(len(inputs)):
            s = i * 15 + j * 3
            np.testing.assert_array_equal(inputs[j], np.arange(s, s + 9))
    for batch in ts(data, None, sequence_length=9, batch_size=5, sequence_stride=3,
                    sampling_rate=2, start_index=10, end_index=90):
        assert batch.max() < 90 and batch.min() > 9
    single = list(ts(data, None, sequence_length=9, batch_size=None))
    assert single[0].shape == (9,) and len(single) == 92


@pytest.mark.parametrize("kwargs", [
    dict(sequence_length=9, batch_size=5),
    dict(sequence_length=7, batch_size=4, sampling_rate=3, sequence_stride=2),
    dict(sequence_length=5, batch_size=8, start_index=10, end_index=80),
    dict(sequence_length=4, batch_size=None, sequence_stride=5),
    dict(sequence_length=6, batch_size=3, start_index=7),
])
def test_timeseries_equals_keras(tf, kwargs):
    data = np.random.default_rng(0).normal(size=(97, 3))
    targets = np.arange(97) * 10
    for t in (targets, None):
        ours = list(ts(data, t, **kwargs))
        theirs = list(tf.keras.utils.timeseries_dataset_from_array(data, t, **kwargs))
        assert len(ours) == len(theirs)
        for o, th in zip(ours, theirs):
            o = o if isinstance(o, tuple) else (o,)
            th = th if isinstance(th, tuple) else (th,)
            for a, b in zip(o, th):
                assert a.dtype == b.numpy().dtype
                np.testing.assert_array_equal(a, b.numpy())


def test_timeseries_shuffle(tf):
    data = np.arange(10)
    ds = ts(data, data * 2, sequence_length=5, batch_size=1, shuffle=True, seed=123)
    (x, y), = ds.take(1)
    assert not np.array_equal(x[0], np.arange(5))
    np.testing.assert_array_equal(x[:, 0] * 2, y)
    # a new pass draws a new order (tf.data reshuffles each iteration)
    orders = [tuple(b[0][0, 0] for b in ds) for _ in range(4)]
    assert len(set(orders)) > 1
    again = ts(data, data * 2, sequence_length=5, batch_size=1, shuffle=True, seed=123)
    np.testing.assert_array_equal(again.take(1)[0][0], x)
    # the same windows as Keras', only grouped differently
    kw = dict(sequence_length=5, batch_size=2, shuffle=True, seed=3)
    big = np.arange(40)
    ours = np.concatenate([b[0] for b in ts(big, big, **kw)])
    theirs = np.concatenate([b[0].numpy() for b in
                             tf.keras.utils.timeseries_dataset_from_array(big, big, **kw)])
    assert sorted(map(tuple, ours)) == sorted(map(tuple, theirs))


def test_timeseries_dataset_trains_with_fit():
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(300) / 5.0)[:, None].astype("float32") + \
        0.01 * rng.normal(size=(300, 1)).astype("float32")
    train = ts(series[:-10], series[10:, 0], sequence_length=10, batch_size=32)
    model = keras.Sequential([keras.Input((10, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    h = model.fit(train, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3 and h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(ts(series, None, sequence_length=10, batch_size=64),
                         verbose=0).shape == (291, 1)
    assert np.isfinite(model.evaluate(train, verbose=0))
    assert keras.preprocessing.timeseries_dataset_from_array is ts


def test_timeseries_errors_keras_cases():
    for kwargs, pattern in [(dict(start_index=-1), "`start_index` must be "),
                            (dict(start_index=11), "`start_index` must be "),
                            (dict(end_index=-1), "`end_index` must be "),
                            (dict(end_index=11), "`end_index` must be "),
                            (dict(sampling_rate=0), "`sampling_rate` must be "),
                            (dict(sequence_stride=0), "`sequence_stride` must be "),
                            (dict(format="invalid"), "`format` should be"),
                            (dict(batch_size=0), "`batch_size`")]:
        with pytest.raises(ValueError, match=pattern):
            ts(np.arange(10), None, 3, **kwargs)
    with pytest.raises(ValueError, match="`sequence_length`"):
        ts(np.arange(10), None, 0)
    with pytest.raises(ValueError, match="`count`"):
        ts(np.arange(10), None, 3).take(-2)


# ============================================================== keras.preprocessing aliases
def test_preprocessing_names_exist_in_tf_keras(tf):
    for module, names in [("sequence", ["pad_sequences", "TimeseriesGenerator",
                                        "make_sampling_table", "skipgrams"]),
                          ("text", ["Tokenizer", "one_hot", "hashing_trick",
                                    "text_to_word_sequence", "tokenizer_from_json"])]:
        ours = getattr(keras.preprocessing, module)
        theirs = getattr(tf.keras.preprocessing, module)
        for name in names:
            assert hasattr(ours, name) and hasattr(theirs, name), (module, name)
            if callable(getattr(theirs, name)) and not isinstance(getattr(theirs, name), type):
                assert str(inspect.signature(getattr(ours, name))) == \
                    str(inspect.signature(getattr(theirs, name))), name


TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cat and dog: friends?",
         "", "the THE the"]


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 5}, {"oov_token": "<OOV>"},
                                    {"num_words": 4, "oov_token": "<OOV>"},
                                    {"char_level": True}, {"lower": False}])
def test_tokenizer_equals_tf_keras(tf, kwargs):
    ours = keras.preprocessing.text.Tokenizer(**kwargs)
    theirs = tf.keras.preprocessing.text.Tokenizer(**kwargs)
    ours.fit_on_texts(TEXTS)
    theirs.fit_on_texts(TEXTS)
    assert ours.word_index == theirs.word_index
    assert dict(ours.word_counts) == dict(theirs.word_counts)
    assert ours.document_count == theirs.document_count
    new = ["the cat ate the unknown bird", "dog dog dog"]
    seqs = ours.texts_to_sequences(new)
    assert seqs == theirs.texts_to_sequences(new)
    assert ours.sequences_to_texts(seqs) == theirs.sequences_to_texts(seqs)
    for mode in ("binary", "count", "freq", "tfidf"):
        np.testing.assert_allclose(ours.texts_to_matrix(new, mode=mode),
                                   theirs.texts_to_matrix(new, mode=mode))
    # JSON round trips, across libraries too
    assert json.loads(ours.to_json()) == json.loads(theirs.to_json())
    loaded = keras.preprocessing.text.tokenizer_from_json(theirs.to_json())
    assert loaded.texts_to_sequences(new) == seqs and loaded.word_index == ours.word_index
    back = tf.keras.preprocessing.text.tokenizer_from_json(ours.to_json())
    assert back.texts_to_sequences(new) == seqs


def test_tokenizer_fit_on_sequences_and_errors(tf):
    ours = keras.preprocessing.text.Tokenizer(num_words=5)
    theirs = tf.keras.preprocessing.text.Tokenizer(num_words=5)
    for t in (ours, theirs):
        t.fit_on_sequences([[1, 2, 2], [2, 3], [4]])
    assert dict(ours.index_docs) == dict(theirs.index_docs)
    for mode in ("tfidf", "count", "freq", "binary"):
        np.testing.assert_allclose(ours.sequences_to_matrix([[1, 2, 2], [], [4, 9]], mode=mode),
                                   theirs.sequences_to_matrix([[1, 2, 2], [], [4, 9]],
                                                              mode=mode))
    with pytest.raises(ValueError, match="num_words"):
        keras.preprocessing.text.Tokenizer().texts_to_matrix(["a"])
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        keras.preprocessing.text.Tokenizer(bogus=1)
    t = keras.preprocessing.text.Tokenizer(num_words=10)
    t.fit_on_texts(["a b"])
    with pytest.raises(ValueError, match="`mode`"):
        t.texts_to_matrix(["a"], mode="nope")


def test_text_functions_equal_tf_keras(tf):
    text = "Hello, World! Hello again;\tnew\nline"
    T, TT = keras.preprocessing.text, tf.keras.preprocessing.text
    for kwargs in [{}, {"lower": False}, {"split": ","}, {"filters": "!"}]:
        assert T.text_to_word_sequence(text, **kwargs) == TT.text_to_word_sequence(text,
                                                                                    **kwargs)
    assert T.hashing_trick(text, 20, hash_function="md5") == \
        TT.hashing_trick(text, 20, hash_function="md5")
    assert T.one_hot(text, 50) == TT.one_hot(text, 50)  # Python's hash, same process
    assert all(1 <= i < 50 for i in T.one_hot(text, 50))
    with pytest.raises(ValueError, match="`n`"):
        T.hashing_trick(text, 1)


def test_sequence_helpers_equal_tf_keras(tf):
    S, TS = keras.preprocessing.sequence, tf.keras.preprocessing.sequence
    np.testing.assert_allclose(S.make_sampling_table(50), TS.make_sampling_table(50))
    np.testing.assert_allclose(S.make_sampling_table(20, 1e-3),
                               TS.make_sampling_table(20, 1e-3))
    seq = [1, 2, 0, 3, 4, 5, 2]
    table = S.make_sampling_table(6, 0.5)
    for kwargs in [dict(shuffle=False, negative_samples=0), dict(seed=5),
                   dict(categorical=True, seed=1, window_size=2),
                   dict(sampling_table=table, seed=3, negative_samples=2.0)]:
        random.seed(11)
        ours = S.skipgrams(seq, 6, **kwargs)
        random.seed(11)
        theirs = TS.skipgrams(seq, 6, **kwargs)
        assert ours == theirs


@pytest.mark.parametrize("kwargs", [dict(length=3, batch_size=4),
                                    dict(length=5, sampling_rate=2, stride=3, batch_size=2),
                                    dict(length=2, start_index=4, end_index=15, reverse=True,
                                         batch_size=3)])
def test_timeseries_generator_equals_tf_keras(tf, kwargs):
    data = np.arange(40).reshape(20, 2)
    targets = np.arange(20) * 3
    ours = keras.preprocessing.sequence.TimeseriesGenerator(data, targets, **kwargs)
    theirs = tf.keras.preprocessing.sequence.TimeseriesGenerator(data, targets, **kwargs)
    assert len(ours) == len(theirs)
    for i in range(len(ours)):
        for a, b in zip(ours[i], theirs[i]):
            np.testing.assert_array_equal(a, b)
    assert isinstance(ours, keras.utils.PyDataset)
    cfg = json.loads(ours.to_json())["config"]
    assert cfg["length"] == kwargs["length"] and json.loads(cfg["data"]) == data.tolist()


def test_timeseries_generator_trains_and_errors():
    data = np.random.default_rng(0).normal(size=(60, 2)).astype("float32")
    gen = keras.preprocessing.sequence.TimeseriesGenerator(data, data[:, 0], length=5,
                                                           batch_size=8)
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert np.isfinite(model.fit(gen, epochs=1, verbose=0).history["loss"]).all()
    with pytest.raises(ValueError, match="same length"):
        keras.preprocessing.sequence.TimeseriesGenerator(data, data[:5], length=3)
    with pytest.raises(ValueError, match="end_index"):
        keras.preprocessing.sequence.TimeseriesGenerator(data, data, length=3, start_index=50,
                                                         end_index=10)
    with pytest.raises(ValueError, match="`length`"):
        keras.preprocessing.sequence.TimeseriesGenerator(data, data, length=0)


def test_backend_sparse_crossentropy_ignore_class():
    import fastkeras as fk

    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], "float32")
    out = fk.backend.sparse_categorical_crossentropy(np.array([0, 1, 2]), p, ignore_class=1)
    np.testing.assert_allclose(out.numpy(), [-np.log(0.7), 0.0, -np.log(0.6)], rtol=1e-6)
