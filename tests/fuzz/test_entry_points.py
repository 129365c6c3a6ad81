"""Property tests over the public functions that reach the C core: arrays of every NumPy
dtype, shapes with 0, 1 and odd sizes, non-contiguous and read-only layouts, NaN and
infinity, out-of-range labels. Each call either returns the right answer (checked against
NumPy) or raises ValueError / TypeError with a message; never a crash, a hang or a silent
wrong number. The sanitizer run (.ci/sanitize) runs these against an ASan + UBSan build.

FASTKERAS_FUZZ_EXAMPLES=N runs N examples per property (default 40) for a longer campaign;
tests/fuzz/atheris_campaign.py drives the same properties from a coverage-guided fuzzer."""
import numpy as np
import pytest
from hypothesis import strategies as st

import fastkeras as fk
from fastkeras import ops

from ._fuzzing import FLOAT, _refused, arrays, fuzz

def _good_float(a):
    return isinstance(a, np.ndarray) and a.dtype.name in FLOAT


# ----------------------------------------------------------------- activations
def _erf(x):
    from math import erf

    return np.vectorize(lambda v: erf(v) if np.isfinite(v) else np.sign(v) if v == v else v,
                        otypes=[np.float64])(x)


_SIG = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
ACTS = {  # float64 references of every activation kernel kind
    "relu": lambda x: np.where(np.isnan(x), x, np.maximum(x, 0)),
    "relu6": lambda x: np.where(np.isnan(x), x, np.clip(x, 0, 6)),
    "leaky_relu": lambda x: np.where(x > 0, x, np.float32(0.2) * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(
        np.minimum(x, 0))),
    "sigmoid": _SIG,
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),  # NaN at +-inf, as in TensorFlow
    "silu": lambda x: x * _SIG(x),
    "hard_sigmoid": lambda x: np.where(np.isnan(x), x, np.clip(x / 6 + 0.5, 0, 1)),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "log_sigmoid": lambda x: -np.logaddexp(0, -x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
}  # x * f(x) at -inf is NaN here and in TensorFlow


@fuzz(x=arrays(), name=st.sampled_from(sorted(ACTS)))
def test_activations_any_input(x, name):
    fn = getattr(ops, name)
    if name == "gelu":
        fn = lambda v: ops.gelu(v, approximate=False)  # noqa: E731
    try:
        y = fn(x)
    except (ValueError, TypeError) as e:
        assert str(e)
        assert x.dtype.kind not in "fb" or x.dtype.name not in FLOAT, \
            f"{name} refused a {x.dtype} array of shape {x.shape}: {e}"
        return
    assert x.dtype.kind in "biuf", f"{name} accepted dtype {x.dtype}"
    got = np.asarray(y)
    assert got.shape == x.shape
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ref = ACTS[name](x.astype(np.float64))
    ref = np.where(np.abs(ref) < 1e-30, 0.0, ref)
    with np.errstate(invalid="ignore"):  # float16 in, float16 out (computed in float32)
        tol = {np.float64: 1e-12, np.float32: 2e-6}.get(got.dtype.type, 2e-3)
        np.testing.assert_allclose(got.astype(np.float64), ref, rtol=tol, atol=tol,
                                   equal_nan=True, err_msg=f"{name} {x.dtype}")


# ----------------------------------------------------------------- cross-entropy
@fuzz(logits=arrays(min_dims=0, max_dims=3), labels=arrays(min_dims=0, max_dims=2))
def test_sparse_crossentropy_any_input(logits, labels):
    loss = fk.losses.sparse_categorical_crossentropy
    valid = (_good_float(logits) and logits.ndim == 2 and logits.shape[1] >= 1
             and labels.dtype.kind in "iu" and labels.shape == logits.shape[:1]
             and (labels.size == 0 or (labels.min() >= 0 and labels.max() < logits.shape[1])))
    if valid and logits.shape[0] == 0:  # an empty batch is refused, naming y_pred
        with pytest.raises(ValueError, match="`y_pred` is an empty batch"):
            loss(labels, logits, from_logits=True)
        return
    if not valid:
        try:
            out = np.asarray(loss(labels, logits, from_logits=True))
        except (ValueError, TypeError) as e:
            assert str(e)
            return
        # accepted: it must still be the right answer for what it converted
        lf = np.asarray(logits, dtype=np.float64)
        lab = np.asarray(labels).astype(np.int64).reshape(-1)
        assert lf.ndim >= 1 and lab.size == out.size
        return
    out = np.asarray(loss(labels, logits, from_logits=True))
    lf = logits.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.max(lf, axis=1, keepdims=True) if lf.size else lf
        ref = (np.log(np.sum(np.exp(lf - m), axis=1)) + m[:, 0] -
               lf[np.arange(len(lf)), labels.astype(np.int64)]) if lf.size else np.zeros(0)
    finite = np.isfinite(lf).all(axis=1) if lf.size else np.zeros(0, bool)
    tol = 1e-5 if logits.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out[finite], ref[finite], rtol=tol, atol=tol)


def test_huge_logits_stay_finite():
    logits = np.array([[1e30, -1e30, 0.0], [3e38, 3e38, -3e38]], dtype=np.float32)
    out = np.asarray(fk.losses.sparse_categorical_crossentropy(np.array([0, 1]), logits,
                                                               from_logits=True))
    assert np.isfinite(out).all() and out[0] == 0 and abs(out[1] - np.log(2)) < 1e-6


def test_out_of_range_labels_name_the_argument():
    with pytest.raises(ValueError, match="label"):
        fk.losses.sparse_categorical_crossentropy(np.array([0, 3]), np.zeros((2, 3), "f4"),
                                                  from_logits=True)


# ----------------------------------------------------------------- convolution and pooling
def _direct_conv(x, k, stride, pad):
    n, h, w, _ = x.shape
    kh, kw, _, co = k.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (pad[0], pad[1]), (pad[2], pad[3]), (0, 0)))
    ho = (xp.shape[1] - kh) // stride + 1
    wo = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((n, ho, wo, co))
    for a in range(kh):
        for b in range(kw):
            y += np.einsum("nhwc,co->nhwo",
                           xp[:, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride],
                           k[a, b].astype(np.float64))
    return y


@fuzz(x=arrays(min_dims=3, max_dims=5), k=arrays(min_dims=3, max_dims=5),
       stride=st.integers(-1, 3), padding=st.sampled_from(["valid", "same", "full", 3]))
def test_conv_any_input(x, k, stride, padding):
    valid = (_good_float(x) and _good_float(k) and x.ndim == 4 and k.ndim == 4
             and x.dtype == k.dtype and stride >= 1 and padding in ("valid", "same")
             and k.shape[2] == x.shape[3] and min(x.shape) >= 1 and min(k.shape) >= 1
             and (padding == "same" or (x.shape[1] >= k.shape[0] and x.shape[2] >= k.shape[1])))
    if not valid:
        try:
            y = ops.conv(x, k, stride, padding)
        except (ValueError, TypeError) as e:
            assert str(e)
            return
        assert np.asarray(y).dtype.kind == "f"  # accepted a convertible input
        return
    y = np.asarray(ops.conv(x, k, stride, padding))
    if padding == "valid":
        pad = (0, 0, 0, 0)
    else:
        pads = []
        for i, kk in zip(x.shape[1:3], k.shape[:2]):
            o = -(-i // stride)
            total = max((o - 1) * stride + kk - i, 0)
            pads += [total // 2, total - total // 2]
        pad = tuple(pads)
    ref = _direct_conv(x, k, stride, pad)
    finite = np.isfinite(x).all() and np.isfinite(k).all() and np.abs(x).max() < 1e20 \
        and np.abs(k).max() < 1e20
    if finite:
        tol = 1e-4 if x.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


@fuzz(x=arrays(min_dims=3, max_dims=5), size=st.integers(-1, 4), stride=st.integers(-1, 3),
       kind=st.sampled_from(["max", "average"]))
def test_pooling_any_input(x, size, stride, kind):
    fn = ops.max_pool if kind == "max" else ops.average_pool
    valid = (_good_float(x) and x.ndim == 4 and size >= 1 and stride >= 1
             and min(x.shape) >= 1 and x.shape[1] >= size and x.shape[2] >= size)
    if not valid:
        assert _refused(fn, x, size, stride, "valid") or x.dtype.kind in "biuf"
        return
    y = np.asarray(fn(x, size, stride, "valid"))
    ho, wo = (x.shape[1] - size) // stride + 1, (x.shape[2] - size) // stride + 1
    win = np.stack([x[:, a:a + stride * (ho - 1) + 1:stride, b:b + stride * (wo - 1) + 1:stride]
                    for a in range(size) for b in range(size)])
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "max":  # TensorFlow's: NaN never wins; the start is the lowest finite value
            lowest = np.finfo(x.dtype).min
            ref = np.maximum(np.where(np.isnan(win), -np.inf, win).max(axis=0), lowest)
        else:
            ref = win.astype(np.float64).mean(axis=0)
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol, equal_nan=True)


# ----------------------------------------------------------------- metrics
def _streamed(name):
    def compute(y, p):
        m = getattr(fk.metrics, name)()
        m.update_state(y, p)
        return m.result()
    return compute


RANK_METRICS = {"AUC": _streamed("AUC"), "KS": _streamed("KS"),  # binned histograms
                "roc_auc_score": fk.metrics.roc_auc_score,  # exact (sorted)
                "ks_statistic": fk.metrics.ks_statistic}


@fuzz(y=arrays(min_dims=0, max_dims=2), p=arrays(min_dims=0, max_dims=2),
       metric=st.sampled_from(sorted(RANK_METRICS)))
def test_rank_metrics_any_input(y, p, metric):
    try:
        r = float(RANK_METRICS[metric](y, p))
    except (ValueError, TypeError) as e:
        assert str(e)
        return
    assert y.dtype.kind in "biuf" and p.dtype.kind in "biuf", (y.dtype, p.dtype)
    assert np.isnan(r) or 0.0 <= r <= 1.0


# ----------------------------------------------------------------- optimizers and serving
@fuzz(g=arrays(min_dims=0, max_dims=3),
       name=st.sampled_from(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                             "Nadam", "Lion"]))
def test_optimizer_any_gradient(g, name):
    v = fk.Variable(np.ones((2, 3), "float32"))
    opt = getattr(fk.optimizers, name)(0.1)
    ok_shape = isinstance(g, np.ndarray) and g.shape == (2, 3) and g.dtype.kind in "biuf"
    try:
        opt.apply([g], [v])
    except (ValueError, TypeError) as e:
        assert str(e)
        assert not (ok_shape and g.dtype.kind == "f" and np.isfinite(g).all()), e
        return
    assert ok_shape, f"{name} accepted a gradient {g.dtype} {g.shape} for a (2, 3) variable"


_RUNNER = None


def _runner():
    global _RUNNER
    if _RUNNER is None:
        model = fk.Sequential([fk.Input((4,)), fk.layers.Dense(5, activation="relu"),
                               fk.layers.Dense(3, activation="softmax")])
        _RUNNER = model, model.compile_for_inference()
    return _RUNNER


@fuzz(x=arrays(min_dims=0, max_dims=3))
def test_runner_any_input(x):
    model, runner = _runner()
    try:
        y = runner(x)
    except (ValueError, TypeError) as e:
        assert str(e)
        return
    assert x.ndim == 2 and x.shape[1] == 4 and x.dtype.kind in "biuf"
    with np.errstate(invalid="ignore", over="ignore"):
        ref = model.predict(x.astype("float32"), verbose=0) if len(x) else y
    np.testing.assert_allclose(y, ref, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_nan_semantics_match_tensorflow(tf, rng):
    """What the long fuzzing run found: relu turned NaN into 0 (TensorFlow keeps NaN), and
    max pooling returned NaN when a window started with NaN and ignored it elsewhere
    (TensorFlow never lets NaN win and starts from the lowest finite value)."""
    for dtype in FLOAT:
        x = rng.normal(size=(2, 5, 6, 3)).astype(dtype)
        x[0, 0, 0, 0] = x[1, 2, 3, 1] = np.nan
        x[0, :2, :2, 2] = np.nan  # a window of NaNs only
        x[1, :2, :2, 0] = -np.inf
        np.testing.assert_array_equal(np.asarray(ops.relu(x)), tf.nn.relu(x).numpy())
        if dtype == "float64":
            continue  # TensorFlow's CPU max pooling computes float64 in float32 (its start
            # is then -FLT_MAX); fastkeras starts float64 at -DBL_MAX (the fuzz test checks)
        for stride, padding in ((1, "valid"), (2, "same")):
            np.testing.assert_array_equal(
                np.asarray(ops.max_pool(x, 2, stride, padding)),
                tf.nn.max_pool2d(x, 2, stride, padding.upper()).numpy())


# ----------------------------------------------------------------- more entry points
@fuzz(x=arrays(dtypes=FLOAT, min_dims=3, max_dims=3, max_side=7),
       k=arrays(dtypes=FLOAT, min_dims=3, max_dims=3, max_side=4), stride=st.integers(1, 3))
def test_conv1d_matches_the_2d_definition(x, k, stride):
    """A 1-D convolution is a 2-D one on a height-1 image: any shape, valid padding."""
    ok = (x.dtype == k.dtype and min(x.shape[1:]) >= 1 and min(k.shape) >= 1
          and k.shape[1] == x.shape[2] and x.shape[1] >= k.shape[0])  # a batch of 0 is fine
    if not ok:
        grouped = (min(x.shape[1:]) >= 1 and min(k.shape) >= 1 and x.shape[2] % k.shape[1] == 0
                   and k.shape[2] % (x.shape[2] // k.shape[1]) == 0 and x.shape[1] >= k.shape[0])
        assert _refused(ops.conv, x, k, stride, "valid") or x.dtype != k.dtype or grouped
        return
    y = np.asarray(ops.conv(x, k, stride, "valid"))
    ref = _direct_conv(x[:, None], k[None], stride, (0, 0, 0, 0))[:, 0]
    assert y.shape == ref.shape
    if x.size and np.isfinite(x).all() and np.isfinite(k).all() and np.abs(x).max() < 1e20 \
            and np.abs(k).max() < 1e20:
        tol = 1e-4 if x.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max(
            initial=0)))


@fuzz(n=st.integers(0, 2), size=st.integers(1, 6), cin=st.integers(1, 4),
       cout=st.integers(1, 4), ksz=st.integers(1, 3), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), dtype=st.sampled_from(FLOAT),
       seed=st.integers(0, 2 ** 31))
def test_conv_transpose_is_the_adjoint_of_conv(n, size, cin, cout, ksz, stride, padding, dtype,
                                               seed):
    """<conv(z, K), x> == <z, conv_transpose(x, K)>: conv_transpose is exactly the adjoint
    (the input gradient) of the convolution with the same kernel, strides and padding."""
    rng = np.random.default_rng(seed)
    k = rng.normal(size=(ksz, ksz, cout, cin)).astype(dtype)  # (spatial, filters, in)
    x = rng.normal(size=(n, size, size, cin)).astype(dtype)
    try:
        t = np.asarray(ops.conv_transpose(x, k, stride, padding))
    except ValueError as e:
        assert str(e) and n == 0 or "larger" in str(e) or "output" in str(e)
        return
    z = rng.normal(size=t.shape).astype(dtype)
    try:
        c = np.asarray(ops.conv(z, k, stride, padding))
    except ValueError:
        return  # no forward convolution of that output shape (e.g. empty)
    if c.shape != x.shape:
        return  # several input sizes map to one output size: not an adjoint pair
    lhs, rhs = float(np.sum(c.astype(np.float64) * x)), float(np.sum(z.astype(np.float64) * t))
    tol = 1e-4 if dtype == "float32" else 1e-10
    assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs), abs(rhs)), (lhs, rhs)


@fuzz(logits=arrays(min_dims=0, max_dims=3), targets=arrays(min_dims=0, max_dims=3),
       smoothing=st.sampled_from([0.0, 0.1, -0.5, 2.0]))
def test_dense_crossentropy_any_input(logits, targets, smoothing):
    loss = fk.losses.categorical_crossentropy
    valid = (_good_float(logits) and logits.ndim == 2 and min(logits.shape) >= 1
             and targets.dtype.kind in "biuf" and targets.shape == logits.shape
             and 0.0 <= smoothing <= 1.0)  # an empty batch is refused, with its shape
    try:
        out = np.asarray(loss(targets, logits, from_logits=True, label_smoothing=smoothing))
    except (ValueError, TypeError) as e:
        assert str(e)
        assert not valid, e
        return
    assert targets.dtype.kind in "biuf" and logits.dtype.kind in "biuf"
    if not valid or not np.isfinite(logits).all() or not np.isfinite(targets).all():
        return
    lf, tf_ = logits.astype(np.float64), targets.astype(np.float64)
    c = lf.shape[1]
    tf_ = tf_ * (1 - smoothing) + smoothing / c
    m = lf.max(axis=1, keepdims=True)
    logp = lf - m - np.log(np.exp(lf - m).sum(axis=1, keepdims=True))
    ref = -(tf_ * logp).sum(axis=1)
    tol = 1e-5 if logits.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


@fuzz(x=arrays())
def test_erf_any_input(x):
    try:
        y = np.asarray(ops.erf(x))
    except (ValueError, TypeError) as e:
        assert str(e) and x.dtype.kind not in "biuf"
        return
    assert x.dtype.kind in "biuf" and y.shape == x.shape
    tol = {np.float64: 1e-12, np.float32: 2e-6}.get(y.dtype.type, 2e-3)
    np.testing.assert_allclose(y.astype(np.float64), _erf(x.astype(np.float64)), rtol=tol,
                               atol=tol, equal_nan=True)


@fuzz(x=arrays(min_dims=0, max_dims=5),
       layer=st.sampled_from(["Dense", "Conv2D", "MaxPooling2D", "BatchNormalization", "LSTM",
                              "Embedding", "Flatten", "GlobalAveragePooling2D"]))
def test_layer_calls_any_input(x, layer):
    """A fresh layer called on anything: it builds and computes, or refuses clearly."""
    make = {"Dense": lambda: fk.layers.Dense(3), "Conv2D": lambda: fk.layers.Conv2D(2, 2),
            "MaxPooling2D": lambda: fk.layers.MaxPooling2D(), "LSTM": lambda: fk.layers.LSTM(2),
            "BatchNormalization": lambda: fk.layers.BatchNormalization(),
            "Embedding": lambda: fk.layers.Embedding(7, 2), "Flatten": lambda: fk.layers.Flatten(),
            "GlobalAveragePooling2D": lambda: fk.layers.GlobalAveragePooling2D()}[layer]
    try:
        y = np.asarray(make()(x))
    except (ValueError, TypeError, IndexError) as e:
        assert str(e)
        if isinstance(e, IndexError):  # only Embedding: an index outside [0, input_dim)
            assert layer == "Embedding" and "index" in str(e).lower(), e
        return
    assert x.dtype.kind in "biuf", f"{layer} accepted dtype {x.dtype}"
    assert y.dtype.kind in "biuf"  # Flatten / pooling keep integer and bool inputs' dtype


@fuzz(n=st.integers(0, 2), d=st.integers(1, 5), hw=st.integers(1, 5), cin=st.integers(1, 3),
       cout=st.integers(1, 3), ksz=st.integers(1, 3), stride=st.integers(1, 2),
       dtype=st.sampled_from(FLOAT), seed=st.integers(0, 2 ** 31))
def test_conv3d_matches_the_2d_definition(n, d, hw, cin, cout, ksz, stride, dtype, seed):
    """A 3-D convolution is a sum over kernel depth of 2-D ones (valid padding)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d, hw, hw, cin)).astype(dtype)
    k = rng.normal(size=(ksz, ksz, ksz, cin, cout)).astype(dtype)
    if d < ksz or hw < ksz:
        assert _refused(ops.conv, x, k, stride, "valid")
        return
    y = np.asarray(ops.conv(x, k, stride, "valid"))
    do = (d - ksz) // stride + 1
    ref = np.stack([sum(_direct_conv(x[:, o * stride + a], k[a], stride, (0, 0, 0, 0))
                        for a in range(ksz)) for o in range(do)], axis=1)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max(initial=0)))


@fuzz(n=st.integers(0, 2), hw=st.integers(1, 6), c=st.integers(1, 4), mult=st.integers(1, 3),
       ksz=st.integers(1, 3), stride=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]),
       dtype=st.sampled_from(FLOAT), seed=st.integers(0, 2 ** 31))
def test_depthwise_conv_is_per_channel_conv(n, hw, c, mult, ksz, stride, padding, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, hw, hw, c)).astype(dtype)
    k = rng.normal(size=(ksz, ksz, c, mult)).astype(dtype)
    if padding == "valid" and hw < ksz:
        assert _refused(ops.depthwise_conv, x, k, stride, padding)
        return
    y = np.asarray(ops.depthwise_conv(x, k, stride, padding))
    per = [np.asarray(ops.conv(x[..., i:i + 1], k[:, :, i:i + 1, :], stride, padding))
           for i in range(c)]  # output channel i * mult + m
    ref = np.concatenate(per, axis=-1)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)


# ----------------------------------------------------------------- device arrays
class _Interface:
    def __init__(self, cai):
        self.__cuda_array_interface__ = cai


_CAI_VALUES = {
    "shape": st.one_of(st.lists(st.integers(-2, 5), max_size=4).map(tuple), st.none(),
                       st.just("ab"), st.just((2 ** 70,))),
    "typestr": st.sampled_from(["<f4", "<f8", "|b1", "|u1", "<i8", "<c8", ">f4", "<f2", "|V8",
                                "<M8[s]", "x", "", None, 3]),
    "data": st.one_of(st.tuples(st.sampled_from([0, 4096, 2 ** 64 - 1]), st.booleans()),
                      st.none(), st.just((1,)), st.just("p")),
    "strides": st.one_of(st.none(), st.lists(st.integers(-16, 64), max_size=4).map(tuple)),
    "mask": st.one_of(st.none(), st.just(object())),
    "version": st.integers(0, 4),
}


@fuzz(cai=st.fixed_dictionaries({}, optional=_CAI_VALUES))
def test_cuda_array_interface_any_dict(cai):
    """Any __cuda_array_interface__ dict: parsed into a C-contiguous view, or refused with a
    TypeError / ValueError naming the argument; never passed on unchecked. Without a device,
    using it is a clean RuntimeError (never a read of the pointer)."""
    from fastkeras import cuda

    try:
        v = cuda.device_array(_Interface(cai), "y_pred")
    except (TypeError, ValueError) as e:
        assert "y_pred" in str(e), e
        return
    assert v.dtype.kind in "biuf" and v.dtype.isnative and all(d >= 0 for d in v.shape)
    assert v.ptr != 0 or v.size == 0
    assert cai.get("mask") is None
    if v.size and not cuda.is_available():
        with pytest.raises(RuntimeError):
            cuda.to_host(_Interface(cai))
