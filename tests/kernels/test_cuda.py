"""The CUDA twins: parity with the CPU kernel where a device exists, clean errors elsewhere."""
import numpy as np
import pytest

import fastkeras as fk
from fastkeras._kernels import _core
from fastkeras._kernels import softmax_xent as kx

info = fk.build_info()
has_device = info["cuda_compiled"] and info["cuda_device_count"] > 0


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_cuda_entry_points_fail_cleanly_without_a_device():
    x = np.zeros((2, 3), np.float32)
    y = np.array([0, 1], np.int64)
    expected = "not compiled" if not info["cuda_compiled"] else "no CUDA device"
    with pytest.raises(RuntimeError, match=expected):
        kx.sparse(x, y, cuda=True)
    with pytest.raises(RuntimeError, match=expected):
        kx.dense(x, np.full((2, 3), 1 / 3, np.float32), cuda=True)
    assert _core.cuda_device_count() == 0


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("targets", ["sparse", "dense"])
def test_cuda_matches_cpu(dtype, from_logits, targets):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(257, 1000)).astype(dtype)
    if not from_logits:
        x = np.abs(x) / np.abs(x).sum(1, keepdims=True)
    if targets == "sparse":
        y = rng.integers(0, 1000, size=257)
    else:  # any distribution per row, and one-hot rows
        y = rng.random((257, 1000)).astype(dtype)
        y /= y.sum(1, keepdims=True)
        y[:3] = np.eye(1000, dtype=dtype)[[0, 5, 999]]
    w = rng.uniform(size=257).astype(dtype)
    fn = getattr(kx, targets)
    cpu = fn(x, y, w, want_grad=True, from_logits=from_logits, label_smoothing=0.1)
    gpu = fn(x, y, w, want_grad=True, from_logits=from_logits, label_smoothing=0.1, cuda=True)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=rtol, atol=1e-7)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
def test_cuda_bad_label_is_an_exception():
    with pytest.raises(ValueError, match="label out of range"):
        kx.sparse(np.zeros((2, 3), np.float32), np.array([0, 9], np.int64), cuda=True)


def _conv_case(dtype):
    import fastkeras.ops.convolution as C

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 9, 8, 4)).astype(dtype)
    w = rng.normal(size=(3, 3, 2, 6)).astype(dtype)  # groups = 2
    xc, kc_, dt, geom, batch, out, nd, fmt = C._conv_problem(x, w, 2, "same", None, 1)
    return xc.reshape(-1), kc_.reshape(-1), geom, rng


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_conv_and_pool_cuda_fail_cleanly_without_a_device():
    from fastkeras._kernels import conv as kc, pool as kp

    x, w, geom, _ = _conv_case(np.float32)
    y = np.empty(geom["n"] * np.prod(geom["out"]) * geom["cout"], np.float32)
    expected = "not compiled" if not info["cuda_compiled"] else "no CUDA device"
    with pytest.raises(RuntimeError, match=expected):
        kc.cuda_pass(0, geom, x, w, None, y, None)
    pg = {"n": 1, "in": (1, 4, 4), "out": (1, 2, 2), "k": (1, 2, 2), "stride": (1, 2, 2),
          "pad": (0, 0, 0), "c": 1}
    with pytest.raises(RuntimeError, match=expected):
        kp.cuda_pass(2, pg, np.zeros(16, np.float32), np.zeros(4, np.float32), None)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_cuda_matches_cpu(dtype):
    from fastkeras._kernels import conv as kc

    x, w, geom, rng = _conv_case(dtype)
    ny = geom["n"] * int(np.prod(geom["out"])) * geom["cout"]
    b = rng.normal(size=geom["cout"]).astype(dtype)
    dy = rng.normal(size=ny).astype(dtype)
    y_cpu, y_gpu = np.empty(ny, dtype), np.empty(ny, dtype)
    kc.forward(geom, x, w, b, y_cpu)
    kc.cuda_pass(0, geom, x, w, b, y_gpu, None)
    dx_cpu, dx_gpu = np.empty_like(x), np.empty_like(x)
    kc.backward_data(geom, dy, w, dx_cpu)
    kc.cuda_pass(1, geom, dy, w, None, dx_gpu, None)
    dw_cpu, dw_gpu = np.empty_like(w), np.empty_like(w)
    db_cpu, db_gpu = np.empty_like(b), np.empty_like(b)
    kc.backward_filter(geom, x, dy, dw_cpu, db_cpu)
    kc.cuda_pass(2, geom, x, dy, None, dw_gpu, db_gpu)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for got, want in ((y_gpu, y_cpu), (dx_gpu, dx_cpu), (dw_gpu, dw_cpu), (db_gpu, db_cpu)):
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_cuda_matches_cpu(dtype):
    import fastkeras.ops.convolution as C
    from fastkeras._kernels import pool as kp

    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, size=(2, 7, 6, 3)).astype(dtype)  # ties
    xc, dt, geom, batch, out, nd, fmt = C._pool_problem(x, 3, 2, "same", None)
    ny = geom["n"] * int(np.prod(geom["out"])) * geom["c"]
    dy = rng.normal(size=ny).astype(dtype)
    xf = xc.reshape(-1)
    y1, y2 = np.empty(ny, dtype), np.empty(ny, dtype)
    a1, a2 = np.empty(ny, np.uint8), np.empty(ny, np.uint8)
    kp.max_forward(geom, xf, y1, a1)
    kp.cuda_pass(0, geom, xf, y2, a2)
    assert np.array_equal(y1, y2) and np.array_equal(a1, a2)
    d1, d2 = np.empty_like(xf), np.empty_like(xf)
    kp.max_backward(geom, dy, a1, d1)
    kp.cuda_pass(1, geom, dy, d2, a1)
    np.testing.assert_allclose(d2, d1, rtol=1e-6)
    kp.avg_forward(geom, xf, y1)
    kp.cuda_pass(2, geom, xf, y2, None)
    np.testing.assert_allclose(y2, y1, rtol=1e-6)
    kp.avg_backward(geom, dy, d1)
    kp.cuda_pass(3, geom, dy, d2, None)
    np.testing.assert_allclose(d2, d1, rtol=1e-5, atol=1e-7)


# ------------------------------------------------ AUC/KS histograms, optimizer steps, arrays
expected_without_device = "not compiled" if not info["cuda_compiled"] else "no CUDA device"

OPT_CASES = [
    {"kind": "sgd", "lr": 0.1},
    {"kind": "momentum", "lr": 0.1, "momentum": 0.9},
    {"kind": "nesterov", "lr": 0.1, "momentum": 0.9},
    {"kind": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "alpha": 0.01},
    {"kind": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "alpha": 0.01,
     "amsgrad": True},
    {"kind": "adagrad", "lr": 0.01, "epsilon": 1e-7},
    {"kind": "adadelta", "lr": 1.0, "rho": 0.95, "epsilon": 1e-7},
    {"kind": "rmsprop", "lr": 1e-3, "rho": 0.9, "epsilon": 1e-7},
    {"kind": "rmsprop", "lr": 1e-3, "rho": 0.9, "epsilon": 1e-7, "momentum": 0.5},
    {"kind": "rmsprop", "lr": 1e-3, "rho": 0.9, "epsilon": 1e-7, "centered": True},
    {"kind": "rmsprop", "lr": 1e-3, "rho": 0.9, "epsilon": 1e-7, "centered": True,
     "momentum": 0.5},
    {"kind": "adamax", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "alpha": 0.1},
    {"kind": "nadam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "c1": 0.5,
     "c2": 0.1, "vcorr": 0.01},
    {"kind": "lion", "lr": 1e-4, "beta1": 0.9, "beta2": 0.99},
    {"kind": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "alpha": 0.01,
     "weight_decay": 0.004, "clipvalue": 0.5, "ema_momentum": 0.99},
]


def _opt_state(dtype, sizes=(0, 1, 1000, 70001), seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=n).astype(dtype) for n in sizes]
    grads = [rng.normal(size=n).astype(dtype) for n in sizes]
    slots = [[np.abs(rng.normal(size=n)).astype(dtype) for n in sizes] for _ in range(3)]
    ema = [rng.normal(size=n).astype(dtype) for n in sizes]
    gscale = rng.uniform(0.5, 1.5, size=len(sizes))
    return params, grads, slots, ema, gscale


class FakeDeviceArray:
    """Just the interface: what a CuPy array shows fastkeras (the pointer is never used
    unless a device exists)."""

    def __init__(self, shape=(4,), typestr="<f4", ptr=0x1000, strides=None, mask=None):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr,
                                         "data": (ptr, False), "version": 3,
                                         "strides": strides, "mask": mask}


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_histogram_optimizer_and_memory_entry_points_fail_cleanly_without_a_device():
    from fastkeras import cuda
    from fastkeras._kernels import optim as ko, rank as kr

    pos, neg = np.zeros(201), np.zeros(201)
    with pytest.raises(RuntimeError, match=expected_without_device):
        kr.hist(np.full(4, 0.5), np.array([0, 1, 0, 1], np.uint8), None, 200, pos, neg,
                cuda=True)
    with pytest.raises(RuntimeError, match=expected_without_device):
        kr.hist_device(4, 0x1000, "float32", 0x2000, "uint8", 0, 200, pos, neg)
    assert not pos.any() and not neg.any()
    params, grads, slots, ema, gscale = _opt_state(np.float32)
    before = [p.copy() for p in params]
    with pytest.raises(RuntimeError, match=expected_without_device):
        ko.step(OPT_CASES[3], params, grads, slots, None, gscale, cuda=True)
    assert all(np.array_equal(a, b) for a, b in zip(params, before))  # untouched
    with pytest.raises(RuntimeError, match=expected_without_device):
        cuda.DeviceArray((3,))
    with pytest.raises(RuntimeError, match=expected_without_device):
        cuda.optimizer_step(OPT_CASES[0], [FakeDeviceArray()], [FakeDeviceArray()])
    with pytest.raises(ValueError, match=r"grads\[0\] must be float32 with 4 elements"):
        cuda.optimizer_step(OPT_CASES[0], [FakeDeviceArray()], [FakeDeviceArray((5,))])
    with pytest.raises(RuntimeError, match=expected_without_device):
        cuda.to_host(FakeDeviceArray())
    assert not cuda.is_available() and cuda.device_name() is None


@pytest.mark.skipif(has_device, reason="a CUDA device is present")
def test_device_arrays_given_to_fastkeras_fail_cleanly_without_a_device():
    """CuPy-like arrays reach the metrics' device path or the one-copy host path; with no
    device both end in a RuntimeError, never a crash or a read of the fake pointer."""
    with pytest.raises(RuntimeError, match=expected_without_device):
        fk.ops.relu(FakeDeviceArray())
    m = fk.metrics.AUC()
    with pytest.raises(RuntimeError, match=expected_without_device):
        m.update_state(FakeDeviceArray(typestr="|u1"), FakeDeviceArray())
    assert float(m.result()) == 0.0  # nothing was added


def test_device_array_interface_is_validated():
    from fastkeras import cuda

    v = cuda.device_array(FakeDeviceArray((2, 3), "<f8", strides=(24, 8)), "x")
    assert (v.ptr, v.shape, v.dtype, v.size, v.nbytes) == (0x1000, (2, 3), np.float64, 6, 48)
    bad = [
        (FakeDeviceArray((2, 3), "<f8", strides=(8, 16)), ValueError, "`x`.*C-contiguous"),
        (FakeDeviceArray(typestr="<c8"), TypeError, "`x`.*complex64"),
        (FakeDeviceArray(typestr=">f4"), TypeError, "`x`.*native"),
        (FakeDeviceArray(typestr="<q9"), TypeError, "`x`: unknown element type"),
        (FakeDeviceArray(mask=FakeDeviceArray()), ValueError, "`x`: masked"),
        (FakeDeviceArray(ptr=0), ValueError, "`x`: NULL device pointer"),
        (FakeDeviceArray(shape=(-1,)), ValueError, "`x`: negative dimension"),
        (object(), TypeError, "`x` is not a device array"),
    ]
    for obj, exc, match in bad:
        with pytest.raises(exc, match=match):
            cuda.device_array(obj, "x")
    empty = cuda.device_array(FakeDeviceArray(shape=(0, 5), ptr=0), "x")
    assert empty.size == 0
    assert cuda.to_host(FakeDeviceArray(shape=(0, 5), ptr=0)).shape == (0, 5)  # no copy


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_thresholds", [200, 20000])  # shared / global histograms
@pytest.mark.parametrize("weighted", [False, True])
def test_histogram_cuda_matches_cpu(dtype, num_thresholds, weighted):
    from fastkeras._kernels import rank as kr

    rng = np.random.default_rng(3)
    n = 1_000_003
    s = rng.uniform(-0.1, 1.1, size=n).astype(dtype)
    s[:1000] = np.round(s[:1000] * 4) / 4  # scores exactly on thresholds
    y = (rng.random(n) < 0.3).astype(np.uint8)
    w = rng.uniform(0, 2, size=n).astype(dtype) if weighted else None
    cpu = [np.zeros(num_thresholds + 1), np.zeros(num_thresholds + 1)]
    gpu = [np.ones(num_thresholds + 1), np.ones(num_thresholds + 1)]  # added to
    kr.hist(s, y, w, num_thresholds, cpu[0], cpu[1], 2)
    kr.hist(s, y, w, num_thresholds, gpu[0], gpu[1], cuda=True)
    if weighted:
        np.testing.assert_allclose(gpu[0] - 1, cpu[0], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(gpu[1] - 1, cpu[1], rtol=1e-12, atol=1e-9)
    else:  # integer counts: exactly equal
        assert np.array_equal(gpu[0] - 1, cpu[0]) and np.array_equal(gpu[1] - 1, cpu[1])
    s[5] = np.nan
    with pytest.raises(ValueError, match="invalid argument"):
        kr.hist(s, y, w, num_thresholds, gpu[0], gpu[1], cuda=True)
    s[5], y[7] = 0.5, 2
    with pytest.raises(ValueError, match="label out of range"):
        kr.hist(s, y, w, num_thresholds, gpu[0], gpu[1], cuda=True)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", OPT_CASES, ids=lambda c: c["kind"] + ("+" + "+".join(
    k for k in ("amsgrad", "centered", "momentum", "weight_decay") if c.get(k)) if any(
    c.get(k) for k in ("amsgrad", "centered", "momentum", "weight_decay")) else ""))
def test_optimizer_cuda_matches_cpu(dtype, case):
    from fastkeras._kernels import optim as ko

    cpu = _opt_state(dtype)
    gpu = _opt_state(dtype)
    use_ema = case.get("ema_momentum", -1) >= 0
    for _ in range(3):
        ko.step(case, cpu[0], cpu[1], cpu[2], cpu[3] if use_ema else None, cpu[4], 2)
        ko.step(case, gpu[0], gpu[1], gpu[2], gpu[3] if use_ema else None, gpu[4], cuda=True)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(cpu[0] + sum(cpu[2], []) + cpu[3], gpu[0] + sum(gpu[2], []) + gpu[3]):
        np.testing.assert_allclose(b, a, **tol)
    # the same on device-resident tensors (fastkeras.cuda.optimizer_step)
    from fastkeras import cuda

    dev = _opt_state(dtype)
    d = [[cuda.to_device(a) for a in group] for group in (dev[0], dev[1], dev[3])]
    ds = [[cuda.to_device(a) for a in group] for group in dev[2]]
    for _ in range(3):
        cuda.optimizer_step(case, d[0], d[1], ds, d[2] if use_ema else None, dev[4])
    for a, b in zip(cpu[0] + sum(cpu[2], []) + cpu[3], d[0] + sum(ds, []) + d[2]):
        np.testing.assert_allclose(b.get(), a, **tol)


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rank_metrics_on_device_arrays_match_the_host(dtype):
    """Device scores are binned where they are; the result equals the host path."""
    from fastkeras import cuda

    rng = np.random.default_rng(4)
    p = rng.random(300_001).astype(dtype)
    y = (rng.random(p.size) < p).astype(np.int64)
    w = rng.uniform(0, 2, size=p.size).astype(dtype)
    for metric in ("AUC", "KS"):
        host, dev = getattr(fk.metrics, metric)(), getattr(fk.metrics, metric)()
        host.update_state(y, p, w)
        dev.update_state(cuda.to_device(y), cuda.to_device(p), cuda.to_device(w))
        np.testing.assert_allclose(float(dev.result()), float(host.result()), rtol=1e-10)
    m = fk.metrics.AUC()
    with pytest.raises(ValueError, match="labels 0 or 1"):
        m.update_state(cuda.to_device(y + 1), cuda.to_device(p))
    p[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.update_state(cuda.to_device(y), cuda.to_device(p))
    arr = cuda.to_device(p)
    np.testing.assert_array_equal(arr.get(), p)  # round trip
    np.testing.assert_allclose(np.asarray(fk.ops.relu(cuda.to_device(w))), w)  # one copy


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
def test_cuda_errors_are_python_exceptions():
    from fastkeras import cuda
    from fastkeras._kernels import _core, rank as kr

    host = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="host memory"):  # a host pointer given as device
        _core.cuda_copy(host.ctypes.data, np.zeros(4, np.float32), True)
    with pytest.raises(ValueError, match="host memory"):
        kr.hist_device(4, host.ctypes.data, "float32", host.ctypes.data, "float32", 0, 200,
                       np.zeros(201), np.zeros(201))
    with pytest.raises((MemoryError, ValueError)):  # more than the device (or host) holds
        cuda.DeviceArray((1 << 40,), "float64")


class FakeCudaDLPack:
    """A NumPy array's DLPack capsule presented as if the tensor lived on CUDA device 0:
    exercises the capsule parsing and ownership here (its pointer is host memory, which a
    real device would refuse)."""

    def __init__(self, a):
        self.a = a

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None, max_version=None):
        return self.a.__dlpack__(max_version=max_version)


class FakeLegacyCudaDLPack(FakeCudaDLPack):
    """An older producer: no max_version keyword, legacy capsules only."""

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


def test_cuda_dlpack_tensors_are_parsed_and_released():
    import gc
    import sys

    from fastkeras import cuda

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    refs = sys.getrefcount(a)
    v = cuda.device_array(FakeCudaDLPack(a), "x")
    assert (v.ptr, v.shape, v.dtype, v.size) == (a.ctypes.data, (3, 4), np.float32, 12)
    assert sys.getrefcount(a) > refs  # the capsule's owner keeps the array alive
    del v
    gc.collect()
    assert sys.getrefcount(a) == refs  # the producer's deleter ran
    for dtype in (np.bool_, np.int8, np.uint16, np.int32, np.int64, np.float16, np.float64):
        assert cuda.device_array(FakeCudaDLPack(np.zeros(2, dtype)), "x").dtype == dtype
    with pytest.raises(ValueError, match="`x`: the device array must be C-contiguous"):
        cuda.device_array(FakeCudaDLPack(a[:, ::2]), "x")
    with pytest.raises(TypeError, match="`x`: DLPack element type"):
        cuda.device_array(FakeCudaDLPack(np.zeros(2, np.complex64)), "x")
    assert cuda.is_device_array(FakeCudaDLPack(a)) and not cuda.is_device_array(a)
    from fastkeras._kernels import _core

    for capsule in (a.__dlpack__(), a.__dlpack__(max_version=(1, 0))):  # legacy, versioned
        _core.dlpack_consume(capsule)
        with pytest.raises(TypeError, match="unused DLPack capsule"):
            _core.dlpack_consume(capsule)  # already consumed
    # versioned capsules (what FakeCudaDLPack gets from NumPy) and legacy ones, both released
    legacy = cuda.device_array(FakeLegacyCudaDLPack(a), "x")
    assert legacy.shape == (3, 4) and not legacy.readonly and sys.getrefcount(a) > refs
    del legacy
    gc.collect()
    assert sys.getrefcount(a) == refs
    frozen = a.copy()
    frozen.flags.writeable = False  # the versioned read-only flag reaches the view
    assert cuda.device_array(FakeCudaDLPack(frozen), "x").readonly
    with pytest.raises(ValueError, match=r"params\[0\] is read-only"):
        cuda.optimizer_step({"kind": "sgd", "lr": 0.1}, [FakeCudaDLPack(frozen)],
                            [FakeCudaDLPack(a)])
    if not has_device:
        with pytest.raises(RuntimeError, match=expected_without_device):
            fk.ops.relu(FakeCudaDLPack(a))  # the one-copy host path
    else:
        with pytest.raises(ValueError, match="host memory"):
            fk.ops.relu(FakeCudaDLPack(a))


# ------------------------------------------------ GPU inference of dense chains
def _in_floatx(dtype, build):
    previous = fk.config.floatx()
    fk.config.set_floatx(dtype)  # every layer in dtype
    try:
        return build()
    finally:
        fk.config.set_floatx(previous)


def _mlp(dtype, acts=("gelu", "elu", "selu", "mish")):
    L = fk.layers

    def build():
        return fk.Sequential([
            fk.Input((37,)), L.Dense(64, activation=acts[0]), L.BatchNormalization(),
            L.Dense(48, activation=acts[1]), L.Dropout(0.3), L.Dense(33, activation=acts[2]),
            L.Activation(acts[3]), L.Dense(10, activation="softmax")])

    m = _in_floatx(dtype, build)
    rng = np.random.default_rng(8)
    m.set_weights([(np.abs(rng.normal(size=w.shape)) + 0.5 if "variance" in w.name else
                    rng.normal(size=w.shape) * 0.3).astype(w.dtype) for w in m.weights])
    return m


def test_gpu_inference_is_refused_cleanly_where_it_cannot_run():
    m = _mlp("float32")
    rnn = fk.Sequential([fk.Input((8, 3)), fk.layers.LSTM(2, name="lstm"), fk.layers.Dense(3)])
    with pytest.raises(ValueError, match="layer 'lstm' \\(LSTM\\) has no fast path"):
        rnn.compile_for_inference(device="cuda")
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        m.compile_for_inference(device="gpu0")
    if not has_device:
        with pytest.raises(RuntimeError, match=expected_without_device):
            m.compile_for_inference(device="cuda")


@pytest.mark.skipif(not has_device, reason="needs the CUDA build and a GPU")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_inference_matches_the_cpu(dtype):
    m = _mlp(dtype)
    x = np.random.default_rng(9).normal(size=(1000, 37)).astype(dtype)
    cpu, gpu = m.compile_for_inference(), m.compile_for_inference(device="cuda")
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gpu(x), cpu(x), **tol)
    np.testing.assert_allclose(gpu(x[:1]), cpu(x[:1]), **tol)  # batch 1
    np.testing.assert_allclose(gpu(x, batch_size=300), cpu(x), **tol)
    others = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softplus", "softsign", "silu",
              "hard_sigmoid", "hard_silu", "log_sigmoid", "linear")
    for acts in zip(others[0::4], others[1::4], others[2::4], others[3::4]):
        m = _mlp(dtype, acts)
        np.testing.assert_allclose(m.compile_for_inference(device="cuda")(x),
                                   m.compile_for_inference()(x), err_msg=str(acts), **tol)
